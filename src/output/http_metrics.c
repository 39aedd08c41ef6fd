// SPDX-License-Identifier: MIT
#include "output/http_metrics.h"

#include <inttypes.h>

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void lt_write_http_metrics(FILE *out, const struct lt_http_stats *st)
{
	const struct lt_http_counts *c = &st->conns;

	family(out, "leaktrace_http_connections_open", "gauge",
	       "Connections to this endpoint now, closing ones included.");
	fprintf(out, "leaktrace_http_connections_open %" PRIu32 "\n", c->open);
	family(out, "leaktrace_http_connections_accepted_total", "counter",
	       "Connections taken in.");
	fprintf(out, "leaktrace_http_connections_accepted_total %" PRIu64 "\n", c->accepted);
	family(out, "leaktrace_http_connections_refused_total", "counter",
	       "Connections closed on arrival: their address's 32 (per_client), or all 512 "
	       "(full), were being answered.");
	fprintf(out, "leaktrace_http_connections_refused_total{reason=\"per_client\"} %" PRIu64 "\n",
		c->refused_per_client);
	fprintf(out, "leaktrace_http_connections_refused_total{reason=\"full\"} %" PRIu64 "\n",
		c->refused_full);
	family(out, "leaktrace_http_connections_closed_total", "counter",
	       "Connections closed by leaktrace: no whole request in time (request_timeout), "
	       "an answer not taken in time (answer_timeout), or the oldest idle one of an "
	       "address at its share, or of all when full, making room for a new one (evicted).");
	fprintf(out, "leaktrace_http_connections_closed_total{reason=\"request_timeout\"} %" PRIu64
		     "\n",
		c->request_timeouts);
	fprintf(out, "leaktrace_http_connections_closed_total{reason=\"answer_timeout\"} %" PRIu64
		     "\n",
		c->answer_timeouts);
	fprintf(out, "leaktrace_http_connections_closed_total{reason=\"evicted\"} %" PRIu64 "\n",
		c->evicted);
	family(out, "leaktrace_http_requests_refused_total", "counter",
	       "Requests refused: no or wrong credentials (unauthorized, 401), or too many "
	       "new credentials to check at once (auth_busy, 503).");
	fprintf(out, "leaktrace_http_requests_refused_total{reason=\"unauthorized\"} %" PRIu64 "\n",
		st->unauthorized);
	fprintf(out, "leaktrace_http_requests_refused_total{reason=\"auth_busy\"} %" PRIu64 "\n",
		st->auth_busy);
}
