/* build_plan.c - a build's plan as data (see build_plan.h): option values,
 * host options, the build environment's requests, build variables, the
 * environment's specs and the components' globs. Nothing here touches the
 * store, the file system (but pkg__host_detect) or the process environment. */
#include "pkg/build_plan.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

/* ------------------------------------------------------------ host */

int pkg__host_parse_os_release(pkg__host *h, solver_arena *a, const char *text, size_t len,
			       sp_error *err)
{
	size_t i = 0;
	while (i < len) {
		size_t e = i;
		while (e < len && text[e] != '\n')
			e++;
		const char *line = text + i;
		size_t ll = e - i;
		i = e + 1;
		const char *eq = memchr(line, '=', ll);
		if (!eq)
			continue;
		size_t kl = (size_t)(eq - line);
		const char *v = eq + 1;
		size_t vl = ll - kl - 1;
		if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
			v++;
			vl -= 2;
		}
		const char **dst = NULL;
		if (kl == 2 && !memcmp(line, "ID", 2))
			dst = &h->distro;
		else if (kl == 10 && !memcmp(line, "VERSION_ID", 10))
			dst = &h->distro_version;
		if (!dst || !vl)
			continue;
		if (!(*dst = solver_arena_strndup(a, v, vl, err)))
			return err->code;
	}
	return 0;
}

int pkg__host_detect(pkg__host *h, solver_arena *a, sp_error *err)
{
	memset(h, 0, sizeof(*h));
	h->os = "linux";
	struct utsname u;
	if (uname(&u) == 0) {
		/* Rust's names (std::env::consts::ARCH), which SPK records */
		const char *m = u.machine;
		const char *arch = !strcmp(m, "i686") || !strcmp(m, "i586") || !strcmp(m, "i386")
				       ? "x86"
				   : !strcmp(m, "armv7l")  ? "arm"
				   : !strcmp(m, "ppc64le") ? "powerpc64"
							   : m;
		if (!(h->arch = solver_arena_strdup(a, arch, err)))
			return err->code;
	}
	static const char *const files[] = {"/etc/os-release", "/usr/lib/os-release"};
	for (size_t i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "re");
		if (!f)
			continue;
		char buf[8192];
		size_t n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		return pkg__host_parse_os_release(h, a, buf, n, err);
	}
	return 0;
}

/* ---------------------------------------------------------- options */

