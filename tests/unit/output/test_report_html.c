// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "output/html_json.h"
#include "output/report_writers.h"

#include "report_fixture.h"

#define DATA_OPEN "<script type=\"application/json\" id=\"lt-data\">"

static char *page(const struct lt_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(lt_report_write_html(f, r), 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strcasestr(p, needle)); p++)
		n++;
	return n;
}

/* The embedded report: between DATA_OPEN and the next "</script". */
static char *data_of(const char *html)
{
	const char *start = strstr(html, DATA_OPEN), *end;
	char *data;

	assert_non_null(start);
	start += strlen(DATA_OPEN);
	end = strcasestr(start, "</script");
	assert_non_null(end);
	data = strndup(start, (size_t)(end - start));
	assert_non_null(data);
	return data;
}

#include "json_check.h"

/* Nothing that could make a browser fetch anything. */
static void assert_self_contained(const char *html)
{
	static const char *const banned[] = {
		"http://", "https://", "://", "src=", "href=", "url(", "@import", "<link", "<img",
		"<iframe", "<object", "<embed", "fetch(", "XMLHttpRequest", "import(",
	};

	for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
		if (count(html, banned[i])) {
			print_error("page contains %s\n", banned[i]);
			fail();
		}
	assert_non_null(strstr(html, "Content-Security-Policy\" content=\"default-src 'none';"));
}

static void test_page_of_fixture(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	struct json j;
	char *html, *data;

	(void)state;
	make_report(&r, &p, true);
	html = page(&r);
	assert_memory_equal(html, "<!DOCTYPE html>\n", 16);
	assert_non_null(strstr(html, "</html>\n"));
	assert_string_equal(html + strlen(html) - 8, "</html>\n");
	/* The data block and the page's one script, each closed once. */
	assert_int_equal(count(html, "<script"), 2);
	assert_int_equal(count(html, "</script"), 2);
	assert_self_contained(html);

	data = data_of(html);
	parse_json(data, &j);
	/* Labels as in --format folded (names decoded as JSON.parse sees them). */
	assert_true(has_string(&j, "inl_helper"));
	assert_true(has_string(&j, "leak_fn"));
	assert_true(has_string(&j, "libx.so+0x5000"));
	assert_true(has_string(&j, "0xdead"));
	assert_true(has_string(&j, "op;er\nator"));
	assert_true(has_string(&j, "make (app.py:5)"));
	assert_true(has_string(&j, "<module> (app.py:9)"));
	assert_true(has_string(&j, "/usr/bin/app"));
	assert_true(has_string(&j, "a;b"));
	/* Frame ids in order of appearance, stacks written root first: heap
	 * (main 2 <- leak_fn 1 <- inl_helper 0; op;er 5 <- 0xdead 4 <- libx 3;
	 * no stack), then mmap (main without line information: 6), then
	 * Python (<module> 8 <- make 7). */
	assert_non_null(strstr(data, "\"b\":3000,\"n\":3,"));
	assert_non_null(strstr(data, "\"f\":[2,1,0]}"));
	assert_non_null(strstr(data, "\"f\":[5,4,3]}"));
	assert_non_null(strstr(data, "\"b\":7,\"n\":1,\"age\":0,\"f\":[]}"));
	assert_non_null(strstr(data, "\"mmap\":{\"bytes\":0,\"allocs\":0,\"stacks\":[\n{\"b\":8192,"));
	assert_non_null(strstr(data, "\"f\":[6]}"));
	assert_non_null(strstr(data, "\"b\":640,\"n\":10,\"age\":0,\"f\":[8,7]}"));
	assert_non_null(strstr(data, "\"name\":\"inl_helper\",\"func\":\"inl_helper\",\"file\":\"a.c\","
				     "\"line\":7,\"module\":\"/usr/bin/app\",\"off\":\"0x1100\""));
	assert_non_null(strstr(data, ",\"inl\":true}"));
	assert_non_null(strstr(data, "\"build_id\":\"abcd\""));
	assert_non_null(strstr(data, "\"py\":true}"));
	assert_null(strstr(data, "\"f\":[9"));
	free_json(&j);
	free(data);
	free(html);
}

/* Without --mmap there is no mmap graph. */
static void test_no_mmap(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	char *html, *data;

	(void)state;
	make_report(&r, &p, false);
	html = page(&r);
	data = data_of(html);
	assert_null(strstr(data, "\"mmap\""));
	assert_non_null(strstr(data, "\"has_mmap\":false"));
	/* Python frames got ids 6 and 7 now. */
	assert_non_null(strstr(data, "\"f\":[7,6]}"));
	free(data);
	free(html);
}

