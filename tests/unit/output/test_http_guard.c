// SPDX-License-Identifier: MIT
/*
 * The connection guard on its own: admissions, evictions and deadlines
 * with a clock given by the test, and shut() recorded instead of sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "output/http_guard.h"

#define S 1000000000ULL

static intptr_t shut_log[64];
static size_t nshut;

static void record_shut(void *handle)
{
	assert_true(nshut < 64);
	shut_log[nshut++] = (intptr_t)handle;
}

static struct lt_http_guard *guard(uint32_t max, uint32_t per_client)
{
	const struct lt_http_guard_limits limits = {
		.max_connections = max,
		.max_per_client = per_client,
		.request_timeout_ns = 10 * S,
		.answer_timeout_ns = 30 * S,
	};

	nshut = 0;
	return lt_http_guard_new(&limits, record_shut);
}

static struct sockaddr_in v4(const char *ip)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(40000) };

	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	return sin;
}

/* Admitted and opened, as the server does for a new connection. */
static struct lt_guard_conn *connect_from(struct lt_http_guard *g, const char *ip, intptr_t id,
					  uint64_t now)
{
	struct sockaddr_in sin = v4(ip);

	if (!lt_guard_admit(g, (struct sockaddr *)&sin, sizeof(sin)))
		return NULL;
	return lt_guard_opened(g, (void *)id, (struct sockaddr *)&sin, sizeof(sin), now);
}

static void test_per_client_share(void **state)
{
	struct lt_http_guard *g = guard(16, 3);
	struct lt_guard_conn *c[3], *late;
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_non_null(c[i] = connect_from(g, "10.0.0.1", i + 1, (uint64_t)i * S));
	/* A fourth from that address takes the place of its oldest idle one
	 * (another address's are not touched; the port does not count). */
	assert_non_null(connect_from(g, "10.0.0.2", 5, 3 * S));
	lt_guard_answering(g, c[0], 4 * S);
	assert_non_null(late = connect_from(g, "10.0.0.1", 4, 5 * S));
	assert_int_equal(nshut, 1);
	assert_int_equal(shut_log[0], 2); /* c[0] is being answered: c[1] goes */
	assert_int_equal(lt_guard_counts(g)->evicted, 1);
	lt_guard_closed(g, c[1]);
	/* All three of the address's connections answering: refused. */
	lt_guard_answering(g, c[2], 6 * S);
	lt_guard_answering(g, late, 6 * S);
	assert_null(connect_from(g, "10.0.0.1", 6, 7 * S));
	assert_int_equal(lt_guard_counts(g)->refused_per_client, 1);
	assert_true(lt_guard_admit(g, (struct sockaddr *)&sin6, sizeof(sin6)));
	/* A closed connection gives its place back. */
	lt_guard_closed(g, c[0]);
	assert_non_null(connect_from(g, "10.0.0.1", 7, 8 * S));
	assert_int_equal(lt_guard_counts(g)->open, 4);
	assert_int_equal(lt_guard_counts(g)->accepted, 6);
	assert_int_equal(nshut, 1);
	lt_http_guard_free(g);
}

static void test_evicts_oldest_waiting(void **state)
{
	struct lt_http_guard *g = guard(3, 8);
	struct lt_guard_conn *a, *b, *c;

	(void)state;
	a = connect_from(g, "10.0.0.1", 1, 1 * S);
	b = connect_from(g, "10.0.0.2", 2, 2 * S);
	c = connect_from(g, "10.0.0.3", 3, 3 * S);
	/* a is being answered: b is the oldest waiting one. */
	lt_guard_answering(g, a, 4 * S);
	assert_non_null(connect_from(g, "10.0.0.4", 4, 5 * S));
	assert_int_equal(nshut, 1);
	assert_int_equal(shut_log[0], 2);
	assert_int_equal(lt_guard_counts(g)->evicted, 1);
	/* Shut, but open until the server says it is gone. */
	assert_int_equal(lt_guard_counts(g)->open, 4);
	lt_guard_closed(g, b);
	assert_int_equal(lt_guard_counts(g)->open, 3);
	/* c next; then only a is left, answering, and cannot be evicted. */
	assert_non_null(connect_from(g, "10.0.0.5", 5, 6 * S));
	assert_int_equal(shut_log[1], 3);
	lt_guard_closed(g, c);
	assert_int_equal(nshut, 2);
	lt_http_guard_free(g);
}

