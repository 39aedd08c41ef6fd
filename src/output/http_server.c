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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

struct lt_http_server {
	struct MHD_Daemon *daemon;
	lt_http_handler handler;
	void *ctx;
	uint16_t port;
};

static enum MHD_Result queue(struct MHD_Connection *conn, const struct lt_http_reply *reply,
			     const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer_with_free_callback_cls(
		reply->len, (void *)reply->body, reply->release, reply->release_cls);
	if (!resp) {
		if (reply->release)
			reply->release(reply->release_cls);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, reply->content_type) !=
		    MHD_YES ||
	    (reply->disposition &&
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
				     reply->disposition) != MHD_YES) ||
	    (allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, reply->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result refuse(struct MHD_Connection *conn, unsigned int status, const char *text,
			      const char *allow)
{
	struct lt_http_reply reply = {
		.status = status,
		.content_type = "text/plain; charset=utf-8",
		.body = text,
		.len = strlen(text),
	};

	return queue(conn, &reply, allow);
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

/*
 * libmicrohttpd calls this first once the request's headers are in, before
 * any body is read, then again once the request is complete. Refusals are
 * queued at the first call, so a body is never read (the connection is
 * closed after the reply); answers at the second, which keeps the
 * connection open for the next scrape.
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	static int headers_seen; /* only its address: marks a request's first call */
	struct lt_http_server *srv = cls;
	struct lt_http_reply reply = {};

	(void)version;
	(void)upload_data;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return refuse(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n", "GET, HEAD");
	if (*upload_data_size || announces_body(conn))
		return refuse(conn, MHD_HTTP_CONTENT_TOO_LARGE, "requests cannot have a body\n", NULL);
	if (!*req_cls) {
		*req_cls = &headers_seen;
		return MHD_YES;
	}
	srv->handler(srv->ctx, url, &reply);
	return queue(conn, &reply, NULL);
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
	    bind(fd, addr, addr_len) || listen(fd, LT_HTTP_MAX_CONNECTIONS) ||
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

int lt_http_server_start(const char *host, uint16_t port, lt_http_handler handler, void *ctx,
			 struct lt_http_server **out, char *err, size_t errlen)
{
	struct lt_http_server *srv = calloc(1, sizeof(*srv));
	sigset_t all, old;
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD;
	int fd, family;

	*out = NULL;
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	srv->handler = handler;
	srv->ctx = ctx;
	fd = listen_on(host, port, &family, &srv->port, err, errlen);
	if (fd < 0) {
		free(srv);
		return fd;
	}
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The server thread inherits this mask: SIGINT, SIGUSR1 and SIGCHLD
	 * must reach the main thread, where they interrupt its poll. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	srv->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LT_HTTP_MEMORY_LIMIT,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)LT_HTTP_MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)LT_HTTP_TIMEOUT_S,
		MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!srv->daemon) {
		/* Past its option checks libmicrohttpd closes fd itself on
		 * failure; before them it does not. Left open rather than risk
		 * closing a descriptor another thread has just been given. */
		snprintf(err, errlen, "cannot start the HTTP server (libmicrohttpd)");
		free(srv);
		return -EIO;
	}
	*out = srv;
	return 0;
}

uint16_t lt_http_server_port(const struct lt_http_server *srv)
{
	return srv->port;
}

void lt_http_server_stop(struct lt_http_server *srv)
{
	if (!srv)
		return;
	/* Joins the server thread and closes the listening socket. */
	MHD_stop_daemon(srv->daemon);
	free(srv);
}
