// SPDX-License-Identifier: MIT
/*
 * Prints the struct lt_py_heap_layout row (src/python/python_heap_layout.c)
 * of the CPython whose headers it is built against, from offsetof and
 * sizeof, so that the table can be diffed against the headers. Built
 * (tools/pythons/heap_offsets.sh does this for every version at hand):
 *
 *   cc -std=c11 -DPy_BUILD_CORE -DNDEBUG -I$INC -I$INC/internal [-I$ARCH_INC] \
 *      -o heap_offsets tools/pythons/heap_offsets.c && ./heap_offsets
 *
 * where INC is include/python3.X and ARCH_INC holds a split-off pyconfig.h
 * (Debian's include/x86_64-linux-gnu/python3.X). Nothing of libpython is
 * linked: only the layout is wanted. The few structs private to a .c file
 * are copied below, no more of them than the offsets need.
 */
#include <Python.h>
#include <frameobject.h>
#include <stddef.h>
#include <stdio.h>

#if PY_MINOR_VERSION == 8
#include "internal/pycore_pystate.h"
#else
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#endif
#if PY_MINOR_VERSION >= 11
#include "internal/pycore_dict.h"
#include "internal/pycore_object.h"
#include "internal/pycore_frame.h"
#endif
#if PY_MINOR_VERSION >= 14
#include "internal/pycore_interpframe_structs.h"
#endif

/* Objects/dict-common.h of 3.8, 3.9 and 3.10 (not installed). */
#if PY_MINOR_VERSION <= 10
struct lt_dictkeys {
	Py_ssize_t dk_refcnt;
	Py_ssize_t dk_size;
	void *dk_lookup;
	Py_ssize_t dk_usable;
	Py_ssize_t dk_nentries;
	char dk_indices[];
};
#endif

/*
 * Modules/_collectionsmodule.c, the same leading members in every version
 * (later members, which differ, are left out: nothing reads them).
 */
#define BLOCKLEN 64
typedef struct BLOCK {
	struct BLOCK *leftlink;
	PyObject *data[BLOCKLEN];
	struct BLOCK *rightlink;
} block;

typedef struct {
	PyObject_VAR_HEAD
	block *leftblock;
	block *rightblock;
	Py_ssize_t leftindex;
	Py_ssize_t rightindex;
} dequeobject;

#define OFF(t, m) ((int)offsetof(t, m))

#if PY_MINOR_VERSION == 8
#define GC_STATE OFF(_PyRuntimeState, gc)
#define GC_IN_RUNTIME 1
#else
#define GC_STATE OFF(PyInterpreterState, gc)
#define GC_IN_RUNTIME 0
#endif

#define GC(m) OFF(struct _gc_runtime_state, m)

/* Where an inline helper of the headers puts a word, from the object. */
static inline int from_object(const void *p, const void *obj)
{
	return (int)((const char *)p - (const char *)obj);
}

