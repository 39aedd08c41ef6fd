/* SPDX-License-Identifier: MIT */
/*
 * A small read-only HTTP server over libmicrohttpd: one thread of its own,
 * GET and HEAD only, no request bodies, small request headers, connections
 * bounded and timed by the guard (http_guard.h), and optionally TLS (with
 * client certificates) and basic authentication from a --web-config file.
 * What each path answers is up to the handler.
 */
#ifndef LT_HTTP_SERVER_H
#define LT_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "output/http_guard.h"
#include "output/web_config.h"

/* Request headers (and the response's) must fit this much per connection. */
#define LT_HTTP_MEMORY_LIMIT (16 * 1024)

/* What the server has refused and closed, for /metrics. */
struct lt_http_stats {
	struct lt_http_counts conns;
	uint64_t unauthorized; /* 401 answered */
	uint64_t auth_busy;    /* 503: too many new credentials to check at once */
};

struct lt_http_reply {
	unsigned int status;
	const char *content_type;
	const char *disposition; /* Content-Disposition, or NULL */
	const void *body;        /* must stay valid until release is called */
	size_t len;
	/* Called once the server no longer needs body; NULL: body is static. */
	void (*release)(void *cls);
	void *release_cls;
	/* Sent after body, then freed by the server: malloc'd, or NULL. */
	char *tail;
	size_t tail_len;
};

/* Fills reply for a GET or HEAD of path (the query string is not part of
 * it). Runs on the server's thread; stats are the server's as of now. */
typedef void (*lt_http_handler)(void *ctx, const char *path, const struct lt_http_stats *stats,
				struct lt_http_reply *reply);

struct lt_http_server;

/*
 * Listens on host (a numeric IPv4 or IPv6 address, that address only) and
 * port (0: any free port, see lt_http_server_port) and serves from its own
 * thread; web (NULL: plain HTTP, no users) must outlive the server. Returns 0, or a
 * negative errno with one line in err.
 */
int lt_http_server_start(const char *host, uint16_t port, const struct lt_web_config *web,
			 lt_http_handler handler, void *ctx, struct lt_http_server **out,
			 char *err, size_t errlen);
uint16_t lt_http_server_port(const struct lt_http_server *srv);
/* Closes the socket and joins the thread; the handler is not called after. */
void lt_http_server_stop(struct lt_http_server *srv);

#endif
