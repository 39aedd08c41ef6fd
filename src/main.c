// SPDX-License-Identifier: MIT
/*
 * leaktrace: outstanding heap allocations by call stack, traced with eBPF
 * uprobes on the malloc family, for a command, running processes or the
 * whole system.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "output/agent.h"
#include "output/html_history.h"
#include "output/live_view.h"
#include "output/web_config.h"
#include "attach/command_runner.h"
#include "report/diff.h"
#include "output/holders_cmd.h"
#include "output/holders_writer.h"
#include "consume/event_consumer.h"
#include "consume/lane_threads.h"
#include "consume/traced_processes.h"
#include "symbols/frame_resolver.h"
#include "attach/needed_libs.h"
#include "options.h"
#include "attach/libc_discovery.h"
#include "attach/privileges.h"
#include "python/python_attach.h"
#include "attach/probes.h"
#include "attach/ring_sizer.h"
#include "report/report_model.h"
#include "output/report_writers.h"
#include "session.h"
#include "symbols/kallsyms.h"
#include "report/snapshot.h"
#include "symbols/symbolizer.h"
#include "attach/tracer.h"
#include "unwind/unwind_loader.h"

/* Heap records do not wake us (see the BPF side): poll at least this often. */
#define LT_POLL_MS 20
/* --cgroup: how often cgroup.procs files are read for processes moved in. */
#define LT_CGROUP_SCAN_MS 1000
/* How often new Python blocks are typed, and how old they must be by then. */
#define LT_PY_SETTLE_MS 100
#define LT_PY_SETTLE_MIN_AGE_MS 5
#define LT_SLOW_DETACH_LINKS 100

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t report_requested;
static volatile sig_atomic_t child_changed;
static int verbosity;
/* --serve: the endpoint, fed by every report. */
static struct lt_agent *agent;
static struct lt_web_config web_config; /* the agent's, while it runs */
/* --format html with INTERVAL: every report, for the page's charts. */
static struct lt_html_history html_history = { .max_bytes = LT_HTML_HISTORY_MAX_BYTES };
/* --live: the terminal view, until the final report. */
static struct lt_live_view *live;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		report_requested = 1;
	else if (sig == SIGCHLD)
		child_changed = 1;
	else
		stop_requested = 1;
}

static int install_signals(void)
{
	/* SA_RESTART: a report written to a slow reader (a full pipe) goes on
	 * after a signal instead of failing half written. The ring-buffer poll
	 * still wakes: epoll_wait is never restarted, whatever the flag. */
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	int sigs[] = { SIGINT, SIGTERM, SIGUSR1, SIGCHLD };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL))
			return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG || (level == LIBBPF_INFO && verbosity < 2) || verbosity < 1)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* An exited process is shown in one report (what it held at exit), then forgotten. */
static void forget_exited(struct lt_session *s)
{
	struct lt_process **procs;
	long n = lt_procs_list(&s->procs, &procs);

	for (long i = 0; i < n; i++)
		if (procs[i]->exited)
			lt_procs_remove(&s->procs, procs[i]->tgid);
	if (n >= 0)
		free(procs);
}

/* --holders-dot: the last report's chains, every Python process in one
 * graph (rewritten whole, so the file is always one report's). */
static int write_holders_dot(const char *path, const struct lt_report *r)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	lt_holders_dot_begin(f);
	for (size_t i = 0; i < r->nprocs; i++)
		if (r->procs[i].python && r->procs[i].python->holders)
			lt_holders_write_dot(f, r->procs[i].python->holders, r->procs[i].pid);
	lt_holders_dot_end(f);
	return fclose(f) ? -EIO : 0;
}

