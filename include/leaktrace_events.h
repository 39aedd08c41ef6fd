/* SPDX-License-Identifier: MIT */
/*
 * The contract between the BPF programs (bpf/leaktrace.bpf.c) and the
 * userspace consumer: record layouts in the ring buffer, counters and
 * configuration enums. Fixed-width types only, no pointers, so both sides
 * agree on every byte.
 */
#ifndef LEAKTRACE_EVENTS_H
#define LEAKTRACE_EVENTS_H

#ifdef __BPF__
/* vmlinux.h provides __u32/__u64 for the BPF side. */
#else
#include <linux/types.h>
#endif

/* bpf_get_stack() caps user stacks at sysctl kernel.perf_event_max_stack (127). */
#define LT_MAX_FRAMES 127
#define LT_COMM_LEN 16
#define LT_LIBNAME_LEN 64

/* The traced allocator functions; also the bpf_cookie of their probes. */
enum lt_func {
	LT_FUNC_MALLOC = 1,
	LT_FUNC_CALLOC,
	LT_FUNC_REALLOC,
	LT_FUNC_REALLOCARRAY,
	LT_FUNC_POSIX_MEMALIGN,
	LT_FUNC_ALIGNED_ALLOC,
	LT_FUNC_MEMALIGN,
	LT_FUNC_VALLOC,
	LT_FUNC_PVALLOC,
	LT_FUNC_FREE,
	LT_FUNC_MMAP,
	LT_FUNC_MUNMAP,
	LT_FUNC_MAX,
};

enum lt_event_kind {
	LT_EV_ALLOC = 1, /* struct lt_alloc_event: heap block returned */
	LT_EV_FREE,      /* struct lt_free_event: heap block released */
	LT_EV_MMAP,      /* struct lt_alloc_event: anonymous mapping created */
	LT_EV_MUNMAP,    /* struct lt_free_event: range unmapped */
	LT_EV_FORK,      /* struct lt_task_event: new process (other = parent) */
	LT_EV_EXEC,      /* struct lt_task_event: process image replaced */
	LT_EV_EXIT,      /* struct lt_task_event: whole thread group gone */
	LT_EV_LIB_MAP,   /* struct lt_lib_event: a file mapped executable (is_libc: libc-like) */
};

/* Reasons a record or an allocation can be lost; each has a counter. */
enum lt_drop {
	LT_DROP_RINGBUF_ALLOC, /* ring buffer full: alloc record lost */
	LT_DROP_RINGBUF_FREE,  /* ring buffer full: free record lost */
	LT_DROP_RINGBUF_TASK,  /* ring buffer full: fork/exec/exit/lib record lost */
	LT_DROP_INFLIGHT_FULL, /* in-flight call table full: allocation not seen */
	LT_DROP_STACK_TRUNCATED, /* stack deeper than LT_MAX_FRAMES: outer frames cut */
	LT_DROP_SAMPLED_FULL,  /* sampled-address table full: sampled block not recorded */
	LT_DROP_MAX,
};

struct lt_event_hdr {
	__u32 kind; /* enum lt_event_kind */
	__u32 tgid;
	__u64 ts_ns; /* CLOCK_MONOTONIC */
};

/* Variable length: only nframes entries of frames[] are present. */
struct lt_alloc_event {
	struct lt_event_hdr hdr;
	__u32 tid;
	__u16 func; /* enum lt_func */
	__u16 nframes;
	__u64 addr;
	__u64 size_bytes;
	__u64 released_addr; /* realloc: the old block it released, else 0 */
	__u64 frames[LT_MAX_FRAMES]; /* innermost first; frames[0] = caller */
};

#define LT_ALLOC_EVENT_HDR_BYTES ((unsigned long)&((struct lt_alloc_event *)0)->frames)

struct lt_free_event {
	struct lt_event_hdr hdr;
	__u32 tid;
	__u16 func;
	__u16 pad;
	__u64 addr;
	__u64 len_bytes; /* munmap length; 0 for heap frees */
};

struct lt_task_event {
	struct lt_event_hdr hdr;
	__u32 other_tgid; /* fork: parent tgid */
	__u32 pad;
	char comm[LT_COMM_LEN];
};

struct lt_lib_event {
	struct lt_event_hdr hdr;
	__u32 dev; /* kernel dev_t of the file's superblock: major << 20 | minor */
	__u32 is_libc; /* else reported only for its unwind table */
	__u64 ino;
	char name[LT_LIBNAME_LEN];
};

/* --sample-bytes: gaps between samples are mean * table[rand] >> 16, with
 * table[i] = -ln((i + 0.5) / LT_EXP_TABLE_SIZE) in 16.16 fixed point. */
#define LT_EXP_TABLE_SIZE 4096

/* A sampled block, so that only its free is reported. */
struct lt_sampled_key {
	__u64 addr;
	__u32 tgid;
	__u32 pad;
};

/* Key of the BPF map of files already attached (userspace fills it). */
struct lt_file_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

/*
 * Unwinding without frame pointers: userspace turns each file's .eh_frame
 * into rows of rules, one row per change of the rules, keyed by file offset
 * and split into 4 KiB pages so that BPF finds a frame's page with one hash
 * lookup and its row with a short binary search.
 */
#define LT_UNWIND_PAGE_SHIFT 12
#define LT_UNWIND_PAGE_BYTES (1u << LT_UNWIND_PAGE_SHIFT)

/* How to find the canonical frame address (the caller's stack pointer). */
enum lt_cfa_rule {
	LT_CFA_NONE = 0,    /* no call-frame information here: try the frame pointer */
	LT_CFA_RSP,         /* rsp + cfa_offset */
	LT_CFA_RBP,         /* rbp + cfa_offset */
	LT_CFA_PLT,         /* PLT stub: rsp + cfa_offset, + 8 once (rip & 15) >= aux */
	LT_CFA_END,         /* return address undefined: the outermost frame */
	LT_CFA_UNSUPPORTED, /* a rule BPF cannot follow: the stack ends here */
};

/* Where the caller's rbp is. The return address is always at CFA - 8 (x86-64 ABI). */
enum lt_rbp_rule {
	LT_RBP_SAME = 0,  /* unchanged by this frame */
	LT_RBP_AT_CFA,    /* saved at CFA + aux */
	LT_RBP_LOST,      /* undefined or an expression: unknown from here on */
};

struct lt_unwind_row {
	__u16 page_offset; /* the row applies from here to the next row */
	__u8 cfa_rule;     /* enum lt_cfa_rule */
	__u8 rbp_rule;     /* enum lt_rbp_rule */
	__s16 cfa_offset;
	__s16 aux;         /* LT_RBP_AT_CFA: rbp offset from CFA; LT_CFA_PLT: threshold */
};

struct lt_unwind_page_key {
	__u64 ino;
	__u32 dev;  /* kernel dev_t, as in struct lt_lib_event */
	__u32 page; /* file offset >> LT_UNWIND_PAGE_SHIFT */
};

/* rows[first_row, first_row + nrows) of the rows map; the first row starts at
 * page_offset 0 (it carries the rule in effect where the page begins). */
struct lt_unwind_page {
	__u32 first_row;
	__u32 nrows;
};

#endif /* LEAKTRACE_EVENTS_H */
