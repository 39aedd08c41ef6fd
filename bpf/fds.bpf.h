/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Descriptors: made at the exit of the syscalls that return or write new
 * ones, closed at the entry of close and close_range. fentry on fd_install
 * would be one hook for every way in, but this kernel refuses tracing
 * programs that need a trampoline (EPERM), and the raw syscall tracepoints
 * are always there. A descriptor the table below misses, or one closed
 * behind our back (close-on-exec, dup2 over it), is put right when its
 * number is made again; exec drops a process's records with its stacks.
 */
#ifndef LT_FDS_BPF_H
#define LT_FDS_BPF_H

/* x86-64 syscall numbers. */
#define NR_open 2
#define NR_close 3
#define NR_pipe 22
#define NR_dup 32
#define NR_dup2 33
#define NR_socket 41
#define NR_connect 42
#define NR_accept 43
#define NR_recvmsg 47
#define NR_bind 49
#define NR_socketpair 53
#define NR_fcntl 72
#define NR_creat 85
#define NR_epoll_create 213
#define NR_mq_open 240
#define NR_inotify_init 253
#define NR_openat 257
#define NR_signalfd 282
#define NR_timerfd_create 283
#define NR_eventfd 284
#define NR_accept4 288
#define NR_signalfd4 289
#define NR_eventfd2 290
#define NR_epoll_create1 291
#define NR_dup3 292
#define NR_pipe2 293
#define NR_inotify_init1 294
#define NR_perf_event_open 298
#define NR_fanotify_init 300
#define NR_open_by_handle_at 304
#define NR_memfd_create 319
#define NR_bpf 321
#define NR_userfaultfd 323
#define NR_io_uring_setup 425
#define NR_open_tree 428
#define NR_fsopen 430
#define NR_fsmount 432
#define NR_fspick 433
#define NR_pidfd_open 434
#define NR_close_range 436
#define NR_openat2 437
#define NR_pidfd_getfd 438
#define NR_memfd_secret 447

#define F_DUPFD 0
#define F_DUPFD_CLOEXEC 1030
#define CLOSE_RANGE_CLOEXEC 4
#define EINPROGRESS 115
#define SOL_SOCKET 1
#define SCM_RIGHTS 1
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define FD_MAX_PATH_PARTS 12
#define FD_MAX_SCM_FDS 16

struct scm_walk {
	__u64 control, controllen, off;
	__u32 n;
	int fds[2 * FD_MAX_SCM_FDS]; /* room for what a mask lets the verifier see */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scm_walk);
} scm_scratch SEC(".maps");

/*
 * Whose descriptors count: the traced processes (-c, -p, --cgroup) or, system-wide,
 * every process but ignored ones. alloc_wanted() is not it: in -p and
 * --cgroup the per-process uprobes, not a tgid test, pick the heap's.
 */
static __always_inline bool fd_wanted(__u32 tgid)
{
	if (!task_event_wanted(tgid))
		return false;
	return !use_ignore_list || !bpf_map_lookup_elem(&ignored_tgids, &tgid);
}

/* Syscalls whose return value, when not negative, is a new descriptor. */
static __always_inline bool returns_new_fd(long id, const struct pt_regs *regs)
{
	switch (id) {
	case NR_open: case NR_creat: case NR_openat: case NR_openat2: case NR_open_by_handle_at:
	case NR_socket: case NR_accept: case NR_accept4:
	case NR_dup: case NR_dup2: case NR_dup3:
	case NR_eventfd: case NR_eventfd2: case NR_epoll_create: case NR_epoll_create1:
	case NR_timerfd_create: case NR_signalfd: case NR_signalfd4:
	case NR_inotify_init: case NR_inotify_init1: case NR_fanotify_init:
	case NR_memfd_create: case NR_memfd_secret: case NR_userfaultfd:
	case NR_perf_event_open: case NR_io_uring_setup: case NR_mq_open:
	case NR_pidfd_open: case NR_pidfd_getfd:
	case NR_open_tree: case NR_fsopen: case NR_fsmount: case NR_fspick:
		return true;
	case NR_fcntl: {
		long cmd = BPF_CORE_READ(regs, si);

		return cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC;
	}
	}
	return false;
}