static int write_report(struct lt_session *s, const struct lt_report *r, bool final)
{
	switch (s->opts->format) {
	case LT_FORMAT_JSON:
		lt_report_write_json(s->out, r);
		return 0;
	/* Profiles (one flame graph, one pprof file) show the final report only. */
	case LT_FORMAT_FOLDED:
		if (final)
			lt_report_write_folded(s->out, r);
		return 0;
	case LT_FORMAT_PPROF:
		return final ? lt_report_write_pprof(s->out, r) : 0;
	case LT_FORMAT_HTML:
		if (s->opts->interval_s <= 0)
			return final ? lt_report_write_html(s->out, r) : 0;
		/* A report missing from the charts is said, not hidden. */
		if (lt_html_history_add(&html_history, r))
			fprintf(stderr, "leaktrace: warning: out of memory: the HTML page's charts "
					"miss a report\n");
		return final ? lt_report_write_html_history(s->out, &html_history) : 0;
	default:
		lt_report_write_text(s->out, r);
		return 0;
	}
}

/* --consumers, or one lane per CPU: a power of two (lanes own whole
 * buckets of the process table), up to a ring per BPF slot. */
static uint32_t lanes_for(const struct lt_options *o)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t n = 1;

	/* Kernel objects are one table, freed from any process: one lane. */
	if (o->kernel)
		return 1;
	if (o->consumers)
		return o->consumers;
	while (n * 2 <= (uint32_t)(cpus > 0 ? cpus : 1) && n * 2 <= LT_MAX_LANES)
		n *= 2;
	return n;
}

/* print false: a --serve report that only feeds the endpoint. */
static int emit_report(struct lt_session *s, bool final, bool print)
{
	struct lt_report_pending pending;
	struct lt_report r;
	int err, werr = 0, serr = 0;
	char why[512];

	lt_lanes_fold(s);
	lt_session_read_drops(s);
	/* Every Python block counted by type: none can still be half made. */
	lt_python_settle(s, 0);
	err = lt_report_build(s, final, &r, &pending);
	if (err) {
		fprintf(stderr, "leaktrace: cannot build report: %s\n", strerror(-err));
		return err;
	}
	if (lt_report_commit(s, &pending))
		fprintf(stderr, "leaktrace: warning: out of memory: growth verdicts miss this report\n");
	/* The final report is printed as text once the terminal is given back. */
	if (final && live) {
		lt_live_view_close(live);
		live = NULL;
	}
	/* The endpoint keeps serving the previous report if this one fails. */
	if (agent && lt_agent_publish(agent, &r))
		fprintf(stderr, "leaktrace: warning: cannot render the report for --serve\n");
	if (print && live)
		lt_live_view_report(live, &r);
	else if (print)
		werr = write_report(s, &r, final);
	if (r.lost_events > s->lost_reported) {
		fprintf(stderr, "leaktrace: warning: %llu events lost so far (ring buffer full; try --ringbuf-mb)\n",
			(unsigned long long)r.lost_events);
		s->lost_reported = r.lost_events;
	}
	if (s->opts->holders_dot_path && write_holders_dot(s->opts->holders_dot_path, &r))
		fprintf(stderr, "leaktrace: cannot write %s\n", s->opts->holders_dot_path);
	if (final && s->opts->snapshot_path) {
		serr = lt_snapshot_save(s->opts->snapshot_path, &r, why, sizeof(why));
		if (serr)
			fprintf(stderr, "leaktrace: %s\n", why);
	}
	lt_report_free(&r);
	if (werr || ferror(s->out)) {
		fprintf(stderr, "leaktrace: cannot write the report\n");
		return -EIO;
	}
	forget_exited(s);
	return serr;
}

/* Consume what is in the ring buffers now (one being replaced too),
 * within a bound even if the traced processes keep producing. */
static void drain(struct lt_session *s)
{
	for (uint32_t i = 0; i < s->nlanes; i++) {
		s->lanes[i].consume_deadline_ns = lt_now_ns() + 2000000000ULL;
		lt_ring_sizer_drain(s->lanes[i].ring);
	}
}

/* The ring follows the rate; one that cannot be resized keeps its size.
 * Lanes on threads resize their own. */
