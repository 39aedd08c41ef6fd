// SPDX-License-Identifier: MIT
#include "consume/live_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KEY_BITS 43
#define KEY_MASK ((1ULL << KEY_BITS) - 1)
#define STACK_BITS (64 - KEY_BITS)
#define PAD_PACKED_UNSET 0xffffu
#define SHARD_MIN_SLOTS 8u
/* 1 MiB of slots: the most a growing table holds twice. */
#define SHARD_MAX_SLOTS (64u << 10)
/* Past this the directory stops doubling and shards just grow. */
#define MAX_DEPTH 20

static uint64_t epoch_ns;

void lt_live_set_epoch(uint64_t ns)
{
	epoch_ns = ns;
}

/* Keys are heap addresses over 16: they share high bits and step evenly.
 * Mix them so that both the top bits (shard) and the low 32 (slot) vary. */
static inline uint64_t hash_key(uint64_t key)
{
	uint64_t h = key * 0x9e3779b97f4a7c15ULL;

	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	return h ^ (h >> 32);
}

static inline uint32_t home_of(uint64_t h, uint32_t capacity)
{
	return (uint32_t)(((h & 0xffffffffULL) * capacity) >> 32);
}

static inline bool key_of(uint64_t addr, uint64_t *key)
{
	if (addr & 15 || addr >> (KEY_BITS + 4) || !addr)
		return false;
	*key = addr >> 4;
	return true;
}

static bool pack(const struct lt_live_alloc *a, struct lt_live_slot *out)
{
	uint64_t key, t, pad = a->pad;

	if (!key_of(a->addr, &key) || a->stack_id >> STACK_BITS || a->size_bytes >> 16)
		return false;
	if (pad == LT_LIVE_PAD_UNSET)
		pad = PAD_PACKED_UNSET;
	else if (pad >= PAD_PACKED_UNSET)
		return false;
	if (a->ts_ns < epoch_ns)
		return false;
	t = (a->ts_ns - epoch_ns) >> LT_LIVE_TIME_SHIFT;
	if (t >> 32)
		return false;
	out->key_stack = key | (uint64_t)a->stack_id << KEY_BITS;
	out->size_pad_time = a->size_bytes | pad << 16 | t << 32;
	return true;
}

static void unpack(const struct lt_live_slot *s, struct lt_live_alloc *out)
{
	uint32_t pad = (uint32_t)(s->size_pad_time >> 16) & 0xffff;

	out->addr = (s->key_stack & KEY_MASK) << 4;
	out->stack_id = (uint32_t)(s->key_stack >> KEY_BITS);
	out->size_bytes = s->size_pad_time & 0xffff;
	out->pad = pad == PAD_PACKED_UNSET ? LT_LIVE_PAD_UNSET : pad;
	out->ts_ns = epoch_ns + ((s->size_pad_time >> 32) << LT_LIVE_TIME_SHIFT);
}

static inline uint64_t slot_key(const struct lt_live_slot *s)
{
	return s->key_stack & KEY_MASK;
}

void lt_live_init(struct lt_live_table *t)
{
	memset(t, 0, sizeof(*t));
}

void lt_live_free(struct lt_live_table *t)
{
	for (uint32_t i = 0; i < t->nshards; i++) {
		free(t->shards[i]->slots);
		free(t->shards[i]);
	}
	free(t->shards);
	free(t->dir);
	lt_spill_free(&t->spill);
	lt_live_init(t);
}

static inline struct lt_live_shard *shard_for(const struct lt_live_table *t, uint64_t h)
{
	return t->dir[t->depth ? h >> (64 - t->depth) : 0];
}

static struct lt_live_slot *shard_find(const struct lt_live_shard *sh, uint64_t key, uint64_t h)
{
	uint32_t i = home_of(h, sh->capacity);

