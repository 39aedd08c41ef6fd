// SPDX-License-Identifier: MIT
/*
 * The bodies the endpoint serves, published by the main thread. A body is
 * immutable once published and freed by whoever drops its last reference:
 * the publisher replacing it, or the HTTP thread when a response that was
 * still sending it completes.
 */
#include "output/agent.h"
#include "options.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/html_history.h"
#include "output/http_metrics.h"
#include "output/http_server.h"
#include "output/protobuf_writer.h"
#include "output/report_prometheus.h"
#include "output/report_writers.h"
#include "report/report_model.h"
#include "session.h"


#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TEXT_TYPE "text/plain; charset=utf-8"

struct lt_body {
	atomic_uint refs;
	size_t len;
	char *data;
};

struct lt_agent {
	struct lt_http_server *http;
	pthread_mutex_t lock; /* guards the three pointers, not the bodies */
	struct lt_body *metrics, *pprof, *page;
	struct lt_html_history history; /* the main thread's only */
};

/* Until the first report. */
static const char index_text[] =
	"leaktrace: no report yet\n"
	"/                   the reports as an HTML page, over time\n"
	"/metrics            Prometheus metrics (text format 0.0.4)\n"
	"/debug/pprof/heap   outstanding allocations, a gzipped pprof profile\n";

static struct lt_body *body_new(char *data, size_t len)
{
	struct lt_body *b = malloc(sizeof(*b));

	if (!b)
		return NULL;
	atomic_init(&b->refs, 1);
	b->len = len;
	b->data = data;
	return b;
}

static void body_unref(void *cls)
{
	struct lt_body *b = cls;

	if (b && atomic_fetch_sub(&b->refs, 1) == 1) {
		free(b->data);
		free(b);
	}
}

static void reply_text(struct lt_http_reply *reply, unsigned int status, const char *text)
{
	reply->status = status;
	reply->content_type = TEXT_TYPE;
	reply->body = text;
	reply->len = strlen(text);
}

/* The server's own counters, fresh at each scrape. */
static void append_http_stats(const struct lt_http_stats *st, struct lt_http_reply *reply)
{
	FILE *f = open_memstream(&reply->tail, &reply->tail_len);

	if (!f)
		return;
	lt_write_http_metrics(f, st);
	if (fclose(f) || !reply->tail_len) {
		free(reply->tail);
		reply->tail = NULL;
		reply->tail_len = 0;
	}
}

/* The HTTP thread: reads the published pointers, nothing else. */
static void on_request(void *ctx, const char *path, const struct lt_http_stats *stats,
		       struct lt_http_reply *reply)
{
	struct lt_agent *a = ctx;
	bool metrics = !strcmp(path, "/metrics"), pprof = !strcmp(path, "/debug/pprof/heap");
	bool page = !strcmp(path, "/");
	struct lt_body *b;

	if (!metrics && !pprof && !page) {
		reply_text(reply, 404, "not found\n");
		return;
	}
	pthread_mutex_lock(&a->lock);
	b = metrics ? a->metrics : pprof ? a->pprof : a->page;
	if (b)
		atomic_fetch_add(&b->refs, 1);
	pthread_mutex_unlock(&a->lock);
	if (!b) {
		reply_text(reply, 503, page ? index_text : "leaktrace: no report yet\n");
		return;
	}
	reply->status = 200;
	reply->content_type = metrics ? METRICS_TYPE :
			      page    ? "text/html; charset=utf-8" :
					"application/octet-stream";
	/* As Go's net/http/pprof names it. */
	reply->disposition = pprof ? "attachment; filename=\"heap\"" : NULL;
	reply->body = b->data;
	reply->len = b->len;
	reply->release = body_unref;
	reply->release_cls = b;
	if (metrics)
		append_http_stats(stats, reply);
}

