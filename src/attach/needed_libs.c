// SPDX-License-Identifier: MIT
#include "attach/needed_libs.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "symbols/untrusted_file.h"

/* ld.so would not load more; a loop in broken metadata stops here too. */
#define MAX_LIBS 512

static const char *const default_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
	"/lib", "/usr/lib",
};

static bool listed(const struct lt_path_list *l, const char *path)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], path))
			return true;
	return false;
}

static int add(struct lt_path_list *l, const char *path)
{
	char **v;

	if (listed(l, path))
		return 0;
	if (l->n >= MAX_LIBS)
		return -E2BIG;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	l->v[l->n] = strdup(path);
	if (!l->v[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

void lt_path_list_free(struct lt_path_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Directories of ld.so.conf (one level of include, as Debian uses it). */
static int conf_dirs(struct lt_path_list *dirs)
{
	glob_t g;
	int err = 0;

	if (glob("/etc/ld.so.conf.d/*.conf", 0, NULL, &g))
		return 0;
	for (size_t i = 0; i < g.gl_pathc && !err; i++) {
		FILE *f = fopen(g.gl_pathv[i], "re");
		char line[PATH_MAX];

		if (!f)
			continue;
		while (!err && fgets(line, sizeof(line), f)) {
			line[strcspn(line, " \t\r\n#")] = '\0';
			if (line[0] == '/')
				err = add(dirs, line);
		}
		fclose(f);
	}
	globfree(&g);
	return err;
}

/* Appends the ':'-separated dirs of spec, $ORIGIN being origin. */
static int add_search_path(struct lt_path_list *dirs, const char *spec, const char *origin)
{
	char dir[PATH_MAX];
	const char *p = spec;
	int err = 0;

	while (*p && !err) {
		size_t len = strcspn(p, ":");
		char part[PATH_MAX];

		if (len < sizeof(part)) {
			memcpy(part, p, len);
			part[len] = '\0';
			if (!strncmp(part, "$ORIGIN", 7))
				snprintf(dir, sizeof(dir), "%s%s", origin, part + 7);
			else if (!strncmp(part, "${ORIGIN}", 9))
				snprintf(dir, sizeof(dir), "%s%s", origin, part + 9);
			else
				snprintf(dir, sizeof(dir), "%s", part);
			if (dir[0] == '/')
				err = add(dirs, dir);
		}
		p += len;
		if (*p == ':')
			p++;
	}
	return err;
}

static bool is_x86_64_elf(const char *path)
{
	unsigned char h[20];
	int fd = lt_open_untrusted(path);
	bool ok;

	if (fd < 0)
		return false;
	ok = read(fd, h, sizeof(h)) == (ssize_t)sizeof(h) && !memcmp(h, ELFMAG, SELFMAG) &&
	     h[EI_CLASS] == ELFCLASS64 && h[18] == EM_X86_64;
	close(fd);
	return ok;
}

/* The needed names, search path and interpreter of one file. */
static int read_dynamic(const char *path, struct lt_path_list *needed, struct lt_path_list *dirs,
			char *interp, size_t interp_len)
{
	char origin[PATH_MAX];
	const char *slash;
	size_t nphdr;
	Elf *elf = NULL;
	int fd, err = 0;

	slash = strrchr(path, '/');
	snprintf(origin, sizeof(origin), "%.*s", slash ? (int)(slash - path) : 1,
		 slash ? path : ".");
	/* The path comes from a traced exec or another file's DT_NEEDED. */
	fd = lt_open_untrusted(path);
	if (fd < 0)
		return fd;
	elf_version(EV_CURRENT);
	/* Read, not mapped: a file truncated meanwhile must not be SIGBUS. */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nphdr)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	for (size_t i = 0; i < nphdr && !err; i++) {
		GElf_Phdr ph;
		Elf_Data *data;
		Elf_Scn *scn;
		GElf_Shdr sh;

		if (!gelf_getphdr(elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_INTERP && interp && ph.p_filesz < interp_len) {
			data = elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz, ELF_T_BYTE);
			if (data) {
				memcpy(interp, data->d_buf, ph.p_filesz);
				interp[ph.p_filesz] = '\0';
			}
		}
		if (ph.p_type != PT_DYNAMIC)
			continue;
		/* Names live in the section .dynamic links to (.dynstr). */
		for (scn = NULL; (scn = elf_nextscn(elf, scn));) {
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
				continue;
			data = elf_getdata(scn, NULL);
			for (size_t j = 0; data && j < sh.sh_size / sizeof(GElf_Dyn) && !err; j++) {
				GElf_Dyn dyn;
				const char *s;

				if (!gelf_getdyn(data, (int)j, &dyn))
					break;
				if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_RPATH &&
				    dyn.d_tag != DT_RUNPATH)
					continue;
				s = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
				if (!s)
					continue;
				if (dyn.d_tag == DT_NEEDED)
					err = add(needed, s);
				else
					err = add_search_path(dirs, s, origin);
			}
		}
	}
cleanup:
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}

static int resolve(const char *name, const struct lt_path_list *dirs, char *out, size_t len)
{
	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return is_x86_64_elf(out) ? 0 : -ENOENT;
	}
	for (size_t i = 0; i < dirs->n; i++) {
		snprintf(out, len, "%s/%s", dirs->v[i], name);
		if (is_x86_64_elf(out))
			return 0;
	}
	return -ENOENT;
}

/*
 * exe and what it needs. library_path stands in for LD_LIBRARY_PATH (NULL:
 * the environment's); loader, when ld.so runs exe as a command, for exe's
 * own interpreter.
 */
static int closure(const char *exe, const char *library_path, const char *loader,
		   struct lt_path_list *out)
{
	struct lt_path_list system_dirs = { 0 };
	char interp[PATH_MAX] = "", real[PATH_MAX];
	int err;

	memset(out, 0, sizeof(*out));
	/* $ORIGIN is the directory of the file itself, links resolved. */
	if (!realpath(exe, real))
		return -errno;
	err = add(out, real);
	if (!library_path)
		library_path = getenv("LD_LIBRARY_PATH");
	if (!err && library_path)
		err = add_search_path(&system_dirs, library_path, ".");
	if (!err)
		err = conf_dirs(&system_dirs);
	for (size_t i = 0; !err && i < sizeof(default_dirs) / sizeof(default_dirs[0]); i++)
		err = add(&system_dirs, default_dirs[i]);

	/* out grows as we go: each file's needs are appended after it. */
	for (size_t i = 0; !err && i < out->n; i++) {
		struct lt_path_list needed = { 0 }, dirs = { 0 };
		char path[PATH_MAX];

		if (read_dynamic(out->v[i], &needed, &dirs, i == 0 && !loader ? interp : NULL,
				 sizeof(interp)) == 0) {
			for (size_t j = 0; !err && j < system_dirs.n; j++)
				err = add(&dirs, system_dirs.v[j]);
			for (size_t j = 0; !err && j < needed.n; j++)
				if (!resolve(needed.v[j], &dirs, path, sizeof(path)) &&
				    realpath(path, real))
					err = add(out, real);
		}
		if (i == 0 && loader && !err && realpath(loader, real))
			err = add(out, real);
		else if (i == 0 && interp[0] && !err && realpath(interp, real))
			err = add(out, real);
		lt_path_list_free(&needed);
		lt_path_list_free(&dirs);
	}
	lt_path_list_free(&system_dirs);
	if (err == -E2BIG)
		err = 0;
	if (err)
		lt_path_list_free(out);
	return err;
}

int lt_needed_libs(const char *exe, struct lt_path_list *out)
{
	return closure(exe, NULL, NULL, out);
}

/* ld.so's options that take a value (glibc 2.36 to 2.43). */
static bool loader_option_with_value(const char *opt)
{
	static const char *const with_value[] = {
		"--library-path", "--inhibit-rpath", "--audit", "--preload", "--argv0",
		"--glibc-hwcaps-prepend", "--glibc-hwcaps-mask",
	};

	for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++)
		if (!strcmp(opt, with_value[i]))
			return true;
	return false;
}

