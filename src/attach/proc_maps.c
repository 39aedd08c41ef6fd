// SPDX-License-Identifier: MIT
/*
 * /proc/PID/maps parsing. The text comes from another process and may be
 * arbitrarily long, so nothing here relies on fixed-size line buffers: lines
 * are scanned in place with a bounded cursor.
 */
#include "attach/proc_maps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/grow_array.h"

#define DELETED_SUFFIX " (deleted)"

struct cursor {
	const char *p;
	const char *end;
};

static bool at_end(const struct cursor *c)
{
	return c->p >= c->end;
}

static bool eat_char(struct cursor *c, char ch)
{
	if (at_end(c) || *c->p != ch)
		return false;
	c->p++;
	return true;
}

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* At least one digit; false on overflow, which only a corrupt line can cause. */
static bool parse_number(struct cursor *c, unsigned int base, uint64_t *out)
{
	uint64_t v = 0;
	const char *start = c->p;
	int d;

	while (!at_end(c) && (d = hex_value(*c->p)) >= 0 && (unsigned int)d < base) {
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return false;
		v = v * base + (uint64_t)d;
		c->p++;
	}
	*out = v;
	return c->p != start;
}

static bool parse_perm(char got, char want, bool *flag)
{
	if (got == want) {
		*flag = true;
		return true;
	}
	*flag = false;
	return got == '-';
}

static bool parse_perms(struct cursor *c, struct lt_mapping *m)
{
	if (c->end - c->p < 4)
		return false;
	if (!parse_perm(c->p[0], 'r', &m->readable) ||
	    !parse_perm(c->p[1], 'w', &m->writable) ||
	    !parse_perm(c->p[2], 'x', &m->executable))
		return false;
	if (c->p[3] != 'p' && c->p[3] != 's')
		return false;
	c->p += 4;
	return true;
}

static bool parse_dev(struct cursor *c, struct lt_mapping *m)
{
	uint64_t major, minor;

	if (!parse_number(c, 16, &major) || !eat_char(c, ':') ||
	    !parse_number(c, 16, &minor))
		return false;
	if (major > UINT32_MAX || minor > UINT32_MAX)
		return false;
	m->dev_major = (uint32_t)major;
	m->dev_minor = (uint32_t)minor;
	return true;
}

/* Everything up to the path; false for a malformed line. */
static bool parse_fields(struct cursor *c, struct lt_mapping *m)
{
	if (!parse_number(c, 16, &m->start) || !eat_char(c, '-') ||
	    !parse_number(c, 16, &m->end) || !eat_char(c, ' '))
		return false;
	if (m->end <= m->start)
		return false;
	if (!parse_perms(c, m) || !eat_char(c, ' '))
		return false;
	if (!parse_number(c, 16, &m->file_offset) || !eat_char(c, ' '))
		return false;
	if (!parse_dev(c, m) || !eat_char(c, ' '))
		return false;
	if (!parse_number(c, 10, &m->inode))
		return false;
	/* The inode must be a whole field, not the prefix of garbage. */
	return at_end(c) || *c->p == ' ';
}

/* The kernel pads to a column before the path; the path is the rest of the line. */
static int parse_path(struct cursor *c, struct lt_mapping *m)
{
	size_t len, suffix = strlen(DELETED_SUFFIX);

	while (!at_end(c) && *c->p == ' ')
		c->p++;
	len = (size_t)(c->end - c->p);
	if (len == 0)
		return 0;
	if (len > suffix && !memcmp(c->end - suffix, DELETED_SUFFIX, suffix)) {
		m->deleted = true;
		len -= suffix;
	}
	m->path = strndup(c->p, len);
	return m->path ? 0 : -ENOMEM;
}