struct path_walk {
	struct mount *mnt;
	struct dentry *d;
	char *out;
	__u32 off;
	__u16 n;
};

/* One step up from w->d: to the mount it is mounted on at a mount's root,
 * else to its parent after its name is written. */
static long path_step(__u32 index, struct path_walk *w)
{
	/* Copied out first: BPF_CORE_READ would relocate w's own fields too. */
	struct mount *mnt = w->mnt;
	struct dentry *d = w->d, *parent;
	long len;

	if (d == BPF_CORE_READ(mnt, mnt.mnt_root)) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (up == mnt)
			return 1;
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		return 0;
	}
	if (w->n >= FD_MAX_PATH_PARTS || w->off >= LT_FD_PATH_BYTES)
		return 1;
	parent = BPF_CORE_READ(d, d_parent);
	len = bpf_probe_read_kernel_str(&w->out[w->off & (LT_FD_PATH_BYTES - 1)], LT_FD_NAME_MAX,
					BPF_CORE_READ(d, d_name.name));
	if (len <= 0)
		return 1;
	w->off += len;
	w->n++;
	if (parent == d)
		return 1;
	w->d = parent;
	return 0;
}

/* The path of a file from the global root, innermost component first. A
 * loop the verifier checks once per step, not per state it could reach. */
static __always_inline __u16 fd_path_parts(struct file *file, char *out)
{
	struct vfsmount *vfsmnt = BPF_CORE_READ(file, f_path.mnt);
	struct path_walk w = {
		.mnt = container_of(vfsmnt, struct mount, mnt),
		.d = BPF_CORE_READ(file, f_path.dentry),
		.out = out,
	};

	bpf_loop(FD_MAX_PATH_PARTS + 4, path_step, &w, 0);
	return w.n;
}

/* An AF_UNIX socket's bound name into out; false if it has none. */
static __always_inline bool unix_name(struct sock *sk, char *out)
{
	struct unix_sock *us = container_of(sk, struct unix_sock, sk);
	struct unix_address *addr = BPF_CORE_READ(us, addr);
	const char *path;
	int len;

	if (!addr)
		return false;
	len = BPF_CORE_READ(addr, len);
	if (len <= 2) /* only the family: autobind or unnamed */
		return false;
	path = (const char *)addr + bpf_core_field_offset(struct unix_address, name) + 2;
	if (bpf_probe_read_kernel(out, 1, path))
		return false;
	if (out[0])
		return bpf_probe_read_kernel_str(out, 108, path) > 0;
	out[0] = '@';
	len -= 3; /* family and the leading NUL */
	if (len > 100)
		len = 100;
	return len > 0 && bpf_probe_read_kernel(out + 1, len & 127, path + 1) == 0;
}

static __always_inline void fd_describe_socket(struct file *file, struct lt_fd_desc_event *e)
{
	struct socket *sock = BPF_CORE_READ(file, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);

	if (!sk)
		return;
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->sock_type = BPF_CORE_READ(sock, type);
	e->protocol = BPF_CORE_READ(sk, sk_protocol);
	if (e->family == AF_INET || e->family == AF_INET6) {
		e->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
		e->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		if (e->family == AF_INET) {
			BPF_CORE_READ_INTO(&e->local_addr, sk, __sk_common.skc_rcv_saddr);
			BPF_CORE_READ_INTO(&e->remote_addr, sk, __sk_common.skc_daddr);
		} else {
			BPF_CORE_READ_INTO(&e->local_addr, sk, __sk_common.skc_v6_rcv_saddr);
			BPF_CORE_READ_INTO(&e->remote_addr, sk, __sk_common.skc_v6_daddr);
		}
	} else if (e->family == AF_UNIX) {
		struct unix_sock *us = container_of(sk, struct unix_sock, sk);
		struct sock *peer = BPF_CORE_READ(us, peer);

		if (unix_name(sk, e->path))
			e->npath |= 1;
		if (peer && unix_name(peer, e->path + LT_FD_PEER_AT))
			e->npath |= 2;
	}
}

