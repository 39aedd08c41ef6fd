// SPDX-License-Identifier: MIT
/*
 * fd_leaky: a target program for the descriptor end-to-end tests
 * (tests/e2e/scenarios_fds.py).
 *
 * Every descriptor the program leaves open is made on a line marked with a
 * "site: <name>" comment, and so is main's call of the function that makes
 * it ("call_<function>"); the harness reads this file for the lines. It
 * leaves open (the counts are the constants below):
 *   leak_files      N_FILES regular files DIR/leak-I.txt, one open() each
 *   leak_same       N_SAME descriptors of the one file DIR/same.txt
 *   leak_listener   a TCP socket listening on 127.0.0.1:PORT
 *   leak_client     N_CLIENTS TCP sockets connected to it (socket + connect)
 *   leak_accepted   the N_CLIENTS sockets accept() gave for them
 *   leak_pipe       both ends of one pipe
 *   leak_socketpair both ends of one AF_UNIX stream socketpair
 *   leak_dup        a dup() of DIR/dup-src.txt, whose original is closed
 *   leak_dup2       a dup2() of DIR/dup2-src.txt over the number of a
 *                   DIR/dup2-victim.txt descriptor (closed by the kernel,
 *                   no close call)
 *   recv_kept       one descriptor of DIR/passed-kept.txt received over
 *                   SCM_RIGHTS (recvmsg) from itself; the sender's copy is
 *                   closed
 * and closes everything else it makes: a second SCM_RIGHTS descriptor
 * (DIR/passed-closed.txt) closed by the receiver and the sender, and the
 * churn: CHURN rounds of files, sockets (client and accepted), pipes,
 * eventfds, dups, dup2 and fcntl(F_DUPFD) to high numbers closed one by one
 * and by close_range, half before the leaks and half after.
 *
 * Then it forks a child that leaves N_CHILD files DIR/child-I.txt open
 * (child_leak) and exits without closing what it inherited, and a second
 * child that opens N_PRE_EXEC files DIR/pre-exec-I.txt (pre_exec), then
 * execs this program as "fd_leaky execd DIR", which opens DIR/execd.txt
 * (execd_leak) and exits. The parent waits for both.
 *
 * The truth line on stdout, one line of JSON after "FDLEAKY ":
 *   {"pid":P,"dir":DIR,"port":PORT,"client_ports":[...],"accepted_ports":
 *    [...],"pipe_ino":I,"child":PID,"execd":PID,"status_child":S,
 *    "status_execd":S,"files":N_FILES,"same":N_SAME,"clients":N_CLIENTS,
 *    "child_files":N_CHILD,"pre_exec":N_PRE_EXEC,"churn":CHURN}
 * client_ports are the local ports of the leak_client sockets;
 * accepted_ports the peer ports of the leak_accepted ones (the same set).
 *
 * Usage:
 *   fd_leaky run DIR [CHURN]   do everything, print the truth line, exit 0
 *   fd_leaky wait DIR [CHURN]  open DIR/before-0.txt and DIR/before-1.txt,
 *                              print "ready", wait for a line on stdin;
 *                              close before-1.txt, do everything, print the
 *                              truth line and "leaked", wait for a line (or
 *                              EOF) and exit 0
 * Exit status 1 on EOF before the trigger, 2 on a usage error, 3 when a
 * call failed. No stdio: nothing opens a descriptor behind the program.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog_io.h"

#define NOINLINE __attribute__((noinline))

#define N_FILES 5
#define N_SAME 4
#define N_CLIENTS 3
#define N_CHILD 2
#define N_PRE_EXEC 2
#define DEFAULT_CHURN 200

static const char *g_dir;
static int g_port;
static int g_listener = -1;
static int g_client_ports[N_CLIENTS];
static int g_accepted_ports[N_CLIENTS];
static unsigned long g_pipe_ino;
/* Kept open: what the program leaks (so nothing is optimised away). */
int volatile g_sink;

static void die(const char *what)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "fd_leaky: %s: %s\n", what, strerror(errno));
	if (write(2, buf, strlen(buf)) < 0)
		_exit(3);
	_exit(3);
}

