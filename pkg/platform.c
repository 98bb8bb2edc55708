/* platform.c - platform specs: a package that only holds opinions on what
 * versions may be used together (a VFX Reference Platform year, a studio's
 * baseline), written as SPK's `api: v0/platform` or `api: v1/platform`.
 *
 * SPK turns a platform into a v0/package recipe when it builds it; so does
 * this file, and the spec loader reads that recipe (spec.c), so solving,
 * publishing and building see an ordinary recipe:
 *   platform: NAME[/VERSION]  ->  pkg: NAME/VERSION, an empty build script
 *                                 (the package holds no files)
 *   base: B/V (v0) or [B/V..] ->  a build option `pkg: B` (default =V): the
 *                                 base is in the build environment, and at
 *                                 build time its requirements are copied in
 *                                 (insert or replace by name, then the
 *                                 platform's own apply on top)
 *   v0 requirements: [REQ..]  ->  install.requirements, every pkg entry
 *                                 with include: IfAlreadyPresent; the
 *                                 mapping form {add: [..], remove: [..]}
 *                                 removes inherited names first
 *   v1 requirements:             each {pkg|var: NAME, atBuild, atRuntime}:
 *                                 atBuild goes to the build component's
 *                                 requirements, atRuntime to the run
 *                                 component's (pkg ones IfAlreadyPresent);
 *                                 `false` removes an inherited one; a
 *                                 missing field keeps what was inherited.
 * Errors name the platform document's own positions. */
#include "pkg/platform.h"

#include <stdlib.h>
#include <string.h>

bool pkg__is_platform_api(const char *api)
{
	return !strcmp(api, "v0/platform") || !strcmp(api, "v1/platform");
}

/* --------------------------------------------- requirement lists by name */

typedef struct rent {
	char *name;
	char *yaml; /* "key: value\n" lines, unindented */
} rent;

typedef struct rlist {
	rent *v;
	size_t n, cap;
} rlist;

static void rlist_free(rlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].yaml);
	}
	free(l->v);
	*l = (rlist){0};
}

static void rlist_remove(rlist *l, const char *name)
{
	size_t k = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (!strcmp(l->v[i].name, name)) {
			free(l->v[i].name);
			free(l->v[i].yaml);
			continue;
		}
		l->v[k++] = l->v[i];
	}
	l->n = k;
}

/* Inserts, or replaces the entry of the same name in place (takes yaml). */
static int rlist_put(rlist *l, const char *name, size_t nlen, char *yaml, sp_error *err)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i].name) == nlen && !memcmp(l->v[i].name, name, nlen)) {
			free(l->v[i].yaml);
			l->v[i].yaml = yaml;
			return 0;
		}
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		int rc = sp_realloc_array((void **)&l->v, nc, sizeof(*l->v), err);
		if (rc) {
			free(yaml);
			return rc;
		}
		l->cap = nc;
	}
	char *nm = strndup(name, nlen);
	if (!nm) {
		free(yaml);
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	}
	l->v[l->n++] = (rent){nm, yaml};
	return 0;
}

/* 'text' with ' doubled: a YAML scalar that reads back as text. */
static int quoted(sp_buf *b, const char *s, sp_error *err)
{
	int rc = sp_buf_append(b, "'", 1, err);
	for (const char *p = s; *p && !rc; p++)
		rc = *p == '\'' ? sp_buf_append(b, "''", 2, err) : sp_buf_append(b, p, 1, err);
	return rc ? rc : sp_buf_append(b, "'", 1, err);
}

static int kv(sp_buf *b, const char *key, const char *value, sp_error *err)
{
	int rc = sp_buf_printf(b, err, "%s: ", key);
	if (!rc)
		rc = quoted(b, value, err);
	return rc ? rc : sp_buf_append(b, "\n", 1, err);
}

/* A finished entry's text (the buffer's data, handed over). */
static char *take(sp_buf *b)
{
	char *s = b->data ? b->data : strdup("");
	*b = (sp_buf){0};
	return s;
}

