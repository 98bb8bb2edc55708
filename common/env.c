/* env.c - environments as values (common.h, sp_env): ordered NAME=VALUE
 * pairs that can be computed, compared, digested, printed and handed to a
 * run as an envp, instead of setenv() on our own process.
 *
 * Order is insertion order: setting a name that exists replaces its value
 * in place, so an environment built from the same operations always lists
 * its variables the same way. Names are found through an open-addressing
 * hash of their positions (environments of tens of thousands of variables
 * stay linear to build). */
#include "common.h"

#include <stdlib.h>
#include <string.h>

typedef struct pair {
	char *name;
	char *value;
} pair;

struct sp_env {
	pair *v; /* live pairs, in order; a removed one is compacted away */
	size_t n, cap;
	size_t *slots; /* index + 1 into v; 0 = empty */
	size_t nslots; /* a power of two, at least 2 * cap */
};

#define SP_ENV_MAX_VARS 1000000

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int rehash(sp_env *e, size_t nslots, sp_error *err)
{
	size_t *s = calloc(nslots, sizeof(*s));
	if (!s)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	for (size_t i = 0; i < e->n; i++) {
		size_t k = hash(e->v[i].name) & (nslots - 1);
		while (s[k])
			k = (k + 1) & (nslots - 1);
		s[k] = i + 1;
	}
	free(e->slots);
	e->slots = s;
	e->nslots = nslots;
	return 0;
}

/* The slot holding name, or the empty slot where it would go. */
static size_t slot_of(const sp_env *e, const char *name)
{
	size_t k = hash(name) & (e->nslots - 1);
	while (e->slots[k] && strcmp(e->v[e->slots[k] - 1].name, name) != 0)
		k = (k + 1) & (e->nslots - 1);
	return k;
}

int sp_env_new(sp_env **out, sp_error *err)
{
	sp_env *e = calloc(1, sizeof(*e));
	if (!e || rehash(e, 16, err)) {
		free(e);
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	}
	*out = e;
	return 0;
}

void sp_env_free(sp_env *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].name);
		free(e->v[i].value);
	}
	free(e->v);
	free(e->slots);
	free(e);
}

void sp_env_freep(sp_env **e)
{
	sp_env_free(*e);
	*e = NULL;
}

bool sp_env_name_valid(const char *name)
{
	return name && *name && !strchr(name, '=') && strlen(name) <= 4096;
}

const char *sp_env_get(const sp_env *e, const char *name)
{
	size_t k = slot_of(e, name);
	return e->slots[k] ? e->v[e->slots[k] - 1].value : NULL;
}

int sp_env_set(sp_env *e, const char *name, const char *value, sp_error *err)
{
	if (!sp_env_name_valid(name))
		return sp_error_set(err, SP_EINVALID,
				    "'%.200s' is not an environment variable name",
				    name ? name : "");
	size_t k = slot_of(e, name);
	char *v = strdup(value);
	if (!v)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	if (e->slots[k]) {
		pair *p = &e->v[e->slots[k] - 1];
		free(p->value);
		p->value = v;
		return 0;
	}
	if (e->n >= SP_ENV_MAX_VARS) {
		free(v);
		return sp_error_set(err, SP_EINVALID, "more than %d environment variables",
				    SP_ENV_MAX_VARS);
	}
	char *nm = strdup(name);
	if (!nm) {
		free(v);
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	}
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		int rc = sp_realloc_array((void **)&e->v, cap, sizeof(*e->v), err);
		if (!rc && cap * 2 > e->nslots)
			rc = rehash(e, cap * 4, err);
		if (rc) {
			free(v);
			free(nm);
			return rc;
		}
		e->cap = cap;
		k = slot_of(e, name);
	}
	e->v[e->n] = (pair){nm, v};
	e->slots[k] = ++e->n;
	return 0;
}

int sp_env_unset(sp_env *e, const char *name, sp_error *err)
{
	size_t k = slot_of(e, name);
	if (!e->slots[k])
		return 0;
	size_t i = e->slots[k] - 1;
	free(e->v[i].name);
	free(e->v[i].value);
	memmove(&e->v[i], &e->v[i + 1], (e->n - i - 1) * sizeof(*e->v));
	e->n--;
	/* positions after i moved: rebuild the index (unset is rare) */
	return rehash(e, e->nslots, err);
}

/* prepend/append: an unset or empty variable becomes just the value, so
 * no stray separator appears (as SPK's generated scripts do). */
static int join(sp_env *e, const char *name, const char *value, const char *sep, bool front,
		sp_error *err)
{
	const char *old = sp_env_get(e, name);
	if (!old || !*old)
		return sp_env_set(e, name, value, err);
	if (!sep)
		sep = ":";
	sp_buf b = {0};
	int rc = front ? sp_buf_printf(&b, err, "%s%s%s", value, sep, old)
		       : sp_buf_printf(&b, err, "%s%s%s", old, sep, value);
	if (!rc)
		rc = sp_env_set(e, name, b.data, err);
	sp_buf_free(&b);
	return rc;
}