static void path_of(char *buf, size_t len, const char *name, int i)
{
	if (i < 0)
		snprintf(buf, len, "%s/%s.txt", g_dir, name);
	else
		snprintf(buf, len, "%s/%s-%d.txt", g_dir, name, i);
}

static int check(int fd, const char *what)
{
	if (fd < 0)
		die(what);
	return fd;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len))
		die("getsockname");
	return ntohs(a.sin_port);
}

/* ---- leaks ---- */

NOINLINE void leak_files(void)
{
	char path[PATH_MAX];

	for (int i = 0; i < N_FILES; i++) {
		path_of(path, sizeof(path), "leak", i);
		g_sink = check(open(path, O_CREAT | O_RDWR, 0600), "open"); /* site: leak_files */
	}
}

NOINLINE void leak_same(void)
{
	char path[PATH_MAX];

	path_of(path, sizeof(path), "same", -1);
	for (int i = 0; i < N_SAME; i++)
		g_sink = check(open(path, O_CREAT | O_RDONLY, 0600), "open same"); /* site: leak_same */
}

NOINLINE void leak_listener(void)
{
	struct sockaddr_in a = loopback(0);
	int one = 1;

	g_listener = check(socket(AF_INET, SOCK_STREAM, 0), "socket"); /* site: leak_listener */
	setsockopt(g_listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(g_listener, (struct sockaddr *)&a, sizeof(a)) || listen(g_listener, 64))
		die("bind/listen");
	g_port = local_port(g_listener);
}

static int connect_to_listener(int fd)
{
	struct sockaddr_in a = loopback(g_port);

	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	return fd;
}

NOINLINE void leak_clients(void)
{
	for (int i = 0; i < N_CLIENTS; i++) {
		int fd = check(socket(AF_INET, SOCK_STREAM, 0), "socket"); /* site: leak_client */

		connect_to_listener(fd);
		g_client_ports[i] = local_port(fd);
	}
}

NOINLINE void leak_accepted(void)
{
	for (int i = 0; i < N_CLIENTS; i++) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);
		int fd = check(accept(g_listener, (struct sockaddr *)&peer, &len), "accept"); /* site: leak_accepted */

		g_accepted_ports[i] = ntohs(peer.sin_port);
		g_sink = fd;
	}
}

NOINLINE void leak_pipe(void)
{
	int p[2];
	struct stat st;

	if (pipe(p)) /* site: leak_pipe */
		die("pipe");
	if (fstat(p[0], &st))
		die("fstat");
	g_pipe_ino = (unsigned long)st.st_ino;
}

NOINLINE void leak_socketpair(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) /* site: leak_socketpair */
		die("socketpair");
}

NOINLINE void leak_dup(void)
{
	char path[PATH_MAX];
	int fd;

	path_of(path, sizeof(path), "dup-src", -1);
	fd = check(open(path, O_CREAT | O_RDWR, 0600), "open dup-src"); /* site: dup_source */
	g_sink = check(dup(fd), "dup"); /* site: leak_dup */
	close(fd);
}

NOINLINE void leak_dup2(void)
{
	char path[PATH_MAX];
	int src, victim;

	path_of(path, sizeof(path), "dup2-src", -1);
	src = check(open(path, O_CREAT | O_RDWR, 0600), "open dup2-src"); /* site: dup2_source */
	path_of(path, sizeof(path), "dup2-victim", -1);
	victim = check(open(path, O_CREAT | O_RDWR, 0600), "open dup2-victim"); /* site: dup2_victim */
	/* The kernel closes victim's file: no close call. */
	check(dup2(src, victim), "dup2"); /* site: leak_dup2 */
	close(src);
}

/* ---- SCM_RIGHTS ---- */

static void send_fd(int sock, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m;
	struct iovec iov;
	char byte = 'x';

	memset(&u, 0, sizeof(u));
	memset(&m, 0, sizeof(m));
	iov.iov_base = &byte;
	iov.iov_len = 1;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	u.h.cmsg_level = SOL_SOCKET;
	u.h.cmsg_type = SCM_RIGHTS;
	u.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&u.h), &fd, sizeof(int));
	if (sendmsg(sock, &m, 0) != 1)
		die("sendmsg");
}

