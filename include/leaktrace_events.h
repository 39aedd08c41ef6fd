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
	/* CPython object allocation (the type is the first argument). */
	LT_FUNC_PY_GENERIC_ALLOC, /* PyType_GenericAlloc(type, nitems) */
	LT_FUNC_PY_GC_NEW,        /* _PyObject_GC_New(type) */
	LT_FUNC_PY_GC_NEWVAR,     /* _PyObject_GC_NewVar(type, nitems) */
	LT_FUNC_PY_GC_DEL,        /* PyObject_GC_Del(op) */
	LT_FUNC_PY_FINALIZE,      /* Py_FinalizeEx(): the interpreter shuts down */
	/* The object allocator's own functions (the table PyObject_Malloc calls). */
	LT_FUNC_PY_OBJ_MALLOC,    /* (ctx, size) */
	LT_FUNC_PY_OBJ_CALLOC,    /* (ctx, nelem, elsize) */
	LT_FUNC_PY_OBJ_REALLOC,   /* (ctx, ptr, size) */
	LT_FUNC_PY_OBJ_FREE,      /* (ctx, ptr) */
	LT_FUNC_PY_NEW_REFERENCE, /* _Py_NewReference(op): an object initialised */
	LT_FUNC_MAX,
};

enum lt_event_kind {
	LT_EV_ALLOC = 1, /* struct lt_alloc_event: heap block returned */
	LT_EV_FREE,      /* struct lt_free_event: heap block released */
	LT_EV_MMAP,      /* struct lt_alloc_event: anonymous mapping created */
	LT_EV_MUNMAP,    /* struct lt_free_event: range unmapped */
	LT_EV_FORK,      /* struct lt_task_event: new process (other = parent) */
	LT_EV_EXEC,      /* struct lt_exec_event: process image replaced */
	LT_EV_EXIT,      /* struct lt_task_event: whole thread group gone */
	LT_EV_LIB_MAP,   /* struct lt_lib_event: a file mapped executable (is_libc: libc-like) */
	LT_EV_EXIT_MAPS, /* struct lt_exit_maps_event: a process's code mappings as it exits */
	LT_EV_PY_ALLOC,  /* struct lt_py_alloc_event: a Python object created */
	LT_EV_PY_FREE,   /* struct lt_free_event: a Python object's memory released */
	LT_EV_PY_REUSE,  /* struct lt_py_alloc_event: an object taken from a free list (addr) */
	LT_EV_PY_CODE,   /* struct lt_py_code_event: a code object seen for the first time */
	LT_EV_PY_FINALIZE, /* struct lt_free_event: Py_FinalizeEx began; len_bytes 1: the
			    * process is stopped until the consumer sends SIGCONT (objects freed after
			    * it are shutdown, not the program: they are not counted) */
	LT_EV_FD_OPEN,   /* struct lt_alloc_event: a descriptor made (addr: fd; func: the
			  * syscall's number); its struct lt_fd_desc_event follows */
	LT_EV_FD_DESC,   /* struct lt_fd_desc_event: what a descriptor is (at creation,
			  * and again once bind or connect gave a socket its addresses) */
	LT_EV_FD_CLOSE,  /* struct lt_free_event: descriptors addr..len_bytes closed */
	LT_EV_KALLOC,    /* struct lt_kalloc_event: --kernel, a kernel object allocated */
	LT_EV_KFREE,     /* struct lt_kfree_event: --kernel, a recorded kernel object freed */
};

/* Slots of the rings map (a process's records go to slot tgid % nrings;
 * one ring in use today). */
#define LT_MAX_RINGS 8

/* Reasons a record or an allocation can be lost; each has a counter. */
enum lt_drop {
	/* The ring buffer full (or, never expected, no ring in its slot): */
	LT_DROP_RINGBUF_ALLOC, /* alloc record lost */
	LT_DROP_RINGBUF_FREE,  /* free record lost */
	LT_DROP_RINGBUF_TASK,  /* fork/exec/exit/lib record lost */
	LT_DROP_INFLIGHT_FULL, /* in-flight call table full: allocation not seen */
	LT_DROP_STACK_TRUNCATED, /* stack deeper than LT_MAX_FRAMES: outer frames cut */
	LT_DROP_SAMPLED_FULL,  /* sampled-address table full: sampled block not recorded */
	LT_DROP_KERNEL_LIVE_FULL, /* --kernel: live-object table full: object not recorded */
	LT_DROP_MAX,
};

