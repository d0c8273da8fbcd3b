/* cache: a per-process, thread-safe map from a string key to a shared,
 * reference-counted value, invalidated all at once by generation.
 *
 * The responder keeps rendered tenant pages here.  A listener thread calls
 * cache_invalidate() when PostgreSQL notifies a change; every entry made
 * before that is then a miss.  A renderer reads cache_generation() BEFORE
 * it queries the database and passes that number to cache_put(): if a
 * change was notified meanwhile, the put is dropped, so a stale render can
 * never be cached over a newer one.
 *
 * Values are immutable once put; readers hold a reference while they use
 * one, so an invalidation never frees memory under a reader. */
#ifndef CANOPY_CACHE_H
#define CANOPY_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

typedef struct cache cache_t;
typedef struct cache_ref cache_ref_t;
typedef void (*cache_free_fn)(void *value);

/* A cache holding at most max_entries (when full, it starts over empty:
 * cheap, and bounded however many distinct keys clients send). */
cache_t *cache_new(size_t max_entries);
void cache_free(cache_t *c);

/* A reference to the current value for key, or NULL on a miss.  Release
 * it with cache_unref(). */
cache_ref_t *cache_get(cache_t *c, str_t key);
void *cache_ref_value(const cache_ref_t *ref);
void cache_unref(cache_ref_t *ref);

/* Stores value (the cache takes it; free_fn releases it when the last
 * reference goes) under key, if gen is still the current generation;
 * otherwise frees it at once.  Returns true when stored. */
bool cache_put(cache_t *c, str_t key, uint64_t gen, void *value,
	       cache_free_fn free_fn);

uint64_t cache_generation(const cache_t *c);

/* Makes every current entry a miss. */
void cache_invalidate(cache_t *c);

/* Turns caching off (every get misses, every put is dropped) while the
 * source of invalidations is down, and back on. */
void cache_set_enabled(cache_t *c, bool enabled);

size_t cache_count(cache_t *c);

#endif