static void env_name(char *out, size_t n, const char *prefix, const char *name, const char *suffix)
{
	snprintf(out, n, "%s%s%s", prefix, name, suffix);
	for (char *c = out + strlen(prefix); *c && c < out + strlen(prefix) + strlen(name); c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9')))
			*c = '_';
}

/* Sets option `name` ("opt" or "pkg.opt") of the plan to value, checking
 * static values and choices. An unknown name is an error when `strict`. */
static int set_opt(pkg__build_plan *p, const char *name, const char *value, bool strict,
		   sp_error *err)
{
	const solver_build *b = &p->spec->build;
	size_t bl = strlen(b->name);
	if (!strncmp(name, b->name, bl) && name[bl] == '.')
		name += bl + 1;
	for (size_t i = 0; i < p->nopts; i++) {
		solver_option *v = &p->opts[i];
		if (strcmp(name, v->name))
			continue;
		if (v->is_static && strcmp(v->value, value))
			return sp_error_set(err, SP_EINVALID, "%s: option %s is static (%s)",
					    b->origin, v->name, v->value);
		bool ok = v->nchoices == 0;
		for (size_t c = 0; c < v->nchoices; c++)
			ok = ok || !strcmp(v->choices[c], value);
		if (!ok)
			return sp_error_set(err, SP_EINVALID,
					    "%s: option %s: '%s' is not one of its choices",
					    b->origin, v->name, value);
		v->value = value;
		return 0;
	}
	return strict ? sp_error_set(err, SP_EINVALID, "%s: %s is not an option of %s", b->origin,
				     name, b->name)
		      : 0;
}

static pkg__host_vars host_vars_of(const pkg__ynode *doc)
{
	const pkg__ynode *x = pkg__ymap_get(pkg__ymap_get(doc, "build"), "auto_host_vars");
	if (!x || x->type != PKG__Y_SCALAR)
		return PKG__HOST_DISTRO;
	return !strcmp(x->s, "Arch")   ? PKG__HOST_ARCH
	       : !strcmp(x->s, "Os")   ? PKG__HOST_OS
	       : !strcmp(x->s, "None") ? PKG__HOST_NONE
				       : PKG__HOST_DISTRO;
}

static bool has_opt(const pkg__build_plan *p, const char *name)
{
	for (size_t i = 0; i < p->nopts; i++)
		if (!strcmp(p->opts[i].name, name))
			return true;
	return false;
}

/* The host options the recipe gains (SPK's opts_for_variant: those it does
 * not declare), as options without a value yet. */
static void add_host_opts(pkg__build_plan *p, pkg__host_vars hv, const pkg__host *h)
{
	const char *names[4] = {"os", "arch", "distro", NULL};
	size_t nn = hv == PKG__HOST_DISTRO ? 3 : hv == PKG__HOST_ARCH ? 2 : hv == PKG__HOST_OS;
	/* the distro's own option ("debian: 12"); SPK names an unknown one
	 * unknown_distro */
	if (hv == PKG__HOST_DISTRO)
		names[nn++] = h && h->distro && solver_name_valid(h->distro, strlen(h->distro))
				  ? h->distro
				  : "unknown_distro";
	for (size_t i = 0; i < nn; i++)
		if (!has_opt(p, names[i]))
			p->opts[p->nopts++] = (solver_option){.name = names[i], .value = ""};
}

/* The host's values, given to every option of that name (SPK passes them
 * as the lowest-priority given options). */
static int apply_host(pkg__build_plan *p, const pkg__host *h, sp_error *err)
{
	if (!h)
		return 0;
	const struct {
		const char *name, *value;
	} hv[] = {{"os", h->os},
		  {"arch", h->arch},
		  {"distro", h->distro},
		  {h->distro, h->distro_version}};
	for (size_t i = 0; i < 4; i++) {
		if (!hv[i].name || !hv[i].value)
			continue;
		for (size_t k = 0; k < p->nopts; k++) {
			solver_option *v = &p->opts[k];
			if (strcmp(v->name, hv[i].name) || v->is_pkg || v->is_static)
				continue;
			/* checked against the choices once the variant and --opt
			 * had their say (check_host_choices) */
			v->value = hv[i].value;
		}
	}
	return 0;
}

/* A host value left in an option (not replaced by the variant or --opt)
 * must be one of its choices, as any value. */
static int check_host_choices(const pkg__build_plan *p, const pkg__host *h, sp_error *err)
{
	for (size_t i = 0; h && i < p->nopts; i++) {
		const solver_option *v = &p->opts[i];
		bool ok = v->nchoices == 0 || !*v->value;
		for (size_t c = 0; c < v->nchoices; c++)
			ok = ok || !strcmp(v->choices[c], v->value);
		if (!ok)
			return sp_error_set(err, SP_EINVALID,
					    "%s: option %s: the host's '%s' is not one of its "
					    "choices (give one with --opt %s=VALUE)",
					    p->spec->build.origin, v->name, v->value, v->name);
	}
	return 0;
}

int pkg__plan_options(pkg__build_plan *p, solver_arena *a, const pkg_spec *spec,
		      const pkg__ynode *doc, const pkg_build_opts *o, const pkg__host *host,
		      sp_error *err)
{
	memset(p, 0, sizeof(*p));
	p->spec = spec;
	const solver_build *b = &spec->build;
	char ver[256];
	solver_version_str(&b->version, ver, sizeof(ver));
	if (!(p->version = solver_arena_strdup(a, ver, err)))
		return err->code;
	p->opts = solver_arena_array(a, b->noptions + 4, sizeof(*p->opts), err);
	if (!p->opts)
		return err->code;
	for (size_t i = 0; i < b->noptions; i++)
		p->opts[i] = b->options[i];
	p->nopts = p->nown = b->noptions;
	pkg__host_vars hv = host_vars_of(doc);
	if (!o->no_host)
		add_host_opts(p, hv, host);
	/* values: defaults, the host's, the variant's, then --opt NAME=VALUE
	 * or PKG.NAME=VALUE */
	int rc = o->no_host ? 0 : apply_host(p, host, err);
	if (rc)
		return rc;
	if (o->variant >= 0) {
		const pkg__ynode *vs = pkg__ymap_get(pkg__ymap_get(doc, "build"), "variants");
		if (!vs || vs->type != PKG__Y_SEQ || (size_t)o->variant >= vs->n)
			return sp_error_set(
			    err, SP_EINVALID, "%s: %s has no variant %d (it has %zu)", b->origin,
			    b->name, o->variant, vs && vs->type == PKG__Y_SEQ ? vs->n : 0);
		const pkg__ynode *v = vs->items[o->variant];
		if (v->type != PKG__Y_MAP)
			return sp_error_set(err, SP_EINVALID,
					    "%s:%zu:%zu: a variant is a mapping of option values",
					    spec->file, v->line, v->col);
		for (size_t k = 0; k + 1 < v->n; k += 2) {
			const pkg__ynode *key = v->items[k], *val = v->items[k + 1];
			if (key->type != PKG__Y_SCALAR || val->type != PKG__Y_SCALAR)
				return sp_error_set(err, SP_EINVALID,
						    "%s:%zu:%zu: a variant's values are scalars",
						    spec->file, key->line, key->col);
			if ((rc = set_opt(p, key->s, val->s, true, err)))
				return sp_error_prefix(err, "variant %d", o->variant);
		}
	}
	for (size_t k = 0; k < o->nopts; k++)
		if ((rc = set_opt(p, o->opts[k].name, o->opts[k].value, false, err)))
			return rc;
	if ((rc = check_host_choices(p, o->no_host ? NULL : host, err)))
		return rc;
	/* a required var option needs a value (docs/spec.md) */
	for (size_t i = 0; i < p->nown; i++)
		if (p->opts[i].required && !p->opts[i].is_pkg && !*p->opts[i].value)
			return sp_error_set(err, SP_EINVALID,
					    "%s: %s: its required option %s has no value (give one "
					    "with --opt %s=VALUE or a variant)",
					    b->origin, b->name, p->opts[i].name, p->opts[i].name);
	/* the build environment: var options steer it, and --opt values for
	 * other packages (`--opt python.abi=cp37m`), as in SPK */
	p->solve_opts = solver_arena_array(a, p->nopts + o->nopts + 1, sizeof(*p->solve_opts), err);
	if (!p->solve_opts)
		return err->code;
	for (size_t i = 0; i < p->nopts; i++)
		if (!p->opts[i].is_pkg)
			p->solve_opts[p->nsolve_opts++] =
			    (solver_opt){p->opts[i].name, p->opts[i].value};
	for (size_t k = 0; k < o->nopts; k++) {
		size_t bl = strlen(b->name);
		const char *nm = o->opts[k].name;
		if (!strncmp(nm, b->name, bl) && nm[bl] == '.')
			nm += bl + 1;
		if (!has_opt(p, nm) && strchr(nm, '.'))
			p->solve_opts[p->nsolve_opts++] = o->opts[k];
	}
	p->reqs = solver_arena_array(a, b->nbuild_reqs + 1, sizeof(*p->reqs), err);
	if (!p->reqs)
		return err->code;
	for (size_t i = 0; i < b->nbuild_reqs; i++) {
		solver_request *r = &p->reqs[p->nreqs++];
		*r = b->build_reqs[i];
		/* a pkg option's value overrides the recipe's request */
		for (size_t k = 0; k < p->nown; k++)
			if (p->opts[k].is_pkg && !strcmp(p->opts[k].name, r->name) &&
			    strcmp(p->opts[k].value, b->options[k].value)) {
				const char *const *comps = r->components;
				size_t nc = r->ncomponents;
				char t[600];
				snprintf(t, sizeof(t), "%s/%s", p->opts[k].name, p->opts[k].value);
				if ((rc = solver_request_parse(r, a, t, strlen(t),
							       SOLVER_COMPAT_API, NULL, err)))
					return sp_error_prefix(err, "option %s", p->opts[k].name);
				r->components = comps;
				r->ncomponents = nc;
			}
	}
	return 0;
}

/* --------------------------------------------------------- variables */

static int push_var(pkg__var **v, size_t *n, size_t *cap, solver_arena *a, const char *name,
		    const char *value, sp_error *err)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		pkg__var *nv = solver_arena_array(a, nc, sizeof(*nv), err);
		if (!nv)
			return err->code;
		if (*n)
			memcpy(nv, *v, *n * sizeof(*nv));
		*v = nv;
		*cap = nc;
	}
	const char *nm = solver_arena_strdup(a, name, err);
	const char *val = nm ? solver_arena_strdup(a, value, err) : NULL;
	if (!val)
		return err->code;
	(*v)[(*n)++] = (pkg__var){nm, val};
	return 0;
}

