// SPDX-License-Identifier: MIT
/* Naming descriptors from what BPF found behind them, and the per-process
 * table of what each is. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "consume/fd_describe.h"
#include "consume/fd_table.h"

#define EXT4 0xEF53
#define SOCKFS 0x534F434B
#define PIPEFS 0x50495045
#define ANON 0x09041934

static struct lt_fd_desc_event ev(uint64_t magic, uint32_t mode)
{
	struct lt_fd_desc_event e;

	memset(&e, 0, sizeof(e));
	e.fs_magic = magic;
	e.mode = mode;
	return e;
}

/* parts: innermost first. */
static void set_parts(struct lt_fd_desc_event *e, const char *const *parts, int n)
{
	size_t off = 0;

	for (int i = 0; i < n; i++) {
		size_t l = strlen(parts[i]) + 1;

		memcpy(e->path + off, parts[i], l);
		off += l;
	}
	e->npath = (uint16_t)n;
}

static void test_files(void **state)
{
	static const char *const passwd[] = { "passwd", "etc" };
	static const char *const deep[] = { "l", "k", "j", "i", "h", "g", "f", "e", "d", "c", "b", "a" };
	static const char *const memfd[] = { "memfd:cache (deleted)" };
	struct lt_fd_desc_event e = ev(EXT4, 0100644);
	char buf[600];

	(void)state;
	set_parts(&e, passwd, 2);
	assert_int_equal(lt_fd_describe(&e, sizeof(e), buf, sizeof(buf)), LT_FD_FILE);
	assert_string_equal(buf, "/etc/passwd");
	e.mode = 040755;
	set_parts(&e, passwd + 1, 1);
	assert_int_equal(lt_fd_describe(&e, sizeof(e), buf, sizeof(buf)), LT_FD_DIR);
	assert_string_equal(buf, "/etc");
	e.mode = 020666;
	assert_int_equal(lt_fd_describe(&e, sizeof(e), buf, sizeof(buf)), LT_FD_DEVICE);
	e.mode = 010644;
	assert_int_equal(lt_fd_describe(&e, sizeof(e), buf, sizeof(buf)), LT_FD_FIFO);
	/* The root itself: no component. */
	e.mode = 040755;
	e.npath = 0;
	assert_int_equal(lt_fd_describe(&e, sizeof(e), buf, sizeof(buf)), LT_FD_DIR);
	assert_string_equal(buf, "/");
	/* The walk stops at 12 components: the path says it was cut. */
	e.mode = 0100644;
	set_parts(&e, deep, 12);
	lt_fd_describe(&e, sizeof(e), buf, sizeof(buf));
	assert_string_equal(buf, ".../a/b/c/d/e/f/g/h/i/j/k/l");
	e = ev(0x01021994, 0100777);
	set_parts(&e, memfd, 1);
	assert_int_equal(lt_fd_describe(&e, sizeof(e), buf, sizeof(buf)), LT_FD_MEMFD);
	assert_string_equal(buf, "/memfd:cache (deleted)");
	/* A short buffer cuts the text, never past it. */
	set_parts(&e, passwd, 2);
	lt_fd_describe(&e, sizeof(e), buf, 6);
	assert_true(strlen(buf) < 6);
}

/* A component not NUL-ended within the record (a corrupt one) is not read past it. */
static void test_unended_path(void **state)
{
	struct lt_fd_desc_event e = ev(EXT4, 0100644);
	char buf[1200];

	(void)state;
	memset(e.path, 'a', sizeof(e.path));
	e.npath = 3;
	assert_int_equal(lt_fd_describe(&e, sizeof(e), buf, sizeof(buf)), LT_FD_FILE);
	assert_string_equal(buf, "/");
	/* A record shorter than the struct names nothing. */
	assert_int_equal(lt_fd_describe(&e, sizeof(e) - 1, buf, sizeof(buf)), LT_FD_UNKNOWN);
	assert_string_equal(buf, "?");
}

static void test_sockets(void **state)
{
	struct lt_fd_desc_event e = ev(SOCKFS, 0140777);
	char buf[600];

	(void)state;
	e.family = AF_INET;
	e.sock_type = SOCK_STREAM;
	inet_pton(AF_INET, "127.0.0.1", e.local_addr);
	inet_pton(AF_INET, "10.1.2.3", e.remote_addr);
	e.local_port = 40000;
	e.remote_port = 5432;
	assert_int_equal(lt_fd_describe(&e, sizeof(e), buf, sizeof(buf)), LT_FD_TCP);
	assert_string_equal(buf, "tcp 127.0.0.1:40000 -> 10.1.2.3:5432");
	e.remote_port = 0;
	assert_int_equal(lt_fd_describe(&e, sizeof(e), buf, sizeof(buf)), LT_FD_TCP);
	assert_string_equal(buf, "tcp 127.0.0.1:40000");
	e.local_port = 0;
	lt_fd_describe(&e, sizeof(e), buf, sizeof(buf));
	assert_string_equal(buf, "tcp (unbound)");
	e = ev(SOCKFS, 0140777);
	e.family = AF_INET6;
	e.sock_type = SOCK_DGRAM;
	inet_pton(AF_INET6, "::1", e.local_addr);
	inet_pton(AF_INET6, "fe80::1", e.remote_addr);
	e.local_port = 53;
	e.remote_port = 5353;
	assert_int_equal(lt_fd_describe(&e, sizeof(e), buf, sizeof(buf)), LT_FD_UDP6);
	assert_string_equal(buf, "udp6 [::1]:53 -> [fe80::1]:5353");
	e = ev(SOCKFS, 0140777);
	e.family = AF_UNIX;
	e.sock_type = SOCK_STREAM;
	assert_int_equal(lt_fd_describe(&e, sizeof(e), buf, sizeof(buf)), LT_FD_UNIX);
	assert_string_equal(buf, "unix stream (unnamed)");
	strcpy(e.path + LT_FD_PEER_AT, "/run/db.sock");
	e.npath = 2;
	lt_fd_describe(&e, sizeof(e), buf, sizeof(buf));
	assert_string_equal(buf, "unix stream -> /run/db.sock");
	strcpy(e.path, "@abstract");
	e.npath = 3;
	e.sock_type = SOCK_DGRAM;
	lt_fd_describe(&e, sizeof(e), buf, sizeof(buf));
	assert_string_equal(buf, "unix dgram @abstract -> /run/db.sock");
	e = ev(SOCKFS, 0140777);
	e.family = 16; /* netlink */
	e.sock_type = SOCK_RAW;
	assert_int_equal(lt_fd_describe(&e, sizeof(e), buf, sizeof(buf)), LT_FD_SOCKET);
	assert_string_equal(buf, "socket family 16 type 3");
}

