// SPDX-License-Identifier: MIT
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "report/suppressions.h"
#include "symbols/symbol_cache.h"
#include "report/trend.h"


static const char usage_text[] =
	"Usage: leaktrace [OPTIONS] [INTERVAL [COUNT]] [-- COMMAND [ARG...]]\n"
	"Trace outstanding heap allocations by call stack, with eBPF uprobes.\n"
	"Options and INTERVAL/COUNT go in any order; what follows \"--\" is a\n"
	"command to run and trace, as with -c (its arguments are added to -c's).\n"
	"\n"
	"Targets (default: every process on the system that uses a libc):\n"
	"  -p, --pid PID          attach to a running process (repeatable)\n"
	"  -c, --command \"CMD\"    run CMD (with arguments) and trace it and its children\n"
"      --user USER        run the -c command as USER (name or uid), with\n"
	"                         that user's groups and no capabilities\n"
	"      --cgroup PATH      trace the processes of a cgroup v2 directory and its\n"
	"                         descendants, including ones started later (absolute,\n"
	"                         or relative to the cgroup2 mount)\n"
	"  -O, --obj PATH         also trace the malloc family in PATH (a library such as\n"
	"                         jemalloc, or a statically linked binary; repeatable)\n"
	"      --kernel           trace kernel memory instead: slab objects (kmalloc,\n"
	"                         kmem_cache_alloc) held, by kernel stack and cache, with\n"
	"                         the process and container that made them (--cgroup\n"
	"                         then keeps only that cgroup's tasks)\n"
	"      --kernel-cache NAME  with --kernel: only the slab cache NAME (as in\n"
	"                         /proc/slabinfo: dentry, filp, kmalloc-cg-64...)\n"
	"      --kernel-pages     with --kernel: also page allocations (page cache,\n"
	"                         anonymous memory...: far more events)\n"
	"\n"
	"Reports:\n"
	"  INTERVAL [COUNT]       a report every INTERVAL seconds, COUNT times\n"
	"  -d, --duration SEC     stop after SEC seconds\n"
	"  -T, --top N            top N stacks per process (default 10, 0 = all)\n"
	"  -o, --older MS         only allocations older than MS ms (default 500)\n"
	"  -z, --min-size BYTES   ignore allocations smaller than BYTES\n"
	"  -Z, --max-size BYTES   ignore allocations larger than BYTES\n"
	"      --sort bytes|count order stacks by outstanding bytes (default) or count\n"
	"      --mmap             also trace anonymous mmap/munmap (reported separately)\n"
	"      --format text|json|folded|pprof|html\n"
	"                         text (default), one JSON object per report per line,\n"
	"                         folded stacks for flame graphs, a gzipped pprof\n"
	"                         profile (needs -w FILE), or a self-contained HTML\n"
	"                         flame graph; folded, pprof and html write the final\n"
	"                         report only\n"
	"  -w, --output FILE      write reports to FILE instead of stdout\n"
	"      --live             a terminal view redrawn every INTERVAL (default 2 s),\n"
	"                         like top: stacks, Python types and lines, descriptors\n"
	"                         sorted by growth, with a sparkline of the last reports\n"
	"                         (keys: 1-4 view, s sort, p process, f freeze, q quit);\n"
	"                         -T defaults to 50; the final report is printed after\n"
	"                         q, Ctrl-C or the end of the targets\n"
	"      --snapshot FILE    also save the final report's stacks to FILE, for\n"
	"                         leaktrace diff OLD NEW (see leaktrace diff --help)\n"
	"      --ringbuf-mb MB    largest BPF ring buffer (default 64); it starts at\n"
	"                         4 MiB and follows the event rate up to MB\n"
	"      --consumers N      threads taking records in, each from its own ring\n"
	"                         (1, 2, 4 or 8; default: the CPUs, up to 8); a\n"
	"                         process's records are all one thread's\n"
	"      --sample-bytes N   sample one block per N allocated bytes on average;\n"
	"                         reports show unbiased estimates (see README)\n"
	"      --no-fds           do not trace descriptors (files, sockets, pipes...);\n"
	"                         by default those left open are reported by stack\n"
	"      --holders          for the Python types growing most, who holds their\n"
	"                         objects: the shortest chain from a sample of them to\n"
	"                         a module global, class attribute or frame local,\n"
	"                         read from the process's heap (held still at most\n"
	"                         --holders-pause ms at a time, default 200; 0 never)\n"
	"      --holders-samples N  objects followed per type and line (default 8)\n"
	"      --holders-dot FILE  also write the chains as a graphviz DOT graph\n"
	"      --native           in Python processes, native stacks also show the\n"
	"                         Python lines that led to them (mixed stacks)\n"
	"      --group traceback|lineno  Python objects by the whole traceback that\n"
	"                         created them (default) or by the allocating line\n"
	"      --python-objects all|gc  every block of CPython's object allocator\n"
	"                         (default), or only GC-tracked objects (cheaper:\n"
	"                         no str, bytes, int, float, buffers or free lists)\n"
	"      --unwind dwarf|fp  how stacks are walked: by each file's .eh_frame, which\n"
	"                         works without frame pointers (default), or by frame\n"
	"                         pointers only (cheaper, but code built without them\n"
	"                         ends the stack)\n"
	"      --unwind-rows N    room for N unwind rules in the kernel, 8 bytes each\n"
	"                         (default 2097152; libc needs ~29000)\n"
	"      --symbol-cache-mb MB\n"
	"                         memory for parsed symbol tables and debug info\n"
	"                         (estimated; default 512): past it the least recently\n"
	"                         used files are dropped, and parsed again if needed\n"
