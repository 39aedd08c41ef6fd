// SPDX-License-Identifier: MIT
/*
 * Chains of holders written as text, JSON and DOT: the fields each form
 * carries, names from the process (quotes, backslashes, newlines, tabs,
 * control characters) escaped so that the JSON parses and the DOT stays
 * one statement a line, chains ending at one root sharing its DOT node,
 * and a failed search (ok false, with or without its error).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "holders/holders.h"
#include "output/holders_writer.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#include "json_check.h"

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

#define TEXT(fn, ...)                                                                   \
	({                                                                               \
		char *buf_ = NULL;                                                       \
		size_t len_ = 0;                                                         \
		FILE *f_ = open_memstream(&buf_, &len_);                                 \
		assert_non_null(f_);                                                     \
		fn(f_, __VA_ARGS__);                                                     \
		assert_int_equal(fclose(f_), 0);                                         \
		assert_int_equal(strlen(buf_), len_);                                    \
		buf_;                                                                    \
	})

/* The same root's text in a buffer of its own: shared by content. */
static char root_text1[] = "module billing: _AUDIT";

static struct lt_holder_link links0[] = {
	{ .holder = "list", .how = "index", .index = 19999, .text = "list[19999]", .addr = 0x2000 },
	{ .holder = "dict", .how = "value", .key = "'k\"\\\n'", .index = -1,
	  .text = "dict['k\"\\\n']", .addr = 0x3000 },
};
static struct lt_holder_link links1[] = {
	{ .holder = "weird\\type", .how = "not decoded", .index = -1,
	  .text = "weird\\type (not decoded, +16)", .addr = 0x4000 },
};
static struct lt_holder_link links2[] = {
	{ .holder = "Owner", .how = "attr", .key = "cache", .index = -1, .text = "Owner.cache",
	  .addr = 0x5000 },
};

/*
 * Four chains: two ending at one module global (the second through an
 * object not decoded), one at a frame's local, one unfollowed. Names carry
 * what a process may put in them.
 */
static void fixture(struct lt_holders *h, struct lt_holder_chain *c)
{
	memset(h, 0, sizeof(*h));
	memset(c, 0, 4 * sizeof(*c));
	c[0] = (struct lt_holder_chain){
		.type = "Invoice\"Record", .where = "billing.py:12", .samples = 3, .sampled = 5,
		.object = 0x1000, .links = links0, .nlinks = 2,
		.root = { .kind = LT_HOLDER_ROOT_MODULE, .module = "billing", .name = "_AUDIT",
			  .text = "module billing: _AUDIT" },
		.text = "Invoice\"Record <- list[19999] <- dict['k\"\\\n'] <- module billing: _AUDIT",
	};
	c[1] = (struct lt_holder_chain){
		.type = "Tab\tThing\x01", .samples = 1, .sampled = 1, .object = 0x1100,
		.links = links1, .nlinks = 1, .conservative = true,
		.root = { .kind = LT_HOLDER_ROOT_MODULE, .module = "billing", .name = "_AUDIT",
			  .text = root_text1 },
		.text = "Tab\tThing\x01 <- weird\\type (not decoded, +16) <- module billing: _AUDIT",
	};
	c[2] = (struct lt_holder_chain){
		.type = "Row", .where = "db.py:7", .samples = 2, .sampled = 2, .object = 0x1200,
		.links = links2, .nlinks = 1,
		.root = { .kind = LT_HOLDER_ROOT_FRAME, .func = "serve", .file = "app.py", .tid = 7,
			  .name = "rows", .text = "frame serve in app.py (thread 7): local rows" },
		.text = "Row <- Owner.cache <- frame serve in app.py (thread 7): local rows",
	};
	c[3] = (struct lt_holder_chain){
		.type = "Blob", .samples = 1, .sampled = 4, .object = 0x1300,
		.root = { .kind = LT_HOLDER_ROOT_UNFOLLOWED, .holder = "Blob", .refcount = 9, .found = 2,
			  .text = "held from C or an object not decoded (Blob: 9 references, 2 found)" },
		.text = "Blob <- held from C or an object not decoded (Blob: 9 references, 2 found)",
	};
	h->ok = true;
	h->pause_ms[0] = 3.25;
	h->pause_ms[1] = 0.5;
	h->npauses = 2;
	h->pause_bound_ms = 200;
	h->consistent = true;
	h->walk_ms = 12.5;
	h->objects = 10;
	h->references = 20;
	h->gc_objects = 4;
	h->frames = 2;
	h->bytes_copied = 65536;
	h->sampled = 12;
	h->unreached = 1;
	h->changed = 2;
	h->chains = c;
	h->nchains = 4;
}

