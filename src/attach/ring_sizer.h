/* SPDX-License-Identifier: MIT */
/*
 * The ring buffers BPF writes records into, sized from the rate seen
 * (ring_policy.h). BPF finds its ring in slot 0 of the rings map; a
 * resize makes a ring of the new size, puts it in the slot, and reads the
 * old one to its end, and a grace period past, before any record of the
 * new one: a process's records are applied in the order they were made.
 */
#ifndef LT_RING_SIZER_H
#define LT_RING_SIZER_H

#include <stddef.h>
#include <stdint.h>

#include "attach/bpf_maps.h"
#include "attach/ring_policy.h"

struct lt_ring_sizer;

/* Records go to on_record(ctx, data, size), as libbpf's
 * ring_buffer_sample_fn: a negative return stops consuming and is returned. */
typedef int (*lt_ring_record_fn)(void *ctx, void *data, size_t size);

/* The first ring, of p->min_bytes, into slot `slot` of the map rings_fd.
 * maps gives the drop counters (a drop grows the ring). Returns 0 or -errno. */
int lt_ring_sizer_new(int rings_fd, uint32_t slot, const struct lt_ring_policy *p,
		      const struct lt_bpf_maps *maps, lt_ring_record_fn on_record, void *ctx,
		      struct lt_ring_sizer **out);
void lt_ring_sizer_free(struct lt_ring_sizer *rs);
/* Wait up to timeout_ms for records. Returns 0, -EINTR or -errno. */
int lt_ring_sizer_wait(struct lt_ring_sizer *rs, int timeout_ms);
/* Hand over the records waiting, the old ring's first. Returns how many,
 * or the record function's negative return, or -errno. */
int lt_ring_sizer_consume(struct lt_ring_sizer *rs);
/* As consume, after waiting out the grace of a ring being replaced: what
 * is in every ring now is handed over (the end of a run). Returns how
 * many, or as consume. */
int lt_ring_sizer_drain(struct lt_ring_sizer *rs);
/* Resize if the policy says so (not while a replaced ring is still read);
 * now_ns is the policy's clock (lt_now_ns(), or a test's). Returns 0, or
 * -errno if a new ring could not be made (the old one stays). */
int lt_ring_sizer_adjust(struct lt_ring_sizer *rs, uint64_t now_ns);
/* The size of the ring BPF writes to now, and how many resizes there were. */
uint64_t lt_ring_sizer_bytes(const struct lt_ring_sizer *rs);
uint64_t lt_ring_sizer_resizes(const struct lt_ring_sizer *rs);

#endif