"      --max-allocs N     track at most N live blocks and Python objects over\n"
	"                         all processes (default 16777216); past it new ones\n"
	"                         are counted as untracked\n"
	"      --max-stacks N     keep at most N distinct native stacks (default 262144);\n"
	"                         stacks with no live block are recycled\n"
	"      --trend-window K   leak verdicts look at the last K reports\n"
	"                         (default 8, 4..64; see README, Leak verdicts)\n"
	"      --suppressions FILE  leave out stacks matching FILE's patterns\n"
	"                         (leak:, func:, module:, file:; repeatable; see README)\n"
	"      --no-default-suppressions  also show glibc's and libstdc++'s\n"
	"                         allocations kept on purpose until exit\n"
	"      --serve [HOST:]PORT  agent mode: serve /metrics (Prometheus) and\n"
	"                         /debug/pprof/heap over HTTP on HOST (default\n"
	"                         127.0.0.1; any other address must be given),\n"
	"                         from a report every INTERVAL (default 10 s), which\n"
	"                         is printed only when INTERVAL is given\n"
	"      --web-config FILE  --serve over TLS and/or with basic auth, from an\n"
	"                         exporter-toolkit web configuration (see README)\n"
	"  -v, --verbose          say what is attached where\n"
	"      --self-test        show where each probe goes in the libc of -p PID (or\n"
	"                         leaktrace's own) and -O files, and what it costs\n"
	"  -h, --help             this help;  --version  the version\n"
	"\n"
	"Signals: SIGUSR1 prints a report now; SIGINT/SIGTERM print a final report and exit.\n"
	"\n"
	"Examples:\n"
	"  leaktrace -c \"./server --port 8080\"   leaks of a command, reported when it exits\n"
	"  leaktrace -p 1234 10                   attach to PID 1234, a report every 10 s\n"
	"  leaktrace -p 1234 --live               watched live in the terminal, every 2 s\n"
	"  leaktrace -d 60 --format json          whole system for a minute, as JSON\n"
	"  leaktrace -p 1234 -O /usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n";

