/* SPDX-License-Identifier: MIT */
/* -c: start a command held before exec, so probes are in place before its first instruction. */
#ifndef LT_COMMAND_RUNNER_H
#define LT_COMMAND_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <sys/types.h>

#include "attach/needed_libs.h"

/* --user: who the command runs as, resolved before the fork. */
struct lt_run_as {
	bool set;
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* supplementary groups, from the group database */
	int ngroups;
	char name[64];
	char home[PATH_MAX];
};

struct lt_command {
	pid_t pid;
	int go_fd;   /* write end: one byte lets the child exec */
	int err_fd;  /* read end: the child's errno if exec failed; EOF on success */
	char path[PATH_MAX]; /* the program, as found on PATH */
	/* What it maps before its main, as far as can be told without running
	 * it (lt_command_files); empty when that cannot be told. Freed when
	 * it is released or aborted. */
	struct lt_path_list files;
};

/* Look up user (a name or a numeric uid) in the user database. Returns 0,
 * or -errno with a one-line reason in err (-ESRCH: no such user). */
int lt_run_as_resolve(const char *user, struct lt_run_as *out, char *err, size_t errlen);
void lt_run_as_free(struct lt_run_as *r);

/* Split cmdline like a shell would (quotes, no command substitution), find
 * the program on PATH, fork a child that waits. With as->set the child
 * takes that user's ids (groups, gid, then uid, which drops every
 * capability) before it execs, and fails rather than run as root.
 * Returns 0 or -errno with a one-line reason in err (-ENOENT: command not
 * found). */
int lt_command_prepare(const char *cmdline, const struct lt_run_as *as, struct lt_command *cmd,
		       char *err, size_t errlen);
/* Let the child exec. Returns 0, or -errno with a reason if exec failed. */
int lt_command_release(struct lt_command *cmd, char *err, size_t errlen);
/* Kill and reap a child that was never released; free what prepare kept. */
void lt_command_abort(struct lt_command *cmd);

#endif