static __always_inline struct file *task_fd_file(struct task_struct *task, __u32 fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;

	if (fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

#define SOCKFS_MAGIC 0x534F434B

/* What is behind fd now; sockets only when only_sockets (bind, connect).
 * Global functions are verified once, not at every call. */
__noinline int lt_fd_send_desc(__u32 tgid, __u32 fd, __u32 only_sockets)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct lt_fd_desc_event *e;
	struct inode *inode;
	void *ring;
	struct file *file;

	file = task_fd_file(task, fd);
	if (!file)
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	if (only_sockets && BPF_CORE_READ(inode, i_sb, s_magic) != SOCKFS_MAGIC)
		return 0;
	ring = ring_for(tgid);
	e = ring_reserve(ring, sizeof(*e));
	if (!e) {
		count_drop(LT_DROP_RINGBUF_TASK);
		return 0;
	}
	__builtin_memset(&e->fd, 0, sizeof(*e) - sizeof(e->hdr) - sizeof(e->path));
	e->path[0] = '\0';
	e->path[LT_FD_PEER_AT] = '\0';
	fill_hdr(&e->hdr, LT_EV_FD_DESC, tgid);
	e->fd = fd;
	e->mode = BPF_CORE_READ(inode, i_mode);
	e->fs_magic = BPF_CORE_READ(inode, i_sb, s_magic);
	e->ino = BPF_CORE_READ(inode, i_ino);
	e->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	if (e->fs_magic == SOCKFS_MAGIC)
		fd_describe_socket(file, e);
	else
		e->npath = fd_path_parts(file, e->path);
	bpf_ringbuf_submit(e, fd_record_flags(ring));
	return 0;
}

/* A new descriptor, with the stack and Python frames of the thread that
 * made it (its user registers, saved at syscall entry). */
__noinline int lt_fd_made(__u32 id, __u32 tgid, __u32 fd)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	emit_record(regs, LT_EV_FD_OPEN, (__u16)id, fd, 0, 0, true, true);
	return lt_fd_send_desc(tgid, fd, 0);
}

/* pipe, pipe2 and socketpair write their two descriptors to user memory. */
static __always_inline void fd_pair_made(long id, __u32 tgid, __u64 uptr)
{
	int fds[2];

	if (bpf_probe_read_user(fds, sizeof(fds), (void *)uptr))
		return;
	if (fds[0] >= 0)
		lt_fd_made(id, tgid, fds[0]);
	if (fds[1] >= 0)
		lt_fd_made(id, tgid, fds[1]);
}

struct user_cmsghdr {
	__u64 cmsg_len;
	int cmsg_level;
	int cmsg_type;
};

/* One control message of a received msghdr: its SCM_RIGHTS descriptors are new. */
struct scm_made {
	__u32 tgid;
	struct scm_walk *w;
};

static long scm_step(__u32 index, struct scm_made *m)
{
	struct scm_walk *w = m->w;
	struct user_cmsghdr h;
	__u32 n;

	if (w->off + sizeof(h) > w->controllen ||
	    bpf_probe_read_user(&h, sizeof(h), (void *)(w->control + w->off)) ||
	    h.cmsg_len < sizeof(h))
		return 1;
	if (h.cmsg_level == SOL_SOCKET && h.cmsg_type == SCM_RIGHTS && w->n == 0) {
		n = (h.cmsg_len - sizeof(h)) / sizeof(int);
		if (n > FD_MAX_SCM_FDS)
			n = FD_MAX_SCM_FDS;
		asm volatile("" : "+r"(n));
		n &= 2 * FD_MAX_SCM_FDS - 1;
		if (!n || bpf_probe_read_user(w->fds, n * sizeof(int),
					      (void *)(w->control + w->off + sizeof(h))))
			return 1;
		w->n = n;
	}
	w->off += (h.cmsg_len + 7) & ~7ULL;
	return 0;
}

