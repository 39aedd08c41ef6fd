// SPDX-License-Identifier: MIT
/*
 * libmicrohttpd with the limits of a read-only endpoint. The listening
 * socket is made here rather than by libmicrohttpd, so that binding
 * errors say why (the port is taken, the address is not ours) and port 0
 * can be asked for and read back.
 */
#include "output/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "base/clock.h"
#include "output/http_auth.h"

/* An evicted connection's slot is freed a turn or two later, and
 * libmicrohttpd takes at most 10 new ones a turn: room for those still
 * closing. */
#define CLOSING_ROOM 64
#define LISTEN_BACKLOG 128

struct lt_http_server {
	struct MHD_Daemon *daemon;
	lt_http_handler handler;
	void *ctx;
	uint16_t port;
	const struct lt_web_config *web;
	struct lt_http_guard *guard;
	struct lt_http_auth *auth; /* NULL: no users */
	struct lt_http_stats stats;
	char priorities[128];
	pthread_t thread;
	bool thread_started;
	atomic_bool stopping;
	int epfd, stopfd, wakefd;
};

/* One request's state, from its headers to its completion. */
struct request {
	struct lt_auth_ticket ticket;
	bool gated; /* the auth gate has been passed through once */
};

static struct lt_guard_conn *guard_conn(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void release_reply(void *cls)
{
	struct lt_http_reply *r = cls;

	if (r->release)
		r->release(r->release_cls);
	free(r->tail);
	free(r);
}

static enum MHD_Result queue(struct lt_http_server *srv, struct MHD_Connection *conn,
			     const struct lt_http_reply *reply, const char *allow)
{
	struct lt_http_reply *r = malloc(sizeof(*r));
	struct MHD_IoVec iov[2];
	struct MHD_Response *resp;
	enum MHD_Result ret;
	bool ok = true;

	if (!r) {
		if (reply->release)
			reply->release(reply->release_cls);
		free(reply->tail);
		return MHD_NO;
	}
	*r = *reply;
	iov[0] = (struct MHD_IoVec){ r->body, r->len };
	iov[1] = (struct MHD_IoVec){ r->tail, r->tail_len };
	resp = MHD_create_response_from_iovec(iov, r->tail_len ? 2 : 1, release_reply, r);
	if (!resp) {
		release_reply(r);
		return MHD_NO;
	}
	ok &= MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type) ==
	      MHD_YES;
	if (r->disposition)
		ok &= MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
					      r->disposition) == MHD_YES;
	if (allow)
		ok &= MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) == MHD_YES;
	for (size_t i = 0; srv->web && i < srv->web->nheaders; i++)
		ok &= MHD_add_response_header(resp, srv->web->headers[i].name,
					      srv->web->headers[i].value) == MHD_YES;
	if (!ok) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result refuse(struct lt_http_server *srv, struct MHD_Connection *conn,
			      unsigned int status, const char *text, const char *allow)
{
	struct lt_http_reply reply = {
		.status = status,
		.content_type = "text/plain; charset=utf-8",
		.body = text,
		.len = strlen(text),
	};

	return queue(srv, conn, &reply, allow);
}

/* A request that says it has a body: Content-Length other than 0, or any
 * Transfer-Encoding (chunked). */
static bool announces_body(struct MHD_Connection *conn)
{
	const char *len = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_CONTENT_LENGTH);

	if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return true;
	return len && strcmp(len, "0") != 0;
}

/* The gate's verdict for a request, queuing the refusal it calls for.
 * Returns true when the request may be answered. */
static bool let_in(struct lt_http_server *srv, struct MHD_Connection *conn, struct request *rq,
		   enum MHD_Result *ret)
{
	enum lt_gate gate;

	*ret = MHD_YES;
	if (!srv->auth)
		return true;
	if (rq->gated) {
		/* Resumed: the checking thread's verdict. */
		gate = atomic_load(&rq->ticket.verdict) == LT_AUTH_GOOD ? LT_GATE_PASS :
									 LT_GATE_REFUSE;
	} else {
		rq->gated = true;
		gate = lt_http_auth_gate(srv->auth, conn, &rq->ticket);
		if (gate == LT_GATE_PASS)
			atomic_store(&rq->ticket.verdict, LT_AUTH_GOOD);
	}
	switch (gate) {
	case LT_GATE_PASS:
	case LT_GATE_WAIT:
		return gate == LT_GATE_PASS;
	case LT_GATE_REFUSE:
		srv->stats.unauthorized++;
		*ret = lt_http_auth_refuse(conn);
		return false;
	case LT_GATE_BUSY:
		srv->stats.auth_busy++;
		*ret = refuse(srv, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
			      "leaktrace: too many logins at once, try again\n", NULL);
		return false;
	case LT_GATE_NOMEM:
		break;
	}
	*ret = MHD_NO;
	return false;
}

