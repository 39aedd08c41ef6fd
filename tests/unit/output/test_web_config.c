// SPDX-License-Identifier: MIT
/*
 * The --web-config parser: the exporter-toolkit fields, and one line
 * naming the file, the line and the field for each mistake. Reading and
 * checking the certificate files is left to the end-to-end tests, which
 * have real ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "output/web_config.h"

#define HASH "$2b$10$QQQQQQQQQQQQQQQQQQQQQe8OYRZhZTvtCJ1JWgLNGdUs2NWV7xNWS"

static char err[512];

static int parse(const char *text, struct lt_web_config *c)
{
	err[0] = '\0';
	return lt_web_config_parse(text, strlen(text), "/etc/leaktrace/web.yml", c, err,
				   sizeof(err));
}

/* The text must be refused with exactly this message. */
static void refused(const char *text, const char *want)
{
	struct lt_web_config c;

	assert_int_not_equal(parse(text, &c), 0);
	assert_string_equal(err, want);
	/* Nothing is left to free, and freeing again is harmless. */
	assert_null(c.users);
	assert_null(c.cert_file);
	lt_web_config_free(&c);
}

static void test_full(void **state)
{
	struct lt_web_config c;

	(void)state;
	assert_int_equal(parse("tls_server_config:\n"
			       "  cert_file: certs/server.crt\n"
			       "  key_file: /secret/server.key\n"
			       "  client_ca_file: \"ca.pem\"\n"
			       "  client_auth_type: VerifyClientCertIfGiven\n"
			       "  min_version: TLS13\n"
			       "http_server_config:\n"
			       "  http2: false\n"
			       "  headers:\n"
			       "    X-Frame-Options: deny\n"
			       "basic_auth_users:\n"
			       "  prometheus: '" HASH "'\n"
			       "  alice: " HASH "\n",
			       &c),
			 0);
	assert_true(c.tls);
	/* Relative names from the file's folder, as the toolkit does. */
	assert_string_equal(c.cert_file, "/etc/leaktrace/certs/server.crt");
	assert_string_equal(c.key_file, "/secret/server.key");
	assert_string_equal(c.ca_file, "/etc/leaktrace/ca.pem");
	assert_null(c.cert_pem); /* parse does not read them */
	assert_int_equal(c.client_auth, LT_CLIENT_AUTH_VERIFY_IF_GIVEN);
	assert_int_equal(c.min_version, 13);
	assert_int_equal(c.max_version, 13);
	assert_int_equal(c.nusers, 2);
	assert_string_equal(c.users[0].name, "prometheus");
	assert_string_equal(c.users[1].name, "alice");
	assert_string_equal(c.users[1].hash, HASH);
	assert_int_equal(c.nheaders, 1);
	assert_string_equal(c.headers[0].name, "X-Frame-Options");
	assert_string_equal(c.headers[0].value, "deny");
	lt_web_config_free(&c);
	assert_null(c.users);
}

static void test_empty_and_defaults(void **state)
{
	struct lt_web_config c;

	(void)state;
	/* An empty file, and empty sections: plain HTTP, no users. */
	assert_int_equal(parse("", &c), 0);
	assert_false(c.tls);
	assert_int_equal(c.nusers, 0);
	lt_web_config_free(&c);
	assert_int_equal(parse("tls_server_config:\nbasic_auth_users: ~\n", &c), 0);
	assert_false(c.tls);
	lt_web_config_free(&c);
	assert_int_equal(parse("tls_server_config:\n  cert_file: a\n  key_file: b\n", &c), 0);
	assert_int_equal(c.client_auth, LT_CLIENT_AUTH_NONE);
	assert_int_equal(c.min_version, 12);
	assert_int_equal(c.max_version, 13);
	assert_string_equal(lt_client_auth_name(c.client_auth), "NoClientCert");
	lt_web_config_free(&c);
}