static void resize_rings(struct lt_session *s)
{
	static bool warned;
	int err = 0;

	for (uint32_t i = 0; i < s->nlanes; i++) {
		if (!s->lanes[i].running)
			s->lanes[i].resize_error = lt_ring_sizer_adjust(s->lanes[i].ring, lt_now_ns());
		if (s->lanes[i].resize_error)
			err = s->lanes[i].resize_error;
	}
	if (err && !warned) {
		fprintf(stderr, "leaktrace: warning: cannot resize the ring buffer: %s\n",
			strerror(-err));
		warned = true;
	}
}

/* Until wake (CLOCK_MONOTONIC ns) or a signal, while lanes on threads take
 * records in; then the main thread has the session to itself. */
static int let_lanes_run(struct lt_session *s, uint64_t wake)
{
	uint64_t now = lt_now_ns();
	struct timespec ts = { 0, 0 };

	if (wake > now) {
		ts.tv_sec = (time_t)((wake - now) / 1000000000ULL);
		ts.tv_nsec = (long)((wake - now) % 1000000000ULL);
	}
	pthread_rwlock_unlock(&s->world);
	nanosleep(&ts, NULL); /* a signal cuts it short */
	pthread_rwlock_wrlock(&s->world);
	return lt_lane_threads_error(s);
}

/* -c: true once the command has been reaped. */
static bool command_reaped(struct lt_session *s)
{
	int status;
	pid_t r;

	if (!child_changed)
		return false;
	child_changed = 0;
	r = waitpid(s->command_pid, &status, WNOHANG);
	if (r != s->command_pid || !(WIFEXITED(status) || WIFSIGNALED(status)))
		return false;
	/* Records already in the ring buffer include its exit. */
	drain(s);
	struct lt_process *p = lt_procs_get(&s->procs, (uint32_t)s->command_pid);

	if (p && !p->exited) {
		p->exited = true;
		p->exit_ns = lt_now_ns();
	}
	return true;
}

static int run_loop_locked(struct lt_session *s)
{
	const struct lt_options *o = s->opts;
	/* --serve reports on its own cycle, printed only when INTERVAL was given. */
	double interval_s = o->interval_s > 0 ? o->interval_s : agent ? LT_AGENT_DEFAULT_INTERVAL_S : 0;
	uint64_t interval_ns = (uint64_t)(interval_s * 1e9);
	uint64_t next_report = interval_ns ? s->start_ns + interval_ns : 0;
	uint64_t deadline = o->duration_s > 0 ? s->start_ns + (uint64_t)(o->duration_s * 1e9) : 0;
	uint64_t next_settle = 0;
	long reports = 0;
	int err;

	while (!stop_requested) {
		uint64_t now = lt_now_ns(), wake = now + LT_POLL_MS * 1000000ULL;

		if (next_report && next_report < wake)
			wake = next_report;
		if (deadline && deadline < wake)
			wake = deadline;
		if (s->lanes[0].running) {
			err = let_lanes_run(s, wake);
		} else {
			s->lanes[0].consume_deadline_ns = now + 50000000ULL;
			err = lt_ring_sizer_wait(s->lanes[0].ring,
						 wake > now ? (int)((wake - now) / 1000000) : 0);
			/* Consumed whether woken or not: heap records rarely wake us. */
			if (err >= 0 || err == -EINTR)
				err = lt_ring_sizer_consume(s->lanes[0].ring);
		}
		if (err < 0 && err != -EINTR && err != LT_CONSUME_YIELD) {
			fprintf(stderr, "leaktrace: reading events: %s\n", strerror(-err));
			return err;
		}
		/* Keys are read at least every LT_POLL_MS; q ends like Ctrl-C. */
		if (live && lt_live_view_keys(live))
			break;
		resize_rings(s);
		if (s->mode == LT_MODE_COMMAND && command_reaped(s))
			break;
		if (s->mode == LT_MODE_PIDS && s->live_targets == 0)
			break;
		lt_lanes_fold(s);
		now = lt_now_ns();
		/* Processes moved into the cgroup without an exec or fork of ours to see. */
		/* Python blocks are typed while their process lives, a little
		 * after they were made (their creator fills the header in). */
		if (now >= next_settle) {
			next_settle = now + LT_PY_SETTLE_MS * 1000000ULL;
			lt_python_settle(s, LT_PY_SETTLE_MIN_AGE_MS * 1000000ULL);
		}
		if (s->mode == LT_MODE_CGROUP && now >= s->next_cgroup_scan_ns) {
			s->next_cgroup_scan_ns = now + LT_CGROUP_SCAN_MS * 1000000ULL;
			if (lt_traced_scan_cgroup(s) == -ENOMEM)
				s->stats.out_of_memory++;
		}
		if (deadline && now >= deadline)
			break;
		if (next_report && now >= next_report) {
			if (o->count && reports + 1 >= o->count)
				break;
			err = emit_report(s, false, o->interval_s > 0);
			if (err)
				return err;
			reports++;
			while (next_report <= now)
				next_report += interval_ns;
		}
		if (report_requested) {
			report_requested = 0;
			err = emit_report(s, false, true);
			if (err)
				return err;
		}
	}
	drain(s);
	return emit_report(s, true, true);
}