struct lt_event_hdr {
	__u32 kind; /* enum lt_event_kind */
	__u32 tgid;
	__u64 ts_ns; /* CLOCK_MONOTONIC */
};

#define LT_PY_MAX_FRAMES 64

/* A Python frame as BPF records it (see struct lt_py_layout). */
struct lt_py_frame {
	__u64 code;
	__u64 pos; /* raw: f_lasti (sign-extended) or instruction pointer */
};

/* Variable length: only nframes entries of frames[] are present, or, when
 * npy > 0 (--native in a Python process), all of frames[] and npy entries
 * of pyframes[]: the Python frames running when the block was allocated. */
struct lt_alloc_event {
	struct lt_event_hdr hdr;
	__u32 tid;
	__u16 func; /* enum lt_func */
	__u16 nframes;
	__u64 addr;
	__u64 size_bytes;
	__u64 released_addr; /* realloc: the old block it released, else 0 */
	__u32 npy;
	__u32 pad;
	__u64 frames[LT_MAX_FRAMES]; /* innermost first; frames[0] = caller */
	struct lt_py_frame pyframes[LT_PY_MAX_FRAMES]; /* innermost first */
};

#define LT_ALLOC_EVENT_HDR_BYTES ((unsigned long)__builtin_offsetof(struct lt_alloc_event, frames))

struct lt_free_event {
	struct lt_event_hdr hdr;
	__u32 tid;
	__u16 func;
	__u16 pad;
	__u64 addr;
	__u64 len_bytes; /* munmap length; 0 for heap frees; LT_EV_PY_FREE: 1 when the
			  * block held a code object */
};

struct lt_task_event {
	struct lt_event_hdr hdr;
	__u32 other_tgid; /* fork: parent tgid; exec: the thread that called it */
	__u32 pad;
	char comm[LT_COMM_LEN];
};

#define LT_EXEC_PATH_LEN 256

/* The program's path as given to execve (relative ones are relative to the
 * caller's cwd): a process that lives a few ms is gone before /proc/PID/exe
 * can be read. */
struct lt_exec_event {
	struct lt_task_event task;
	char filename[LT_EXEC_PATH_LEN];
};

struct lt_lib_event {
	struct lt_event_hdr hdr;
	__u32 dev; /* kernel dev_t of the file's superblock: major << 20 | minor */
	__u32 is_libc; /* else reported only for its unwind table */
	__u64 ino;
	char name[LT_LIBNAME_LEN];
};

/*
 * Sent just before LT_EV_EXIT for a process that had heap records: its
 * executable file mappings, read in the kernel while its address space still
 * exists. A process living a few ms is gone before userspace, woken a timer
 * tick or two later, can read /proc/PID/maps.
 */
#define LT_EXIT_MAPS_MAX 64
#define LT_VMA_NAME_LEN 64

struct lt_vma_entry {
	__u64 start;
	__u64 end;
	__u64 file_offset;
	__u64 ino;
	__u32 dev; /* kernel dev_t */
	__u32 pad;
	char name[LT_VMA_NAME_LEN]; /* the file's base name */
};

/* Variable length: only count entries are present. */
struct lt_exit_maps_event {
	struct lt_event_hdr hdr;
	__u32 count;
	__u32 pad;
	struct lt_vma_entry vmas[LT_EXIT_MAPS_MAX];
};

#define LT_EXIT_MAPS_HDR_BYTES ((unsigned long)__builtin_offsetof(struct lt_exit_maps_event, vmas))

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
	LT_CFA_GAP,         /* BPF only: NONE between two functions of a file with rules */
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

/*
 * CPython. Userspace finds the interpreter in a process and puts where its
 * structures are (struct lt_py_layout) in a map keyed by tgid; at each object
 * allocation BPF walks the interpreter's frames and records, per frame, the
 * code object and the raw position (3.8-3.10: f_lasti; 3.11+: the
 * instruction pointer), which userspace turns into file:line.
 */

enum lt_py_pos_kind {
	LT_PY_POS_LASTI = 1, /* a 32-bit int in the frame (3.8-3.10) */
	LT_PY_POS_POINTER,   /* a pointer into the code object (3.11+) */
};