enum {
	OPT_SORT = 256,
	OPT_MMAP,
	OPT_FORMAT,
	OPT_RINGBUF,
	OPT_VERSION,
	OPT_SAMPLE,
	OPT_SNAPSHOT,
	OPT_SELF_TEST,
	OPT_UNWIND,
	OPT_UNWIND_ROWS,
	OPT_SYMBOL_CACHE,
	OPT_GROUP,
	OPT_PY_OBJECTS,
	OPT_NATIVE,
	OPT_TREND_WINDOW,
	OPT_CONSUMERS,
	OPT_SUPPRESSIONS,
	OPT_NO_DEFAULT_SUPP,
	OPT_CGROUP,
	OPT_SERVE,
	OPT_WEB_CONFIG,
	OPT_MAX_ALLOCS,
	OPT_MAX_STACKS,
	OPT_USER,
	OPT_NO_FDS,
	OPT_LIVE,
	OPT_HOLDERS,
	OPT_HOLDERS_PAUSE,
	OPT_HOLDERS_SAMPLES,
	OPT_HOLDERS_DOT,
	OPT_KERNEL,
	OPT_KERNEL_CACHE,
	OPT_KERNEL_PAGES,
};

static const struct option long_options[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "command", required_argument, NULL, 'c' },
	{ "obj", required_argument, NULL, 'O' },
	{ "duration", required_argument, NULL, 'd' },
	{ "top", required_argument, NULL, 'T' },
	{ "older", required_argument, NULL, 'o' },
	{ "min-size", required_argument, NULL, 'z' },
	{ "max-size", required_argument, NULL, 'Z' },
	{ "output", required_argument, NULL, 'w' },
	{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "sort", required_argument, NULL, OPT_SORT },
	{ "mmap", no_argument, NULL, OPT_MMAP },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "ringbuf-mb", required_argument, NULL, OPT_RINGBUF },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "sample-bytes", required_argument, NULL, OPT_SAMPLE },
	{ "self-test", no_argument, NULL, OPT_SELF_TEST },
	{ "unwind", required_argument, NULL, OPT_UNWIND },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "python-objects", required_argument, NULL, OPT_PY_OBJECTS },
	{ "native", no_argument, NULL, OPT_NATIVE },
	{ "unwind-rows", required_argument, NULL, OPT_UNWIND_ROWS },
	{ "symbol-cache-mb", required_argument, NULL, OPT_SYMBOL_CACHE },
	{ "trend-window", required_argument, NULL, OPT_TREND_WINDOW },
	{ "consumers", required_argument, NULL, OPT_CONSUMERS },
	{ "suppressions", required_argument, NULL, OPT_SUPPRESSIONS },
	{ "no-default-suppressions", no_argument, NULL, OPT_NO_DEFAULT_SUPP },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "serve", required_argument, NULL, OPT_SERVE },
	{ "web-config", required_argument, NULL, OPT_WEB_CONFIG },
	{ "max-allocs", required_argument, NULL, OPT_MAX_ALLOCS },
	{ "user", required_argument, NULL, OPT_USER },
	{ "max-stacks", required_argument, NULL, OPT_MAX_STACKS },
	{ "no-fds", no_argument, NULL, OPT_NO_FDS },
	{ "live", no_argument, NULL, OPT_LIVE },
	{ "holders", no_argument, NULL, OPT_HOLDERS },
	{ "holders-pause", required_argument, NULL, OPT_HOLDERS_PAUSE },
	{ "holders-samples", required_argument, NULL, OPT_HOLDERS_SAMPLES },
	{ "holders-dot", required_argument, NULL, OPT_HOLDERS_DOT },
	{ "kernel", no_argument, NULL, OPT_KERNEL },
	{ "kernel-cache", required_argument, NULL, OPT_KERNEL_CACHE },
	{ "kernel-pages", no_argument, NULL, OPT_KERNEL_PAGES },
	{},
};

static int fail(const char *what, const char *arg)
{
	if (*arg)
		fprintf(stderr, "leaktrace: %s: '%s' (see leaktrace --help)\n", what, arg);
	else
		fprintf(stderr, "leaktrace: %s (see leaktrace --help)\n", what);
	return -EINVAL;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	/* strtoull would skip spaces and accept a sign: digits only. */
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || !(v > 0) || v > 1e9)
		return -EINVAL;
	*out = v;
	return 0;
}

