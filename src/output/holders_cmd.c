// SPDX-License-Identifier: MIT
#include "output/holders_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach/proc_maps.h"
#include "attach/proc_start.h"
#include "holders/holders_find.h"
#include "output/gc_state_writer.h"
#include "output/holders_writer.h"
#include "python/python_gc_state.h"
#include "python/python_target.h"
#include "report/snapshot.h"

#define MAX_TYPES 16
#define DEFAULT_SAMPLES 10
#define DEFAULT_PAUSE_MS 200
#define CACHE_BYTES (1ull << 30)

static const char usage[] =
	"Usage: leaktrace holders -p PID --type NAME [--type NAME ...] [options]\n"
	"       leaktrace holders SNAPSHOT [options]\n"
	"Who holds objects of a running Python process: for a sample of the objects\n"
	"of each type named, the shortest chain of holders up to a module global, a\n"
	"class attribute or a running frame's local (objgraph.find_backref_chain,\n"
	"from outside). The process is held still while its heap is read, at most\n"
	"--pause-ms at a time; it is never left stopped. With a SNAPSHOT written by\n"
	"leaktrace --snapshot FILE, the objects it sampled of the Python types that\n"
	"grew most, in processes still running.\n"
	"  -p, --pid PID        the process\n"
	"  -t, --type NAME      a type's name as Python prints it (tp_name)\n"
	"  -n, --samples N      objects of each type to follow (default 10)\n"
	"      --pause-ms MS    longest pause (default 200; 0: never pause, links\n"
	"                       are then read twice and changed ones dropped)\n"
	"      --json           JSON instead of text\n"
	"      --dot FILE       also write the chains as a graphviz DOT graph\n";

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return !*s || *end || errno || *s == '-' || *out > max ? -EINVAL : 0;
}

struct run {
	const char *dot;
	bool json;
	uint32_t pause_ms;
	uint32_t per_type;
	FILE *dot_file;
	size_t done;        /* processes whose heap was walked */
};

/* Finds pid's interpreter and who holds the objects asked for; writes the
 * result. Returns 0, or 1 after a one-line message. */
static int follow(struct run *run, pid_t pid, uint32_t want_minor, const char *const *types,
		  size_t ntypes, const struct lt_holders_sample *samples, size_t nsamples,
		  bool first)
{
	struct lt_maps maps = { 0 };
	struct lt_py_interp *interp = calloc(1, sizeof(*interp));
	struct lt_holders h = { 0 };
	struct lt_py_gc_state gc;
	bool gc_ok;
	char err[512];
	int c, ret = 1;

	if (!interp) {
		fprintf(stderr, "leaktrace holders: out of memory\n");
		return 1;
	}
	if ((c = lt_maps_read(pid, &maps))) {
		fprintf(stderr, "leaktrace holders: pid %d: %s\n", (int)pid,
			c == -ESRCH || c == -ENOENT ? "no such process" : strerror(-c));
		goto cleanup;
	}
	err[0] = '\0';
	if ((c = lt_py_find_interp(pid, &maps, interp, err, sizeof(err)))) {
		fprintf(stderr, "leaktrace holders: pid %d: %s\n", (int)pid,
			c == -ENOENT ? "not a Python process" : err[0] ? err : strerror(-c));
		goto cleanup;
	}
	if (want_minor && interp->minor != want_minor) {
		fprintf(stderr, "leaktrace holders: pid %d: runs Python 3.%u, the snapshot saw 3.%u\n",
			(int)pid, interp->minor, want_minor);
		goto cleanup;
	}
	{
		struct lt_holders_request req = {
			.pid = pid, .minor = interp->minor, .runtime = interp->layout.runtime,
			.info = &interp->info, .frames = &interp->layout, .pause_ms = run->pause_ms,
			.cache_bytes = CACHE_BYTES, .samples = samples, .nsamples = nsamples,
			.by_type = types, .nby_type = ntypes, .per_type = run->per_type,
		};

		if (lt_holders_find(&req, &h)) {
			fprintf(stderr, "leaktrace holders: out of memory\n");
			goto cleanup;
		}
	}
	/* gc.garbage and a disabled collector are the other half of the story. */
	gc_ok = !lt_py_gc_state_read(pid, interp->minor, interp->layout.runtime, &gc);
	if (run->json) {
		printf("%s{\"pid\":%d,\"python\":\"3.%u\",\"holders\":", first ? "" : ",", (int)pid,
		       interp->minor);
		lt_holders_write_json(stdout, &h);
		fputs(",\"gc\":", stdout);
		lt_gc_state_write_json(stdout, gc_ok ? &gc : NULL);
		putchar('}');
	} else {
		printf("%spid %d, Python 3.%u\n", first ? "" : "\n", (int)pid, interp->minor);
		lt_holders_write_text(stdout, &h, 0);
		if (gc_ok)
			lt_gc_state_write_text(stdout, &gc, 0);
	}
	if (run->dot_file)
		lt_holders_write_dot(run->dot_file, &h, (unsigned)pid);
	if (!h.ok) {
		fprintf(stderr, "leaktrace holders: pid %d: %s\n", (int)pid, h.error ? h.error : "failed");
		goto cleanup;
	}
	run->done++;
	ret = 0;
cleanup:
	lt_holders_free(&h);
	lt_maps_free(&maps);
	free(interp);
	return ret;
}

