// SPDX-License-Identifier: MIT
/*
 * The exporter-toolkit web configuration, read with libyaml's document
 * API: the file is small, so the whole tree is loaded, then walked by
 * field. Every error names the file, the line where libyaml knows it, and
 * the field as a dotted path.
 */
#include "output/web_config.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <yaml.h>

/* Certificates and keys are a few KiB; a CA bundle a few hundred. */
#define MAX_FILE_BYTES (4u << 20)

static const char *const auth_names[] = {
	[LT_CLIENT_AUTH_NONE] = "NoClientCert",
	[LT_CLIENT_AUTH_REQUEST] = "RequestClientCert",
	[LT_CLIENT_AUTH_REQUIRE_ANY] = "RequireAnyClientCert",
	[LT_CLIENT_AUTH_VERIFY_IF_GIVEN] = "VerifyClientCertIfGiven",
	[LT_CLIENT_AUTH_REQUIRE_VERIFY] = "RequireAndVerifyClientCert",
};

/* The toolkit's allowed headers (it refuses others too). */
static const char *const header_names[] = {
	"Content-Security-Policy", "X-Frame-Options",	      "X-Content-Type-Options",
	"X-XSS-Protection",	   "Strict-Transport-Security",
};

/* In the toolkit, not here: refused by name. */
static const char *const unsupported_tls[] = {
	"cipher_suites", "curve_preferences", "prefer_server_cipher_suites",
	"client_allowed_sans", "cert", "key", "client_ca",
};

struct walk {
	yaml_document_t *doc;
	const char *path;
	char *dir; /* the file's folder, for relative names */
	char *err;
	size_t errlen;
};

const char *lt_client_auth_name(enum lt_client_auth a)
{
	return (unsigned)a < sizeof(auth_names) / sizeof(auth_names[0]) ? auth_names[a] : "?";
}

__attribute__((format(printf, 4, 5))) static int fail(struct walk *w, const yaml_node_t *n,
						      const char *field, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (n)
		snprintf(w->err, w->errlen, "%s:%zu: %s: %s", w->path, n->start_mark.line + 1, field,
			 why);
	else
		snprintf(w->err, w->errlen, "%s: %s: %s", w->path, field, why);
	return -EINVAL;
}

static bool is_null(const yaml_node_t *n)
{
	const char *v;

	if (!n || n->type != YAML_SCALAR_NODE)
		return false;
	v = (const char *)n->data.scalar.value;
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
		!strcmp(v, "NULL"));
}

/* A non-empty string: the scalar's text, NUL-free. */
static int scalar(struct walk *w, const yaml_node_t *n, const char *field, const char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return fail(w, n, field, "must be a string");
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return fail(w, n, field, "holds a NUL byte");
	if (!n->data.scalar.length)
		return fail(w, n, field, "is empty");
	*out = (const char *)n->data.scalar.value;
	return 0;
}

/* A file name, made absolute from the configuration's folder. */
static int file_name(struct walk *w, const yaml_node_t *n, const char *field, char **out)
{
	const char *v;
	int ret = scalar(w, n, field, &v);

	if (ret)
		return ret;
	free(*out);
	*out = NULL;
	if (v[0] == '/' ? !(*out = strdup(v)) : asprintf(out, "%s/%s", w->dir, v) < 0) {
		*out = NULL;
		return fail(w, n, field, "out of memory");
	}
	return 0;
}

static int tls_version(struct walk *w, const yaml_node_t *n, const char *field, int *out)
{
	static const char *const names[] = { "TLS10", "TLS11", "TLS12", "TLS13" };
	const char *v;
	int ret = scalar(w, n, field, &v);

	if (ret)
		return ret;
	for (int i = 0; i < 4; i++) {
		if (!strcmp(v, names[i])) {
			*out = 10 + i;
			return 0;
		}
	}
	return fail(w, n, field, "\"%s\" is not one of TLS10, TLS11, TLS12, TLS13", v);
}

static int client_auth(struct walk *w, const yaml_node_t *n, const char *field,
		       enum lt_client_auth *out)
{
	const char *v;
	int ret = scalar(w, n, field, &v);

	if (ret)
		return ret;
	for (size_t i = 0; i < sizeof(auth_names) / sizeof(auth_names[0]); i++) {
		if (!strcmp(v, auth_names[i])) {
			*out = (enum lt_client_auth)i;
			return 0;
		}
	}
	return fail(w, n, field,
		    "\"%s\" is not one of NoClientCert, RequestClientCert, RequireAnyClientCert, "
		    "VerifyClientCertIfGiven, RequireAndVerifyClientCert",
		    v);
}

static size_t npairs(const yaml_node_t *n)
{
	return n->type == YAML_MAPPING_NODE ?
		       (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start) :
		       0;
}

