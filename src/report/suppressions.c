// SPDX-License-Identifier: MIT
#include "report/suppressions.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow_array.h"

/* Every pattern present must match the same frame (NULL: no constraint). */
struct frame_pattern {
	char *any; /* leak: function, module (path or basename) or source file */
	char *func;
	char *module;
	char *file;
};

/*
 * File rules set one pattern of at. Built-in rules pair a function with the
 * module it must be in, so a program's own function of the same name is
 * never hidden.
 */
struct rule {
	struct frame_pattern at;
	/* Only the allocation's own caller (frames[0] and the frames inlined
	 * into it): the rule names who allocates, not who is on the way. */
	bool caller_only;
	/* Built-in: some frame of the stack must also match this, for callers
	 * that cannot be named on their own (no symbol). */
	struct frame_pattern via;
};

struct lt_suppressions {
	struct rule *rules;
	size_t n, capacity;
	size_t from_files;
};

struct lt_suppressions *lt_suppressions_new(void)
{
	return calloc(1, sizeof(struct lt_suppressions));
}

static void pattern_clear(struct frame_pattern *p)
{
	free(p->any);
	free(p->func);
	free(p->module);
	free(p->file);
}

static void rule_clear(struct rule *r)
{
	pattern_clear(&r->at);
	pattern_clear(&r->via);
}

void lt_suppressions_free(struct lt_suppressions *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		rule_clear(&s->rules[i]);
	free(s->rules);
	free(s);
}

size_t lt_suppressions_count(const struct lt_suppressions *s)
{
	return s ? s->from_files : 0;
}

bool lt_suppressions_empty(const struct lt_suppressions *s)
{
	return !s || !s->n;
}

/* Takes the strings in r (freed on failure). */
static int add_rule(struct lt_suppressions *s, struct rule *r)
{
	struct rule *grown = lt_grow(s->rules, &s->capacity, s->n + 1, sizeof(*grown));

	if (!grown) {
		rule_clear(r);
		return -ENOMEM;
	}
	s->rules = grown;
	s->rules[s->n++] = *r;
	return 0;
}

/*
 * The built-in list: blocks glibc and libstdc++ allocate once per process
 * (or per stream, thread, loaded object) and keep on purpose. Each entry
 * names the allocating caller and its module (matched on the basename), so
 * the same names in a program are still reported, and so is anything the
 * program itself allocates further out on such a stack.
 */
static const struct {
	const char *func, *module;      /* the caller: "" func = no symbol */
	const char *via_func, *via_module; /* NULL: no condition on the stack */
} builtin_rules[] = {
	/* stdio buffers: the first read or write on a FILE allocates its
	 * buffer, kept for the stream's life (stdin/stdout/stderr: until exit).
	 * A stream never closed still shows, by its FILE from fopen. */
	{ "^_IO_file_doallocate$", "^libc.so", NULL, NULL },
	/* The dynamic loader's own tables (link maps, search paths, scopes,
	 * TLS and DTV blocks) live as long as the objects or threads they
	 * describe. Only blocks ld.so asks for itself: a constructor run by
	 * _dl_init allocates from its own frame, outside ld.so, and stays. */
	{ "*", "^ld-linux", NULL, NULL },
	/* libstdc++'s emergency exception pool (eh_alloc.cc): malloc'd by a
	 * static constructor, which has no symbol, while ld.so runs
	 * initializers, and never freed so that exceptions can be thrown when
	 * malloc fails. Unnamed libstdc++ code is only hidden on that path. */
	{ "", "^libstdc++.so", "^_dl_init$", "^ld-linux" },
	/* The time-zone state: TZ's value (tzset_internal's strdup) and the
	 * zone file's tables (__tzfile_read), read once and kept for every
	 * later conversion. Both are internal to libc, named only with its
	 * debug symbols; without them, unnamed libc code (or its strdup) is
	 * hidden only when reached from an exported function that reads the
	 * zone. */
	{ "^__tzfile_read$", "^libc.so", NULL, NULL },
	{ "^strdup$", "^libc.so", "^tzset_internal$", "^libc.so" },
#define TZ_ENTRY(name) { "", "^libc.so", "^" name "$", "^libc.so" }, \
		       { "^strdup$", "^libc.so", "^" name "$", "^libc.so" }
	TZ_ENTRY("tzset"), TZ_ENTRY("localtime"), TZ_ENTRY("localtime_r"), TZ_ENTRY("mktime"),
	TZ_ENTRY("timelocal"), TZ_ENTRY("ctime"), TZ_ENTRY("ctime_r"), TZ_ENTRY("strftime"),
	TZ_ENTRY("strftime_l"),
#undef TZ_ENTRY
};

