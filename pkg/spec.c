/* spec.c - SPK `api: v0/package` spec documents to pkg_spec / solver_build. */
#include "pkg/build_plan.h"
#include "pkg/platform.h"
#include "pkg/source.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

const pkg_limits pkg_limits_default = {
    .max_file = (size_t)4 << 20,
    .max_depth = 64,
    .max_nodes = 200000,
    .max_scalar = (size_t)1 << 20,
    .max_docs = 10000,
    .max_files = 200000,
    .max_dir_depth = 32,
};

typedef struct ctx {
	solver_arena *a;
	const char *file;
	sp_error *err;
	const solver_limits *sl;
} ctx;

typedef pkg__ynode ynode;

static int fail(ctx *c, const ynode *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(ctx *c, const ynode *n, const char *fmt, ...)
{
	char msg[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sp_error_set(c->err, SP_EINVALID, "%s:%zu:%zu: %s", c->file, n ? n->line : 0,
			    n ? n->col : 0, msg);
}

static const char *type_name(const ynode *n)
{
	return n->type == PKG__Y_MAP ? "a mapping" : n->type == PKG__Y_SEQ ? "a list" : "a value";
}

static int want(ctx *c, const ynode *n, int type, const char *what)
{
	if (n->type == type)
		return 0;
	return fail(c, n, "%s: expected %s, got %s", what,
		    type == PKG__Y_MAP	 ? "a mapping"
		    : type == PKG__Y_SEQ ? "a list"
					 : "a value",
		    type_name(n));
}

/* Warns about keys not in `known` (NULL-terminated). */
static void check_keys(ctx *c, const ynode *map, const char *where, const char *const *known)
{
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const ynode *k = map->items[i];
		bool ok = false;
		for (size_t j = 0; known[j] && !ok; j++)
			ok = k->type == PKG__Y_SCALAR && !strcmp(k->s, known[j]);
		if (!ok)
			sp_warn("%s:%zu:%zu: unknown field '%s' in %s (ignored)", c->file, k->line,
				k->col, k->type == PKG__Y_SCALAR ? k->s : "?", where);
	}
}

static int str(ctx *c, const ynode *n, const char *what, const char **out)
{
	int rc = want(c, n, PKG__Y_SCALAR, what);
	if (rc)
		return rc;
	*out = n->s;
	return 0;
}

static int boolean(ctx *c, const ynode *n, const char *what, bool *out)
{
	int rc = want(c, n, PKG__Y_SCALAR, what);
	if (rc)
		return rc;
	static const char *t[] = {"true", "True", "TRUE", "yes", "on", NULL};
	static const char *f[] = {"false", "False", "FALSE", "no", "off", "", NULL};
	for (size_t i = 0; t[i]; i++)
		if (!strcmp(n->s, t[i])) {
			*out = true;
			return 0;
		}
	for (size_t i = 0; f[i]; i++)
		if (!strcmp(n->s, f[i])) {
			*out = false;
			return 0;
		}
	return fail(c, n, "%s: expected true or false, got '%s'", what, n->s);
}

static void *arr(ctx *c, size_t n, size_t size)
{
	return solver_arena_array(c->a, n ? n : 1, size, c->err);
}

/* "name/version[/build]" */
static int parse_ident(ctx *c, const ynode *n, solver_build *b, pkg_kind *kind)
{
	const char *s;
	int rc = str(c, n, "pkg", &s);
	if (rc)
		return rc;
	const char *sl = strchr(s, '/');
	size_t nl = sl ? (size_t)(sl - s) : strlen(s);
	if (!solver_name_valid(s, nl))
		return fail(c, n,
			    "pkg: invalid package name '%.*s' (lowercase letters, digits "
			    "and '-', at most 64)",
			    (int)(nl > 80 ? 80 : nl), s);
	b->name = solver_arena_strndup(c->a, s, nl, c->err);
	if (!b->name)
		return c->err->code;
	*kind = PKG_RECIPE;
	if (!sl) {
		return solver_version_parse(&b->version, c->a, "0.0.0", 5, c->sl, c->err);
	}
	const char *vs = sl + 1;
	const char *sl2 = strchr(vs, '/');
	size_t vl = sl2 ? (size_t)(sl2 - vs) : strlen(vs);
	rc = solver_version_parse(&b->version, c->a, vs, vl, c->sl, c->err);
	if (rc)
		return sp_error_prefix(c->err, "%s:%zu:%zu: pkg", c->file, n->line, n->col);
	if (!sl2)
		return 0;
	const char *bs = sl2 + 1;
	size_t bl = strlen(bs);
	if (bl == 0 || bl > 64 || strchr(bs, '/'))
		return fail(c, n, "pkg: invalid build '%s'", bs);
	for (size_t i = 0; i < bl; i++)
		if (!((bs[i] >= 'A' && bs[i] <= 'Z') || (bs[i] >= '0' && bs[i] <= '9') ||
		      (bs[i] >= 'a' && bs[i] <= 'z')))
			return fail(c, n, "pkg: invalid build '%s'", bs);
	if (!strcmp(bs, "src")) {
		*kind = PKG_SOURCE;
		b->is_source = true;
	} else {
		*kind = PKG_BUILD;
	}
	b->build = solver_arena_strdup(c->a, bs, c->err);
	return b->build ? 0 : c->err->code;
}

static int str_list(ctx *c, const ynode *n, const char *what, const char *const **out, size_t *nout)
{
	int rc = want(c, n, PKG__Y_SEQ, what);
	if (rc)
		return rc;
	const char **v = arr(c, n->n, sizeof(*v));
	if (!v)
		return c->err->code;
	for (size_t i = 0; i < n->n; i++)
		if ((rc = str(c, n->items[i], what, &v[i])))
			return rc;
	*out = v;
	*nout = n->n;
	return 0;
}

static const char *const req_keys[] = {"pkg",	       "var",
				       "include",      "prereleasePolicy",
				       "fromBuildEnv", "ifPresentInBuildEnv",
				       "suppress",     "value",
				       "description",  NULL};

/* One entry of a requirements list. Returns 1 when the entry is skipped. */
static int parse_req(ctx *c, const ynode *n, solver_request *r, const char *where)
{
	int rc = want(c, n, PKG__Y_MAP, where);
	if (rc)
		return rc;
	check_keys(c, n, where, req_keys);
	const ynode *p = pkg__ymap_get(n, "pkg"), *v = pkg__ymap_get(n, "var");
	const ynode *fb = pkg__ymap_get(n, "fromBuildEnv");
	if (!p == !v)
		return fail(c, n, "%s: expected exactly one of 'pkg' or 'var'", where);
	/* ifPresentInBuildEnv: fromBuildEnv applies only when the package (or
	 * var) is in the build environment; without it, no requirement */
	const ynode *ip = pkg__ymap_get(n, "ifPresentInBuildEnv");
	bool if_present = false;
	if (ip && (rc = boolean(c, ip, "ifPresentInBuildEnv", &if_present)))
		return rc;
	if (v && pkg__ymap_get(n, "suppress")) {
		/* not a requirement: see collect_suppressed */
		const char *s;
		if ((rc = str(c, v, "var", &s)))
			return rc;
		if (strchr(s, '/') || strchr(s, '='))
			return fail(c, v, "var: a suppress request names the var only, got '%s'",
				    s);
		return 1;
	}
	if (p && pkg__ymap_get(n, "suppress"))
		return fail(c, n, "suppress: only a var request has it");
	if (v) {
		const char *s;
		if ((rc = str(c, v, "var", &s)))
			return rc;
		if (!strchr(s, '/') && !strchr(s, '=')) {
			const ynode *val = pkg__ymap_get(n, "value");
			if (val && val->type == PKG__Y_SCALAR) {
				sp_buf b = {0};
				rc = sp_buf_printf(&b, c->err, "%s/%s", s, val->s);
				if (!rc)
					rc = solver_request_parse_var(r, c->a, b.data, b.len, c->sl,
								      c->err);
				sp_buf_free(&b);
				return rc ? sp_error_prefix(c->err, "%s:%zu:%zu", c->file, v->line,
							    v->col)
					  : 0;
			}
			if (fb) {
				/* the value comes from the build (see docs/requests.md) */
				sp_buf b = {0};
				rc = sp_buf_printf(&b, c->err, "%s/-", s);
				if (!rc)
					rc = solver_request_parse_var(r, c->a, b.data, b.len, c->sl,
								      c->err);
				sp_buf_free(&b);
				if (rc)
					return sp_error_prefix(c->err, "%s:%zu:%zu", c->file,
							       v->line, v->col);
				r->value = "";
				r->text = s;
				r->from_build_env = true;
				r->if_present = if_present;
				r->pin = fb->type == PKG__Y_SCALAR ? fb->s : NULL;
				return 0;
			}
			return fail(c, v, "var: expected name/value, got '%s'", s);
		}
		rc = solver_request_parse_var(r, c->a, s, strlen(s), c->sl, c->err);
		return rc ? sp_error_prefix(c->err, "%s:%zu:%zu", c->file, v->line, v->col) : 0;
	}
	const char *s;
	if ((rc = str(c, p, "pkg", &s)))
		return rc;
	rc = solver_request_parse(r, c->a, s, strlen(s), SOLVER_COMPAT_BINARY, c->sl, c->err);
	if (rc)
		return sp_error_prefix(c->err, "%s:%zu:%zu", c->file, p->line, p->col);
	const ynode *inc = pkg__ymap_get(n, "include");
	if (inc) {
		const char *is;
		if ((rc = str(c, inc, "include", &is)))
			return rc;
		if (!strcmp(is, "IfAlreadyPresent"))
			r->include = SOLVER_INCLUDE_IF_PRESENT;
		else if (!strcmp(is, "Always"))
			r->include = SOLVER_INCLUDE_ALWAYS;
		else
			return fail(c, inc,
				    "include: expected Always or IfAlreadyPresent, got '%s'", is);
	}
	const ynode *pp = pkg__ymap_get(n, "prereleasePolicy");
	if (pp) {
		const char *ps;
		if ((rc = str(c, pp, "prereleasePolicy", &ps)))
			return rc;
		if (!strcmp(ps, "IncludeAll"))
			r->prerelease = SOLVER_PRERELEASE_INCLUDE;
		else if (!strcmp(ps, "ExcludeAll"))
			r->prerelease = SOLVER_PRERELEASE_EXCLUDE;
		else
			return fail(c, pp,
				    "prereleasePolicy: expected IncludeAll or ExcludeAll, got '%s'",
				    ps);
	}
	if (fb) {
		if (fb->type != PKG__Y_SCALAR)
			return fail(c, fb, "fromBuildEnv: expected a value");
		r->from_build_env = true;
		r->if_present = if_present;
		r->pin = fb->s;
	}
	return 0;
}

/* The var names of `suppress` requests in an install requirements list. */
static int collect_suppressed(ctx *c, const ynode *n, solver_build *b)
{
	const char **v = arr(c, n->n, sizeof(*v));
	if (!v)
		return c->err->code;
	size_t k = 0;
	for (size_t i = 0; i < n->n; i++) {
		const ynode *var = pkg__ymap_get(n->items[i], "var");
		if (var && var->type == PKG__Y_SCALAR && pkg__ymap_get(n->items[i], "suppress"))
			v[k++] = var->s;
	}
	b->suppressed = v;
	b->nsuppressed = k;
	return 0;
}

static int parse_reqs(ctx *c, const ynode *n, const char *where, const solver_request **out,
		      size_t *nout)
{
	int rc = want(c, n, PKG__Y_SEQ, where);
	if (rc)
		return rc;
	solver_request *v = arr(c, n->n, sizeof(*v));
	if (!v)
		return c->err->code;
	size_t k = 0;
	for (size_t i = 0; i < n->n; i++) {
		rc = parse_req(c, n->items[i], &v[k], where);
		if (rc < 0)
			return rc;
		if (rc == 0)
			v[k++].line = n->items[i]->line;
	}
	*out = v;
	*nout = k;
	return 0;
}

static const char *const embed_keys[] = {"pkg",	   "api",	 "install", "build", "meta",
					 "compat", "deprecated", "sources", "tests", NULL};

static int parse_embedded(ctx *c, const ynode *n, const solver_embedded **out, size_t *nout)
{
	int rc = want(c, n, PKG__Y_SEQ, "embedded");
	if (rc)
		return rc;
	solver_embedded *v = arr(c, n->n, sizeof(*v));
	if (!v)
		return c->err->code;
	for (size_t i = 0; i < n->n; i++) {
		const ynode *e = n->items[i];
		if ((rc = want(c, e, PKG__Y_MAP, "embedded entry")))
			return rc;
		check_keys(c, e, "an embedded package", embed_keys);
		const ynode *p = pkg__ymap_get(e, "pkg");
		if (!p)
			return fail(c, e, "embedded: each entry needs 'pkg: name/version'");
		solver_build tmp = {0};
		pkg_kind kind;
		if ((rc = parse_ident(c, p, &tmp, &kind)))
			return rc;
		if (kind != PKG_RECIPE && strcmp(tmp.build, "embedded"))
			return fail(c, p, "embedded: expected name/version, got a build");
		v[i].name = tmp.name;
		v[i].version = tmp.version;
		const ynode *comps = pkg__ymap_get(pkg__ymap_get(e, "install"), "components");
		if (comps) {
			if ((rc = want(c, comps, PKG__Y_SEQ, "embedded components")))
				return rc;
			const char **names = arr(c, comps->n, sizeof(*names));
			if (!names)
				return c->err->code;
			for (size_t k = 0; k < comps->n; k++) {
				const ynode *nm = pkg__ymap_get(comps->items[k], "name");
				if (!nm)
					return fail(c, comps->items[k],
						    "component: missing 'name'");
				if ((rc = str(c, nm, "name", &names[k])))
					return rc;
			}
			v[i].components = names;
			v[i].ncomponents = comps->n;
		}
	}
	*out = v;
	*nout = n->n;
	return 0;
}

static const char *const comp_keys[] = {
    "name", "files", "uses", "requirements", "embedded", "file_match_mode", "description", NULL};

static int parse_components(ctx *c, const ynode *n, solver_build *b)
{
	int rc = want(c, n, PKG__Y_SEQ, "components");
	if (rc)
		return rc;
	if (n->n > 62)
		return fail(c, n, "components: more than 62 components");
	solver_component *v = arr(c, n->n + 2, sizeof(*v));
	if (!v)
		return c->err->code;
	size_t k = 0;
	for (size_t i = 0; i < n->n; i++) {
		const ynode *e = n->items[i];
		if ((rc = want(c, e, PKG__Y_MAP, "component")))
			return rc;
		check_keys(c, e, "a component", comp_keys);
		const ynode *nm = pkg__ymap_get(e, "name");
		if (!nm)
			return fail(c, e, "component: missing 'name'");
		if ((rc = str(c, nm, "name", &v[k].name)))
			return rc;
		for (size_t j = 0; j < k; j++)
			if (!strcmp(v[j].name, v[k].name))
				return fail(c, nm, "component '%s' is defined twice", v[k].name);
		const ynode *x;
		if ((x = pkg__ymap_get(e, "uses")) &&
		    (rc = str_list(c, x, "uses", &v[k].uses, &v[k].nuses)))
			return rc;
		if ((x = pkg__ymap_get(e, "files")) && (rc = want(c, x, PKG__Y_SEQ, "files")))
			return rc;
		if ((x = pkg__ymap_get(e, "requirements")) &&
		    (rc = parse_reqs(c, x, "component requirements", &v[k].reqs, &v[k].nreqs)))
			return rc;
		if ((x = pkg__ymap_get(e, "embedded")) &&
		    (rc = parse_embedded(c, x, &v[k].embedded, &v[k].nembedded)))
			return rc;
		k++;
	}
	for (size_t i = 0; i < k; i++)
		for (size_t u = 0; u < v[i].nuses; u++) {
			bool found = false;
			for (size_t j = 0; j < k; j++)
				found = found || !strcmp(v[j].name, v[i].uses[u]);
			if (!found)
				return fail(c, n, "component '%s' uses '%s', which is not defined",
					    v[i].name, v[i].uses[u]);
		}
	b->components = v;
	b->ncomponents = k;
	return 0;
}

static int ensure_default_components(ctx *c, solver_build *b)
{
	bool has_build = false, has_run = false;
	for (size_t i = 0; i < b->ncomponents; i++) {
		has_build = has_build || !strcmp(b->components[i].name, "build");
		has_run = has_run || !strcmp(b->components[i].name, "run");
	}
	if (has_build && has_run)
		return 0;
	solver_component *v = arr(c, b->ncomponents + 2, sizeof(*v));
	if (!v)
		return c->err->code;
	size_t k = 0;
	if (!has_build)
		v[k++].name = "build";
	if (!has_run)
		v[k++].name = "run";
	for (size_t i = 0; i < b->ncomponents; i++)
		v[k++] = b->components[i];
	b->components = v;
	b->ncomponents = k;
	return 0;
}

static const char *const opt_keys[] = {
    "var",	   "pkg",    "default",		 "choices", "inheritance", "static", "required",
    "description", "compat", "prereleasePolicy", "value",   "components",  NULL};

static int scalar_text(ctx *c, const ynode *n, const char *what, const char **out)
{
	return str(c, n, what, out);
}

static int parse_options(ctx *c, const ynode *n, solver_build *b, pkg_spec *spec)
{
	int rc = want(c, n, PKG__Y_SEQ, "build.options");
	if (rc)
		return rc;
	solver_option *opts = arr(c, n->n, sizeof(*opts));
	pkg_option_decl *decls = arr(c, n->n, sizeof(*decls));
	solver_request *breqs = arr(c, n->n, sizeof(*breqs));
	if (!opts || !decls || !breqs)
		return c->err->code;
	size_t nb = 0;
	for (size_t i = 0; i < n->n; i++) {
		const ynode *e = n->items[i];
		if ((rc = want(c, e, PKG__Y_MAP, "build option")))
			return rc;
		check_keys(c, e, "a build option", opt_keys);
		const ynode *var = pkg__ymap_get(e, "var"), *pkgn = pkg__ymap_get(e, "pkg");
		if (!var == !pkgn)
			return fail(c, e, "build option: expected exactly one of 'var' or 'pkg'");
		const ynode *which = var ? var : pkgn;
		const char *s;
		if ((rc = str(c, which, var ? "var" : "pkg", &s)))
			return rc;
		const char *sl = strchr(s, '/');
		size_t nl = sl ? (size_t)(sl - s) : strlen(s);
		const char *name = solver_arena_strndup(c->a, s, nl, c->err);
		if (!name)
			return c->err->code;
		if (nl == 0)
			return fail(c, which, "build option: empty name");
		if (pkgn) {
			const char *colon = memchr(s, ':', nl);
			size_t pl = colon ? (size_t)(colon - s) : nl;
			if (!solver_name_valid(s, pl))
				return fail(c, which, "build option: invalid package name '%.*s'",
					    (int)(pl > 80 ? 80 : pl), s);
			name = solver_arena_strndup(c->a, s, pl, c->err);
			if (!name)
				return c->err->code;
		}
		const char *value = sl ? sl + 1 : "";
		const ynode *x;
		if (!sl && (x = pkg__ymap_get(e, "default")) &&
		    (rc = scalar_text(c, x, "default", &value)))
			return rc;
		if (!sl && (x = pkg__ymap_get(e, "value")) &&
		    (rc = scalar_text(c, x, "value", &value)))
			return rc;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(opts[j].name, name))
				return fail(c, which, "build option '%s' is declared twice", name);
		opts[i].name = decls[i].name = name;
		opts[i].is_pkg = decls[i].is_pkg = pkgn != NULL;
		decls[i].default_value = value;
		decls[i].inheritance = "Weak";
		if ((x = pkg__ymap_get(e, "static"))) {
			if ((rc = scalar_text(c, x, "static", &decls[i].static_value)))
				return rc;
			value = decls[i].static_value;
			opts[i].is_static = true;
		}
		opts[i].value = value;
		if ((x = pkg__ymap_get(e, "choices"))) {
			if ((rc = str_list(c, x, "choices", &decls[i].choices, &decls[i].nchoices)))
				return rc;
			opts[i].choices = decls[i].choices;
			opts[i].nchoices = decls[i].nchoices;
			bool ok = !*value;
			for (size_t k = 0; k < decls[i].nchoices; k++)
				ok = ok || !strcmp(decls[i].choices[k], value);
			if (!ok)
				return fail(c, which,
					    "build option '%s': '%s' is not one of its choices",
					    name, value);
		}
		if ((x = pkg__ymap_get(e, "inheritance"))) {
			if ((rc = scalar_text(c, x, "inheritance", &decls[i].inheritance)))
				return rc;
			if (strcmp(decls[i].inheritance, "Weak") &&
			    strcmp(decls[i].inheritance, "Strong") &&
			    strcmp(decls[i].inheritance, "StrongForBuildOnly"))
				return fail(c, x,
					    "inheritance: expected Weak, Strong or "
					    "StrongForBuildOnly, got '%s'",
					    decls[i].inheritance);
		}
		if ((x = pkg__ymap_get(e, "required")) &&
		    (rc = boolean(c, x, "required", &decls[i].required)))
			return rc;
		opts[i].required = decls[i].required;
		opts[i].inheritance = !strcmp(decls[i].inheritance, "Strong")
					  ? SOLVER_INHERIT_STRONG
				      : !strcmp(decls[i].inheritance, "StrongForBuildOnly")
					  ? SOLVER_INHERIT_STRONG_BUILD
					  : SOLVER_INHERIT_WEAK;
		if (pkgn) {
			sp_buf t = {0};
			rc = sp_buf_printf(&t, c->err, "%.*s%s%s", (int)nl, s, *value ? "/" : "",
					   value);
			if (!rc)
				rc = solver_request_parse(&breqs[nb], c->a, t.data, t.len,
							  SOLVER_COMPAT_API, c->sl, c->err);
			sp_buf_free(&t);
			if (rc)
				return sp_error_prefix(c->err, "%s:%zu:%zu: build option", c->file,
						       which->line, which->col);
			breqs[nb].line = which->line;
			/* SPK: a build environment gets a package's build
			 * component unless the option names components */
			static const char *const build_comp[] = {"build"};
			if (!breqs[nb].ncomponents && !breqs[nb].build) {
				breqs[nb].components = build_comp;
				breqs[nb].ncomponents = 1;
			}
			nb++;
		}
	}
	b->options = opts;
	b->noptions = n->n;
	b->build_reqs = breqs;
	b->nbuild_reqs = nb;
	spec->decls = decls;
	spec->ndecls = n->n;
	return 0;
}