static void pair_at(const struct walk *w, const yaml_node_t *n, size_t i, yaml_node_t **k,
		    yaml_node_t **v)
{
	const yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];

	*k = yaml_document_get_node(w->doc, p->key);
	*v = yaml_document_get_node(w->doc, p->value);
}

static int mapping(struct walk *w, const yaml_node_t *n, const char *field)
{
	if (is_null(n) || n->type == YAML_MAPPING_NODE)
		return 0;
	return fail(w, n, field, "must be a mapping");
}

static int key_text(struct walk *w, const yaml_node_t *k, const char *parent, const char **out)
{
	*out = "";
	if (k->type != YAML_SCALAR_NODE ||
	    strlen((const char *)k->data.scalar.value) != k->data.scalar.length)
		return fail(w, k, parent, "keys must be strings");
	*out = (const char *)k->data.scalar.value;
	return 0;
}

static int parse_tls(struct walk *w, const yaml_node_t *n, struct lt_web_config *c)
{
	yaml_node_t *k, *v;
	const char *key;
	char field[96];
	int ret = mapping(w, n, "tls_server_config");

	if (ret || is_null(n))
		return ret;
	c->tls = true;
	for (size_t i = 0; i < npairs(n); i++) {
		pair_at(w, n, i, &k, &v);
		if ((ret = key_text(w, k, "tls_server_config", &key)))
			return ret;
		snprintf(field, sizeof(field), "tls_server_config.%s", key);
		if (is_null(v))
			continue;
		if (!strcmp(key, "cert_file"))
			ret = file_name(w, v, field, &c->cert_file);
		else if (!strcmp(key, "key_file"))
			ret = file_name(w, v, field, &c->key_file);
		else if (!strcmp(key, "client_ca_file"))
			ret = file_name(w, v, field, &c->ca_file);
		else if (!strcmp(key, "client_auth_type"))
			ret = client_auth(w, v, field, &c->client_auth);
		else if (!strcmp(key, "min_version"))
			ret = tls_version(w, v, field, &c->min_version);
		else if (!strcmp(key, "max_version"))
			ret = tls_version(w, v, field, &c->max_version);
		else {
			ret = fail(w, k, field, "unknown field");
			for (size_t i = 0; i < sizeof(unsupported_tls) / sizeof(*unsupported_tls); i++)
				if (!strcmp(key, unsupported_tls[i]))
					ret = fail(w, k, field, "not supported by leaktrace");
		}
		if (ret)
			return ret;
	}
	if (!c->cert_file)
		return fail(w, n, "tls_server_config.cert_file", "missing (key_file needs it)");
	if (!c->key_file)
		return fail(w, n, "tls_server_config.key_file", "missing (cert_file needs it)");
	if (c->min_version > c->max_version)
		return fail(w, n, "tls_server_config.min_version", "above max_version");
	if (!c->ca_file && c->client_auth >= LT_CLIENT_AUTH_VERIFY_IF_GIVEN)
		return fail(w, n, "tls_server_config.client_ca_file", "required by client_auth_type %s",
			    auth_names[c->client_auth]);
	return 0;
}

static bool is_bcrypt(const char *h)
{
	/* $2?$NN$ and 53 characters of salt and hash. */
	return strlen(h) == 60 && h[0] == '$' && h[1] == '2' && strchr("aby", h[2]) &&
	       h[3] == '$' && h[4] >= '0' && h[4] <= '3' && h[5] >= '0' && h[5] <= '9' &&
	       h[6] == '$';
}

static int parse_users(struct walk *w, const yaml_node_t *n, struct lt_web_config *c)
{
	yaml_node_t *k, *v;
	const char *name, *hash;
	char field[160];
	int ret = mapping(w, n, "basic_auth_users");

	if (ret || is_null(n))
		return ret;
	for (size_t i = 0; i < npairs(n); i++) {
		pair_at(w, n, i, &k, &v);
		struct lt_web_user *u;

		if ((ret = key_text(w, k, "basic_auth_users", &name)))
			return ret;
		snprintf(field, sizeof(field), "basic_auth_users.%s", name);
		if (!*name || strchr(name, ':'))
			return fail(w, k, field, "a user name must be non-empty and hold no ':'");
		if ((ret = scalar(w, v, field, &hash)))
			return ret;
		if (!is_bcrypt(hash))
			return fail(w, v, field, "not a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)");
		for (size_t i = 0; i < c->nusers; i++)
			if (!strcmp(c->users[i].name, name))
				return fail(w, k, field, "given twice");
		u = realloc(c->users, (c->nusers + 1) * sizeof(*u));
		if (!u)
			return fail(w, v, field, "out of memory");
		c->users = u;
		u = &c->users[c->nusers];
		u->name = strdup(name);
		u->hash = strdup(hash);
		c->nusers++;
		if (!u->name || !u->hash)
			return fail(w, v, field, "out of memory");
	}
	return 0;
}

