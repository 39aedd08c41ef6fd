// SPDX-License-Identifier: MIT
#include "python/python_memory.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define PAGE_BYTES 4096u
/* A length no real object has: refuse instead of cutting. */
#define ABSURD_LENGTH (1ll << 40)

static _Thread_local const struct lt_py_image *images_now;
static _Thread_local size_t nimages_now;

void lt_py_read_images(const struct lt_py_image *images, size_t n)
{
	images_now = n ? images : NULL;
	nimages_now = n;
}

static int read_image(uint64_t addr, void *buf, size_t len)
{
	for (size_t i = 0; i < nimages_now; i++) {
		const struct lt_py_image *m = &images_now[i];

		if (addr >= m->addr && addr - m->addr <= m->len && len <= m->len - (addr - m->addr)) {
			memcpy(buf, (const uint8_t *)m->data + (addr - m->addr), len);
			return 0;
		}
	}
	return -EFAULT;
}

int lt_py_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n;

	if (!len)
		return 0;
	if (images_now)
		return read_image(addr, buf, len);
	/* The NULL page and wrapping ranges are never valid objects. */
	if (addr < PAGE_BYTES || addr + len < addr)
		return -EFAULT;
	n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

static size_t put_utf8(char *dst, uint32_t cp)
{
	if (cp == 0) {
		dst[0] = '?';
		return 1;
	}
	/* Lone surrogates and values past Unicode are not characters. */
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		dst[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		dst[0] = (char)(0xc0 | (cp >> 6));
		dst[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		dst[0] = (char)(0xe0 | (cp >> 12));
		dst[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		dst[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	dst[0] = (char)(0xf0 | (cp >> 18));
	dst[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	dst[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	dst[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static uint32_t code_point(const uint8_t *data, unsigned kind, size_t i)
{
	uint16_t u16;
	uint32_t u32;

	switch (kind) {
	case 1:
		return data[i];
	case 2:
		memcpy(&u16, data + 2 * i, sizeof(u16));
		return u16;
	default:
		memcpy(&u32, data + 4 * i, sizeof(u32));
		return u32;
	}
}

int lt_py_read_str(pid_t pid, const struct lt_py_version_info *info, uint64_t str, char **out)
{
	uint8_t hdr[LT_PY_STR_STATE + 4], *data = NULL;
	size_t count, i, o = 0;
	unsigned kind, state;
	bool cut, ascii;
	int64_t length;
	uint32_t st, cp;
	char *text = NULL;
	int err;

	*out = NULL;
	err = lt_py_read(pid, str, hdr, sizeof(hdr));
	if (err)
		return err;
	memcpy(&length, hdr + LT_PY_STR_LENGTH, sizeof(length));
	memcpy(&st, hdr + LT_PY_STR_STATE, sizeof(st));
	state = st & 0xff; /* the upper bits are padding, often garbage */
	kind = LT_PY_STR_KIND(state);
	ascii = LT_PY_STR_ASCII(state);
	if ((kind != 1 && kind != 2 && kind != 4) || !LT_PY_STR_COMPACT(state) ||
	    (ascii && kind != 1) || length < 0 || length > ABSURD_LENGTH)
		return -EINVAL;
	count = (size_t)length;
	cut = count * kind > LT_PY_NAME_MAX;
	if (cut)
		count = LT_PY_NAME_MAX / kind;
	data = malloc(count * kind + 1);
	text = malloc(count * 4 + sizeof("..."));
	if (!data || !text) {
		err = -ENOMEM;
		goto fail;
	}
	err = lt_py_read(pid, str + (ascii ? info->str_ascii_data : info->str_compact_data), data,
			 count * kind);
	if (err)
		goto fail;
	for (i = 0; i < count; i++) {
		cp = code_point(data, kind, i);
		/* An "ascii" string with a high byte is lying about itself. */
		o += put_utf8(text + o, ascii && cp >= 0x80 ? '?' : cp);
	}
	if (cut) {
		memcpy(text + o, "...", 3);
		o += 3;
	}
	text[o] = '\0';
	free(data);
	*out = text;
	return 0;
fail:
	free(data);
	free(text);
	return err;
}

int lt_py_read_bytes(pid_t pid, uint64_t bytes, size_t max, uint8_t **out, size_t *len)
{
	int64_t size;
	uint8_t *buf;
	int err;

	*out = NULL;
	*len = 0;
	err = lt_py_read(pid, bytes + LT_PY_BYTES_SIZE, &size, sizeof(size));
	if (err)
		return err;
	if (size < 0)
		return -EINVAL;
	if ((uint64_t)size > max)
		return -E2BIG;
	buf = malloc((size_t)size + 1);
	if (!buf)
		return -ENOMEM;
	err = lt_py_read(pid, bytes + LT_PY_BYTES_DATA, buf, (size_t)size);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*len = (size_t)size;
	return 0;
}

int lt_py_read_cstr(pid_t pid, uint64_t addr, size_t max, char **out)
{
	size_t got = 0, chunk, i;
	char *buf, *nul = NULL;
	int err;

	*out = NULL;
	buf = malloc(max + 1);
	if (!buf)
		return -ENOMEM;
	/* Page by page: the string may end just before an unmapped page. */
	while (got < max && !nul) {
		chunk = PAGE_BYTES - ((addr + got) % PAGE_BYTES);
		if (chunk > max - got)
			chunk = max - got;
		err = lt_py_read(pid, addr + got, buf + got, chunk);
		if (err) {
			free(buf);
			return err;
		}
		nul = memchr(buf + got, '\0', chunk);
		got += chunk;
	}
	if (!nul)
		buf[max] = '\0';
	for (i = 0; buf[i]; i++)
		if ((unsigned char)buf[i] < 0x20)
			buf[i] = '?';
	*out = buf;
	return 0;
}
