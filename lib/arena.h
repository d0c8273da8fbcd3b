/* arena: request- and job-scoped memory.
 *
 * A handler allocates everything from the arena of its request and never
 * frees; the responder resets the arena after FCGX_Finish_r, the deployer
 * at the top of each job.  The arena also owns non-memory resources
 * (PGresult, json_t, CURL) through cleanup hooks that run, newest first,
 * on reset and on free.
 *
 * Allocation never returns NULL: running out of memory logs and aborts,
 * so call sites stay simple (as redis' zmalloc and h2o_mem_alloc do). */
#ifndef CANOPY_ARENA_H
#define CANOPY_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arena arena_t;
typedef void (*arena_cleanup_fn)(void *data);

/* A new arena whose blocks are at least block_size bytes (0: default).
 * The caller owns it and releases it with arena_free(). */
arena_t *arena_new(size_t block_size);

/* Runs the cleanup hooks and releases every block. NULL is a no-op. */
void arena_free(arena_t *a);

/* Runs the cleanup hooks and forgets every allocation, keeping the first
 * block for reuse so a steady-state request allocates nothing from libc. */
void arena_reset(arena_t *a);

/* size bytes aligned for any type; never NULL. */
void *arena_alloc(arena_t *a, size_t size);

/* As arena_alloc, zero-filled; n * size is checked for overflow. */
void *arena_calloc(arena_t *a, size_t n, size_t size);

/* Copies of strings, NUL-terminated, owned by the arena. */
char *arena_strdup(arena_t *a, const char *s);
char *arena_strndup(arena_t *a, const char *s, size_t n);
void *arena_memdup(arena_t *a, const void *p, size_t n);

/* A formatted string owned by the arena. */
char *arena_printf(arena_t *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *arena_vprintf(arena_t *a, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Registers fn(data) to run when the arena is reset or freed. */
void arena_on_reset(arena_t *a, arena_cleanup_fn fn, void *data);

/* Bytes handed out since the last reset (for limits and tests). */
size_t arena_used(const arena_t *a);

/* Aborts the process after logging what failed: for allocation failures
 * and broken invariants that no caller can recover from. */
void arena_oom(size_t size) __attribute__((noreturn));

/* malloc/realloc that abort instead of returning NULL, for long-lived
 * data outside any arena (compiled templates, caches, config). */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