/* With several lanes, their threads take records in while this thread
 * sleeps; it holds the world lock for everything else it does. */
static int run_loop(struct lt_session *s)
{
	int err = 0;

	pthread_rwlock_wrlock(&s->world);
	if (s->nlanes > 1)
		err = lt_lane_threads_start(s);
	if (err)
		fprintf(stderr, "leaktrace: cannot start the consumer threads: %s\n", strerror(-err));
	else
		err = run_loop_locked(s);
	pthread_rwlock_unlock(&s->world);
	lt_lane_threads_stop(s);
	return err;
}

/*
 * Tables for what the targets run, before they run (-c) or before we say we
 * are tracing (-p): the first allocations then already get whole stacks.
 * Files mapped later are loaded as their mappings are seen.
 */
static void prepare_unwind_tables(struct lt_session *s, const struct lt_command *cmd)
{
	if (!s->unwind)
		return;
	for (size_t i = 0; s->mode == LT_MODE_COMMAND && i < cmd->files.n; i++)
		lt_unwind_loader_request_path(s->unwind, cmd->files.v[i]);
	for (size_t i = 0; s->mode == LT_MODE_PIDS && i < s->opts->npids; i++) {
		struct lt_process *p = lt_procs_get(&s->procs, (uint32_t)s->opts->pids[i]);

		if (p)
			lt_reload_maps(p, &s->modules);
	}
	/* --cgroup: its processes' files were requested as they were attached. */
	lt_unwind_loader_wait(s->unwind);
}

/* Python objects: the command's interpreter is probed before it runs; -p
 * targets running one are traced from now on. */
static void prepare_python(struct lt_session *s, const struct lt_command *cmd)
{
	if (s->mode == LT_MODE_COMMAND)
		lt_python_prepare_program(s, &cmd->files);
	for (size_t i = 0; s->mode == LT_MODE_PIDS && i < s->opts->npids; i++) {
		struct lt_process *p = lt_procs_get(&s->procs, (uint32_t)s->opts->pids[i]);

		if (!p)
			continue;
		if (!p->maps_loaded)
			lt_reload_maps(p, &s->modules);
		lt_python_track(s, p);
	}
}

static const char *mode_text(const struct lt_session *s, char *buf, size_t len)
{
	if (s->mode == LT_MODE_COMMAND)
		snprintf(buf, len, "command pid %d", (int)s->command_pid);
	else if (s->mode == LT_MODE_PIDS)
		snprintf(buf, len, "%zu process%s", s->opts->npids, s->opts->npids == 1 ? "" : "es");
	else if (s->mode == LT_MODE_KERNEL)
		snprintf(buf, len, "kernel memory of %s%s%s", s->cgroup.path ? "cgroup " : "all tasks",
			 s->cgroup.path ? s->cgroup.path : "",
			 s->opts->kernel_cache ? ", one cache" : "");
	else if (s->mode == LT_MODE_CGROUP)
		snprintf(buf, len, "cgroup %s (%zu process%s now)", s->cgroup.path, s->procs.count,
			 s->procs.count == 1 ? "" : "es");
	else
		snprintf(buf, len, "all processes");
	return buf;
}