static int emit_list(sp_buf *out, const rlist *l, size_t indent, sp_error *err)
{
	int rc = 0;
	for (size_t i = 0; i < l->n && !rc; i++) {
		const char *line = l->v[i].yaml;
		bool first = true;
		while (*line && !rc) {
			const char *nl = strchr(line, '\n');
			size_t n = nl ? (size_t)(nl - line) : strlen(line);
			rc = sp_buf_printf(out, err, "%*s%s%.*s\n", (int)indent, "",
					   first ? "- " : "  ", (int)n, line);
			first = false;
			line += n + (nl ? 1 : 0);
		}
	}
	return rc;
}

/* ------------------------------------------------------------- lowering */

typedef struct low {
	const char *file;
	sp_error *err;
	solver_arena *a;
	rlist install, build, run;
} low;

static int fail(low *l, const pkg__ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(low *l, const pkg__ynode *n, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sp_error_set(l->err, SP_EINVALID, "%s:%zu:%zu: %s", l->file, n->line, n->col, msg);
}

static int scalar(low *l, const pkg__ynode *n, const char *what, const char **out)
{
	if (n->type != PKG__Y_SCALAR)
		return fail(l, n, "%s: expected a value", what);
	*out = n->s;
	return 0;
}

/* "NAME[/VERSION]": *nlen is the name's length; the version is checked. */
static int ident(low *l, const pkg__ynode *n, const char *what, size_t *nlen, const char **ver)
{
	const char *s = NULL;
	int rc = scalar(l, n, what, &s);
	if (rc)
		return rc;
	const char *sl = strchr(s, '/');
	*nlen = sl ? (size_t)(sl - s) : strlen(s);
	*ver = sl ? sl + 1 : NULL;
	if (!solver_name_valid(s, *nlen))
		return fail(l, n, "%s: invalid package name '%.*s'", what,
			    (int)(*nlen > 80 ? 80 : *nlen), s);
	solver_version v;
	sp_error ve = {0};
	if (*ver && solver_version_parse(&v, l->a, *ver, strlen(*ver), &solver_limits_default, &ve))
		return fail(l, n, "%s: %s", what, ve.msg);
	return 0;
}

static int check_request(low *l, const pkg__ynode *at, const char *text, bool is_var)
{
	solver_request r;
	sp_error re = {0};
	int rc = is_var ? solver_request_parse_var(&r, l->a, text, strlen(text),
						   &solver_limits_default, &re)
			: solver_request_parse(&r, l->a, text, strlen(text), SOLVER_COMPAT_API,
					       &solver_limits_default, &re);
	return rc ? fail(l, at, "%s", re.msg) : 0;
}

/* A v0 requirement entry (a mapping of scalars, or a bare package name),
 * into list dst; pkg entries become IfAlreadyPresent. */
static int v0_entry(low *l, const pkg__ynode *e, rlist *dst)
{
	sp_buf y = {0};
	int rc = 0;
	const char *name = NULL;
	size_t nlen = 0;
	if (e->type == PKG__Y_SCALAR) {
		if ((rc = check_request(l, e, e->s, false)))
			return rc;
		name = e->s;
		nlen = strcspn(name, "/:");
		rc = kv(&y, "pkg", e->s, l->err);
		if (!rc)
			rc = sp_buf_printf(&y, l->err, "include: IfAlreadyPresent\n");
	} else if (e->type == PKG__Y_MAP) {
		const pkg__ynode *p = pkg__ymap_get(e, "pkg"), *v = pkg__ymap_get(e, "var");
		if (!p == !v)
			return fail(l, e, "requirement: expected exactly one of 'pkg' or 'var'");
		const pkg__ynode *w = p ? p : v;
		if ((rc = scalar(l, w, p ? "pkg" : "var", &name)))
			return rc;
		if (p && (rc = check_request(l, w, name, false)))
			return rc;
		nlen = strcspn(name, p ? "/:" : "/=");
		for (size_t i = 0; !rc && i + 1 < e->n; i += 2) {
			const pkg__ynode *k = e->items[i], *val = e->items[i + 1];
			if (k->type != PKG__Y_SCALAR || val->type != PKG__Y_SCALAR) {
				sp_buf_free(&y);
				return fail(l, k, "requirement: expected keys with values");
			}
			if (p && !strcmp(k->s, "include"))
				continue; /* a platform's are IfAlreadyPresent */
			rc = kv(&y, k->s, val->s, l->err);
		}
		if (!rc && p)
			rc = sp_buf_printf(&y, l->err, "include: IfAlreadyPresent\n");
	} else {
		return fail(l, e, "requirement: expected a mapping or a package name");
	}
	if (rc) {
		sp_buf_free(&y);
		return rc;
	}
	return rlist_put(dst, name, nlen, take(&y), l->err);
}

static int v0_list(low *l, const pkg__ynode *n, rlist *dst, const char *what)
{
	if (n->type != PKG__Y_SEQ)
		return fail(l, n, "%s: expected a list", what);
	int rc = 0;
	for (size_t i = 0; i < n->n && !rc; i++)
		rc = v0_entry(l, n->items[i], dst);
	return rc;
}

static int v0_requirements(low *l, const pkg__ynode *n)
{
	if (n->type == PKG__Y_SEQ)
		return v0_list(l, n, &l->install, "requirements");
	if (n->type != PKG__Y_MAP)
		return fail(l, n, "requirements: expected a list, or a mapping of add and remove");
	const pkg__ynode *rm = pkg__ymap_get(n, "remove"), *add = pkg__ymap_get(n, "add");
	int rc = 0;
	if (rm) {
		if (rm->type != PKG__Y_SEQ)
			return fail(l, rm, "remove: expected a list");
		for (size_t i = 0; i < rm->n && !rc; i++) {
			const pkg__ynode *e = rm->items[i];
			const pkg__ynode *w = e->type == PKG__Y_MAP ? pkg__ymap_get(e, "pkg") : e;
			if (!w && e->type == PKG__Y_MAP)
				w = pkg__ymap_get(e, "var");
			const char *s = NULL;
			if (!w)
				return fail(l, e, "remove: expected a name or {pkg: NAME}");
			if ((rc = scalar(l, w, "remove", &s)))
				return rc;
			char name[256];
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(s, "/:="), s);
			rlist_remove(&l->install, name);
		}
	}
	return add ? v0_list(l, add, &l->install, "add") : 0;
}