	for (; sh->slots[i].key_stack; i = i + 1 == sh->capacity ? 0 : i + 1)
		if (slot_key(&sh->slots[i]) == key)
			return &sh->slots[i];
	return NULL;
}

static void shard_place(struct lt_live_slot *slots, uint32_t capacity, const struct lt_live_slot *s)
{
	uint32_t i = home_of(hash_key(slot_key(s)), capacity);

	while (slots[i].key_stack)
		i = i + 1 == capacity ? 0 : i + 1;
	slots[i] = *s;
}

/* Slots for n entries at a load of 0.64, the low end of the range. */
static uint32_t slots_for(uint64_t n)
{
	uint64_t cap = (n * 25 + 15) / 16;

	cap = (cap + 7) & ~7ULL;
	return cap < SHARD_MIN_SLOTS ? SHARD_MIN_SLOTS : (uint32_t)cap;
}

static int shard_resize(struct lt_live_shard *sh, uint32_t capacity)
{
	struct lt_live_slot *slots = calloc(capacity, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (uint32_t i = 0; i < sh->capacity; i++)
		if (sh->slots[i].key_stack)
			shard_place(slots, capacity, &sh->slots[i]);
	free(sh->slots);
	sh->slots = slots;
	sh->capacity = capacity;
	return 0;
}

static struct lt_live_shard *shard_new(uint32_t capacity, uint8_t depth)
{
	struct lt_live_shard *sh = calloc(1, sizeof(*sh));

	if (!sh)
		return NULL;
	sh->slots = calloc(capacity, sizeof(*sh->slots));
	if (!sh->slots) {
		free(sh);
		return NULL;
	}
	sh->capacity = capacity;
	sh->depth = depth;
	return sh;
}

static int first_shard(struct lt_live_table *t)
{
	t->dir = malloc(sizeof(*t->dir));
	t->shards = malloc(sizeof(*t->shards));
	if (!t->dir || !t->shards)
		goto fail;
	t->dir[0] = shard_new(SHARD_MIN_SLOTS, 0);
	if (!t->dir[0])
		goto fail;
	t->shards[0] = t->dir[0];
	t->nshards = 1;
	return 0;
fail:
	free(t->dir);
	free(t->shards);
	t->dir = NULL;
	t->shards = NULL;
	return -ENOMEM;
}

/* Double the directory: entry i becomes 2i and 2i + 1 (one more hash bit). */
static int deepen(struct lt_live_table *t)
{
	size_t n = (size_t)1 << t->depth;
	struct lt_live_shard **dir = malloc(2 * n * sizeof(*dir));

	if (!dir)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		dir[2 * i] = dir[2 * i + 1] = t->dir[i];
	free(t->dir);
	t->dir = dir;
	t->depth++;
	return 0;
}

/* Split sh by its next hash bit into two shards. Memory: sh and its two
 * halves, never the whole table twice. */
static int split(struct lt_live_table *t, struct lt_live_shard *sh)
{
	uint32_t half[2] = { 0, 0 }, bit = 63 - sh->depth;
	struct lt_live_shard *parts[2] = { NULL, NULL }, **shards;
	size_t first, span;
	int err = -ENOMEM;

	if (sh->depth == t->depth && deepen(t))
		return -ENOMEM;
	for (uint32_t i = 0; i < sh->capacity; i++)
		if (sh->slots[i].key_stack)
			half[(hash_key(slot_key(&sh->slots[i])) >> bit) & 1]++;
	shards = realloc(t->shards, (t->nshards + 1) * sizeof(*shards));
	if (!shards)
		return -ENOMEM;
	t->shards = shards;
	for (int k = 0; k < 2; k++) {
		parts[k] = shard_new(slots_for(half[k]), sh->depth + 1);
		if (!parts[k])
			goto fail;
	}
	for (uint32_t i = 0; i < sh->capacity; i++) {
		const struct lt_live_slot *s = &sh->slots[i];
		struct lt_live_shard *to;

		if (!s->key_stack)
			continue;
		to = parts[(hash_key(slot_key(s)) >> bit) & 1];
		shard_place(to->slots, to->capacity, s);
		to->count++;
	}
	/* The entries naming sh are a run of 1 << (depth - sh->depth): the
	 * first half takes the 0 side. */
	span = (size_t)1 << (t->depth - sh->depth);
	for (first = 0; t->dir[first] != sh; first++)
		;
	for (size_t i = 0; i < span; i++)
		t->dir[first + i] = parts[i >= span / 2];
	for (uint32_t i = 0; i < t->nshards; i++)
		if (t->shards[i] == sh)
			t->shards[i] = parts[0];
	t->shards[t->nshards++] = parts[1];
	free(sh->slots);
	free(sh);
	return 0;
fail:
	for (int k = 0; k < 2; k++) {
		if (parts[k])
			free(parts[k]->slots);
		free(parts[k]);
	}
	return err;
}

/* Room for one more entry in the shard of h. */
static int make_room(struct lt_live_table *t, uint64_t h)
{
	struct lt_live_shard *sh = shard_for(t, h);
	uint64_t cap;
	int err;

	if ((uint64_t)(sh->count + 1) * 5 <= (uint64_t)sh->capacity * 4)
		return 0;
	if (sh->capacity < SHARD_MAX_SLOTS || t->depth >= MAX_DEPTH) {
		cap = (uint64_t)sh->capacity * 5 / 4;
		cap = (cap + 7) & ~7ULL;
		if (cap > SHARD_MAX_SLOTS && sh->capacity < SHARD_MAX_SLOTS)
			cap = SHARD_MAX_SLOTS;
		if (cap > UINT32_MAX / 2)
			return -ENOMEM;
		return shard_resize(sh, (uint32_t)cap);
	}
	err = split(t, sh);
	if (err)
		return err;
	/* Keys all on one side (never with a good hash): grow instead. */
	return make_room(t, h);
}

static int packed_add(struct lt_live_table *t, const struct lt_live_slot *s, uint64_t h)
{
	struct lt_live_shard *sh;
	int err;

	if (!t->dir && first_shard(t))
		return -ENOMEM;
	err = make_room(t, h);
	if (err)
		return err;
	sh = shard_for(t, h);
	shard_place(sh->slots, sh->capacity, s);
	sh->count++;
	return 0;
}

static void packed_delete(struct lt_live_shard *sh, struct lt_live_slot *hole)
{
	uint32_t i = (uint32_t)(hole - sh->slots), j, home, cap = sh->capacity;

	sh->count--;
	/* Backward shift: pull later entries of the cluster into the hole
	 * when their home slot does not lie cyclically in (i, j]. */
	for (j = i + 1 == cap ? 0 : i + 1; sh->slots[j].key_stack; j = j + 1 == cap ? 0 : j + 1) {
		home = home_of(hash_key(slot_key(&sh->slots[j])), cap);
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		sh->slots[i] = sh->slots[j];
		i = j;
	}
	memset(&sh->slots[i], 0, sizeof(sh->slots[i]));
}

/* addr's slot, if packed. *hp gets its hash when addr can be a key (0 when
 * not), for an insert that follows. */
static struct lt_live_slot *packed_find(const struct lt_live_table *t, uint64_t addr,
					struct lt_live_shard **shp, uint64_t *hp)
{
	uint64_t key, h;
	struct lt_live_shard *sh;

	if (hp)
		*hp = 0;
	if (!key_of(addr, &key))
		return NULL;
	h = hash_key(key);
	if (hp)
		*hp = h;
	if (!t->dir)
		return NULL;
	sh = shard_for(t, h);
	if (shp)
		*shp = sh;
	return shard_find(sh, key, h);
}

int lt_live_put(struct lt_live_table *t, const struct lt_live_alloc *a, struct lt_live_alloc *old)
{
	struct lt_live_slot s, *at;
	struct lt_live_shard *sh = NULL;
	struct lt_live_alloc prev, *spilled;
	uint64_t h;
	int err;

	if (!a->addr)
		return -EINVAL;
	at = packed_find(t, a->addr, &sh, &h);
	spilled = at ? NULL : lt_spill_find(&t->spill, a->addr);
	if (at)
		unpack(at, &prev);
	else if (spilled)
		prev = *spilled;
	if (pack(a, &s)) {
		if (at) {
			*at = s;
		} else {
			err = packed_add(t, &s, h); /* packs: addr is a key, h its hash */
			if (err)
				return err;
			if (spilled)
				lt_spill_remove(&t->spill, a->addr, NULL);
		}
	} else if (spilled) {
		*spilled = *a;
	} else {
		err = lt_spill_add(&t->spill, a);
		if (err)
			return err;
		if (at)
			packed_delete(sh, at);
	}
	if (!at && !spilled) {
		t->count++;
		t->bytes += a->size_bytes;
		return 0;
	}
	t->bytes += a->size_bytes - prev.size_bytes;
	if (old)
		*old = prev;
	return 1;
}

bool lt_live_remove(struct lt_live_table *t, uint64_t addr, struct lt_live_alloc *out)
{
	struct lt_live_shard *sh;
	struct lt_live_slot *at = packed_find(t, addr, &sh, NULL);
	struct lt_live_alloc gone;

	if (at) {
		unpack(at, &gone);
		packed_delete(sh, at);
	} else if (!lt_spill_remove(&t->spill, addr, &gone)) {
		return false;
	}
	t->count--;
	t->bytes -= gone.size_bytes;
	if (out)
		*out = gone;
	return true;
}

bool lt_live_get(const struct lt_live_table *t, uint64_t addr, struct lt_live_alloc *out)
{
	const struct lt_live_slot *at = packed_find(t, addr, NULL, NULL);
	const struct lt_live_alloc *spilled;

	if (at) {
		if (out)
			unpack(at, out);
		return true;
	}
	spilled = lt_spill_find(&t->spill, addr);
	if (spilled && out)
		*out = *spilled;
	return spilled != NULL;
}

int lt_live_set_pad(struct lt_live_table *t, uint64_t addr, uint32_t pad)
{
	struct lt_live_alloc a;
	int err;

	if (!lt_live_get(t, addr, &a))
		return -ENOENT;
	a.pad = pad;
	err = lt_live_put(t, &a, NULL);
	return err < 0 ? err : 0;
}

bool lt_live_next(const struct lt_live_table *t, uint64_t *iter, struct lt_live_alloc *out)
{
	uint64_t shard = *iter >> 32, slot = *iter & 0xffffffffULL;

	for (; shard < t->nshards; shard++, slot = 0) {
		const struct lt_live_shard *sh = t->shards[shard];

		for (; slot < sh->capacity; slot++) {
			if (!sh->slots[slot].key_stack)
				continue;
			unpack(&sh->slots[slot], out);
			*iter = shard << 32 | (slot + 1);
			return true;
		}
	}
	for (; slot < t->spill.capacity; slot++) {
		if (!t->spill.slots[slot].addr)
			continue;
		*out = t->spill.slots[slot];
		*iter = shard << 32 | (slot + 1);
		return true;
	}
	*iter = shard << 32 | slot;
	return false;
}

size_t lt_live_mem_bytes(const struct lt_live_table *t)
{
	size_t n = lt_spill_bytes(&t->spill);

	if (t->dir)
		n += ((size_t)1 << t->depth) * sizeof(*t->dir);
	n += t->nshards * sizeof(*t->shards);
	for (uint32_t i = 0; i < t->nshards; i++)
		n += sizeof(*t->shards[i]) + t->shards[i]->capacity * sizeof(struct lt_live_slot);
	return n;
}
