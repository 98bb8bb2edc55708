/* validation.c - SPK's build validation rules (build.validation): what a
 * build may do to the files of its build environment, and whether it may
 * install nothing or build on another version of itself.
 *
 * Rules are SPK's defaults (allow SpdxLicense, deny EmptyPackage, deny
 * RecursiveBuild, deny AlterExistingFiles, deny CollectExistingFiles,
 * require InheritRequirements) followed by the recipe's, each expanded as
 * SPK expands it (AlterExistingFiles without an action: Change and
 * Remove; allowing RecursiveBuild also allows altering and collecting the
 * package's own files). For one subject (a file and the package owning it
 * in the environment) the rule that decides is the most specific one
 * (naming packages beats naming none), the last among equals.
 *
 * What the build wrote (the upper directory's manifest) is compared with
 * the environment's files, top layer first: a file it wrote over one of
 * the environment with the same content, mode and kind is "touched" and,
 * when another package owns it, not collected into the package (as SPK
 * drops unchanged files); another content is "changed"; a mask over one
 * is "removed". Changed, removed and own touched files count as collected
 * files of the environment. */
#include "pkg/build_plan.h"

#include <stdlib.h>
#include <string.h>

enum { K_ALLOW = 1, K_DENY = 2, K_REQUIRE = 3 };
enum {
	C_EMPTY = 1,
	C_ALTER,
	C_COLLECT,
	C_RECURSIVE,
	C_INHERIT,
	C_SPDX,
	C_STRONG_DESC,
	C_LONG_DESC
};

static const char *const cond_names[] = {NULL,
					 "EmptyPackage",
					 "AlterExistingFiles",
					 "CollectExistingFiles",
					 "RecursiveBuild",
					 "InheritRequirements",
					 "SpdxLicense",
					 "StrongInheritanceVarDescription",
					 "LongVarDescription"};
static const char *const action_names[] = {NULL, "Change", "Remove", "Touch"};

static int push(pkg__validation *v, solver_arena *a, pkg__vrule r, size_t *cap, sp_error *err)
{
	if (v->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		pkg__vrule *nv = solver_arena_array(a, nc, sizeof(*nv), err);
		if (!nv)
			return err->code;
		if (v->n)
			memcpy(nv, v->rules, v->n * sizeof(*nv));
		v->rules = nv;
		*cap = nc;
	}
	v->rules[v->n++] = r;
	return 0;
}

/* A rule and SPK's implicit additions. */
static int push_expanded(pkg__validation *v, solver_arena *a, pkg__vrule r, size_t *cap,
			 sp_error *err)
{
	static const char *const self[] = {"Self"};
	int rc = 0;
	if (r.cond == C_RECURSIVE) {
		pkg__vrule x = {r.kind, C_ALTER, PKG__V_REMOVE, self, 1};
		for (int act = PKG__V_CHANGE; act <= PKG__V_TOUCH && !rc; act++) {
			x.action = act;
			rc = push(v, a, x, cap, err);
		}
		x = (pkg__vrule){r.kind, C_COLLECT, 0, self, 1};
		if (!rc)
			rc = push(v, a, x, cap, err);
		return rc ? rc : push(v, a, r, cap, err);
	}
	if (r.cond == C_ALTER && !r.action) {
		r.action = PKG__V_CHANGE;
		rc = push(v, a, r, cap, err);
		r.action = PKG__V_REMOVE;
		return rc ? rc : push(v, a, r, cap, err);
	}
	return push(v, a, r, cap, err);
}

static int bad(const char *file, const pkg__ynode *n, sp_error *err, const char *what,
	       const char *got)
{
	return sp_error_set(err, SP_EINVALID, "%s:%zu:%zu: build.validation: %s%s%s%s", file,
			    n->line, n->col, what, got ? ", got '" : "", got ? got : "",
			    got ? "'" : "");
}