/*
 * libmicrohttpd calls this first once the request's headers are in, before
 * any body is read, then again once the request is complete. Refusals are
 * queued at the first call, so a body is never read (the connection is
 * closed after the reply); answers at the second, which keeps the
 * connection open for the next scrape. A request whose credentials must be
 * checked is suspended at the first call and resumed by the checking
 * thread; the second call then reads the verdict.
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct lt_http_server *srv = cls;
	struct lt_http_reply reply = {};
	struct request *rq = *req_cls;
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	if (!rq) {
		lt_guard_answering(srv->guard, guard_conn(conn), lt_now_ns());
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*req_cls = rq;
		if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
			return refuse(srv, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n",
				      "GET, HEAD");
		if (*upload_data_size || announces_body(conn))
			return refuse(srv, conn, MHD_HTTP_CONTENT_TOO_LARGE,
				      "requests cannot have a body\n", NULL);
		let_in(srv, conn, rq, &ret);
		return ret;
	}
	if (*upload_data_size)
		return MHD_NO; /* a body after all: the connection goes */
	if (!let_in(srv, conn, rq, &ret))
		return ret;
	srv->stats.conns = *lt_guard_counts(srv->guard);
	srv->handler(srv->ctx, url, &srv->stats, &reply);
	return queue(srv, conn, &reply, NULL);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct lt_http_server *srv = cls;

	(void)toe;
	free(*req_cls);
	*req_cls = NULL;
	lt_guard_answered(srv->guard, guard_conn(conn), lt_now_ns());
}

/* In the handshake: a certificate the client sent must chain to
 * client_ca_file; none at all is for the request mode to judge. */
static int verify_given(gnutls_session_t s)
{
	unsigned int status = 0, n = 0;

	if (!gnutls_certificate_get_peers(s, &n) || !n)
		return 0;
	return gnutls_certificate_verify_peers2(s, &status) < 0 || status ? -1 : 0;
}

/* The handshake's demands on a client certificate, as client_auth_type
 * says; GnuTLS then refuses a missing or unverified one in the handshake,
 * as Go's TLS does for the exporters. */
static void demand_client_cert(const struct lt_web_config *web, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t s = ci ? ci->tls_session : NULL;

	if (!s)
		return;
	switch (web->client_auth) {
	case LT_CLIENT_AUTH_NONE:
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_IGNORE);
		break;
	case LT_CLIENT_AUTH_REQUEST:
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
		break;
	case LT_CLIENT_AUTH_REQUIRE_ANY:
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
		break;
	case LT_CLIENT_AUTH_VERIFY_IF_GIVEN:
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
		gnutls_session_set_verify_function(s, verify_given);
		break;
	case LT_CLIENT_AUTH_REQUIRE_VERIFY:
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
		gnutls_session_set_verify_function(s, verify_given);
		break;
	}
}

static void socklen_of(const struct sockaddr *sa, socklen_t *len)
{
	*len = !sa ? 0 : sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						     sizeof(struct sockaddr_in);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct lt_http_server *srv = cls;
	const union MHD_ConnectionInfo *fd, *addr;
	socklen_t len;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		lt_guard_closed(srv->guard, *socket_context);
		*socket_context = NULL;
		return;
	}
	fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	addr = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	socklen_of(addr ? addr->client_addr : NULL, &len);
	*socket_context = lt_guard_opened(srv->guard, (void *)(intptr_t)fd->connect_fd,
					  addr ? addr->client_addr : NULL, len, lt_now_ns());
	if (!*socket_context)
		shutdown(fd->connect_fd, SHUT_RDWR);
	if (srv->web && srv->web->tls)
		demand_client_cert(srv->web, conn);
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct lt_http_server *srv = cls;

	return lt_guard_admit(srv->guard, addr, len) ? MHD_YES : MHD_NO;
}

/* The guard's way to close a connection: libmicrohttpd sees the end of
 * the stream on its next turn and closes it as it would any other. The
 * descriptor stays open until libmicrohttpd has reported it closed, and
 * both happen on the loop's thread. */
static void shut_connection(void *handle)
{
	shutdown((int)(intptr_t)handle, SHUT_RDWR);
}

static void wake_loop(void *ctx)
{
	struct lt_http_server *srv = ctx;
	uint64_t one = 1;

	/* Fails only when the counter is full: the loop is awake then. */
	if (write(srv->wakefd, &one, sizeof(one)) != sizeof(one))
		return;
}

