/* SPDX-License-Identifier: MIT */
/* Applying ring-buffer records to the process and allocation tables. */
#ifndef LT_EVENT_CONSUMER_H
#define LT_EVENT_CONSUMER_H

#include <stddef.h>

/* libbpf ring_buffer callback; ctx is the struct lt_session. Always returns 0:
 * a malformed or unusable record is counted, never fatal. */
int lt_handle_event(void *ctx, void *data, size_t size);

#endif
