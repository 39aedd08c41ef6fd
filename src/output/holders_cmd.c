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
#include "holders/holders_find.h"
#include "output/holders_writer.h"
#include "python/python_target.h"

#define MAX_TYPES 16
#define DEFAULT_SAMPLES 10
#define DEFAULT_PAUSE_MS 200
#define CACHE_BYTES (4ull << 30)

static const char usage[] =
	"Usage: leaktrace holders -p PID --type NAME [--type NAME ...] [options]\n"
	"Who holds objects of a running Python process: for a sample of the objects\n"
	"of each type named, the shortest chain of holders up to a module global, a\n"
	"class attribute or a running frame's local (objgraph.find_backref_chain,\n"
	"from outside). The process is held still while its heap is read, at most\n"
	"--pause-ms at a time; it is never left stopped.\n"
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

int lt_holders_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },   { "type", required_argument, NULL, 't' },
		{ "samples", required_argument, NULL, 'n' }, { "pause-ms", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },        { "dot", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },        { NULL, 0, NULL, 0 },
	};
	const char *types[MAX_TYPES], *dot = NULL;
	unsigned long pid = 0, samples = DEFAULT_SAMPLES, pause_ms = DEFAULT_PAUSE_MS, v;
	size_t ntypes = 0;
	bool json = false;
	struct lt_maps maps = { 0 };
	struct lt_py_interp *interp = NULL;
	struct lt_holders h = { 0 };
	char err[512];
	int c, ret = 1;

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
			samples = v;
			break;
		case 'P':
			if (parse_uint(optarg, 60000, &pause_ms)) {
				fprintf(stderr, "leaktrace holders: --pause-ms takes 0-60000\n");
				return 2;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'd':
			dot = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc || !pid || !ntypes) {
		fprintf(stderr, "leaktrace holders: needs -p PID and --type NAME (see --help)\n");
		return 2;
	}
	interp = calloc(1, sizeof(*interp));
	if (!interp) {
		fprintf(stderr, "leaktrace holders: out of memory\n");
		return 1;
	}
	if ((c = lt_maps_read((pid_t)pid, &maps))) {
		fprintf(stderr, "leaktrace holders: pid %lu: %s\n", pid,
			c == -ESRCH || c == -ENOENT ? "no such process" : strerror(-c));
		goto cleanup;
	}
	err[0] = '\0';
	if ((c = lt_py_find_interp((pid_t)pid, &maps, interp, err, sizeof(err)))) {
		fprintf(stderr, "leaktrace holders: pid %lu: %s\n", pid,
			c == -ENOENT ? "not a Python process" : err[0] ? err : strerror(-c));
		goto cleanup;
	}
	{
		struct lt_holders_request req = {
			.pid = (pid_t)pid, .minor = interp->minor, .runtime = interp->layout.runtime,
			.info = &interp->info, .frames = &interp->layout, .pause_ms = (uint32_t)pause_ms,
			.cache_bytes = CACHE_BYTES, .by_type = types, .nby_type = ntypes,
			.per_type = (uint32_t)samples,
		};

		if (lt_holders_find(&req, &h)) {
			fprintf(stderr, "leaktrace holders: out of memory\n");
			goto cleanup;
		}
	}
	if (json) {
		printf("{\"pid\":%lu,\"python\":\"3.%u\",\"holders\":", pid, interp->minor);
		lt_holders_write_json(stdout, &h);
		puts("}");
	} else {
		printf("pid %lu, Python 3.%u\n", pid, interp->minor);
		lt_holders_write_text(stdout, &h, 0);
	}
	if (dot) {
		FILE *f = fopen(dot, "w");

		if (!f) {
			fprintf(stderr, "leaktrace holders: cannot write %s: %s\n", dot, strerror(errno));
			goto cleanup;
		}
		lt_holders_dot_begin(f);
		lt_holders_write_dot(f, &h, (unsigned)pid);
		lt_holders_dot_end(f);
		if (fclose(f)) {
			fprintf(stderr, "leaktrace holders: cannot write %s\n", dot);
			goto cleanup;
		}
	}
	if (!h.ok) {
		fprintf(stderr, "leaktrace holders: pid %lu: %s\n", pid, h.error ? h.error : "failed");
		goto cleanup;
	}
	ret = fflush(stdout) ? 1 : 0;
cleanup:
	lt_holders_free(&h);
	lt_maps_free(&maps);
	free(interp);
	return ret;
}
