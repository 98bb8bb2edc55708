/* arena.c - bump allocator for solver and spec data with one lifetime. */
#include "solver/solver.h"

#include <stdlib.h>
#include <string.h>

typedef struct arena_block {
	struct arena_block *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
} arena_block;

struct solver_arena {
	arena_block *head;
	size_t total;
};

int solver_arena_new(solver_arena **out, sp_error *err)
{
	solver_arena *a = calloc(1, sizeof(*a));
	if (!a)
		return sp_error_set(err, SP_ENOMEM, "out of memory (arena)");
	*out = a;
	return 0;
}

void solver_arena_free(solver_arena *a)
{
	if (!a)
		return;
	arena_block *b = a->head;
	while (b) {
		arena_block *n = b->next;
		free(b);
		b = n;
	}
	free(a);
}

void solver_arena_freep(solver_arena **a)
{
	solver_arena_free(*a);
}

void *solver_arena_alloc(solver_arena *a, size_t n, sp_error *err)
{
	size_t need;
	if (__builtin_add_overflow(n, (size_t)15, &need)) {
		sp_error_set(err, SP_ENOMEM, "allocation size overflows");
		return NULL;
	}
	need &= ~(size_t)15;
	if (need == 0)
		need = 16;
	arena_block *b = a->head;
	if (!b || b->size - b->used < need) {
		size_t sz = need > 65536 ? need : 65536;
		if (sz > SOLVER_ARENA_MAX - a->total) {
			sp_error_set(err, SP_ENOMEM, "arena exceeds its cap of %zu bytes",
				     (size_t)SOLVER_ARENA_MAX);
			return NULL;
		}
		b = malloc(sizeof(*b) + sz);
		if (!b) {
			sp_error_set(err, SP_ENOMEM, "out of memory (%zu bytes)", sz);
			return NULL;
		}
		b->size = sz;
		b->used = 0;
		b->next = a->head;
		a->head = b;
		a->total += sz;
	}
	void *p = b->data + b->used;
	b->used += need;
	memset(p, 0, n);
	return p;
}

void *solver_arena_array(solver_arena *a, size_t count, size_t size, sp_error *err)
{
	size_t n;
	if (__builtin_mul_overflow(count, size, &n)) {
		sp_error_set(err, SP_ENOMEM, "allocation size overflows");
		return NULL;
	}
	return solver_arena_alloc(a, n, err);
}

char *solver_arena_strndup(solver_arena *a, const char *s, size_t n, sp_error *err)
{
	size_t m;
	if (__builtin_add_overflow(n, (size_t)1, &m)) {
		sp_error_set(err, SP_ENOMEM, "allocation size overflows");
		return NULL;
	}
	char *p = solver_arena_alloc(a, m, err);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *solver_arena_strdup(solver_arena *a, const char *s, sp_error *err)
{
	return solver_arena_strndup(a, s, strlen(s), err);
}