static void clear_wake(int fd)
{
	uint64_t count;

	/* EAGAIN: cleared already; the run below sees what woke it anyway. */
	if (read(fd, &count, sizeof(count)) < 0)
		return;
}

/*
 * libmicrohttpd's loop, run here rather than on its own thread, so that
 * each turn can also close the connections past their deadline (see
 * http_guard.h). Its epoll descriptor sits in ours, beside the stop
 * descriptor.
 */
static void *serve_loop(void *arg)
{
	struct lt_http_server *srv = arg;
	struct epoll_event ev[4];

	for (;;) {
		uint64_t wait_ns = lt_guard_expire(srv->guard, lt_now_ns());
		MHD_UNSIGNED_LONG_LONG mhd_ms;
		int timeout_ms, n;
		bool stop = false;

		if (MHD_get_timeout(srv->daemon, &mhd_ms) == MHD_YES &&
		    mhd_ms < wait_ns / 1000000)
			wait_ns = mhd_ms * 1000000;
		/* A second at most: stopping is also read, should the stop
		 * descriptor fail to wake it. */
		timeout_ms = wait_ns > 1000000000ULL ? 1000 : (int)((wait_ns + 999999) / 1000000);
		n = epoll_wait(srv->epfd, ev, 4, timeout_ms);
		for (int i = 0; i < n; i++) {
			stop |= ev[i].data.fd == srv->stopfd;
			if (ev[i].data.fd == srv->wakefd)
				clear_wake(srv->wakefd);
		}
		if (stop || atomic_load(&srv->stopping))
			break;
		MHD_run(srv->daemon);
	}
	return NULL;
}

static void format_endpoint(char *buf, size_t len, int family, const char *host, uint16_t port)
{
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, port);
}

/* A socket listening on exactly host:port. Returns the descriptor or a
 * negative errno, with err filled. */
static int listen_on(const char *host, uint16_t port, int *family, uint16_t *bound, char *err,
		     size_t errlen)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_storage got;
	socklen_t got_len = sizeof(got), addr_len;
	struct sockaddr *addr;
	char where[INET6_ADDRSTRLEN + 16];
	int fd = -1, one = 1, ret;

	if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
		*family = AF_INET;
		addr = (struct sockaddr *)&sin;
		addr_len = sizeof(sin);
	} else if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1) {
		*family = AF_INET6;
		addr = (struct sockaddr *)&sin6;
		addr_len = sizeof(sin6);
	} else {
		snprintf(err, errlen, "%s is not a numeric IPv4 or IPv6 address", host);
		return -EINVAL;
	}
	format_endpoint(where, sizeof(where), *family, host, port);
	/* Close-on-exec: a -c command started later must not inherit it. */
	fd = socket(*family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", where, strerror(-ret));
		return ret;
	}
	/* SO_REUSEADDR only skips TIME_WAIT of a previous run; two listeners
	 * still cannot share a port. V6ONLY: "::" means IPv6 only, as typed. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (*family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, addr, addr_len) || listen(fd, LISTEN_BACKLOG) ||
	    getsockname(fd, (struct sockaddr *)&got, &got_len)) {
		ret = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", where, strerror(-ret));
		close(fd);
		return ret;
	}
	*bound = ntohs(*family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port :
					     ((struct sockaddr_in *)&got)->sin_port);
	return fd;
}

/* GnuTLS's priorities with only the versions the configuration allows. */
static void tls_priorities(const struct lt_web_config *web, char *buf, size_t len)
{
	size_t used = (size_t)snprintf(buf, len, "NORMAL:-VERS-ALL");

	for (int v = web->max_version; v >= web->min_version && used < len; v--)
		used += (size_t)snprintf(buf + used, len - used, ":+VERS-TLS1.%d", v - 10);
}

static int start_daemon(struct lt_http_server *srv, int fd, int family, char *err, size_t errlen)
{
	unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
	struct MHD_OptionItem tls[6] = {}, *o = tls;
	const struct lt_web_config *web = srv->web;

	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (web && web->tls) {
		flags |= MHD_USE_TLS;
		tls_priorities(web, srv->priorities, sizeof(srv->priorities));
		*o++ = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, web->cert_pem };
		*o++ = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, web->key_pem };
		*o++ = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0, srv->priorities };
		if (web->ca_pem)
			*o++ = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, web->ca_pem };
	}
	*o = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	srv->daemon = MHD_start_daemon(
		flags, 0, on_accept, srv, on_request, srv, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LT_HTTP_MEMORY_LIMIT,
		/* The guard's bounds come first; these are a backstop. */
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)(LT_HTTP_MAX_CONNECTIONS + CLOSING_ROOM),
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)(LT_HTTP_MAX_PER_CLIENT + CLOSING_ROOM),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)(LT_HTTP_ANSWER_TIMEOUT_S + 5),
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, srv, MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_ARRAY, tls,
		MHD_OPTION_END);
	if (!srv->daemon) {
		/* Past its option checks libmicrohttpd closes fd itself on
		 * failure; before them it does not. Left open rather than risk
		 * closing a descriptor another thread has just been given. */
		snprintf(err, errlen, "cannot start the HTTP server (libmicrohttpd%s)",
			 web && web->tls ? ", TLS" : "");
		return -EIO;
	}
	return 0;
}