struct lt_py_layout {
	__u64 runtime;         /* address of _PyRuntime in the process */
	__u32 minor;           /* 3.minor */
	__u32 tss_key;         /* offset of the GIL state's pthread key in _PyRuntime; the
				* thread state is that key's value in glibc's TSD */
	__u32 tsd_first;       /* glibc: struct pthread's specific_1stblock (784 in 2.36) */
	__u32 tstate_frame;    /* tstate -> current frame, or -> cframe when cframe_frame >= 0 */
	__s32 cframe_frame;    /* cframe -> current frame (3.11, 3.12); -1 none */
	__u32 frame_code;      /* frame -> code object */
	__u32 frame_back;      /* frame -> previous frame */
	__u32 frame_pos;       /* frame -> position (enum lt_py_pos_kind) */
	__u32 pos_kind;
	__s32 frame_owner;     /* frame -> owner byte; -1 none */
	__u32 owner_skip;      /* frames whose owner is this or more are not Python code
				* (3.12+: C-stack shims; 3.14+: also interpreter-owned) */
	__u32 type_basicsize;  /* PyTypeObject: tp_basicsize (tp_itemsize follows it) */
	__u32 type_flags;      /* PyTypeObject: tp_flags */
	__u32 stop_at_finalize; /* -c: SIGSTOP the process when its shutdown begins, until the
				 * consumer has read its objects (LT_EV_PY_FINALIZE says so) */
	/* What a code object's record copies (struct lt_py_code_event). */
	__u32 code_head_len;   /* bytes of the code object's header */
	__u32 code_filename;   /* code -> co_filename (str) */
	__u32 code_name;       /* code -> co_qualname, or co_name before 3.11 (str) */
	__u32 code_linetable;  /* code -> co_linetable or co_lnotab (bytes) */
	__u32 str_ascii_data;  /* where a compact ASCII str's characters start */
	__u32 str_compact_data; /* where another compact str's characters start */
	__u64 code_type;       /* address of PyCode_Type, 0 if unknown */
	/* 3.15+: the thread's own state is a thread-local variable of an
	 * executable (initial TLS block) at fs_base + tstate_tls, not a
	 * pthread key's value; 0: use tss_key. */
	__s64 tstate_tls;
	/* 3.15+, shared libpython: the thread state is in libpython's TLS
	 * block, found through the thread's DTV with the module id ld.so wrote
	 * at this address (the GOT), tls_block_off into it; 0: not so. */
	__u64 tls_modid_slot;
	__u64 tls_block_off;
	/* The reference tracer pointer leads to a probe (python_reftracer.h):
	 * objects made are seen there, not at _Py_NewReference. */
	__u32 reuse_by_tracer;
	__u32 pad;
};

#define LT_PY_CODE_HEAD 256
#define LT_PY_CODE_STR 512
#define LT_PY_CODE_TABLE 8192

/*
 * A code object first seen in a frame, copied while it runs: its header,
 * and from their starts the str objects naming its file and function and
 * the bytes object of its line table (each cut at its field's size). The
 * consumer reads code objects later, by when a module's body, say, may be
 * gone; a copy answers for it.
 */
struct lt_py_code_event {
	struct lt_event_hdr hdr;
	__u64 code;
	__u64 file_addr, name_addr, table_addr;
	__u16 head_len, file_len, name_len, table_len; /* bytes copied of each */
	__u8 head[LT_PY_CODE_HEAD];
	__u8 file[LT_PY_CODE_STR];
	__u8 name[LT_PY_CODE_STR];
	__u8 table[LT_PY_CODE_TABLE];
};


/* Variable length: only npy entries of frames[] are present. */
struct lt_py_alloc_event {
	struct lt_event_hdr hdr;
	__u32 tid;
	__u16 func;   /* enum lt_func */
	__u16 npy;
	__u64 addr;   /* the object, or the allocator's block (LT_FUNC_PY_OBJ_*) */
	__u64 type;   /* its PyTypeObject; 0 for a block, whose type is read later */
	__u64 size_bytes; /* tp_basicsize + nitems * tp_itemsize, or the bytes asked for */
	struct lt_py_frame frames[LT_PY_MAX_FRAMES]; /* innermost first */
};

#define LT_PY_ALLOC_EVENT_HDR_BYTES ((unsigned long)__builtin_offsetof(struct lt_py_alloc_event, frames))

/*
 * Descriptors. The kernel side sends what it finds behind a new descriptor
 * in raw form; userspace names it (a path, an address, a pipe's inode).
 */
#define LT_FD_PATH_BYTES 512
#define LT_FD_NAME_MAX 64 /* a path component's bytes, NUL included (longer ones are cut) */
#define LT_FD_PEER_AT 256

