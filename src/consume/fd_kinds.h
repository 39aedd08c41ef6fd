/* SPDX-License-Identifier: MIT */
/* What a descriptor is, in the few words a report groups them by. */
#ifndef LT_FD_KINDS_H
#define LT_FD_KINDS_H

enum lt_fd_kind {
	LT_FD_UNKNOWN = 0, /* no description came (ring buffer full) */
	LT_FD_FILE,
	LT_FD_DIR,
	LT_FD_DEVICE,
	LT_FD_FIFO,
	LT_FD_PIPE,
	LT_FD_TCP,
	LT_FD_TCP6,
	LT_FD_UDP,
	LT_FD_UDP6,
	LT_FD_UNIX,
	LT_FD_SOCKET, /* another family */
	LT_FD_EVENTFD,
	LT_FD_EPOLL,
	LT_FD_TIMERFD,
	LT_FD_SIGNALFD,
	LT_FD_INOTIFY,
	LT_FD_PIDFD,
	LT_FD_MEMFD,
	LT_FD_ANON, /* another anonymous inode */
	LT_FD_OTHER,
	LT_FD_KIND_MAX,
};

/* Stable names: JSON, snapshots and Prometheus labels use them. */
static inline const char *lt_fd_kind_name(unsigned kind)
{
	static const char *const names[LT_FD_KIND_MAX] = {
		"unknown", "file", "dir", "device", "fifo", "pipe", "tcp", "tcp6", "udp", "udp6",
		"unix", "socket", "eventfd", "epoll", "timerfd", "signalfd", "inotify", "pidfd",
		"memfd", "anon", "other",
	};

	return kind < LT_FD_KIND_MAX ? names[kind] : "unknown";
}

#endif
