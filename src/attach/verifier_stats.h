/* SPDX-License-Identifier: MIT */
/*
 * How long the kernel took to verify each BPF program, from the verifier's
 * own statistics (log level 4: a few lines per program, so cheap to ask
 * for). Start-up time is mostly verification; -vv prints it, and make
 * bench reads it.
 */
#ifndef LT_VERIFIER_STATS_H
#define LT_VERIFIER_STATS_H

#include <stdio.h>

struct bpf_object;
struct lt_verifier_stats;

/* Before the object is loaded: a log for each program to be loaded.
 * Returns NULL on ENOMEM (loading then goes on without statistics). */
struct lt_verifier_stats *lt_verifier_stats_request(struct bpf_object *obj);
/* After it loaded: one line per program on out, slowest first. */
void lt_verifier_stats_print(const struct lt_verifier_stats *vs, FILE *out);
void lt_verifier_stats_free(struct lt_verifier_stats *vs);

#endif