static int push(void **vec, size_t *n, size_t elem, const void *value)
{
	void *grown = realloc(*vec, (*n + 1) * elem);

	if (!grown)
		return -ENOMEM;
	memcpy((char *)grown + *n * elem, value, elem);
	*vec = grown;
	(*n)++;
	return 0;
}

/*
 * --serve PORT, :PORT, HOST:PORT or [V6]:PORT. HOST must be numeric: a
 * name could resolve to a public address the user did not type.
 */
static int parse_serve(struct lt_options *o, const char *arg)
{
	const char *colon = strrchr(arg, ':'), *port_s = colon ? colon + 1 : arg;
	const char *host = "127.0.0.1";
	size_t host_len = strlen(host);
	unsigned char buf[sizeof(struct in6_addr)];
	char hostbuf[INET6_ADDRSTRLEN + 1];
	uint64_t port;

	if (parse_u64(port_s, &port) || port == 0 || port > 65535)
		return fail("--serve takes [HOST:]PORT with PORT 1..65535", arg);
	if (colon && colon > arg) {
		host = arg;
		host_len = (size_t)(colon - arg);
		if (host[0] == '[' && host_len >= 2 && host[host_len - 1] == ']') {
			host++;
			host_len -= 2;
		}
	}
	if (host_len >= sizeof(hostbuf))
		return fail("--serve: HOST must be a numeric IPv4 or IPv6 address", arg);
	memcpy(hostbuf, host, host_len);
	hostbuf[host_len] = '\0';
	if (inet_pton(AF_INET, hostbuf, buf) != 1 && inet_pton(AF_INET6, hostbuf, buf) != 1)
		return fail("--serve: HOST must be a numeric IPv4 or IPv6 address", arg);
	free(o->serve_host);
	o->serve_host = strdup(hostbuf);
	if (!o->serve_host)
		return -ENOMEM;
	o->serve_port = (uint16_t)port;
	return 0;
}

static void set_defaults(struct lt_options *o)
{
	memset(o, 0, sizeof(*o));
	o->top = 10;
	o->min_age_ms = 500;
	o->holders_pause_ms = 200;
	o->holders_samples = 8;
	o->max_size = UINT64_MAX;
	o->sort = LT_SORT_BYTES;
	o->format = LT_FORMAT_TEXT;
	o->ringbuf_bytes = 64ULL << 20;
	o->unwind_dwarf = true;
	o->unwind_rows = LT_DEFAULT_UNWIND_ROWS;
	o->symbol_cache_bytes = (uint64_t)LT_SYMBOL_CACHE_DEFAULT_MB << 20;
	o->trend_window = LT_TREND_DEFAULT_WINDOW;
	o->max_allocs = LT_DEFAULT_MAX_ALLOCS;
	o->max_stacks = LT_DEFAULT_MAX_STACKS;
}