/* ---- text ---- */

static void test_text(void **state)
{
	struct lt_holders h;
	struct lt_holder_chain c[4];
	char *t;

	(void)state;
	fixture(&h, c);
	t = TEXT(lt_holders_write_text, &h, 4);
	assert_non_null(strstr(t, "    holders: 10 objects read (4 tracked by the GC, 2 frames), "
				  "12.5 ms; paused 3.2 ms + 0.5 ms\n"));
	assert_non_null(strstr(t, "\n      Invoice\"Record <- list[19999]"));
	assert_non_null(strstr(t, " <- module billing: _AUDIT  (3 of 5 sampled, made at billing.py:12)\n"));
	assert_non_null(strstr(t, "(1 of 1 sampled; through an object not decoded)\n"));
	assert_non_null(strstr(t, "local rows  (2 of 2 sampled, made at db.py:7)\n"));
	assert_non_null(strstr(t, "2 found)  (1 of 4 sampled)\n"));
	assert_non_null(strstr(t, "      (1 sampled objects not met in the walk, 2 chains changed while read)\n"));
	free(t);

	/* Not paused; paused past the bound; nothing unreached. */
	h.npauses = 0;
	h.unreached = h.changed = 0;
	h.nchains = 0;
	t = TEXT(lt_holders_write_text, &h, 0);
	assert_string_equal(t, "holders: 10 objects read (4 tracked by the GC, 2 frames), 12.5 ms; "
			       "paused 0.0 ms (not paused: links read twice)\n");
	free(t);
	h.npauses = 1;
	h.consistent = false;
	t = TEXT(lt_holders_write_text, &h, 0);
	assert_string_equal(t, "holders: 10 objects read (4 tracked by the GC, 2 frames), 12.5 ms; "
			       "paused 3.2 ms (walk longer than the 200 ms bound: finished running, "
			       "links read again)\n");
	free(t);
}

/*
 * A chain's text carries strings of the process (a dict's str key, an
 * attribute's name, which keep newlines and control characters): the text
 * keeps one line per chain, with no control character reaching a terminal.
 */
static void test_text_one_line_per_chain(void **state)
{
	struct lt_holders h;
	struct lt_holder_chain c[4];
	char *t;

	(void)state;
	fixture(&h, c);
	h.unreached = h.changed = 0;
	t = TEXT(lt_holders_write_text, &h, 0);
	/* The header and one line per chain. */
	assert_int_equal(count(t, "\n"), 1 + h.nchains);
	assert_null(strchr(t, '\x01'));
	free(t);
}

static void test_text_not_ok(void **state)
{
	struct lt_holders h = { .ok = false, .error = "process 12 is gone" };
	char *t;

	(void)state;
	t = TEXT(lt_holders_write_text, &h, 2);
	assert_string_equal(t, "  holders: none found: process 12 is gone\n");
	free(t);
	h.error = NULL;
	t = TEXT(lt_holders_write_text, &h, 0);
	assert_string_equal(t, "holders: none found: ?\n");
	free(t);
}

/* ---- JSON ---- */

