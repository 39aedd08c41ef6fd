// SPDX-License-Identifier: MIT
#include "python/python_layout.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* glibc 2.36 x86-64: struct pthread (== fs_base) specific_1stblock[32]. */
#define GLIBC_TSD_FIRST 784

/* Code objects and strings did not change between 3.8 and 3.10. */
#define CODE_38_TO_310                                                          \
	.co_firstlineno = 40, .co_filename = 104, .co_name = 112, .co_qualname = -1, \
	.co_linetable = 120, .co_code_adaptive = -1, .co_firsttraceable = -1,       \
	.str_ascii_data = 48,                                                       \
	.str_compact_data = 72, .code_tp_basicsize = 176, .code_tp_itemsize = 0,    \
	.unicode_tp_basicsize = 80

/* 3.11 moved the bytecode into the code object; 3.12 dropped wstr from str. */
#define CODE_311_UP .co_filename = 112, .co_name = 120, .co_qualname = 128, .co_linetable = 136, \
		    .code_tp_itemsize = 2

static const struct lt_py_version_info versions[] = {
	{ .minor = 8, .runtime_size = 1464, .lines = LT_PY_LINES_LNOTAB, .pos = LT_PY_POS_BYTES,
	  CODE_38_TO_310, .frame_tp_basicsize = 368 },
	{ .minor = 9, .runtime_size = 656, .lines = LT_PY_LINES_LNOTAB, .pos = LT_PY_POS_BYTES,
	  CODE_38_TO_310, .frame_tp_basicsize = 368 },
	{ .minor = 10, .runtime_size = 672, .lines = LT_PY_LINES_310, .pos = LT_PY_POS_UNITS,
	  CODE_38_TO_310, .frame_tp_basicsize = 360 },
	{ .minor = 11, .runtime_size = 166688, .lines = LT_PY_LINES_LOCATIONS,
	  .pos = LT_PY_POS_IPTR, CODE_311_UP, .co_firstlineno = 72, .co_code_adaptive = 184,
	  .co_firsttraceable = 168,
	  .str_ascii_data = 48, .str_compact_data = 72, .code_tp_basicsize = 184,
	  .unicode_tp_basicsize = 80, .frame_tp_basicsize = 120 },
	{ .minor = 12, .runtime_size = 459944, .lines = LT_PY_LINES_LOCATIONS,
	  .pos = LT_PY_POS_IPTR, CODE_311_UP, .co_firstlineno = 68, .co_code_adaptive = 192,
	  .co_firsttraceable = 176,
	  .str_ascii_data = 40, .str_compact_data = 56, .code_tp_basicsize = 192,
	  .unicode_tp_basicsize = 64, .frame_tp_basicsize = 120 },
	{ .minor = 13, .runtime_size = 283320, .lines = LT_PY_LINES_LOCATIONS,
	  .pos = LT_PY_POS_IPTR, CODE_311_UP, .co_firstlineno = 68, .co_code_adaptive = 200,
	  .co_firsttraceable = 184,
	  .str_ascii_data = 40, .str_compact_data = 56, .code_tp_basicsize = 200,
	  .unicode_tp_basicsize = 64, .frame_tp_basicsize = 136, .debug_offsets = true },
	/* 3.14 and 3.15 as their first releases were built; each file's own
	 * _Py_DebugOffsets replaces the fields it describes. */
	{ .minor = 14, .lines = LT_PY_LINES_LOCATIONS, .pos = LT_PY_POS_IPTR, CODE_311_UP,
	  .co_firstlineno = 68, .co_code_adaptive = 208, .co_firsttraceable = 192,
	  .str_ascii_data = 40, .str_compact_data = 56, .code_tp_basicsize = 208,
	  .unicode_tp_basicsize = 64, .debug_offsets = true },
	{ .minor = 15, .lines = LT_PY_LINES_LOCATIONS, .pos = LT_PY_POS_IPTR, CODE_311_UP,
	  .co_firstlineno = 68, .co_code_adaptive = 208, .co_firsttraceable = 192,
	  .str_ascii_data = 40, .str_compact_data = 56, .code_tp_basicsize = 208,
	  .unicode_tp_basicsize = 64, .debug_offsets = true },
};

#define NVERSIONS (sizeof(versions) / sizeof(versions[0]))

/*
 * How BPF finds the current thread state and walks its frames: the GIL
 * state's pthread key (autoTSSkey's _key) is read from _PyRuntime and the
 * tstate fetched from the calling thread's glibc TSD slot. That is the
 * thread's own state, GIL held or not, so a native allocation made with
 * the GIL released (ctypes, sqlite3) still gets its Python frames.
 */
