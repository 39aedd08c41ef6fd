// SPDX-License-Identifier: MIT
/*
 * libnofp: the C++ half of nofp_leaky (see nofp_leaky.c). Built like Debian
 * builds libraries (-O2 -g, no frame pointers), so a stack through it can
 * only be walked with its .eh_frame. Each leaking allocation carries a
 * "site: <function>" comment the end-to-end tests read.
 */
#include "nofp_lib.h"

#include <cstdint>

namespace nofp {

struct Record {
	int64_t id;
	int64_t fields[4];
};

class Registry {
public:
	__attribute__((noinline)) Record *add(int id);
	int64_t count = 0;
};

Record *Registry::add(int id)
{
	Record *r = new Record(); /* site: registry_add */
	r->id = id;
	count += r->id;
	return r;
}

static Registry registry;

} // namespace nofp

extern "C" void *nofp_lib_make_record(int id)
{
	void *r = nofp::registry.add(id); /* site: nofp_lib_make_record */
	/* A use after the call keeps it from becoming a tail call. */
	__asm__ volatile("" : : "r"(r) : "memory");
	return r;
}