static void test_full_of_answers_refuses(void **state)
{
	struct lt_http_guard *g = guard(2, 8);
	struct lt_guard_conn *a = connect_from(g, "10.0.0.1", 1, 0);
	struct lt_guard_conn *b = connect_from(g, "10.0.0.2", 2, 0);

	(void)state;
	lt_guard_answering(g, a, 0);
	lt_guard_answering(g, b, 0);
	assert_null(connect_from(g, "10.0.0.3", 3, 0));
	assert_int_equal(lt_guard_counts(g)->refused_full, 1);
	assert_int_equal(nshut, 0);
	/* Answered and kept alive: waiting again, so evictable. */
	lt_guard_answered(g, a, 1 * S);
	assert_non_null(connect_from(g, "10.0.0.3", 3, 2 * S));
	assert_int_equal(shut_log[0], 1);
	lt_guard_closed(g, a);
	lt_http_guard_free(g);
}

static void test_deadlines(void **state)
{
	struct lt_http_guard *g = guard(8, 8);
	struct lt_guard_conn *idle, *slow_reader, *kept;

	(void)state;
	idle = connect_from(g, "10.0.0.1", 1, 0);
	slow_reader = connect_from(g, "10.0.0.2", 2, 1 * S);
	kept = connect_from(g, "10.0.0.3", 3, 2 * S);
	lt_guard_answering(g, slow_reader, 3 * S);
	/* kept got its answer at 5 s: a new 10 s for its next request. */
	lt_guard_answering(g, kept, 4 * S);
	lt_guard_answered(g, kept, 5 * S);
	assert_int_equal(lt_guard_expire(g, 9 * S), 1 * S);
	assert_int_equal(nshut, 0);
	assert_int_equal(lt_guard_expire(g, 10 * S), 5 * S);
	assert_int_equal(nshut, 1);
	assert_int_equal(shut_log[0], 1);
	assert_int_equal(lt_guard_expire(g, 15 * S), 18 * S);
	assert_int_equal(shut_log[1], 3);
	assert_int_equal(lt_guard_expire(g, 33 * S), UINT64_MAX);
	assert_int_equal(shut_log[2], 2);
	assert_int_equal(lt_guard_counts(g)->request_timeouts, 2);
	assert_int_equal(lt_guard_counts(g)->answer_timeouts, 1);
	/* Shut ones are not shut again. */
	assert_int_equal(lt_guard_expire(g, 100 * S), UINT64_MAX);
	assert_int_equal(nshut, 3);
	/* Late news about a shut connection changes nothing. */
	lt_guard_answered(g, kept, 101 * S);
	assert_int_equal(lt_guard_expire(g, 200 * S), UINT64_MAX);
	lt_guard_closed(g, idle);
	lt_guard_closed(g, slow_reader);
	lt_guard_closed(g, kept);
	assert_int_equal(lt_guard_counts(g)->open, 0);
	lt_http_guard_free(g);
}

static void test_unknown_family_is_one_client(void **state)
{
	struct lt_http_guard *g = guard(8, 2);
	struct sockaddr unix_like = { .sa_family = AF_UNIX };
	struct lt_guard_conn *a, *b;

	(void)state;
	assert_true(lt_guard_admit(g, &unix_like, sizeof(unix_like)));
	a = lt_guard_opened(g, (void *)1, &unix_like, sizeof(unix_like), 0);
	b = lt_guard_opened(g, (void *)2, NULL, 0, 0);
	assert_non_null(a);
	assert_non_null(b);
	lt_guard_answering(g, a, 0);
	lt_guard_answering(g, b, 0);
	assert_false(lt_guard_admit(g, NULL, 0));
	assert_int_equal(lt_guard_counts(g)->refused_per_client, 1);
	lt_http_guard_free(g); /* frees what is still open */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_client_share),
		cmocka_unit_test(test_evicts_oldest_waiting),
		cmocka_unit_test(test_full_of_answers_refuses),
		cmocka_unit_test(test_deadlines),
		cmocka_unit_test(test_unknown_family_is_one_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
