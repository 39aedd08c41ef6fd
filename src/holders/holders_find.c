// SPDX-License-Identifier: MIT
#include "holders/holders_find.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "attach/thread_pause.h"
#include "base/grow_array.h"
#include "holders/holder_labels.h"
#include "holders/py_heap_walk.h"
#include "python/python_memory.h"
#include "python/python_heap_layout.h"

/* Objects looked at per search at most: a chain is found long before, or
 * the objects' holders are not decoded. */
#define MAX_VISIT (8u << 20)
#define MAX_CHAIN 64

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct pause {
	const struct lt_holders_request *req;
	struct lt_holders *out;
	struct lt_paused threads;
	bool stopped;
	uint64_t since_ns;
};

static void pause_end(struct pause *p)
{
	if (!p->stopped)
		return;
	lt_resume_threads(&p->threads);
	p->out->pause_ms[p->out->npauses++] = (double)(now_ns() - p->since_ns) / 1e6;
	p->stopped = false;
}

static void on_deadline(void *arg)
{
	pause_end(arg);
}

/* Letting every thread go, and this thread waking up to do it on a busy
 * machine, take a few milliseconds: a pause is ended a tenth of its bound
 * (at least 3 ms) before the bound. */
static uint64_t pause_budget_ns(uint32_t bound_ms)
{
	uint64_t ns = (uint64_t)bound_ms * 1000000ull, margin = ns / 10;

	if (margin < 3000000ull)
		margin = 3000000ull;
	return ns > 2 * margin ? ns - margin : ns / 2;
}

struct walker {
	struct lt_py_walk *w;
	int err;
	bool nice;             /* lower its priority from the start (not held) */
	_Atomic pid_t tid;     /* the walking thread's, 0 until it runs */
};

/* While the process runs it keeps the CPU first: the walk takes what is
 * left (nice 19, for the walking thread only). While it is held still,
 * every millisecond of the walk is one of the pause: full priority. */
#define WALK_NICE 19

static void *walk_thread(void *arg)
{
	struct walker *k = arg;
	pid_t tid = (pid_t)syscall(SYS_gettid);

	if (k->nice)
		setpriority(PRIO_PROCESS, (id_t)tid, WALK_NICE);
	k->tid = tid;
	k->err = lt_py_walk_heap(k->w);
	return NULL;
}

/*
 * The walk runs on a thread of its own while this one, which holds the
 * process (only the thread that seized it may let it go), lets it go at
 * deadline_ns whatever the walk is doing then: growing a table of millions
 * of objects can take longer than the whole bound. Not held (no pause
 * asked, or it could not be), the thread only lowers the walk's priority.
 */
static int walk_held(struct lt_py_walk *w, struct pause *pause, uint64_t deadline_ns)
{
	struct walker k = { .w = w, .nice = !pause->stopped };
	struct timespec abs;
	uint64_t left, now = now_ns();
	pthread_t t;

	if (pthread_create(&t, NULL, walk_thread, &k)) {
		/* No thread: the walk checks the clock itself, between steps. */
		if (!pause->stopped)
			return lt_py_walk_heap(w);
		w->deadline_ns = deadline_ns;
		w->on_deadline = on_deadline;
		w->deadline_arg = pause;
		return lt_py_walk_heap(w);
	}
	left = deadline_ns > now ? deadline_ns - now : 0;
	clock_gettime(CLOCK_REALTIME, &abs);
	abs.tv_sec += (time_t)(left / 1000000000ull);
	abs.tv_nsec += (long)(left % 1000000000ull);
	if (abs.tv_nsec >= 1000000000L) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000L;
	}
	if (!pause->stopped)
		pthread_join(t, NULL);
	else if (pthread_timedjoin_np(t, NULL, &abs)) {
		pause_end(pause);
		/* The thread sets its id first thing, long before any bound. */
		while (!k.tid)
			sched_yield();
		setpriority(PRIO_PROCESS, (id_t)k.tid, WALK_NICE);
		pthread_join(t, NULL);
	}
	return k.err;
}

/* Returns 0 stopped, or -errno (the process runs on: reads are racy). */
static int pause_begin(struct pause *p)
{
	char why[256];
	int err;

	if (!p->req->pause_ms || p->out->npauses >= 2)
		return -ENOTSUP;
	err = lt_pause_threads(p->req->pid, p->req->own_child, &p->threads, why, sizeof(why));
	if (err)
		return err;
	p->stopped = true;
	p->since_ns = now_ns();
	return 0;
}

