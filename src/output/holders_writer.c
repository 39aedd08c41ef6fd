// SPDX-License-Identifier: MIT
#include "output/holders_writer.h"

#include <inttypes.h>
#include <string.h>

#include "output/json_writer.h"

static const char *root_kind(enum lt_holder_root_kind k)
{
	switch (k) {
	case LT_HOLDER_ROOT_MODULE: return "module";
	case LT_HOLDER_ROOT_CLASS: return "class";
	case LT_HOLDER_ROOT_FRAME: return "frame";
	case LT_HOLDER_ROOT_UNFOLLOWED: return "unfollowed";
	}
	return "?";
}

/* Names come from the process: a newline or an escape sequence in a key
 * must not reach the terminal or split a line. */
static void put_clean(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

void lt_holders_write_text(FILE *out, const struct lt_holders *h, int indent)
{
	if (!h->ok) {
		fprintf(out, "%*sholders: none found: %s\n", indent, "", h->error ? h->error : "?");
		return;
	}
	fprintf(out, "%*sholders: %" PRIu64 " objects read (%" PRIu64 " tracked by the GC, %" PRIu64
		" frames), %.1f ms; paused %.1f ms", indent, "", h->objects, h->gc_objects, h->frames,
		h->walk_ms, h->npauses ? h->pause_ms[0] : 0.0);
	if (h->npauses > 1)
		fprintf(out, " + %.1f ms", h->pause_ms[1]);
	if (!h->npauses)
		fputs(" (not paused: links read twice)", out);
	else if (!h->consistent)
		fprintf(out, " (walk longer than the %.0f ms bound: finished running, links read again)",
			h->pause_bound_ms);
	fputc('\n', out);
	for (size_t i = 0; i < h->nchains; i++) {
		const struct lt_holder_chain *c = &h->chains[i];

		fprintf(out, "%*s  ", indent, "");
		put_clean(out, c->text);
		fprintf(out, "  (%u of %u sampled", c->samples, c->sampled);
		if (c->where) {
			fputs(", made at ", out);
			put_clean(out, c->where);
		}
		fputs(c->conservative ? "; through an object not decoded)\n" : ")\n", out);
	}
	if (h->unreached || h->changed)
		fprintf(out, "%*s  (%u sampled objects not met in the walk, %u chains changed while read)\n",
			indent, "", h->unreached, h->changed);
}

/* A string of the process, or null; escaped for a <script> element too
 * when html (the page embeds this JSON). */
static void json_str(FILE *out, const char *s, bool html)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	lt_json_chars(out, s, html);
	fputc('"', out);
}

static void json_field(FILE *out, const char *key, const char *s, bool html)
{
	fprintf(out, ",\"%s\":", key);
	json_str(out, s, html);
}

