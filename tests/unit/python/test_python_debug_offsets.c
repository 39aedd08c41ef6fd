// SPDX-License-Identifier: MIT
/*
 * _Py_DebugOffsets: a table laid out as each version lays it out must give
 * the frame, code-object and string offsets it holds; a table that is not
 * the version's (cookie, version, free-threaded, a field we rely on being
 * constant, a size that does not match _PyRuntime's) must be refused with
 * a one-line reason and nothing taken from it.
 *
 * With Debian unstable's python3.14 and 3.15 unpacked (make sid-pythons),
 * the whole file is inspected as leaktrace does it, and must give the
 * offsets checked against those builds by hand: frames, code objects, and
 * where each keeps a thread's state (a pthread key in 3.14, a thread-local
 * variable in 3.15).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "python/python_debug_offsets.h"
#include "python/python_target.h"

static void put(uint8_t *t, uint32_t pos, uint64_t v)
{
	memcpy(t + pos, &v, sizeof(v));
}

/* 3.14's table with 3.14.10's values at the positions used. */
static void make_314(uint8_t *t, size_t len)
{
	memset(t, 0, len);
	memcpy(t, "xdebugpy", 8);
	put(t, 8, 0x030e0af0);
	put(t, 24, 316616);
	put(t, 208, 72);                            /* current_frame */
	put(t, 256, 8), put(t, 264, 0), put(t, 272, 56), put(t, 288, 74); /* frame */
	put(t, 320, 112), put(t, 328, 120), put(t, 336, 128), put(t, 344, 136);
	put(t, 352, 68), put(t, 384, 208);          /* code */
	put(t, 408, 8), put(t, 424, 24), put(t, 440, 168); /* object, type */
	put(t, 600, 16), put(t, 608, 32);           /* bytes */
	put(t, 624, 32), put(t, 632, 16), put(t, 640, 40); /* str */
}

static int apply(const uint8_t *t, size_t len, uint32_t minor, struct lt_py_version_info *info,
		 struct lt_py_layout *layout, char *why)
{
	*info = *lt_py_version_info(minor);
	assert_int_equal(lt_py_layout_for(minor, layout), 0);
	return lt_py_apply_debug_offsets(t, len, minor, 316616, info, layout, why, 200);
}

static void test_fields_taken(void **state)
{
	struct lt_py_version_info info;
	struct lt_py_layout layout;
	uint8_t t[760];
	char why[200];

	(void)state;
	assert_int_equal(lt_py_debug_offsets_size(13), 584);
	assert_int_equal(lt_py_debug_offsets_size(14), 760);
	assert_int_equal(lt_py_debug_offsets_size(15), 888);
	assert_int_equal(lt_py_debug_offsets_size(12), 0);
	make_314(t, sizeof(t));
	/* A patch release that moved fields: what the table says is taken. */
	put(t, 208, 80);
	put(t, 288, 76);
	put(t, 384, 216);
	put(t, 640, 48);
	assert_int_equal(apply(t, sizeof(t), 14, &info, &layout, why), 0);
	assert_int_equal(layout.tstate_frame, 80);
	assert_int_equal(layout.frame_back, 8);
	assert_int_equal(layout.frame_code, 0);
	assert_int_equal(layout.frame_pos, 56);
	assert_int_equal(layout.frame_owner, 76);
	assert_int_equal(info.co_code_adaptive, 216);
	assert_int_equal(info.co_firsttraceable, 200);
	assert_int_equal(info.code_tp_basicsize, 216);
	assert_int_equal(info.str_ascii_data, 48);
	assert_int_equal(info.str_compact_data, 64);
	assert_int_equal(layout.str_ascii_data, 48);
	assert_int_equal(layout.code_filename, 112);
	assert_int_equal(layout.code_name, 128); /* co_qualname */
	assert_int_equal(layout.code_head_len, (uint32_t)lt_py_code_header_len(&info));
}

static void expect_refused(const uint8_t *t, size_t len, uint32_t minor, const char *says)
{
	struct lt_py_version_info info;
	struct lt_py_layout layout, before;
	char why[200] = "";

	*(&info) = *lt_py_version_info(minor);
	assert_int_equal(lt_py_layout_for(minor, &layout), 0);
	before = layout;
	assert_int_equal(lt_py_apply_debug_offsets(t, len, minor, 316616, &info, &layout, why,
						   sizeof(why)), -ENOTSUP);
	if (!strstr(why, says))
		fail_msg("refused with \"%s\", expected it to say \"%s\"", why, says);
	assert_null(strchr(why, '\n'));
	assert_memory_equal(&layout, &before, sizeof(layout));
}

