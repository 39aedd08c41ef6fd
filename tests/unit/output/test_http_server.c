// SPDX-License-Identifier: MIT
/*
 * The --serve endpoint over real sockets: a server on 127.0.0.1 (or ::1)
 * and an ephemeral port, requests written by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "output/agent.h"
#include "session.h"
#include "output/http_server.h"
#include "output/protobuf_writer.h"
#include "output/report_writers.h"

#include "report_fixture.h"

struct response {
	int status;   /* 0: the connection closed before a status line */
	char headers[4096];
	char *body;
	size_t len;
};

static int connect_to(int family, uint16_t port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				     .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	if (family == AF_INET6)
		assert_int_equal(connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	else
		assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n <= 0)
			return; /* the server may close early: what it answered is checked */
		data += n;
		len -= (size_t)n;
	}
}

/* Reads one response; a HEAD response has no body whatever its length. */
static void read_response(int fd, bool head, struct response *out)
{
	char buf[65536];
	size_t have = 0, want = 0;
	char *end = NULL, *cl;

	memset(out, 0, sizeof(*out));
	for (;;) {
		ssize_t n;

		if (end && have - (size_t)(end + 4 - buf) >= want)
			break;
		if (have == sizeof(buf))
			fail_msg("response larger than the test buffer");
		n = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
		if (!end) {
			end = memmem(buf, have, "\r\n\r\n", 4);
			if (!end)
				continue;
			assert_true(end - buf < (ptrdiff_t)sizeof(out->headers));
			memcpy(out->headers, buf, (size_t)(end - buf));
			out->headers[end - buf] = '\0';
			assert_int_equal(sscanf(out->headers, "HTTP/1.1 %d", &out->status), 1);
			cl = strcasestr(out->headers, "\r\nContent-Length: ");
			want = cl && !head ? strtoul(cl + 18, NULL, 10) : 0;
		}
	}
	if (!end)
		return;
	out->len = have - (size_t)(end + 4 - buf);
	assert_int_equal(out->len, want);
	out->body = malloc(out->len + 1);
	assert_non_null(out->body);
	memcpy(out->body, end + 4, out->len);
	out->body[out->len] = '\0';
}

static void request(int family, uint16_t port, const char *req, struct response *out)
{
	int fd = connect_to(family, port);

	send_all(fd, req, strlen(req));
	read_response(fd, !strncmp(req, "HEAD ", 5), out);
	close(fd);
}

static void get(uint16_t port, const char *path, struct response *out)
{
	char req[512];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
	request(AF_INET, port, req, out);
}

static const char *header(const struct response *r, const char *name)
{
	static char value[512];
	char key[128];
	const char *at, *eol;

	snprintf(key, sizeof(key), "\r\n%s: ", name);
	at = strcasestr(r->headers, key);
	if (!at)
		return NULL;
	at += strlen(key);
	eol = strstr(at, "\r\n");
	snprintf(value, sizeof(value), "%.*s", (int)(eol ? eol - at : (ptrdiff_t)strlen(at)), at);
	return value;
}

static char *gunzip(const char *data, size_t len, size_t *out_len)
{
	size_t cap = 1 << 20;
	char *out = malloc(cap);
	z_stream z;

	assert_non_null(out);
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	*out_len = z.total_out;
	inflateEnd(&z);
	return out;
}

static struct lt_agent *start_agent(uint16_t *port)
{
	struct lt_agent *a;
	char err[256];

	assert_int_equal(lt_agent_start("127.0.0.1", 0, NULL, &a, err, sizeof(err)), 0);
	*port = lt_agent_port(a);
	assert_true(*port > 0);
	return a;
}