static int parse_one(struct lt_options *o, int c, const char *arg)
{
	uint64_t v;
	pid_t pid;
	char *copy;

	switch (c) {
	case 'p':
		if (parse_u64(arg, &v) || v == 0 || v > INT_MAX)
			return fail("invalid PID", arg);
		pid = (pid_t)v;
		return push((void **)&o->pids, &o->npids, sizeof(pid), &pid);
	case 'c':
		if (o->command || !*arg)
			return fail(o->command ? "only one -c command" : "empty -c command", arg);
		o->command = strdup(arg);
		return o->command ? 0 : -ENOMEM;
	case 'O':
		copy = strdup(arg);
		if (!copy || push((void **)&o->objs, &o->nobjs, sizeof(copy), &copy)) {
			free(copy);
			return -ENOMEM;
		}
		return 0;
	case 'd':
		return parse_seconds(arg, &o->duration_s) ? fail("invalid duration", arg) : 0;
	case 'T':
		if (parse_u64(arg, &v) || v > LONG_MAX)
			return fail("invalid -T count", arg);
		o->top = (long)v;
		return 0;
	case 'o':
		return parse_u64(arg, &o->min_age_ms) ? fail("invalid age in ms", arg) : 0;
	case 'z':
		return parse_u64(arg, &o->min_size) ? fail("invalid size", arg) : 0;
	case 'Z':
		return parse_u64(arg, &o->max_size) ? fail("invalid size", arg) : 0;
	case OPT_SUPPRESSIONS:
		copy = strdup(arg);
		if (!copy || push((void **)&o->supp_files, &o->nsupp_files, sizeof(copy), &copy)) {
			free(copy);
			return -ENOMEM;
		}
		return 0;
	case OPT_NO_DEFAULT_SUPP:
		o->no_default_supp = true;
		return 0;
	case 'w':
		free(o->output_path);
		o->output_path = strdup(arg);
		return o->output_path ? 0 : -ENOMEM;
	case OPT_SNAPSHOT:
		free(o->snapshot_path);
		o->snapshot_path = strdup(arg);
		return o->snapshot_path ? 0 : -ENOMEM;
	case 'v':
		o->verbose++;
		return 0;
	case OPT_SORT:
		if (!strcmp(arg, "bytes"))
			o->sort = LT_SORT_BYTES;
		else if (!strcmp(arg, "count"))
			o->sort = LT_SORT_COUNT;
		else
			return fail("--sort takes bytes or count", arg);
		return 0;
	case OPT_MMAP:
		o->trace_mmap = true;
		return 0;
	case OPT_SELF_TEST:
		o->self_test = true;
		return 0;
	case OPT_FORMAT:
		if (!strcmp(arg, "text"))
			o->format = LT_FORMAT_TEXT;
		else if (!strcmp(arg, "json"))
			o->format = LT_FORMAT_JSON;
		else if (!strcmp(arg, "folded"))
			o->format = LT_FORMAT_FOLDED;
		else if (!strcmp(arg, "pprof"))
			o->format = LT_FORMAT_PPROF;
		else if (!strcmp(arg, "html"))
			o->format = LT_FORMAT_HTML;
		else
			return fail("--format takes text, json, folded, pprof or html", arg);
		return 0;
	case OPT_SAMPLE:
		/* Gaps are computed as mean * 2^20 at most in 64 bits. */
		if (parse_u64(arg, &o->sample_bytes) || !o->sample_bytes ||
		    o->sample_bytes > (1ULL << 40))
			return fail("--sample-bytes takes 1..2^40", arg);
		return 0;
	case OPT_UNWIND:
		if (!strcmp(arg, "dwarf"))
			o->unwind_dwarf = true;
		else if (!strcmp(arg, "fp"))
			o->unwind_dwarf = false;
		else
			return fail("--unwind takes dwarf or fp", arg);
		return 0;
	case OPT_KERNEL:
		o->kernel = true;
		return 0;
	case OPT_KERNEL_PAGES:
		o->kernel_pages = true;
		return 0;
	case OPT_KERNEL_CACHE:
		/* The BPF side compares at most this many bytes, NUL included. */
		if (!*arg || strlen(arg) >= LT_KCACHE_NAME_MAX)
			return fail("--kernel-cache takes a slab cache name", arg);
		free(o->kernel_cache);
		o->kernel_cache = strdup(arg);
		return o->kernel_cache ? 0 : -ENOMEM;
	case OPT_NO_FDS:
		o->no_fds = true;
		return 0;
	case OPT_LIVE:
		o->live = true;
		return 0;
	case OPT_HOLDERS:
		o->holders = true;
		return 0;
	case OPT_HOLDERS_PAUSE:
		if (parse_u64(arg, &v) || v > 60000)
			return fail("--holders-pause takes 0..60000 (ms)", arg);
		o->holders_pause_ms = (uint32_t)v;
		return 0;
	case OPT_HOLDERS_SAMPLES:
		if (parse_u64(arg, &v) || !v || v > 1000)
			return fail("--holders-samples takes 1..1000", arg);
		o->holders_samples = (uint32_t)v;
		return 0;
	case OPT_HOLDERS_DOT:
		free(o->holders_dot_path);
		o->holders_dot_path = strdup(arg);
		o->holders = true;
		return o->holders_dot_path ? 0 : -ENOMEM;
	case OPT_NATIVE:
		o->py_native = true;
		return 0;
	case OPT_GROUP:
		if (!strcmp(arg, "traceback"))
			o->py_group_lineno = false;
		else if (!strcmp(arg, "lineno"))
			o->py_group_lineno = true;
		else
			return fail("--group takes traceback or lineno", arg);
		return 0;
	case OPT_PY_OBJECTS:
		if (!strcmp(arg, "all"))
			o->py_gc_only = false;
		else if (!strcmp(arg, "gc"))
			o->py_gc_only = true;
		else
			return fail("--python-objects takes all or gc", arg);
		return 0;
	case OPT_UNWIND_ROWS:
		if (parse_u64(arg, &v) || v < 1024 || v > (1u << 28))
			return fail("--unwind-rows takes 1024..268435456", arg);
		o->unwind_rows = (uint32_t)v;
		return 0;
	case OPT_RINGBUF:
		if (parse_u64(arg, &v) || v == 0 || v > 4096)
			return fail("--ringbuf-mb takes 1..4096", arg);
		o->ringbuf_bytes = v << 20;
		return 0;
	case OPT_SYMBOL_CACHE:
		if (parse_u64(arg, &v) || v == 0 || v > (1u << 20))
			return fail("--symbol-cache-mb takes 1..1048576", arg);
		o->symbol_cache_bytes = v << 20;
		return 0;
	case OPT_CGROUP:
		if (!*arg)
			return fail("--cgroup takes a cgroup directory", arg);
		free(o->cgroup_path);
		o->cgroup_path = strdup(arg);
		return o->cgroup_path ? 0 : -ENOMEM;
	case OPT_SERVE:
		return parse_serve(o, arg);
	case OPT_WEB_CONFIG:
		if (!*arg)
			return fail("--web-config takes a file", arg);
		free(o->web_config_path);
		o->web_config_path = strdup(arg);
		return o->web_config_path ? 0 : -ENOMEM;
	case OPT_USER:
		if (!*arg)
			return fail("--user takes a user name or uid", arg);
		free(o->run_as_user);
		o->run_as_user = strdup(arg);
		return o->run_as_user ? 0 : -ENOMEM;
	/* Ids are 32-bit; a billion blocks would need ~64 GiB anyway. */
	case OPT_MAX_ALLOCS:
		if (parse_u64(arg, &v) || v < 1024 || v > (1u << 30))
			return fail("--max-allocs takes 1024..1073741824", arg);
		o->max_allocs = v;
		return 0;
	case OPT_MAX_STACKS:
		if (parse_u64(arg, &v) || v < 64 || v > (1u << 30))
			return fail("--max-stacks takes 64..1073741824", arg);
		o->max_stacks = v;
		return 0;
	/* Lanes own whole buckets of the process table (tgid % lanes). */
	case OPT_CONSUMERS:
		if (parse_u64(arg, &v) || !v || v > 8 || (v & (v - 1)))
			return fail("--consumers takes 1, 2, 4 or 8", arg);
		o->consumers = (uint32_t)v;
		return 0;
	case OPT_TREND_WINDOW:
		if (parse_u64(arg, &v) || v < LT_TREND_MIN_SAMPLES || v > LT_TREND_MAX_WINDOW)
			return fail("--trend-window takes 4..64", arg);
		o->trend_window = (uint32_t)v;
		return 0;
	}
	return -EINVAL;
}