int lt_agent_start(const char *host, uint16_t port, const struct lt_web_config *web,
		   struct lt_agent **out, char *err, size_t errlen)
{
	struct lt_agent *a = calloc(1, sizeof(*a));
	int ret;

	*out = NULL;
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&a->lock, NULL);
	a->history.max_bytes = LT_AGENT_PAGE_MAX_BYTES;
	ret = lt_http_server_start(host, port, web, on_request, a, &a->http, err, errlen);
	if (ret) {
		pthread_mutex_destroy(&a->lock);
		free(a);
		return ret;
	}
	*out = a;
	return 0;
}

uint16_t lt_agent_port(const struct lt_agent *a)
{
	return lt_http_server_port(a->http);
}

/* What write(f, ctx) puts in a memory stream, as a body; NULL if it failed
 * (it returns non-zero) or memory ran out. */
static struct lt_body *render_text(int (*write)(FILE *f, const void *ctx), const void *ctx)
{
	struct lt_body *b;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f)
		return NULL;
	err = write(f, ctx) || ferror(f);
	if (fclose(f) || err) {
		free(buf);
		return NULL;
	}
	b = body_new(buf, len);
	if (!b)
		free(buf);
	return b;
}

static int write_metrics(FILE *f, const void *r)
{
	const struct lt_prom_params params = {
		.version = LT_VERSION,
		.max_processes = LT_PROM_DEFAULT_MAX_SERIES,
		.max_containers = LT_PROM_DEFAULT_MAX_SERIES,
	};

	lt_report_write_prometheus(f, r, &params);
	return 0;
}

static int write_page(FILE *f, const void *history)
{
	return lt_report_write_html_history(f, history);
}

static struct lt_body *render_pprof(const struct lt_report *r, int *err)
{
	struct lt_body *b = NULL;
	struct lt_pb_buf gz;

	lt_pb_init(&gz);
	*err = lt_report_gzip_pprof(r, &gz);
	if (!*err) {
		b = body_new((char *)gz.data, gz.len);
		*err = b ? 0 : -ENOMEM;
	}
	if (!b)
		lt_pb_free(&gz);
	return b;
}

/* The HTML page over the reports kept so far, r the newest. NULL: out of
 * memory (the history may then lack r). */
static struct lt_body *render_page(struct lt_agent *a, const struct lt_report *r)
{
	if (lt_html_history_add(&a->history, r))
		return NULL;
	return render_text(write_page, &a->history);
}

int lt_agent_publish(struct lt_agent *a, const struct lt_report *r)
{
	struct lt_body *metrics = render_text(write_metrics, r), *pprof = NULL, *page = NULL;
	struct lt_body *old_metrics, *old_pprof, *old_page;
	int err = -ENOMEM;

	if (!metrics)
		return -ENOMEM;
	pprof = render_pprof(r, &err);
	if (!pprof) {
		body_unref(metrics);
		return err;
	}
	/* The page is a view; a failure leaves the previous one served. */
	page = render_page(a, r);
	pthread_mutex_lock(&a->lock);
	old_metrics = a->metrics;
	old_pprof = a->pprof;
	old_page = page ? a->page : NULL;
	a->metrics = metrics;
	a->pprof = pprof;
	if (page)
		a->page = page;
	pthread_mutex_unlock(&a->lock);
	body_unref(old_metrics);
	body_unref(old_pprof);
	body_unref(old_page);
	return page ? 0 : -ENOMEM;
}

int lt_agent_publish_start(struct lt_agent *a, const struct lt_session *s)
{
	struct lt_report r;

	lt_report_fill_header(s, false, lt_now_ns(), &r);
	return lt_agent_publish(a, &r);
}

void lt_agent_stop(struct lt_agent *a)
{
	if (!a)
		return;
	/* After this no request is running and every response was released. */
	lt_http_server_stop(a->http);
	body_unref(a->metrics);
	body_unref(a->pprof);
	body_unref(a->page);
	lt_html_history_free(&a->history);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