static const char *const build_keys[] = {"options",	   "variants", "script", "validation",
					 "auto_host_vars", "test",     NULL};

static int join_script(ctx *c, const ynode *n, const char *what, const char **out)
{
	if (n->type == PKG__Y_SCALAR) {
		*out = n->s;
		return 0;
	}
	int rc = want(c, n, PKG__Y_SEQ, what);
	if (rc)
		return rc;
	sp_buf b = {0};
	for (size_t i = 0; i < n->n && !rc; i++) {
		const char *s;
		rc = str(c, n->items[i], what, &s);
		if (!rc)
			rc = sp_buf_printf(&b, c->err, "%s\n", s);
	}
	if (!rc)
		*out = solver_arena_strdup(c->a, b.data ? b.data : "", c->err);
	sp_buf_free(&b);
	if (!rc && !*out)
		rc = c->err->code;
	return rc;
}

static int parse_build(ctx *c, const ynode *n, solver_build *b, pkg_spec *spec)
{
	int rc = want(c, n, PKG__Y_MAP, "build");
	if (rc)
		return rc;
	check_keys(c, n, "build", build_keys);
	const ynode *x;
	if ((x = pkg__ymap_get(n, "options")) && (rc = parse_options(c, x, b, spec)))
		return rc;
	if ((x = pkg__ymap_get(n, "variants"))) {
		if ((rc = want(c, x, PKG__Y_SEQ, "build.variants")))
			return rc;
		for (size_t i = 0; i < x->n; i++)
			if ((rc = want(c, x->items[i], PKG__Y_MAP, "variant")))
				return rc;
		spec->nvariants = x->n;
	}
	if ((x = pkg__ymap_get(n, "script")) &&
	    (rc = join_script(c, x, "build.script", &spec->script)))
		return rc;
	if ((x = pkg__ymap_get(n, "validation")) &&
	    ((rc = want(c, x, PKG__Y_MAP, "build.validation")) ||
	     (rc = pkg__validation_check(x, c->file, c->err))))
		return rc;
	if ((x = pkg__ymap_get(n, "auto_host_vars"))) {
		const char *s;
		if ((rc = str(c, x, "auto_host_vars", &s)))
			return rc;
		if (strcmp(s, "Distro") && strcmp(s, "Arch") && strcmp(s, "Os") &&
		    strcmp(s, "None"))
			return fail(
			    c, x, "auto_host_vars: expected Distro, Arch, Os or None, got '%s'", s);
	}
	return 0;
}

