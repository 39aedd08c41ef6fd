// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "attach/command_runner.h"
#include "test_files.h"

static char err[512];

/* Prepare cmdline, which must succeed, and check the handle looks sane. */
static void prepare_ok(const char *cmdline, struct lt_command *cmd)
{
	err[0] = '\0';
	assert_int_equal(lt_command_prepare(cmdline, NULL, cmd, err, sizeof(err)), 0);
	assert_true(cmd->pid > 0);
	assert_true(cmd->go_fd >= 0);
	assert_true(cmd->err_fd >= 0);
}

static void assert_not_prepared(const struct lt_command *cmd)
{
	assert_int_equal(cmd->pid, 0);
	assert_int_equal(cmd->go_fd, -1);
	assert_int_equal(cmd->err_fd, -1);
}

/* Wait for pid and return its exit status; fails if it was signalled. */
static int wait_exit_status(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void assert_no_child(pid_t pid)
{
	errno = 0;
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* Write a temporary file with the given mode; returns its malloc'ed path. */
static char *temp_file(const char *contents, mode_t mode)
{
	char tmpl[] = "/tmp/lt_cmd_XXXXXX";
	int fd = mkstemp(tmpl);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, contents, strlen(contents)), (ssize_t)strlen(contents));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return strdup(tmpl);
}

static void test_absolute_path_not_found(void **state)
{
	struct lt_command cmd;
	(void)state;

	memset(&cmd, 0x5a, sizeof(cmd));
	err[0] = '\0';
	assert_int_equal(lt_command_prepare("/nonexistent/x --flag", NULL, &cmd, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "command not found"));
	assert_non_null(strstr(err, "/nonexistent/x"));
	assert_not_prepared(&cmd);
	/* Aborting a failed prepare is a no-op. */
	lt_command_abort(&cmd);
	assert_not_prepared(&cmd);
}

static void test_path_lookup_not_found(void **state)
{
	struct lt_command cmd;
	(void)state;

	err[0] = '\0';
	assert_int_equal(lt_command_prepare("leaktrace-no-such-program-42 a b", NULL, &cmd, err,
					    sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "command not found"));
	assert_non_null(strstr(err, "leaktrace-no-such-program-42"));
	assert_not_prepared(&cmd);
}

static void test_unparsable_command(void **state)
{
	struct lt_command cmd;
	(void)state;

	assert_int_equal(lt_command_prepare("sh -c 'exit 7", NULL, &cmd, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "cannot parse"));
	assert_not_prepared(&cmd);
	assert_int_equal(lt_command_prepare("", NULL, &cmd, err, sizeof(err)), -EINVAL);
	assert_not_prepared(&cmd);
	assert_int_equal(lt_command_prepare("   ", NULL, &cmd, err, sizeof(err)), -EINVAL);
	assert_not_prepared(&cmd);
	/* No command substitution. */
	assert_int_equal(lt_command_prepare("echo $(true)", NULL, &cmd, err, sizeof(err)), -EINVAL);
	assert_not_prepared(&cmd);
}

static void test_true_on_path_exits_zero(void **state)
{
	struct lt_command cmd;
	pid_t pid;
	(void)state;

	prepare_ok("true", &cmd);
	pid = cmd.pid;
	assert_int_equal(lt_command_release(&cmd, err, sizeof(err)), 0);
	assert_int_equal(cmd.go_fd, -1);
	assert_int_equal(cmd.err_fd, -1);
	assert_int_equal(wait_exit_status(pid), 0);
	/* Abort after release leaves the (already reaped) child alone. */
	lt_command_abort(&cmd);
}

static void test_quoted_exit_status(void **state)
{
	struct lt_command cmd;
	(void)state;

	prepare_ok("sh -c 'exit 7'", &cmd);
	assert_int_equal(lt_command_release(&cmd, err, sizeof(err)), 0);
	assert_int_equal(wait_exit_status(cmd.pid), 7);
}

static void test_quoted_arguments_split_like_shell(void **state)
{
	struct lt_command cmd;
	(void)state;

	/* $0 and $1 are single words despite their spaces and mixed quotes. */
	prepare_ok("sh -c '[ \"$0\" = \"a b\" ] && [ \"$1\" = \"it'\\''s\" ] && exit 3; exit 1' "
		   "\"a b\" 'it'\\''s'", &cmd);
	assert_int_equal(lt_command_release(&cmd, err, sizeof(err)), 0);
	assert_int_equal(wait_exit_status(cmd.pid), 3);
}