static void free_chain(struct lt_holder_chain *c)
{
	free(c->type);
	free(c->where);
	for (uint32_t l = 0; l < c->nlinks; l++)
		lt_holder_link_free(&c->links[l]);
	free(c->links);
	lt_holder_root_free(&c->root);
	free(c->text);
	memset(c, 0, sizeof(*c));
}

void lt_holders_free(struct lt_holders *h)
{
	for (size_t i = 0; i < h->nchains; i++)
		free_chain(&h->chains[i]);
	free(h->chains);
	free(h->error);
	memset(h, 0, sizeof(*h));
}

/* out->error: what, then the error's text when err is not 0. */
static void set_error(struct lt_holders *out, const char *what, int err)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s%s%s", what, err ? ": " : "", err ? strerror(-err) : "");
	free(out->error);
	out->error = strdup(buf);
}

/* A node some of whose references were not found: held from C, or by an
 * object whose references are not decoded. */
static bool unexplained(void *arg, uint32_t node)
{
	struct lt_py_walk *w = arg;
	const struct lt_heap_node *nd = &w->graph.nodes[node];
	uint64_t refs;

	if (nd->root == LT_HEAP_ROOT_FRAME || (nd->addr & 7))
		return false;
	refs = lt_holder_refcount(w->heap, nd->addr);
	return refs != UINT64_MAX && refs > lt_heap_graph_holders(&w->graph, node, true);
}

/* A found path, before its words are read. */
struct path {
	uint32_t nodes[MAX_CHAIN];
	size_t n;
	bool rooted;       /* ends at a root; else held from somewhere not followed */
	bool conservative;
	size_t sample;     /* which request sample */
	uint64_t object;
};

static void search_one(struct lt_py_walk *w, uint32_t node, struct path *p)
{
	uint32_t nearest;

	p->n = lt_heap_graph_chain(&w->graph, node, false, MAX_VISIT, NULL, NULL, p->nodes,
				   MAX_CHAIN, &nearest);
	p->rooted = p->n > 0;
	if (p->n)
		return;
	p->conservative = true;
	p->n = lt_heap_graph_chain(&w->graph, node, true, MAX_VISIT, unexplained, w, p->nodes,
				   MAX_CHAIN, &nearest);
	p->rooted = p->n > 0;
	if (p->n)
		return;
	if (nearest != LT_HEAP_NONE)
		p->n = lt_heap_graph_path_to(&w->graph, nearest, p->nodes, MAX_CHAIN);
	if (!p->n) {
		p->nodes[0] = node;
		p->n = 1;
	}
}

static int chain_text(struct lt_holder_chain *c)
{
	size_t len = strlen(c->type) + strlen(c->root.text) + 8;
	char *s;

	for (uint32_t i = 0; i < c->nlinks; i++)
		len += strlen(c->links[i].text) + 4;
	s = malloc(len);
	if (!s)
		return -ENOMEM;
	strcpy(s, c->type);
	for (uint32_t i = 0; i < c->nlinks; i++) {
		strcat(s, " <- ");
		strcat(s, c->links[i].text);
	}
	strcat(s, " <- ");
	strcat(s, c->root.text);
	c->text = s;
	return 0;
}

/* Names the links and the root of a path, from the walk's copies, and
 * notes where each was read (checked later against the process). Returns
 * 0, -ENOENT when a link is not found again, or -ENOMEM. */
static int read_chain(struct lt_py_walk *w, const struct lt_holders_sample *s, const struct path *p,
		      struct lt_holder_chain *c)
{
	struct lt_py_heap *h = w->heap;
	size_t nlinks = p->rooted ? p->n - 2 : p->n - 1;
	int err;