static const char *const env_keys[] = {"set",	    "append",	"prepend", "value",
				       "separator", "priority", "comment", NULL};

static int parse_env(ctx *c, const ynode *n, pkg_spec *spec)
{
	int rc = want(c, n, PKG__Y_SEQ, "install.environment");
	if (rc)
		return rc;
	pkg_env_op *ops = arr(c, n->n, sizeof(*ops));
	if (!ops)
		return c->err->code;
	for (size_t i = 0; i < n->n; i++) {
		const ynode *e = n->items[i];
		if ((rc = want(c, e, PKG__Y_MAP, "environment operation")))
			return rc;
		check_keys(c, e, "an environment operation", env_keys);
		static const char *kinds[] = {"set", "append", "prepend", "priority", "comment"};
		const ynode *which = NULL;
		for (size_t k = 0; k < 5; k++) {
			const ynode *x = pkg__ymap_get(e, kinds[k]);
			if (!x)
				continue;
			if (which)
				return fail(c, e,
					    "environment operation: more than one of set, append, "
					    "prepend, priority, comment");
			which = x;
			ops[i].op = kinds[k];
		}
		if (!which)
			return fail(c, e,
				    "environment operation: expected one of set, append, "
				    "prepend, priority, comment");
		if ((rc = str(c, which, ops[i].op, &ops[i].var)))
			return rc;
		if (!strcmp(ops[i].op, "priority")) {
			char *end;
			long v = strtol(which->s, &end, 10);
			if (*end || end == which->s || v < 0 || v > 99)
				return fail(c, which, "priority: expected a number from 0 to 99");
			continue;
		}
		if (!strcmp(ops[i].op, "comment"))
			continue;
		const ynode *v = pkg__ymap_get(e, "value");
		if (!v)
			return fail(c, e, "%s %s: missing 'value'", ops[i].op, ops[i].var);
		if ((rc = str(c, v, "value", &ops[i].value)))
			return rc;
		const ynode *sep = pkg__ymap_get(e, "separator");
		if (sep && (rc = str(c, sep, "separator", &ops[i].separator)))
			return rc;
	}
	spec->env = ops;
	spec->nenv = n->n;
	return 0;
}

