/* SPDX-License-Identifier: MIT */
/*
 * --web-config FILE: TLS and basic authentication for --serve, in the
 * Prometheus exporter-toolkit's format, so that the file an exporter
 * already uses, and the scrape configuration that matches it, work here:
 *
 *   tls_server_config:
 *     cert_file, key_file          PEM; both or neither
 *     client_ca_file               PEM, the CAs client certificates must chain to
 *     client_auth_type             NoClientCert (default), RequestClientCert,
 *                                  RequireAnyClientCert, VerifyClientCertIfGiven,
 *                                  RequireAndVerifyClientCert
 *     min_version, max_version     TLS10..TLS13 (default TLS12..TLS13)
 *   basic_auth_users:              user: bcrypt hash ($2a$, $2b$, $2y$)
 *   http_server_config:
 *     http2                        accepted; answers are HTTP/1.1 either way
 *     headers                      the toolkit's five security headers
 *
 * Relative file names are taken from the configuration file's folder, as
 * the toolkit does. Fields the toolkit has and leaktrace does not
 * (cipher_suites, curve_preferences, ...) are refused by name rather than
 * ignored: a security setting must not be dropped silently.
 */
#ifndef LT_WEB_CONFIG_H
#define LT_WEB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum lt_client_auth {
	LT_CLIENT_AUTH_NONE,            /* NoClientCert */
	LT_CLIENT_AUTH_REQUEST,         /* RequestClientCert */
	LT_CLIENT_AUTH_REQUIRE_ANY,     /* RequireAnyClientCert */
	LT_CLIENT_AUTH_VERIFY_IF_GIVEN, /* VerifyClientCertIfGiven */
	LT_CLIENT_AUTH_REQUIRE_VERIFY,  /* RequireAndVerifyClientCert */
};

struct lt_web_user {
	char *name;
	char *hash;
};

struct lt_web_header {
	char *name;
	char *value;
};

struct lt_web_config {
	bool tls;
	char *cert_file, *key_file, *ca_file; /* as resolved, for messages */
	char *cert_pem, *key_pem, *ca_pem;    /* the files' text; ca_pem may be NULL */
	enum lt_client_auth client_auth;
	int min_version, max_version; /* 10, 11, 12 or 13: TLS 1.0 .. TLS 1.3 */
	struct lt_web_user *users;
	size_t nusers;
	struct lt_web_header *headers;
	size_t nheaders;
};

/*
 * Reads FILE, the files it names, and checks that the certificate goes
 * with the key and that the CA file holds certificates. Returns 0, or a
 * negative errno with one line in err naming the file and the field.
 */
int lt_web_config_load(const char *path, struct lt_web_config *out, char *err, size_t errlen);

/* The same from text, without reading or checking the files it names
 * (their resolved names are kept). For tests and lt_web_config_load. */
int lt_web_config_parse(const char *text, size_t len, const char *path,
			struct lt_web_config *out, char *err, size_t errlen);

void lt_web_config_free(struct lt_web_config *c);

/* The client_auth_type name of a. */
const char *lt_client_auth_name(enum lt_client_auth a);

#endif