/* --self-test: probe placement for the allocators that would be traced. */
static int self_test(const struct lt_options *o)
{
	struct lt_object_list list = {};
	pid_t pid = o->npids ? o->pids[0] : getpid();
	int stepped = 0, ret;
	char title[4200];

	ret = lt_find_process_libcs(pid, &list);
	if (ret < 0) {
		fprintf(stderr, "leaktrace: cannot read the mappings of pid %d: %s\n", (int)pid,
			strerror(-ret));
		return 1;
	}
	for (size_t i = 0; i < o->nobjs; i++) {
		struct lt_object_ref ref = {};

		snprintf(ref.path, sizeof(ref.path), "%s", o->objs[i]);
		if (lt_object_list_add(&list, &ref))
			break;
	}
	printf("probe placement (kernel-emulated instructions cost ~1.2 us a call, single-stepped ones ~15 us in a VM)\n");
	for (size_t i = 0; i < list.n; i++) {
		ssize_t len = readlink(list.v[i].path, title, sizeof(title) - 1);

		/* map_files links name the file the process really maps. */
		if (len > 0)
			title[len] = '\0';
		else
			snprintf(title, sizeof(title), "%s", list.v[i].path);
		ret = lt_probes_describe(stdout, list.v[i].path, title);
		if (ret < 0) {
			fprintf(stderr, "leaktrace: %s: %s\n", list.v[i].path, strerror(-ret));
			lt_object_list_free(&list);
			return 1;
		}
		stepped += ret;
	}
	printf("%d single-stepped probe%s (a return probe cannot pass an instruction that moves rsp)\n",
	       stepped, stepped == 1 ? "" : "s");
	lt_object_list_free(&list);
	return 0;
}

/* Each parsed file stays open so the symbol cache can parse it again after
 * eviction, when its process may be gone: take all the descriptors allowed.
 * Called once the -c command is forked, which keeps the usual limit. */
static void read_open_fds(struct lt_session *s, uint32_t pid, bool before_exec)
{
	struct lt_process *p = lt_procs_get(&s->procs, pid);

	if (p)
		lt_traced_read_open_fds(s, p, before_exec);
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) && verbosity)
			fprintf(stderr, "leaktrace: cannot raise the open file limit: %s\n",
				strerror(errno));
	}
}

/*
 * --kernel: names for kernel stacks, and where BPF's own allocator calls
 * kmalloc: it refills its caches for the entries the kmem programs add,
 * and recording those objects would make it refill again, without end.
 */
static void load_kernel_symbols(struct lt_session *s)
{
	static const char *const bpf_allocator[] = { "alloc_bulk", "__alloc", "bpf_mem_refill",
						     "free_bulk" };
	int ret = lt_kallsyms_load("/proc/kallsyms", &s->ksyms);
	uint32_t n = 0;

	if (ret) {
		fprintf(stderr, "leaktrace: warning: cannot read kernel symbols from /proc/kallsyms: %s; "
				"kernel stacks show addresses, and BPF's own allocations are counted\n",
			ret == -EPERM ? "addresses hidden (kptr_restrict)" : strerror(-ret));
		return;
	}
	for (size_t i = 0; i < sizeof(bpf_allocator) / sizeof(bpf_allocator[0]); i++)
		if (n < LT_KSKIP_SITES && !lt_kallsyms_range(s->ksyms, bpf_allocator[i],
							  &s->kernel_skip_lo[n], &s->kernel_skip_hi[n]))
			n++;
}

/* --serve: listening before any probe is attached, so a taken port or a
 * bad --web-config fails at once; it answers 503 until tracing starts. */