static const char *const source_keys[] = {"path",   "git", "tar",   "script", "subdir", "exclude",
					  "filter", "ref", "depth", "sha256", NULL};

/* One entry of `sources`: exactly one of path, git, tar, script; the
 * fields that go with it (see docs/spec.md). Paths are checked against
 * the file system when the sources are collected (pkg/source.c). */
static int parse_source(ctx *c, const ynode *e, pkg_source_decl *sd)
{
	int rc = want(c, e, PKG__Y_MAP, "source");
	if (rc)
		return rc;
	check_keys(c, e, "a source", source_keys);
	static const char *const kinds[] = {"path", "git", "tar", "script"};
	const ynode *which = NULL;
	for (size_t k = 0; k < 4; k++) {
		const ynode *x = pkg__ymap_get(e, kinds[k]);
		if (!x)
			continue;
		if (which)
			return fail(c, e, "source: more than one of path, git, tar, script");
		which = x;
		sd->kind = (pkg_source_kind)(k + 1);
	}
	if (!which)
		return fail(c, e, "source: expected one of path, git, tar, script");
	sd->line = e->line;
	sd->col = e->col;
	sd->depth = 1;
	if (sd->kind == PKG_SRC_SCRIPT)
		rc = join_script(c, which, "source script", &sd->value);
	else
		rc = str(c, which, kinds[sd->kind - 1], &sd->value);
	if (rc)
		return rc;
	if (!sd->value[0])
		return fail(c, which, "%s: empty", kinds[sd->kind - 1]);
	const ynode *x;
	if ((x = pkg__ymap_get(e, "subdir"))) {
		char why[200];
		if ((rc = str(c, x, "subdir", &sd->subdir)))
			return rc;
		if (pkg__source_check_path(sd->subdir, why, sizeof(why)))
			return fail(c, x, "subdir '%s': %s", sd->subdir, why);
	}
	/* fields of one kind named on another are mistakes, not unknowns */
	static const struct {
		const char *key;
		pkg_source_kind kind;
	} own[] = {{"exclude", PKG_SRC_PATH},
		   {"filter", PKG_SRC_PATH},
		   {"ref", PKG_SRC_GIT},
		   {"depth", PKG_SRC_GIT},
		   {"sha256", PKG_SRC_TAR}};
	for (size_t k = 0; k < sizeof(own) / sizeof(own[0]); k++)
		if ((x = pkg__ymap_get(e, own[k].key)) && own[k].kind != sd->kind)
			return fail(c, x, "%s: only a %s source has it", own[k].key,
				    kinds[own[k].kind - 1]);
	if ((x = pkg__ymap_get(e, "ref")) && (rc = str(c, x, "ref", &sd->ref)))
		return rc;
	if (sd->ref && (!sd->ref[0] || sd->ref[0] == '-'))
		return fail(c, x, "ref: expected a branch or tag name, got '%s'", sd->ref);
	if ((x = pkg__ymap_get(e, "sha256"))) {
		if ((rc = str(c, x, "sha256", &sd->sha256)))
			return rc;
		if (strlen(sd->sha256) != SP_DIGEST_HEX_LEN ||
		    !sp_digest_is_hex(sd->sha256, SP_DIGEST_HEX_LEN))
			return fail(c, x,
				    "sha256: expected 64 lowercase hex characters, got '%.80s'",
				    sd->sha256);
	}
	if ((x = pkg__ymap_get(e, "depth"))) {
		const char *s;
		if ((rc = str(c, x, "depth", &s)))
			return rc;
		char *end;
		errno = 0;
		long v = strtol(s, &end, 10);
		if (errno || *end || end == s || v < 1 || v > 1000000)
			return fail(c, x, "depth: expected a number from 1 to 1000000, got '%s'",
				    s);
		sd->depth = (unsigned)v;
	}
	sd->nexclude = (size_t)-1;
	sd->nfilter = (size_t)-1;
	if ((x = pkg__ymap_get(e, "exclude")) &&
	    (rc = str_list(c, x, "exclude", &sd->exclude, &sd->nexclude)))
		return rc;
	if ((x = pkg__ymap_get(e, "filter"))) {
		if ((rc = str_list(c, x, "filter", &sd->filter, &sd->nfilter)))
			return rc;
		for (size_t i = 0; i < sd->nfilter; i++) {
			const char *f = sd->filter[i];
			bool ok = (!strncmp(f, ":- ", 3) && f[3] && !strchr(f + 3, '/')) ||
				  ((f[0] == '-' || f[0] == '+') && f[1] == ' ' && f[2]);
			if (!ok)
				return fail(c, x->items[i],
					    "filter: '%s' is not a supported rule (\":- FILE\", "
					    "\"- PATTERN\" or \"+ PATTERN\")",
					    f);
		}
	}
	return 0;
}