/* atBuild / atRuntime of a v1 entry into one component's list. */
static int v1_side(low *l, const pkg__ynode *e, const char *key, rlist *dst, const char *name,
		   size_t nlen, bool is_var)
{
	const pkg__ynode *x = pkg__ymap_get(e, key);
	if (!x)
		return 0; /* what was inherited stays */
	if (x->type != PKG__Y_SCALAR)
		return fail(l, x, "%s: expected a version range, a value or false", key);
	char nm[256];
	snprintf(nm, sizeof(nm), "%.*s", (int)(nlen < 255 ? nlen : 255), name);
	if (x->plain && !strcmp(x->s, "false")) {
		rlist_remove(dst, nm);
		return 0;
	}
	sp_buf t = {0}, y = {0};
	int rc = sp_buf_printf(&t, l->err, "%s/%s", nm, x->s);
	if (!rc)
		rc = check_request(l, x, t.data, is_var);
	if (!rc)
		rc = kv(&y, is_var ? "var" : "pkg", t.data, l->err);
	if (!rc && !is_var)
		rc = sp_buf_printf(&y, l->err, "include: IfAlreadyPresent\n");
	sp_buf_free(&t);
	if (rc) {
		sp_buf_free(&y);
		return rc;
	}
	return rlist_put(dst, name, nlen, take(&y), l->err);
}

