// SPDX-License-Identifier: MIT
#include "attach/libc_discovery.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "symbols/elf_file.h"
#include "attach/proc_maps.h"

bool lt_is_libc_name(const char *name)
{
	return !strncmp(name, "libc.so", 7) || !strncmp(name, "libc-", 5) ||
	       !strncmp(name, "ld-musl-", 8);
}

uint32_t lt_kernel_dev(uint32_t major, uint32_t minor)
{
	return (major << 20) | (minor & 0xfffff);
}

int lt_object_ref_of_path(const char *path, struct lt_object_ref *out)
{
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (stat(path, &st))
		return -errno;
	snprintf(out->path, sizeof(out->path), "%s", path);
	out->kdev = lt_kernel_dev(major(st.st_dev), minor(st.st_dev));
	out->ino = st.st_ino;
	return 0;
}

const struct lt_object_ref *lt_object_list_find(const struct lt_object_list *list, uint32_t kdev,
						uint64_t ino)
{
	for (size_t i = 0; i < list->n; i++)
		if (list->v[i].kdev == kdev && list->v[i].ino == ino)
			return &list->v[i];
	return NULL;
}

bool lt_object_list_has(const struct lt_object_list *list, uint32_t kdev, uint64_t ino)
{
	return lt_object_list_find(list, kdev, ino) != NULL;
}

int lt_object_list_add(struct lt_object_list *list, const struct lt_object_ref *ref)
{
	struct lt_object_ref *grown = realloc(list->v, (list->n + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	list->v = grown;
	list->v[list->n++] = *ref;
	return 0;
}

void lt_object_list_free(struct lt_object_list *list)
{
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static void ref_from_mapping(pid_t pid, const struct lt_mapping *m, struct lt_object_ref *ref)
{
	/* map_files names the mapped file itself, whatever its mount
	 * namespace and even when it was deleted or replaced on disk. */
	snprintf(ref->path, sizeof(ref->path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid,
		 m->start, m->end);
	/* AT_EACCESS: by the effective ids and capabilities, as open will be
	 * (plain access() asks for the real uid, wrong for a capable non-root). */
	if (faccessat(AT_FDCWD, ref->path, R_OK, AT_EACCESS) != 0 && m->path[0] == '/')
		snprintf(ref->path, sizeof(ref->path), "/proc/%d/root%s", (int)pid, m->path);
	ref->kdev = lt_kernel_dev(m->dev_major, m->dev_minor);
	ref->ino = m->inode;
}

static bool exe_defines_malloc(pid_t pid)
{
	char path[64];
	struct lt_elf_file *ef;
	struct lt_elf_symbol sym;
	bool found;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (lt_elf_open_path(path, &ef))
		return false;
	found = lt_elf_find_function(ef, "malloc", &sym) == 0;
	lt_elf_close(ef);
	return found;
}

int lt_find_process_libcs(pid_t pid, struct lt_object_list *list)
{
	struct lt_maps maps = {};
	struct lt_object_ref ref;
	bool maps_libc = false;
	int added = 0, err;

	err = lt_maps_read(pid, &maps);
	if (err)
		return err;
	for (size_t i = 0; i < maps.n; i++) {
		const struct lt_mapping *m = &maps.v[i];

		if (!m->executable || !m->path || m->path[0] != '/' || !m->inode ||
		    !lt_is_libc_name(base_name(m->path)))
			continue;
		maps_libc = true;
		if (lt_object_list_has(list, lt_kernel_dev(m->dev_major, m->dev_minor), m->inode))
			continue;
		ref_from_mapping(pid, m, &ref);
		err = lt_object_list_add(list, &ref);
		if (err)
			goto cleanup;
		added++;
	}
	if (!maps_libc && maps.n && exe_defines_malloc(pid)) {
		const struct lt_mapping *exe = NULL;
		char link[64], target[PATH_MAX];
		ssize_t len;

		snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
		len = readlink(link, target, sizeof(target) - 1);
		if (len > 0) {
			target[len] = '\0';
			for (size_t i = 0; i < maps.n && !exe; i++)
				if (maps.v[i].path && !strcmp(maps.v[i].path, target))
					exe = &maps.v[i];
		}
		if (exe && !lt_object_list_has(list, lt_kernel_dev(exe->dev_major, exe->dev_minor),
					       exe->inode)) {
			ref_from_mapping(pid, exe, &ref);
			snprintf(ref.path, sizeof(ref.path), "%s", link);
			err = lt_object_list_add(list, &ref);
			if (err)
				goto cleanup;
			added++;
		}
	}
	err = added;
cleanup:
	lt_maps_free(&maps);
	return err;
}

int lt_find_all_libcs(struct lt_object_list *list)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int total = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		int n;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		n = lt_find_process_libcs((pid_t)atoi(de->d_name), list);
		if (n == -ENOMEM) {
			closedir(d);
			return n;
		}
		if (n > 0)
			total += n;
	}
	closedir(d);
	return total;
}

int lt_find_mapped_file(pid_t pid, uint32_t kdev, uint64_t ino, struct lt_object_ref *out)
{
	struct lt_maps maps = {};
	int err = lt_maps_read(pid, &maps);

	if (err)
		return err;
	err = -ENOENT;
	for (size_t i = 0; i < maps.n; i++) {
		const struct lt_mapping *m = &maps.v[i];

		if (m->path && m->inode == ino &&
		    lt_kernel_dev(m->dev_major, m->dev_minor) == kdev) {
			ref_from_mapping(pid, m, out);
			err = 0;
			break;
		}
	}
	lt_maps_free(&maps);
	return err;
}
