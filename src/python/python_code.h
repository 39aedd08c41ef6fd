/* SPDX-License-Identifier: MIT */
/*
 * Turning the (code object, raw position) pairs BPF records for Python
 * frames into function, file and line, by reading the code objects from the
 * process (python_memory.h) and decoding their line tables
 * (python_lines.h). Per process; results cached per code object.
 */
#ifndef LT_PYTHON_CODE_H
#define LT_PYTHON_CODE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "python/python_layout.h"
#include "python/python_memory.h"

struct lt_py_cache;

struct lt_py_reader {
	pid_t pid;
	const struct lt_py_version_info *info;
	uint64_t code_type; /* PyCode_Type in the process; 0: not checked */
	/* Every code object's free is reported (lt_py_reader_code_freed): a
	 * copy then answers for its address until that free, whatever the
	 * process has put there since the frame was recorded. */
	bool frees_reported;
	struct lt_py_cache *cache;
};

struct lt_py_location {
	const char *func; /* co_qualname (3.11+) or co_name; "?" if unreadable */
	const char *file; /* co_filename; "?" if unreadable */
	int line;         /* 0 when unknown */
	bool drop;        /* an interpreter shim, not user code: leave the frame out */
};

/* code_type: PyCode_Type's address in pid (lt_py_interp.code_type); when
 * non-zero every code object's ob_type must equal it. Returns 0, -ENOTSUP
 * (unknown minor) or -ENOMEM. */
int lt_py_reader_init(struct lt_py_reader *r, pid_t pid, uint32_t minor, uint64_t code_type);
/* The same with the interpreter's own facts (read from its _Py_DebugOffsets
 * where it has them); info must outlive the reader. */
int lt_py_reader_init_info(struct lt_py_reader *r, pid_t pid,
			   const struct lt_py_version_info *info, uint64_t code_type);
void lt_py_reader_free(struct lt_py_reader *r);

/* Where a frame is. The strings stay valid until lt_py_reader_free().
 * Returns 0, -EINVAL (not a code object) or a read error (-EFAULT, -ESRCH...).
 * Code objects are cached by address: read frames soon after they were
 * recorded, before the process frees a code object and reuses its memory. */
/* A code object as BPF copied it while it ran (its header, and the str and
 * bytes objects it names): read from the copies, it answers for the object
 * from now on, even once the process has freed it. Returns 0, -EINVAL (not
 * a code object of this version) or -ENOMEM. */
int lt_py_reader_add_copy(struct lt_py_reader *r, uint64_t code, const struct lt_py_image *images,
			  size_t nimages);
/* The block at addr was freed (an object of the allocator's, reported in
 * the order of the frames that name it): a copy of a code object there no
 * longer answers for the address by itself. */
void lt_py_reader_code_freed(struct lt_py_reader *r, uint64_t addr);
int lt_py_resolve_frame(struct lt_py_reader *r, uint64_t code, uint64_t raw_pos,
			struct lt_py_location *out);
/* Bytecode byte offset of a raw frame position (struct lt_py_frame.pos) in
 * code; false when it cannot be one. */
bool lt_py_pos_to_offset(const struct lt_py_version_info *info, uint64_t code, uint64_t raw_pos,
			 int64_t *offset);
/* A type object's tp_name, cached per type; valid until lt_py_reader_free().
 * NULL when unreadable. */
const char *lt_py_type_name(struct lt_py_reader *r, uint64_t type);

#endif
