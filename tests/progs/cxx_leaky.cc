// SPDX-License-Identifier: MIT
// C++ target: a leak in a member function of a class template in a
// namespace, so the report must show the demangled name.
#include <cstdlib>
#include <unistd.h>
#include <vector>

namespace shop {
template <typename T> struct Cart {
	__attribute__((noinline)) void add_items(int n)
	{
		for (int i = 0; i < n; i++)
			items.push_back(static_cast<T *>(std::malloc(sizeof(T) * 10))); // 80 bytes each
	}
	std::vector<T *> items;
};
} // namespace shop

int main()
{
	auto *cart = new shop::Cart<double>();
	cart->add_items(5);
	/* Live a moment: this target tests demangling, not the (documented)
	 * race with processes that exit within a millisecond of starting. */
	usleep(100000);
	return 0;
}
