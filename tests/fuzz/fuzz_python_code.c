// SPDX-License-Identifier: MIT
/*
 * Python objects read from a traced process (python_code.h,
 * python_memory.h): code objects, their str names, bytes line tables and
 * type names, through the real process_vm_readv path on this process's own
 * memory. The input is
 *   [0]      CPython minor version: 8 + byte % 6
 *   [1]      bit 0: check ob_type against the code object's own;
 *            bit 1: raw position relative to FUZZ_IMAGE_BASE
 *   [2..10)  raw frame position (struct lt_py_frame.pos)
 *   [10..]   memory image mapped at FUZZ_IMAGE_BASE, the code object first;
 *            pointers in it (0x10000000 + offset) may point back into it.
 * Past the image's last page nothing is mapped, as in a process whose
 * object sits at the end of a mapping.
 */
#include <stdint.h>
#include <stdio.h>

#include "fuzz_common.h"

#include "python/python_code.h"
#include "python/python_layout.h"
#include "python/python_memory.h"

#define FUZZ_IMAGE_BASE 0x10000000ull
#define HEADER 10
#define PAGE 4096u

static void *map_image(const uint8_t *image, size_t len, size_t *mapped)
{
	void *at;

	*mapped = (len + PAGE - 1) / PAGE * PAGE;
	if (!*mapped)
		*mapped = PAGE;
	at = mmap((void *)(uintptr_t)FUZZ_IMAGE_BASE, *mapped, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (at == MAP_FAILED)
		return NULL;
	if (at != (void *)(uintptr_t)FUZZ_IMAGE_BASE) {
		munmap(at, *mapped);
		return NULL;
	}
	memcpy(at, image, len);
	return at;
}

static void resolve(struct lt_py_reader *r, uint64_t raw_pos)
{
	struct lt_py_location loc;

	if (lt_py_resolve_frame(r, FUZZ_IMAGE_BASE, raw_pos, &loc))
		return;
	if (!loc.func || !loc.file || loc.line < 0)
		__builtin_trap(); /* "?" and 0 stand for unknown, never NULL */
	fuzz_touch(loc.func);
	fuzz_touch(loc.file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t raw_pos, ob_type = 0, tp_name = 0;
	uint32_t minor;
	struct lt_py_reader r;
	size_t mapped, len;
	uint8_t *image;
	int64_t offset;
	char *text;
	uint8_t *bytes;
	size_t nbytes;

	if (size < HEADER)
		return 0;
	minor = LT_PY_MINOR_MIN + data[0] % (LT_PY_MINOR_MAX - LT_PY_MINOR_MIN + 1);
	memcpy(&raw_pos, data + 2, sizeof(raw_pos));
	if (data[1] & 2)
		raw_pos += FUZZ_IMAGE_BASE;
	len = size - HEADER;
	image = map_image(data + HEADER, len, &mapped);
	if (!image) {
		fprintf(stderr, "fuzz_python_code: cannot map the image at %#llx\n",
			FUZZ_IMAGE_BASE);
		abort();
	}
	if (len >= LT_PY_OB_TYPE + 8)
		memcpy(&ob_type, image + LT_PY_OB_TYPE, sizeof(ob_type));
	if (lt_py_reader_init(&r, getpid(), minor, (data[1] & 1) ? ob_type : 0))
		goto out;
	/* First read, then from the cache (checked against the object again),
	 * then another position of the same code object. */
	resolve(&r, raw_pos);
	resolve(&r, raw_pos);
	resolve(&r, raw_pos + 2);
	lt_py_pos_to_offset(r.info, FUZZ_IMAGE_BASE, raw_pos, &offset);
	fuzz_touch(lt_py_type_name(&r, ob_type));
	fuzz_touch(lt_py_type_name(&r, ob_type));
	/* The readers on their own, at the object the type field names. */
	if (!lt_py_read_str(r.pid, r.info, ob_type, &text)) {
		fuzz_touch(text);
		free(text);
	}
	if (!lt_py_read_bytes(r.pid, ob_type, LT_PY_TABLE_MAX, &bytes, &nbytes)) {
		fuzz_touch_bytes(bytes, nbytes);
		free(bytes);
	}
	if (len >= LT_PY_TP_NAME + 8)
		memcpy(&tp_name, image + LT_PY_TP_NAME, sizeof(tp_name));
	if (!lt_py_read_cstr(r.pid, tp_name, LT_PY_NAME_MAX, &text)) {
		fuzz_touch(text);
		free(text);
	}
	lt_py_reader_free(&r);
out:
	munmap(image, mapped);
	return 0;
}