static int parse_headers(struct walk *w, const yaml_node_t *n, struct lt_web_config *c)
{
	yaml_node_t *k, *v;
	const char *name, *value;
	char field[160];
	int ret = mapping(w, n, "http_server_config.headers");

	if (ret || is_null(n))
		return ret;
	for (size_t i = 0; i < npairs(n); i++) {
		pair_at(w, n, i, &k, &v);
		struct lt_web_header *h;
		bool known = false;

		if ((ret = key_text(w, k, "http_server_config.headers", &name)))
			return ret;
		snprintf(field, sizeof(field), "http_server_config.headers.%s", name);
		for (size_t i = 0; i < sizeof(header_names) / sizeof(*header_names); i++)
			known |= !strcasecmp(name, header_names[i]);
		if (!known)
			return fail(w, k, field,
				    "not one of Content-Security-Policy, X-Frame-Options, "
				    "X-Content-Type-Options, X-XSS-Protection, Strict-Transport-Security");
		if ((ret = scalar(w, v, field, &value)))
			return ret;
		if (strpbrk(value, "\r\n"))
			return fail(w, v, field, "holds a line break");
		h = realloc(c->headers, (c->nheaders + 1) * sizeof(*h));
		if (!h)
			return fail(w, v, field, "out of memory");
		c->headers = h;
		h = &c->headers[c->nheaders];
		h->name = strdup(name);
		h->value = strdup(value);
		c->nheaders++;
		if (!h->name || !h->value)
			return fail(w, v, field, "out of memory");
	}
	return 0;
}

/* Checked, not kept: the answer is HTTP/1.1 whatever it says. */
static int boolean(struct walk *w, const yaml_node_t *n, const char *field)
{
	const char *v;
	int ret = scalar(w, n, field, &v);

	if (ret)
		return ret;
	if (strcmp(v, "true") && strcmp(v, "false"))
		return fail(w, n, field, "must be true or false");
	return 0;
}

