/* workspace.c - SPK's workspace file (`api: v0/workspace`, named
 * workspace.spk.yaml at the root of a tree): which recipe files the tree
 * holds, and for a template recipe, the versions it may be rendered as.
 *
 *   recipes:
 *     - GLOB                               a pattern, relative to the root
 *     - path: packages/python/python3.spk.yaml
 *       versions: ['3.7.{0..17}', 3.9.7]   bash-style braces expanded
 *
 * Entries apply in order: a file matched again takes the later entry's
 * versions (the last entry with versions wins). Globs match as gitignore
 * patterns do (pkg__source_match: `*` stays in one directory, `**` crosses
 * them). */
#include "pkg/source.h"
#include "pkg/workspace.h"
#include "pkg/yamltree.h"

#include <stdlib.h>
#include <string.h>

typedef struct ws_entry {
	const char *glob;
	const char *const *versions;
	size_t nversions;
} ws_entry;

struct pkg__workspace {
	solver_arena *a;
	ws_entry *v;
	size_t n;
};

#define WS_MAX_VERSIONS 10000

void pkg__workspace_free(pkg__workspace *w)
{
	if (!w)
		return;
	solver_arena_free(w->a);
	free(w);
}

typedef struct expander {
	solver_arena *a;
	const char **out;
	size_t n, cap;
	sp_error *err;
} expander;

static int push(expander *x, const char *s, size_t len)
{
	if (x->n >= WS_MAX_VERSIONS)
		return sp_error_set(x->err, SP_EINVALID, "more than %d versions", WS_MAX_VERSIONS);
	if (x->n == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 16;
		const char **nv = solver_arena_array(x->a, nc, sizeof(*nv), x->err);
		if (!nv)
			return x->err->code;
		if (x->n)
			memcpy(nv, x->out, x->n * sizeof(*nv));
		x->out = nv;
		x->cap = nc;
	}
	if (!(x->out[x->n] = solver_arena_strndup(x->a, s, len, x->err)))
		return x->err->code;
	x->n++;
	return 0;
}

/* Expands the first {a..b} or {x,y,..} group of s (prefix `done` already
 * expanded), recursively for the rest. */
static int expand(expander *x, sp_buf *pre, const char *s)
{
	const char *open = strchr(s, '{');
	const char *close = open ? strchr(open, '}') : NULL;
	if (!open || !close) {
		size_t mark = pre->len;
		int rc = sp_buf_append(pre, s, strlen(s), x->err);
		if (!rc)
			rc = push(x, pre->data, pre->len);
		pre->len = mark;
		return rc;
	}
	size_t mark = pre->len;
	int rc = sp_buf_append(pre, s, (size_t)(open - s), x->err);
	if (rc)
		return rc;
	size_t base = pre->len;
	const char *in = open + 1;
	size_t inl = (size_t)(close - in);
	const char *dots = NULL;
	for (size_t i = 0; i + 1 < inl; i++)
		if (in[i] == '.' && in[i + 1] == '.')
			dots = in + i;
	if (dots) {
		char *end;
		long lo = strtol(in, &end, 10);
		if (end != dots)
			return sp_error_set(x->err, SP_EINVALID, "'%s': expected {N..M}", s);
		long hi = strtol(dots + 2, &end, 10);
		if (end != close || lo < 0 || hi < lo || hi - lo >= WS_MAX_VERSIONS)
			return sp_error_set(x->err, SP_EINVALID,
					    "'%s': expected {N..M} with N <= M", s);
		for (long k = lo; k <= hi && !rc; k++) {
			pre->len = base;
			rc = sp_buf_printf(pre, x->err, "%ld", k);
			if (!rc)
				rc = expand(x, pre, close + 1);
		}
	} else {
		const char *p = in;
		while (!rc && p <= close) {
			const char *comma = memchr(p, ',', (size_t)(close - p));
			const char *e = comma ? comma : close;
			pre->len = base;
			rc = sp_buf_append(pre, p, (size_t)(e - p), x->err);
			if (!rc)
				rc = expand(x, pre, close + 1);
			p = e + 1;
		}
	}
	pre->len = mark;
	return rc;
}

int pkg__workspace_expand(const char ***out, size_t *n, solver_arena *a, const char *s,
			  sp_error *err)
{
	expander x = {.a = a, .err = err};
	sp_buf pre = {0};
	int rc = sp_buf_append(&pre, "", 0, err);
	if (!rc)
		rc = expand(&x, &pre, s);
	sp_buf_free(&pre);
	*out = x.out;
	*n = x.n;
	return rc;
}

bool pkg__is_workspace(const char *text, size_t len)
{
	/* a top-level `api: v0/workspace` line */
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t ll = nl ? (size_t)(nl - (text + i)) : len - i;
		const char *l = text + i;
		if (ll >= 16 && !memcmp(l, "api:", 4)) {
			size_t k = 4;
			while (k < ll && (l[k] == ' ' || l[k] == '\t'))
				k++;
			if (ll - k >= 12 && !memcmp(l + k, "v0/workspace", 12))
				return true;
		}
		i += ll + 1;
	}
	return false;
}