static int parse_sources(ctx *c, const ynode *n, pkg_spec *spec)
{
	int rc = want(c, n, PKG__Y_SEQ, "sources");
	if (rc)
		return rc;
	if (n->n > 1000)
		return fail(c, n, "sources: at most 1000 entries");
	pkg_source_decl *v = arr(c, n->n, sizeof(*v));
	if (!v)
		return c->err->code;
	for (size_t i = 0; i < n->n; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		if ((rc = parse_source(c, n->items[i], &v[i])))
			return rc;
	}
	spec->sources = v;
	spec->nsources = n->n;
	spec->has_sources = true;
	return 0;
}

static const char *const test_keys[] = {"stage", "script", "selectors", "requirements", NULL};

static int parse_test(ctx *c, const ynode *e, pkg_test_decl *t)
{
	int rc = want(c, e, PKG__Y_MAP, "test");
	if (rc)
		return rc;
	check_keys(c, e, "a test", test_keys);
	t->line = e->line;
	t->col = e->col;
	const ynode *st = pkg__ymap_get(e, "stage"), *sc = pkg__ymap_get(e, "script"), *x;
	if (!st)
		return fail(c, e, "test: missing 'stage' (sources, build or install)");
	const char *s;
	if ((rc = str(c, st, "stage", &s)))
		return rc;
	t->stage = !strcmp(s, "sources")   ? PKG_TEST_SOURCES
		   : !strcmp(s, "build")   ? PKG_TEST_BUILD
		   : !strcmp(s, "install") ? PKG_TEST_INSTALL
					   : 0;
	if (!t->stage)
		return fail(c, st, "stage: expected sources, build or install, got '%s'", s);
	if (!sc)
		return fail(c, e, "test: missing 'script'");
	if ((rc = join_script(c, sc, "test script", &t->script)))
		return rc;
	if ((x = pkg__ymap_get(e, "selectors"))) {
		if ((rc = want(c, x, PKG__Y_SEQ, "selectors")))
			return rc;
		pkg_test_selector *v = arr(c, x->n, sizeof(*v));
		if (!v)
			return c->err->code;
		for (size_t i = 0; i < x->n; i++) {
			const ynode *m = x->items[i];
			if ((rc = want(c, m, PKG__Y_MAP, "selector")))
				return rc;
			const char **names = arr(c, m->n / 2, sizeof(*names));
			const char **values = arr(c, m->n / 2, sizeof(*values));
			if (!names || !values)
				return c->err->code;
			for (size_t k = 0; k + 1 < m->n; k += 2)
				if ((rc = str(c, m->items[k], "selector", &names[k / 2])) ||
				    (rc =
					 str(c, m->items[k + 1], "selector value", &values[k / 2])))
					return rc;
			v[i] = (pkg_test_selector){names, values, m->n / 2};
		}
		t->selectors = v;
		t->nselectors = x->n;
	}
	if ((x = pkg__ymap_get(e, "requirements")) &&
	    (rc = parse_reqs(c, x, "test requirements", &t->reqs, &t->nreqs)))
		return rc;
	return 0;
}