/* Read at startup, so a bad file stops leaktrace before it traces. */
static int load_suppressions(struct lt_options *o)
{
	struct lt_suppressions *s;
	int err = 0;

	if (o->no_default_supp && !o->nsupp_files)
		return 0;
	s = lt_suppressions_new();
	if (!s) {
		fprintf(stderr, "leaktrace: out of memory\n");
		return -ENOMEM;
	}
	if (!o->no_default_supp && lt_suppressions_add_defaults(s)) {
		fprintf(stderr, "leaktrace: out of memory\n");
		err = -ENOMEM;
	}
	/* Each file's error is already on stderr, as FILE:LINE: reason. */
	for (size_t i = 0; !err && i < o->nsupp_files; i++)
		err = lt_suppressions_load(s, o->supp_files[i]);
	if (err) {
		lt_suppressions_free(s);
		return err;
	}
	o->suppressions = s;
	return 0;
}

#define SHORT_OPTIONS "p:c:O:d:T:o:z:Z:w:vh"

/* Does the long option named by arg (after "--", up to '=') take the next
 * word as its argument? Unique prefixes count, as getopt_long's do. */
static bool long_takes_next(const char *arg)
{
	size_t len = strcspn(arg, "=");
	const struct option *hit = NULL;
	int prefixes = 0;

	if (arg[len] == '=')
		return false;
	for (const struct option *lo = long_options; lo->name; lo++) {
		if (strncmp(lo->name, arg, len))
			continue;
		if (strlen(lo->name) == len)
			return lo->has_arg == required_argument;
		hit = lo;
		prefixes++;
	}
	/* Ambiguous or unknown: getopt says so. */
	return prefixes == 1 && hit->has_arg == required_argument;
}