static void test_mistakes_named(void **state)
{
	(void)state;
	refused("tls_server_config:\n  cert_file: a.crt\n",
		"/etc/leaktrace/web.yml:2: tls_server_config.key_file: missing (cert_file needs it)");
	refused("tls_server_config:\n  key_file: a.key\n",
		"/etc/leaktrace/web.yml:2: tls_server_config.cert_file: missing (key_file needs it)");
	refused("tls_server_config:\n  cert_file: a\n  key_file: b\n"
		"  client_auth_type: RequireAndVerifyClientCert\n",
		"/etc/leaktrace/web.yml:2: tls_server_config.client_ca_file: required by "
		"client_auth_type RequireAndVerifyClientCert");
	refused("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: yes\n",
		"/etc/leaktrace/web.yml:4: tls_server_config.client_auth_type: \"yes\" is not one of "
		"NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
		"RequireAndVerifyClientCert");
	refused("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n"
		"  max_version: TLS12\n",
		"/etc/leaktrace/web.yml:2: tls_server_config.min_version: above max_version");
	refused("tls_server_config:\n  cert_file: a\n  key_file: b\n  max_version: SSL3\n",
		"/etc/leaktrace/web.yml:4: tls_server_config.max_version: \"SSL3\" is not one of "
		"TLS10, TLS11, TLS12, TLS13");
	refused("tls_server_config:\n  cert_file: [a, b]\n",
		"/etc/leaktrace/web.yml:2: tls_server_config.cert_file: must be a string");
	refused("tls_server_config:\n  cert_file: ''\n",
		"/etc/leaktrace/web.yml:2: tls_server_config.cert_file: is empty");
	refused("tls_server_config:\n  curve_preferences: [X25519]\n",
		"/etc/leaktrace/web.yml:2: tls_server_config.curve_preferences: not supported by "
		"leaktrace");
	refused("tls_server_config:\n  certfile: a\n",
		"/etc/leaktrace/web.yml:2: tls_server_config.certfile: unknown field");
	refused("tls_server_config: yes\n",
		"/etc/leaktrace/web.yml:1: tls_server_config: must be a mapping");
	refused("basic_auth_users:\n  bob: $1$abc$def\n",
		"/etc/leaktrace/web.yml:2: basic_auth_users.bob: not a bcrypt hash ($2a$, $2b$ or "
		"$2y$, 60 characters)");
	refused("basic_auth_users:\n  'a:b': " HASH "\n",
		"/etc/leaktrace/web.yml:2: basic_auth_users.a:b: a user name must be non-empty and "
		"hold no ':'");
	refused("basic_auth_users:\n  bob: " HASH "\n  bob: " HASH "\n",
		"/etc/leaktrace/web.yml:3: basic_auth_users.bob: given twice");
	refused("http_server_config:\n  headers:\n    Server: leaktrace\n",
		"/etc/leaktrace/web.yml:3: http_server_config.headers.Server: not one of "
		"Content-Security-Policy, X-Frame-Options, X-Content-Type-Options, X-XSS-Protection, "
		"Strict-Transport-Security");
	refused("http_server_config:\n  http2: maybe\n",
		"/etc/leaktrace/web.yml:2: http_server_config.http2: must be true or false");
	refused("rate_limit:\n  interval: 1s\n",
		"/etc/leaktrace/web.yml:1: rate_limit: not supported by leaktrace (it bounds "
		"connections instead)");
	refused("- a\n- b\n", "/etc/leaktrace/web.yml:1: (top level): must be a mapping");
	refused("tls_server_config:\n  cert_file: \"a\\0b\"\n",
		"/etc/leaktrace/web.yml:2: tls_server_config.cert_file: holds a NUL byte");
	refused("a: [\n", "/etc/leaktrace/web.yml:2: not YAML: did not find expected node content");
	/* A key holding a line break still gives one line. */
	refused("basic_auth_users:\n  \"a\\nb\": x\n",
		"/etc/leaktrace/web.yml:2: basic_auth_users.a?b: not a bcrypt hash ($2a$, $2b$ or "
		"$2y$, 60 characters)");
}

static void test_errors_in_later_sections_free_earlier(void **state)
{
	(void)state;
	/* Users and TLS parsed, then a mistake: all of it is freed (ASan). */
	refused("basic_auth_users:\n  bob: " HASH "\n"
		"tls_server_config:\n  cert_file: a\n  key_file: b\n"
		"http_server_config:\n  headers:\n    X-Frame-Options: deny\n  nope: 1\n",
		"/etc/leaktrace/web.yml:9: http_server_config.nope: unknown field");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_empty_and_defaults),
		cmocka_unit_test(test_mistakes_named),
		cmocka_unit_test(test_errors_in_later_sections_free_earlier),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