static void test_json(void **state)
{
	struct lt_holders h;
	struct lt_holder_chain c[4];
	struct json j;
	char *t;

	(void)state;
	fixture(&h, c);
	t = TEXT(lt_holders_write_json, &h);
	parse_json(t, &j);
	/* Names from the process, back as they were. */
	assert_true(has_string(&j, "Invoice\"Record"));
	assert_true(has_string(&j, "'k\"\\\n'"));
	assert_true(has_string(&j, "dict['k\"\\\n']"));
	assert_true(has_string(&j, "Tab\tThing\x01"));
	assert_true(has_string(&j, "weird\\type"));
	assert_true(has_string(&j, "module billing: _AUDIT"));
	assert_true(has_string(&j, "0x1000"));
	assert_true(has_string(&j, "0x3000"));
	free_json(&j);
	/* Escaped, not raw. */
	assert_non_null(strstr(t, "\"Invoice\\\"Record\""));
	assert_non_null(strstr(t, "\"Tab\\tThing\\u0001\""));
	assert_non_null(strstr(t, "\"weird\\\\type\""));
	assert_non_null(strstr(t, "\\n']\""));
	assert_null(strchr(t, '\n'));
	assert_null(strchr(t, '\t'));
	/* The fields. */
	assert_true(starts(t, "{\"ok\":true,\"error\":null,\"pause_ms\":[3.250000,0.500000],"
				"\"pause_bound_ms\":200.000000,\"consistent\":true,"
				"\"walk_ms\":12.500000,\"objects\":10,\"references\":20,"
				"\"gc_objects\":4,\"frames\":2,\"bytes_copied\":65536,\"sampled\":12,"
				"\"unreached\":1,\"changed\":2,\"chains\":[{\"type\":") ||
		    (print_error("%s\n", t), false));
	assert_non_null(strstr(t, "\"where\":\"billing.py:12\",\"samples\":3,\"sampled\":5,"
				  "\"object\":\"0x1000\",\"conservative\":false,"));
	assert_non_null(strstr(t, "{\"holder\":\"list\",\"how\":\"index\",\"key\":null,"
				  "\"index\":19999,\"address\":\"0x2000\",\"text\":\"list[19999]\"}"));
	/* No index: none given. */
	assert_non_null(strstr(t, "{\"holder\":\"Owner\",\"how\":\"attr\",\"key\":\"cache\","
				  "\"address\":\"0x5000\""));
	assert_int_equal(count(t, "\"index\":"), 1);
	assert_non_null(strstr(t, "\"root\":{\"kind\":\"module\",\"module\":\"billing\","
				  "\"class\":null,\"function\":null,\"file\":null,\"name\":\"_AUDIT\","
				  "\"text\":\"module billing: _AUDIT\"}"));
	assert_non_null(strstr(t, "\"conservative\":true"));
	assert_non_null(strstr(t, "\"root\":{\"kind\":\"frame\",\"module\":null,\"class\":null,"
				  "\"function\":\"serve\",\"file\":\"app.py\",\"name\":\"rows\","
				  "\"thread\":7,"));
	assert_non_null(strstr(t, "\"root\":{\"kind\":\"unfollowed\",\"module\":null,"
				  "\"class\":null,\"function\":null,\"file\":null,\"name\":null,"
				  "\"holder\":\"Blob\",\"references\":9,\"found\":2,"));
	assert_non_null(strstr(t, "\"links\":[],"));
	assert_int_equal(count(t, "\"thread\":"), 1);
	assert_int_equal(count(t, "{\"type\":"), 4);
	assert_true(t[strlen(t) - 1] == '}');
	free(t);
}

static void test_json_not_ok(void **state)
{
	struct lt_holders h = { .ok = false, .error = "no \"python\"\n here" };
	struct json j;
	char *t;

	(void)state;
	t = TEXT(lt_holders_write_json, &h);
	parse_json(t, &j);
	assert_true(has_string(&j, "no \"python\"\n here"));
	free_json(&j);
	assert_true(starts(t, "{\"ok\":false,\"error\":\"no \\\"python\\\"\\n here\",\"pause_ms\":[],"));
	assert_non_null(strstr(t, "\"chains\":[]}"));
	free(t);
	h.error = NULL;
	t = TEXT(lt_holders_write_json, &h);
	parse_json(t, &j);
	free_json(&j);
	assert_non_null(strstr(t, "{\"ok\":false,\"error\":null,"));
	free(t);
}

/* ---- DOT ---- */