int pkg__pkg_vars(pkg__var **v, size_t *n, size_t *cap, solver_arena *a, const solver_build *b,
		  bool prefix, sp_error *err)
{
	char ver[256], base[256] = "", num[3][16], ident[600], nm[320];
	solver_version_str(&b->version, ver, sizeof(ver));
	/* SPK: the parts joined (no tags), and the first three, 0 when absent */
	for (size_t i = 0; i < b->version.nparts; i++) {
		size_t l = strlen(base);
		snprintf(base + l, sizeof(base) - l, "%s%u", i ? "." : "", b->version.parts[i]);
	}
	if (!base[0])
		snprintf(base, sizeof(base), "0");
	for (size_t i = 0; i < 3; i++)
		snprintf(num[i], sizeof(num[i]), "%u",
			 i < b->version.nparts ? b->version.parts[i] : 0);
	snprintf(ident, sizeof(ident), "%s/%s/%s", b->name, ver, b->build ? b->build : "");
	const struct {
		const char *suffix, *value;
	} all[] = {{"", ident},
		   {"_VERSION", ver},
		   {"_BUILD", b->build ? b->build : ""},
		   {"_VERSION_MAJOR", num[0]},
		   {"_VERSION_MINOR", num[1]},
		   {"_VERSION_PATCH", num[2]},
		   {"_VERSION_BASE", base}};
	int rc = 0;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]) && !rc; i++) {
		if (prefix)
			env_name(nm, sizeof(nm), "SPK_PKG_", b->name, all[i].suffix);
		else
			snprintf(nm, sizeof(nm), "SPK_PKG%s", all[i].suffix);
		rc = push_var(v, n, cap, a, nm, all[i].value, err);
	}
	if (!rc && !prefix)
		rc = push_var(v, n, cap, a, "SPK_PKG_NAME", b->name, err);
	return rc;
}