/* A frame shared by stacks is written once; equal names in other places are not merged here. */
static void test_frames_written_once(void **state)
{
	struct lt_report_frame a[] = {
		{ .addr = 0x10, .func = "leaf_a", .module = APP, .module_offset = 0x10, .build_id = "" },
		{ .addr = 0x20, .func = "main", .module = APP, .module_offset = 0x20, .build_id = "" },
	};
	struct lt_report_frame b[] = {
		{ .addr = 0x30, .func = "leaf_b", .module = APP, .module_offset = 0x30, .build_id = "" },
		{ .addr = 0x20, .func = "main", .module = APP, .module_offset = 0x20, .build_id = "" },
	};
	struct lt_report_stack stacks[] = {
		{ .bytes = 10, .allocs = 1, .frames = a, .nframes = 2, .verdict = LT_VERDICT_GROWING,
		  .growth_bytes_per_s = 12.5 },
		{ .bytes = 20, .allocs = 2, .frames = b, .nframes = 2, .verdict = LT_VERDICT_UNKNOWN },
	};
	struct lt_report_process p = { .pid = 7, .comm = "x" };
	struct lt_report r = { .final = true, .procs = &p, .nprocs = 1 };
	char *html, *data;

	(void)state;
	p.heap.stacks = stacks;
	p.heap.nstacks = 2;
	p.heap.outstanding_bytes = 30;
	p.heap.outstanding_allocs = 3;
	html = page(&r);
	data = data_of(html);
	assert_int_equal(count(data, "\"name\":\"main\""), 1);
	assert_non_null(strstr(data, "\"v\":\"growing\",\"r\":12.5,\"f\":[1,0]}"));
	assert_non_null(strstr(data, "\"v\":\"unknown\",\"f\":[1,2]}"));
	assert_non_null(strstr(data, "\"heap\":{\"bytes\":30,\"allocs\":3,"));
	free(data);
	free(html);
}

/* Names that would end the script element, open a comment, break a JSON
 * string or are not UTF-8 at all. */
static void test_hostile_names(void **state)
{
	static const char *const names[] = {
		"std::vector<std::pair<int, char>>::operator<<",
		"a&b \"quoted\" 'single' back\\slash",
		"</script><script>alert(1)</script>",
		"</SCRIPT ><!-- <script",
		"ctl\x01\x1f\x7f\ttab",
		"line\xe2\x80\xa8sep\xe2\x80\xa9par",
		"caf\xc3\xa9 \xf0\x9f\x94\xa5",
	};
	struct lt_report_frame f[] = {
		{ .func = (char *)names[0], .file = "</script>.cc", .line = 1, .module = "/x/<lib>&.so",
		  .build_id = "" },
		{ .func = (char *)names[1], .module = APP, .build_id = "" },
		{ .func = (char *)names[2], .module = APP, .build_id = "</script>" },
		{ .func = (char *)names[3], .module = APP, .build_id = "" },
		{ .func = (char *)names[4], .module = APP, .build_id = "" },
		{ .func = (char *)names[5], .module = APP, .build_id = "" },
		{ .func = (char *)names[6], .module = APP, .build_id = "" },
		{ .func = "bad\xff\xc3(utf8\xed\xa0\x80", .module = APP, .build_id = "" },
		{ .func = "py<f>", .file = "</script>.py", .line = 3, .build_id = "", .python = true },
		{ .module = "/lib/<lib>&\"x.so", .module_offset = 0x42, .build_id = "" },
	};
	struct lt_report_stack st = { .bytes = 1, .allocs = 1, .frames = f,
				      .nframes = sizeof(f) / sizeof(f[0]) };
	struct lt_report_process p = { .pid = 1, .comm = "</script>&<" };
	struct lt_report r = { .final = true, .procs = &p, .nprocs = 1 };
	struct json j;
	char *html, *data;

	(void)state;
	p.exe = "/bin/<x>";
	p.heap.stacks = &st;
	p.heap.nstacks = 1;
	html = page(&r);
	assert_int_equal(count(html, "<script"), 2);
	assert_int_equal(count(html, "</script"), 2);
	assert_self_contained(html);
	data = data_of(html);
	/* Nothing in the data an HTML parser could take for markup. */
	assert_null(strpbrk(data, "<>&"));
	assert_null(strstr(data, "\xe2\x80\xa8"));
	for (const unsigned char *c = (const unsigned char *)data; *c; c++)
		assert_true(*c >= 0x20 || *c == '\n');
	assert_non_null(strstr(data, "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)"));
	parse_json(data, &j);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!has_string(&j, names[i]))
			print_error("name %zu not decoded back\n", i);
		assert_true(has_string(&j, names[i]));
	}
	/* Invalid UTF-8 (a stray byte, a cut sequence, a surrogate) becomes U+FFFD. */
	assert_true(has_string(&j, "bad\xef\xbf\xbd\xef\xbf\xbd(utf8\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"));
	assert_true(has_string(&j, "py<f> (</script>.py:3)"));
	assert_true(has_string(&j, "<lib>&\"x.so+0x42"));
	assert_true(has_string(&j, "/x/<lib>&.so"));
	assert_true(has_string(&j, "</script>&<"));
	assert_true(has_string(&j, "/bin/<x>"));
	free_json(&j);
	free(data);
	free(html);
}

