// SPDX-License-Identifier: MIT
#include "python/python_debug_offsets.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Where each offset used here sits in the table (bytes from its start). */
struct positions {
	uint32_t minor, size;
	uint32_t current_frame;                          /* thread_state */
	uint32_t previous, executable, instr_ptr, owner; /* interpreter_frame */
	uint32_t filename, name, qualname, linetable, firstlineno, adaptive; /* code_object */
	uint32_t ob_type, tp_name, tp_flags, ob_size, ob_sval;
	uint32_t str_state, str_length, ascii_size, compact_size; /* 0: not in the table */
};

static const struct positions tables[] = {
	{ .minor = 13, .size = 584, .current_frame = 184, .previous = 232, .executable = 240,
	  .instr_ptr = 248, .owner = 264, .filename = 280, .name = 288, .qualname = 296,
	  .linetable = 304, .firstlineno = 312, .adaptive = 344, .ob_type = 360, .tp_name = 376,
	  .tp_flags = 392, .ob_size = 520, .ob_sval = 528, .str_state = 544, .str_length = 552,
	  .ascii_size = 560 },
	/* 3.14 added thread, frame and code fields, and set, generator and
	 * debugger groups. */
	{ .minor = 14, .size = 760, .current_frame = 208, .previous = 256, .executable = 264,
	  .instr_ptr = 272, .owner = 288, .filename = 320, .name = 328, .qualname = 336,
	  .linetable = 344, .firstlineno = 352, .adaptive = 384, .ob_type = 408, .tp_name = 424,
	  .tp_flags = 440, .ob_size = 600, .ob_sval = 608, .str_state = 624, .str_length = 632,
	  .ascii_size = 640 },
	/* 3.15: seven more thread-state fields, type and heap-type groups. */
	{ .minor = 15, .size = 888, .current_frame = 208, .previous = 320, .executable = 328,
	  .instr_ptr = 336, .owner = 352, .filename = 384, .name = 392, .qualname = 400,
	  .linetable = 408, .firstlineno = 416, .adaptive = 448, .ob_type = 472, .tp_name = 488,
	  .tp_flags = 504, .ob_size = 696, .ob_sval = 704, .str_state = 720, .str_length = 728,
	  .ascii_size = 736, .compact_size = 744 },
};

#define NTABLES (sizeof(tables) / sizeof(tables[0]))
/* Beyond this an offset into an object is not believable. */
#define MAX_FIELD 4096

static const struct positions *positions_for(uint32_t minor)
{
	for (size_t i = 0; i < NTABLES; i++)
		if (tables[i].minor == minor)
			return &tables[i];
	return NULL;
}

size_t lt_py_debug_offsets_size(uint32_t minor)
{
	const struct positions *p = positions_for(minor);

	return p ? p->size : 0;
}

static uint64_t at(const uint8_t *dbg, uint32_t pos)
{
	uint64_t v;

	memcpy(&v, dbg + pos, sizeof(v));
	return v;
}

struct check {
	uint32_t pos;
	uint64_t want;
	const char *what;
};

int lt_py_apply_debug_offsets(const uint8_t *dbg, size_t len, uint32_t minor,
			      uint64_t runtime_size, struct lt_py_version_info *info,
			      struct lt_py_layout *layout, char *why, size_t whylen)
{
	const struct positions *p = positions_for(minor);
	uint64_t version, v;

	if (!p) {
		snprintf(why, whylen, "no _Py_DebugOffsets layout known for 3.%u", minor);
		return -ENOTSUP;
	}
	if (len < p->size) {
		snprintf(why, whylen, "_Py_DebugOffsets cut short: %zu of 3.%u's %u bytes", len,
			 minor, p->size);
		return -ENOTSUP;
	}
	version = at(dbg, 8);
	if (memcmp(dbg, LT_PY_DEBUG_COOKIE, 8) || (version >> 16) != (0x0300u | minor)) {
		snprintf(why, whylen, "_Py_DebugOffsets cookie or version (0x%" PRIx64
			 ") is not 3.%u's", version, minor);
		return -ENOTSUP;
	}
	if (at(dbg, 16)) {
		snprintf(why, whylen, "free-threaded Python is not supported");
		return -ENOTSUP;
	}
	if (runtime_size && at(dbg, 24) != runtime_size) {
		snprintf(why, whylen, "_Py_DebugOffsets says _PyRuntime is %" PRIu64
			 " bytes, the file %" PRIu64, at(dbg, 24), runtime_size);
		return -ENOTSUP;
	}
	{
		const struct check fixed[] = {
			{ p->ob_type, LT_PY_OB_TYPE, "pyobject.ob_type" },
			{ p->tp_name, LT_PY_TP_NAME, "type_object.tp_name" },
			{ p->tp_flags, LT_PY_TP_FLAGS, "type_object.tp_flags" },
			{ p->ob_size, LT_PY_BYTES_SIZE, "bytes_object.ob_size" },
			{ p->ob_sval, LT_PY_BYTES_DATA, "bytes_object.ob_sval" },
			{ p->str_state, LT_PY_STR_STATE, "unicode_object.state" },
			{ p->str_length, LT_PY_STR_LENGTH, "unicode_object.length" },
		};

		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
			if (at(dbg, fixed[i].pos) != fixed[i].want) {
				snprintf(why, whylen, "_Py_DebugOffsets %s is %" PRIu64 ", expected %" PRIu64,
					 fixed[i].what, at(dbg, fixed[i].pos), fixed[i].want);
				return -ENOTSUP;
			}
		}
	}
	{
		const uint32_t fields[] = { p->current_frame, p->previous, p->executable,
					    p->instr_ptr, p->owner, p->filename, p->name,
					    p->qualname, p->linetable, p->firstlineno, p->adaptive,
					    p->ascii_size };

		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			if (at(dbg, fields[i]) >= MAX_FIELD) {
				snprintf(why, whylen, "_Py_DebugOffsets field at %u is %" PRIu64
					 ": not an offset", fields[i], at(dbg, fields[i]));
				return -ENOTSUP;
			}
		}
	}
	layout->tstate_frame = (uint32_t)at(dbg, p->current_frame);
	layout->frame_back = (uint32_t)at(dbg, p->previous);
	layout->frame_code = (uint32_t)at(dbg, p->executable);
	layout->frame_pos = (uint32_t)at(dbg, p->instr_ptr);
	layout->frame_owner = (int32_t)at(dbg, p->owner);
	info->co_filename = (int32_t)at(dbg, p->filename);
	info->co_name = (int32_t)at(dbg, p->name);
	info->co_qualname = (int32_t)at(dbg, p->qualname);
	info->co_linetable = (int32_t)at(dbg, p->linetable);
	info->co_firstlineno = (int32_t)at(dbg, p->firstlineno);
	v = at(dbg, p->adaptive);
	info->co_code_adaptive = (int32_t)v;
	/* The bytecode follows the header: the type's basic size says where,
	 * and _co_firsttraceable sits 16 bytes before it (3.13-3.15). */
	info->code_tp_basicsize = (uint32_t)v;
	info->co_firsttraceable = (int32_t)v - 16;
	info->str_ascii_data = (uint32_t)at(dbg, p->ascii_size);
	/* PyCompactUnicodeObject adds utf8_length and utf8. */
	info->str_compact_data = p->compact_size ? (uint32_t)at(dbg, p->compact_size) :
						   info->str_ascii_data + 16;
	lt_py_layout_code_fields(info, layout);
	return 0;
}
