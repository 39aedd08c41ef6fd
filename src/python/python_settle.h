/* SPDX-License-Identifier: MIT */
/*
 * The type of each block the object allocator handed out, read back from
 * the process once its creator has filled in the object header. A block
 * holds an object when, at the offset its type's flags put the object (0,
 * after a GC header, or after a GC header and a pre-header), it finds a
 * plausible reference count and a pointer to a ready type object whose
 * metatype is `type` or a subclass of it. Anything else (list item arrays,
 * dict key tables, bytearray storage) is a buffer.
 */
#ifndef LT_PYTHON_SETTLE_H
#define LT_PYTHON_SETTLE_H

#include <stdint.h>

#include "python/python_objects.h"

/*
 * Types every unsettled live block of pp that was made at least min_age_ns
 * before now_ns (its creator may still be filling it in); all of them when
 * min_age_ns is 0. Blocks that cannot be read become LT_PY_TYPE_UNREAD
 * only when the process is gone. Returns the number settled, or -ENOMEM.
 */
long lt_py_settle_types(struct lt_py_process *pp, uint64_t now_ns, uint64_t min_age_ns);

#endif