/* Each line one statement, its quotes balanced (escaped ones aside). */
static void assert_dot_lines(const char *t)
{
	const char *line = t;

	assert_true(!strncmp(t, "digraph holders {\n", 18));
	assert_true(strlen(t) >= 2 && !strcmp(t + strlen(t) - 2, "}\n"));
	while (*line) {
		const char *end = strchr(line, '\n');
		bool in = false;

		assert_non_null(end);
		for (const char *p = line; p < end; p++) {
			assert_true((unsigned char)*p >= 0x20);
			if (*p == '\\' && in)
				p++;
			else if (*p == '"')
				in = !in;
		}
		if (in) {
			print_error("unbalanced: %.*s\n", (int)(end - line), line);
			fail();
		}
		line = end + 1;
	}
}

static void test_dot(void **state)
{
	struct lt_holders h;
	struct lt_holder_chain c[4];
	char *t = NULL, root[64];
	const char *r;
	size_t len = 0;
	FILE *f;

	(void)state;
	fixture(&h, c);
	f = open_memstream(&t, &len);
	assert_non_null(f);
	lt_holders_dot_begin(f);
	lt_holders_write_dot(f, &h, 42);
	h.nchains = 1;
	lt_holders_write_dot(f, &h, 43);
	lt_holders_dot_end(f);
	assert_int_equal(fclose(f), 0);
	assert_dot_lines(t);
	/* Escaped quotes and backslashes; control characters dropped. */
	assert_non_null(strstr(t, "  \"p42_1000\" [label=\"Invoice\\\"Record\", style=filled"));
	assert_non_null(strstr(t, "[label=\"weird\\\\type\"]"));
	assert_non_null(strstr(t, "[label=\"dict['k\\\"\\\\']\"]"));
	assert_non_null(strstr(t, "[label=\"TabThing\""));
	/* The links, object first, by address. */
	assert_non_null(strstr(t, "  \"p42_1000\" -> \"p42_2000\" [label=\"list[19999]\"];\n"));
	assert_non_null(strstr(t, "  \"p42_2000\" -> \"p42_3000\" [label="));
	/* Chains 0 and 1 end at one root node; chain 2's is another. */
	r = strstr(t, "  \"p42_3000\" -> \"p42_root_");
	assert_non_null(r);
	assert_int_equal(sscanf(r, "  \"p42_3000\" -> \"%40[^\"]\"", root), 1);
	assert_int_equal(strlen(root), strlen("p42_root_") + 16);
	{
		char edge[128];

		snprintf(edge, sizeof(edge), "  \"p42_4000\" -> \"%s\" [label=\"1 of 1 sampled\"];\n",
			 root);
		assert_non_null(strstr(t, edge));
		snprintf(edge, sizeof(edge), "  \"p42_5000\" -> \"%s\"", root);
		assert_null(strstr(t, edge));
		snprintf(edge, sizeof(edge), "  \"%s\" [label=\"module billing: _AUDIT\", style=filled",
			 root);
		assert_int_equal(count(t, edge), 2);
	}
	assert_non_null(strstr(t, "[label=\"3 of 5 sampled, made at billing.py:12\"];\n"));
	/* A chain without links: the object straight to its root. */
	assert_non_null(strstr(t, "  \"p42_1300\" -> \"p42_root_"));
	/* Another process's nodes are its own, even for the same root. */
	assert_non_null(strstr(t, "  \"p43_1000\" [label="));
	root[2] = '3'; /* p42_root_... -> p43_root_... */
	assert_non_null(strstr(t, root));
	/* Its object, 2 links and root: 4 nodes, 3 edges of 2 ends. */
	assert_int_equal(count(t, "\"p43_"), 4 + 3 * 2);
	free(t);
}

/* ok false: no chains, an empty graph still a graph. */
static void test_dot_not_ok(void **state)
{
	struct lt_holders h = { .ok = false, .error = "gone" };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	lt_holders_dot_begin(f);
	lt_holders_write_dot(f, &h, 1);
	lt_holders_dot_end(f);
	assert_int_equal(fclose(f), 0);
	assert_dot_lines(buf);
	assert_null(strstr(buf, "->"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_one_line_per_chain),
		cmocka_unit_test(test_text_not_ok),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_not_ok),
		cmocka_unit_test(test_dot),
		cmocka_unit_test(test_dot_not_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
