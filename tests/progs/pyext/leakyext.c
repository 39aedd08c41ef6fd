// SPDX-License-Identifier: MIT
/*
 * leakyext: a CPython extension that leaks native memory, for the --native
 * end-to-end test: the report must show the C function that called malloc
 * and, spliced in where the interpreter runs Python code, the Python line
 * that called into the extension. Each leaking call has a "site:" comment.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>

/* Kept so the blocks stay reachable from a static: a leak all the same. */
static void *kept[4096];
static size_t nkept;

static __attribute__((noinline)) void *leak_block(size_t size)
{
	void *p = malloc(size); /* site: leak_block */

	if (p && nkept < sizeof(kept) / sizeof(kept[0]))
		kept[nkept++] = p;
	return p;
}

static PyObject *leakyext_leak(PyObject *self, PyObject *args)
{
	Py_ssize_t n, size, got = 0;

	(void)self;
	if (!PyArg_ParseTuple(args, "nn", &n, &size))
		return NULL;
	for (Py_ssize_t i = 0; i < n; i++)
		got += leak_block((size_t)size) != NULL; /* site: leakyext_leak */
	return PyLong_FromSsize_t(got);
}

static PyMethodDef methods[] = {
	{ "leak", leakyext_leak, METH_VARARGS, "leak(n, size): malloc n blocks, never freed" },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef module = {
	PyModuleDef_HEAD_INIT, "leakyext", "Leaks native memory on purpose.", -1, methods,
	NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_leakyext(void)
{
	return PyModule_Create(&module);
}
