/* SPDX-License-Identifier: MIT */
/*
 * Closing BPF links off the event thread. Each uprobe close waits for an
 * RCU grace period (~120 ms here); closed one by one, the links of a
 * process would stall event reading for seconds.
 */
#ifndef LT_LINK_REAPER_H
#define LT_LINK_REAPER_H

#include <stddef.h>

struct bpf_link;
struct lt_link_reaper;

/* Close n links from up to 16 threads at once, so the waits overlap;
 * inline if no thread can be made. */
void lt_links_close_parallel(struct bpf_link **links, size_t n);

/*
 * Hand links (a malloc'd array of n, owned by the reaper from now on) to
 * *r's thread, which is started on first use. Returns 0, or -errno with
 * nothing taken over.
 */
int lt_link_reaper_give(struct lt_link_reaper **r, struct bpf_link **links, size_t n);
/* Links handed over and not yet closed. */
size_t lt_link_reaper_pending(struct lt_link_reaper *r);
/* Ask the thread to finish what it has and stop; returns at once. */
void lt_link_reaper_stop_async(struct lt_link_reaper *r);
/* Wait for the thread, close anything left, free. NULL is fine. */
void lt_link_reaper_free(struct lt_link_reaper *r);

#endif
