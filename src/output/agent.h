/* SPDX-License-Identifier: MIT */
/*
 * --serve: the HTTP endpoint of a long-running leaktrace, /metrics
 * (Prometheus text), /debug/pprof/heap (gzipped pprof, as Go serves it)
 * and / (the HTML page over the reports kept, as --format html draws it).
 *
 * Building a report has side effects (a growth sample per stack, Python
 * type deltas, exited processes forgotten), so the HTTP thread never builds
 * one: the main thread renders each report it builds into both bodies and
 * publishes them, and requests are answered with the latest published
 * bodies, shared by reference count.
 */
#ifndef LT_AGENT_H
#define LT_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "report/report_types.h"

struct lt_web_config;

struct lt_session;

/* Serve mode without INTERVAL: a report (published, not printed) this often. */
#define LT_AGENT_DEFAULT_INTERVAL_S 10.0
/* The reports / charts, as the page's JSON: a host's report can be large. */
#define LT_AGENT_PAGE_MAX_BYTES (16u << 20)

struct lt_agent;

/*
 * Serves on host:port (port 0: any free port, see lt_agent_port), with the
 * TLS and users of web (NULL: plain HTTP, anyone; it must outlive the
 * agent). Until the first lt_agent_publish, /metrics and /debug/pprof/heap
 * answer 503. Returns 0, or a negative errno with one line in err.
 */
int lt_agent_start(const char *host, uint16_t port, const struct lt_web_config *web,
		   struct lt_agent **out, char *err, size_t errlen);
uint16_t lt_agent_port(const struct lt_agent *a);

/* Renders r and serves it from now on. On failure (ENOMEM, EIO) the
 * previous bodies stay served; -ENOMEM with only the page's failed. */
int lt_agent_publish(struct lt_agent *a, const struct lt_report *r);

/* What is known before the first report: s's counters and no process.
 * Nothing in s changes. */
int lt_agent_publish_start(struct lt_agent *a, const struct lt_session *s);

/* Stops the HTTP thread, then frees what was published. NULL is fine. */
void lt_agent_stop(struct lt_agent *a);

#endif