NOINLINE int recv_fd(int sock)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m;
	struct iovec iov;
	char byte;
	int fd;

	memset(&u, 0, sizeof(u));
	memset(&m, 0, sizeof(m));
	iov.iov_base = &byte;
	iov.iov_len = 1;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	if (recvmsg(sock, &m, 0) != 1) /* site: recvmsg */
		die("recvmsg");
	if (u.h.cmsg_level != SOL_SOCKET || u.h.cmsg_type != SCM_RIGHTS)
		die("no SCM_RIGHTS");
	memcpy(&fd, CMSG_DATA(&u.h), sizeof(int));
	return fd;
}

NOINLINE void pass_fds(void)
{
	char path[PATH_MAX];
	int sp[2], fd, got;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp)) /* site: pass_pair */
		die("socketpair");
	/* Passed, then closed by the sender and by the receiver. */
	path_of(path, sizeof(path), "passed-closed", -1);
	fd = check(open(path, O_CREAT | O_RDWR, 0600), "open passed-closed"); /* site: pass_closed_open */
	send_fd(sp[0], fd);
	close(fd);
	got = recv_fd(sp[1]); /* site: recv_closed */
	close(got);
	/* Passed, closed by the sender, kept by the receiver. */
	path_of(path, sizeof(path), "passed-kept", -1);
	fd = check(open(path, O_CREAT | O_RDWR, 0600), "open passed-kept"); /* site: pass_kept_open */
	send_fd(sp[0], fd);
	close(fd);
	g_sink = recv_fd(sp[1]); /* site: recv_kept */
	close(sp[0]);
	close(sp[1]);
}

/* ---- churn: everything made is closed ---- */

NOINLINE void churn(int rounds)
{
	char path[PATH_MAX];
	int fd, a, b, p[2];

	path_of(path, sizeof(path), "churn", -1);
	for (int i = 0; i < rounds; i++) {
		fd = check(open(path, O_CREAT | O_RDWR, 0600), "open churn"); /* site: churn_open */
		a = check(dup(fd), "dup"); /* site: churn_dup */
		close(a);
		a = check(fcntl(fd, F_DUPFD, 700), "F_DUPFD"); /* site: churn_fdupfd */
		close(a);
		/* Two numbers closed at once, then from 600 to the end. */
		check(dup2(fd, 500), "dup2"); /* site: churn_dup2_range */
		check(dup3(fd, 501, O_CLOEXEC), "dup3"); /* site: churn_dup3_range */
		if (syscall(SYS_close_range, 500, 501, 0))
			die("close_range");
		check(dup2(fd, 600), "dup2"); /* site: churn_dup2_wide */
		check(dup2(fd, 650), "dup2"); /* site: churn_dup2_wide2 */
		if (syscall(SYS_close_range, 600, ~0U, 0))
			die("close_range wide");
		close(fd);
		if (pipe2(p, O_CLOEXEC)) /* site: churn_pipe */
			die("pipe2");
		close(p[0]);
		close(p[1]);
		fd = check(eventfd(0, 0), "eventfd"); /* site: churn_eventfd */
		close(fd);
		a = connect_to_listener(check(socket(AF_INET, SOCK_STREAM, 0), "socket")); /* site: churn_client */
		b = check(accept(g_listener, NULL, NULL), "accept"); /* site: churn_accept */
		close(a);
		close(b);
		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, p)) /* site: churn_socketpair */
			die("socketpair");
		close(p[1]);
		close(p[0]);
	}
}

/* ---- children ---- */

NOINLINE void child_leak(void)
{
	char path[PATH_MAX];

	for (int i = 0; i < N_CHILD; i++) {
		path_of(path, sizeof(path), "child", i);
		g_sink = check(open(path, O_CREAT | O_RDWR, 0600), "open child"); /* site: child_leak */
	}
}

NOINLINE void pre_exec(void)
{
	char path[PATH_MAX];

	for (int i = 0; i < N_PRE_EXEC; i++) {
		path_of(path, sizeof(path), "pre-exec", i);
		g_sink = check(open(path, O_CREAT | O_RDWR, 0600), "open pre-exec"); /* site: pre_exec */
	}
}