/* Every process of the snapshot with samples that still runs. */
static int follow_snapshot(struct run *run, const char *path)
{
	struct lt_snapshot snap;
	char err[512];
	size_t with = 0;
	int ret = 0;

	if (lt_snapshot_load(path, &snap, err, sizeof(err))) {
		fprintf(stderr, "leaktrace holders: %s\n", err);
		return 1;
	}
	if (run->json)
		fputs("{\"processes\":[", stdout);
	for (size_t i = 0; i < snap.nprocs; i++) {
		const struct lt_snap_process *p = &snap.procs[i];
		struct lt_holders_sample *samples;

		if (!p->nsamples)
			continue;
		with++;
		if (lt_proc_start_ticks((pid_t)p->pid) != p->py_start_ticks) {
			fprintf(stderr, "leaktrace holders: pid %u (%s): exited since the snapshot\n",
				p->pid, p->comm ? p->comm : "?");
			ret = 1;
			continue;
		}
		samples = calloc(p->nsamples, sizeof(*samples));
		if (!samples) {
			fprintf(stderr, "leaktrace holders: out of memory\n");
			ret = 1;
			break;
		}
		for (size_t k = 0; k < p->nsamples; k++)
			samples[k] = (struct lt_holders_sample){
				.type_name = p->samples[k].type, .type = p->samples[k].type_addr,
				.where = p->samples[k].where, .objects = p->samples[k].objects,
				.n = p->samples[k].n,
			};
		if (follow(run, (pid_t)p->pid, p->py_minor, NULL, 0, samples, p->nsamples,
			   run->done == 0))
			ret = 1;
		free(samples);
	}
	if (run->json)
		puts("]}");
	if (!with) {
		fprintf(stderr, "leaktrace holders: %s: no sampled Python objects (was it written by a "
			"leaktrace that traced a Python process?)\n", path);
		ret = 1;
	}
	lt_snapshot_free(&snap);
	return ret;
}

int lt_holders_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },   { "type", required_argument, NULL, 't' },
		{ "samples", required_argument, NULL, 'n' }, { "pause-ms", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },        { "dot", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },        { NULL, 0, NULL, 0 },
	};
	const char *types[MAX_TYPES];
	unsigned long pid = 0, v;
	size_t ntypes = 0;
	struct run run = { .pause_ms = DEFAULT_PAUSE_MS, .per_type = DEFAULT_SAMPLES };
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:t:n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_uint(optarg, INT_MAX, &pid) || !pid) {
				fprintf(stderr, "leaktrace holders: bad pid '%s'\n", optarg);
				return 2;
			}
			break;
		case 't':
			if (ntypes == MAX_TYPES) {
				fprintf(stderr, "leaktrace holders: at most %d --type\n", MAX_TYPES);
				return 2;
			}
			types[ntypes++] = optarg;
			break;
		case 'n':
			if (parse_uint(optarg, 1000, &v) || !v) {
				fprintf(stderr, "leaktrace holders: --samples takes 1-1000\n");
				return 2;
			}
			run.per_type = (uint32_t)v;
			break;
		case 'P':
			if (parse_uint(optarg, 60000, &v)) {
				fprintf(stderr, "leaktrace holders: --pause-ms takes 0-60000\n");
				return 2;
			}
			run.pause_ms = (uint32_t)v;
			break;
		case 'j':
			run.json = true;
			break;
		case 'd':
			run.dot = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind + 1 == argc ? pid || ntypes : optind < argc || !pid || !ntypes) {
		fprintf(stderr, "leaktrace holders: needs -p PID and --type NAME, or a SNAPSHOT "
			"(see --help)\n");
		return 2;
	}
	if (run.dot && !(run.dot_file = fopen(run.dot, "w"))) {
		fprintf(stderr, "leaktrace holders: cannot write %s: %s\n", run.dot, strerror(errno));
		return 1;
	}
	if (run.dot_file)
		lt_holders_dot_begin(run.dot_file);
	if (optind < argc) {
		ret = follow_snapshot(&run, argv[optind]);
	} else {
		ret = follow(&run, (pid_t)pid, 0, types, ntypes, NULL, 0, true);
		if (run.json)
			putchar('\n');
	}
	if (run.dot_file) {
		lt_holders_dot_end(run.dot_file);
		if (fclose(run.dot_file) && !ret) {
			fprintf(stderr, "leaktrace holders: cannot write %s\n", run.dot);
			ret = 1;
		}
	}
	if (fflush(stdout) && !ret)
		ret = 1;
	return ret;
}
