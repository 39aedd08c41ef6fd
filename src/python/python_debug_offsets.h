/* SPDX-License-Identifier: MIT */
/*
 * CPython 3.13+ describes its own layout in _Py_DebugOffsets, the first
 * member of _PyRuntime (cookie "xdebugpy", then the version and whether
 * the build is free-threaded, then groups of 8-byte offsets). The table
 * grows with each version, so where each offset sits in it is known per
 * minor version; the offsets themselves are read from the file, and patch
 * releases that move fields are followed without a new table.
 */
#ifndef LT_PYTHON_DEBUG_OFFSETS_H
#define LT_PYTHON_DEBUG_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

#include "python/python_layout.h"

/* Bytes of _Py_DebugOffsets in 3.minor, 0 when it has none we know. */
size_t lt_py_debug_offsets_size(uint32_t minor);

/*
 * Checks dbg (lt_py_debug_offsets_size(minor) bytes from _PyRuntime's
 * start) and takes from it the frame, thread-state, code-object and string
 * offsets into info and layout (runtime and the thread-state lookup are
 * left alone). runtime_size: _PyRuntime's symbol size, 0 if unknown.
 * Returns 0, or -ENOTSUP with why (one line) when the table is not 3.minor's,
 * describes a free-threaded build, or disagrees with what is read elsewhere
 * as constant (object header, type and string layouts).
 */
int lt_py_apply_debug_offsets(const uint8_t *dbg, size_t len, uint32_t minor,
			      uint64_t runtime_size, struct lt_py_version_info *info,
			      struct lt_py_layout *layout, char *why, size_t whylen);

#endif