int sp_env_prepend(sp_env *e, const char *name, const char *value, const char *sep, sp_error *err)
{
	return join(e, name, value, sep, true, err);
}

int sp_env_append(sp_env *e, const char *name, const char *value, const char *sep, sp_error *err)
{
	return join(e, name, value, sep, false, err);
}

int sp_expand_vars(char **out, const char *s, const char *(*lookup)(void *ud, const char *name),
		   void *ud, sp_error *err)
{
	sp_buf b = {0};
	int rc = 0;
	while (*s && !rc) {
		if (*s != '$') {
			rc = sp_buf_append(&b, s++, 1, err);
			continue;
		}
		const char *p = s + 1;
		bool brace = *p == '{';
		if (brace)
			p++;
		size_t l = 0;
		while ((p[l] >= 'a' && p[l] <= 'z') || (p[l] >= 'A' && p[l] <= 'Z') ||
		       (p[l] >= '0' && p[l] <= '9') || p[l] == '_')
			l++;
		char name[256];
		if (!l || (brace && p[l] != '}') || l >= sizeof(name)) {
			/* not a reference: kept as written */
			rc = sp_buf_append(&b, s++, 1, err);
			continue;
		}
		memcpy(name, p, l);
		name[l] = 0;
		const char *v = lookup(ud, name);
		if (v)
			rc = sp_buf_append(&b, v, strlen(v), err);
		s = p + l + (brace ? 1 : 0);
	}
	if (!rc)
		rc = sp_buf_append(&b, "", 1, err);
	if (rc) {
		sp_buf_free(&b);
		return rc;
	}
	*out = b.data;
	return 0;
}

static const char *env_lookup(void *ud, const char *name)
{
	return sp_env_get(ud, name);
}

int sp_env_expand(char **out, const sp_env *e, const char *s, sp_error *err)
{
	return sp_expand_vars(out, s, env_lookup, (void *)e, err);
}

int sp_env_from_envp(sp_env **out, char *const *envp, sp_error *err)
{
	sp_env *e;
	int rc = sp_env_new(&e, err);
	for (size_t i = 0; !rc && envp && envp[i]; i++) {
		const char *eq = strchr(envp[i], '=');
		if (!eq || eq == envp[i])
			continue; /* not NAME=VALUE: the kernel passes it, we do not */
		char name[4097];
		size_t l = (size_t)(eq - envp[i]);
		if (l >= sizeof(name))
			continue;
		memcpy(name, envp[i], l);
		name[l] = 0;
		rc = sp_env_set(e, name, eq + 1, err);
	}
	if (rc) {
		sp_env_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

size_t sp_env_count(const sp_env *e)
{
	return e->n;
}

const char *sp_env_name_at(const sp_env *e, size_t i)
{
	return i < e->n ? e->v[i].name : NULL;
}

const char *sp_env_value_at(const sp_env *e, size_t i)
{
	return i < e->n ? e->v[i].value : NULL;
}

int sp_env_to_envp(char ***out, const sp_env *e, sp_error *err)
{
	size_t bytes = (e->n + 1) * sizeof(char *);
	for (size_t i = 0; i < e->n; i++) {
		size_t l = strlen(e->v[i].name) + strlen(e->v[i].value) + 2;
		if (__builtin_add_overflow(bytes, l, &bytes))
			return sp_error_set(err, SP_ENOMEM, "environment too large");
	}
	char **v = malloc(bytes);
	if (!v)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	char *p = (char *)(v + e->n + 1);
	for (size_t i = 0; i < e->n; i++) {
		size_t ln = strlen(e->v[i].name), lv = strlen(e->v[i].value);
		v[i] = p;
		memcpy(p, e->v[i].name, ln);
		p[ln] = '=';
		memcpy(p + ln + 1, e->v[i].value, lv + 1);
		p += ln + lv + 2;
	}
	v[e->n] = NULL;
	*out = v;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const pair *const *)a)->name, (*(const pair *const *)b)->name);
}

int sp_env_digest(sp_digest *out, const sp_env *e, sp_error *err)
{
	/* sorted by name, each "name\0value\0": insertion order does not
	 * change what a program sees, so it does not change the digest */
	_cleanup_free_ const pair **sorted = calloc(e->n ? e->n : 1, sizeof(*sorted));
	if (!sorted)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	for (size_t i = 0; i < e->n; i++)
		sorted[i] = &e->v[i];
	qsort(sorted, e->n, sizeof(*sorted), by_name);
	_cleanup_(sp_hasher_freep) sp_hasher *h = NULL;
	int rc = sp_hasher_new(&h, err);
	for (size_t i = 0; !rc && i < e->n; i++) {
		rc = sp_hasher_update(h, sorted[i]->name, strlen(sorted[i]->name) + 1, err);
		if (!rc)
			rc = sp_hasher_update(h, sorted[i]->value, strlen(sorted[i]->value) + 1,
					      err);
	}
	return rc ? rc : sp_hasher_final(h, out, err);
}