	memset(c, 0, sizeof(*c));
	c->conservative = p->conservative;
	c->object = p->object;
	if (s->type && lt_py_type_of(h, p->object) != s->type)
		return -ENOENT;
	c->links = calloc(nlinks ? nlinks : 1, sizeof(*c->links));
	c->type = strdup(s->type_name);
	c->where = s->where ? strdup(s->where) : NULL;
	if (!c->links || !c->type || (s->where && !c->where))
		return -ENOMEM;
	for (size_t i = 1; i <= nlinks; i++) {
		uint64_t holder = w->graph.nodes[p->nodes[i]].addr;
		uint64_t child = w->graph.nodes[p->nodes[i - 1]].addr;

		err = lt_holder_link_of(h, holder, child, false, &c->links[i - 1]);
		if (err == -ENOENT && p->conservative)
			err = lt_holder_link_of(h, holder, child, true, &c->links[i - 1]);
		if (err)
			return err == -ENOMEM ? err : -ENOENT;
		c->nlinks++;
	}
	if (p->rooted) {
		err = lt_holder_root_of(w, p->nodes[p->n - 1], w->graph.nodes[p->nodes[p->n - 2]].addr,
					&c->root);
	} else {
		uint32_t last = p->nodes[p->n - 1];

		err = lt_holder_root_unfollowed(h, w->graph.nodes[last].addr,
						lt_holder_refcount(h, w->graph.nodes[last].addr),
						lt_heap_graph_holders(&w->graph, last, true), &c->root);
	}
	if (err)
		return err == -ENOMEM ? err : -ENOENT;
	return chain_text(c);
}

/* Chains of one sample that go the same way (indexes aside) are one. */
static bool same_shape(const struct lt_holder_chain *a, const struct lt_holder_chain *b)
{
	if (a->nlinks != b->nlinks || strcmp(a->type, b->type) || strcmp(a->root.text, b->root.text) ||
	    (a->where == NULL) != (b->where == NULL) || (a->where && strcmp(a->where, b->where)))
		return false;
	for (uint32_t i = 0; i < a->nlinks; i++) {
		const struct lt_holder_link *x = &a->links[i], *y = &b->links[i];

		/* A dict's keys are its indexes: they vary, the way does not. */
		bool keyed = strcmp(x->how, "value") && strcmp(x->how, "key");

		if (strcmp(x->holder, y->holder) || strcmp(x->how, y->how) ||
		    (keyed && ((x->key == NULL) != (y->key == NULL) ||
			       (x->key && strcmp(x->key, y->key)))))
			return false;
	}
	return true;
}

static int add_chain(struct lt_holders *out, size_t *cap, size_t first_of_sample,
		     struct lt_holder_chain *c)
{
	struct lt_holder_chain *v;

	for (size_t i = first_of_sample; i < out->nchains; i++) {
		if (same_shape(&out->chains[i], c)) {
			out->chains[i].samples++;
			return 1;
		}
	}
	v = lt_grow(out->chains, cap, out->nchains + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	out->chains = v;
	c->samples = 1;
	out->chains[out->nchains++] = *c;
	return 0;
}

static int find_paths(struct lt_py_walk *w, const struct lt_holders_sample *samples,
		      size_t nsamples, struct path **paths, size_t *npaths, struct lt_holders *out)
{
	size_t total = 0, k = 0;

	for (size_t s = 0; s < nsamples; s++)
		total += samples[s].n;
	*paths = calloc(total ? total : 1, sizeof(**paths));
	if (!*paths)
		return -ENOMEM;
	for (size_t s = 0; s < nsamples; s++) {
		for (size_t i = 0; i < samples[s].n; i++) {
			uint64_t obj = samples[s].objects[i];
			uint32_t node = lt_heap_graph_find(&w->graph, obj);
			struct path *p = &(*paths)[k];

			out->sampled++;
			if (node == LT_HEAP_NONE || !w->graph.nodes[node].type) {
				out->unreached++;
				continue;
			}
			p->sample = s;
			p->object = obj;
			search_one(w, node, p);
			k++;
		}
	}
	*npaths = k;
	return 0;
}

/* Whether the word at `at` is still child, and its array the holder's. */
static bool still_holds(pid_t pid, uint64_t at, uint64_t base_at, uint64_t base, uint64_t child,
			uint64_t tag_mask)
{
	uint64_t v;

	if (lt_py_read(pid, at, &v, sizeof(v)) || (v & ~tag_mask) != child)
		return false;
	return !base_at || (!lt_py_read(pid, base_at, &v, sizeof(v)) && v == base);
}

/* A chain read from the copies made while walking, checked against the
 * process as it is now: a few words each, direct reads. */
static bool verify_chain(pid_t pid, const struct lt_holders_sample *s,
			 const struct lt_holder_chain *c)
{
	const struct lt_holder_root *r = &c->root;
	uint64_t child = c->object, v;

	if (s->type && (lt_py_read(pid, c->object + LT_PY_OB_TYPE, &v, sizeof(v)) || v != s->type))
		return false;
	for (uint32_t l = 0; l < c->nlinks; l++) {
		const struct lt_holder_link *k = &c->links[l];

		if (!still_holds(pid, k->at, k->base_at, k->base, child, 0))
			return false;
		child = k->addr;
	}
	if (r->kind == LT_HOLDER_ROOT_UNFOLLOWED)
		return true;
	if (!still_holds(pid, r->at, r->base_at, r->base, child, r->tag_mask))
		return false;
	return !r->owner_at || (!lt_py_read(pid, r->owner_at, &v, sizeof(v)) && v == r->owner_value);
}

struct pause_clock {
	struct pause *pause;
	uint64_t deadline_ns;
};

/* Lets the process go once its pause has lasted its bound. */
static void pause_check(struct pause_clock *pc)
{
	if (pc->pause->stopped && now_ns() >= pc->deadline_ns)
		pause_end(pc->pause);
}

/*
 * Names every path's links from the copies (the process may be running),
 * checks each chain against the process held still (a second pause, unless
 * the first still lasts), and keeps those that held, one per shape.
 */
static int read_chains(struct lt_py_walk *w, const struct lt_holders_sample *samples,
		       size_t nsamples, const struct path *paths, size_t npaths,
		       struct pause_clock *pc, struct lt_holders *out)
{
	struct lt_holder_chain *chains = calloc(npaths ? npaths : 1, sizeof(*chains));
	bool *ok = calloc(npaths ? npaths : 1, sizeof(*ok));
	size_t cap = 0, first_of_sample = 0, last_sample = SIZE_MAX;
	int err = 0;

