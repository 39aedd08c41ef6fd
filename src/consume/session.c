// SPDX-License-Identifier: MIT
#include "consume/session.h"

uint64_t lt_now_ns(void)
{
	struct timespec ts;

	/* The same clock as bpf_ktime_get_ns(), so ages compare directly. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
