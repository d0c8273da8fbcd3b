#include "cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

struct cache_ref {
	atomic_int refs;
	void *value;
	cache_free_fn free_fn;
};

struct entry {
	struct entry *next;
	char *key;
	size_t keylen;
	uint64_t gen;
	cache_ref_t *ref;
};

struct cache {
	pthread_rwlock_t lock;
	struct entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
	size_t max_entries;
	_Atomic uint64_t gen;
	atomic_bool enabled;
};

static uint64_t hash(str_t key)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < key.len; i++)
		h = (h ^ (unsigned char)key.p[i]) * 1099511628211ULL;
	return h;
}

cache_t *cache_new(size_t max_entries)
{
	cache_t *c = xcalloc(1, sizeof *c);
	pthread_rwlock_init(&c->lock, NULL);
	c->nbuckets = 64;
	while (c->nbuckets < max_entries)
		c->nbuckets *= 2;
	c->buckets = xcalloc(c->nbuckets, sizeof *c->buckets);
	c->max_entries = max_entries;
	atomic_init(&c->gen, 1);
	atomic_init(&c->enabled, true);
	return c;
}

void cache_unref(cache_ref_t *ref)
{
	if (ref && atomic_fetch_sub(&ref->refs, 1) == 1) {
		ref->free_fn(ref->value);
		free(ref);
	}
}

static void free_entry(struct entry *e)
{
	cache_unref(e->ref);
	free(e->key);
	free(e);
}

/* Caller holds the write lock. */
static void clear_locked(cache_t *c)
{
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct entry *e = c->buckets[i];
		while (e) {
			struct entry *next = e->next;
			free_entry(e);
			e = next;
		}
		c->buckets[i] = NULL;
	}
	c->count = 0;
}

void cache_free(cache_t *c)
{
	if (!c)
		return;
	clear_locked(c);
	free(c->buckets);
	pthread_rwlock_destroy(&c->lock);
	free(c);
}

static struct entry **find(cache_t *c, str_t key)
{
	struct entry **pp = &c->buckets[hash(key) & (c->nbuckets - 1)];
	while (*pp && !((*pp)->keylen == key.len &&
			memcmp((*pp)->key, key.p, key.len) == 0))
		pp = &(*pp)->next;
	return pp;
}

cache_ref_t *cache_get(cache_t *c, str_t key)
{
	if (!atomic_load(&c->enabled))
		return NULL;
	cache_ref_t *ref = NULL;
	uint64_t gen = atomic_load(&c->gen);
	pthread_rwlock_rdlock(&c->lock);
	struct entry *e = *find(c, key);
	if (e && e->gen == gen) {
		ref = e->ref;
		atomic_fetch_add(&ref->refs, 1);
	}
	pthread_rwlock_unlock(&c->lock);
	return ref;
}

void *cache_ref_value(const cache_ref_t *ref)
{
	return ref->value;
}

bool cache_put(cache_t *c, str_t key, uint64_t gen, void *value,
	       cache_free_fn free_fn)
{
	if (!atomic_load(&c->enabled) || gen != atomic_load(&c->gen)) {
		free_fn(value);
		return false;
	}
	cache_ref_t *ref = xmalloc(sizeof *ref);
	atomic_init(&ref->refs, 1);
	ref->value = value;
	ref->free_fn = free_fn;

	pthread_rwlock_wrlock(&c->lock);
	struct entry **pp = find(c, key);
	if (*pp) {
		cache_unref((*pp)->ref);
		(*pp)->ref = ref;
		(*pp)->gen = gen;
	} else {
		if (c->count >= c->max_entries) {
			clear_locked(c);
			pp = find(c, key);
		}
		struct entry *e = xmalloc(sizeof *e);
		e->next = NULL;
		e->key = xstrndup(key.p, key.len);
		e->keylen = key.len;
		e->gen = gen;
		e->ref = ref;
		*pp = e;
		c->count++;
	}
	pthread_rwlock_unlock(&c->lock);
	return true;
}

uint64_t cache_generation(const cache_t *c)
{
	return atomic_load(&((cache_t *)c)->gen);
}

void cache_invalidate(cache_t *c)
{
	atomic_fetch_add(&c->gen, 1);
}

/* Both directions start a new generation: a render that began while the
 * cache was off may have read rows whose change notification was lost
 * with the connection, so it must not be stored once the cache is on. */
void cache_set_enabled(cache_t *c, bool enabled)
{
	cache_invalidate(c);
	atomic_store(&c->enabled, enabled);
}

size_t cache_count(cache_t *c)
{
	pthread_rwlock_rdlock(&c->lock);
	size_t n = c->count;
	pthread_rwlock_unlock(&c->lock);
	return n;
}
