// SPDX-License-Identifier: MIT
/*
 * --web-config text (web_config.h): anyone who can edit the file can
 * write anything, and a mistake must come back as one line, never a
 * crash. What parses must hold what the server relies on.
 */
#include <stdint.h>
#include <stdio.h>

#include "fuzz_common.h"

#include "output/web_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt_web_config c;
	char err[512] = "";

	if (lt_web_config_parse((const char *)data, size, "/etc/leaktrace/web.yml", &c, err,
				sizeof(err))) {
		if (!err[0] || strchr(err, '\n') || strncmp(err, "/etc/leaktrace/web.yml", 22))
			__builtin_trap();
		return 0;
	}
	if (c.tls && (!c.cert_file || !c.key_file || c.cert_file[0] != '/'))
		__builtin_trap();
	if (c.min_version < 10 || c.max_version > 13 || c.min_version > c.max_version)
		__builtin_trap();
	if (c.client_auth >= LT_CLIENT_AUTH_VERIFY_IF_GIVEN && !c.ca_file)
		__builtin_trap();
	for (size_t i = 0; i < c.nusers; i++)
		if (strlen(c.users[i].hash) != 60 || strchr(c.users[i].name, ':'))
			__builtin_trap();
	for (size_t i = 0; i < c.nheaders; i++)
		if (strpbrk(c.headers[i].value, "\r\n"))
			__builtin_trap();
	fuzz_touch(lt_client_auth_name(c.client_auth));
	lt_web_config_free(&c);
	return 0;
}