struct lt_fd_desc_event {
	struct lt_event_hdr hdr;
	__u32 fd;
	__u32 mode;       /* the inode's i_mode */
	__u64 fs_magic;   /* its superblock's s_magic: sockfs, pipefs, anon inodes... */
	__u64 ino;
	__u32 dev;        /* kernel dev_t */
	__u16 family;     /* sockets: AF_*; 0 otherwise */
	__u16 sock_type;  /* SOCK_STREAM, SOCK_DGRAM... */
	__u16 protocol;
	__u16 local_port; /* host order */
	__u16 remote_port;
	__u16 npath;      /* files: path components, innermost first, each NUL-ended in
			   * path[]. AF_UNIX: bit 0, own name at path[0]; bit 1, the
			   * peer's at path[LT_FD_PEER_AT]; '@' starts abstract names */
	__u8 local_addr[16];  /* AF_INET: the first 4 bytes */
	__u8 remote_addr[16];
	char path[LT_FD_PATH_BYTES + LT_FD_NAME_MAX];
};

/*
 * --kernel: kernel memory from the kmem tracepoints. Records carry the
 * kernel stack whole (no stack map, so no stack is lost to collisions),
 * the task that was running and its cgroup v2 id, and the slab cache's
 * name (kmalloc: its type and size, named in userspace).
 */
#define LT_KSTACK_MAX 48
#define LT_KCACHE_NAME_LEN 32

/* The tracepoint that made the record. */
enum lt_kfunc {
	LT_KFUNC_KMALLOC = 1,     /* kmalloc, kmalloc_node, krealloc...: a kmalloc-N cache or pages */
	LT_KFUNC_CACHE_ALLOC,     /* kmem_cache_alloc(_node): a named cache */
	LT_KFUNC_PAGE_ALLOC,      /* mm_page_alloc: 2^order pages */
	LT_KFUNC_PERCPU_ALLOC,    /* percpu_alloc_percpu */
};

/* Objects are kept per class: their addresses come from different spaces. */
enum lt_kclass {
	LT_KCLASS_SLAB = 0, /* kmalloc and kmem_cache objects */
	LT_KCLASS_PAGE,     /* struct page of a page allocation */
	LT_KCLASS_PERCPU,   /* a per-CPU area */
	LT_KCLASS_MAX,
};

/* kmalloc's cache kinds, as kmalloc_type() picks them from the gfp flags. */
enum lt_kmalloc_type {
	LT_KMALLOC_NORMAL = 0,
	LT_KMALLOC_CG,    /* __GFP_ACCOUNT: kmalloc-cg-N */
	LT_KMALLOC_RCL,   /* __GFP_RECLAIMABLE: kmalloc-rcl-N */
	LT_KMALLOC_DMA,   /* __GFP_DMA: dma-kmalloc-N */
	LT_KMALLOC_LARGE, /* over the largest cache: whole pages */
};

/* Call-site ranges whose objects BPF leaves out (BPF's own allocator). */
#define LT_KSKIP_SITES 4

/* Recorded live objects at most (the BPF table's size, preallocated, ~56
 * bytes an entry: 28 MiB; --max-allocs lowers it). */
#define LT_KLIVE_MAX_ENTRIES (1u << 19)

/* Key of the BPF table of recorded live objects (frees of others are not sent). */
struct lt_klive_key {
	__u64 addr;
	__u32 kclass;
	__u32 pad;
};

/* Variable length: only nframes entries of frames[] are present. */
struct lt_kalloc_event {
	struct lt_event_hdr hdr; /* tgid: the task running when it was made */
	__u32 tid;
	__u16 func;   /* enum lt_kfunc */
	__u8 kclass;  /* enum lt_kclass */
	__u8 kmalloc_type; /* LT_KFUNC_KMALLOC: enum lt_kmalloc_type; LT_KFUNC_PAGE_ALLOC: the order */
	__u64 addr;
	__u64 size_bytes;  /* what it takes: the cache's object size, or the pages' bytes */
	__u64 cgroup_id;   /* the task's cgroup v2 id */
	char comm[LT_COMM_LEN];
	char cache[LT_KCACHE_NAME_LEN]; /* LT_KFUNC_CACHE_ALLOC: the cache's name */
	__u32 nframes;
	__u32 pad;
	__u64 frames[LT_KSTACK_MAX]; /* innermost first */
};

#define LT_KALLOC_EVENT_HDR_BYTES ((unsigned long)__builtin_offsetof(struct lt_kalloc_event, frames))

struct lt_kfree_event {
	struct lt_event_hdr hdr;
	__u64 addr;
	__u32 kclass;
	__u32 pad;
};

#endif /* LEAKTRACE_EVENTS_H */