int main(void)
{
	static PyObject *words[8];
	PyObject *obj = (PyObject *)&words[4];
	int managed_dict = 0, managed_values = 0;

#if PY_MINOR_VERSION == 11
	managed_dict = from_object(_PyObject_ManagedDictPointer(obj), obj);
	managed_values = from_object(_PyObject_ValuesPointer(obj), obj);
#elif PY_MINOR_VERSION == 12
	managed_dict = from_object(_PyObject_DictOrValuesPointer(obj), obj);
#elif PY_MINOR_VERSION >= 13
	managed_dict = from_object(_PyObject_ManagedDictPointer(obj), obj);
#endif
	(void)obj;

	printf("\t{ .minor = %d, .tuple_items = %d,\n", PY_MINOR_VERSION, OFF(PyTupleObject, ob_item));
	printf("\t  .rt_interp_head = %d, .interp_next = %d,\n",
	       OFF(_PyRuntimeState, interpreters.head), OFF(PyInterpreterState, next));
#if PY_MINOR_VERSION >= 11
	printf("\t  .interp_threads = %d,", OFF(PyInterpreterState, threads.head));
#else
	printf("\t  .interp_threads = %d,", OFF(PyInterpreterState, tstate_head));
#endif
#if PY_MINOR_VERSION >= 12
	printf(" .interp_modules = %d,", OFF(PyInterpreterState, imports.modules));
#else
	printf(" .interp_modules = %d,", OFF(PyInterpreterState, modules));
#endif
	printf(" .interp_sysdict = %d,\n", OFF(PyInterpreterState, sysdict));
	printf("\t  .tstate_next = %d, .tstate_thread_id = %d,", OFF(PyThreadState, next),
	       OFF(PyThreadState, thread_id));
#if PY_MINOR_VERSION >= 11
	printf(" .tstate_native_id = %d,\n", OFF(PyThreadState, native_thread_id));
#else
	printf(" .tstate_native_id = -1,\n");
#endif

	printf("\t  .gc_state = %d, .gc_in_runtime = %d, .gc_enabled = %d, .gc_debug = %d,\n",
	       GC_STATE, GC_IN_RUNTIME, GC(enabled), GC(debug));
	printf("\t  .gc_garbage = %d, .gc_collecting = %d,\n", GC(garbage), GC(collecting));
#ifdef Py_GIL_DISABLED
#error "the table is of default (GIL) builds"
#endif
	printf("\t  .gc_lists = { %d, %d, %d, %d, -1 },\n", GC(generations[0]), GC(generations[1]),
	       GC(generations[2]), GC(permanent_generation));
	printf("\t  .gc_gen_threshold = %d, .gc_gen_count = %d,\n",
	       OFF(struct gc_generation, threshold), OFF(struct gc_generation, count));
#if PY_MINOR_VERSION >= 15
	/* A pointer to struct gc_stats (rings of gc_generation_stats), not
	 * an array in the state: no offset to give. */
	printf("\t  .gc_stats = -1,");
#else
	printf("\t  .gc_stats = %d,", GC(generation_stats));
#endif
	printf(" .gc_stats_bytes = %d,\n", (int)sizeof(struct gc_generation_stats));
	printf("\t  .gc_stat_collections = %d, .gc_stat_collected = %d,"
	       " .gc_stat_uncollectable = %d,\n",
	       OFF(struct gc_generation_stats, collections),
	       OFF(struct gc_generation_stats, collected),
	       OFF(struct gc_generation_stats, uncollectable));
#if PY_MINOR_VERSION >= 15
	/* The rings a struct gc_stats * points to, one per generation. */
	printf("\t  .gc_stats_ptr = %d, .gc_ring = { %d, %d, %d },"
	       " .gc_ring_len = { %d, %d, %d },\n", GC(generation_stats),
	       OFF(struct gc_stats, young.items), OFF(struct gc_stats, old[0].items),
	       OFF(struct gc_stats, old[1].items), GC_YOUNG_STATS_SIZE, GC_OLD_STATS_SIZE,
	       GC_OLD_STATS_SIZE);
	printf("\t  .gc_ring_index = { %d, %d, %d },\n", OFF(struct gc_stats, young.index),
	       OFF(struct gc_stats, old[0].index), OFF(struct gc_stats, old[1].index));
#else
	printf("\t  .gc_stats_ptr = -1, .gc_ring = { -1, -1, -1 }, .gc_ring_len = { 0, 0, 0 },\n");
	printf("\t  .gc_ring_index = { -1, -1, -1 },\n");
#endif

	printf("\t  .dict_used = %d, .dict_keys = %d, .dict_values = %d,\n",
	       OFF(PyDictObject, ma_used), OFF(PyDictObject, ma_keys), OFF(PyDictObject, ma_values));
#if PY_MINOR_VERSION <= 10
	printf("\t  .keys_size = %d, .keys_log2_size = -1, .keys_log2_index_bytes = -1,"
	       " .keys_kind = -1,\n", OFF(struct lt_dictkeys, dk_size));
	printf("\t  .keys_nentries = %d, .keys_indices = %d, .values_array = 0,\n",
	       OFF(struct lt_dictkeys, dk_nentries), OFF(struct lt_dictkeys, dk_indices));
#else
	printf("\t  .keys_size = -1, .keys_log2_size = %d, .keys_log2_index_bytes = %d,"
	       " .keys_kind = %d,\n", OFF(PyDictKeysObject, dk_log2_size),
	       OFF(PyDictKeysObject, dk_log2_index_bytes), OFF(PyDictKeysObject, dk_kind));
	printf("\t  .keys_nentries = %d, .keys_indices = %d, .values_array = %d,\n",
	       OFF(PyDictKeysObject, dk_nentries), OFF(PyDictKeysObject, dk_indices),
	       OFF(PyDictValues, values));
#endif
	printf("\t  .managed_dict = %d, .managed_values = %d, .ht_cached_keys = %d,\n",
	       managed_dict, managed_values, OFF(PyHeapTypeObject, ht_cached_keys));

	printf("\t  .tp_base = %d, .tp_dict = %d, .tp_dictoffset = %d, .tp_members = %d,"
	       " .tp_mro = %d,\n", OFF(PyTypeObject, tp_base), OFF(PyTypeObject, tp_dict),
	       OFF(PyTypeObject, tp_dictoffset), OFF(PyTypeObject, tp_members),
	       OFF(PyTypeObject, tp_mro));

	printf("\t  .func_code = %d, .func_globals = %d, .func_defaults = %d,"
	       " .func_kwdefaults = %d,\n", OFF(PyFunctionObject, func_code),
	       OFF(PyFunctionObject, func_globals), OFF(PyFunctionObject, func_defaults),
	       OFF(PyFunctionObject, func_kwdefaults));
	printf("\t  .func_closure = %d, .func_dict = %d, .func_name = %d, .func_qualname = %d,"
	       " .func_module = %d,\n", OFF(PyFunctionObject, func_closure),
	       OFF(PyFunctionObject, func_dict), OFF(PyFunctionObject, func_name),
	       OFF(PyFunctionObject, func_qualname), OFF(PyFunctionObject, func_module));

	printf("\t  .set_mask = %d, .set_table = %d,\n", OFF(PySetObject, mask),
	       OFF(PySetObject, table));

	printf("\t  .deque_leftblock = %d, .deque_rightblock = %d, .deque_leftindex = %d,"
	       " .deque_rightindex = %d,\n", OFF(dequeobject, leftblock),
	       OFF(dequeobject, rightblock), OFF(dequeobject, leftindex),
	       OFF(dequeobject, rightindex));
	printf("\t  .block_data = %d, .block_rightlink = %d,\n", OFF(block, data),
	       OFF(block, rightlink));

#if PY_MINOR_VERSION <= 10
	printf("\t  .frame_localsplus = %d, .localsplus_tagged = 0,\n",
	       OFF(PyFrameObject, f_localsplus));
	printf("\t  .co_nlocalsplus = -1, .co_localsplusnames = -1, .co_nlocals = %d,"
	       " .co_varnames = %d,\n", OFF(PyCodeObject, co_nlocals),
	       OFF(PyCodeObject, co_varnames));
	printf("\t  .co_cellvars = %d, .co_freevars = %d },\n", OFF(PyCodeObject, co_cellvars),
	       OFF(PyCodeObject, co_freevars));
#else
	printf("\t  .frame_localsplus = %d, .localsplus_tagged = %d,\n",
	       OFF(_PyInterpreterFrame, localsplus), PY_MINOR_VERSION >= 14);
	printf("\t  .co_nlocalsplus = %d, .co_localsplusnames = %d, .co_nlocals = -1,"
	       " .co_varnames = -1,\n", OFF(PyCodeObject, co_nlocalsplus),
	       OFF(PyCodeObject, co_localsplusnames));
	printf("\t  .co_cellvars = -1, .co_freevars = -1 },\n");
#endif

	return 0;
}