static int v1_requirements(low *l, const pkg__ynode *n)
{
	if (n->type != PKG__Y_SEQ)
		return fail(l, n, "requirements: expected a list");
	int rc = 0;
	for (size_t i = 0; i < n->n && !rc; i++) {
		const pkg__ynode *e = n->items[i];
		if (e->type != PKG__Y_MAP)
			return fail(l, e, "requirement: expected {pkg: NAME, atBuild, atRuntime}");
		const pkg__ynode *p = pkg__ymap_get(e, "pkg"), *v = pkg__ymap_get(e, "var");
		if (!p == !v)
			return fail(l, e, "requirement: expected exactly one of 'pkg' or 'var'");
		for (size_t k = 0; k + 1 < e->n; k += 2) {
			const pkg__ynode *key = e->items[k];
			static const char *const known[] = {"pkg", "var", "atBuild", "atRuntime"};
			bool ok = false;
			for (size_t j = 0; j < 4 && !ok; j++)
				ok = key->type == PKG__Y_SCALAR && !strcmp(key->s, known[j]);
			if (!ok)
				return fail(l, key,
					    "requirement: unknown field '%s' (pkg or var, atBuild, "
					    "atRuntime)",
					    key->type == PKG__Y_SCALAR ? key->s : "?");
		}
		const char *name = NULL;
		size_t nlen;
		if (p) {
			const char *ver;
			if ((rc = ident(l, p, "pkg", &nlen, &ver)))
				return rc;
			name = p->s;
		} else {
			if ((rc = scalar(l, v, "var", &name)))
				return rc;
			nlen = strcspn(name, "/=");
			if (!nlen)
				return fail(l, v, "var: empty name");
		}
		if ((rc = v1_side(l, e, "atBuild", &l->build, name, nlen, v != NULL)))
			return rc;
		rc = v1_side(l, e, "atRuntime", &l->run, name, nlen, v != NULL);
	}
	return rc;
}

/* The requirements of base package `name` found in the build environment. */
static int inherit(low *l, const pkg__ynode *at, const char *name, size_t nlen, bool v1,
		   const solver_result *env, pkg_repo *r)
{
	const solver_build *b = NULL;
	for (size_t i = 0; i < solver_result_count(env) && !b; i++) {
		const solver_build *x = solver_result_get(env, i)->build;
		if (strlen(x->name) == nlen && !memcmp(x->name, name, nlen))
			b = x;
	}
	if (!b)
		return fail(l, at, "base '%.*s' is not in the build environment", (int)nlen, name);
	const pkg_spec *sp = pkg_repo_spec_of(r, b);
	if (sp)
		b = &sp->build;
	int rc = 0;
	/* (list, requirements) pairs: install ones go to both components in v1 */
	typedef struct todo_item {
		rlist *dst;
		const solver_request *reqs;
		size_t n;
	} todo_item;
	todo_item todo[5];
	size_t nt = 0;
	if (!v1) {
		todo[nt++] = (todo_item){&l->install, b->reqs, b->nreqs};
	} else {
		todo[nt++] = (todo_item){&l->build, b->reqs, b->nreqs};
		todo[nt++] = (todo_item){&l->run, b->reqs, b->nreqs};
		for (size_t c = 0; c < b->ncomponents; c++) {
			const solver_component *cp = &b->components[c];
			if (!strcmp(cp->name, "build"))
				todo[nt++] = (todo_item){&l->build, cp->reqs, cp->nreqs};
			else if (!strcmp(cp->name, "run"))
				todo[nt++] = (todo_item){&l->run, cp->reqs, cp->nreqs};
		}
	}
	for (size_t t = 0; t < nt && !rc; t++)
		for (size_t i = 0; i < todo[t].n && !rc; i++) {
			const solver_request *q = &todo[t].reqs[i];
			sp_buf txt = {0}, y = {0};
			rc = solver_request_format(q, &txt, l->err);
			if (!rc)
				rc = kv(&y, q->kind == SOLVER_REQ_VAR ? "var" : "pkg",
					txt.data ? txt.data : "", l->err);
			if (!rc && q->kind == SOLVER_REQ_PKG &&
			    q->include == SOLVER_INCLUDE_IF_PRESENT)
				rc = sp_buf_printf(&y, l->err, "include: IfAlreadyPresent\n");
			sp_buf_free(&txt);
			const char *nm = q->kind == SOLVER_REQ_VAR ? q->var : q->name;
			if (rc)
				sp_buf_free(&y);
			else
				rc = rlist_put(todo[t].dst, nm, strlen(nm), take(&y), l->err);
		}
	return rc;
}

