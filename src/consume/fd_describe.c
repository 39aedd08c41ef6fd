// SPDX-License-Identifier: MIT
#include "consume/fd_describe.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

/* Superblock magics (linux/magic.h), the kernel's own names for these. */
#define SOCKFS_MAGIC 0x534F434BULL
#define PIPEFS_MAGIC 0x50495045ULL
#define ANON_INODE_FS_MAGIC 0x09041934ULL
#define PIDFS_MAGIC 0x50494446ULL

#define MAX_PARTS 12 /* fds.bpf.h: FD_MAX_PATH_PARTS; more were cut */

/* The components (innermost first, NUL-ended, in path[]) joined root first. */
static void join_path(const struct lt_fd_desc_event *e, char *buf, size_t len)
{
	const char *parts[MAX_PARTS];
	size_t n = 0, off = 0, used = 0;
	int w;

	while (n < e->npath && n < MAX_PARTS && off < sizeof(e->path)) {
		const char *p = e->path + off;
		size_t l = strnlen(p, sizeof(e->path) - off);

		if (off + l == sizeof(e->path))
			break; /* not ended: a record cut short */
		parts[n++] = p;
		off += l + 1;
	}
	buf[0] = '\0';
	if (e->npath >= MAX_PARTS) {
		w = snprintf(buf, len, "...");
		used = w > 0 && (size_t)w < len ? (size_t)w : 0;
	}
	for (size_t i = n; i-- > 0;) {
		w = snprintf(buf + used, len - used, "/%s", parts[i]);
		if (w < 0 || (size_t)w >= len - used)
			return;
		used += (size_t)w;
	}
	if (!used)
		snprintf(buf, len, "/");
}

static void inet_endpoint(int family, const __u8 *addr, unsigned port, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}

static enum lt_fd_kind describe_inet(const struct lt_fd_desc_event *e, char *buf, size_t len)
{
	bool v6 = e->family == AF_INET6, stream = e->sock_type == SOCK_STREAM;
	enum lt_fd_kind kind = stream ? (v6 ? LT_FD_TCP6 : LT_FD_TCP) :
		e->sock_type == SOCK_DGRAM ? (v6 ? LT_FD_UDP6 : LT_FD_UDP) : LT_FD_SOCKET;
	const char *name = lt_fd_kind_name(kind);
	char local[64], remote[64];

	if (kind == LT_FD_SOCKET)
		name = v6 ? "inet6" : "inet";
	inet_endpoint(e->family, e->local_addr, e->local_port, local, sizeof(local));
	inet_endpoint(e->family, e->remote_addr, e->remote_port, remote, sizeof(remote));
	if (e->remote_port)
		snprintf(buf, len, "%s %s -> %s", name, local, remote);
	else if (e->local_port)
		snprintf(buf, len, "%s %s", name, local);
	else
		snprintf(buf, len, "%s (unbound)", name);
	return kind;
}

static const char *unix_type(unsigned type)
{
	return type == SOCK_STREAM ? "stream" : type == SOCK_DGRAM ? "dgram" :
	       type == SOCK_SEQPACKET ? "seqpacket" : "other";
}

static enum lt_fd_kind describe_unix(const struct lt_fd_desc_event *e, char *buf, size_t len)
{
	char own[LT_FD_PEER_AT + 1], peer[LT_FD_PEER_AT + 1];

	snprintf(own, sizeof(own), "%.*s", LT_FD_PEER_AT, e->path);
	snprintf(peer, sizeof(peer), "%.*s", LT_FD_PEER_AT, e->path + LT_FD_PEER_AT);
	if ((e->npath & 1) && (e->npath & 2))
		snprintf(buf, len, "unix %s %s -> %s", unix_type(e->sock_type), own, peer);
	else if (e->npath & 1)
		snprintf(buf, len, "unix %s %s", unix_type(e->sock_type), own);
	else if (e->npath & 2)
		snprintf(buf, len, "unix %s -> %s", unix_type(e->sock_type), peer);
	else
		snprintf(buf, len, "unix %s (unnamed)", unix_type(e->sock_type));
	return LT_FD_UNIX;
}

static enum lt_fd_kind anon_kind(const char *name)
{
	static const struct { const char *name; enum lt_fd_kind kind; } known[] = {
		{ "[eventfd]", LT_FD_EVENTFD },   { "[eventpoll]", LT_FD_EPOLL },
		{ "[timerfd]", LT_FD_TIMERFD },   { "[signalfd]", LT_FD_SIGNALFD },
		{ "inotify", LT_FD_INOTIFY },     { "[pidfd]", LT_FD_PIDFD },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(name, known[i].name))
			return known[i].kind;
	return LT_FD_ANON;
}

enum lt_fd_kind lt_fd_describe(const struct lt_fd_desc_event *e, size_t size, char *buf,
			       size_t len)
{
	char name[LT_FD_NAME_MAX + 1];
	enum lt_fd_kind kind;

	if (!len)
		return LT_FD_UNKNOWN;
	buf[0] = '\0';
	if (size < sizeof(*e)) {
		snprintf(buf, len, "?");
		return LT_FD_UNKNOWN;
	}
	if (e->fs_magic == SOCKFS_MAGIC) {
		if (e->family == AF_INET || e->family == AF_INET6)
			return describe_inet(e, buf, len);
		if (e->family == AF_UNIX)
			return describe_unix(e, buf, len);
		snprintf(buf, len, "socket family %u type %u", e->family, e->sock_type);
		return LT_FD_SOCKET;
	}
	if (e->fs_magic == PIPEFS_MAGIC) {
		snprintf(buf, len, "pipe:[%llu]", (unsigned long long)e->ino);
		return LT_FD_PIPE;
	}
	snprintf(name, sizeof(name), "%.*s", LT_FD_NAME_MAX, e->path);
	if (e->fs_magic == ANON_INODE_FS_MAGIC) {
		snprintf(buf, len, "anon_inode:%s", name);
		return anon_kind(name);
	}
	if (e->fs_magic == PIDFS_MAGIC) {
		snprintf(buf, len, "anon_inode:[pidfd]");
		return LT_FD_PIDFD;
	}
	join_path(e, buf, len);
	if (!strncmp(name, "memfd:", 6))
		return LT_FD_MEMFD;
	switch (e->mode & S_IFMT) {
	case S_IFREG:
		kind = LT_FD_FILE;
		break;
	case S_IFDIR:
		kind = LT_FD_DIR;
		break;
	case S_IFCHR:
	case S_IFBLK:
		kind = LT_FD_DEVICE;
		break;
	case S_IFIFO:
		kind = LT_FD_FIFO;
		break;
	default:
		kind = LT_FD_OTHER;
	}
	return kind;
}