static int parse_tests(ctx *c, const ynode *n, pkg_spec *spec)
{
	int rc = want(c, n, PKG__Y_SEQ, "tests");
	if (rc)
		return rc;
	pkg_test_decl *v = arr(c, n->n, sizeof(*v));
	if (!v)
		return c->err->code;
	for (size_t i = 0; i < n->n; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		if ((rc = parse_test(c, n->items[i], &v[i])))
			return rc;
	}
	spec->tests = v;
	spec->ntests = n->n;
	return 0;
}

static const char *const install_keys[] = {"requirements", "embedded", "components", "environment",
					   NULL};
static const char *const top_keys[] = {"pkg",	  "api",   "meta",    "compat", "deprecated",
				       "sources", "build", "install", "tests",	NULL};
static const char *const meta_keys[] = {"description", "homepage", "license", "labels", NULL};

static int parse_doc(ctx *c, const ynode *d, pkg_spec *spec);

/* A platform document: the recipe it stands for, parsed; positions and
 * origin stay the platform document's. */
static int parse_platform(ctx *c, const ynode *d, pkg_spec *spec)
{
	sp_buf t = {0};
	int rc = pkg__platform_lower(&t, d, c->file, NULL, NULL, c->err);
	char *text = rc ? NULL : solver_arena_strndup(c->a, t.data, t.len, c->err);
	size_t len = t.len;
	sp_buf_free(&t);
	if (rc)
		return rc;
	if (!text)
		return c->err->code;
	ynode **docs = NULL;
	size_t ndocs = 0;
	if ((rc = pkg__yaml_load(&docs, &ndocs, c->a, text, len, c->file, &pkg_limits_default,
				 c->err)))
		return sp_error_prefix(c->err, "the recipe of the platform at line %zu", d->line);
	if (ndocs != 1)
		return fail(c, d, "platform: cannot make its recipe");
	if ((rc = parse_doc(c, docs[0], spec)))
		return sp_error_prefix(c->err, "the recipe of the platform at line %zu", d->line);
	spec->line = d->line;
	spec->column = d->col;
	spec->platform = true;
	const ynode *pf = pkg__ymap_get(d, "platform");
	char origin[512];
	snprintf(origin, sizeof(origin), "%s:%zu", c->file, pf ? pf->line : d->line);
	spec->build.origin = solver_arena_strdup(c->a, origin, c->err);
	return spec->build.origin ? 0 : c->err->code;
}

