// SPDX-License-Identifier: MIT
#include "output/html_history.h"

#include <errno.h>
#include <stdlib.h>

#include "output/report_writers.h"

/* Keeps the first and every other one after it, and the newest. */
static void thin(struct lt_html_history *h)
{
	size_t kept = 0;

	for (size_t i = 0; i < h->n; i++) {
		if (i % 2 == 0 || i == h->n - 1) {
			h->data[kept] = h->data[i];
			h->len[kept++] = h->len[i];
			continue;
		}
		h->bytes -= h->len[i];
		free(h->data[i]);
		h->thinned++;
	}
	h->n = kept;
}

int lt_html_history_add_data(struct lt_html_history *h, char *data, size_t len)
{
	if (!h->data) {
		h->data = calloc(LT_HTML_HISTORY_REPORTS, sizeof(*h->data));
		h->len = calloc(LT_HTML_HISTORY_REPORTS, sizeof(*h->len));
		if (!h->data || !h->len) {
			free(h->data);
			free(h->len);
			h->data = NULL;
			h->len = NULL;
			free(data);
			return -ENOMEM;
		}
	}
	/* Thinning keeps the first and the newest: two at least, whatever
	 * they weigh. */
	while (h->n > 2 && (h->n == LT_HTML_HISTORY_REPORTS ||
			    (h->max_bytes && h->bytes + len > h->max_bytes)))
		thin(h);
	h->data[h->n] = data;
	h->len[h->n++] = len;
	h->bytes += len;
	return 0;
}

int lt_html_history_add(struct lt_html_history *h, const struct lt_report *r)
{
	char *data;
	size_t len;
	int err = lt_report_html_data(r, &data, &len);

	return err ? err : lt_html_history_add_data(h, data, len);
}

void lt_html_history_free(struct lt_html_history *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->data[i]);
	free(h->data);
	free(h->len);
	h->data = NULL;
	h->len = NULL;
	h->n = h->bytes = 0;
}