static void write_json(FILE *out, const struct lt_holders *h, bool html)
{
	fprintf(out, "{\"ok\":%s", h->ok ? "true" : "false");
	json_field(out, "error", h->error, html);
	fputs(",\"pause_ms\":[", out);
	for (uint32_t i = 0; i < h->npauses; i++) {
		if (i)
			fputc(',', out);
		lt_json_double(out, h->pause_ms[i]);
	}
	fputs("],\"pause_bound_ms\":", out);
	lt_json_double(out, h->pause_bound_ms);
	fprintf(out, ",\"consistent\":%s,\"walk_ms\":", h->consistent ? "true" : "false");
	lt_json_double(out, h->walk_ms);
	fprintf(out, ",\"objects\":%" PRIu64 ",\"references\":%" PRIu64 ",\"gc_objects\":%" PRIu64
		",\"frames\":%" PRIu64 ",\"bytes_copied\":%" PRIu64 ",\"sampled\":%u,\"unreached\":%u"
		",\"changed\":%u,\"chains\":[", h->objects, h->references, h->gc_objects, h->frames,
		h->bytes_copied, h->sampled, h->unreached, h->changed);
	for (size_t i = 0; i < h->nchains; i++) {
		const struct lt_holder_chain *c = &h->chains[i];
		const struct lt_holder_root *r = &c->root;

		fputs(i ? ",{\"type\":" : "{\"type\":", out);
		json_str(out, c->type, html);
		json_field(out, "where", c->where, html);
		fprintf(out, ",\"samples\":%u,\"sampled\":%u,\"object\":\"0x%" PRIx64
			"\",\"conservative\":%s,\"text\":", c->samples, c->sampled, c->object,
			c->conservative ? "true" : "false");
		json_str(out, c->text, html);
		fputs(",\"links\":[", out);
		for (uint32_t l = 0; l < c->nlinks; l++) {
			const struct lt_holder_link *k = &c->links[l];

			fputs(l ? ",{\"holder\":" : "{\"holder\":", out);
			json_str(out, k->holder, html);
			json_field(out, "how", k->how, html);
			json_field(out, "key", k->key, html);
			if (k->index >= 0)
				fprintf(out, ",\"index\":%" PRId64, k->index);
			fprintf(out, ",\"address\":\"0x%" PRIx64 "\",\"text\":", k->addr);
			json_str(out, k->text, html);
			fputc('}', out);
		}
		fprintf(out, "],\"root\":{\"kind\":\"%s\"", root_kind(r->kind));
		json_field(out, "module", r->module, html);
		json_field(out, "class", r->cls, html);
		json_field(out, "function", r->func, html);
		json_field(out, "file", r->file, html);
		json_field(out, "name", r->name, html);
		if (r->kind == LT_HOLDER_ROOT_FRAME)
			fprintf(out, ",\"thread\":%u", r->tid);
		if (r->kind == LT_HOLDER_ROOT_UNFOLLOWED) {
			json_field(out, "holder", r->holder, html);
			fprintf(out, ",\"references\":%" PRIu64 ",\"found\":%" PRIu64, r->refcount,
				r->found);
		}
		fputs(",\"text\":", out);
		json_str(out, r->text, html);
		fputs("}}", out);
	}
	fputs("]}", out);
}

void lt_holders_write_json(FILE *out, const struct lt_holders *h)
{
	write_json(out, h, false);
}

void lt_holders_write_json_html(FILE *out, const struct lt_holders *h)
{
	write_json(out, h, true);
}

/* A DOT string: quotes and backslashes escaped, control characters dropped. */
static void dot_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		if ((unsigned char)*s >= 0x20)
			fputc(*s, out);
	}
	fputc('"', out);
}

/* FNV-1a of a root's text: its node's name. */
static uint64_t text_key(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

void lt_holders_dot_begin(FILE *out)
{
	fputs("digraph holders {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\"];\n", out);
}

void lt_holders_dot_end(FILE *out)
{
	fputs("}\n", out);
}

/* Nodes are named by process and address, so that chains sharing holders
 * share nodes, as in objgraph's drawings. */
void lt_holders_write_dot(FILE *out, const struct lt_holders *h, unsigned pid)
{
	for (size_t i = 0; i < h->nchains; i++) {
		const struct lt_holder_chain *c = &h->chains[i];
		uint64_t prev = c->object;
		char label[512];

		snprintf(label, sizeof(label), "%u of %u sampled%s%s", c->samples, c->sampled,
			 c->where ? ", made at " : "", c->where ? c->where : "");
		fprintf(out, "  \"p%u_%" PRIx64 "\" [label=", pid, prev);
		dot_string(out, c->type);
		fputs(", style=filled, fillcolor=\"#f4cccc\"];\n", out);
		for (uint32_t l = 0; l < c->nlinks; l++) {
			const struct lt_holder_link *k = &c->links[l];

			fprintf(out, "  \"p%u_%" PRIx64 "\" [label=", pid, k->addr);
			dot_string(out, k->holder);
			fprintf(out, "];\n  \"p%u_%" PRIx64 "\" -> \"p%u_%" PRIx64 "\" [label=", pid, prev,
				pid, k->addr);
			dot_string(out, k->text);
			fputs("];\n", out);
			prev = k->addr;
		}
		/* Chains ending at one global share its node. */
		fprintf(out, "  \"p%u_root_%016" PRIx64 "\" [label=", pid, text_key(c->root.text));
		dot_string(out, c->root.text);
		fprintf(out, ", style=filled, fillcolor=\"#d9ead3\"];\n  \"p%u_%" PRIx64
			"\" -> \"p%u_root_%016" PRIx64 "\" [label=", pid, prev, pid,
			text_key(c->root.text));
		dot_string(out, label);
		fputs("];\n", out);
	}
}