static int start_loop(struct lt_http_server *srv, char *err, size_t errlen)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	struct epoll_event mhd = { .events = EPOLLIN }, stop = { .events = EPOLLIN },
			   wake = { .events = EPOLLIN };
	sigset_t all, old;
	int ret;

	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	srv->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!di || srv->epfd < 0 || srv->stopfd < 0)
		goto fail;
	mhd.data.fd = di->epoll_fd;
	stop.data.fd = srv->stopfd;
	wake.data.fd = srv->wakefd;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, di->epoll_fd, &mhd) ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->stopfd, &stop) ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->wakefd, &wake))
		goto fail;
	/* The thread inherits this mask: SIGINT, SIGUSR1 and SIGCHLD must
	 * reach the main thread, where they interrupt its poll. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = pthread_create(&srv->thread, NULL, serve_loop, srv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		errno = ret;
		goto fail;
	}
	srv->thread_started = true;
	return 0;
fail:
	ret = -errno;
	snprintf(err, errlen, "cannot start the HTTP server's thread: %s", strerror(errno));
	return ret;
}

int lt_http_server_start(const char *host, uint16_t port, const struct lt_web_config *web,
			 lt_http_handler handler, void *ctx, struct lt_http_server **out,
			 char *err, size_t errlen)
{
	const struct lt_http_guard_limits limits = {
		.max_connections = LT_HTTP_MAX_CONNECTIONS,
		.max_per_client = LT_HTTP_MAX_PER_CLIENT,
		.request_timeout_ns = LT_HTTP_REQUEST_TIMEOUT_S * 1000000000ULL,
		.answer_timeout_ns = LT_HTTP_ANSWER_TIMEOUT_S * 1000000000ULL,
	};
	struct lt_http_server *srv = calloc(1, sizeof(*srv));
	int fd, family, ret;

	*out = NULL;
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	srv->handler = handler;
	srv->ctx = ctx;
	srv->web = web;
	srv->epfd = srv->stopfd = -1;
	/* Before the checking thread, which writes to it. */
	srv->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	srv->guard = lt_http_guard_new(&limits, shut_connection);
	ret = srv->wakefd < 0 ? -errno : srv->guard ? 0 : -ENOMEM;
	if (!ret && web && web->nusers)
		ret = lt_http_auth_start(web->users, web->nusers, wake_loop, srv, &srv->auth);
	if (ret) {
		snprintf(err, errlen, "cannot start the HTTP server: %s", strerror(-ret));
		goto fail;
	}
	fd = listen_on(host, port, &family, &srv->port, err, errlen);
	if (fd < 0) {
		ret = fd;
		goto fail;
	}
	ret = start_daemon(srv, fd, family, err, errlen);
	if (!ret)
		ret = start_loop(srv, err, errlen);
	if (ret)
		goto fail;
	*out = srv;
	return 0;
fail:
	lt_http_server_stop(srv);
	return ret;
}

uint16_t lt_http_server_port(const struct lt_http_server *srv)
{
	return srv->port;
}

void lt_http_server_stop(struct lt_http_server *srv)
{
	uint64_t one = 1;

	if (!srv)
		return;
	if (srv->thread_started) {
		atomic_store(&srv->stopping, true);
		if (write(srv->stopfd, &one, sizeof(one)) != sizeof(one))
			(void)0; /* the loop then sees stopping within a second */
		pthread_join(srv->thread, NULL);
	}
	/* Suspended requests are resumed (refused) before the daemon goes. */
	lt_http_auth_stop(srv->auth);
	/* Closes every connection (the guard hears of each) and the socket. */
	if (srv->daemon)
		MHD_stop_daemon(srv->daemon);
	lt_http_guard_free(srv->guard);
	if (srv->epfd >= 0)
		close(srv->epfd);
	if (srv->stopfd >= 0)
		close(srv->stopfd);
	if (srv->wakefd >= 0)
		close(srv->wakefd);
	free(srv);
}