static int set_pattern(char **slot, const char *text)
{
	if (!text)
		return 0;
	*slot = strdup(text);
	return *slot ? 0 : -ENOMEM;
}

int lt_suppressions_add_defaults(struct lt_suppressions *s)
{
	for (size_t i = 0; i < sizeof(builtin_rules) / sizeof(builtin_rules[0]); i++) {
		struct rule r = { .caller_only = true };
		int err = set_pattern(&r.at.func, builtin_rules[i].func);

		if (!err)
			err = set_pattern(&r.at.module, builtin_rules[i].module);
		if (!err)
			err = set_pattern(&r.via.func, builtin_rules[i].via_func);
		if (!err)
			err = set_pattern(&r.via.module, builtin_rules[i].via_module);
		if (err) {
			rule_clear(&r);
			return err;
		}
		err = add_rule(s, &r);
		if (err)
			return err;
	}
	return 0;
}

static void set_error(char *err, size_t errlen, const char *name, unsigned long line,
		      const char *fmt, ...)
{
	va_list ap;
	int used;

	if (!err || !errlen)
		return;
	used = snprintf(err, errlen, "%s:%lu: ", name, line);
	if (used < 0 || (size_t)used >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + used, errlen - (size_t)used, fmt, ap);
	va_end(ap);
}

/* The pattern between ^ and $ must say something: "^", "$", "^$" do not. */
static bool pattern_empty(const char *p)
{
	size_t n = strlen(p);

	if (n && p[0] == '^')
		p++, n--;
	if (n && p[n - 1] == '$')
		n--;
	return n == 0;
}

/* One trimmed, non-comment line into r. Returns NULL or the reason. */
static const char *parse_rule(char *text, struct rule *r)
{
	static const char *const types[] = { "leak", "func", "module", "file" };
	char *colon = strchr(text, ':'), *pattern, *copy;
	size_t tlen;
	int type = -1;

	if (!colon)
		return "expected TYPE:PATTERN (leak, func, module or file)";
	tlen = (size_t)(colon - text);
	for (int i = 0; i < 4; i++)
		if (tlen == strlen(types[i]) && !strncmp(text, types[i], tlen))
			type = i;
	if (type < 0)
		return "unknown suppression type (want leak, func, module or file)";
	pattern = colon + 1;
	while (isspace((unsigned char)*pattern))
		pattern++;
	if (pattern_empty(pattern))
		return "empty pattern";
	copy = strdup(pattern);
	if (!copy)
		return NULL; /* the caller tells ENOMEM apart by r being empty */
	switch (type) {
	case 0: r->at.any = copy; break;
	case 1: r->at.func = copy; break;
	case 2: r->at.module = copy; break;
	default: r->at.file = copy; break;
	}
	return NULL;
}

int lt_suppressions_read(struct lt_suppressions *s, FILE *f, const char *name, char *err,
			 size_t errlen)
{
	/* Room for the longest line, its newline and the terminator. */
	char buf[LT_SUPP_MAX_LINE + 2];
	unsigned long lineno = 0;

	while (fgets(buf, sizeof(buf), f)) {
		size_t len = strlen(buf);
		struct rule r = {};
		const char *why;
		char *text = buf;
		int ret;

		lineno++;
		if (len && buf[len - 1] == '\n') {
			buf[--len] = '\0';
		} else if (!feof(f)) {
			set_error(err, errlen, name, lineno, "line longer than %d bytes",
				  LT_SUPP_MAX_LINE);
			return -EINVAL;
		}
		if (len > LT_SUPP_MAX_LINE) {
			set_error(err, errlen, name, lineno, "line longer than %d bytes",
				  LT_SUPP_MAX_LINE);
			return -EINVAL;
		}
		while (len && isspace((unsigned char)buf[len - 1]))
			buf[--len] = '\0';
		while (isspace((unsigned char)*text))
			text++;
		if (!*text || *text == '#')
			continue;
		if (s->from_files >= LT_SUPP_MAX_PATTERNS) {
			set_error(err, errlen, name, lineno, "more than %d patterns",
				  LT_SUPP_MAX_PATTERNS);
			return -EINVAL;
		}
		why = parse_rule(text, &r);
		if (why) {
			set_error(err, errlen, name, lineno, "%s", why);
			return -EINVAL;
		}
		if (!r.at.any && !r.at.func && !r.at.module && !r.at.file)
			return -ENOMEM;
		ret = add_rule(s, &r);
		if (ret)
			return ret;
		s->from_files++;
	}
	if (ferror(f)) {
		set_error(err, errlen, name, lineno + 1, "read error");
		return -EINVAL;
	}
	return 0;
}