static int parse_doc(ctx *c, const ynode *d, pkg_spec *spec)
{
	int rc = want(c, d, PKG__Y_MAP, "spec");
	if (rc)
		return rc;
	solver_build *b = &spec->build;
	spec->line = d->line;
	spec->column = d->col;
	spec->file = c->file;
	const ynode *x = pkg__ymap_get(d, "api");
	if (x && x->type == PKG__Y_SCALAR && pkg__is_platform_api(x->s))
		return parse_platform(c, d, spec);
	check_keys(c, d, "the spec", top_keys);
	if (x) {
		const char *api;
		if ((rc = str(c, x, "api", &api)))
			return rc;
		if (!strcmp(api, "v0/workspace"))
			return fail(c, x,
				    "a workspace file (which recipes a repository holds), not a "
				    "spec: give it to spk solve --workspace");
		if (strcmp(api, "v0/package"))
			return fail(c, x,
				    "api: expected v0/package, v0/platform or v1/platform, got "
				    "'%s'",
				    api);
	}
	const ynode *p = pkg__ymap_get(d, "pkg");
	if (!p)
		return fail(c, d, "missing 'pkg: name/version'");
	if ((rc = parse_ident(c, p, b, &spec->kind)))
		return rc;
	char origin[512];
	snprintf(origin, sizeof(origin), "%s:%zu", c->file, p->line);
	b->origin = solver_arena_strdup(c->a, origin, c->err);
	if (!b->origin)
		return c->err->code;
	/* a spec file is edited where it is; a published spec's text says
	 * where it came from (pkg__spec_origin_read) */
	b->where.file = c->file;
	b->where.lines = true;
	if ((x = pkg__ymap_get(d, "meta"))) {
		if ((rc = want(c, x, PKG__Y_MAP, "meta")))
			return rc;
		check_keys(c, x, "meta", meta_keys);
		const ynode *ds = pkg__ymap_get(x, "description");
		if (ds && (rc = str(c, ds, "description", &spec->description)))
			return rc;
	}
	if ((x = pkg__ymap_get(d, "compat"))) {
		const char *s;
		if ((rc = str(c, x, "compat", &s)))
			return rc;
		if ((rc = solver_compat_parse(&b->compat, c->a, s, strlen(s), c->sl, c->err)))
			return sp_error_prefix(c->err, "%s:%zu:%zu", c->file, x->line, x->col);
	}
	if ((x = pkg__ymap_get(d, "deprecated")) &&
	    (rc = boolean(c, x, "deprecated", &b->deprecated)))
		return rc;
	if ((x = pkg__ymap_get(d, "sources")) && (rc = parse_sources(c, x, spec)))
		return rc;
	if ((x = pkg__ymap_get(d, "build")) && (rc = parse_build(c, x, b, spec)))
		return rc;
	const ynode *inst = pkg__ymap_get(d, "install");
	if (inst) {
		if ((rc = want(c, inst, PKG__Y_MAP, "install")))
			return rc;
		check_keys(c, inst, "install", install_keys);
		if ((x = pkg__ymap_get(inst, "requirements")) &&
		    ((rc = parse_reqs(c, x, "install.requirements", &b->reqs, &b->nreqs)) ||
		     (rc = collect_suppressed(c, x, b))))
			return rc;
		if ((x = pkg__ymap_get(inst, "embedded")) &&
		    (rc = parse_embedded(c, x, &b->embedded, &b->nembedded)))
			return rc;
		if ((x = pkg__ymap_get(inst, "components")) && (rc = parse_components(c, x, b)))
			return rc;
		if ((x = pkg__ymap_get(inst, "environment")) && (rc = parse_env(c, x, spec)))
			return rc;
	}
	if ((rc = ensure_default_components(c, b)))
		return rc;
	if ((x = pkg__ymap_get(d, "tests")) && (rc = parse_tests(c, x, spec)))
		return rc;
	if (spec->kind == PKG_SOURCE) {
		/* a source package brings nothing at run time */
		b->reqs = NULL;
		b->nreqs = 0;
		b->embedded = NULL;
		b->nembedded = 0;
	}
	if (spec->kind == PKG_RECIPE) {
		char id[9];
		if ((rc = pkg_build_id(id, b->options, b->noptions, c->err)))
			return rc;
		b->build = solver_arena_strdup(c->a, id, c->err);
		if (!b->build)
			return c->err->code;
		b->is_recipe = true;
	}
	return 0;
}

