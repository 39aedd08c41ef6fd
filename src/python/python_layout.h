/* SPDX-License-Identifier: MIT */
/*
 * CPython 3.8-3.15 (x86-64, release builds, default GIL) structure layouts:
 * what BPF needs to walk frames (struct lt_py_layout) and what userspace
 * needs to read code objects, strings and line tables. Values come from
 * offsetof() against each version's headers and live checks; see
 * /work/shared/python_offsets.md for how they were verified.
 */
#ifndef LT_PYTHON_LAYOUT_H
#define LT_PYTHON_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leaktrace_events.h"

#define LT_PY_MINOR_MIN 8
#define LT_PY_MINOR_MAX 15

/* Same in every supported version. */
#define LT_PY_OB_TYPE 8          /* PyObject.ob_type */
#define LT_PY_TP_NAME 24         /* PyTypeObject.tp_name (const char *) */
#define LT_PY_TP_BASICSIZE 32    /* Py_ssize_t */
#define LT_PY_TP_ITEMSIZE 40     /* Py_ssize_t */
#define LT_PY_TP_FLAGS 168
#define LT_PY_BYTES_SIZE 16      /* PyVarObject.ob_size: length of a bytes object */
#define LT_PY_BYTES_DATA 32      /* PyBytesObject.ob_sval */
#define LT_PY_STR_LENGTH 16      /* code points, Py_ssize_t */
#define LT_PY_STR_STATE 32       /* only the low 8 bits are defined; the rest is padding */
#define LT_PY_STR_KIND(st) (((st) >> 2) & 7) /* bytes per code point: 1, 2 or 4 */
#define LT_PY_STR_COMPACT(st) (((st) >> 5) & 1)
#define LT_PY_STR_ASCII(st) (((st) >> 6) & 1)
/* 3.12, 3.13: FRAME_OWNED_BY_CSTACK; 3.14+: FRAME_OWNED_BY_INTERPRETER (and
 * CSTACK 4 in 3.14): frames from this owner up are not Python code. */
#define LT_PY_OWNED_BY_CSTACK 3

/* 3.13+: _Py_DebugOffsets is the first member of _PyRuntime. */
#define LT_PY_DEBUG_COOKIE "xdebugpy"

/* The format of the bytes object at co_linetable. */
enum lt_py_lines_kind {
	LT_PY_LINES_LNOTAB = 1, /* 3.8, 3.9: co_lnotab (addr_incr, line_incr) pairs */
	LT_PY_LINES_310,        /* 3.10: (sdelta, ldelta) byte ranges */
	LT_PY_LINES_LOCATIONS,  /* 3.11+: location table in 2-byte code units */
};

/* What a frame's raw position (struct lt_py_frame.pos) counts. */
enum lt_py_pos_unit {
	LT_PY_POS_BYTES = 1, /* f_lasti in bytes (3.8, 3.9) */
	LT_PY_POS_UNITS,     /* f_lasti in 2-byte code units (3.10) */
	LT_PY_POS_IPTR,      /* pointer into code + co_code_adaptive (3.11+) */
};

struct lt_py_version_info {
	uint32_t minor;
	uint32_t runtime_size; /* st_size of _PyRuntime: a hint, builds may differ */
	enum lt_py_lines_kind lines;
	enum lt_py_pos_unit pos;
	/* PyCodeObject; -1 = no such field in this version */
	int32_t co_firstlineno; /* int */
	int32_t co_filename;    /* str * */
	int32_t co_name;        /* str * */
	int32_t co_qualname;    /* str * (3.11+) */
	int32_t co_linetable;   /* bytes *: co_lnotab (3.8, 3.9) or co_linetable */
	int32_t co_code_adaptive; /* inline bytecode (3.11+) */
	/* int: bytes/2 before the first traceable instruction (3.11+): a frame
	 * still before it is not complete, and tracebacks leave it out */
	int32_t co_firsttraceable;
	/* str: where the characters of a compact string start */
	uint32_t str_ascii_data;   /* sizeof(PyASCIIObject): ascii strings */
	uint32_t str_compact_data; /* sizeof(PyCompactUnicodeObject): the others */
	/* What the interpreter's own type objects must say, for validation. */
	uint32_t code_tp_basicsize;
	uint32_t code_tp_itemsize;
	uint32_t unicode_tp_basicsize;
	uint32_t frame_tp_basicsize;
	bool debug_offsets; /* _Py_DebugOffsets at _PyRuntime + 0 (3.13+): it is read */
};

/* The facts for 3.minor, or NULL when unsupported. */
const struct lt_py_version_info *lt_py_version_info(uint32_t minor);
/* The 3.minor version whose _PyRuntime has this st_size, or 0 if none. */
uint32_t lt_py_minor_from_runtime_size(uint64_t size);
/* Bytes of a code object's header that hold every field read of it. */
size_t lt_py_code_header_len(const struct lt_py_version_info *info);
/* Every field of the BPF layout but runtime (left 0). Returns 0 or -ENOTSUP. */
int lt_py_layout_for(uint32_t minor, struct lt_py_layout *out);
/* The fields of out that describe code objects and strings, from info. */
void lt_py_layout_code_fields(const struct lt_py_version_info *info, struct lt_py_layout *out);

#endif