static void test_child_waits_until_released(void **state)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	struct lt_command cmd;
	char link[64], exe[PATH_MAX], self[PATH_MAX];
	ssize_t n;
	(void)state;

	prepare_ok("sh -c 'exit 4'", &cmd);
	nanosleep(&ts, NULL);
	/* Still alive and still this program: it has not exec'ed yet. */
	assert_int_equal(waitpid(cmd.pid, NULL, WNOHANG), 0);
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)cmd.pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	assert_string_equal(exe, self);

	assert_int_equal(lt_command_release(&cmd, err, sizeof(err)), 0);
	assert_int_equal(wait_exit_status(cmd.pid), 4);
}

static void test_non_executable_file_fails_cleanly(void **state)
{
	struct lt_command cmd;
	char *path = temp_file("#!/bin/sh\nexit 0\n", 0644);
	char cmdline[PATH_MAX + 8];
	(void)state;

	snprintf(cmdline, sizeof(cmdline), "%s arg", path);
	err[0] = '\0';
	assert_int_equal(lt_command_prepare(cmdline, NULL, &cmd, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, path));
	assert_not_prepared(&cmd);
	lt_command_abort(&cmd);
	unlink(path);
	free(path);
}

static void test_exec_format_error_reported_on_release(void **state)
{
	struct lt_command cmd;
	char *path = temp_file("not a program, and no #! line\n", 0755);
	pid_t pid;
	(void)state;

	prepare_ok(path, &cmd);
	pid = cmd.pid;
	err[0] = '\0';
	assert_int_equal(lt_command_release(&cmd, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "cannot execute command"));
	assert_int_equal(cmd.go_fd, -1);
	assert_int_equal(cmd.err_fd, -1);
	/* release reaped the failed child. */
	assert_no_child(pid);
	lt_command_abort(&cmd);
	unlink(path);
	free(path);
}

static void test_directory_fails_on_release(void **state)
{
	struct lt_command cmd;
	pid_t pid;
	(void)state;

	/* access(X_OK) passes for a directory, execv() does not. */
	prepare_ok("/tmp", &cmd);
	pid = cmd.pid;
	assert_int_equal(lt_command_release(&cmd, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "cannot execute command"));
	assert_no_child(pid);
}

static void test_abort_kills_and_reaps(void **state)
{
	struct lt_command cmd;
	pid_t pid;
	(void)state;

	prepare_ok("sleep 100", &cmd);
	pid = cmd.pid;
	lt_command_abort(&cmd);
	assert_int_equal(cmd.go_fd, -1);
	assert_int_equal(cmd.err_fd, -1);
	assert_no_child(pid);
	assert_int_equal(kill(pid, 0), -1);
	/* A second abort does nothing. */
	lt_command_abort(&cmd);
	assert_no_child(pid);
}

static void test_child_exits_when_never_released(void **state)
{
	struct lt_command cmd;
	(void)state;

	/* The tracer going away (its end of the pipe closing) must not run the command. */
	prepare_ok("sh -c 'exit 0'", &cmd);
	close(cmd.go_fd);
	cmd.go_fd = -1;
	assert_int_equal(wait_exit_status(cmd.pid), 127);
	close(cmd.err_fd);
	cmd.err_fd = -1;
	lt_command_abort(&cmd); /* nothing left to kill: frees what prepare kept */
}

/* What the command maps before main is known before it runs: the program
 * first, then its libraries (libc among them); released, it is let go. */
static void test_files_known_before_release(void **state)
{
	char sh[PATH_MAX];
	struct lt_command cmd;
	bool libc = false;
	(void)state;

	prepare_ok("sh -c 'exit 0'", &cmd);
	assert_non_null(realpath(cmd.path, sh));
	assert_true(cmd.files.n >= 2);
	assert_string_equal(cmd.files.v[0], sh);
	for (size_t i = 0; i < cmd.files.n; i++)
		libc |= strstr(cmd.files.v[i], "/libc.so.6") != NULL;
	assert_true(libc);
	assert_int_equal(lt_command_release(&cmd, err, sizeof(err)), 0);
	assert_int_equal(cmd.files.n, 0);
	assert_int_equal(wait_exit_status(cmd.pid), 0);
}

static void test_child_gets_default_signal_dispositions(void **state)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	sigset_t block, oldmask;
	struct lt_command cmd;
	int status;
	(void)state;

	/* What a tracer does to itself must not leak into the command: here
	 * SIGTERM ignored and blocked in the parent, then the command TERMs itself. */
	sigemptyset(&ign.sa_mask);
	assert_int_equal(sigaction(SIGTERM, &ign, &old), 0);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, &oldmask), 0);
	prepare_ok("sh -c 'kill -TERM $$; exit 0'", &cmd);
	assert_int_equal(sigprocmask(SIG_SETMASK, &oldmask, NULL), 0);
	assert_int_equal(sigaction(SIGTERM, &old, NULL), 0);

	assert_int_equal(lt_command_release(&cmd, err, sizeof(err)), 0);
	assert_int_equal(waitpid(cmd.pid, &status, 0), cmd.pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
}