int pkg_spec_parse(pkg_spec ***out, size_t *n, solver_arena *a, const char *text, size_t len,
		   const char *file, const pkg_limits *lim, sp_error *err)
{
	if (!lim)
		lim = &pkg_limits_default;
	*out = NULL;
	*n = 0;
	pkg__ynode **docs;
	size_t ndocs;
	int rc = pkg__yaml_load(&docs, &ndocs, a, text, len, file, lim, err);
	if (rc)
		return rc;
	pkg_spec **specs = solver_arena_array(a, ndocs ? ndocs : 1, sizeof(*specs), err);
	if (!specs)
		return err->code;
	ctx c = {.a = a, .file = file, .err = err, .sl = &solver_limits_default};
	size_t k = 0;
	for (size_t i = 0; i < ndocs; i++) {
		/* an empty document ("---" alone) is skipped */
		if (docs[i]->type == PKG__Y_SCALAR && docs[i]->len == 0)
			continue;
		pkg_spec *s = solver_arena_alloc(a, sizeof(*s), err);
		if (!s)
			return err->code;
		if ((rc = parse_doc(&c, docs[i], s)))
			return rc;
		specs[k++] = s;
	}
	*out = specs;
	*n = k;
	return 0;
}

static int opt_cmp(const void *pa, const void *pb)
{
	const solver_option *a = *(const solver_option *const *)pa;
	const solver_option *b = *(const solver_option *const *)pb;
	return strcmp(a->name, b->name);
}

int pkg_build_id(char id[9], const solver_option *opts, size_t nopts, sp_error *err)
{
	const solver_option **sorted = calloc(nopts ? nopts : 1, sizeof(*sorted));
	if (!sorted)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	for (size_t i = 0; i < nopts; i++)
		sorted[i] = &opts[i];
	qsort(sorted, nopts, sizeof(*sorted), opt_cmp);
	sp_buf b = {0};
	int rc = 0;
	for (size_t i = 0; i < nopts && !rc; i++)
		rc = sp_buf_printf(&b, err, "%s=%s\n", sorted[i]->name, sorted[i]->value);
	free(sorted);
	sp_digest d;
	if (!rc)
		rc = sp_digest_buf(&d, b.data ? b.data : "", b.len, err);
	sp_buf_free(&b);
	if (rc)
		return rc;
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint64_t bits = 0;
	for (int i = 0; i < 5; i++)
		bits = bits << 8 | d.bytes[i];
	for (int i = 0; i < 8; i++)
		id[i] = alpha[(bits >> (35 - 5 * i)) & 31];
	id[8] = '\0';
	return 0;
}

#define ORIGIN_MARK "# spk-origin: "

int pkg__origin_comment(sp_buf *out, const pkg_spec *spec, bool lines, sp_error *err)
{
	const solver_build *b = &spec->build;
	if (!b->where.file)
		return 0;
	/* a recipe read from the store passes on the origin it records */
	const char *file = b->where.file;
	_cleanup_free_ char *abs = NULL;
	if (!b->where.published && (abs = realpath(file, NULL)))
		file = abs;
	if (strchr(file, '\n'))
		return 0; /* cannot be written on one comment line */
	long line = (long)spec->line + (b->where.published ? b->where.shift : 0);
	if (lines && b->where.lines && line > 0)
		return sp_buf_printf(out, err, ORIGIN_MARK "%s:%ld\n", file, line);
	return sp_buf_printf(out, err, ORIGIN_MARK "%s\n", file);
}

int pkg__with_origin(sp_buf *out, const pkg_spec *spec, bool lines, const char *text, size_t len,
		     sp_error *err)
{
	int rc = pkg__origin_comment(out, spec, lines, err);
	return rc ? rc : sp_buf_append(out, text ? text : "", len, err);
}

int pkg__origin_read(solver_build *b, solver_arena *a, const char *text, size_t len, sp_error *err)
{
	b->where.file = NULL;
	b->where.lines = false;
	b->where.shift = 0;
	b->where.published = true;
	size_t ml = strlen(ORIGIN_MARK);
	if (len <= ml || memcmp(text, ORIGIN_MARK, ml))
		return 0;
	const char *s = text + ml, *nl = memchr(s, '\n', len - ml);
	size_t n = nl ? (size_t)(nl - s) : len - ml;
	/* FILE:LINE, where FILE may hold ':' itself */
	const char *colon = n ? memrchr(s, ':', n) : NULL;
	long line = 0;
	if (colon && colon > s && colon + 1 < s + n) {
		const char *p = colon + 1;
		for (; p < s + n && *p >= '0' && *p <= '9' && line < INT_MAX; p++)
			line = line * 10 + (*p - '0');
		if (p == s + n && line > 0) {
			n = (size_t)(colon - s);
			b->where.lines = true;
			b->where.shift = line - 2; /* the text's line 2 is the recipe's `line` */
		}
	}
	if (n == 0 || memchr(s, '\0', n)) {
		b->where.lines = false;
		return 0;
	}
	b->where.file = solver_arena_strndup(a, s, n, err);
	return b->where.file ? 0 : err->code;
}