/* SPK_OPT_<name>; a namespaced "pkg.var" also as SPK_PKG_<pkg>_OPT_<var>. */
static int opt_vars(pkg__var **v, size_t *n, size_t *cap, solver_arena *a, const solver_option *o,
		    sp_error *err)
{
	char nm[400];
	env_name(nm, sizeof(nm), "SPK_OPT_", o->name, "");
	int rc = push_var(v, n, cap, a, nm, o->value, err);
	const char *dot = strchr(o->name, '.');
	if (!rc && dot) {
		char pk[200];
		snprintf(pk, sizeof(pk), "%.*s", (int)(dot - o->name), o->name);
		char suffix[200];
		snprintf(suffix, sizeof(suffix), "_OPT_%s", dot + 1);
		for (char *c = suffix; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9')))
				*c = '_';
		env_name(nm, sizeof(nm), "SPK_PKG_", pk, suffix);
		rc = push_var(v, n, cap, a, nm, o->value, err);
	}
	return rc;
}

/* ------------------------------------------------------- components */

/* The components in the order their files are claimed: with SPK's
 * `file_match_mode: Remaining` somewhere, the spec's order with the
 * build and run components the loader added last (SPK appends them);
 * otherwise the order does not matter. */
static int plan_components(pkg__build_plan *p, solver_arena *a, const pkg__ynode *doc,
			   sp_error *err)
{
	const solver_build *b = &p->spec->build;
	p->components = solver_arena_array(a, b->ncomponents + 1, sizeof(*p->components), err);
	if (!p->components)
		return err->code;
	const pkg__ynode *comps = pkg__ymap_get(pkg__ymap_get(doc, "install"), "components");
	size_t ndecl = comps && comps->type == PKG__Y_SEQ ? comps->n : 0;
	/* the declared ones, in the spec's order */
	for (size_t i = 0; i < ndecl; i++) {
		const pkg__ynode *nm = pkg__ymap_get(comps->items[i], "name");
		const pkg__ynode *fl = pkg__ymap_get(comps->items[i], "files");
		const pkg__ynode *mm = pkg__ymap_get(comps->items[i], "file_match_mode");
		if (!nm || nm->type != PKG__Y_SCALAR)
			continue;
		pkg__plan_component *pc = &p->components[p->ncomponents++];
		*pc = (pkg__plan_component){.name = nm->s};
		if (mm && (mm->type != PKG__Y_SCALAR ||
			   (strcmp(mm->s, "All") && strcmp(mm->s, "Remaining"))))
			return sp_error_set(
			    err, SP_EINVALID,
			    "%s:%zu:%zu: file_match_mode: expected All or Remaining", p->spec->file,
			    mm->line, mm->col);
		pc->remaining = mm && !strcmp(mm->s, "Remaining");
		if (!fl || fl->type != PKG__Y_SEQ)
			continue;
		const char **rules = solver_arena_array(a, fl->n ? fl->n : 1, sizeof(*rules), err);
		if (!rules)
			return err->code;
		size_t nr = 0;
		for (size_t k = 0; k < fl->n; k++)
			if (fl->items[k]->type == PKG__Y_SCALAR)
				rules[nr++] = fl->items[k]->s;
		pc->rules = rules;
		pc->nrules = nr;
	}
	/* then those the loader added (build, run: every file) */
	for (size_t c = 0; c < b->ncomponents; c++) {
		bool declared = false;
		for (size_t i = 0; i < p->ncomponents && !declared; i++)
			declared = !strcmp(p->components[i].name, b->components[c].name);
		if (!declared)
			p->components[p->ncomponents++] =
			    (pkg__plan_component){.name = b->components[c].name};
	}
	return 0;
}

int pkg__plan_resolve(pkg__build_plan *p, solver_arena *a, const pkg__ynode *doc,
		      const pkg__build_dep *env, size_t n, sp_error *err)
{
	const solver_build *b = &p->spec->build;
	/* a pkg option's value is the version it resolved to (as SPK records
	 * it), so building against another version is another build */
	for (size_t i = 0; i < p->nown; i++) {
		if (!p->opts[i].is_pkg)
			continue;
		for (size_t k = 0; k < n; k++) {
			const solver_build *dep = env[k].build;
			if (strcmp(dep->name, p->opts[i].name))
				continue;
			char dv[256];
			solver_version_str(&dep->version, dv, sizeof(dv));
			if (!(p->opts[i].value = solver_arena_strdup(a, dv, err)))
				return err->code;
		}
	}
	/* what the build environment passes on (Strong options) is part of
	 * the build's options, and so of its id, as in SPK */
	int rc = pkg__inherited(&p->inherited, &p->ninherited, b, env, n, a, err);
	if (rc)
		return rc;
	solver_option *all =
	    solver_arena_array(a, 2 * p->nopts + p->ninherited + 1, sizeof(*all), err);
	if (!all)
		return err->code;
	memcpy(all, p->opts, p->nopts * sizeof(*all));
	if (p->ninherited)
		memcpy(all + p->nopts, p->inherited, p->ninherited * sizeof(*all));
	size_t nall = p->nopts + p->ninherited;
	/* so do the components a pkg option names (SPK hashes them; `pkg:
	 * lib:run` builds against other files than `pkg: lib`): as "NAME:"
	 * entries, a name no option can have */
	const pkg__ynode *ol = pkg__ymap_get(pkg__ymap_get(doc, "build"), "options");
	for (size_t i = 0; ol && ol->type == PKG__Y_SEQ && i < ol->n && i < p->nown; i++) {
		const pkg__ynode *w = p->opts[i].is_pkg ? pkg__ymap_get(ol->items[i], "pkg") : NULL;
		if (!w || w->type != PKG__Y_SCALAR)
			continue;
		size_t nl = strcspn(w->s, "/");
		const char *colon = memchr(w->s, ':', nl);
		if (!colon)
			continue;
		size_t pl = (size_t)(colon - w->s);
		char *nm = solver_arena_strndup(a, w->s, pl + 1, err);
		char *cv = nm ? solver_arena_strndup(a, colon + 1, nl - pl - 1, err) : NULL;
		if (!cv)
			return err->code;
		all[nall++] = (solver_option){.name = nm, .value = cv};
	}
	if ((rc = pkg_build_id(p->id, all, nall, err)))
		return rc;
	snprintf(p->ident, sizeof(p->ident), "%s/%s/%s", b->name, p->version, p->id);
	/* the environment's operations, in solve order (as spk env applies
	 * them); then the variables, which win over them */
	p->env_specs = solver_arena_array(a, n + 1, sizeof(*p->env_specs), err);
	if (!p->env_specs)
		return err->code;
	for (size_t i = 0; i < n; i++)
		if (env[i].spec)
			p->env_specs[p->nenv_specs++] = env[i].spec;
	size_t cap = 0;
	solver_build self = *b;
	self.build = p->id;
	if ((rc = push_var(&p->vars, &p->nvars, &cap, a, "PREFIX", SPFS_RUNTIME_MOUNTPOINT, err)) ||
	    (rc = push_var(&p->vars, &p->nvars, &cap, a, "SPK_ACTIVE_PREFIX",
			   SPFS_RUNTIME_MOUNTPOINT, err)) ||
	    /* SPK: the command line's requests of the solve; a build
	     * environment has none */
	    (rc = push_var(&p->vars, &p->nvars, &cap, a, "SPK_INITIAL_PKG_REQUESTS", "", err)) ||
	    (rc = pkg__pkg_vars(&p->vars, &p->nvars, &cap, a, &self, false, err)))
		return rc;
	for (size_t i = 0; i < n && !rc; i++)
		rc = pkg__pkg_vars(&p->vars, &p->nvars, &cap, a, env[i].build, true, err);
	for (size_t i = 0; i < p->nopts && !rc; i++)
		rc = opt_vars(&p->vars, &p->nvars, &cap, a, &p->opts[i], err);
	for (size_t i = 0; i < p->ninherited && !rc; i++)
		rc = opt_vars(&p->vars, &p->nvars, &cap, a, &p->inherited[i], err);
	if (rc)
		return rc;
	return plan_components(p, a, doc, err);
}
