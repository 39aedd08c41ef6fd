// SPDX-License-Identifier: MIT
/*
 * Finding the interpreter in real running Pythons: every interpreter this
 * machine has (Debian's static /usr/bin/python3.11 and the pyenv builds
 * with libpython3.X.so) is started, prints where it sees _PyRuntime and
 * PyCode_Type, and must be found at those addresses. Versions not installed
 * are skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "attach/proc_maps.h"
#include "python/python_target.h"

extern char **environ;

#define PYENV "/root/.pyenv/versions/"

/* Prints "<_PyRuntime> <PyCode_Type>" as the interpreter sees them, then waits. */
static const char child_script[] =
	"import ctypes, sys, time\n"
	"rt = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, '_PyRuntime'))\n"
	"print(rt, id(type((lambda: 0).__code__)), flush=True)\n"
	"time.sleep(30)\n";

struct child {
	pid_t pid;
	uint64_t runtime, code_type;
};

static int start_child(const char *python, const char *script, struct child *c)
{
	char *argv[] = { (char *)python, "-S", "-c", (char *)script, NULL };
	posix_spawn_file_actions_t fa;
	char line[128] = { 0 };
	struct pollfd pfd;
	size_t got = 0;
	int fds[2], err;
	ssize_t n;

	memset(c, 0, sizeof(*c));
	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	err = posix_spawn(&c->pid, python, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (err) {
		close(fds[0]);
		return -err;
	}
	/* One line, within 20 s (ctypes imports take a moment). */
	pfd = (struct pollfd){ .fd = fds[0], .events = POLLIN };
	while (got < sizeof(line) - 1 && !strchr(line, '\n')) {
		if (poll(&pfd, 1, 20000) <= 0)
			break;
		n = read(fds[0], line + got, sizeof(line) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	if (sscanf(line, "%" SCNu64 " %" SCNu64, &c->runtime, &c->code_type) != 2 &&
	    strncmp(line, "ready", 5))
		return -EIO;
	return 0;
}

static void stop_child(struct child *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	c->pid = 0;
}

/* micro: what Py_Version says (3.11+); 0 before, where only the minor is known. */
static void check_interp(const char *python, uint32_t minor, uint32_t micro)
{
	struct lt_py_interp interp, from_file;
	char err[256] = "", lib[4096];
	struct lt_maps maps = { 0 };
	struct child c;
	int ret, i;

	if (access(python, X_OK)) {
		print_message("%s not installed\n", python);
		skip();
	}
	ret = start_child(python, child_script, &c);
	if (ret) {
		stop_child(&c);
		fail_msg("%s did not start or print its addresses: %d", python, ret);
	}
	assert_int_equal(lt_maps_read(c.pid, &maps), 0);
	ret = lt_py_find_interp(c.pid, &maps, &interp, err, sizeof(err));
	stop_child(&c);
	lt_maps_free(&maps);
	if (ret)
		fail_msg("%s: %d (%s)", python, ret, err);
	assert_int_equal(interp.minor, minor);
	assert_int_equal(interp.layout.minor, minor);
	assert_int_equal(interp.layout.runtime, c.runtime);
	assert_int_equal(interp.code_type, c.code_type);
	for (i = 0; i < LT_PY_PROBE_COUNT; i++)
		if (!interp.offsets[i])
			fail_msg("%s: no offset for %s", python, lt_py_probe_names[i]);
	assert_true(interp.path[0] == '/');
	assert_int_equal(interp.micro, micro);

	/* The file alone gives the same version and probe offsets. */
	if (minor == 11 && !strcmp(python, "/usr/bin/python3.11"))
		snprintf(lib, sizeof(lib), "%s", python);
	else
		snprintf(lib, sizeof(lib), "%.*slib/libpython3.%u.so.1.0",
			 (int)(strstr(python, "bin/") - python), python, minor);
	assert_int_equal(lt_py_find_interp_file(lib, &from_file, err, sizeof(err)), 0);
	assert_int_equal(from_file.minor, minor);
	assert_int_equal(from_file.micro, interp.micro);
	assert_memory_equal(from_file.offsets, interp.offsets, sizeof(interp.offsets));
	assert_int_equal(from_file.layout.runtime + interp.load_bias, interp.layout.runtime);
}

static void test_debian_311(void **state)
{
	(void)state;
	check_interp("/usr/bin/python3.11", 11, 2);
}

static void test_pyenv_38(void **state)
{
	(void)state;
	check_interp(PYENV "3.8.18/bin/python3.8", 8, 0);
}

static void test_pyenv_39(void **state)
{
	(void)state;
	check_interp(PYENV "3.9.18/bin/python3.9", 9, 0);
}

static void test_pyenv_310(void **state)
{
	(void)state;
	check_interp(PYENV "3.10.13/bin/python3.10", 10, 0);
}

static void test_pyenv_311(void **state)
{
	(void)state;
	check_interp(PYENV "3.11.7/bin/python3.11", 11, 7);
}

static void test_pyenv_312(void **state)
{
	(void)state;
	check_interp(PYENV "3.12.1/bin/python3.12", 12, 1);
}

static void test_pyenv_313(void **state)
{
	(void)state;
	check_interp(PYENV "3.13.0/bin/python3.13", 13, 0);
}

/* Older interpreters are recognised and refused with a reason. */
static void check_refused(const char *python)
{
	struct lt_py_interp interp;
	struct lt_maps maps = { 0 };
	char err[256] = "";
	struct child c;
	int ret;

	if (access(python, X_OK)) {
		print_message("%s not installed\n", python);
		skip();
	}
	ret = start_child(python, "import sys, time\nprint('ready')\nsys.stdout.flush()\n"
				  "time.sleep(30)\n", &c);
	if (ret) {
		stop_child(&c);
		fail_msg("%s did not start: %d", python, ret);
	}
	assert_int_equal(lt_maps_read(c.pid, &maps), 0);
	ret = lt_py_find_interp(c.pid, &maps, &interp, err, sizeof(err));
	stop_child(&c);
	lt_maps_free(&maps);
	assert_int_equal(ret, -ENOTSUP);
	assert_non_null(strstr(err, "not supported"));
	assert_null(strchr(err, '\n'));
}

static void test_pyenv_37_refused(void **state)
{
	(void)state;
	check_refused(PYENV "3.7.16/bin/python3.7");
}

static void test_pyenv_36_refused(void **state)
{
	(void)state;
	check_refused(PYENV "3.6.15/bin/python3.6");
}

static void test_not_python(void **state)
{
	struct lt_py_interp interp;
	struct lt_maps maps = { 0 };
	char err[256];
	(void)state;

	assert_int_equal(lt_maps_read(getpid(), &maps), 0);
	assert_int_equal(lt_py_find_interp(getpid(), &maps, &interp, err, sizeof(err)), -ENOENT);
	lt_maps_free(&maps);
	assert_int_equal(lt_py_find_interp_file("/bin/sh", &interp, err, sizeof(err)), -ENOENT);
	assert_int_equal(lt_py_find_interp_file("/nonexistent/python3.11", &interp, err,
						sizeof(err)), -ENOENT);
	/* Not an ELF file at all. */
	assert_int_equal(lt_py_find_interp_file("/etc/passwd", &interp, err, sizeof(err)),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debian_311),
		cmocka_unit_test(test_pyenv_38),
		cmocka_unit_test(test_pyenv_39),
		cmocka_unit_test(test_pyenv_310),
		cmocka_unit_test(test_pyenv_311),
		cmocka_unit_test(test_pyenv_312),
		cmocka_unit_test(test_pyenv_313),
		cmocka_unit_test(test_pyenv_37_refused),
		cmocka_unit_test(test_pyenv_36_refused),
		cmocka_unit_test(test_not_python),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
