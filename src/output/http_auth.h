/* SPDX-License-Identifier: MIT */
/*
 * The basic-authentication gate of the HTTP server. Remembered credentials
 * pass or fail at once; new ones are checked by bcrypt on a thread of
 * their own while their connection is suspended, so that a client sending
 * wrong passwords slows only other new credentials, never the server's
 * loop or a scraper whose credentials are already known.
 */
#ifndef LT_HTTP_AUTH_H
#define LT_HTTP_AUTH_H

#include <stdatomic.h>
#include <stddef.h>

#include <microhttpd.h>

#include "output/basic_auth.h"
#include "output/web_config.h"

/* A request's verdict, written by the checking thread before it resumes
 * the request's connection. */
struct lt_auth_ticket {
	atomic_int verdict; /* enum lt_auth_verdict */
};

enum lt_gate {
	LT_GATE_PASS,
	LT_GATE_REFUSE, /* no or wrong credentials: lt_http_auth_refuse */
	LT_GATE_WAIT,   /* suspended; ticket holds the verdict once resumed */
	LT_GATE_BUSY,   /* too many checks waiting: 503 */
	LT_GATE_NOMEM,
};

struct lt_http_auth;

/* wake(ctx) runs on the checking thread after each resume: libmicrohttpd
 * driven from outside has no wakeup of its own, so the server's loop must
 * be woken to carry the resumed request on. */
int lt_http_auth_start(const struct lt_web_user *users, size_t nusers, void (*wake)(void *ctx),
		       void *wake_ctx, struct lt_http_auth **out);
/* Joins the thread; connections still waiting are resumed, refused. */
void lt_http_auth_stop(struct lt_http_auth *a);

/* Once per request, on the server's thread, with the headers in. */
enum lt_gate lt_http_auth_gate(struct lt_http_auth *a, struct MHD_Connection *conn,
			       struct lt_auth_ticket *ticket);
/* 401 with the challenge. */
enum MHD_Result lt_http_auth_refuse(struct MHD_Connection *conn);

#endif