NOINLINE void execd_leak(void)
{
	char path[PATH_MAX];

	path_of(path, sizeof(path), "execd", -1);
	g_sink = check(open(path, O_CREAT | O_RDWR, 0600), "open execd"); /* site: execd_leak */
}

static int wait_for(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	return status;
}

/* ---- main ---- */

static void print_truth(pid_t child, pid_t execd, int st_child, int st_execd, int churn_rounds)
{
	char buf[2048];
	size_t n = 0;

	n += snprintf(buf + n, sizeof(buf) - n, "FDLEAKY {\"pid\":%d,\"dir\":\"%s\",\"port\":%d,"
		      "\"client_ports\":[", (int)getpid(), g_dir, g_port);
	for (int i = 0; i < N_CLIENTS; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "%s%d", i ? "," : "", g_client_ports[i]);
	n += snprintf(buf + n, sizeof(buf) - n, "],\"accepted_ports\":[");
	for (int i = 0; i < N_CLIENTS; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "%s%d", i ? "," : "", g_accepted_ports[i]);
	n += snprintf(buf + n, sizeof(buf) - n,
		      "],\"pipe_ino\":%lu,\"child\":%d,\"execd\":%d,\"status_child\":%d,"
		      "\"status_execd\":%d,\"files\":%d,\"same\":%d,\"clients\":%d,"
		      "\"child_files\":%d,\"pre_exec\":%d,\"churn\":%d}\n",
		      g_pipe_ino, (int)child, (int)execd, st_child, st_execd, N_FILES, N_SAME,
		      N_CLIENTS, N_CHILD, N_PRE_EXEC, churn_rounds);
	say(buf);
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX];
	int churn_rounds = DEFAULT_CHURN, wait_mode, before[2] = { -1, -1 };
	int st_child, st_execd;
	pid_t child, execd;
	ssize_t len;

	if (argc == 3 && !strcmp(argv[1], "execd")) {
		g_dir = argv[2];
		execd_leak(); /* site: call_execd_leak */
		return 0;
	}
	if (argc < 3 || argc > 4 || (strcmp(argv[1], "run") && strcmp(argv[1], "wait"))) {
		say("usage: fd_leaky run|wait DIR [CHURN]\n");
		return 2;
	}
	wait_mode = !strcmp(argv[1], "wait");
	g_dir = argv[2];
	if (argc == 4)
		churn_rounds = atoi(argv[3]);
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		die("readlink /proc/self/exe");
	self[len] = '\0';
	if (wait_mode) {
		for (int i = 0; i < 2; i++) {
			path_of(path, sizeof(path), "before", i);
			before[i] = check(open(path, O_CREAT | O_RDWR, 0600), "open before"); /* site: before_open */
		}
		say("ready\n");
		if (read_line())
			return 1;
		close(before[1]);
	}
	leak_listener(); /* site: call_leak_listener */
	churn(churn_rounds / 2);
	leak_files(); /* site: call_leak_files */
	leak_same(); /* site: call_leak_same */
	leak_clients(); /* site: call_leak_clients */
	leak_accepted(); /* site: call_leak_accepted */
	leak_pipe(); /* site: call_leak_pipe */
	leak_socketpair(); /* site: call_leak_socketpair */
	leak_dup(); /* site: call_leak_dup */
	leak_dup2(); /* site: call_leak_dup2 */
	pass_fds(); /* site: call_pass_fds */
	churn(churn_rounds - churn_rounds / 2);

	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		child_leak(); /* site: call_child_leak */
		_exit(0);
	}
	st_child = wait_for(child);
	execd = fork();
	if (execd < 0)
		die("fork");
	if (execd == 0) {
		pre_exec();
		execl(self, "fd_leaky", "execd", g_dir, (char *)NULL);
		_exit(127);
	}
	st_execd = wait_for(execd);
	print_truth(child, execd, st_child, st_execd, churn_rounds);
	if (wait_mode) {
		say("leaked\n");
		read_line();
	}
	return 0;
}