/* 1 when a mapping was parsed, 0 for a skipped line, -errno on failure. */
static int parse_line(const char *line, size_t len, struct lt_mapping *m)
{
	struct cursor c = { line, line + len };

	memset(m, 0, sizeof(*m));
	if (!parse_fields(&c, m))
		return 0;
	if (parse_path(&c, m))
		return -ENOMEM;
	return 1;
}

static int push_mapping(struct lt_maps *maps, size_t *cap, const struct lt_mapping *m)
{
	struct lt_mapping *v = lt_grow(maps->v, cap, maps->n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	maps->v = v;
	maps->v[maps->n++] = *m;
	return 0;
}

static int cmp_mapping(const void *a, const void *b)
{
	const struct lt_mapping *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

/* The kernel already prints in order; this only guards lt_maps_find against odd input. */
static void ensure_sorted(struct lt_maps *maps)
{
	size_t i;

	for (i = 1; i < maps->n; i++) {
		if (maps->v[i - 1].start > maps->v[i].start) {
			qsort(maps->v, maps->n, sizeof(*maps->v), cmp_mapping);
			return;
		}
	}
}

int lt_maps_parse(const char *text, size_t len, struct lt_maps *out)
{
	const char *p = text, *end = text + len, *nl;
	struct lt_mapping m;
	size_t cap = 0;
	int err;

	out->v = NULL;
	out->n = 0;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		err = parse_line(p, (size_t)(nl - p), &m);
		if (err < 0)
			goto fail;
		if (err > 0) {
			err = push_mapping(out, &cap, &m);
			if (err) {
				free(m.path);
				goto fail;
			}
		}
		p = nl + 1;
	}
	ensure_sorted(out);
	return 0;
fail:
	lt_maps_free(out);
	return err;
}

/* procfs reports no size for maps, so grow until read() says EOF. */
static int read_all(int fd, char **buf, size_t *len)
{
	size_t cap = 16384, n = 0;
	char *b = malloc(cap), *nb;
	ssize_t r;

	if (!b)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			nb = realloc(b, cap * 2);
			if (!nb)
				goto nomem;
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return -errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	return 0;
nomem:
	free(b);
	return -ENOMEM;
}

int lt_maps_read(pid_t pid, struct lt_maps *out)
{
	char path[64], *buf = NULL;
	size_t len = 0;
	int fd, err;

	out->v = NULL;
	out->n = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	err = read_all(fd, &buf, &len);
	close(fd);
	if (err)
		return err;
	err = lt_maps_parse(buf, len, out);
	free(buf);
	return err;
}

bool lt_mapping_same_file(const struct lt_mapping *a, const struct lt_mapping *b)
{
	return a->dev_major == b->dev_major && a->dev_minor == b->dev_minor &&
	       a->inode == b->inode;
}

const struct lt_mapping *lt_maps_find(const struct lt_maps *maps, uint64_t addr)
{
	size_t lo = 0, hi = maps->n, mid;

	/* Find the last mapping with start <= addr. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (maps->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	if (addr >= maps->v[lo - 1].end)
		return NULL;
	return &maps->v[lo - 1];
}

int lt_maps_copy(const struct lt_maps *src, struct lt_maps *dst)
{
	size_t i;

	dst->n = 0;
	dst->v = NULL;
	if (!src->n)
		return 0;
	dst->v = calloc(src->n, sizeof(*dst->v));
	if (!dst->v)
		return -ENOMEM;
	for (i = 0; i < src->n; i++) {
		dst->v[i] = src->v[i];
		dst->v[i].path = NULL;
		dst->n = i + 1;
		if (src->v[i].path && !(dst->v[i].path = strdup(src->v[i].path)))
			goto nomem;
	}
	return 0;
nomem:
	lt_maps_free(dst);
	return -ENOMEM;
}

void lt_maps_free(struct lt_maps *maps)
{
	size_t i;

	if (!maps)
		return;
	for (i = 0; i < maps->n; i++)
		free(maps->v[i].path);
	free(maps->v);
	maps->v = NULL;
	maps->n = 0;
}