/* The recipe's rules (build.validation) after the defaults. */
static int parse_rules(pkg__validation *v, solver_arena *a, const pkg__ynode *val, const char *file,
		       size_t *cap, sp_error *err)
{
	int rc = 0;
	if (val->type != PKG__Y_MAP)
		return bad(file, val, err, "expected a mapping (rules, disabled)", NULL);
	const pkg__ynode *rules = pkg__ymap_get(val, "rules");
	const pkg__ynode *disabled = pkg__ymap_get(val, "disabled");
	if (rules && disabled)
		return bad(file, val, err, "rules and disabled cannot both be given", NULL);
	/* the deprecated names: disabling one allows what it denied */
	for (size_t i = 0; disabled && i < disabled->n && disabled->type == PKG__Y_SEQ; i++) {
		const pkg__ynode *d = disabled->items[i];
		int cond = 0;
		if (d->type == PKG__Y_SCALAR && !strcmp(d->s, "MustInstallSomething"))
			cond = C_EMPTY;
		else if (d->type == PKG__Y_SCALAR && !strcmp(d->s, "MustNotAlterExistingFiles"))
			cond = C_ALTER;
		if (!cond)
			return bad(file, d, err,
				   "disabled: expected MustInstallSomething or "
				   "MustNotAlterExistingFiles",
				   d->type == PKG__Y_SCALAR ? d->s : "?");
		if ((rc = push_expanded(v, a, (pkg__vrule){K_ALLOW, cond, 0, NULL, 0}, cap, err)))
			return rc;
	}
	if (!rules)
		return 0;
	if (rules->type != PKG__Y_SEQ)
		return bad(file, rules, err, "rules: expected a list", NULL);
	for (size_t i = 0; i < rules->n; i++) {
		const pkg__ynode *e = rules->items[i];
		if (e->type != PKG__Y_MAP)
			return bad(file, e, err,
				   "a rule is a mapping (allow, deny or require: NAME)", NULL);
		pkg__vrule r = {0};
		static const char *const kinds[] = {NULL, "allow", "deny", "require"};
		const pkg__ynode *name = NULL;
		for (int k = 1; k <= 3; k++) {
			const pkg__ynode *x = pkg__ymap_get(e, kinds[k]);
			if (!x)
				continue;
			if (name)
				return bad(file, e, err, "a rule has one of allow, deny, require",
					   NULL);
			name = x;
			r.kind = k;
		}
		if (!name)
			return bad(file, e, err, "a rule needs allow, deny or require", NULL);
		if (name->type != PKG__Y_SCALAR)
			return bad(file, name, err, "expected a rule name", NULL);
		for (int c = C_EMPTY; c <= C_LONG_DESC && !r.cond; c++)
			if (!strcmp(name->s, cond_names[c]))
				r.cond = c;
		if (!r.cond)
			return bad(file, name, err,
				   "unknown rule (EmptyPackage, AlterExistingFiles, "
				   "CollectExistingFiles, RecursiveBuild, InheritRequirements, "
				   "SpdxLicense, StrongInheritanceVarDescription, "
				   "LongVarDescription)",
				   name->s);
		const pkg__ynode *pk = pkg__ymap_get(e, "packages");
		if (pk) {
			if (r.cond != C_ALTER && r.cond != C_COLLECT && r.cond != C_INHERIT)
				return bad(file, pk, err, "packages: not a property of this rule",
					   NULL);
			if (pk->type != PKG__Y_SEQ)
				return bad(file, pk, err, "packages: expected a list", NULL);
			const char **names = solver_arena_array(a, pk->n + 1, sizeof(*names), err);
			if (!names)
				return err->code;
			for (size_t k = 0; k < pk->n; k++) {
				if (pk->items[k]->type != PKG__Y_SCALAR)
					return bad(file, pk->items[k], err,
						   "packages: expected names", NULL);
				names[k] = pk->items[k]->s;
			}
			r.packages = names;
			r.npackages = pk->n;
		}
		const pkg__ynode *ac = pkg__ymap_get(e, "action");
		if (ac) {
			if (r.cond != C_ALTER)
				return bad(file, ac, err, "action: only AlterExistingFiles has it",
					   NULL);
			for (int k = PKG__V_CHANGE; k <= PKG__V_TOUCH && !r.action; k++)
				if (ac->type == PKG__Y_SCALAR && !strcmp(ac->s, action_names[k]))
					r.action = k;
			if (!r.action)
				return bad(file, ac, err,
					   "action: expected Change, Remove or Touch",
					   ac->type == PKG__Y_SCALAR ? ac->s : "?");
		}
		if ((rc = push_expanded(v, a, r, cap, err)))
			return rc;
	}
	return 0;
}

int pkg__validation_parse(pkg__validation *v, solver_arena *a, const pkg__ynode *doc,
			  const char *file, sp_error *err)
{
	memset(v, 0, sizeof(*v));
	size_t cap = 0;
	static const pkg__vrule defaults[] = {
	    {K_ALLOW, C_SPDX, 0, NULL, 0},     {K_DENY, C_EMPTY, 0, NULL, 0},
	    {K_DENY, C_RECURSIVE, 0, NULL, 0}, {K_DENY, C_ALTER, 0, NULL, 0},
	    {K_DENY, C_COLLECT, 0, NULL, 0},   {K_REQUIRE, C_INHERIT, 0, NULL, 0},
	};
	int rc = 0;
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]) && !rc; i++)
		rc = push_expanded(v, a, defaults[i], &cap, err);
	const pkg__ynode *val =
	    doc ? pkg__ymap_get(pkg__ymap_get(doc, "build"), "validation") : NULL;
	if (rc || !val)
		return rc;
	return parse_rules(v, a, val, file, &cap, err);
}

