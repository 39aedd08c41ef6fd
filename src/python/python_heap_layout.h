/* SPDX-License-Identifier: MIT */
/*
 * CPython 3.8-3.15 (x86-64, release, default GIL) layouts of what a walk of
 * the heap from outside reads: the interpreter's thread and module lists,
 * the garbage collector's state and generation lists, and the containers
 * whose references are decoded (dict and its keys and values, list, tuple,
 * set, instance dicts and slots, cell, function, bound method, deque,
 * module). Offsets are in bytes; -1 = no such field in that version.
 * tools/pythons/heap_offsets.c prints each row from the version's own
 * headers (offsetof with Py_BUILD_CORE), which is how they were taken.
 */
#ifndef LT_PYTHON_HEAP_LAYOUT_H
#define LT_PYTHON_HEAP_LAYOUT_H

#include <stdint.h>

/* PyTypeObject.tp_flags bits read (same in every version). */
#define LT_PY_TPFLAGS_MANAGED_DICT (1ull << 4) /* 3.11+ */
#define LT_PY_TPFLAGS_INLINE_VALUES (1ull << 2) /* 3.13+ */
#define LT_PY_TPFLAGS_HEAPTYPE (1ull << 9)
#define LT_PY_TPFLAGS_HAVE_GC (1ull << 14)
#define LT_PY_TPFLAGS_LONG_SUBCLASS (1ull << 24)
#define LT_PY_TPFLAGS_LIST_SUBCLASS (1ull << 25)
#define LT_PY_TPFLAGS_TUPLE_SUBCLASS (1ull << 26)
#define LT_PY_TPFLAGS_BYTES_SUBCLASS (1ull << 27)
#define LT_PY_TPFLAGS_UNICODE_SUBCLASS (1ull << 28)
#define LT_PY_TPFLAGS_DICT_SUBCLASS (1ull << 29)
#define LT_PY_TPFLAGS_TYPE_SUBCLASS (1ull << 31)

/* The same in every version. */
#define LT_PY_OB_REFCNT 0
#define LT_PY_VAR_SIZE 16       /* PyVarObject.ob_size */
#define LT_PY_LIST_ITEMS 24     /* PyListObject.ob_item (PyObject **) */
#define LT_PY_CELL_REF 16       /* PyCellObject.ob_ref */
#define LT_PY_METHOD_FUNC 16    /* PyMethodObject.im_func */
#define LT_PY_METHOD_SELF 24    /* PyMethodObject.im_self */
#define LT_PY_MODULE_DICT 16    /* PyModuleObject.md_dict */
#define LT_PY_GC_HEAD_BYTES 16  /* PyGC_Head: _gc_next, _gc_prev; the object follows */
#define LT_PY_MEMBER_DEF_BYTES 40 /* PyMemberDef: name, type (int), offset, flags, doc */
#define LT_PY_MEMBER_T_OBJECT 6
#define LT_PY_MEMBER_T_OBJECT_EX 16
#define LT_PY_DEQUE_BLOCKLEN 64

struct lt_py_heap_layout {
	uint32_t minor;

	/* Where the interpreter's lists start. */
	int32_t rt_interp_head;     /* _PyRuntime.interpreters.head (PyInterpreterState *) */
	int32_t interp_next;        /* PyInterpreterState.next */
	int32_t interp_threads;     /* PyInterpreterState: first PyThreadState * */
	int32_t interp_modules;     /* PyInterpreterState: sys.modules (dict *) */
	int32_t interp_sysdict;     /* PyInterpreterState.sysdict (dict *) */
	int32_t tstate_next;        /* PyThreadState.next */
	int32_t tstate_thread_id;   /* PyThreadState.thread_id (pthread_t) */
	int32_t tstate_native_id;   /* PyThreadState.native_thread_id (the TID), -1 before 3.11 */