static const char *const top_keys[] = {"platform",   "api",  "meta",	     "compat",
				       "deprecated", "base", "requirements", NULL};

static int lower(low *l, sp_buf *out, const pkg__ynode *doc, const solver_result *env, pkg_repo *r)
{
	const pkg__ynode *api = pkg__ymap_get(doc, "api");
	bool v1 = api && api->type == PKG__Y_SCALAR && !strcmp(api->s, "v1/platform");
	for (size_t i = 0; i + 1 < doc->n; i += 2) {
		const pkg__ynode *k = doc->items[i];
		bool ok = false;
		for (size_t j = 0; top_keys[j] && !ok; j++)
			ok = k->type == PKG__Y_SCALAR && !strcmp(k->s, top_keys[j]);
		if (!ok)
			sp_warn("%s:%zu:%zu: unknown field '%s' in a platform (ignored)", l->file,
				k->line, k->col, k->type == PKG__Y_SCALAR ? k->s : "?");
	}
	const pkg__ynode *pf = pkg__ymap_get(doc, "platform");
	if (!pf)
		return fail(l, doc, "missing 'platform: name/version'");
	size_t nlen;
	const char *ver;
	int rc = ident(l, pf, "platform", &nlen, &ver);
	if (rc)
		return rc;
	/* bases: build options, and (building) what they pass on */
	const pkg__ynode *base = pkg__ymap_get(doc, "base");
	const pkg__ynode *const *bases = NULL;
	size_t nbases = 0;
	if (base && base->type == PKG__Y_SEQ) {
		bases = (const pkg__ynode *const *)base->items;
		nbases = base->n;
	} else if (base) {
		bases = &base;
		nbases = 1;
	}
	sp_buf opts = {0};
	for (size_t i = 0; i < nbases && !rc; i++) {
		size_t bl;
		const char *bv;
		if ((rc = ident(l, bases[i], "base", &bl, &bv)))
			break;
		rc = sp_buf_printf(&opts, l->err, "    - pkg: '%.*s'\n", (int)bl, bases[i]->s);
		if (!rc && bv)
			rc = sp_buf_printf(&opts, l->err, "      default: '=%s'\n", bv);
		if (!rc && env)
			rc = inherit(l, bases[i], bases[i]->s, bl, v1, env, r);
	}
	const pkg__ynode *reqs = pkg__ymap_get(doc, "requirements");
	if (!rc && reqs)
		rc = v1 ? v1_requirements(l, reqs) : v0_requirements(l, reqs);
	/* the recipe */
	if (!rc) {
		rc = sp_buf_printf(out, l->err, "pkg: ");
		if (!rc) {
			sp_buf id = {0};
			rc = sp_buf_printf(&id, l->err, "%.*s/%s", (int)nlen, pf->s,
					   ver ? ver : "0.0.0");
			if (!rc)
				rc = quoted(out, id.data, l->err);
			sp_buf_free(&id);
		}
		if (!rc)
			rc = sp_buf_printf(out, l->err, "\napi: v0/package\n");
	}
	const pkg__ynode *meta = pkg__ymap_get(doc, "meta");
	if (!rc && meta && meta->type == PKG__Y_MAP) {
		static const char *const mk[] = {"description", "homepage", "license"};
		bool any = false;
		for (size_t i = 0; i < 3 && !rc; i++) {
			const pkg__ynode *x = pkg__ymap_get(meta, mk[i]);
			if (!x || x->type != PKG__Y_SCALAR)
				continue;
			if (!any)
				rc = sp_buf_printf(out, l->err, "meta:\n");
			any = true;
			if (!rc)
				rc = sp_buf_printf(out, l->err, "  ");
			if (!rc)
				rc = kv(out, mk[i], x->s, l->err);
		}
	}
	static const char *const copied[] = {"compat", "deprecated"};
	for (size_t i = 0; i < 2 && !rc; i++) {
		const pkg__ynode *x = pkg__ymap_get(doc, copied[i]);
		if (!x)
			continue;
		if (x->type != PKG__Y_SCALAR)
			rc = fail(l, x, "%s: expected a value", copied[i]);
		else if (i == 1)
			rc = sp_buf_printf(out, l->err, "deprecated: %s\n", x->s);
		else
			rc = kv(out, copied[i], x->s, l->err);
	}
	if (!rc)
		rc = sp_buf_printf(out, l->err, "build:\n");
	if (!rc && opts.len)
		rc = sp_buf_printf(out, l->err, "  options:\n%.*s", (int)opts.len, opts.data);
	if (!rc)
		rc = sp_buf_printf(out, l->err, "  script: ''\n");
	bool comps = l->build.n || l->run.n;
	if (!rc && (l->install.n || comps))
		rc = sp_buf_printf(out, l->err, "install:\n");
	if (!rc && l->install.n) {
		rc = sp_buf_printf(out, l->err, "  requirements:\n");
		if (!rc)
			rc = emit_list(out, &l->install, 4, l->err);
	}
	if (!rc && comps) {
		rc = sp_buf_printf(out, l->err, "  components:\n    - name: build\n");
		if (!rc && l->build.n) {
			rc = sp_buf_printf(out, l->err, "      requirements:\n");
			if (!rc)
				rc = emit_list(out, &l->build, 8, l->err);
		}
		if (!rc)
			rc = sp_buf_printf(out, l->err, "    - name: run\n");
		if (!rc && l->run.n) {
			rc = sp_buf_printf(out, l->err, "      requirements:\n");
			if (!rc)
				rc = emit_list(out, &l->run, 8, l->err);
		}
	}
	sp_buf_free(&opts);
	return rc;
}

