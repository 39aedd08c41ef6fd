// SPDX-License-Identifier: MIT
/*
 * Two lists, each in deadline order because every entry of a list gets the
 * same timeout from a clock that only moves forward: connections waiting
 * for a request, and connections being answered. The oldest waiting one is
 * the head of the first, so both expiry and eviction look at heads only.
 * A connection that was shut leaves the lists but stays counted in open
 * until the server says it is gone.
 */
#include "output/http_guard.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct client_addr {
	sa_family_t family;
	uint8_t bytes[16];
};

struct lt_guard_conn {
	struct lt_guard_conn *prev, *next;
	struct conn_list *list; /* NULL once shut */
	void *handle;
	struct client_addr addr;
	uint64_t deadline_ns;
};

struct conn_list {
	struct lt_guard_conn *head, *tail;
	uint32_t len;
};

struct lt_http_guard {
	struct lt_http_guard_limits limits;
	void (*shut)(void *handle);
	struct conn_list waiting, answering;
	struct lt_http_counts counts;
};

static void addr_of(const struct sockaddr *sa, socklen_t len, struct client_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa && sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		out->family = AF_INET;
		memcpy(out->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		out->family = AF_INET6;
		memcpy(out->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
	/* Anything else is one anonymous client: still bounded. */
}

static bool same_addr(const struct client_addr *a, const struct client_addr *b)
{
	return a->family == b->family && !memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

static void list_remove(struct lt_guard_conn *c)
{
	struct conn_list *l = c->list;

	if (!l)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	l->len--;
	c->prev = c->next = NULL;
	c->list = NULL;
}

static void list_append(struct conn_list *l, struct lt_guard_conn *c, uint64_t deadline_ns)
{
	list_remove(c);
	c->deadline_ns = deadline_ns;
	c->prev = l->tail;
	c->next = NULL;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->len++;
	c->list = l;
}

/* Out of both lists: it no longer counts against any bound but open. */
static void shut(struct lt_http_guard *g, struct lt_guard_conn *c, uint64_t *counter)
{
	list_remove(c);
	(*counter)++;
	g->shut(c->handle);
}

struct lt_http_guard *lt_http_guard_new(const struct lt_http_guard_limits *limits,
					void (*shut_fn)(void *handle))
{
	struct lt_http_guard *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->limits = *limits;
	g->shut = shut_fn;
	return g;
}

static void free_list(struct conn_list *l)
{
	while (l->head) {
		struct lt_guard_conn *c = l->head;

		list_remove(c);
		free(c);
	}
}

/* Shut connections left no list: the server frees them by lt_guard_closed,
 * which it must have called for all of them before this. */
void lt_http_guard_free(struct lt_http_guard *g)
{
	if (!g)
		return;
	free_list(&g->waiting);
	free_list(&g->answering);
	free(g);
}

/* How many connections addr holds, and its oldest one waiting for a
 * request. At most max_connections entries, once per new connection. */
static uint32_t held_by(const struct lt_http_guard *g, const struct client_addr *a,
			struct lt_guard_conn **oldest_waiting)
{
	uint32_t n = 0;

	*oldest_waiting = NULL;
	for (struct lt_guard_conn *c = g->waiting.head; c; c = c->next) {
		if (same_addr(&c->addr, a)) {
			if (!n)
				*oldest_waiting = c;
			n++;
		}
	}
	for (const struct lt_guard_conn *c = g->answering.head; c; c = c->next)
		n += same_addr(&c->addr, a);
	return n;
}

bool lt_guard_admit(struct lt_http_guard *g, const struct sockaddr *sa, socklen_t len)
{
	struct lt_guard_conn *oldest;
	struct client_addr a;

	addr_of(sa, len, &a);
	/* An address over its share makes room from its own idle connections:
	 * a scraper on the same address as a flood still gets in. */
	if (held_by(g, &a, &oldest) >= g->limits.max_per_client) {
		if (!oldest) {
			g->counts.refused_per_client++;
			return false;
		}
		shut(g, oldest, &g->counts.evicted);
	}
	if (g->waiting.len + g->answering.len < g->limits.max_connections)
		return true;
	if (!g->waiting.head) {
		g->counts.refused_full++;
		return false;
	}
	shut(g, g->waiting.head, &g->counts.evicted);
	return true;
}

struct lt_guard_conn *lt_guard_opened(struct lt_http_guard *g, void *handle,
				      const struct sockaddr *sa, socklen_t len, uint64_t now_ns)
{
	struct lt_guard_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->handle = handle;
	addr_of(sa, len, &c->addr);
	list_append(&g->waiting, c, now_ns + g->limits.request_timeout_ns);
	g->counts.accepted++;
	g->counts.open++;
	return c;
}

void lt_guard_answering(struct lt_http_guard *g, struct lt_guard_conn *c, uint64_t now_ns)
{
	if (c && c->list)
		list_append(&g->answering, c, now_ns + g->limits.answer_timeout_ns);
}

void lt_guard_answered(struct lt_http_guard *g, struct lt_guard_conn *c, uint64_t now_ns)
{
	if (c && c->list)
		list_append(&g->waiting, c, now_ns + g->limits.request_timeout_ns);
}

void lt_guard_closed(struct lt_http_guard *g, struct lt_guard_conn *c)
{
	if (!c)
		return;
	list_remove(c);
	g->counts.open--;
	free(c);
}

uint64_t lt_guard_expire(struct lt_http_guard *g, uint64_t now_ns)
{
	uint64_t next = UINT64_MAX;

	while (g->waiting.head && g->waiting.head->deadline_ns <= now_ns)
		shut(g, g->waiting.head, &g->counts.request_timeouts);
	while (g->answering.head && g->answering.head->deadline_ns <= now_ns)
		shut(g, g->answering.head, &g->counts.answer_timeouts);
	if (g->waiting.head)
		next = g->waiting.head->deadline_ns - now_ns;
	if (g->answering.head && g->answering.head->deadline_ns - now_ns < next)
		next = g->answering.head->deadline_ns - now_ns;
	return next;
}

const struct lt_http_counts *lt_guard_counts(const struct lt_http_guard *g)
{
	return &g->counts;
}