static int ws_fail(sp_error *err, const char *file, const pkg__ynode *n, const char *what)
{
	return sp_error_set(err, SP_EINVALID, "%s:%zu:%zu: %s", file, n->line, n->col, what);
}

int pkg__workspace_read(pkg__workspace **out, const char *text, size_t len, const char *file,
			sp_error *err)
{
	*out = NULL;
	pkg__workspace *w = calloc(1, sizeof(*w));
	if (!w)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	int rc = solver_arena_new(&w->a, err);
	pkg__ynode **docs = NULL;
	size_t ndocs = 0;
	if (!rc)
		rc = pkg__yaml_load(&docs, &ndocs, w->a, text, len, file, &pkg_limits_default, err);
	if (!rc && (ndocs != 1 || docs[0]->type != PKG__Y_MAP))
		rc = sp_error_set(err, SP_EINVALID, "%s: expected one workspace document", file);
	const pkg__ynode *api = rc ? NULL : pkg__ymap_get(docs[0], "api");
	if (!rc && (!api || api->type != PKG__Y_SCALAR || strcmp(api->s, "v0/workspace")))
		rc = sp_error_set(err, SP_EINVALID, "%s: not a workspace file (api: v0/workspace)",
				  file);
	const pkg__ynode *rs = rc ? NULL : pkg__ymap_get(docs[0], "recipes");
	if (!rc && rs && rs->type != PKG__Y_SEQ)
		rc = ws_fail(err, file, rs, "recipes: expected a list");
	size_t nr = rs ? rs->n : 0;
	if (!rc && !(w->v = solver_arena_array(w->a, nr ? nr : 1, sizeof(*w->v), err)))
		rc = err->code;
	for (size_t i = 0; !rc && i < nr; i++) {
		const pkg__ynode *e = rs->items[i], *p = e, *vs = NULL;
		if (e->type == PKG__Y_MAP) {
			p = pkg__ymap_get(e, "path");
			vs = pkg__ymap_get(e, "versions");
			if (!p) {
				rc = ws_fail(err, file, e, "recipes: an entry needs 'path'");
				break;
			}
			for (size_t k = 0; k + 1 < e->n; k += 2) {
				const pkg__ynode *key = e->items[k];
				if (key->type != PKG__Y_SCALAR ||
				    (strcmp(key->s, "path") && strcmp(key->s, "versions")))
					sp_warn(
					    "%s:%zu:%zu: unknown field '%s' in a workspace recipe "
					    "(ignored)",
					    file, key->line, key->col,
					    key->type == PKG__Y_SCALAR ? key->s : "?");
			}
		}
		if (p->type != PKG__Y_SCALAR || !p->s[0]) {
			rc = ws_fail(err, file, p, "recipes: expected a glob pattern");
			break;
		}
		if (p->s[0] == '/' || strstr(p->s, "..")) {
			rc = ws_fail(
			    err, file, p,
			    "recipes: a pattern is relative to the workspace, without '..'");
			break;
		}
		ws_entry *we = &w->v[w->n++];
		we->glob = p->s;
		if (!vs)
			continue;
		if (vs->type != PKG__Y_SEQ) {
			rc = ws_fail(err, file, vs, "versions: expected a list");
			break;
		}
		expander x = {.a = w->a, .err = err};
		for (size_t k = 0; !rc && k < vs->n; k++) {
			const pkg__ynode *v = vs->items[k];
			if (v->type != PKG__Y_SCALAR) {
				rc = ws_fail(err, file, v, "versions: expected versions");
				break;
			}
			sp_buf pre = {0};
			rc = sp_buf_append(&pre, "", 0, err);
			if (!rc)
				rc = expand(&x, &pre, v->s);
			sp_buf_free(&pre);
			if (rc) {
				sp_error_prefix(err, "%s:%zu:%zu: versions", file, v->line, v->col);
				break;
			}
		}
		for (size_t k = 0; !rc && k < x.n; k++) {
			solver_version ver;
			sp_error ve = {0};
			if (solver_version_parse(&ver, w->a, x.out[k], strlen(x.out[k]),
						 &solver_limits_default, &ve))
				rc =
				    sp_error_set(err, SP_EINVALID, "%s:%zu:%zu: versions: '%s': %s",
						 file, vs->line, vs->col, x.out[k], ve.msg);
		}
		we->versions = x.out;
		we->nversions = x.n;
	}
	if (rc) {
		pkg__workspace_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

bool pkg__workspace_wants(const pkg__workspace *w, const char *rel, const char *const **versions,
			  size_t *nversions)
{
	bool want = false;
	*versions = NULL;
	*nversions = 0;
	for (size_t i = 0; i < w->n; i++) {
		if (!pkg__source_match(w->v[i].glob, rel, false))
			continue;
		want = true;
		if (w->v[i].nversions) {
			/* the last entry naming versions for the file wins */
			*versions = w->v[i].versions;
			*nversions = w->v[i].nversions;
		}
	}
	return want;
}