static long scm_emit(__u32 i, struct scm_made *m)
{
	int fd;

	if (i >= m->w->n || i >= FD_MAX_SCM_FDS)
		return 1;
	/* Hidden from clang, which would drop the mask after the test above;
	 * the verifier tracks i through neither. */
	asm volatile("" : "+r"(i));
	fd = m->w->fds[i & (FD_MAX_SCM_FDS - 1)];
	if (fd >= 0)
		lt_fd_made(NR_recvmsg, m->tgid, fd);
	return 0;
}

/* struct user_msghdr: msg_control at 32, msg_controllen at 40. The first
 * SCM_RIGHTS message's descriptors (at most FD_MAX_SCM_FDS) are recorded. */
static __always_inline void fds_received(__u32 tgid, __u64 msg)
{
	struct scm_walk *w;
	struct scm_made m;
	__u32 zero = 0;

	w = bpf_map_lookup_elem(&scm_scratch, &zero);
	if (!w)
		return;
	w->n = 0;
	w->off = 0;
	if (bpf_probe_read_user(&w->control, sizeof(w->control), (void *)(msg + 32)) ||
	    bpf_probe_read_user(&w->controllen, sizeof(w->controllen), (void *)(msg + 40)) ||
	    !w->control)
		return;
	m.tgid = tgid;
	m.w = w;
	bpf_loop(4, scm_step, &m, 0);
	bpf_loop(FD_MAX_SCM_FDS, scm_emit, &m, 0);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_fd_syscall_exit, struct pt_regs *regs, long ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	long id;

	if (ret < 0 && ret != -EINPROGRESS)
		return 0;
	if (!fd_wanted(tgid))
		return 0;
	id = BPF_CORE_READ(regs, orig_ax);
	if (ret >= 0 && returns_new_fd(id, regs)) {
		lt_fd_made(id, tgid, (__u32)ret);
		return 0;
	}
	switch (id) {
	case NR_pipe:
	case NR_pipe2:
		if (ret == 0)
			fd_pair_made(id, tgid, BPF_CORE_READ(regs, di));
		break;
	case NR_socketpair:
		if (ret == 0)
			fd_pair_made(id, tgid, BPF_CORE_READ(regs, r10));
		break;
	case NR_recvmsg:
		if (ret >= 0)
			fds_received(tgid, BPF_CORE_READ(regs, si));
		break;
	case NR_bind:
	case NR_connect:
		/* Now it has its addresses. */
		lt_fd_send_desc(tgid, (__u32)BPF_CORE_READ(regs, di), 1);
		break;
	}
	return 0;
}

/* At entry, before the number is free for another thread to be given. */
SEC("tp_btf/sys_enter")
int BPF_PROG(on_fd_syscall_enter, struct pt_regs *regs, long id)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 first, last, flags;

	if (id != NR_close && id != NR_close_range)
		return 0;
	if (!fd_wanted(tgid))
		return 0;
	first = BPF_CORE_READ(regs, di);
	if (id == NR_close) {
		last = first;
	} else {
		last = BPF_CORE_READ(regs, si);
		flags = BPF_CORE_READ(regs, dx);
		if ((flags & CLOSE_RANGE_CLOEXEC) || last < first)
			return 0;
	}
	emit_free(LT_EV_FD_CLOSE, (__u16)id, (__u32)first, last > 0xffffffffULL ? 0xffffffffULL : last);
	return 0;
}

#endif