int pkg__validation_check(const pkg__ynode *val, const char *file, sp_error *err)
{
	_cleanup_(solver_arena_freep) solver_arena *a = NULL;
	int rc = solver_arena_new(&a, err);
	pkg__validation v = {0};
	size_t cap = 0;
	return rc ? rc : parse_rules(&v, a, val, file, &cap, err);
}

static bool names_pkg(const pkg__vrule *r, const char *owner, const char *self)
{
	for (size_t i = 0; i < r->npackages; i++) {
		const char *want = !strcmp(r->packages[i], "Self") ? self : r->packages[i];
		if (!strcmp(want, owner))
			return true;
	}
	return false;
}

/* The rule deciding (cond, action) for a subject owned by `owner` (NULL:
 * the whole build): the most specific (naming packages), the last among
 * equals. */
static const pkg__vrule *decide(const pkg__validation *v, int cond, int action, const char *owner,
				const char *self)
{
	const pkg__vrule *best = NULL;
	for (size_t i = 0; i < v->n; i++) {
		const pkg__vrule *r = &v->rules[i];
		if (r->cond != cond || (cond == C_ALTER && r->action != action))
			continue;
		if (r->npackages && (!owner || !names_pkg(r, owner, self)))
			continue;
		if (!best || (r->npackages > 0) >= (best->npackages > 0))
			best = r;
	}
	return best;
}

int pkg__validate_setup(const pkg__validation *v, const char *self, const pkg__build_dep *env,
			size_t n, sp_error *err)
{
	bool recursive = false;
	for (size_t i = 0; i < n && !recursive; i++)
		recursive = !strcmp(env[i].build->name, self);
	const pkg__vrule *r = decide(v, C_RECURSIVE, 0, NULL, self);
	if (r && r->kind == K_DENY && recursive)
		return sp_error_set(
		    err, PKG_EVALIDATION,
		    "%s: its build environment holds another version of %s "
		    "(RecursiveBuild is denied; build.validation rules can allow it)",
		    self, self);
	if (r && r->kind == K_REQUIRE && !recursive)
		return sp_error_set(err, PKG_EVALIDATION,
				    "%s: its build environment must hold another version of %s "
				    "(RecursiveBuild is required)",
				    self, self);
	return 0;
}

/* ------------------------------------------------ environment files */

static int file_cmp(const void *pa, const void *pb)
{
	const pkg__env_file *a = pa, *b = pb;
	int c = strcmp(a->path, b->path);
	/* equal paths: the upper layer (later) first, so it is kept */
	return c ? c : (a->order < b->order) - (a->order > b->order);
}

int pkg__env_files_add(pkg__env_files *f, solver_arena *a, const spfs_manifest *m,
		       const char *owner, sp_error *err)
{
	if (m->count > SIZE_MAX / 2 - f->n)
		return sp_error_set(err, SP_ERROR, "too many files");
	pkg__env_file *nv = solver_arena_array(a, f->n + m->count + 1, sizeof(*nv), err);
	if (!nv)
		return err->code;
	if (f->n)
		memcpy(nv, f->v, f->n * sizeof(*nv));
	size_t k = f->n;
	for (size_t i = 0; i < m->count; i++) {
		const spfs_entry *e = &m->entries[i];
		const char *p = solver_arena_strdup(a, e->path, err);
		if (!p)
			return err->code;
		nv[k++] = (pkg__env_file){.path = p,
					  .owner = owner,
					  .kind = e->kind,
					  .digest = e->digest,
					  .mode = e->mode,
					  .order = f->layers};
	}
	f->v = nv;
	f->n = k;
	f->layers++;
	return 0;
}

void pkg__env_files_finish(pkg__env_files *f)
{
	if (!f->n)
		return;
	qsort(f->v, f->n, sizeof(*f->v), file_cmp);
	size_t k = 0;
	for (size_t i = 0; i < f->n; i++)
		if (!k || strcmp(f->v[k - 1].path, f->v[i].path))
			f->v[k++] = f->v[i];
	/* a path an upper layer masks is gone */
	size_t w = 0;
	for (size_t i = 0; i < k; i++)
		if (f->v[i].kind != SPFS_ENTRY_MASK)
			f->v[w++] = f->v[i];
	f->n = w;
}

