// SPDX-License-Identifier: MIT
#include "output/http_auth.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Checks waiting at most; each costs ~56 ms at bcrypt cost 10. */
#define MAX_WAITING 64

struct job {
	struct MHD_Connection *conn;
	struct lt_auth_ticket *ticket;
	char *user, *password;
};

struct lt_http_auth {
	struct lt_basic_auth *check;
	void (*wake)(void *ctx);
	void *wake_ctx;
	pthread_t thread;
	pthread_mutex_t lock; /* the queue and stopping */
	pthread_cond_t work;
	struct job queue[MAX_WAITING];
	size_t head, len;
	bool stopping;
};

static void job_free(struct job *j)
{
	if (j->password)
		explicit_bzero(j->password, strlen(j->password));
	free(j->user);
	free(j->password);
	memset(j, 0, sizeof(*j));
}

static void *check_loop(void *arg)
{
	struct lt_http_auth *a = arg;
	struct job j;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!a->len && !a->stopping)
			pthread_cond_wait(&a->work, &a->lock);
		if (a->stopping)
			break;
		j = a->queue[a->head];
		a->head = (a->head + 1) % MAX_WAITING;
		a->len--;
		pthread_mutex_unlock(&a->lock);
		atomic_store(&j.ticket->verdict, lt_basic_auth_check(a->check, j.user, j.password) ?
							 LT_AUTH_GOOD :
							 LT_AUTH_BAD);
		MHD_resume_connection(j.conn);
		a->wake(a->wake_ctx);
		job_free(&j);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int lt_http_auth_start(const struct lt_web_user *users, size_t nusers, void (*wake)(void *ctx),
		       void *wake_ctx, struct lt_http_auth **out)
{
	struct lt_http_auth *a = calloc(1, sizeof(*a));
	sigset_t all, old;
	int ret;

	*out = NULL;
	if (!a)
		return -ENOMEM;
	a->wake = wake;
	a->wake_ctx = wake_ctx;
	a->check = lt_basic_auth_new(users, nusers);
	if (!a->check) {
		free(a);
		return -ENOMEM;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->work, NULL);
	/* Signals are the main thread's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = -pthread_create(&a->thread, NULL, check_loop, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		pthread_cond_destroy(&a->work);
		pthread_mutex_destroy(&a->lock);
		lt_basic_auth_free(a->check);
		free(a);
		return ret;
	}
	*out = a;
	return 0;
}

void lt_http_auth_stop(struct lt_http_auth *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_cond_signal(&a->work);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	for (; a->len; a->len--, a->head = (a->head + 1) % MAX_WAITING) {
		struct job *j = &a->queue[a->head];

		atomic_store(&j->ticket->verdict, LT_AUTH_BAD);
		MHD_resume_connection(j->conn);
		job_free(j);
	}
	pthread_cond_destroy(&a->work);
	pthread_mutex_destroy(&a->lock);
	lt_basic_auth_free(a->check);
	free(a);
}

/* Strings from libmicrohttpd are its own to free; the job keeps copies. */
static enum lt_gate enqueue(struct lt_http_auth *a, struct MHD_Connection *conn,
			    struct lt_auth_ticket *ticket, const char *user, const char *password)
{
	struct job j = { .conn = conn, .ticket = ticket };
	enum lt_gate gate = LT_GATE_WAIT;

	j.user = strdup(user);
	j.password = strdup(password);
	if (!j.user || !j.password) {
		job_free(&j);
		return LT_GATE_NOMEM;
	}
	atomic_store(&ticket->verdict, LT_AUTH_UNKNOWN);
	pthread_mutex_lock(&a->lock);
	if (a->len == MAX_WAITING || a->stopping) {
		gate = LT_GATE_BUSY;
	} else {
		/* Suspended before the thread can resume it. */
		MHD_suspend_connection(conn);
		a->queue[(a->head + a->len) % MAX_WAITING] = j;
		a->len++;
		pthread_cond_signal(&a->work);
	}
	pthread_mutex_unlock(&a->lock);
	if (gate != LT_GATE_WAIT)
		job_free(&j);
	return gate;
}

enum lt_gate lt_http_auth_gate(struct lt_http_auth *a, struct MHD_Connection *conn,
			       struct lt_auth_ticket *ticket)
{
	char *password = NULL, *user = MHD_basic_auth_get_username_password(conn, &password);
	enum lt_gate gate = LT_GATE_REFUSE;

	if (user && password) {
		switch (lt_basic_auth_recall(a->check, user, password)) {
		case LT_AUTH_GOOD:
			gate = LT_GATE_PASS;
			break;
		case LT_AUTH_BAD:
			break;
		case LT_AUTH_UNKNOWN:
			gate = enqueue(a, conn, ticket, user, password);
			break;
		}
	}
	if (password) {
		explicit_bzero(password, strlen(password));
		MHD_free(password);
	}
	if (user)
		MHD_free(user);
	return gate;
}

enum MHD_Result lt_http_auth_refuse(struct MHD_Connection *conn)
{
	static const char text[] = "leaktrace: authentication required\n";
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(sizeof(text) - 1, (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	ret = MHD_queue_basic_auth_fail_response(conn, "leaktrace", resp);
	MHD_destroy_response(resp);
	return ret;
}