int lt_suppressions_load(struct lt_suppressions *s, const char *path)
{
	char err[512] = "";
	FILE *f = fopen(path, "r");
	int ret;

	if (!f) {
		fprintf(stderr, "leaktrace: %s: %s\n", path, strerror(errno));
		return -EINVAL;
	}
	ret = lt_suppressions_read(s, f, path, err, sizeof(err));
	fclose(f);
	if (ret == -EINVAL)
		fprintf(stderr, "leaktrace: %s\n", err);
	else if (ret)
		fprintf(stderr, "leaktrace: %s: out of memory\n", path);
	return ret;
}

/* Where [needle, needle + nlen) first occurs in [hay, hay + hlen), or NULL. */
static const char *find(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	if (!nlen)
		return hay;
	return memmem(hay, hlen, needle, nlen);
}

bool lt_supp_pattern_match(const char *pattern, const char *text)
{
	const char *p = pattern, *t = text, *end, *star;
	size_t plen, seg;
	bool anchored_start = false, anchored_end = false;

	if (!pattern || !text)
		return false;
	plen = strlen(p);
	end = text + strlen(text);
	if (plen && p[0] == '^') {
		anchored_start = true;
		p++, plen--;
	}
	if (plen && p[plen - 1] == '$') {
		anchored_end = true;
		plen--;
	}
	star = memchr(p, '*', plen);
	if (!star) {
		if (anchored_start)
			return (size_t)(end - t) >= plen && !memcmp(t, p, plen) &&
			       (!anchored_end || (size_t)(end - t) == plen);
		if (anchored_end)
			return (size_t)(end - t) >= plen && !memcmp(end - plen, p, plen);
		return find(t, (size_t)(end - t), p, plen) != NULL;
	}
	/* With a *, the text before the first and after the last are pinned
	 * by the anchors; the pieces between go leftmost first, which finds a
	 * match whenever one exists. */
	seg = (size_t)(star - p);
	if (anchored_start) {
		if ((size_t)(end - t) < seg || memcmp(t, p, seg))
			return false;
		t += seg;
		plen -= seg;
		p += seg;
	}
	if (anchored_end) {
		const char *last = p + plen;
		size_t tail;

		while (last > p && last[-1] != '*')
			last--;
		tail = (size_t)(p + plen - last);
		if ((size_t)(end - t) < tail || memcmp(end - tail, last, tail))
			return false;
		end -= tail;
		plen -= tail;
	}
	while (plen) {
		const char *next = memchr(p, '*', plen), *hit;

		seg = next ? (size_t)(next - p) : plen;
		hit = find(t, (size_t)(end - t), p, seg);
		if (!hit)
			return false;
		t = hit + seg;
		p += seg;
		plen -= seg;
		if (next) {
			p++;
			plen--;
		}
	}
	return true;
}

static bool match_module(const char *pattern, const char *module)
{
	const char *slash;

	if (!module)
		return false;
	if (lt_supp_pattern_match(pattern, module))
		return true;
	slash = strrchr(module, '/');
	return slash && lt_supp_pattern_match(pattern, slash + 1);
}

/* A function pattern of "" stands for a frame with no name. */
static bool match_func(const char *pattern, const char *func)
{
	if (!*pattern)
		return !func || !*func;
	return func && lt_supp_pattern_match(pattern, func);
}

static bool frame_matches(const struct frame_pattern *p, const struct lt_report_frame *f)
{
	if (p->any && !lt_supp_pattern_match(p->any, f->func) &&
	    !match_module(p->any, f->module) && !lt_supp_pattern_match(p->any, f->file))
		return false;
	if (p->func && !match_func(p->func, f->func))
		return false;
	if (p->module && !match_module(p->module, f->module))
		return false;
	if (p->file && !lt_supp_pattern_match(p->file, f->file))
		return false;
	return true;
}

static bool stack_has(const struct frame_pattern *p, const struct lt_report_frame *frames,
		      uint32_t nframes)
{
	if (!p->any && !p->func && !p->module && !p->file)
		return true;
	for (uint32_t i = 0; i < nframes; i++)
		if (frame_matches(p, &frames[i]))
			return true;
	return false;
}

bool lt_suppressions_match(const struct lt_suppressions *s, const struct lt_report_frame *frames,
			   uint32_t nframes)
{
	/* frames[0] and those inlined into it make up the allocating caller. */
	uint32_t caller_end = 0;

	if (lt_suppressions_empty(s))
		return false;
	while (caller_end < nframes && frames[caller_end].inlined)
		caller_end++;
	for (uint32_t i = 0; i < nframes; i++)
		for (size_t k = 0; k < s->n; k++) {
			if (s->rules[k].caller_only && i > caller_end)
				continue;
			if (frame_matches(&s->rules[k].at, &frames[i]) &&
			    stack_has(&s->rules[k].via, frames, nframes))
				return true;
		}
	return false;
}