static void test_metrics_and_profile(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	struct lt_pb_buf want;
	struct response resp;
	struct lt_agent *a;
	uint16_t port;
	size_t len;
	char *raw;

	(void)state;
	a = start_agent(&port);
	/* Nothing published yet. */
	get(port, "/metrics", &resp);
	assert_int_equal(resp.status, 503);
	free(resp.body);

	make_report(&r, &p, false);
	p.heap.outstanding_bytes = 3107;
	assert_int_equal(lt_agent_publish(a, &r), 0);
	get(port, "/metrics?name[]=x", &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(header(&resp, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(resp.body, "\nleaktrace_process_outstanding_bytes{pid=\"42\",comm=\"a;b\",container=\"\"} 3107\n"));
	assert_non_null(strstr(resp.body, "\nleaktrace_build_info{version=\""));
	free(resp.body);

	get(port, "/debug/pprof/heap", &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(header(&resp, "Content-Type"), "application/octet-stream");
	assert_string_equal(header(&resp, "Content-Disposition"), "attachment; filename=\"heap\"");
	lt_pb_init(&want);
	assert_int_equal(lt_report_encode_pprof(&r, &want), 0);
	raw = gunzip(resp.body, resp.len, &len);
	assert_int_equal(len, want.len);
	assert_memory_equal(raw, want.data, len);
	free(raw);
	lt_pb_free(&want);
	free(resp.body);

	/* A newer report replaces the old one. */
	p.heap.outstanding_bytes = 5000;
	assert_int_equal(lt_agent_publish(a, &r), 0);
	get(port, "/metrics", &resp);
	assert_non_null(strstr(resp.body, "comm=\"a;b\",container=\"\"} 5000\n"));
	free(resp.body);
	lt_agent_stop(a);
}

/* The session's counters before the first report: no process. */
static void test_publish_start(void **state)
{
	struct lt_options opts = { .min_age_ms = 500 };
	struct lt_session s;
	struct response resp;
	struct lt_agent *a;
	uint16_t port;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.opts = &opts;
	s.start_ns = lt_now_ns();
	s.stats.alloc_events = 17;
	a = start_agent(&port);
	assert_int_equal(lt_agent_publish_start(a, &s), 0);
	get(port, "/metrics", &resp);
	assert_int_equal(resp.status, 200);
	assert_non_null(strstr(resp.body, "\nleaktrace_events_total{event=\"alloc\"} 17\n"));
	assert_non_null(strstr(resp.body, "\nleaktrace_processes 0\n"));
	free(resp.body);
	get(port, "/debug/pprof/heap", &resp);
	assert_int_equal(resp.status, 200);
	assert_true(resp.len > 2 && (unsigned char)resp.body[0] == 0x1f &&
		    (unsigned char)resp.body[1] == 0x8b);
	free(resp.body);
	lt_agent_stop(a);
}

static void test_refusals(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	struct response resp;
	struct lt_agent *a;
	uint16_t port;
	char *big;
	/* Over our limit, under libmicrohttpd's default of 32 KiB. */
	size_t big_len = LT_HTTP_MEMORY_LIMIT + LT_HTTP_MEMORY_LIMIT / 2;

	(void)state;
	a = start_agent(&port);
	make_report(&r, &p, false);
	assert_int_equal(lt_agent_publish(a, &r), 0);

	get(port, "/", &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(header(&resp, "Content-Type"), "text/html; charset=utf-8");
	assert_non_null(strstr(resp.body, "<!DOCTYPE html>"));
	assert_non_null(strstr(resp.body, "\"schema\":\"leaktrace/html/v2\""));
	free(resp.body);
	get(port, "/metrics/", &resp);
	assert_int_equal(resp.status, 404);
	free(resp.body);
	get(port, "/debug/pprof/", &resp);
	assert_int_equal(resp.status, 404);
	free(resp.body);
	get(port, "/etc/passwd", &resp);
	assert_int_equal(resp.status, 404);
	free(resp.body);

	request(AF_INET, port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", &resp);
	assert_int_equal(resp.status, 405);
	assert_string_equal(header(&resp, "Allow"), "GET, HEAD");
	free(resp.body);
	request(AF_INET, port, "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &resp);
	assert_int_equal(resp.status, 405);
	free(resp.body);

	request(AF_INET, port, "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", &resp);
	assert_int_equal(resp.status, 413);
	free(resp.body);
	request(AF_INET, port,
		"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		&resp);
	assert_int_equal(resp.status, 413);
	free(resp.body);

	/* Headers past the per-connection memory: refused, never served. */
	big = malloc(big_len + 64);
	assert_non_null(big);
	strcpy(big, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(big + strlen(big), 'a', big_len);
	strcpy(big + strlen("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ") + big_len, "\r\n\r\n");
	request(AF_INET, port, big, &resp);
	assert_int_equal(resp.status, 431);
	free(resp.body);
	free(big);

	/* HEAD: the headers of GET, no body. */
	request(AF_INET, port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(header(&resp, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
	assert_true(strtoul(header(&resp, "Content-Length"), NULL, 10) > 1000);
	assert_int_equal(resp.len, 0);
	free(resp.body);

	/* Still serving after all that. */
	get(port, "/metrics", &resp);
	assert_int_equal(resp.status, 200);
	free(resp.body);
	lt_agent_stop(a);
}

/* Prometheus keeps its connection between scrapes. */
static void test_keep_alive(void **state)
{
	const char *req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	struct lt_report r;
	struct lt_report_process p;
	struct response resp;
	struct lt_agent *a;
	uint16_t port;
	int fd;

	(void)state;
	a = start_agent(&port);
	make_report(&r, &p, false);
	assert_int_equal(lt_agent_publish(a, &r), 0);
	fd = connect_to(AF_INET, port);
	for (int i = 0; i < 3; i++) {
		send_all(fd, req, strlen(req));
		read_response(fd, false, &resp);
		assert_int_equal(resp.status, 200);
		assert_null(strcasestr(resp.headers, "Connection: close"));
		free(resp.body);
	}
	close(fd);
	lt_agent_stop(a);
}

struct scraper {
	uint16_t port;
	int rounds;
	int bad; /* responses that were neither of the published bodies */
	atomic_int *finished;
};

/* Scrapes while the main thread publishes: every answer must be one whole
 * report, the old or the new. */
static void *scrape(void *arg)
{
	struct scraper *sc = arg;
	struct response resp;

	for (int i = 0; i < sc->rounds; i++) {
		get(sc->port, i % 2 ? "/metrics" : "/debug/pprof/heap", &resp);
		if (resp.status != 200)
			sc->bad++;
		else if (i % 2 && !strstr(resp.body, "container=\"\"} 1000\n") &&
			 !strstr(resp.body, "container=\"\"} 2000\n"))
			sc->bad++;
		else if (!(i % 2) && (unsigned char)resp.body[0] != 0x1f)
			sc->bad++;
		free(resp.body);
	}
	atomic_fetch_add(sc->finished, 1);
	return NULL;
}

static void test_publish_while_serving(void **state)
{
	struct lt_report r;
	struct lt_report_process p;
	atomic_int finished = 0;
	struct scraper sc = { .rounds = 300, .finished = &finished };
	pthread_t threads[2];
	long published = 0;
	struct scraper scs[2];
	struct lt_agent *a;

	(void)state;
	a = start_agent(&sc.port);
	make_report(&r, &p, false);
	p.heap.outstanding_bytes = 1000;
	assert_int_equal(lt_agent_publish(a, &r), 0);
	for (int t = 0; t < 2; t++) {
		scs[t] = sc;
		assert_int_equal(pthread_create(&threads[t], NULL, scrape, &scs[t]), 0);
	}
	while (atomic_load(&finished) < 2) {
		p.heap.outstanding_bytes = published++ % 2 ? 1000 : 2000;
		assert_int_equal(lt_agent_publish(a, &r), 0);
	}
	for (int t = 0; t < 2; t++) {
		pthread_join(threads[t], NULL);
		assert_int_equal(scs[t].bad, 0);
	}
	assert_true(published > 10);
	lt_agent_stop(a);
}

static void answer_ok(void *ctx, const char *path, const struct lt_http_stats *stats,
		      struct lt_http_reply *reply)
{
	(void)ctx;
	(void)path;
	(void)stats;
	reply->status = 200;
	reply->content_type = "text/plain";
	reply->body = "ok\n";
	reply->len = 3;
}

static void test_binding(void **state)
{
	struct lt_http_server *srv, *again;
	struct response resp;
	char err[256], want[128];
	uint16_t port;

	(void)state;
	assert_int_equal(lt_http_server_start("::1", 0, NULL, answer_ok, NULL, &srv, err, sizeof(err)), 0);
	port = lt_http_server_port(srv);
	request(AF_INET6, port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body, "ok\n");
	free(resp.body);
	lt_http_server_stop(srv);

	/* A port taken: one line saying so. */
	assert_int_equal(lt_http_server_start("127.0.0.1", 0, NULL, answer_ok, NULL, &srv, err, sizeof(err)), 0);
	port = lt_http_server_port(srv);
	assert_int_equal(lt_http_server_start("127.0.0.1", port, NULL, answer_ok, NULL, &again, err,
					      sizeof(err)), -EADDRINUSE);
	assert_null(again);
	snprintf(want, sizeof(want), "cannot listen on 127.0.0.1:%u: Address already in use", port);
	assert_string_equal(err, want);
	lt_http_server_stop(srv);

	assert_int_equal(lt_http_server_start("localhost", 0, NULL, answer_ok, NULL, &srv, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "localhost is not a numeric IPv4 or IPv6 address");
	/* An address that is not this machine's. */
	assert_int_equal(lt_http_server_start("198.51.100.1", 0, NULL, answer_ok, NULL, &srv, err, sizeof(err)),
			 -EADDRNOTAVAIL);
	lt_http_server_stop(NULL);
}

/* Answers with the server's refusal counts, to see them move. */
static void answer_stats(void *ctx, const char *path, const struct lt_http_stats *stats,
			 struct lt_http_reply *reply)
{
	static __thread char text[128];

	(void)ctx;
	(void)path;
	snprintf(text, sizeof(text), "unauthorized %llu accepted %llu\n",
		 (unsigned long long)stats->unauthorized,
		 (unsigned long long)stats->conns.accepted);
	reply->status = 200;
	reply->content_type = "text/plain";
	reply->body = text;
	reply->len = strlen(text);
}

/* "prometheus:s3cret", and a hash of "s3cret" at bcrypt cost 4. */
#define CREDS_GOOD "Authorization: Basic cHJvbWV0aGV1czpzM2NyZXQ=\r\n"
#define CREDS_BAD "Authorization: Basic cHJvbWV0aGV1czpndWVzcw==\r\n" /* prometheus:guess */
#define HASH_S3CRET "$2b$04$abcdefghijklmnopqrstuuLZYjhNQAOdpbzt4WxWlUHjv1wsyH5DG"

static void auth_request(uint16_t port, const char *creds, struct response *out)
{
	char req[512];

	snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\nHost: x\r\n%s\r\n", creds);
	request(AF_INET, port, req, out);
}

struct auth_client {
	uint16_t port;
	int status;
};

static void *auth_client(void *arg)
{
	struct auth_client *c = arg;
	struct response resp;

	auth_request(c->port, CREDS_GOOD, &resp);
	c->status = resp.status;
	free(resp.body);
	return NULL;
}

static void test_basic_auth_gate(void **state)
{
	struct lt_web_user user = { .name = "prometheus", .hash = HASH_S3CRET };
	struct lt_web_config web = { .users = &user, .nusers = 1 };
	struct auth_client clients[8];
	pthread_t threads[8];
	struct lt_http_server *srv;
	struct response resp;
	char err[256];
	uint16_t port;

	(void)state;
	assert_int_equal(lt_http_server_start("127.0.0.1", 0, &web, answer_stats, NULL, &srv, err,
					      sizeof(err)),
			 0);
	port = lt_http_server_port(srv);
	auth_request(port, "", &resp);
	assert_int_equal(resp.status, 401);
	assert_string_equal(header(&resp, "WWW-Authenticate"), "Basic realm=\"leaktrace\"");
	free(resp.body);
	/* New credentials: checked by the other thread, the request suspended
	 * meanwhile; several at once all come back. */
	for (int i = 0; i < 8; i++) {
		clients[i].port = port;
		assert_int_equal(pthread_create(&threads[i], NULL, auth_client, &clients[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_int_equal(clients[i].status, 200);
	}
	auth_request(port, CREDS_BAD, &resp);
	assert_int_equal(resp.status, 401);
	free(resp.body);
	/* Remembered, both ways. */
	auth_request(port, CREDS_BAD, &resp);
	assert_int_equal(resp.status, 401);
	free(resp.body);
	auth_request(port, CREDS_GOOD, &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body, "unauthorized 3 accepted 12\n");
	free(resp.body);
	lt_http_server_stop(srv);
}

/* Credentials whose check (bcrypt cost 10, ~56 ms each) is still waiting
 * when the server stops: their requests are resumed and refused, nothing
 * hangs, aborts or leaks. */
struct waiting_client {
	uint16_t port;
	const char *creds;
	int status;
};

static atomic_int clients_sent;

static void *waiting_client(void *arg)
{
	struct waiting_client *c = arg;
	struct response resp;
	char req[512];
	int fd = connect_to(AF_INET, c->port);

	snprintf(req, sizeof(req), "GET /metrics HTTP/1.1\r\nHost: x\r\n%s\r\n", c->creds);
	send_all(fd, req, strlen(req));
	atomic_fetch_add(&clients_sent, 1);
	read_response(fd, false, &resp);
	close(fd);
	c->status = resp.status;
	free(resp.body);
	return NULL;
}

static void test_stop_with_checks_waiting(void **state)
{
	/* A cost-10 hash of a password no test sends. */
	struct lt_web_user user = {
		.name = "prometheus",
		.hash = "$2b$10$QQQQQQQQQQQQQQQQQQQQQe8OYRZhZTvtCJ1JWgLNGdUs2NWV7xNWS",
	};
	struct lt_web_config web = { .users = &user, .nusers = 1 };
	static const char *const creds[] = {
		"Authorization: Basic cHJvbWV0aGV1czphMQ==\r\n", /* prometheus:a1 */
		"Authorization: Basic cHJvbWV0aGV1czphMg==\r\n",
		"Authorization: Basic cHJvbWV0aGV1czphMw==\r\n",
		"Authorization: Basic cHJvbWV0aGV1czphNA==\r\n",
	};
	struct waiting_client clients[4];
	pthread_t threads[4];
	struct lt_http_server *srv;
	char err[256];
	int cut = 0;

	(void)state;
	assert_int_equal(lt_http_server_start("127.0.0.1", 0, &web, answer_stats, NULL, &srv, err,
					      sizeof(err)),
			 0);
	for (int i = 0; i < 4; i++) {
		clients[i] = (struct waiting_client){ .port = lt_http_server_port(srv),
						      .creds = creds[i] };
		assert_int_equal(pthread_create(&threads[i], NULL, waiting_client, &clients[i]), 0);
	}
	while (atomic_load(&clients_sent) < 4)
		usleep(1000);
	usleep(20 * 1000); /* read and suspended: one checked, three queued */
	lt_http_server_stop(srv);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		/* Refused, or cut off with no answer: never let in. */
		assert_true(clients[i].status == 401 || clients[i].status == 0);
		cut += clients[i].status == 0;
	}
	assert_true(cut >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_and_profile),
		cmocka_unit_test(test_publish_start),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_publish_while_serving),
		cmocka_unit_test(test_binding),
		cmocka_unit_test(test_basic_auth_gate),
		cmocka_unit_test(test_stop_with_checks_waiting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
