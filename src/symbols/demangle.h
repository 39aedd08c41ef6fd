/* SPDX-License-Identifier: MIT */
#ifndef LT_DEMANGLE_H
#define LT_DEMANGLE_H

/* Demangled C++ name (malloc'd), or a copy of name when it is not mangled.
 * NULL only on allocation failure. */
char *lt_demangle(const char *name);

#endif
