// SPDX-License-Identifier: MIT
#include "attach/link_reaper.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include <bpf/libbpf.h>

#define LT_CLOSE_THREADS 16

struct close_share {
	struct bpf_link **links;
	size_t n, stride, first;
};

static void *close_some(void *arg)
{
	struct close_share *c = arg;

	for (size_t i = c->first; i < c->n; i += c->stride)
		bpf_link__destroy(c->links[i]);
	return NULL;
}

void lt_links_close_parallel(struct bpf_link **links, size_t n)
{
	struct close_share shares[LT_CLOSE_THREADS];
	pthread_t threads[LT_CLOSE_THREADS];
	bool started[LT_CLOSE_THREADS] = { 0 };
	size_t nthreads = n < LT_CLOSE_THREADS ? n : LT_CLOSE_THREADS;

	for (size_t t = 0; t < nthreads; t++) {
		shares[t] = (struct close_share){ links, n, nthreads, t };
		started[t] = !pthread_create(&threads[t], NULL, close_some, &shares[t]);
	}
	for (size_t t = 0; t < nthreads; t++) {
		if (started[t])
			pthread_join(threads[t], NULL);
		else
			close_some(&shares[t]);
	}
}

struct batch {
	struct bpf_link **links;
	size_t n;
	struct batch *next;
};

struct lt_link_reaper {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct batch *head, *tail;
	size_t pending;
	bool stop;
};

/* Everything queued is closed together: one grace period for the lot. */
static void *reap(void *arg)
{
	struct lt_link_reaper *r = arg;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct batch *b = r->head;
		struct bpf_link **all = NULL;
		size_t n = 0, cap = 0;

		if (!b && r->stop)
			break;
		if (!b) {
			pthread_cond_wait(&r->wake, &r->lock);
			continue;
		}
		for (struct batch *x = b; x; x = x->next)
			cap += x->n;
		all = malloc(cap * sizeof(*all));
		if (all) {
			for (struct batch *x = b; x; x = x->next)
				for (size_t i = 0; i < x->n; i++)
					all[n++] = x->links[i];
			r->head = r->tail = NULL;
		} else {
			/* One batch at a time, then. */
			r->head = b->next;
			if (!r->head)
				r->tail = NULL;
			b->next = NULL;
		}
		pthread_mutex_unlock(&r->lock);
		if (all) {
			lt_links_close_parallel(all, n);
			free(all);
		} else {
			n = b->n;
			lt_links_close_parallel(b->links, b->n);
		}
		while (b) {
			struct batch *next = b->next;

			free(b->links);
			free(b);
			b = next;
		}
		pthread_mutex_lock(&r->lock);
		r->pending -= n;
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static int reaper_new(struct lt_link_reaper **out)
{
	struct lt_link_reaper *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	err = pthread_create(&r->thread, NULL, reap, r);
	if (err) {
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return -err;
	}
	*out = r;
	return 0;
}

int lt_link_reaper_give(struct lt_link_reaper **rp, struct bpf_link **links, size_t n)
{
	struct batch *b;
	int err;

	if (!*rp) {
		err = reaper_new(rp);
		if (err)
			return err;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->links = links;
	b->n = n;
	pthread_mutex_lock(&(*rp)->lock);
	if ((*rp)->tail)
		(*rp)->tail->next = b;
	else
		(*rp)->head = b;
	(*rp)->tail = b;
	(*rp)->pending += n;
	pthread_cond_signal(&(*rp)->wake);
	pthread_mutex_unlock(&(*rp)->lock);
	return 0;
}

size_t lt_link_reaper_pending(struct lt_link_reaper *r)
{
	size_t n;

	if (!r)
		return 0;
	pthread_mutex_lock(&r->lock);
	n = r->pending;
	pthread_mutex_unlock(&r->lock);
	return n;
}

void lt_link_reaper_stop_async(struct lt_link_reaper *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
}

void lt_link_reaper_free(struct lt_link_reaper *r)
{
	if (!r)
		return;
	lt_link_reaper_stop_async(r);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