	if (!chains || !ok) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < npaths; i++) {
		err = read_chain(w, &samples[paths[i].sample], &paths[i], &chains[i]);
		if (err == -ENOMEM)
			goto cleanup;
		ok[i] = !err;
		err = 0;
		pause_check(pc);
	}
	if (!pc->pause->stopped && !pause_begin(pc->pause))
		pc->deadline_ns = pc->pause->since_ns + pause_budget_ns(pc->pause->req->pause_ms);
	for (size_t i = 0; i < npaths; i++) {
		if (ok[i])
			ok[i] = verify_chain(w->heap->pid, &samples[paths[i].sample], &chains[i]);
		pause_check(pc);
	}
	pause_end(pc->pause);
	for (size_t i = 0; i < npaths; i++) {
		if (paths[i].sample != last_sample) {
			last_sample = paths[i].sample;
			first_of_sample = out->nchains;
		}
		if (!ok[i]) {
			out->changed++;
			continue;
		}
		err = add_chain(out, &cap, first_of_sample, &chains[i]);
		if (err < 0)
			goto cleanup;
		/* Added: the array owns it now; merged: freed below. */
		if (!err)
			memset(&chains[i], 0, sizeof(chains[i]));
		err = 0;
	}
	/* How many of each sample's objects were looked for. */
	for (size_t i = 0; i < out->nchains; i++)
		for (size_t s = 0; s < nsamples; s++)
			if (!strcmp(out->chains[i].type, samples[s].type_name) &&
			    (!samples[s].where) == (!out->chains[i].where) &&
			    (!samples[s].where || !strcmp(samples[s].where, out->chains[i].where)))
				out->chains[i].sampled = (uint32_t)samples[s].n;
cleanup:
	for (size_t i = 0; chains && i < npaths; i++)
		free_chain(&chains[i]);
	free(chains);
	free(ok);
	return err;
}

/* Objects of the named types, picked evenly over all the walk met: every
 * k-th, k chosen from a first count. */
static int by_type(struct lt_py_walk *w, const struct lt_holders_request *req,
		   struct lt_holders_sample **samplesp, uint64_t **objectsp)
{
	struct lt_py_heap *h = w->heap;
	size_t n = req->nby_type, per = req->per_type ? req->per_type : 1;
	struct lt_holders_sample *samples = calloc(n, sizeof(*samples));
	uint64_t *objects = calloc(n * per, sizeof(*objects));
	uint64_t *count = calloc(n, sizeof(*count)), *seen = calloc(n, sizeof(*seen));
	int err = -ENOMEM;

