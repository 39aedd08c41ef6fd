// SPDX-License-Identifier: MIT
#include "symbols/debug_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <lzma.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <zlib.h>

#include "symbols/elf_file.h"
#include "symbols/untrusted_file.h"

#define DEBUG_ROOT "/usr/lib/debug"

/* Debug files of the biggest programs are a few GiB; a larger one is more
 * likely a sparse file a traced process made (they cost it nothing) and
 * would take minutes to checksum. */
#define LT_DEBUG_FILE_MAX_BYTES (4ull << 30)

/* CRC32 of the file as large as it was when opened (one that keeps growing
 * is not followed). False when unreadable or too large. */
static bool file_crc32(int fd, uint32_t *out)
{
	unsigned char buf[65536];
	uLong crc = crc32(0L, Z_NULL, 0);
	uint64_t left;
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) || (uint64_t)st.st_size > LT_DEBUG_FILE_MAX_BYTES)
		return false;
	for (left = (uint64_t)st.st_size; left; left -= (uint64_t)n) {
		n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
		if (n <= 0)
			return false;
		crc = crc32(crc, buf, (uInt)n);
	}
	*out = (uint32_t)crc;
	return true;
}

/* Open a candidate in the process's root, then on the host. The process
 * chooses what sits at these paths: only regular files are read. */
static int open_candidate(pid_t pid, const char *path)
{
	char full[PATH_MAX * 2 + 64];
	int fd;

	if (pid > 0) {
		snprintf(full, sizeof(full), "/proc/%d/root%s", (int)pid, path);
		fd = lt_open_untrusted(full);
		if (fd >= 0)
			return fd;
	}
	return lt_open_untrusted(path);
}

static struct lt_elf_file *open_debug(int fd)
{
	struct lt_elf_file *debug;

	if (fd < 0 || lt_elf_open_fd(fd, &debug))
		return NULL;
	/* A debug file without DWARF or symbols adds nothing. */
	if (!lt_elf_has_debug_info(debug) && !lt_elf_symbol_count(debug)) {
		lt_elf_close(debug);
		return NULL;
	}
	return debug;
}

static struct lt_elf_file *by_build_id(pid_t pid, const char *build_id)
{
	char path[PATH_MAX];
	struct lt_elf_file *debug;

	if (strlen(build_id) < 4)
		return NULL;
	snprintf(path, sizeof(path), DEBUG_ROOT "/.build-id/%.2s/%s.debug", build_id, build_id + 2);
	debug = open_debug(open_candidate(pid, path));
	/* It must describe this very file. */
	if (debug && strcmp(lt_elf_build_id(debug), build_id)) {
		lt_elf_close(debug);
		return NULL;
	}
	return debug;
}

static struct lt_elf_file *by_debuglink(pid_t pid, const char *path, const struct lt_elf_file *ef)
{
	char name[256], dir[PATH_MAX], candidate[PATH_MAX * 2];
	const char *slash = strrchr(path, '/');
	uint32_t crc, got;

	if (lt_elf_debuglink(ef, name, sizeof(name), &crc) || !slash || path[0] != '/')
		return NULL;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	for (int i = 0; i < 3; i++) {
		const char *fmt = i == 0 ? "%s/%s" : i == 1 ? "%s/.debug/%s" : DEBUG_ROOT "%s/%s";
		int fd;

		snprintf(candidate, sizeof(candidate), fmt, dir, name);
		fd = open_candidate(pid, candidate);
		if (fd < 0)
			continue;
		/* A stale debug file from another build would name the wrong lines. */
		if (!file_crc32(fd, &got) || got != crc || lseek(fd, 0, SEEK_SET) != 0) {
			close(fd);
			continue;
		}
		return open_debug(fd);
	}
	return NULL;
}

/* A compressed section from a traced process's file is untrusted input:
 * bounded output, and bounded decoder memory, which the stream's header
 * chooses (up to 4 GiB of dictionary; xz -9 needs 65 MiB). */
#define LT_MINIDEBUG_MAX_BYTES (64u << 20)
#define LT_MINIDEBUG_MAX_DECODER_BYTES (128u << 20)

/* Decompress .gnu_debugdata into an anonymous memory file and open that. */
static struct lt_elf_file *by_minidebuginfo(const struct lt_elf_file *ef)
{
	lzma_stream xz = LZMA_STREAM_INIT;
	unsigned char out[65536];
	const void *data;
	size_t size, total = 0;
	lzma_ret r;
	int fd;

	if (lt_elf_section_data(ef, ".gnu_debugdata", &data, &size))
		return NULL;
	fd = memfd_create("leaktrace-minidebuginfo", MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (lzma_stream_decoder(&xz, LT_MINIDEBUG_MAX_DECODER_BYTES, 0) != LZMA_OK)
		goto fail;
	xz.next_in = data;
	xz.avail_in = size;
	do {
		xz.next_out = out;
		xz.avail_out = sizeof(out);
		r = lzma_code(&xz, LZMA_FINISH);
		if (r != LZMA_OK && r != LZMA_STREAM_END)
			goto fail;
		total += sizeof(out) - xz.avail_out;
		if (total > LT_MINIDEBUG_MAX_BYTES ||
		    write(fd, out, sizeof(out) - xz.avail_out) != (ssize_t)(sizeof(out) - xz.avail_out))
			goto fail;
	} while (r != LZMA_STREAM_END);
	lzma_end(&xz);
	return open_debug(fd);
fail:
	lzma_end(&xz);
	close(fd);
	return NULL;
}

struct lt_elf_file *lt_debug_file_find(pid_t pid, const char *path, const struct lt_elf_file *ef)
{
	struct lt_elf_file *debug = NULL;

	if (lt_elf_build_id(ef)[0])
		debug = by_build_id(pid, lt_elf_build_id(ef));
	if (!debug && path)
		debug = by_debuglink(pid, path, ef);
	if (!debug)
		debug = by_minidebuginfo(ef);
	return debug;
}
