/* SPDX-License-Identifier: MIT */
/*
 * Who may hold a connection to the endpoint, and for how long, so that a
 * scrape never waits on other clients: a bound per client address and
 * overall, a deadline for each request (from the connection's start, or
 * the end of its previous answer, to its complete headers) and for each
 * answer. A new connection takes the place of the oldest one that has not
 * sent a request yet: its own address's when that address holds its
 * share, anyone's when the table is full. Only when every candidate is
 * being answered is it refused.
 *
 * libmicrohttpd 0.9.75 only closes a connection after a stretch of silence,
 * which a client that sends one byte at a time never gives; its own
 * per-address and overall limits close connections without telling anyone.
 * The guard does both and counts what it refuses and closes. It knows no
 * sockets: it calls shut() on a connection it closes, and the server tells
 * it when a connection opens, is answered and is gone. One thread only.
 */
#ifndef LT_HTTP_GUARD_H
#define LT_HTTP_GUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define LT_HTTP_MAX_CONNECTIONS 512
#define LT_HTTP_MAX_PER_CLIENT 32
/* From a connection's start, or its last answer, to a whole request. */
#define LT_HTTP_REQUEST_TIMEOUT_S 10
/* From a whole request to the last byte of its answer. */
#define LT_HTTP_ANSWER_TIMEOUT_S 30

struct lt_http_counts {
	uint64_t accepted;
	uint64_t refused_per_client; /* the address's share was all answering */
	uint64_t refused_full;       /* every connection was answering */
	uint64_t evicted;            /* idle, made room for a newer one */
	uint64_t request_timeouts;   /* no whole request in time */
	uint64_t answer_timeouts;    /* the answer was not taken in time */
	uint32_t open;               /* connections now, closing ones included */
};

struct lt_http_guard_limits {
	uint32_t max_connections, max_per_client;
	uint64_t request_timeout_ns, answer_timeout_ns;
};

/* The guard's record of one connection, opaque to the server. */
struct lt_guard_conn;
struct lt_http_guard;

/* shut(handle): make the server close that connection soon (it still
 * reports lt_guard_closed for it later). */
struct lt_http_guard *lt_http_guard_new(const struct lt_http_guard_limits *limits,
					void (*shut)(void *handle));
void lt_http_guard_free(struct lt_http_guard *g);

/* May a connection from addr come in? It may evict an idle one for it. */
bool lt_guard_admit(struct lt_http_guard *g, const struct sockaddr *addr, socklen_t len);
/* It came in: its request deadline starts. NULL: out of memory (shut it). */
struct lt_guard_conn *lt_guard_opened(struct lt_http_guard *g, void *handle,
				      const struct sockaddr *addr, socklen_t len, uint64_t now_ns);
/* Its request is whole: its answer deadline starts. */
void lt_guard_answering(struct lt_http_guard *g, struct lt_guard_conn *c, uint64_t now_ns);
/* Its answer is sent and it stays open: a new request deadline starts. */
void lt_guard_answered(struct lt_http_guard *g, struct lt_guard_conn *c, uint64_t now_ns);
/* It is gone; c is freed. */
void lt_guard_closed(struct lt_http_guard *g, struct lt_guard_conn *c);

/* Shuts the connections past their deadline. Returns the nanoseconds until
 * the next deadline, or UINT64_MAX when there is none. */
uint64_t lt_guard_expire(struct lt_http_guard *g, uint64_t now_ns);

const struct lt_http_counts *lt_guard_counts(const struct lt_http_guard *g);

#endif