static int start_agent(const struct lt_options *o)
{
	bool v6 = strchr(o->serve_host, ':') != NULL, tls = false;
	char err[512];
	int ret = 0;

	if (o->web_config_path) {
		ret = lt_web_config_load(o->web_config_path, &web_config, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "leaktrace: --web-config: %s\n", err);
			return ret;
		}
		tls = web_config.tls;
		if (web_config.nusers && !tls)
			fprintf(stderr, "leaktrace: warning: %s has basic_auth_users but no "
					"tls_server_config: passwords cross the network in clear\n",
				o->web_config_path);
	}
	ret = lt_agent_start(o->serve_host, o->serve_port, o->web_config_path ? &web_config : NULL,
			     &agent, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "leaktrace: --serve: %s\n", err);
		return ret;
	}
	fprintf(stderr, "leaktrace: serving %s://%s%s%s:%u/metrics and /debug/pprof/heap%s\n",
		tls ? "https" : "http", v6 ? "[" : "", o->serve_host, v6 ? "]" : "", o->serve_port,
		web_config.nusers ? " (basic auth)" : "");
	return 0;
}

int main(int argc, char **argv)
{
	struct lt_options opts;
	struct lt_session s;
	struct lt_command cmd = { .go_fd = -1, .err_fd = -1 };
	struct lt_run_as run_as = { 0 };
	char err[1024], what[4200];
	int ret;

	/* Reads two files: no BPF, no privileges, none of the options below. */
	if (argc > 1 && !strcmp(argv[1], "diff"))
		return lt_diff_main(argc - 1, argv + 1);
	/* Reads a Python process's memory: no BPF. */
	if (argc > 1 && !strcmp(argv[1], "holders"))
		return lt_holders_main(argc - 1, argv + 1);
	memset(&s, 0, sizeof(s));
	ret = lt_options_parse(argc, argv, &opts);
	if (ret) {
		lt_options_free(&opts);
		return ret > 0 ? 0 : 2;
	}
	verbosity = opts.verbose;
	if (opts.live && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		fprintf(stderr, "leaktrace: --live needs a terminal on stdin and stdout\n");
		lt_options_free(&opts);
		return 1;
	}
	if (opts.self_test) {
		ret = self_test(&opts);
		lt_options_free(&opts);
		return ret;
	}
	lt_session_init(&s, &opts);
	libbpf_set_print(libbpf_print);

	ret = lt_check_privileges(err, sizeof(err));
	if (ret) {
		fprintf(stderr, "leaktrace: %s\n", err);
		goto cleanup;
	}
	ret = lt_tracer_validate_targets(&opts, err, sizeof(err));
	if (!ret && opts.cgroup_path)
		ret = lt_cgroup_target_open(opts.cgroup_path, "/proc/self/mountinfo", &s.cgroup, err,
					    sizeof(err));
	if (ret) {
		fprintf(stderr, "leaktrace: %s\n", err);
		goto cleanup;
	}
	if (opts.output_path) {
		s.out = fopen(opts.output_path, "we");
		if (!s.out) {
			ret = -errno;
			s.out = stdout;
			fprintf(stderr, "leaktrace: cannot write %s: %s\n", opts.output_path, strerror(-ret));
			goto cleanup;
		}
	}
	ret = install_signals();
	if (ret) {
		fprintf(stderr, "leaktrace: cannot install signal handlers: %s\n", strerror(-ret));
		goto cleanup;
	}
	if (opts.serve_port) {
		ret = start_agent(&opts);
		if (ret)
			goto cleanup;
	}
	if (s.mode == LT_MODE_COMMAND) {
		if (opts.run_as_user)
			ret = lt_run_as_resolve(opts.run_as_user, &run_as, err, sizeof(err));
		if (!ret)
			ret = lt_command_prepare(opts.command, &run_as, &cmd, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "leaktrace: %s\n", err);
			goto cleanup;
		}
		s.command_pid = cmd.pid;
	}
	raise_fd_limit();
	for (size_t i = 0; i < opts.npids; i++) {
		struct lt_process *p = lt_procs_add(&s.procs, (uint32_t)opts.pids[i]);

		if (p)
			p->target = true;
	}
	if (s.mode == LT_MODE_COMMAND) {
		struct lt_process *p = lt_procs_add(&s.procs, (uint32_t)cmd.pid);

		if (p)
			p->target = true;
	}
	if (opts.kernel)
		load_kernel_symbols(&s);
	lt_lanes_share(&s, lanes_for(&opts));
	ret = lt_tracer_start(&s, lt_handle_event, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "leaktrace: %s\n", err);
		goto cleanup;
	}
	/* With the descriptor probes in: one made meanwhile is also seen made,
	 * and its record takes it off the list. */
	for (size_t i = 0; i < opts.npids; i++)
		read_open_fds(&s, (uint32_t)opts.pids[i], false);
	if (s.mode == LT_MODE_COMMAND)
		read_open_fds(&s, (uint32_t)cmd.pid, true);
	if (s.mode == LT_MODE_COMMAND && lt_tracer_attach_command_libcs(&s, &cmd.files)) {
		fprintf(stderr, "leaktrace: out of memory\n");
		ret = -ENOMEM;
		goto cleanup;
	}
	prepare_unwind_tables(&s, &cmd);
	prepare_python(&s, &cmd);
	s.start_ns = lt_now_ns();
	clock_gettime(CLOCK_REALTIME, &s.start_wall);
	/* Until the first report: the session's counters (failing, still 503). */
	if (agent)
		lt_agent_publish_start(agent, &s);
	if (s.mode == LT_MODE_COMMAND) {
		ret = lt_command_release(&cmd, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "leaktrace: %s\n", err);
			goto cleanup;
		}
	}
	if (s.mode == LT_MODE_CGROUP) {
		size_t n = lt_tracer_attached_processes(&s);

		if (n > LT_CGROUP_MANY_PROCESSES)
			fprintf(stderr,
				"leaktrace: warning: %zu processes, each with its own probes: every "
				"traced call walks all of them in the kernel, and detaching takes "
				"seconds per process; tracing system-wide costs the same at any "
				"count and still reports by container\n",
				n);
	}
	fprintf(stderr, "leaktrace: tracing %s; Ctrl-C or SIGTERM for the final report\n",
		mode_text(&s, what, sizeof(what)));
	if (opts.live) {
		ret = lt_live_view_open(&live, opts.interval_s, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "leaktrace: %s\n", err);
			goto cleanup;
		}
	}
	ret = run_loop(&s);
