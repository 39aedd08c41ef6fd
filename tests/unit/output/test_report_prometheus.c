// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "output/report_prometheus.h"

#include "report_fixture.h"

#define CONTAINER_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static char *metrics(const struct lt_report *r, size_t max_procs, size_t max_containers)
{
	const struct lt_prom_params params = {
		.version = "9.9\"x",
		.max_processes = max_procs,
		.max_containers = max_containers,
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	lt_report_write_prometheus(f, r, &params);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* The fixture's process with counters, verdicts, Python objects and mmap
 * regions filled in, in a container. */
static void make_full_report(struct lt_report *r, struct lt_report_process *p,
			     struct lt_report_container *c)
{
	make_report(r, p, true);
	for (size_t i = 0; i < p->heap.nstacks; i++)
		p->heap.stacks[i].verdict = LT_VERDICT_UNKNOWN;
	heap_stacks[0].verdict = LT_VERDICT_GROWING;
	heap_stacks[0].growth_bytes_per_s = 409.6;
	heap_stacks[1].verdict = LT_VERDICT_GROWING;
	heap_stacks[1].growth_bytes_per_s = 100.25;
	heap_stacks[2].verdict = LT_VERDICT_SHRINKING;
	heap_stacks[2].growth_bytes_per_s = -50;
	p->heap.outstanding_bytes = 3300;
	p->heap.outstanding_allocs = 6;
	p->mmap.outstanding_bytes = 8192;
	p->mmap.outstanding_allocs = 2;
	python.objects = 10;
	python.bytes = 640;
	p->container_id = CONTAINER_A;
	add_fds(p);
	r->stats.fd_open_events = 30;
	r->stats.fd_close_events = 25;
	r->final = false;
	r->wall = (struct timespec){ .tv_sec = 1700000000, .tv_nsec = 250000000 };
	r->elapsed_s = 12.5;
	r->stats.alloc_events = 100;
	r->stats.free_events = 40;
	r->stats.mmap_events = 3;
	r->stats.munmap_events = 1;
	r->stats.py_alloc_events = 12;
	r->stats.py_free_events = 2;
	r->stats.unmatched_frees = 4;
	r->stats.replaced_allocs = 1;
	r->stats.out_of_memory = 6;
	r->stats.drops[LT_DROP_RINGBUF_ALLOC] = 7;
	r->stats.drops[LT_DROP_RINGBUF_FREE] = 8;
	r->stats.drops[LT_DROP_RINGBUF_TASK] = 9;
	r->stats.drops[LT_DROP_INFLIGHT_FULL] = 10;
	r->stats.drops[LT_DROP_SAMPLED_FULL] = 11;
	r->stats.drops[LT_DROP_STACK_TRUNCATED] = 5;
	r->lost_events = 45;
	r->suppressed_bytes = 4096;
	r->suppressed_allocs = 1;
	memset(c, 0, sizeof(*c));
	c->container_id = CONTAINER_A;
	c->processes = 1;
	c->outstanding_bytes = 3300;
	c->outstanding_allocs = 6;
	r->containers = c;
	r->ncontainers = 1;
}

static void test_fixture_lines(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	struct lt_report_container c;
	char *got;

	(void)state;
	make_full_report(&r, &p, &c);
	got = metrics(&r, 100, 100);
	assert_string_equal(got,
		"# HELP leaktrace_build_info leaktrace's version, as a label; always 1.\n"
		"# TYPE leaktrace_build_info gauge\n"
		"leaktrace_build_info{version=\"9.9\\\"x\"} 1\n"
		"# HELP leaktrace_uptime_seconds Seconds from the start of tracing to the last report.\n"
		"# TYPE leaktrace_uptime_seconds gauge\n"
		"leaktrace_uptime_seconds 12.500\n"
		"# HELP leaktrace_report_timestamp_seconds Wall-clock time of the last report, in seconds since the epoch.\n"
		"# TYPE leaktrace_report_timestamp_seconds gauge\n"
		"leaktrace_report_timestamp_seconds 1700000000.250\n"
		"# HELP leaktrace_events_total Allocator calls and Python object events recorded, by event.\n"
		"# TYPE leaktrace_events_total counter\n"
		"leaktrace_events_total{event=\"alloc\"} 100\n"
		"leaktrace_events_total{event=\"free\"} 40\n"
		"leaktrace_events_total{event=\"mmap\"} 3\n"
		"leaktrace_events_total{event=\"munmap\"} 1\n"
		"leaktrace_events_total{event=\"python_alloc\"} 12\n"
		"leaktrace_events_total{event=\"python_free\"} 2\n"
		"leaktrace_events_total{event=\"fd_open\"} 30\n"
		"leaktrace_events_total{event=\"fd_close\"} 25\n"
		"# HELP leaktrace_lost_events_total Events lost in the kernel: ring buffer full, in-flight or sampled table full.\n"
		"# TYPE leaktrace_lost_events_total counter\n"
		"leaktrace_lost_events_total 45\n"
		"# HELP leaktrace_dropped_events_total Events not recorded, by cause (userspace_oom: no memory to keep them).\n"
		"# TYPE leaktrace_dropped_events_total counter\n"
		"leaktrace_dropped_events_total{cause=\"ringbuf_alloc\"} 7\n"
		"leaktrace_dropped_events_total{cause=\"ringbuf_free\"} 8\n"
		"leaktrace_dropped_events_total{cause=\"ringbuf_task\"} 9\n"
		"leaktrace_dropped_events_total{cause=\"inflight_full\"} 10\n"
		"leaktrace_dropped_events_total{cause=\"sampled_full\"} 11\n"
		"leaktrace_dropped_events_total{cause=\"userspace_oom\"} 6\n"
		"# HELP leaktrace_unmatched_frees_total Frees of blocks not seen allocated: from before tracing, glibc's thread caches flushed at thread exit, or lost.\n"
		"# TYPE leaktrace_unmatched_frees_total counter\n"
		"leaktrace_unmatched_frees_total 4\n"
		"# HELP leaktrace_replaced_allocations_total Blocks returned by the allocator while still thought live (a free was lost).\n"
		"# TYPE leaktrace_replaced_allocations_total counter\n"
		"leaktrace_replaced_allocations_total 1\n"
		"# HELP leaktrace_stacks_truncated_total Stacks deeper than the frame limit, cut at their outer end.\n"
		"# TYPE leaktrace_stacks_truncated_total counter\n"
		"leaktrace_stacks_truncated_total 5\n"
		"# HELP leaktrace_suppressed_bytes Heap bytes of the stacks hidden by suppressions, over all processes.\n"
		"# TYPE leaktrace_suppressed_bytes gauge\n"
		"leaktrace_suppressed_bytes 4096\n"
		"# HELP leaktrace_suppressed_allocations Heap blocks of the stacks hidden by suppressions, over all processes.\n"
		"# TYPE leaktrace_suppressed_allocations gauge\n"
		"leaktrace_suppressed_allocations 1\n"
		"# HELP leaktrace_processes Processes in the last report.\n"
		"# TYPE leaktrace_processes gauge\n"
		"leaktrace_processes 1\n"
		"# HELP leaktrace_process_outstanding_bytes Heap bytes held in live blocks, every block seen allocated and not freed.\n"
		"# TYPE leaktrace_process_outstanding_bytes gauge\n"
		"leaktrace_process_outstanding_bytes{pid=\"42\",comm=\"a;b\",container=\"" CONTAINER_A "\"} 3300\n"
		"# HELP leaktrace_process_outstanding_allocations Live heap blocks, every block seen allocated and not freed.\n"
		"# TYPE leaktrace_process_outstanding_allocations gauge\n"
		"leaktrace_process_outstanding_allocations{pid=\"42\",comm=\"a;b\",container=\"" CONTAINER_A "\"} 6\n"
		"# HELP leaktrace_process_growing_stacks Reported heap stacks whose leak verdict is growing.\n"
		"# TYPE leaktrace_process_growing_stacks gauge\n"
		"leaktrace_process_growing_stacks{pid=\"42\",comm=\"a;b\",container=\"" CONTAINER_A "\"} 2\n"
		"# HELP leaktrace_process_growth_bytes_per_second Sum of the growth rates of the heap stacks whose verdict is growing.\n"
		"# TYPE leaktrace_process_growth_bytes_per_second gauge\n"
		"leaktrace_process_growth_bytes_per_second{pid=\"42\",comm=\"a;b\",container=\"" CONTAINER_A "\"} 509.850\n"
		"# HELP leaktrace_process_mmap_outstanding_bytes Bytes in live anonymous mmap regions (--mmap).\n"
		"# TYPE leaktrace_process_mmap_outstanding_bytes gauge\n"
		"leaktrace_process_mmap_outstanding_bytes{pid=\"42\",comm=\"a;b\",container=\"" CONTAINER_A "\"} 8192\n"
		"# HELP leaktrace_process_mmap_outstanding_regions Live anonymous mmap regions (--mmap).\n"
		"# TYPE leaktrace_process_mmap_outstanding_regions gauge\n"
		"leaktrace_process_mmap_outstanding_regions{pid=\"42\",comm=\"a;b\",container=\"" CONTAINER_A "\"} 2\n"
		"# HELP leaktrace_process_python_objects Live Python allocator blocks (objects and buffers) created since tracing began.\n"
		"# TYPE leaktrace_process_python_objects gauge\n"
		"leaktrace_process_python_objects{pid=\"42\",comm=\"a;b\",container=\"" CONTAINER_A "\"} 10\n"
		"# HELP leaktrace_process_python_bytes Bytes of those Python blocks, as asked of the allocator.\n"
		"# TYPE leaktrace_process_python_bytes gauge\n"
		"leaktrace_process_python_bytes{pid=\"42\",comm=\"a;b\",container=\"" CONTAINER_A "\"} 640\n"
		"# HELP leaktrace_open_fds Descriptors made while traced and still open, by process and the stack that made them (stack: its innermost Python line, else its first frame outside libc; \"other\": the rest).\n"
		"# TYPE leaktrace_open_fds gauge\n"
		"leaktrace_open_fds{pid=\"42\",comm=\"a;b\",container=\"" CONTAINER_A "\",stack=\"load (app.py:12)\"} 4\n"
		"leaktrace_open_fds{pid=\"42\",comm=\"a;b\",container=\"" CONTAINER_A "\",stack=\"other\"} 1\n"
		"# HELP leaktrace_container_processes Reported processes per container (container=\"\": the host).\n"
		"# TYPE leaktrace_container_processes gauge\n"
		"leaktrace_container_processes{container=\"" CONTAINER_A "\"} 1\n"
		"# HELP leaktrace_container_outstanding_bytes Heap bytes in live blocks, summed over the container's reported processes.\n"
		"# TYPE leaktrace_container_outstanding_bytes gauge\n"
		"leaktrace_container_outstanding_bytes{container=\"" CONTAINER_A "\"} 3300\n"
		"# HELP leaktrace_container_outstanding_allocations Live heap blocks, summed over the container's reported processes.\n"
		"# TYPE leaktrace_container_outstanding_allocations gauge\n"
		"leaktrace_container_outstanding_allocations{container=\"" CONTAINER_A "\"} 6\n");
	free(got);
}

/* Without --mmap and Python, their families are left out; a host process
 * has container="". */
static void test_optional_families(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	struct lt_report_container c;
	char *got;

	(void)state;
	make_full_report(&r, &p, &c);
	r.has_mmap = false;
	p.python = NULL;
	p.container_id = NULL;
	p.fds_traced = false;
	c.container_id = NULL;
	got = metrics(&r, 100, 100);
	assert_null(strstr(got, "leaktrace_open_fds"));
	assert_null(strstr(got, "leaktrace_process_mmap"));
	assert_null(strstr(got, "leaktrace_process_python"));
	assert_non_null(strstr(got, "\nleaktrace_process_outstanding_bytes{pid=\"42\",comm=\"a;b\",container=\"\"} 3300\n"));
	assert_non_null(strstr(got, "\nleaktrace_container_outstanding_bytes{container=\"\"} 3300\n"));
	free(got);
}

static void test_label_escaping(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	char *buf = NULL, *got;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	lt_prom_put_label_value(f, "a\\b\"c\nd");
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, "\"a\\\\b\\\"c\\nd\"");
	free(buf);

	/* comm: escaped after control characters became '?'. */
	make_report(&r, &p, false);
	p.python = NULL;
	memcpy(p.comm, "x\"y\\z\n\t\x7f", 9);
	got = metrics(&r, 100, 100);
	assert_non_null(strstr(got, "\nleaktrace_process_outstanding_bytes{pid=\"42\",comm=\"x\\\"y\\\\z???\",container=\"\"} 0\n"));
	free(got);
}

static void test_sanitize(void **state)
{
	char out[16];

	(void)state;
	lt_prom_sanitize(out, sizeof(out), "ok-name_1");
	assert_string_equal(out, "ok-name_1");
	lt_prom_sanitize(out, sizeof(out), "caf\xc3\xa9");        /* valid UTF-8 stays */
	assert_string_equal(out, "caf\xc3\xa9");
	lt_prom_sanitize(out, sizeof(out), "\xff\xc3\xa9\xc0\xaf"); /* stray, overlong */
	assert_string_equal(out, "?\xc3\xa9??");
	lt_prom_sanitize(out, sizeof(out), "ab\xe2\x82");         /* cut short by comm's size */
	assert_string_equal(out, "ab??");
	lt_prom_sanitize(out, sizeof(out), "\xed\xa0\x80");        /* a surrogate */
	assert_string_equal(out, "???");
	lt_prom_sanitize(out, 4, "\xc3\xa9\xe2\x82\xac");           /* no room: never cut a character */
	assert_string_equal(out, "\xc3\xa9");
	lt_prom_sanitize(out, 3, "abcdef");
	assert_string_equal(out, "ab");
}

static size_t count_lines(const char *text, const char *prefix)
{
	size_t n = 0, len = strlen(prefix);
	const char *line = text;

	while (line && *line) {
		n += !strncmp(line, prefix, len);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return n;
}

/* Past the limits, the smaller processes and containers are one series. */
static void test_cardinality_bound(void **state)
{
	struct lt_report_process procs[5];
	struct lt_report_container cs[3];
	struct lt_report r;
	char *got;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(procs, 0, sizeof(procs));
	memset(cs, 0, sizeof(cs));
	for (int i = 0; i < 5; i++) {
		procs[i].pid = 100 + i;
		snprintf(procs[i].comm, sizeof(procs[i].comm), "p%d", i);
		procs[i].heap.outstanding_bytes = 1000 - 100 * i;
		procs[i].heap.outstanding_allocs = 10 - i;
	}
	/* Python only in one of the summed processes. */
	procs[3].python = &python;
	python.objects = 10;
	python.bytes = 640;
	r.procs = procs;
	r.nprocs = 5;
	for (int i = 0; i < 3; i++) {
		cs[i].processes = 1 + i;
		cs[i].outstanding_bytes = 500 - 100 * i;
		cs[i].outstanding_allocs = 5 - i;
	}
	cs[0].container_id = CONTAINER_A;
	r.containers = cs;
	r.ncontainers = 3;
	got = metrics(&r, 2, 1);
	assert_int_equal(count_lines(got, "leaktrace_process_outstanding_bytes{"), 3);
	assert_non_null(strstr(got, "\nleaktrace_process_outstanding_bytes{pid=\"100\",comm=\"p0\",container=\"\"} 1000\n"
				    "leaktrace_process_outstanding_bytes{pid=\"101\",comm=\"p1\",container=\"\"} 900\n"
				    "leaktrace_process_outstanding_bytes{pid=\"other\",comm=\"other\",container=\"other\"} 2100\n"));
	assert_non_null(strstr(got, "\nleaktrace_process_outstanding_allocations{pid=\"other\",comm=\"other\",container=\"other\"} 21\n"));
	assert_non_null(strstr(got, "\nleaktrace_processes 5\n"));
	assert_int_equal(count_lines(got, "leaktrace_process_python_objects{"), 1);
	assert_non_null(strstr(got, "\nleaktrace_process_python_objects{pid=\"other\",comm=\"other\",container=\"other\"} 10\n"));
	assert_int_equal(count_lines(got, "leaktrace_container_outstanding_bytes{"), 2);
	assert_non_null(strstr(got, "\nleaktrace_container_outstanding_bytes{container=\"" CONTAINER_A "\"} 500\n"
				    "leaktrace_container_outstanding_bytes{container=\"other\"} 700\n"));
	assert_non_null(strstr(got, "\nleaktrace_container_processes{container=\"other\"} 5\n"));
	free(got);

	/* At or under the limits, no "other" series. */
	got = metrics(&r, 5, 3);
	assert_null(strstr(got, "other"));
	assert_int_equal(count_lines(got, "leaktrace_process_outstanding_bytes{"), 5);
	free(got);
}

static void test_empty(void **state)
{
	struct lt_report r;
	char *got;

	(void)state;
	memset(&r, 0, sizeof(r));
	got = metrics(&r, 100, 100);
	assert_non_null(strstr(got, "\nleaktrace_processes 0\n"));
	/* Families without series still say what they are. */
	assert_non_null(strstr(got, "# TYPE leaktrace_process_outstanding_bytes gauge\n# HELP"));
	assert_null(strstr(got, "pid="));
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_lines),
		cmocka_unit_test(test_optional_families),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_cardinality_bound),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