const pkg__env_file *pkg__env_files_find(const pkg__env_files *f, const char *path)
{
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(f->v[mid].path, path);
		if (!c)
			return &f->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ------------------------------------------------------ the build */

static int deny(sp_error *err, const char *self, const char *what, const char *path,
		const char *owner, const char *rule)
{
	return sp_error_set(err, PKG_EVALIDATION,
			    "%s: the build %s /spfs/%s of %s (%s is denied; build.validation "
			    "rules can allow it)",
			    self, what, path, owner, rule);
}

int pkg__validate_build(const pkg__validation *v, const char *self, const pkg__env_files *f,
			spfs_manifest *m, bool has_license, sp_error *err)
{
	/* 1. what the build did to each path; touched files of others are
	 * not collected */
	_cleanup_free_ bool *keep = calloc(m->count + 1, sizeof(*keep));
	if (!keep)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	bool altered_any[4] = {false}, collected_any = false;
	for (size_t i = 0; i < m->count; i++) {
		const spfs_entry *e = &m->entries[i];
		keep[i] = true;
		if (e->kind == SPFS_ENTRY_DIR)
			continue;
		const pkg__env_file *lo = pkg__env_files_find(f, e->path);
		if (!lo || lo->kind == SPFS_ENTRY_DIR)
			continue; /* added */
		int action = e->kind == SPFS_ENTRY_MASK ? PKG__V_REMOVE
			     : lo->kind == e->kind && !sp_digest_cmp(&lo->digest, &e->digest) &&
				     lo->mode == e->mode
				 ? PKG__V_TOUCH
				 : PKG__V_CHANGE;
		bool own = !strcmp(lo->owner, self);
		if (action == PKG__V_TOUCH && !own) {
			keep[i] = false; /* unchanged: not part of the package */
			continue;
		}
		const pkg__vrule *r = decide(v, C_ALTER, action, lo->owner, self);
		if (r && r->kind == K_DENY)
			return deny(err, self,
				    action == PKG__V_REMOVE   ? "removed"
				    : action == PKG__V_CHANGE ? "changed"
							      : "touched",
				    e->path, lo->owner, "AlterExistingFiles");
		altered_any[action] = true;
		r = decide(v, C_COLLECT, 0, lo->owner, self);
		if (r && r->kind == K_DENY)
			return deny(err, self, "collected", e->path, lo->owner,
				    "CollectExistingFiles");
		collected_any = true;
	}
	size_t k = 0;
	for (size_t i = 0; i < m->count; i++) {
		if (keep[i]) {
			if (k != i) {
				spfs_entry t = m->entries[k];
				m->entries[k] = m->entries[i];
				m->entries[i] = t;
			}
			k++;
		}
	}
	/* the dropped entries are freed with the manifest: swap them past
	 * count and free them here */
	for (size_t i = k; i < m->count; i++) {
		free(m->entries[i].path);
		free(m->entries[i].target);
	}
	m->count = k;
	/* 2. the whole build. SPK writes a package's metadata (its spec,
	 * options, script and component markers) under /spfs/spk/pkg before
	 * it collects the changes, so a build is never empty there: the same
	 * here (a build's spec is part of the package), or EmptyPackage would
	 * refuse what SPK builds (platforms, meta-packages) */
	bool empty = false;
	const pkg__vrule *r = decide(v, C_EMPTY, 0, NULL, self);
	if (r && r->kind == K_DENY && empty)
		return sp_error_set(err, PKG_EVALIDATION,
				    "%s: the build installed nothing under /spfs (EmptyPackage is "
				    "denied; build.validation rules can allow it)",
				    self);
	if (r && r->kind == K_REQUIRE && !empty)
		return sp_error_set(err, PKG_EVALIDATION,
				    "%s: the build must install nothing (EmptyPackage is required)",
				    self);
	for (int act = PKG__V_CHANGE; act <= PKG__V_TOUCH; act++) {
		r = decide(v, C_ALTER, act, NULL, self);
		if (r && r->kind == K_REQUIRE && !altered_any[act])
			return sp_error_set(err, PKG_EVALIDATION,
					    "%s: the build must %s a file of its environment "
					    "(AlterExistingFiles is required)",
					    self, action_names[act]);
	}
	r = decide(v, C_COLLECT, 0, NULL, self);
	if (r && r->kind == K_REQUIRE && !collected_any)
		return sp_error_set(err, PKG_EVALIDATION,
				    "%s: the build must collect a file of its environment "
				    "(CollectExistingFiles is required)",
				    self);
	r = decide(v, C_SPDX, 0, NULL, self);
	if (r && r->kind == K_REQUIRE && !has_license)
		return sp_error_set(err, PKG_EVALIDATION,
				    "%s: meta.license is required (SpdxLicense is required)", self);
	if (r && r->kind == K_DENY && has_license)
		return sp_error_set(err, PKG_EVALIDATION,
				    "%s: meta.license must not be given (SpdxLicense is denied)",
				    self);
	return 0;
}