cleanup:
	/* The terminal back first, so that what follows on stderr is seen. */
	lt_live_view_close(live);
	live = NULL;
	/* The HTTP thread goes first: nothing below is shared with it, but no
	 * request should be answered while the session is torn down. */
	lt_agent_stop(agent);
	lt_web_config_free(&web_config);
	lt_html_history_free(&html_history);
	lt_command_abort(&cmd);
	lt_run_as_free(&run_as);
	if (s.unwind && opts.verbose) {
		struct lt_unwind_stats us;

		lt_unwind_loader_stats(s.unwind, &us);
		fprintf(stderr,
			"leaktrace: unwind tables: %" PRIu64 " files loaded, %" PRIu64
			" without .eh_frame_hdr, %" PRIu64 " skipped; %" PRIu64 " of %" PRIu64
			" rows used\n",
			us.files_loaded, us.files_without_cfi, us.files_skipped, us.rows_used,
			us.rows_capacity);
	}
	lt_python_release(&s);
	/* The kernel closes probes one at a time, each after a grace period
	 * (~0.1 s here): say why a large --cgroup session takes a while. */
	if (s.probes.nlinks > LT_SLOW_DETACH_LINKS)
		fprintf(stderr, "leaktrace: closing %zu probes; the kernel takes about 0.1 s each\n",
			s.probes.nlinks);
	lt_tracer_stop(&s);
	lt_cgroup_target_close(&s.cgroup);
	lt_session_free(&s);
	lt_symbolizer_forget();
	if (s.out && s.out != stdout)
		fclose(s.out);
	lt_options_free(&opts);
	return ret ? 1 : 0;
}
