/* SPDX-License-Identifier: MIT */
/* The one clock of a run: the one BPF stamps events with, so ages compare directly. */
#ifndef LT_CLOCK_H
#define LT_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in ns, as bpf_ktime_get_ns() reads it. */
uint64_t lt_now_ns(void);

#endif