static void test_escaper(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	lt_html_json_string(f, "<a href='x'>&amp;</a>\"\\\n\x02\xe2\x80\xa8");
	fputc(' ', f);
	lt_html_json_string(f, NULL);
	fputc(' ', f);
	lt_html_json_chars(f, "</script>");
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, "\"\\u003ca href='x'\\u003e\\u0026amp;\\u003c/a\\u003e\\\"\\\\\\n\\u0002\\u2028\""
				 " null \\u003c/script\\u003e");
	free(buf);
}

static void test_empty_report(void **state)
{
	struct lt_report r;
	struct json j;
	char *html, *data;

	(void)state;
	memset(&r, 0, sizeof(r));
	html = page(&r);
	assert_self_contained(html);
	data = data_of(html);
	parse_json(data, &j);
	assert_non_null(strstr(data, "\"frames\":[]"));
	assert_non_null(strstr(data, "\"processes\":[]"));
	/* The page says so rather than drawing nothing. */
	assert_non_null(strstr(html, "No outstanding allocations"));
	free_json(&j);
	free(data);
	free(html);
}

/* --kernel: the kernel's stacks in a group of their own, each rooted at
 * its cache, names escaped like the rest. */
static void test_kernel(void **state)
{
	struct lt_report_kernel_stack ks[2];
	struct lt_report_kernel k;
	struct lt_report r;
	struct json j;
	char *html, *data;

	(void)state;
	memset(&r, 0, sizeof(r));
	add_kernel(&r);
	k = *r.kernel;
	memcpy(ks, k.stacks, sizeof(ks));
	ks[1].cache = "</script><b>";
	k.stacks = ks;
	r.kernel = &k;
	html = page(&r);
	assert_int_equal(count(html, "</script"), 2);
	assert_self_contained(html);
	data = data_of(html);
	parse_json(data, &j);
	assert_true(has_string(&j, "kmalloc-64"));
	assert_true(has_string(&j, "</script><b>"));
	assert_true(has_string(&j, "do_eventfd"));
	assert_true(has_string(&j, "ext4_alloc;inode"));
	assert_true(has_string(&j, "0xffffffff90000000"));
	/* kmalloc-64 0, __kmalloc_cache_noprof 1, do_eventfd 2, do_syscall_64
	 * 3; the other cache 4, ext4_alloc 5, the unnamed frame 6. */
	assert_non_null(strstr(data, "\"processes\":[],\"kernel\":{\"bytes\":2688,\"allocs\":12,"
				     "\"stacks\":[\n{\"b\":640,\"n\":10,\"age\":0,\"f\":[0,3,2,1]},\n"
				     "{\"b\":2048,\"n\":2,\"age\":0,\"f\":[4,6,5]}]}}"));
	free_json(&j);
	free(data);
	free(html);
}

/* A process with no stacks (all younger than the age filter). */
static void test_process_without_stacks(void **state)
{
	struct lt_report_process p = { .pid = 3, .comm = "idle" };
	struct lt_report r = { .final = true, .procs = &p, .nprocs = 1, .min_age_ms = 500 };
	struct json j;
	char *html, *data;

	(void)state;
	p.heap.outstanding_bytes = 64;
	p.heap.outstanding_allocs = 1;
	html = page(&r);
	data = data_of(html);
	parse_json(data, &j);
	assert_non_null(strstr(data, "\"heap\":{\"bytes\":64,\"allocs\":1,\"stacks\":[]}"));
	assert_non_null(strstr(data, "\"min_age_ms\":500"));
	free_json(&j);
	free(data);
	free(html);
}

static void test_header_numbers(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	char *html, *data;

	(void)state;
	make_report(&r, &p, false);
	r.elapsed_s = 12.25;
	r.lost_events = 3;
	r.suppressed_bytes = 4096;
	r.suppressed_allocs = 2;
	r.sample_bytes = 0;
	r.stats.drops[LT_DROP_RINGBUF_ALLOC] = 5;
	r.wall.tv_sec = 86400;
	r.wall.tv_nsec = 123456789;
	html = page(&r);
	data = data_of(html);
	assert_non_null(strstr(data, "\"time\":\"1970-01-02T00:00:00.123Z\",\"elapsed_s\":12.25,"));
	assert_non_null(strstr(data, "\"lost_events\":3,\"suppressed_bytes\":4096,\"suppressed_allocs\":2"));
	assert_non_null(strstr(data, "\"drops\":{\"ringbuf_alloc\":5,"));
	free(data);
	free(html);
}

static void test_write_error(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	assert_non_null(f);
	make_report(&r, &p, true);
	assert_int_equal(lt_report_write_html(f, &r), -EIO);
	fclose(f);

	/* A small write that only fails when flushed. */
	f = fopen("/dev/full", "w");
	assert_non_null(f);
	assert_int_equal(setvbuf(f, NULL, _IOFBF, 1 << 20), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(lt_report_write_html(f, &r), -EIO);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_of_fixture),
		cmocka_unit_test(test_no_mmap),
		cmocka_unit_test(test_frames_written_once),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_escaper),
		cmocka_unit_test(test_empty_report),
		cmocka_unit_test(test_kernel),
		cmocka_unit_test(test_process_without_stacks),
		cmocka_unit_test(test_header_numbers),
		cmocka_unit_test(test_write_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
