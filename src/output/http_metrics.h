/* SPDX-License-Identifier: MIT */
/*
 * The HTTP server's own counters as Prometheus metrics, appended to each
 * /metrics answer when it is sent (the report's part is rendered once per
 * report), so that refusals and timeouts are as fresh as the scrape.
 */
#ifndef LT_HTTP_METRICS_H
#define LT_HTTP_METRICS_H

#include <stdio.h>

#include "output/http_server.h"

void lt_write_http_metrics(FILE *out, const struct lt_http_stats *st);

#endif