bool lt_is_dynamic_loader(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "ld-linux", 8) || !strncmp(base, "ld-musl", 7) ||
	       !strcmp(base, "ld.so");
}

int lt_command_files(const char *path, char *const *argv, struct lt_path_list *out)
{
	char dirs[PATH_MAX * 4] = "";
	const char *library_path = NULL, *program = NULL;
	int i = 1;

	memset(out, 0, sizeof(*out));
	if (!lt_is_dynamic_loader(path) || !argv || !argv[0])
		return lt_needed_libs(path, out);
	for (; argv[i] && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!loader_option_with_value(argv[i]))
			continue;
		if (!argv[i + 1])
			return -EINVAL;
		if (!strcmp(argv[i], "--library-path"))
			library_path = argv[i + 1];
		i++;
	}
	program = argv[i];
	if (!program)
		return -EINVAL;
	/* Relative directories are relative to where the command starts, ours. */
	if (library_path) {
		const char *p = library_path;

		while (*p) {
			size_t len = strcspn(p, ":"), used = strlen(dirs);
			char part[PATH_MAX], real[PATH_MAX];

			if (len && len < sizeof(part)) {
				memcpy(part, p, len);
				part[len] = '\0';
				if (realpath(part, real) && used + strlen(real) + 2 < sizeof(dirs))
					snprintf(dirs + used, sizeof(dirs) - used, "%s%s", used ? ":" : "",
						 real);
			}
			p += len;
			if (*p == ':')
				p++;
		}
		library_path = dirs;
	}
	return closure(program, library_path, path, out);
}

int lt_find_library(const char *name, uint32_t dev_major, uint32_t dev_minor, uint64_t inode,
		    char *out, size_t len)
{
	struct lt_path_list dirs = { 0 };
	int err = conf_dirs(&dirs);

	for (size_t i = 0; !err && i < sizeof(default_dirs) / sizeof(default_dirs[0]); i++)
		err = add(&dirs, default_dirs[i]);
	err = -ENOENT;
	if (strchr(name, '/') || !name[0])
		goto cleanup;
	for (size_t i = 0; i < dirs.n; i++) {
		struct stat st;

		snprintf(out, len, "%s/%s", dirs.v[i], name);
		if (!stat(out, &st) && st.st_ino == inode && major(st.st_dev) == dev_major &&
		    minor(st.st_dev) == dev_minor) {
			err = 0;
			break;
		}
	}
cleanup:
	lt_path_list_free(&dirs);
	return err;
}