	if (!samples || !objects || !count || !seen)
		goto cleanup;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < w->graph.n; i++) {
			const struct lt_heap_node *nd = &w->graph.nodes[i];
			const struct lt_py_heap_type *t;

			if (!nd->type || nd->root == LT_HEAP_ROOT_FRAME)
				continue;
			t = lt_py_type_get(&h->types, &h->reader, h->hl, nd->type);
			if (!t)
				goto cleanup;
			for (size_t k = 0; k < n; k++) {
				struct lt_holders_sample *s = &samples[k];
				uint64_t step;

				if (strcmp(t->name, req->by_type[k]))
					continue;
				if (!pass) {
					count[k]++;
					continue;
				}
				step = count[k] > per ? count[k] / per : 1;
				if (seen[k]++ % step == 0 && s->n < per) {
					s->objects = objects + k * per;
					objects[k * per + s->n++] = nd->addr;
					s->type = nd->type;
				}
			}
		}
	}
	for (size_t k = 0; k < n; k++) {
		samples[k].type_name = req->by_type[k];
		samples[k].objects = objects + k * per;
	}
	*samplesp = samples;
	*objectsp = objects;
	samples = NULL;
	objects = NULL;
	err = 0;
cleanup:
	free(samples);
	free(objects);
	free(count);
	free(seen);
	return err;
}

int lt_holders_find(const struct lt_holders_request *req, struct lt_holders *out)
{
	struct lt_py_heap heap = {
		.pid = req->pid, .minor = req->minor, .info = req->info, .frames = req->frames,
		.runtime = req->runtime,
	};
	struct lt_py_walk w = { .heap = &heap };
	struct pause pause = { .req = req, .out = out };
	struct path *paths = NULL;
	size_t npaths = 0, nsamples;
	const struct lt_holders_sample *samples;
	struct lt_holders_sample *owned = NULL;
	uint64_t *owned_objects = NULL, t0;
	int err;

	memset(out, 0, sizeof(*out));
	out->pause_bound_ms = req->pause_ms;
	heap.hl = lt_py_heap_layout(req->minor);
	if (!heap.hl) {
		set_error(out, "no heap layout for this Python version", 0);
		return 0;
	}
	if ((err = lt_heap_reader_init(&heap.reader, req->pid, req->cache_bytes)))
		goto cleanup;
	for (size_t s = 0; s < req->nsamples; s++) {
		for (size_t i = 0; i < req->samples[s].n; i++) {
			bool made;

			if (lt_heap_graph_add(&w.graph, req->samples[s].objects[i], &made) == LT_HEAP_NONE) {
				err = -ENOMEM;
				goto cleanup;
			}
		}
	}
	t0 = now_ns();
	pause_begin(&pause);
	err = walk_held(&w, &pause, pause.since_ns + pause_budget_ns(req->pause_ms));
	out->consistent = pause.stopped;
	out->walk_ms = (double)(now_ns() - t0) / 1e6;
	out->objects = w.graph.n;
	out->references = w.graph.nedges + w.graph.noedges;
	out->gc_objects = w.gc_objects;
	out->frames = w.nframes;
	out->bytes_copied = heap.reader.bytes_copied;
	if (err == -ENOMEM)
		goto cleanup;
	if (err) {
		pause_end(&pause);
		set_error(out, "cannot walk the heap", err);
		err = 0;
		goto cleanup;
	}
	samples = req->samples;
	nsamples = req->nsamples;
	if (req->nby_type) {
		if ((err = by_type(&w, req, &owned, &owned_objects)))
			goto cleanup;
		samples = owned;
		nsamples = req->nby_type;
	}
	if ((err = find_paths(&w, samples, nsamples, &paths, &npaths, out)))
		goto cleanup;
	{
		struct pause_clock pc = { &pause, pause.since_ns + pause_budget_ns(req->pause_ms) };

		err = read_chains(&w, samples, nsamples, paths, npaths, &pc, out);
	}
	if (!err)
		out->ok = true;
cleanup:
	pause_end(&pause);
	free(paths);
	free(owned);
	free(owned_objects);
	lt_py_walk_free(&w);
	lt_py_type_cache_free(&heap.types);
	lt_heap_reader_free(&heap.reader);
	return err;
}
