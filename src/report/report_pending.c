// SPDX-License-Identifier: MIT
#include "report/report_pending.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow_array.h"

int lt_report_pending_add(struct lt_report_pending *pd, struct lt_report_sample sample)
{
	struct lt_report_sample *grown = lt_grow(pd->v, &pd->cap, pd->n + 1, sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	pd->v = grown;
	pd->v[pd->n++] = sample;
	return 0;
}

int lt_growth_view_sample(const struct lt_growth_view *v, enum lt_report_sample_kind kind,
			  uint32_t type_index, uint64_t key, uint64_t tag, double value,
			  struct lt_trend *out)
{
	lt_growth_peek(v->set, &v->params, v->now_s, key, tag, value, out);
	return lt_report_pending_add(v->pending,
			   (struct lt_report_sample){ v->p, kind, type_index, key, tag, value });
}

void lt_report_pending_free(struct lt_report_pending *pending)
{
	free(pending->v);
	memset(pending, 0, sizeof(*pending));
}
