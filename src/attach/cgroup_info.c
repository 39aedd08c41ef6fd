// SPDX-License-Identifier: MIT
#include "attach/cgroup_info.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DELETED_SUFFIX " (deleted)"
#define SCOPE_SUFFIX ".scope"

int lt_cgroup_parse(const char *text, size_t len, char **out)
{
	const char *line = text, *end = text + len;

	*out = NULL;
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *path = line + 3;
		size_t n;

		/* A line cut short by the read limit is not trusted. */
		if (!nl)
			return -ENOENT;
		if (nl - line < 4 || memcmp(line, "0::/", 4)) {
			line = nl + 1;
			continue;
		}
		n = (size_t)(nl - path);
		if (memchr(path, '\0', n))
			return -ENOENT;
		if (n > strlen(DELETED_SUFFIX) + 1 &&
		    !memcmp(nl - strlen(DELETED_SUFFIX), DELETED_SUFFIX, strlen(DELETED_SUFFIX)))
			n -= strlen(DELETED_SUFFIX);
		*out = strndup(path, n);
		return *out ? 0 : -ENOMEM;
	}
	return -ENOENT;
}

int lt_cgroup_read(uint32_t pid, char **out)
{
	char name[64], *buf;
	size_t len = 0;
	int fd, err;

	*out = NULL;
	snprintf(name, sizeof(name), "/proc/%u/cgroup", pid);
	buf = malloc(LT_CGROUP_FILE_MAX);
	if (!buf)
		return -ENOMEM;
	fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto cleanup_buf;
	}
	/* procfs may hand the text over in pieces. */
	while (len < LT_CGROUP_FILE_MAX) {
		ssize_t n = read(fd, buf + len, LT_CGROUP_FILE_MAX - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto cleanup_fd;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	err = lt_cgroup_parse(buf, len, out);
cleanup_fd:
	close(fd);
cleanup_buf:
	free(buf);
	return err;
}

/* Runtimes name ids in lowercase; anything else is some other name. */
static bool is_id(const char *s, size_t n)
{
	if (n != LT_CONTAINER_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);

	return n >= p && !memcmp(s, prefix, p);
}

/* The id a single path component names, or NULL. */
static const char *component_id(const char *s, size_t n)
{
	/* conmon-<id> after these prefixes is not hex, so the monitors' own
	 * scopes fall through without a special case. */
	static const char *const prefixes[] = { "docker-", "cri-containerd-", "crio-", "libpod-" };
	size_t scope = strlen(SCOPE_SUFFIX);

	if (is_id(s, n))
		return s;
	if (n > scope && !memcmp(s + n - scope, SCOPE_SUFFIX, scope))
		n -= scope;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t p = strlen(prefixes[i]);

		if (has_prefix(s, n, prefixes[i]) && is_id(s + p, n - p))
			return s + p;
	}
	return NULL;
}

bool lt_cgroup_container_id(const char *path, char id[LT_CONTAINER_ID_LEN + 1],
			    size_t *scope_len)
{
	const char *end = path + strlen(path);

	id[0] = '\0';
	if (scope_len)
		*scope_len = 0;
	/* Innermost first: a container nested in another is the one that runs
	 * the process, and sub-cgroups a container makes for itself (systemd
	 * in it) sit below the component that names it. */
	while (end > path) {
		const char *start = end, *found;

		while (start > path && start[-1] != '/')
			start--;
		found = component_id(start, (size_t)(end - start));
		if (found) {
			memcpy(id, found, LT_CONTAINER_ID_LEN);
			id[LT_CONTAINER_ID_LEN] = '\0';
			if (scope_len)
				*scope_len = (size_t)(end - path);
			return true;
		}
		end = start > path ? start - 1 : path;
	}
	return false;
}