static const struct lt_py_layout layouts[] = {
	{ .minor = 8, .tss_key = 1396, .tsd_first = GLIBC_TSD_FIRST,
	  .tstate_frame = 24, .cframe_frame = -1, .frame_code = 32, .frame_back = 24,
	  .frame_pos = 104, .pos_kind = LT_PY_POS_LASTI, .frame_owner = -1 },
	{ .minor = 9, .tss_key = 588, .tsd_first = GLIBC_TSD_FIRST,
	  .tstate_frame = 24, .cframe_frame = -1, .frame_code = 32, .frame_back = 24,
	  .frame_pos = 104, .pos_kind = LT_PY_POS_LASTI, .frame_owner = -1 },
	{ .minor = 10, .tss_key = 588, .tsd_first = GLIBC_TSD_FIRST,
	  .tstate_frame = 24, .cframe_frame = -1, .frame_code = 32, .frame_back = 24,
	  .frame_pos = 96, .pos_kind = LT_PY_POS_LASTI, .frame_owner = -1 },
	/* 3.11 has an owner byte (69) but no shim frames to skip. */
	{ .minor = 11, .tss_key = 596, .tsd_first = GLIBC_TSD_FIRST,
	  .tstate_frame = 56, .cframe_frame = 8, .frame_code = 32, .frame_back = 48,
	  .frame_pos = 56, .pos_kind = LT_PY_POS_POINTER, .frame_owner = -1 },
	{ .minor = 12, .tss_key = 1548, .tsd_first = GLIBC_TSD_FIRST,
	  .tstate_frame = 56, .cframe_frame = 0, .frame_code = 0,
	  .frame_back = 8, .frame_pos = 56, .pos_kind = LT_PY_POS_POINTER, .frame_owner = 70,
	  .owner_skip = LT_PY_OWNED_BY_CSTACK },
	{ .minor = 13, .tss_key = 2164, .tsd_first = GLIBC_TSD_FIRST,
	  .tstate_frame = 72, .cframe_frame = -1, .frame_code = 0,
	  .frame_back = 8, .frame_pos = 56, .pos_kind = LT_PY_POS_POINTER, .frame_owner = 70,
	  .owner_skip = LT_PY_OWNED_BY_CSTACK },
	/* Where the thread state is (tss_key or tstate_tls) is read from each
	 * file's PyGILState_GetThisThreadState (python_gilstate.c). */
	{ .minor = 14, .tsd_first = GLIBC_TSD_FIRST,
	  .tstate_frame = 72, .cframe_frame = -1, .frame_code = 0,
	  .frame_back = 8, .frame_pos = 56, .pos_kind = LT_PY_POS_POINTER, .frame_owner = 74,
	  .owner_skip = LT_PY_OWNED_BY_CSTACK },
	{ .minor = 15, .tsd_first = GLIBC_TSD_FIRST,
	  .tstate_frame = 72, .cframe_frame = -1, .frame_code = 0,
	  .frame_back = 8, .frame_pos = 56, .pos_kind = LT_PY_POS_POINTER, .frame_owner = 74,
	  .owner_skip = LT_PY_OWNED_BY_CSTACK },
};

_Static_assert(sizeof(layouts) / sizeof(layouts[0]) == NVERSIONS, "one layout per version");

const struct lt_py_version_info *lt_py_version_info(uint32_t minor)
{
	size_t i;

	for (i = 0; i < NVERSIONS; i++)
		if (versions[i].minor == minor)
			return &versions[i];
	return NULL;
}

uint32_t lt_py_minor_from_runtime_size(uint64_t size)
{
	size_t i;

	for (i = 0; i < NVERSIONS; i++)
		if (versions[i].runtime_size == size)
			return versions[i].minor;
	return 0;
}

size_t lt_py_code_header_len(const struct lt_py_version_info *info)
{
	int32_t offs[] = { info->co_firstlineno, info->co_filename, info->co_name,
			   info->co_qualname, info->co_linetable, info->co_firsttraceable };
	int32_t max = LT_PY_OB_TYPE;

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		if (offs[i] > max)
			max = offs[i];
	return (size_t)max + 8;
}

/* What BPF copies of a code object first seen in a frame. */
void lt_py_layout_code_fields(const struct lt_py_version_info *info, struct lt_py_layout *out)
{
	out->code_head_len = (uint32_t)lt_py_code_header_len(info);
	out->code_filename = (uint32_t)info->co_filename;
	out->code_name = (uint32_t)(info->co_qualname >= 0 ? info->co_qualname : info->co_name);
	out->code_linetable = (uint32_t)info->co_linetable;
	out->str_ascii_data = info->str_ascii_data;
	out->str_compact_data = info->str_compact_data;
}

int lt_py_layout_for(uint32_t minor, struct lt_py_layout *out)
{
	size_t i;

	for (i = 0; i < NVERSIONS; i++) {
		if (layouts[i].minor != minor)
			continue;
		*out = layouts[i];
		/* Versions without shim frames: an owner no byte can equal. */
		if (out->frame_owner < 0)
			out->owner_skip = UINT32_MAX;
		out->type_basicsize = LT_PY_TP_BASICSIZE;
		out->type_flags = LT_PY_TP_FLAGS;
		lt_py_layout_code_fields(&versions[i], out);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -ENOTSUP;
}
