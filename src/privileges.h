/* SPDX-License-Identifier: MIT */
#ifndef LT_PRIVILEGES_H
#define LT_PRIVILEGES_H

#include <stddef.h>

/* Checks the effective capabilities BPF tracing needs. Returns 0, or -EPERM
 * with the missing capabilities named in missing. */
int lt_check_privileges(char *missing, size_t len);

#endif