static void test_release_after_child_died(void **state)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	struct lt_command cmd;
	int status;
	pid_t pid;
	(void)state;

	/* Like leaktrace itself, ignore SIGPIPE so the write fails with EPIPE. */
	sigemptyset(&ign.sa_mask);
	assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
	prepare_ok("true", &cmd);
	pid = cmd.pid;
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	err[0] = '\0';
	assert_int_equal(lt_command_release(&cmd, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "cannot start command"));
	assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
	/* abort closes what is left; the pid is already reaped. */
	cmd.pid = -1;
	lt_command_abort(&cmd);
	assert_int_equal(cmd.go_fd, -1);
	assert_int_equal(cmd.err_fd, -1);
}

static void test_no_fds_leak(void **state)
{
	struct lt_command cmd;
	int before, after;
	(void)state;

	before = dup(0);
	assert_true(before >= 0);
	close(before);
	prepare_ok("true", &cmd);
	assert_int_equal(lt_command_release(&cmd, err, sizeof(err)), 0);
	assert_int_equal(wait_exit_status(cmd.pid), 0);
	prepare_ok("sleep 100", &cmd);
	lt_command_abort(&cmd);
	assert_int_equal(lt_command_prepare("/nonexistent/x", NULL, &cmd, err, sizeof(err)), -ENOENT);
	/* The lowest free descriptor is unchanged: every pipe end was closed. */
	after = dup(0);
	assert_true(after >= 0);
	close(after);
	assert_int_equal(after, before);
}

static void test_run_as_resolve(void **state)
{
	struct lt_run_as as;
	char err[256];

	(void)state;
	assert_int_equal(lt_run_as_resolve("nobody", &as, err, sizeof(err)), 0);
	assert_true(as.set);
	assert_int_equal(as.uid, 65534);
	assert_string_equal(as.name, "nobody");
	assert_true(as.ngroups >= 1);
	lt_run_as_free(&as);
	assert_false(as.set);
	/* A uid works as well as a name. */
	assert_int_equal(lt_run_as_resolve("0", &as, err, sizeof(err)), 0);
	assert_string_equal(as.name, "root");
	assert_int_equal(as.gid, 0);
	lt_run_as_free(&as);
	assert_int_equal(lt_run_as_resolve("no-such-user-lt", &as, err, sizeof(err)), -ESRCH);
	assert_false(as.set);
	assert_non_null(strstr(err, "no-such-user-lt"));
	assert_int_equal(lt_run_as_resolve("4294967295", &as, err, sizeof(err)), -ESRCH);
	lt_run_as_free(&as);
}

/* The child takes the user's ids before exec: the command sees them. */
static void test_runs_as_user(void **state)
{
	char dir[] = "/tmp/lt-runas-XXXXXX", out[300], cmdline[700], err[256];
	struct lt_command cmd;
	struct lt_run_as as;
	unsigned char *text;
	size_t len;
	int status;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0777), 0);
	snprintf(out, sizeof(out), "%s/ids", dir);
	snprintf(cmdline, sizeof(cmdline), "sh -c 'echo $(id -u) $(id -g) $HOME > %s'", out);
	assert_int_equal(lt_run_as_resolve("nobody", &as, err, sizeof(err)), 0);
	assert_int_equal(lt_command_prepare(cmdline, &as, &cmd, err, sizeof(err)), 0);
	assert_int_equal(lt_command_release(&cmd, err, sizeof(err)), 0);
	assert_int_equal(waitpid(cmd.pid, &status, 0), cmd.pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	text = test_slurp(out, &len);
	assert_non_null(text);
	text[len] = '\0';
	assert_string_equal((char *)text, "65534 65534 /nonexistent\n");
	free(text);
	lt_run_as_free(&as);
	assert_int_equal(unlink(out), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absolute_path_not_found),
		cmocka_unit_test(test_path_lookup_not_found),
		cmocka_unit_test(test_unparsable_command),
		cmocka_unit_test(test_true_on_path_exits_zero),
		cmocka_unit_test(test_quoted_exit_status),
		cmocka_unit_test(test_quoted_arguments_split_like_shell),
		cmocka_unit_test(test_child_waits_until_released),
		cmocka_unit_test(test_non_executable_file_fails_cleanly),
		cmocka_unit_test(test_exec_format_error_reported_on_release),
		cmocka_unit_test(test_directory_fails_on_release),
		cmocka_unit_test(test_abort_kills_and_reaps),
		cmocka_unit_test(test_child_exits_when_never_released),
		cmocka_unit_test(test_files_known_before_release),
		cmocka_unit_test(test_child_gets_default_signal_dispositions),
		cmocka_unit_test(test_release_after_child_died),
		cmocka_unit_test(test_no_fds_leak),
		cmocka_unit_test(test_run_as_resolve),
		cmocka_unit_test(test_runs_as_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
