/* SPDX-License-Identifier: MIT */
/*
 * kmalloc's caches by name. Its tracepoint gives no cache, only the bytes
 * taken and the gfp flags, from which BPF tells the cache's kind (enum
 * lt_kmalloc_type); the name is the kernel's for that kind and size, as in
 * /proc/slabinfo (kmalloc-64, kmalloc-cg-1k, kmalloc-rcl-192...).
 */
#ifndef LT_KERNEL_CACHES_H
#define LT_KERNEL_CACHES_H

#include <stddef.h>
#include <stdint.h>

/* The name of the kmalloc cache of this kind and object size. */
void lt_kmalloc_cache_name(uint32_t kmalloc_type, uint64_t size_bytes, char *buf, size_t len);
/* Is name a kmalloc cache's? Then its kind and object size; -EINVAL otherwise. */
int lt_kmalloc_cache_parse(const char *name, uint32_t *kmalloc_type, uint64_t *size_bytes);

#endif
