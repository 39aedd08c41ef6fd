// SPDX-License-Identifier: MIT
#include "attach/cgroup_target.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "base/grow_array.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* mountinfo is read up to this size; hosts with many containers have long ones. */
#define LT_MOUNTINFO_MAX (8u << 20)

static void decode_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* Fields: id parent major:minor root mount-point options... - fstype source super-options */
int lt_cgroup2_mount_point(const char *mountinfo, size_t len, char **out)
{
	const char *line = mountinfo, *end = mountinfo + len;

	*out = NULL;
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		const char *sep = NULL, *field = line, *mount = NULL;
		size_t mount_len = 0;
		int i = 0;

		/* Fields are space-separated; paths have spaces escaped. */
		for (const char *c = line; c <= line + n; c++) {
			if (c != line + n && *c != ' ')
				continue;
			if (i == 4) {
				mount = field;
				mount_len = (size_t)(c - field);
			}
			if ((size_t)(c - field) == 1 && *field == '-' && !sep)
				sep = c;
			i++;
			field = c + 1;
		}
		if (sep && mount && end - sep > 9 && !strncmp(sep + 1, "cgroup2 ", 8)) {
			char *p = strndup(mount, mount_len);

			if (!p)
				return -ENOMEM;
			decode_octal(p);
			*out = p;
			return 0;
		}
		line += n + 1;
	}
	return -ENOENT;
}

static int read_text(const char *path, size_t max, char **out, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0 || !buf) {
		err = fd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *grown;

			if (cap >= max) {
				err = -EFBIG;
				goto fail;
			}
			grown = realloc(buf, cap * 2);
			if (!grown) {
				err = -ENOMEM;
				goto fail;
			}
			buf = grown;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*out = buf;
	*len = n;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}

static int resolve(const char *arg, const char *mountinfo_path, char *path, size_t len,
		   char *err, size_t errlen)
{
	char *text = NULL, *mount = NULL;
	size_t n = 0;
	int ret;

	if (arg[0] == '/') {
		snprintf(path, len, "%s", arg);
		return 0;
	}
	ret = read_text(mountinfo_path, LT_MOUNTINFO_MAX, &text, &n);
	if (!ret)
		ret = lt_cgroup2_mount_point(text, n, &mount);
	free(text);
	if (ret) {
		snprintf(err, errlen, "--cgroup %s: %s", arg,
			 ret == -ENOENT ? "no cgroup2 file system is mounted (give an absolute path)" :
					  strerror(-ret));
		return ret;
	}
	if ((size_t)snprintf(path, len, "%s/%s", mount, arg) >= len) {
		snprintf(err, errlen, "--cgroup %s: path too long", arg);
		ret = -ENAMETOOLONG;
	}
	free(mount);
	return ret;
}

int lt_cgroup2_mount(const char *mountinfo_path, char **out)
{
	char *text = NULL;
	size_t n = 0;
	int ret = read_text(mountinfo_path, LT_MOUNTINFO_MAX, &text, &n);

	if (!ret)
		ret = lt_cgroup2_mount_point(text, n, out);
	free(text);
	return ret;
}

/* Parents of path up to the cgroup2 mount's root: each one's directory
 * is still on a cgroup2 file system. */
static uint32_t depth_below_root(const char *path)
{
	char dir[PATH_MAX];
	struct statfs sfs;
	uint32_t level = 0;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	while ((slash = strrchr(dir, '/')) && slash != dir && level < LT_CGROUP_MAX_DEPTH) {
		*slash = '\0';
		if (statfs(dir, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC)
			break;
		level++;
	}
	return level;
}

int lt_cgroup_target_open(const char *arg, const char *mountinfo_path,
			  struct lt_cgroup_target *t, char *err, size_t errlen)
{
	char path[PATH_MAX], real[PATH_MAX];
	struct statfs sfs;
	struct stat st;
	int ret;

	memset(t, 0, sizeof(*t));
	t->dir_fd = -1;
	ret = resolve(arg, mountinfo_path, path, sizeof(path), err, errlen);
	if (ret)
		return ret;
	if (!realpath(path, real)) {
		ret = -errno;
		snprintf(err, errlen, "--cgroup %s: %s", path, strerror(-ret));
		return ret;
	}
	t->dir_fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dir_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "--cgroup %s: %s", real, strerror(-ret));
		return ret;
	}
	if (fstatfs(t->dir_fd, &sfs) || fstat(t->dir_fd, &st)) {
		ret = -errno;
		snprintf(err, errlen, "--cgroup %s: %s", real, strerror(-ret));
		goto fail;
	}
	if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
		snprintf(err, errlen, "--cgroup %s: not a cgroup v2 directory", real);
		ret = -ENOTDIR;
		goto fail;
	}
	t->path = strdup(real);
	if (!t->path) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	t->id = st.st_ino;
	t->level = depth_below_root(real);
	return 0;
fail:
	lt_cgroup_target_close(t);
	return ret;
}

void lt_cgroup_target_close(struct lt_cgroup_target *t)
{
	if (t->dir_fd >= 0)
		close(t->dir_fd);
	free(t->path);
	t->path = NULL;
	t->dir_fd = -1;
}

struct pid_vec {
	pid_t *v;
	size_t n, cap;
};

static int add_pids(int dir_fd, struct pid_vec *out)
{
	int fd = openat(dir_fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	pid_t *grown;
	FILE *f;
	long v;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (fscanf(f, "%ld", &v) == 1) {
		if (v <= 0 || v > INT_MAX)
			continue;
		grown = lt_grow(out->v, &out->cap, out->n + 1, sizeof(*grown));
		if (!grown) {
			fclose(f);
			return -ENOMEM;
		}
		out->v = grown;
		out->v[out->n++] = (pid_t)v;
	}
	fclose(f);
	return 0;
}

static int walk(int dir_fd, int depth, struct pid_vec *out)
{
	int fd = dup(dir_fd), ret;
	struct dirent *de;
	DIR *dir;

	ret = add_pids(dir_fd, out);
	if (ret || depth >= LT_CGROUP_MAX_DEPTH)
		goto done;
	if (fd < 0) {
		ret = -errno;
		goto done;
	}
	dir = fdopendir(fd);
	if (!dir) {
		ret = -errno;
		close(fd);
		goto done;
	}
	fd = -1;
	rewinddir(dir);
	while (!ret && (de = readdir(dir))) {
		int sub;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		sub = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue; /* removed meanwhile */
		ret = walk(sub, depth + 1, out);
		close(sub);
	}
	closedir(dir);
done:
	if (fd >= 0)
		close(fd);
	return ret;
}

long lt_cgroup_target_pids(const struct lt_cgroup_target *t, pid_t **pids)
{
	struct pid_vec out = { 0 };
	int ret = walk(t->dir_fd, 0, &out);

	if (ret) {
		free(out.v);
		*pids = NULL;
		return ret;
	}
	*pids = out.v;
	return (long)out.n;
}