static void test_pipes_and_anon(void **state)
{
	static const char *const efd[] = { "[eventfd]" };
	static const char *const epoll[] = { "[eventpoll]" };
	static const char *const io[] = { "[io_uring]" };
	struct lt_fd_desc_event e = ev(PIPEFS, 010600);
	char buf[600];

	(void)state;
	e.ino = 123456;
	assert_int_equal(lt_fd_describe(&e, sizeof(e), buf, sizeof(buf)), LT_FD_PIPE);
	assert_string_equal(buf, "pipe:[123456]");
	e = ev(ANON, 0600);
	set_parts(&e, efd, 1);
	assert_int_equal(lt_fd_describe(&e, sizeof(e), buf, sizeof(buf)), LT_FD_EVENTFD);
	assert_string_equal(buf, "anon_inode:[eventfd]");
	set_parts(&e, epoll, 1);
	assert_int_equal(lt_fd_describe(&e, sizeof(e), buf, sizeof(buf)), LT_FD_EPOLL);
	set_parts(&e, io, 1);
	assert_int_equal(lt_fd_describe(&e, sizeof(e), buf, sizeof(buf)), LT_FD_ANON);
	assert_string_equal(lt_fd_kind_name(LT_FD_ANON), "anon");
	assert_string_equal(lt_fd_kind_name(999), "unknown");
}

static bool has_before(const struct lt_fd_table *t, uint32_t fd)
{
	for (size_t i = 0; i < t->nbefore; i++)
		if (t->before[i] == fd)
			return true;
	return false;
}

static void test_table(void **state)
{
	struct lt_fd_table t;
	int pipefd[2], keep, gone;
	long n;

	(void)state;
	lt_fd_table_init(&t);
	assert_int_equal(lt_fd_table_note(&t, 1000, LT_FD_TCP, "tcp x"), 0);
	assert_int_equal(lt_fd_table_note(&t, 2, LT_FD_FILE, "/a"), 0);
	assert_string_equal(lt_fd_table_note_of(&t, 1000)->text, "tcp x");
	assert_null(lt_fd_table_note_of(&t, 999));
	assert_int_equal(lt_fd_table_note(&t, 2, LT_FD_FILE, "/b"), 0);
	assert_string_equal(lt_fd_table_note_of(&t, 2)->text, "/b");
	lt_fd_table_forget_note(&t, 2);
	assert_null(lt_fd_table_note_of(&t, 2));
	lt_fd_table_forget_note(&t, 5000); /* past the end: nothing */
	/* Our own descriptors, from /proc: a pipe made just now is among them. */
	assert_int_equal(pipe(pipefd), 0);
	n = lt_fd_table_read_before(&t, (uint32_t)getpid(), false);
	assert_true(n >= 5);
	for (size_t i = 1; i < t.nbefore; i++)
		assert_true(t.before[i - 1] < t.before[i]);
	lt_fd_table_drop_before(&t, (uint32_t)pipefd[0], (uint32_t)pipefd[0]);
	assert_int_equal((long)t.nbefore, n - 1);
	lt_fd_table_drop_before(&t, 0, 0xffffffffu);
	assert_int_equal(t.nbefore, 0);
	assert_int_equal(lt_fd_table_read_before(&t, 5000001u, false), -ENOENT);
	/* Before an exec, close-on-exec ones are not counted: they close unseen. */
	keep = dup(0);
	gone = fcntl(0, F_DUPFD_CLOEXEC, 0);
	assert_true(keep >= 0 && gone >= 0);
	assert_true(lt_fd_table_read_before(&t, (uint32_t)getpid(), true) > 0);
	assert_true(has_before(&t, (uint32_t)keep));
	assert_false(has_before(&t, (uint32_t)gone));
	lt_fd_table_read_before(&t, (uint32_t)getpid(), false);
	assert_true(has_before(&t, (uint32_t)gone));
	close(keep);
	close(gone);
	close(pipefd[0]);
	close(pipefd[1]);
	lt_fd_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_unended_path),
		cmocka_unit_test(test_sockets),
		cmocka_unit_test(test_pipes_and_anon),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
