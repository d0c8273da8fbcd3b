#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BLOCK 8192
#define ALIGN 16

struct block {
	struct block *next;
	size_t size; /* usable bytes in data[] */
	size_t used;
	_Alignas(ALIGN) unsigned char data[];
};

struct cleanup {
	struct cleanup *next;
	arena_cleanup_fn fn;
	void *data;
};

struct arena {
	struct block *head; /* current block; older ones follow */
	struct cleanup *cleanups;
	size_t block_size;
	size_t used;
};

void arena_oom(size_t size)
{
	fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory\","
			"\"bytes\":%zu}\n", size);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		arena_oom(size);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		arena_oom(n * size);
	return p;
}

void *xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);
	if (!q)
		arena_oom(size);
	return q;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

static struct block *block_new(size_t size)
{
	if (size > SIZE_MAX - sizeof(struct block))
		arena_oom(size);
	struct block *b = xmalloc(sizeof(struct block) + size);
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

arena_t *arena_new(size_t block_size)
{
	arena_t *a = xcalloc(1, sizeof *a);
	a->block_size = block_size ? block_size : DEFAULT_BLOCK;
	a->head = block_new(a->block_size);
	return a;
}

static void run_cleanups(arena_t *a)
{
	while (a->cleanups) {
		struct cleanup *c = a->cleanups;
		a->cleanups = c->next; /* a hook may allocate; unlink first */
		c->fn(c->data);
	}
}

void arena_reset(arena_t *a)
{
	run_cleanups(a);
	/* Keep the oldest block (the first one made, of the default size) so
	 * steady-state requests reuse it; free the rest. */
	struct block *b = a->head;
	while (b->next) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
	a->head = b;
	b->used = 0;
	a->used = 0;
#ifdef CANOPY_ARENA_POISON
	memset(b->data, 0xa5, b->size);
#endif
}

void arena_free(arena_t *a)
{
	if (!a)
		return;
	run_cleanups(a);
	struct block *b = a->head;
	while (b) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
	free(a);
}

void *arena_alloc(arena_t *a, size_t size)
{
	size_t need = (size + (ALIGN - 1)) & ~(size_t)(ALIGN - 1);
	if (need < size)
		arena_oom(size);
	struct block *b = a->head;
	if (b->size - b->used < need) {
		size_t bs = need > a->block_size ? need : a->block_size;
		struct block *nb = block_new(bs);
		if (need > a->block_size && b->used < b->size / 2) {
			/* A big one-off: link it behind the current block so
			 * the current one keeps filling. */
			nb->next = b->next;
			b->next = nb;
			nb->used = need;
			a->used += need;
			return nb->data;
		}
		nb->next = b;
		a->head = b = nb;
	}
	void *p = b->data + b->used;
	b->used += need;
	a->used += need;
	return p;
}

void *arena_calloc(arena_t *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		arena_oom(SIZE_MAX);
	void *p = arena_alloc(a, n * size);
	memset(p, 0, n * size);
	return p;
}

void *arena_memdup(arena_t *a, const void *p, size_t n)
{
	void *q = arena_alloc(a, n);
	if (n)
		memcpy(q, p, n);
	return q;
}

char *arena_strndup(arena_t *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(arena_t *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_vprintf(arena_t *a, const char *fmt, va_list ap)
{
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		arena_oom(0);
	char *p = arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *arena_printf(arena_t *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

void arena_on_reset(arena_t *a, arena_cleanup_fn fn, void *data)
{
	struct cleanup *c = arena_alloc(a, sizeof *c);
	c->fn = fn;
	c->data = data;
	c->next = a->cleanups;
	a->cleanups = c;
}

size_t arena_used(const arena_t *a)
{
	return a->used;
}