static void test_refusals(void **state)
{
	uint8_t t[888];

	(void)state;
	make_314(t, sizeof(t));
	expect_refused(t, sizeof(t), 15, "cookie or version");
	expect_refused(t, 584, 14, "cut short: 584 of 3.14's 760 bytes");
	expect_refused(t, sizeof(t), 12, "no _Py_DebugOffsets layout known for 3.12");
	memcpy(t, "xdebugPY", 8);
	expect_refused(t, sizeof(t), 14, "cookie or version");
	make_314(t, sizeof(t));
	put(t, 16, 1);
	expect_refused(t, sizeof(t), 14, "free-threaded");
	make_314(t, sizeof(t));
	put(t, 24, 4096);
	expect_refused(t, sizeof(t), 14, "_PyRuntime is 4096 bytes");
	make_314(t, sizeof(t));
	put(t, 408, 24); /* ob_type elsewhere: a layout we do not know */
	expect_refused(t, sizeof(t), 14, "pyobject.ob_type is 24, expected 8");
	make_314(t, sizeof(t));
	put(t, 272, 1ull << 40);
	expect_refused(t, sizeof(t), 14, "not an offset");
}

/* Debian unstable's builds, as leaktrace inspects them. */
struct sid_case {
	const char *file; /* under the unpacked root */
	uint32_t minor, micro;
	bool redirect;    /* allocator inlined: PGO executables */
	uint32_t tss_key;
	int64_t tls;
	uint64_t tls_slot, tls_block_off; /* shared 3.15: GOT pair, offset */
	uint64_t tracer;  /* tracer pointer's offset in _PyRuntime (redirected builds) */
};

static void check_sid(const struct sid_case *c)
{
	const char *fixtures = getenv("LT_FIXTURE_DIR");
	struct lt_py_interp interp;
	char path[4096], err[256] = "";

	snprintf(path, sizeof(path), "%s/../../pythons/sid/%s",
		 fixtures ? fixtures : "build/tests/fixtures", c->file);
	if (access(path, R_OK)) {
		print_message("%s not fetched (make sid-pythons)\n", path);
		skip();
	}
	if (lt_py_find_interp_file(path, &interp, err, sizeof(err)))
		fail_msg("%s refused: %s", c->file, err);
	assert_int_equal(interp.minor, c->minor);
	assert_int_equal(interp.micro, c->micro);
	assert_int_equal(interp.objects, LT_PY_OBJECTS_ALL);
	assert_int_equal(interp.redirect, c->redirect);
	assert_int_equal(interp.layout.tstate_frame, 72);
	assert_int_equal(interp.layout.frame_back, 8);
	assert_int_equal(interp.layout.frame_pos, 56);
	assert_int_equal(interp.layout.frame_owner, 74);
	assert_int_equal(interp.layout.owner_skip, 3);
	assert_int_equal(interp.layout.tss_key, c->tss_key);
	assert_int_equal(interp.layout.tstate_tls, c->tls);
	assert_int_equal(interp.layout.tls_modid_slot, c->tls_slot);
	assert_int_equal(interp.layout.tls_block_off, c->tls_block_off);
	assert_int_equal(interp.info.co_code_adaptive, 208);
	assert_int_equal(interp.info.co_firsttraceable, 192);
	assert_int_equal(interp.info.co_qualname, 128);
	assert_int_equal(interp.info.str_compact_data, 56);
	if (c->tracer) {
		assert_int_equal(interp.redirect_plan.tracer_slot - interp.layout.runtime, c->tracer);
		assert_true(interp.redirect_plan.tracer_noop != 0);
	} else {
		assert_int_equal(interp.redirect_plan.tracer_slot, 0);
	}
}

static void test_sid_314(void **state)
{
	/* Py_tss_t autoTSSkey at _PyRuntime + 2336, its key 4 bytes in;
	 * ref_tracer.tracer_func at + 0x2920. */
	static const struct sid_case c = { "usr/bin/python3.14", 14, 10, true, 2340, 0, 0, 0,
					   0x2920 };

	(void)state;
	check_sid(&c);
}

static void test_sid_315(void **state)
{
	/* _Py_tss_gilstate, a thread-local of the executable. */
	static const struct sid_case c = { "usr/bin/python3.15", 15, 2, true, 0, -0x28, 0, 0,
					   0x2998 };

	(void)state;
	check_sid(&c);
}

static void test_sid_314_shared(void **state)
{
	/* The same key, reached from the GOT's _PyRuntime. */
	static const struct sid_case c = { "usr/lib/x86_64-linux-gnu/libpython3.14.so.1.0", 14, 10,
					   false, 2340, 0, 0, 0, 0 };

	(void)state;
	check_sid(&c);
}

static void test_sid_315_shared(void **state)
{
	/* __tls_get_addr on the GOT pair at 0x879790: the block + 0x28. */
	static const struct sid_case c = { "usr/lib/x86_64-linux-gnu/libpython3.15.so.1.0", 15, 2,
					   false, 0, 0, 0x879790, 0x28, 0 };

	(void)state;
	check_sid(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields_taken),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_sid_314),
		cmocka_unit_test(test_sid_315),
		cmocka_unit_test(test_sid_314_shared),
		cmocka_unit_test(test_sid_315_shared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