static int parse_server(struct walk *w, const yaml_node_t *n, struct lt_web_config *c)
{
	yaml_node_t *k, *v;
	const char *key;
	char field[96];
	int ret = mapping(w, n, "http_server_config");

	if (ret || is_null(n))
		return ret;
	for (size_t i = 0; i < npairs(n); i++) {
		pair_at(w, n, i, &k, &v);
		if ((ret = key_text(w, k, "http_server_config", &key)))
			return ret;
		snprintf(field, sizeof(field), "http_server_config.%s", key);
		if (!strcmp(key, "headers"))
			ret = parse_headers(w, v, c);
		else if (!strcmp(key, "http2"))
			ret = is_null(v) ? 0 : boolean(w, v, field);
		else
			ret = fail(w, k, field, "unknown field");
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_root(struct walk *w, const yaml_node_t *root, struct lt_web_config *c)
{
	yaml_node_t *k, *v;
	const char *key;
	int ret;

	if (!root || is_null(root))
		return 0; /* an empty file: plain HTTP, no users, as the toolkit */
	if (root->type != YAML_MAPPING_NODE)
		return fail(w, root, "(top level)", "must be a mapping");
	for (size_t i = 0; i < npairs(root); i++) {
		pair_at(w, root, i, &k, &v);
		if ((ret = key_text(w, k, "(top level)", &key)))
			return ret;
		if (!strcmp(key, "tls_server_config"))
			ret = parse_tls(w, v, c);
		else if (!strcmp(key, "basic_auth_users"))
			ret = parse_users(w, v, c);
		else if (!strcmp(key, "http_server_config"))
			ret = parse_server(w, v, c);
		else if (!strcmp(key, "rate_limit"))
			ret = fail(w, k, key, "not supported by leaktrace (it bounds connections instead)");
		else
			ret = fail(w, k, key, "unknown field");
		if (ret)
			return ret;
	}
	return 0;
}

/* Keys and file names come from the file: a line break or an escape in
 * one must not break the message's one line. */
static void one_line(char *err)
{
	for (unsigned char *p = (unsigned char *)err; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
}

static int parse_text(const char *text, size_t len, const char *path, struct lt_web_config *out,
		      char *err, size_t errlen);

int lt_web_config_parse(const char *text, size_t len, const char *path,
			struct lt_web_config *out, char *err, size_t errlen)
{
	int ret = parse_text(text, len, path, out, err, errlen);

	if (ret)
		one_line(err);
	return ret;
}

static int parse_text(const char *text, size_t len, const char *path, struct lt_web_config *out,
		      char *err, size_t errlen)
{
	struct walk w = { .path = path, .err = err, .errlen = errlen };
	yaml_parser_t parser;
	yaml_document_t doc;
	char *copy = strdup(path);
	int ret = -EINVAL;

	memset(out, 0, sizeof(*out));
	out->min_version = 12;
	out->max_version = 13;
	if (!copy || !(w.dir = strdup(dirname(copy)))) {
		free(copy);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	free(copy);
	if (!yaml_parser_initialize(&parser)) {
		free(w.dir);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "%s:%zu: not YAML: %s", path, parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "unreadable");
		goto out_parser;
	}
	w.doc = &doc;
	ret = parse_root(&w, yaml_document_get_root_node(&doc), out);
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	free(w.dir);
	if (ret)
		lt_web_config_free(out);
	return ret;
}

/* The whole of a small file, NUL-terminated. */
static int slurp(const char *path, const char *field, const char *config, char **out,
		 size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n;
	int ret;

	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s: cannot read %s: %s", config, field, path,
			 strerror(-ret));
		return ret;
	}
	buf = malloc(MAX_FILE_BYTES + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", config);
		return -ENOMEM;
	}
	n = fread(buf, 1, MAX_FILE_BYTES + 1, f);
	ret = ferror(f) ? -EIO : n > MAX_FILE_BYTES ? -EFBIG : 0;
	fclose(f);
	if (ret) {
		snprintf(err, errlen, "%s: %s: cannot read %s: %s", config, field, path,
			 ret == -EFBIG ? "over 4 MiB" : strerror(EIO));
		free(buf);
		return ret;
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

/* What GnuTLS will say when the server starts, said now and by field. */
static int check_tls(const struct lt_web_config *c, const char *config, char *err, size_t errlen)
{
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t cert = { (unsigned char *)c->cert_pem, (unsigned)strlen(c->cert_pem) };
	gnutls_datum_t key = { (unsigned char *)c->key_pem, (unsigned)strlen(c->key_pem) };
	int ret;

	if (gnutls_certificate_allocate_credentials(&cred) < 0) {
		snprintf(err, errlen, "%s: out of memory", config);
		return -ENOMEM;
	}
	ret = gnutls_certificate_set_x509_key_mem2(cred, &cert, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (ret < 0) {
		snprintf(err, errlen, "%s: tls_server_config.cert_file/key_file: %s and %s: %s", config,
			 c->cert_file, c->key_file, gnutls_strerror(ret));
		goto out;
	}
	if (c->ca_pem) {
		gnutls_datum_t ca = { (unsigned char *)c->ca_pem, (unsigned)strlen(c->ca_pem) };

		ret = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
		if (ret <= 0) {
			snprintf(err, errlen, "%s: tls_server_config.client_ca_file: %s: %s", config,
				 c->ca_file, ret < 0 ? gnutls_strerror(ret) : "no PEM certificate in it");
			ret = -1;
			goto out;
		}
	}
	ret = 0;
out:
	gnutls_certificate_free_credentials(cred);
	return ret < 0 ? -EINVAL : 0;
}

int lt_web_config_load(const char *path, struct lt_web_config *out, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = slurp(path, "--web-config", path, &text, &len, err, errlen);
	if (ret) {
		/* No field to name: the file itself. */
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		one_line(err);
		return ret;
	}
	ret = lt_web_config_parse(text, len, path, out, err, errlen);
	free(text);
	if (ret || !out->tls)
		return ret;
	if ((ret = slurp(out->cert_file, "tls_server_config.cert_file", path, &out->cert_pem, NULL,
			 err, errlen)) ||
	    (ret = slurp(out->key_file, "tls_server_config.key_file", path, &out->key_pem, NULL, err,
			 errlen)) ||
	    (out->ca_file && (ret = slurp(out->ca_file, "tls_server_config.client_ca_file", path,
					  &out->ca_pem, NULL, err, errlen))) ||
	    (ret = check_tls(out, path, err, errlen))) {
		lt_web_config_free(out);
		one_line(err);
	}
	return ret;
}

void lt_web_config_free(struct lt_web_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nusers; i++) {
		free(c->users[i].name);
		free(c->users[i].hash);
	}
	for (size_t i = 0; i < c->nheaders; i++) {
		free(c->headers[i].name);
		free(c->headers[i].value);
	}
	free(c->users);
	free(c->headers);
	free(c->cert_file);
	free(c->key_file);
	free(c->ca_file);
	free(c->cert_pem);
	if (c->key_pem)
		explicit_bzero(c->key_pem, strlen(c->key_pem));
	free(c->key_pem);
	free(c->ca_pem);
	memset(c, 0, sizeof(*c));
}