/* Where "--" ends leaktrace's own words: the first "--" that is not an
 * option's argument (-w -- names a file "--"); argc when there is none. */
static int end_of_options(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--"))
			return i;
		if (a[0] != '-' || !a[1])
			continue;
		if (a[1] == '-') {
			i += long_takes_next(a + 2);
			continue;
		}
		/* A cluster: the first letter taking an argument takes the rest,
		 * or, at its end, the next word. */
		for (size_t j = 1; a[j]; j++) {
			const char *spec = strchr(SHORT_OPTIONS, a[j]);

			if (!spec || a[j] == ':')
				break;
			if (spec[1] == ':') {
				i += !a[j + 1];
				break;
			}
		}
	}
	return argc;
}

/* The words after "--", quoted for the command line -c takes (wordexp). */
static int append_command(struct lt_options *o, char **words, int n)
{
	size_t len = o->command ? strlen(o->command) : 0, cap = len + 1;
	char *cmd;

	for (int i = 0; i < n; i++)
		cap += 3 + 4 * strlen(words[i]);
	cmd = malloc(cap);
	if (!cmd)
		return -ENOMEM;
	memcpy(cmd, o->command ? o->command : "", len);
	for (int i = 0; i < n; i++) {
		if (len)
			cmd[len++] = ' ';
		cmd[len++] = '\'';
		for (const char *c = words[i]; *c; c++) {
			if (*c == '\'') {
				memcpy(cmd + len, "'\\''", 4);
				len += 4;
			} else {
				cmd[len++] = *c;
			}
		}
		cmd[len++] = '\'';
	}
	cmd[len] = '\0';
	free(o->command);
	o->command = cmd;
	return 0;
}

/* --live draws every report on the terminal: nothing else can go there. */
static int check_live(struct lt_options *o, bool top_given)
{
	if (!o->live)
		return 0;
	if (o->format != LT_FORMAT_TEXT)
		return fail("--live draws on the terminal: --format cannot be combined with it", "");
	if (o->output_path)
		return fail("--live draws on the terminal: -w cannot be combined with it", o->output_path);
	if (o->self_test)
		return fail("--live and --self-test cannot be combined", "");
	if (o->interval_s <= 0)
		o->interval_s = LT_LIVE_DEFAULT_INTERVAL_S;
	if (!top_given)
		o->top = LT_LIVE_DEFAULT_TOP;
	return 0;
}