int pkg__platform_lower(sp_buf *out, const pkg__ynode *doc, const char *file,
			const solver_result *env, pkg_repo *r, sp_error *err)
{
	_cleanup_(solver_arena_freep) solver_arena *a = NULL;
	int rc = solver_arena_new(&a, err);
	if (rc)
		return rc;
	low l = {.file = file, .err = err, .a = a};
	if (doc->type != PKG__Y_MAP)
		rc = fail(&l, doc, "platform: expected a mapping");
	else
		rc = lower(&l, out, doc, env, r);
	rlist_free(&l.install);
	rlist_free(&l.build);
	rlist_free(&l.run);
	return rc;
}

int pkg__platform_doc(const char **text, size_t *len, pkg__ynode ***docs, size_t *ndocs,
		      const char *ptext, size_t plen, const char *file, const solver_result *env,
		      pkg_repo *r, solver_arena *a, sp_error *err)
{
	pkg__ynode **pd = NULL;
	size_t npd = 0;
	int rc = pkg__yaml_load(&pd, &npd, a, ptext, plen, file, &pkg_limits_default, err);
	if (!rc && npd != 1)
		rc = sp_error_set(err, SP_EINVALID, "%s: expected one platform document", file);
	sp_buf t = {0};
	if (!rc)
		rc = pkg__platform_lower(&t, pd[0], file, env, r, err);
	char *s = rc ? NULL : solver_arena_strndup(a, t.data, t.len, err);
	size_t n = t.len;
	sp_buf_free(&t);
	if (rc)
		return rc;
	if (!s)
		return err->code;
	if ((rc = pkg__yaml_load(docs, ndocs, a, s, n, file, &pkg_limits_default, err)))
		return rc;
	*text = s;
	*len = n;
	return 0;
}
