// SPDX-License-Identifier: MIT
#include "attach/command_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wordexp.h>

static int find_program(const char *name, char *out, size_t outlen)
{
	const char *path = getenv("PATH");
	const char *p, *end;

	if (strchr(name, '/')) {
		if (access(name, X_OK))
			return -errno;
		snprintf(out, outlen, "%s", name);
		return 0;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = end + 1) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		snprintf(out, outlen, "%.*s/%s", (int)(end - p), end == p ? "." : p, name);
		if (end == p)
			snprintf(out, outlen, "./%s", name);
		if (!access(out, X_OK))
			return 0;
		if (!*end)
			break;
	}
	return -ENOENT;
}

int lt_run_as_resolve(const char *user, struct lt_run_as *out, char *err, size_t errlen)
{
	struct passwd *pw;
	char *end;
	unsigned long v;
	int n = 0;

	memset(out, 0, sizeof(*out));
	errno = 0;
	pw = getpwnam(user);
	if (!pw && user[0] >= '0' && user[0] <= '9') {
		v = strtoul(user, &end, 10);
		if (!*end && v <= UINT32_MAX - 1)
			pw = getpwuid((uid_t)v);
	}
	if (!pw) {
		snprintf(err, errlen, "--user %s: %s", user, errno ? strerror(errno) : "no such user");
		return errno ? -errno : -ESRCH;
	}
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	snprintf(out->name, sizeof(out->name), "%s", pw->pw_name);
	snprintf(out->home, sizeof(out->home), "%s", pw->pw_dir);
	getgrouplist(out->name, out->gid, NULL, &n);
	out->groups = calloc(n > 0 ? (size_t)n : 1, sizeof(*out->groups));
	if (!out->groups) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (n > 0 && getgrouplist(out->name, out->gid, out->groups, &n) < 0)
		n = 0;
	out->ngroups = n;
	out->set = true;
	return 0;
}

void lt_run_as_free(struct lt_run_as *r)
{
	free(r->groups);
	memset(r, 0, sizeof(*r));
}

/* Between fork and exec: only async-signal-safe calls, and setenv, which
 * is fine in this single-threaded child. */
static int become(const struct lt_run_as *as)
{
	if (setgroups((size_t)as->ngroups, as->groups) || setgid(as->gid) || setuid(as->uid))
		return errno;
	/* A uid that could get root back would defeat the point. */
	if (as->uid != 0 && (setuid(0) == 0 || geteuid() == 0))
		return EPERM;
	setenv("USER", as->name, 1);
	setenv("LOGNAME", as->name, 1);
	setenv("HOME", as->home, 1);
	return 0;
}

static void child_run(const char *path, char **argv, const struct lt_run_as *as, int go_fd,
		      int err_fd)
{
	sigset_t none;
	char byte;
	ssize_t n;
	int e;

	/* Undo what the tracer set up for itself before the program sees it. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	do
		n = read(go_fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) /* the tracer went away without releasing us */
		_exit(127);
	close(go_fd);
	e = as && as->set ? become(as) : 0;
	if (!e) {
		execv(path, argv);
		e = errno;
	} else {
		e = -e; /* told apart from exec's errors by the sign */
	}
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int lt_command_prepare(const char *cmdline, const struct lt_run_as *as, struct lt_command *cmd,
		       char *err, size_t errlen)
{
	char path[PATH_MAX];
	int go[2] = { -1, -1 }, ep[2] = { -1, -1 };
	wordexp_t we;
	int ret;

	memset(cmd, 0, sizeof(*cmd));
	cmd->go_fd = cmd->err_fd = -1;
	ret = wordexp(cmdline, &we, WRDE_NOCMD);
	if (ret || we.we_wordc == 0) {
		snprintf(err, errlen, "cannot parse command: %s", cmdline);
		if (!ret)
			wordfree(&we);
		return -EINVAL;
	}
	ret = find_program(we.we_wordv[0], path, sizeof(path));
	if (ret == -ENOENT) {
		snprintf(err, errlen, "command not found: %s", we.we_wordv[0]);
		goto cleanup;
	}
	if (ret) {
		snprintf(err, errlen, "cannot execute %s: %s", we.we_wordv[0], strerror(-ret));
		goto cleanup;
	}
	if (pipe2(go, O_CLOEXEC) || pipe2(ep, O_CLOEXEC)) {
		ret = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(-ret));
		goto cleanup;
	}
	cmd->pid = fork();
	if (cmd->pid < 0) {
		ret = -errno;
		snprintf(err, errlen, "fork: %s", strerror(-ret));
		goto cleanup;
	}
	if (cmd->pid == 0) {
		close(go[1]);
		close(ep[0]);
		child_run(path, we.we_wordv, as, go[0], ep[1]);
	}
	cmd->go_fd = go[1];
	cmd->err_fd = ep[0];
	snprintf(cmd->path, sizeof(cmd->path), "%s", path);
	/* Not knowing only costs the start: mappings are followed anyway. */
	if (lt_command_files(path, we.we_wordv, &cmd->files) == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		lt_command_abort(cmd);
		goto cleanup;
	}
	go[1] = ep[0] = -1;
	ret = 0;
cleanup:
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	wordfree(&we);
	return ret;
}

int lt_command_release(struct lt_command *cmd, char *err, size_t errlen)
{
	char byte = 1;
	int child_errno = 0;
	ssize_t n;

	/* Read before the command runs, if at all. */
	lt_path_list_free(&cmd->files);

	if (write(cmd->go_fd, &byte, 1) != 1) {
		snprintf(err, errlen, "cannot start command: %s", strerror(errno));
		return -EIO;
	}
	close(cmd->go_fd);
	cmd->go_fd = -1;
	do
		n = read(cmd->err_fd, &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(cmd->err_fd);
	cmd->err_fd = -1;
	if (n == sizeof(child_errno) && child_errno < 0) {
		snprintf(err, errlen, "cannot run the command as the --user: %s",
			 strerror(-child_errno));
		waitpid(cmd->pid, NULL, 0);
		return child_errno;
	}
	if (n == sizeof(child_errno)) {
		snprintf(err, errlen, "cannot execute command: %s", strerror(child_errno));
		waitpid(cmd->pid, NULL, 0);
		return -child_errno;
	}
	return 0;
}

void lt_command_abort(struct lt_command *cmd)
{
	if (cmd->pid > 0 && cmd->go_fd >= 0) {
		kill(cmd->pid, SIGKILL);
		waitpid(cmd->pid, NULL, 0);
	}
	if (cmd->go_fd >= 0)
		close(cmd->go_fd);
	if (cmd->err_fd >= 0)
		close(cmd->err_fd);
	cmd->go_fd = cmd->err_fd = -1;
	lt_path_list_free(&cmd->files);
}
