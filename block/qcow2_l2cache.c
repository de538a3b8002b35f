// SPDX-License-Identifier: MIT
/*
 * qcow2_l2cache.c - the cache of L2 tables, found by the table's host offset
 * through a hash, the least recently used table replaced first.
 *
 * It may hold tens of thousands of tables (an image with 512-byte clusters
 * needs one 512-byte table per 32 KiB of disk), so a lookup must not scan
 * them: slots hang on hash chains and on one recency list, both linked by
 * slot index.  A slot's table buffer is allocated the first time the slot
 * is used, so a cache sized for the whole image costs memory only for the
 * tables the guest touches.  Index links store index + 1, so 0 means none
 * and calloc'ed arrays start out empty.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>

struct qcow2_l2slot {
	uint64_t offset; /* host offset of the table held; 0: none */
	uint8_t *data;	 /* table_size bytes, raw on-disk (big-endian) */
	uint32_t prev;	 /* towards the most recently used (index + 1) */
	uint32_t next;	 /* towards the least recently used (index + 1) */
	uint32_t hnext;	 /* hash chain (index + 1) */
};

static uint32_t l2c_hash(const struct qcow2_l2cache *c, uint64_t off)
{
	/* Fibonacci hashing: table offsets are multiples of the cluster size. */
	return (uint32_t)(((off / c->table_size) * 0x9e3779b97f4a7c15ull) >> (64 - c->hash_bits));
}

int qcow2_l2c_init(struct qcow2_l2cache *c, uint32_t n, size_t table_size)
{
	uint32_t bits = 1;

	while ((1u << bits) < n && bits < 31)
		bits++;
	*c = (struct qcow2_l2cache){ .n = n ? n : 1, .hash_bits = bits, .table_size = table_size };
	c->slot = calloc(c->n, sizeof(*c->slot));
	c->bucket = calloc(1u << bits, sizeof(*c->bucket));
	if (!c->slot || !c->bucket) {
		qcow2_l2c_fini(c);
		return -ENOMEM;
	}
	return 0;
}

void qcow2_l2c_fini(struct qcow2_l2cache *c)
{
	uint32_t i;

	for (i = 0; c->slot && i < c->used; i++)
		free(c->slot[i].data);
	free(c->slot);
	free(c->bucket);
	c->slot = NULL;
	c->bucket = NULL;
	c->used = 0;
}

static void l2c_unlink(struct qcow2_l2cache *c, uint32_t i)
{
	struct qcow2_l2slot *s = &c->slot[i];

	if (s->prev)
		c->slot[s->prev - 1].next = s->next;
	else
		c->mru = s->next;
	if (s->next)
		c->slot[s->next - 1].prev = s->prev;
	else
		c->lru = s->prev;
	s->prev = s->next = 0;
}

static void l2c_push_mru(struct qcow2_l2cache *c, uint32_t i)
{
	struct qcow2_l2slot *s = &c->slot[i];

	s->prev = 0;
	s->next = c->mru;
	if (c->mru)
		c->slot[c->mru - 1].prev = i + 1;
	else
		c->lru = i + 1;
	c->mru = i + 1;
}

static void l2c_push_lru(struct qcow2_l2cache *c, uint32_t i)
{
	struct qcow2_l2slot *s = &c->slot[i];

	s->next = 0;
	s->prev = c->lru;
	if (c->lru)
		c->slot[c->lru - 1].next = i + 1;
	else
		c->mru = i + 1;
	c->lru = i + 1;
}

/* Take slot i off its hash chain (it holds a table). */
static void l2c_unhash(struct qcow2_l2cache *c, uint32_t i)
{
	uint32_t *link = &c->bucket[l2c_hash(c, c->slot[i].offset)];
	uint32_t steps;

	for (steps = 0; *link && steps < c->n; steps++) {
		if (*link == i + 1) {
			*link = c->slot[i].hnext;
			break;
		}
		link = &c->slot[*link - 1].hnext;
	}
	c->slot[i].hnext = 0;
	c->slot[i].offset = 0;
}

uint8_t *qcow2_l2c_find(struct qcow2_l2cache *c, uint64_t off)
{
	uint32_t i = c->bucket[l2c_hash(c, off)], steps;

	for (steps = 0; i && steps < c->n; steps++) {
		if (c->slot[i - 1].offset == off) {
			l2c_unlink(c, i - 1);
			l2c_push_mru(c, i - 1);
			return c->slot[i - 1].data;
		}
		i = c->slot[i - 1].hnext;
	}
	return NULL;
}

/*
 * A slot to load a table into: a never used one while there are any, else
 * the least recently used (its table is forgotten).  The slot waits at the
 * LRU end, holding nothing, until qcow2_l2c_insert(); a load that fails
 * leaves it there for the next claim.
 */
int qcow2_l2c_claim(struct qcow2_l2cache *c, uint32_t *slot, uint8_t **data)
{
	uint32_t i;

	if (c->used < c->n) {
		i = c->used;
		c->slot[i].data = malloc(c->table_size);
		if (!c->slot[i].data)
			return -ENOMEM;
		c->used++;
		l2c_push_lru(c, i);
	} else {
		i = c->lru - 1;
		if (c->slot[i].offset)
			l2c_unhash(c, i);
	}
	*slot = i;
	*data = c->slot[i].data;
	return 0;
}

void qcow2_l2c_insert(struct qcow2_l2cache *c, uint32_t slot, uint64_t off)
{
	uint32_t *head = &c->bucket[l2c_hash(c, off)];

	c->slot[slot].offset = off;
	c->slot[slot].hnext = *head;
	*head = slot + 1;
	l2c_unlink(c, slot);
	l2c_push_mru(c, slot);
	c->loads++;
}

/* Slot i is on the hash chain of its table, once, and no other slot holds that table. */
static bool l2c_slot_ok(const struct qcow2_l2cache *c, uint32_t i)
{
	uint64_t off = c->slot[i].offset;
	uint32_t j = c->bucket[l2c_hash(c, off)], steps, self = 0, same = 0;

	for (steps = 0; j && steps <= c->n; steps++, j = c->slot[j - 1].hnext) {
		self += j - 1 == i;
		same += c->slot[j - 1].offset == off;
	}
	return !j && self == 1 && same == 1;
}

int qcow2_l2c_check(const struct qcow2_l2cache *c)
{
	uint32_t i, len = 0;

	for (i = c->mru; i && len <= c->used; i = c->slot[i - 1].next)
		len++;
	if (len != c->used)
		return -EIO;
	for (i = 0; i < c->used; i++)
		if (c->slot[i].offset && !l2c_slot_ok(c, i))
			return -EIO;
	return 0;
}