int lt_options_parse(int argc, char **argv, struct lt_options *o)
{
	bool top_given = false;
	int c, err, end;

	set_defaults(o);
	opterr = 0;
	/* GNU order: options and operands mixed, up to a "--". */
	end = end_of_options(argc, argv);
	optind = 0; /* 0, not 1: also resets glibc's position inside an option cluster */
	while ((c = getopt_long(end, argv, SHORT_OPTIONS, long_options, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			return 1;
		}
		if (c == OPT_VERSION) {
			puts("leaktrace " LT_VERSION);
			return 1;
		}
		if (c == '?' || c == ':') {
			if (optopt)
				fprintf(stderr, "leaktrace: option -%c: unknown or missing its argument (see leaktrace --help)\n",
					optopt);
			else
				fprintf(stderr, "leaktrace: unknown option '%s' (see leaktrace --help)\n",
					argv[optind - 1]);
			return -EINVAL;
		}
		top_given |= c == 'T';
		err = parse_one(o, c, optarg);
		if (err)
			return err == -ENOMEM ? (fprintf(stderr, "leaktrace: out of memory\n"), err) : err;
	}
	if (optind < end && parse_seconds(argv[optind], &o->interval_s))
		return fail("invalid INTERVAL", argv[optind]);
	if (optind + 1 < end) {
		uint64_t v;

		if (parse_u64(argv[optind + 1], &v) || v == 0 || v > LONG_MAX)
			return fail("invalid COUNT", argv[optind + 1]);
		o->count = (long)v;
	}
	if (optind + 2 < end)
		return fail("unexpected argument", argv[optind + 2]);
	if (end < argc) {
		if (end + 1 == argc)
			return fail("\"--\" is not followed by a command", "");
		err = append_command(o, argv + end + 1, argc - end - 1);
		if (err)
			return fprintf(stderr, "leaktrace: out of memory\n"), err;
	}
	if (o->command && o->npids)
		return fail("-c and -p cannot be combined", o->command);
	if (o->run_as_user && !o->command)
		return fail("--user is for the -c command", o->run_as_user);
	if (o->cgroup_path && (o->command || o->npids))
		return fail("--cgroup cannot be combined with -c or -p", o->cgroup_path);
	if (o->kernel && (o->command || o->npids || o->nobjs))
		return fail("--kernel traces the whole kernel: it cannot be combined with -c, -p or -O", "");
	if (o->kernel_cache && !o->kernel)
		return fail("--kernel-cache is for --kernel", o->kernel_cache);
	if (o->kernel_pages && (!o->kernel || o->kernel_cache))
		return fail("--kernel-pages is for --kernel, without --kernel-cache", "");
	/* No user stacks to walk, no descriptors: only the kmem programs run. */
	if (o->kernel) {
		o->unwind_dwarf = false;
		o->no_fds = true;
	}
	if (o->min_size > o->max_size)
		return fail("-z is larger than -Z", "");
	if (o->web_config_path && !o->serve_port)
		return fail("--web-config is for --serve", o->web_config_path);
	/* Binary, one profile per file: not for a terminal or a pipe of reports. */
	if (o->format == LT_FORMAT_PPROF && !o->output_path)
		return fail("--format pprof needs -w FILE", "");
	err = check_live(o, top_given);
	if (err)
		return err;
	return load_suppressions(o);
}

void lt_options_free(struct lt_options *o)
{
	for (size_t i = 0; i < o->nobjs; i++)
		free(o->objs[i]);
	free(o->objs);
	for (size_t i = 0; i < o->nsupp_files; i++)
		free(o->supp_files[i]);
	free(o->supp_files);
	lt_suppressions_free(o->suppressions);
	free(o->pids);
	free(o->command);
	free(o->output_path);
	free(o->snapshot_path);
	free(o->holders_dot_path);
	free(o->cgroup_path);
	free(o->kernel_cache);
	free(o->run_as_user);
	free(o->serve_host);
	free(o->web_config_path);
	memset(o, 0, sizeof(*o));
}
