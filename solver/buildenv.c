/* buildenv.c - build environments solved inside one solve (see subsolve in
 * solve.c).
 *
 * A recipe's fromBuildEnv pins, and whether it can be built from source,
 * come from a nested solve of its build environment; that solve may meet
 * other recipes whose pins need their own build environments, and so on.
 * Recipes can name each other (i builds with e/~2.4, e/3.1 builds with
 * i/~3.1), so the nesting is not bounded by itself. One context, shared by
 * the top-level solve and every nested one, keeps it finite:
 *
 * - a stack of the build environments being solved, keyed by the build
 *   and every input of its solve (option values and requests): meeting a
 *   key that is already on the stack is a cycle, and that environment is
 *   taken as unresolvable, with the chain in words;
 * - a memo of every finished environment by the same key, so each one is
 *   solved at most once per top-level solve (a result found while an outer
 *   environment was still open took that outer one as unresolvable, and is
 *   remembered as found: the answer stays deterministic);
 * - a depth bound and a bound on the number of environments solved.
 *
 * Ownership: the context and its arena are the top-level solve's; nested
 * solves copy what they keep into their own arenas.
 */
#include "solver/solve_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct envframe {
	const char *key;
	const solver_build *b;
	const char *via, *ident;
} envframe;

struct solver__envctx {
	solver_arena *a;
	FILE *trace;
	envframe stack[SOLVER__ENV_MAX_DEPTH];
	size_t depth;
	solver__envmemo *memo;
	size_t nmemo, capmemo;
};

int solver__envctx_new(solver__envctx **out, FILE *trace, sp_error *err)
{
	solver__envctx *c = calloc(1, sizeof(*c));
	if (!c)
		return sp_error_set(err, SP_ENOMEM, "out of memory (build environments)");
	c->trace = trace;
	int rc = solver_arena_new(&c->a, err);
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

FILE *solver__env_trace(const solver__envctx *c)
{
	return c->trace;
}

void solver__envctx_free(solver__envctx *c)
{
	if (!c)
		return;
	free(c->memo);
	solver_arena_free(c->a);
	free(c);
}

static int ident_of(sp_buf *out, const solver_build *b, sp_error *err)
{
	char v[128];
	return sp_buf_printf(out, err, "%s/%s", b->name,
			     solver_version_str(&b->version, v, sizeof(v)));
}

/* A recipe's default build and a build from source with the same values
 * share one key: their environments are the same solve. */
int solver__env_key(char **out, const solver_build *b, const solver_opt *opts, size_t nopts,
		    const solver_request *reqs, size_t nreqs, solver_arena *a, sp_error *err)
{
	sp_buf k = {0};
	int rc = ident_of(&k, b, err);
	if (!rc)
		rc = sp_buf_printf(&k, err, "/%s", b->build ? b->build : "");
	for (size_t i = 0; i < nopts && !rc; i++)
		rc = sp_buf_printf(&k, err, "|%s=%s", opts[i].name, opts[i].value);
	for (size_t i = 0; i < nreqs && !rc; i++)
		rc = sp_buf_printf(&k, err, "|%s", reqs[i].text ? reqs[i].text : reqs[i].name);
	if (!rc && !(*out = solver_arena_strdup(a, k.data, err)))
		rc = err->code;
	sp_buf_free(&k);
	return rc;
}

/* Keys differ by pointer only when their text differs: the memo and the
 * stack compare text. */
const solver__envmemo *solver__env_lookup(const solver__envctx *c, const char *key)
{
	for (size_t i = 0; i < c->nmemo; i++)
		if (!strcmp(c->memo[i].key, key))
			return &c->memo[i];
	return NULL;
}

int solver__env_active(const solver__envctx *c, const char *key)
{
	for (size_t i = 0; i < c->depth; i++)
		if (!strcmp(c->stack[i].key, key))
			return (int)i;
	return -1;
}

size_t solver__env_depth(const solver__envctx *c)
{
	return c->depth;
}

size_t solver__env_count(const solver__envctx *c)
{
	return c->nmemo;
}

void solver__env_push(solver__envctx *c, const char *key, const solver_build *b, const char *via,
		      const char *ident)
{
	/* the caller checked the depth */
	c->stack[c->depth++] = (envframe){key, b, via, ident};
}

void solver__env_pop(solver__envctx *c)
{
	if (c->depth)
		c->depth--;
}

int solver__env_remember(solver__envctx *c, const char *key, bool ok,
			 const solver_build *const *env, size_t nenv, const char *why,
			 sp_error *err)
{
	if (c->nmemo == c->capmemo) {
		size_t nc = c->capmemo ? c->capmemo * 2 : 16;
		int rc = sp_realloc_array((void **)&c->memo, nc, sizeof(*c->memo), err);
		if (rc)
			return rc;
		c->capmemo = nc;
	}
	solver__envmemo m = {.ok = ok, .nenv = ok ? nenv : 0};
	m.key = solver_arena_strdup(c->a, key, err);
	m.why = solver_arena_strdup(c->a, why ? why : "", err);
	if (!m.key || !m.why)
		return err->code;
	if (m.nenv) {
		const solver_build **v = solver_arena_array(c->a, m.nenv, sizeof(*v), err);
		if (!v)
			return err->code;
		memcpy(v, env, m.nenv * sizeof(*v));
		m.env = v;
	}
	c->memo[c->nmemo++] = m;
	return 0;
}

int solver__env_chain(sp_buf *out, const solver__envctx *c, size_t from, const char *now_via,
		      const char *now_ident, bool cycle, sp_error *err)
{
	int rc = 0;
	if (cycle) {
		rc = sp_buf_printf(out, err, "its build environment ");
	} else if (from < c->depth) {
		rc = ident_of(out, c->stack[from].b, err);
		if (!rc)
			rc = sp_buf_printf(out, err, " builds in an environment that ");
	}
	for (size_t k = from + 1; k < c->depth && !rc; k++)
		rc =
		    sp_buf_printf(out, err, "%s, whose candidate %s builds in an environment that ",
				  c->stack[k].via, c->stack[k].ident);
	if (!rc)
		rc = sp_buf_printf(out, err, "%s, whose candidate %s%s", now_via, now_ident,
				   cycle ? " is this build again (a cycle)" : "");
	return rc;
}
