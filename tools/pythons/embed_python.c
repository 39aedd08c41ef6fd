// SPDX-License-Identifier: MIT
/*
 * A program that links libpython (DT_NEEDED) and runs it as python does:
 * the layout of an application embedding CPython, and the only way to run
 * Debian's shared libpython3.14 and 3.15, whose python3.X binaries are
 * static. Built without Python's headers: Py_BytesMain is stable API.
 */
int Py_BytesMain(int argc, char **argv);

int main(int argc, char **argv)
{
	return Py_BytesMain(argc, argv);
}
