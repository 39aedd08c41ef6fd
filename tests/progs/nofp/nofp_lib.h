/* SPDX-License-Identifier: MIT */
/* libnofp: a C++ library, built without frame pointers, that leaks with new. */
#ifndef NOFP_LIB_H
#define NOFP_LIB_H

#ifdef __cplusplus
extern "C" {
#endif

/* Adds a record to a registry nobody ever frees; returns it. */
void *nofp_lib_make_record(int id);

#ifdef __cplusplus
}
#endif

#endif
