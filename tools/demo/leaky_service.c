// SPDX-License-Identifier: MIT
/*
 * A toy request handler with two leaks for `make demo`:
 *  - parse_request() forgets to free the header copy on its error path;
 *  - remember_session() adds every session to a cache nothing ever evicts.
 * Everything else it allocates is freed, so only those two stacks remain.
 * Usage: leaky_service [REQUESTS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct session {
	int id;
	char user[56];
	struct session *next;
};

static struct session *session_cache;

static __attribute__((noinline)) int parse_request(int n)
{
	char *headers = malloc(256);
	char *body = malloc(1024);

	snprintf(headers, 256, "GET /item/%d HTTP/1.1", n);
	memset(body, 'x', 1024);
	free(body);
	if (n % 10 == 0)
		return -1; /* the bug: headers leak on the error path */
	free(headers);
	return 0;
}

static __attribute__((noinline)) void remember_session(int n)
{
	struct session *s = calloc(1, sizeof(*s));

	s->id = n;
	snprintf(s->user, sizeof(s->user), "user%d", n % 7);
	s->next = session_cache; /* the cache only ever grows */
	session_cache = s;
}

static __attribute__((noinline)) void handle_request(int n)
{
	char *scratch;

	if (parse_request(n) < 0)
		return;
	scratch = strdup("response");
	remember_session(n);
	free(scratch);
}

int main(int argc, char **argv)
{
	int requests = argc > 1 ? atoi(argv[1]) : 200;

	for (int n = 1; n <= requests; n++) {
		handle_request(n);
		usleep(2000);
	}
	printf("leaky_service: handled %d requests\n", requests);
	return 0;
}