	/* The garbage collector's state (struct _gc_runtime_state): in
	 * _PyRuntime for 3.8 (gc_in_runtime), in the interpreter after. */
	int32_t gc_state;           /* offset of the state in _PyRuntime or PyInterpreterState */
	uint8_t gc_in_runtime;
	int32_t gc_enabled;         /* int */
	int32_t gc_debug;           /* int: gc.set_debug() flags */
	int32_t gc_garbage;         /* PyObject * (list): gc.garbage */
	int32_t gc_collecting;      /* int */
	/* The lists of tracked objects: each a struct gc_generation, whose
	 * first member is the list's PyGC_Head (circular, _gc_next first). */
	int32_t gc_lists[5];        /* offsets of the lists' heads in the state, -1 past the last:
				     * generations 0-2 then the permanent one (3.14's default
				     * build kept generations[3]; young and old[2] are the
				     * free-threaded build's) */
	int32_t gc_gen_threshold;   /* int, from a gc_generation's start */
	int32_t gc_gen_count;       /* int, from a gc_generation's start */
	/* gc.get_stats(): generation_stats[3] of struct gc_generation_stats. */
	int32_t gc_stats;           /* offset of generation_stats[0] in the state */
	uint32_t gc_stats_bytes;    /* sizeof(struct gc_generation_stats) */
	int32_t gc_stat_collections; /* Py_ssize_t in a gc_generation_stats */
	int32_t gc_stat_collected;
	int32_t gc_stat_uncollectable;
	/* 3.15: the state holds a struct gc_stats * instead, a ring of
	 * records per generation; the one at the ring's int8_t index carries
	 * the running totals (a record, as above, is gc_stats_bytes long). */
	int32_t gc_stats_ptr;       /* offset of the pointer in the state, -1 before 3.15 */
	int32_t gc_ring[3];         /* offset of each generation's ring in struct gc_stats */
	uint32_t gc_ring_len[3];    /* records in the ring, 0 before 3.15 */
	int32_t gc_ring_index[3];   /* int8_t: the current record, from struct gc_stats */

	/* PyDictObject and its keys (PyDictKeysObject) and split values. */
	int32_t dict_used;          /* ma_used */
	int32_t dict_keys;          /* ma_keys */
	int32_t dict_values;        /* ma_values: non-NULL for a split dict */
	int32_t keys_size;          /* dk_size (Py_ssize_t), -1 from 3.11 (dk_log2_size) */
	int32_t keys_log2_size;     /* uint8_t, -1 before 3.11 */
	int32_t keys_log2_index_bytes; /* uint8_t, -1 before 3.11 */
	int32_t keys_kind;          /* uint8_t dk_kind (0 general, else unicode keys), -1 before 3.11 */
	int32_t keys_nentries;      /* dk_nentries */
	int32_t keys_indices;       /* dk_indices: the index table, entries after it */
	int32_t values_array;       /* where PyObject *values[] start in PyDictValues (0 or 8) */
	/* 3.8-3.10: instance dict at tp_dictoffset; 3.11, 3.12: the managed
	 * dict (3.11) or dict-or-values word (3.12, values when bit 0 is set)
	 * at object - 3 words, values (3.11) at object - 4 words; 3.13+:
	 * inline values at object + tp_basicsize, dict at object - 3 words. */
	int32_t managed_dict;       /* from the object: -24 in 3.11+, 0 (unused) before */
	int32_t managed_values;     /* 3.11: -32; else 0 (unused) */
	int32_t ht_cached_keys;     /* PyHeapTypeObject.ht_cached_keys: the keys of shared values */

	/* PyTupleObject.ob_item[]: 24, and 32 from 3.14, which caches the hash
	 * before it. */
	int32_t tuple_items;

	/* PyTypeObject. */
	int32_t tp_base;
	int32_t tp_dict;
	int32_t tp_dictoffset;
	int32_t tp_members;         /* PyMemberDef * */
	int32_t tp_mro;

	/* PyFunctionObject. */
	int32_t func_code, func_globals, func_defaults, func_kwdefaults, func_closure,
		func_dict, func_name, func_qualname, func_module;

	/* PySetObject (and frozenset): setentry {key, hash} is 16 bytes. */
	int32_t set_mask;           /* Py_ssize_t: slots - 1 */
	int32_t set_table;          /* setentry * */

	/* dequeobject (Modules/_collectionsmodule.c, private to the module). */
	int32_t deque_leftblock, deque_rightblock, deque_leftindex, deque_rightindex;
	int32_t block_data;         /* block.data[BLOCKLEN], after leftlink */
	int32_t block_rightlink;

	/* Frames: where a frame's fast locals start (3.8-3.10 PyFrameObject
	 * f_localsplus; 3.11+ _PyInterpreterFrame.localsplus; 3.14+ each is a
	 * _PyStackRef whose low 2 bits are tags). How many and their names
	 * come from the code object. */
	int32_t frame_localsplus;
	uint8_t localsplus_tagged;  /* 3.14+: mask the low 2 bits */
	int32_t co_nlocalsplus;     /* int, 3.11+ */
	int32_t co_localsplusnames; /* tuple of str, 3.11+ */
	int32_t co_nlocals;         /* int, 3.8-3.10 */
	int32_t co_varnames;        /* tuple, 3.8-3.10 */
	int32_t co_cellvars;        /* tuple, 3.8-3.10 */
	int32_t co_freevars;        /* tuple, 3.8-3.10 */
};

/* The layout of 3.minor, or NULL when it is not supported. */
const struct lt_py_heap_layout *lt_py_heap_layout(uint32_t minor);

#endif
