// SPDX-License-Identifier: MIT
#include "holders/holder_labels.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/python_memory.h"

/* Keys longer than this are cut in a chain's text. */
#define KEY_TEXT_MAX 60
/* Counts this high are immortal objects' (3.12+), not references. */
#define IMMORTAL_REFS (1ull << 30)

void lt_holder_link_free(struct lt_holder_link *l)
{
	free(l->holder);
	free(l->key);
	free(l->text);
	memset(l, 0, sizeof(*l));
}

void lt_holder_root_free(struct lt_holder_root *r)
{
	free(r->module);
	free(r->cls);
	free(r->func);
	free(r->file);
	free(r->name);
	free(r->holder);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

uint64_t lt_holder_refcount(struct lt_py_heap *h, uint64_t obj)
{
	uint64_t refs;

	if (lt_heap_word(&h->reader, obj + LT_PY_OB_REFCNT, &refs))
		return 0;
	/* 3.12+ count in the low 32 bits; the high ones are flags. */
	if (h->minor >= 12)
		refs &= 0xffffffffull;
	return refs >= IMMORTAL_REFS ? UINT64_MAX : refs;
}

static const struct lt_py_heap_type *type_at(struct lt_py_heap *h, uint64_t obj)
{
	uint64_t type = lt_py_type_of(h, obj);

	return type ? lt_py_type_get(&h->types, &h->reader, h->hl, type) : NULL;
}

char *lt_holder_str(struct lt_py_heap *h, uint64_t obj)
{
	const struct lt_py_heap_type *t = type_at(h, obj);
	char *s = NULL;

	if (!t || !(t->flags & LT_PY_TPFLAGS_UNICODE_SUBCLASS))
		return NULL;
	if (lt_py_read_str(h->pid, h->info, obj, &s))
		return NULL;
	return s;
}

/* A small int's value (up to two 30-bit digits). */
static int read_int(struct lt_py_heap *h, uint64_t obj, long long *out)
{
	uint64_t size;
	uint32_t digit[2] = { 0, 0 };
	int64_t n;
	bool negative;

	if (lt_heap_word(&h->reader, obj + LT_PY_VAR_SIZE, &size))
		return -EFAULT;
	if (h->minor >= 12) {
		n = (int64_t)(size >> 3);
		negative = (size & 3) == 2;
		if ((size & 3) == 1)
			n = 0;
	} else {
		n = (int64_t)size < 0 ? -(int64_t)size : (int64_t)size;
		negative = (int64_t)size < 0;
	}
	if (n > 2)
		return -ERANGE;
	if (n && lt_heap_read(&h->reader, obj + 24, digit, (size_t)n * 4))
		return -EFAULT;
	*out = (long long)(digit[0] | ((uint64_t)digit[1] << 30));
	if (negative)
		*out = -*out;
	return 0;
}

/* How a dict key is shown: 'text', 123, or <type>. */
static char *key_repr(struct lt_py_heap *h, uint64_t key)
{
	const struct lt_py_heap_type *t = type_at(h, key);
	char *s = NULL, *out = NULL;
	long long v;

	if (!t)
		return strdup("?");
	if (t->flags & LT_PY_TPFLAGS_UNICODE_SUBCLASS && (s = lt_holder_str(h, key))) {
		if (strlen(s) > KEY_TEXT_MAX)
			strcpy(s + KEY_TEXT_MAX - 3, "...");
		if (asprintf(&out, "'%s'", s) < 0)
			out = NULL;
		free(s);
		return out;
	}
	if (t->flags & LT_PY_TPFLAGS_LONG_SUBCLASS && !read_int(h, key, &v)) {
		if (asprintf(&out, "%lld", v) < 0)
			out = NULL;
		return out;
	}
	if (asprintf(&out, "<%s>", t->name) < 0)
		out = NULL;
	return out;
}

struct find_arg {
	uint64_t child;
	struct lt_py_ref ref;
};

static int find_child(void *arg, const struct lt_py_ref *ref)
{
	struct find_arg *a = arg;

	if (ref->to != a->child)
		return 0;
	/* A dict holds a key as a key and maybe again as a value: the value
	 * says more, so a key is kept only until a value turns up. */
	a->ref = *ref;
	return ref->how == LT_PY_HOW_DICT_KEY ? 0 : 1;
}

/* A function's or method's qualified name. */
static char *func_name(struct lt_py_heap *h, uint64_t func)
{
	uint64_t name;

	if (lt_heap_word(&h->reader, func + (uint64_t)h->hl->func_qualname, &name))
		return NULL;
	return lt_holder_str(h, name);
}

static const char *how_word(enum lt_py_how how)
{
	switch (how) {
	case LT_PY_HOW_INDEX: return "index";
	case LT_PY_HOW_DICT_VALUE: return "value";
	case LT_PY_HOW_DICT_KEY: return "key";
	case LT_PY_HOW_ATTR: return "attr";
	case LT_PY_HOW_SLOT: return "slot";
	case LT_PY_HOW_SET: return "element";
	case LT_PY_HOW_CELL: return "cell";
	case LT_PY_HOW_CLOSURE: return "closure";
	case LT_PY_HOW_GLOBALS: return "globals";
	case LT_PY_HOW_DEFAULTS: return "defaults";
	case LT_PY_HOW_KWDEFAULTS: return "kwdefaults";
	case LT_PY_HOW_FUNC_DICT: return "dict";
	case LT_PY_HOW_SELF: return "self";
	case LT_PY_HOW_FUNC: return "func";
	case LT_PY_HOW_MODULE_DICT: return "module dict";
	case LT_PY_HOW_TYPE_DICT: return "class dict";
	case LT_PY_HOW_LOCAL: return "local";
	case LT_PY_HOW_OPAQUE: return "not decoded";
	}
	return "?";
}

static int link_text(struct lt_py_heap *h, const struct lt_py_ref *ref, uint64_t holder,
		     struct lt_holder_link *out)
{
	char *fn = NULL;
	int r = 0;

	switch (ref->how) {
	case LT_PY_HOW_INDEX:
		r = asprintf(&out->text, "%s[%" PRId64 "]", out->holder, out->index);
		break;
	case LT_PY_HOW_DICT_VALUE:
		r = asprintf(&out->text, "%s[%s]", out->holder, out->key);
		break;
	case LT_PY_HOW_DICT_KEY:
		r = asprintf(&out->text, "%s key %s", out->holder, out->key);
		break;
	case LT_PY_HOW_ATTR:
	case LT_PY_HOW_SLOT:
		r = asprintf(&out->text, "%s.%s", out->holder, out->key);
		break;
	case LT_PY_HOW_SET:
		r = asprintf(&out->text, "%s element", out->holder);
		break;
	case LT_PY_HOW_CELL:
		r = asprintf(&out->text, "cell");
		break;
	case LT_PY_HOW_CLOSURE:
	case LT_PY_HOW_GLOBALS:
	case LT_PY_HOW_DEFAULTS:
	case LT_PY_HOW_KWDEFAULTS:
	case LT_PY_HOW_FUNC_DICT:
		fn = func_name(h, holder);
		if (ref->how == LT_PY_HOW_CLOSURE)
			r = asprintf(&out->text, "function %s.__closure__[%" PRId64 "]",
				     fn ? fn : "?", out->index);
		else
			r = asprintf(&out->text, "function %s.__%s__", fn ? fn : "?",
				     ref->how == LT_PY_HOW_FUNC_DICT ? "dict" : how_word(ref->how));
		break;
	case LT_PY_HOW_SELF:
	case LT_PY_HOW_FUNC: {
		uint64_t func;

		if (!lt_heap_word(&h->reader, holder + LT_PY_METHOD_FUNC, &func))
			fn = func_name(h, func);
		r = asprintf(&out->text, "method %s.__%s__", fn ? fn : "?", how_word(ref->how));
		break;
	}
	case LT_PY_HOW_MODULE_DICT:
	case LT_PY_HOW_TYPE_DICT:
		r = asprintf(&out->text, "%s.__dict__", out->holder);
		break;
	case LT_PY_HOW_LOCAL:
	case LT_PY_HOW_OPAQUE:
		r = asprintf(&out->text, "%s (not decoded, +%" PRIu64 ")", out->holder, ref->key);
		break;
	}
	free(fn);
	if (r < 0) {
		out->text = NULL;
		return -ENOMEM;
	}
	return 0;
}

int lt_holder_link_of(struct lt_py_heap *h, uint64_t holder, uint64_t child, bool conservative,
		      struct lt_holder_link *out)
{
	const struct lt_py_heap_type *t = type_at(h, holder);
	struct find_arg a = { .child = child };
	int err;

	memset(out, 0, sizeof(*out));
	out->index = -1;
	if (!t || t->bad)
		return -ENOENT;
	err = lt_py_referents(h, holder, t, conservative, find_child, &a);
	if (err < 0)
		return err;
	if (!a.ref.to)
		return -ENOENT;
	out->addr = holder;
	out->at = a.ref.at;
	out->base_at = a.ref.base_at;
	out->base = a.ref.base;
	out->how = how_word(a.ref.how);
	out->holder = strdup(t->name);
	if (!out->holder)
		return -ENOMEM;
	switch (a.ref.how) {
	case LT_PY_HOW_INDEX:
	case LT_PY_HOW_CLOSURE:
		out->index = (int64_t)a.ref.key;
		break;
	case LT_PY_HOW_DICT_VALUE:
	case LT_PY_HOW_DICT_KEY:
		out->key = key_repr(h, a.ref.key);
		break;
	case LT_PY_HOW_ATTR:
		out->key = lt_holder_str(h, a.ref.key);
		break;
	case LT_PY_HOW_SLOT:
		if (lt_py_read_cstr(h->pid, a.ref.key, 128, &out->key))
			out->key = NULL;
		break;
	default:
		break;
	}
	if ((a.ref.how == LT_PY_HOW_DICT_VALUE || a.ref.how == LT_PY_HOW_DICT_KEY ||
	     a.ref.how == LT_PY_HOW_ATTR || a.ref.how == LT_PY_HOW_SLOT) && !out->key)
		out->key = strdup("?");
	if (!out->key && (a.ref.how == LT_PY_HOW_DICT_VALUE || a.ref.how == LT_PY_HOW_DICT_KEY ||
			  a.ref.how == LT_PY_HOW_ATTR || a.ref.how == LT_PY_HOW_SLOT)) {
		lt_holder_link_free(out);
		return -ENOMEM;
	}
	if ((err = link_text(h, &a.ref, holder, out))) {
		lt_holder_link_free(out);
		return err;
	}
	return 0;
}

/* The value of a dict's str key name (0 if absent). */
struct lookup_arg {
	struct lt_py_heap *h;
	const char *name;
	uint64_t value;
};

static int lookup_one(void *arg, const struct lt_py_ref *ref)
{
	struct lookup_arg *a = arg;
	char *s;
	int found;

	if (ref->how != LT_PY_HOW_DICT_VALUE)
		return 0;
	s = lt_holder_str(a->h, ref->key);
	found = s && !strcmp(s, a->name);
	free(s);
	if (found)
		a->value = ref->to;
	return found;
}

static char *dict_str(struct lt_py_heap *h, uint64_t dict, const char *name)
{
	struct lookup_arg a = { h, name, 0 };
	const struct lt_py_heap_type *t = type_at(h, dict);

	if (!t || t->kind != LT_PY_KIND_DICT)
		return NULL;
	lt_py_referents(h, dict, t, false, lookup_one, &a);
	return a.value ? lt_holder_str(h, a.value) : NULL;
}

/* The name under which a root dict holds child (its key, unquoted for
 * str); where is set to the slot. */
static char *dict_name_of(struct lt_py_heap *h, uint64_t dict, uint64_t child,
			  struct lt_py_ref *where)
{
	const struct lt_py_heap_type *t = type_at(h, dict);
	struct find_arg a = { .child = child };
	char *s;

	if (!t || t->kind != LT_PY_KIND_DICT)
		return NULL;
	if (lt_py_referents(h, dict, t, false, find_child, &a) < 0 || !a.ref.to)
		return NULL;
	*where = a.ref;
	s = lt_holder_str(h, a.ref.key);
	if (s && a.ref.how == LT_PY_HOW_DICT_KEY) {
		char *k = NULL;

		if (asprintf(&k, "(key %s)", s) < 0)
			k = NULL;
		free(s);
		return k;
	}
	return s ? s : key_repr(h, a.ref.key);
}

static int frame_root(struct lt_py_walk *w, uint32_t root, uint64_t child, struct lt_holder_root *out)
{
	struct lt_py_heap *h = w->heap;
	const struct lt_py_frame_root *f;
	uint64_t str;
	uint32_t i;

	if (w->graph.nodes[root].owner >= w->nframes)
		return -ENOENT;
	f = &w->frames[w->graph.nodes[root].owner];
	for (i = 0; i < f->nlocals; i++) {
		uint64_t v;

		if (!lt_py_frame_local(h, f->frame, i, &v) && v == child)
			break;
	}
	if (i == f->nlocals)
		return -ENOENT;
	out->kind = LT_HOLDER_ROOT_FRAME;
	out->at = f->frame + (uint64_t)h->hl->frame_localsplus + i * 8ull;
	out->tag_mask = h->hl->localsplus_tagged ? 3 : 0;
	out->tid = f->tid;
	out->name = lt_holder_str(h, lt_py_local_name(h, f->code, i));
	if (!lt_heap_word(&h->reader, f->code + (uint64_t)(h->info->co_qualname >= 0 ?
								h->info->co_qualname : h->info->co_name), &str))
		out->func = lt_holder_str(h, str);
	if (!lt_heap_word(&h->reader, f->code + (uint64_t)h->info->co_filename, &str))
		out->file = lt_holder_str(h, str);
	if (out->tid) {
		if (asprintf(&out->text, "frame %s in %s (thread %u): local %s",
			     out->func ? out->func : "?", out->file ? out->file : "?", out->tid,
			     out->name ? out->name : "?") < 0)
			out->text = NULL;
	} else if (asprintf(&out->text, "frame %s in %s: local %s", out->func ? out->func : "?",
			    out->file ? out->file : "?", out->name ? out->name : "?") < 0) {
		out->text = NULL;
	}
	return out->text ? 0 : -ENOMEM;
}

int lt_holder_root_of(struct lt_py_walk *w, uint32_t root, uint64_t child,
		      struct lt_holder_root *out)
{
	struct lt_py_heap *h = w->heap;
	const struct lt_heap_node *nd = &w->graph.nodes[root];
	struct lt_py_ref slot;
	uint64_t owner, dict;
	int r;

	memset(out, 0, sizeof(*out));
	if (nd->root == LT_HEAP_ROOT_FRAME)
		return frame_root(w, root, child, out);
	if (nd->owner >= w->graph.n)
		return -ENOENT;
	owner = w->graph.nodes[nd->owner].addr;
	/* Still that module's or class's dict? */
	if (lt_heap_word(&h->reader, owner + (nd->root == LT_HEAP_ROOT_MODULE ? LT_PY_MODULE_DICT :
					      (uint64_t)h->hl->tp_dict), &dict) ||
	    dict != nd->addr)
		return -ENOENT;
	out->name = dict_name_of(h, nd->addr, child, &slot);
	if (!out->name)
		return -ENOENT;
	out->at = slot.at;
	out->base_at = slot.base_at;
	out->base = slot.base;
	out->owner_at = owner + (nd->root == LT_HEAP_ROOT_MODULE ? LT_PY_MODULE_DICT :
				 (uint64_t)h->hl->tp_dict);
	out->owner_value = nd->addr;
	if (nd->root == LT_HEAP_ROOT_MODULE) {
		out->kind = LT_HOLDER_ROOT_MODULE;
		out->module = dict_str(h, nd->addr, "__name__");
		r = asprintf(&out->text, "module %s: %s", out->module ? out->module : "?", out->name);
	} else {
		const struct lt_py_heap_type *t = lt_py_type_get(&h->types, &h->reader, h->hl, owner);

		out->kind = LT_HOLDER_ROOT_CLASS;
		out->module = dict_str(h, nd->addr, "__module__");
		out->cls = strdup(t ? t->name : "?");
		r = asprintf(&out->text, "class %s%s%s: %s", out->module ? out->module : "",
			     out->module ? "." : "", out->cls ? out->cls : "?", out->name);
	}
	if (r < 0) {
		out->text = NULL;
		return -ENOMEM;
	}
	return 0;
}

int lt_holder_root_unfollowed(struct lt_py_heap *h, uint64_t node, uint64_t refcount,
			      uint64_t found, struct lt_holder_root *out)
{
	const struct lt_py_heap_type *t = type_at(h, node);

	memset(out, 0, sizeof(*out));
	out->kind = LT_HOLDER_ROOT_UNFOLLOWED;
	out->holder = strdup(t ? t->name : "?");
	out->refcount = refcount;
	out->found = found;
	if (asprintf(&out->text, "held from C or an object not decoded (%s: %" PRIu64
		     " references, %" PRIu64 " found)", out->holder ? out->holder : "?",
		     refcount, found) < 0)
		out->text = NULL;
	return out->text ? 0 : -ENOMEM;
}
