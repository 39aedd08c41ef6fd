// SPDX-License-Identifier: MIT
#include "consume/fd_table.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow_array.h"

void lt_fd_table_init(struct lt_fd_table *t)
{
	memset(t, 0, sizeof(*t));
	lt_live_init(&t->open);
}

void lt_fd_table_forget_made(struct lt_fd_table *t)
{
	lt_live_free(&t->open);
	for (size_t i = 0; i < t->cap_notes; i++)
		free(t->notes[i].text);
	free(t->notes);
	t->notes = NULL;
	t->cap_notes = 0;
}

void lt_fd_table_free(struct lt_fd_table *t)
{
	lt_fd_table_forget_made(t);
	free(t->before);
	lt_fd_table_init(t);
}

int lt_fd_table_note(struct lt_fd_table *t, uint32_t fd, enum lt_fd_kind kind, const char *text)
{
	char *copy = strdup(text);

	if (!copy)
		return -ENOMEM;
	if (fd >= t->cap_notes) {
		size_t old = t->cap_notes;
		struct lt_fd_note *v = lt_grow(t->notes, &t->cap_notes, (size_t)fd + 1, sizeof(*v));

		if (!v) {
			free(copy);
			return -ENOMEM;
		}
		memset(v + old, 0, (t->cap_notes - old) * sizeof(*v));
		t->notes = v;
	}
	free(t->notes[fd].text);
	t->notes[fd].text = copy;
	t->notes[fd].kind = (uint8_t)kind;
	return 0;
}

const struct lt_fd_note *lt_fd_table_note_of(const struct lt_fd_table *t, uint32_t fd)
{
	return fd < t->cap_notes && t->notes[fd].text ? &t->notes[fd] : NULL;
}

void lt_fd_table_forget_note(struct lt_fd_table *t, uint32_t fd)
{
	if (fd >= t->cap_notes)
		return;
	free(t->notes[fd].text);
	t->notes[fd].text = NULL;
	t->notes[fd].kind = LT_FD_UNKNOWN;
}

static int by_number(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* O_CLOEXEC in /proc/PID/fdinfo/FD's "flags:" (octal). */
static bool close_on_exec(uint32_t pid, unsigned long fd)
{
	char path[64], line[128];
	bool cloexec = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/fdinfo/%lu", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags:", 6)) {
			cloexec = (strtoul(line + 6, NULL, 8) & O_CLOEXEC) != 0;
			break;
		}
	fclose(f);
	return cloexec;
}

long lt_fd_table_read_before(struct lt_fd_table *t, uint32_t pid, bool before_exec)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	long err = 0;

	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	t->nbefore = 0;
	while ((d = readdir(dir))) {
		char *end;
		unsigned long fd = strtoul(d->d_name, &end, 10);
		uint32_t *v;

		if (d->d_name[0] < '0' || d->d_name[0] > '9' || *end || fd > UINT32_MAX)
			continue;
		if (before_exec && close_on_exec(pid, fd))
			continue;
		v = lt_grow(t->before, &t->cap_before, t->nbefore + 1, sizeof(*v));
		if (!v) {
			err = -ENOMEM;
			goto cleanup;
		}
		t->before = v;
		t->before[t->nbefore++] = (uint32_t)fd;
	}
	if (t->nbefore)
		qsort(t->before, t->nbefore, sizeof(*t->before), by_number);
	err = (long)t->nbefore;
cleanup:
	closedir(dir);
	return err;
}

void lt_fd_table_drop_before(struct lt_fd_table *t, uint32_t first, uint32_t last)
{
	size_t lo = 0, hi = t->nbefore, end;

	/* The first entry >= first, then the run up to last. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->before[mid] < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < t->nbefore && t->before[end] <= last; end++)
		;
	if (end == lo)
		return;
	memmove(t->before + lo, t->before + end, (t->nbefore - end) * sizeof(*t->before));
	t->nbefore -= end - lo;
}
