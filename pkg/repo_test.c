/* repo_test.c - `spk test`: a recipe's `tests` entries run in SpFS
 * runtimes (see pkg.h, docs/packages.md).
 *
 * For each variant: its options are planned as a build plans them
 * (build_plan.c: defaults, host, variant, --opt); a test runs when it
 * has no selectors or one of them matches those values exactly (SPK's
 * documented rule). Each test solves its own environment (its
 * requirements join the stage's requests), stacks the solution's layers
 * (and, for sources and build, the source package's), sets the
 * environment as spk env does, and runs `bash -ex` on the script in an
 * editable runtime whose changes are thrown away. */
#include "pkg/build_plan.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct test_ctx {
	pkg_repo *r;
	spfs_store *s;
	const pkg_spec *spec;
	const pkg_test_opts *o;
	solver_arena *a;
	const pkg__ynode *doc;
	pkg_test_result *res;
} test_ctx;

static const char *stage_name(pkg_test_stage st)
{
	return st == PKG_TEST_SOURCES ? "sources" : st == PKG_TEST_BUILD ? "build" : "install";
}

bool pkg__test_selected(const pkg_test_decl *t, const pkg__build_plan *p)
{
	if (!t->nselectors)
		return true;
	for (size_t i = 0; i < t->nselectors; i++) {
		const pkg_test_selector *sel = &t->selectors[i];
		bool all = true;
		for (size_t k = 0; k < sel->n && all; k++) {
			bool found = false;
			for (size_t j = 0; j < p->nopts && !found; j++)
				found = !strcmp(p->opts[j].name, sel->names[k]) &&
					!strcmp(p->opts[j].value, sel->values[k]);
			all = found;
		}
		if (all)
			return true;
	}
	return false;
}

/* reqs[0..n) then extra[0..nextra), as one array in the arena. */
static solver_request *join_reqs(test_ctx *c, const solver_request *reqs, size_t n,
				 const solver_request *extra, size_t nextra, sp_error *err)
{
	solver_request *v = solver_arena_array(c->a, n + nextra + 1, sizeof(*v), err);
	if (!v)
		return NULL;
	if (n)
		memcpy(v, reqs, n * sizeof(*v));
	if (nextra)
		memcpy(v + n, extra, nextra * sizeof(*v));
	return v;
}

/* Solves reqs; *deps gets the solution in solve order, *layers its stack
 * (malloc'd). */
static int solve(test_ctx *c, const solver_request *reqs, size_t n, const pkg__build_plan *p,
		 solver_result **env, pkg__build_dep **deps, size_t *ndeps, sp_digest **layers,
		 size_t *nlayers, const char *what, sp_error *err)
{
	solver_options so = {
	    .repos = pkg_repo_solver(c->r),
	    .nrepos = 1,
	    .requests = reqs,
	    .nrequests = n,
	    .opts = p->solve_opts,
	    .nopts = p->nsolve_opts,
	};
	int rc = solver_solve(env, &so, err);
	if (rc == SOLVER_EUNSAT)
		return sp_error_set(err, SOLVER_EUNSAT, "cannot solve the %s of %s/%s:\n%s", what,
				    c->spec->build.name, p->version,
				    solver_result_explanation(*env));
	if (rc)
		return sp_error_prefix(err, "solving the %s of %s/%s", what, c->spec->build.name,
				       p->version);
	size_t ne = solver_result_count(*env);
	*deps = solver_arena_array(c->a, ne + 1, sizeof(**deps), err);
	if (!*deps)
		return err->code;
	*ndeps = 0;
	for (size_t i = 0; i < ne; i++) {
		const solver_resolved *it = solver_result_get_ordered(*env, i);
		if (it)
			(*deps)[(*ndeps)++] = (pkg__build_dep){
			    .build = it->build,
			    .spec = it->from_source ? NULL : pkg_repo_spec_of(c->r, it->build)};
	}
	return pkg_repo_layers(layers, nlayers, c->r, *env, err);
}

/* The published source package's layer. */
static int source_layer(test_ctx *c, const pkg__build_plan *p, sp_digest *out, sp_error *err)
{
	char tag[SPFS_MAX_TAG_NAME + 1];
	snprintf(tag, sizeof(tag), "spk/pkg/%s/%s/src/src", c->spec->build.name, p->version);
	sp_error why = {0};
	int rc = spfs_resolve(out, NULL, c->s, tag, &why);
	if (rc == SP_ENOTFOUND)
		return sp_error_set(err, SP_ENOTFOUND,
				    "%s/%s has no source package %s/%s/src to test (spk "
				    "make-source or spk build publishes it; --here tests a "
				    "directory)",
				    c->spec->build.name, p->version, c->spec->build.name,
				    p->version);
	return rc ? sp_error_set(err, rc, "%s", why.msg) : 0;
}

/* Runs the script in a runtime over layers, with the environment of deps
 * and the plan's option values, in dir. */
static int run(test_ctx *c, const pkg_test_decl *t, const pkg__build_plan *p,
	       const pkg__build_dep *deps, size_t ndeps, sp_digest *layers, size_t nlayers,
	       const char *dir, int *status, sp_error *err)
{
	const char *tmp = getenv("TMPDIR");
	char tdir[4096], script[4200];
	snprintf(tdir, sizeof(tdir), "%s/spk-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tdir))
		return sp_error_errno(err, "mkdtemp %s", tdir);
	snprintf(script, sizeof(script), "%s/test.sh", tdir);
	int rc = 0;
	{
		_cleanup_close_ int dfd = open(tdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = dfd < 0 ? sp_error_errno(err, "open %s", tdir)
			     : sp_atomic_write_at(dfd, "test.sh", t->script, strlen(t->script),
						  0644, err);
	}
	char **saved = NULL;
	if (!rc)
		rc = pkg__env_save(&saved, err);
	if (rc) {
		unlink(script);
		rmdir(tdir);
		return rc;
	}
	/* the environment as spk env sets it, then SPK's variables */
	const pkg_spec **specs = solver_arena_array(c->a, ndeps + 1, sizeof(*specs), err);
	size_t nspecs = 0;
	rc = specs ? 0 : err->code;
	for (size_t i = 0; !rc && i < ndeps; i++)
		if (deps[i].spec)
			specs[nspecs++] = deps[i].spec;
	if (!rc)
		rc = pkg_env_apply(specs, nspecs, err);
	static const char *const fixed[][2] = {{"PREFIX", SPFS_RUNTIME_MOUNTPOINT},
					       {"SPK_ACTIVE_PREFIX", SPFS_RUNTIME_MOUNTPOINT},
					       {"SHELL", "bash"}};
	for (size_t i = 0; !rc && i < 3; i++)
		if (setenv(fixed[i][0], fixed[i][1], 1) < 0)
			rc = sp_error_errno(err, "setenv %s", fixed[i][0]);
	for (size_t i = 0; !rc && i < p->nopts; i++) {
		char nm[400];
		snprintf(nm, sizeof(nm), "SPK_OPT_%s", p->opts[i].name);
		for (char *ch = nm + 8; *ch; ch++)
			if (!((*ch >= 'a' && *ch <= 'z') || (*ch >= 'A' && *ch <= 'Z') ||
			      (*ch >= '0' && *ch <= '9')))
				*ch = '_';
		if (setenv(nm, p->opts[i].value, 1) < 0)
			rc = sp_error_errno(err, "setenv %s", nm);
	}
	if (!rc && (setenv("SPK_TEST_SCRIPT", script, 1) < 0 || setenv("SPK_TEST_DIR", dir, 1) < 0))
		rc = sp_error_errno(err, "setenv");
	_cleanup_free_ char **refs = calloc(nlayers + 1, sizeof(*refs));
	_cleanup_free_ char(*hex)[SP_DIGEST_HEX_LEN + 1] = calloc(nlayers + 1, sizeof(*hex));
	if (!rc && (!refs || !hex))
		rc = sp_error_set(err, SP_ENOMEM, "out of memory");
	spfs_manifest empty = {0};
	sp_digest none;
	if (!rc && nlayers == 0) {
		/* spfs run needs a stack: one empty layer */
		rc = spfs_commit_manifest(&none, c->s, &empty, NULL, 0, NULL, err);
		layers = &none;
		nlayers = 1;
	}
	for (size_t i = 0; !rc && i < nlayers; i++) {
		sp_digest_to_hex(&layers[i], hex[i]);
		refs[i] = hex[i];
	}
	if (!rc) {
		char *argv[] = {"/bin/sh", "-c",
				"cd \"$SPK_TEST_DIR\" && exec bash -ex \"$SPK_TEST_SCRIPT\"", NULL};
		spfs_run_opts ro = {.editable = true, .no_startup = true};
		rc = spfs_runtime_run(status, c->s, (const char *const *)refs, nlayers, argv, &ro,
				      err);
	}
	pkg__env_restore(saved);
	unlink(script);
	rmdir(tdir);
	return rc;
}

/* One test of one variant. */
static int test_one(test_ctx *c, const pkg_test_decl *t, size_t index, int variant,
		    const pkg__build_plan *planned, sp_error *err)
{
	const pkg_spec *spec = c->spec;
	const solver_build *b = &spec->build;
	pkg__build_plan p = *planned; /* resolve changes the pkg option values */
	solver_option *opts = solver_arena_array(c->a, p.nopts + 1, sizeof(*opts), err);
	if (!opts)
		return err->code;
	memcpy(opts, p.opts, p.nopts * sizeof(*opts));
	p.opts = opts;
	_cleanup_(solver_result_freep) solver_result *env = NULL;
	_cleanup_free_ sp_digest *layers = NULL;
	pkg__build_dep *deps = NULL;
	size_t ndeps = 0, nlayers = 0;
	char dir[4096], src_dir[4096];
	snprintf(src_dir, sizeof(src_dir), "%s/spk/pkg/%s/%s/src", SPFS_RUNTIME_MOUNTPOINT, b->name,
		 p.version);
	int rc = 0;
	const char *stage = stage_name(t->stage);
	if (t->stage == PKG_TEST_INSTALL) {
		/* the build of this variant: its id needs its build
		 * environment, solved as spk build solves it */
		_cleanup_(solver_result_freep) solver_result *benv = NULL;
		_cleanup_free_ sp_digest *bl = NULL;
		pkg__build_dep *bd = NULL;
		size_t nbd = 0, nbl = 0;
		if (p.nreqs && (rc = solve(c, p.reqs, p.nreqs, &p, &benv, &bd, &nbd, &bl, &nbl,
					   "build environment", err)))
			return rc;
		if ((rc = pkg__plan_resolve(&p, c->a, c->doc, bd, nbd, err)))
			return rc;
		char t0[700];
		snprintf(t0, sizeof(t0), "%s:all/=%s/%s", b->name, p.version, p.id);
		solver_request self;
		if ((rc = solver_request_parse(&self, c->a, t0, strlen(t0), SOLVER_COMPAT_API, NULL,
					       err)))
			return rc;
		solver_request *reqs = join_reqs(c, &self, 1, t->reqs, t->nreqs, err);
		if (!reqs)
			return err->code;
		rc = solve(c, reqs, t->nreqs + 1, &p, &env, &deps, &ndeps, &layers, &nlayers,
			   "install test environment", err);
		if (rc == SOLVER_EUNSAT)
			sp_error_prefix(err, "is %s built? (spk build makes it)", p.ident);
		if (rc)
			return rc;
		snprintf(dir, sizeof(dir), "%s", c->o->here ? c->o->here : ".");
	} else {
		const solver_request *base = NULL;
		size_t nbase = 0;
		if (t->stage == PKG_TEST_BUILD) {
			base = p.reqs;
			nbase = p.nreqs;
		}
		solver_request *reqs = join_reqs(c, base, nbase, t->reqs, t->nreqs, err);
		if (!reqs)
			return err->code;
		if (nbase + t->nreqs &&
		    (rc = solve(c, reqs, nbase + t->nreqs, &p, &env, &deps, &ndeps, &layers,
				&nlayers,
				t->stage == PKG_TEST_BUILD ? "build test environment"
							   : "sources test environment",
				err)))
			return rc;
		if (t->stage == PKG_TEST_BUILD &&
		    (rc = pkg__plan_resolve(&p, c->a, c->doc, deps, ndeps, err)))
			return rc;
		if (!c->o->here) {
			sp_digest sl;
			if ((rc = source_layer(c, &p, &sl, err)) ||
			    (rc = sp_realloc_array((void **)&layers, nlayers + 1, sizeof(*layers),
						   err)))
				return rc;
			layers[nlayers++] = sl;
		}
		snprintf(dir, sizeof(dir), "%s", c->o->here ? c->o->here : src_dir);
	}
	if (c->o->here && dir[0] != '/') {
		char abs[4096];
		if (!realpath(dir, abs))
			return sp_error_errno(err, "%s", dir);
		snprintf(dir, sizeof(dir), "%s", abs);
	} else if (!c->o->here && t->stage == PKG_TEST_INSTALL) {
		if (!getcwd(dir, sizeof(dir)))
			return sp_error_errno(err, "getcwd");
	}
	char ident[600];
	snprintf(ident, sizeof(ident), "%s/%s", b->name, p.version);
	if (c->o->cb)
		c->o->cb(stage, variant, index, ident, c->o->ud);
	int status = 0;
	if ((rc = run(c, t, &p, deps, ndeps, layers, nlayers, dir, &status, err)))
		return sp_error_prefix(err, "cannot run test #%zu of %s@%s", index, ident, stage);
	c->res->run++;
	if (status) {
		c->res->status = status;
		snprintf(c->res->failed, sizeof(c->res->failed), "%s@%s #%zu", ident, stage, index);
		return sp_error_set(err, SP_ERROR, "test #%zu of %s@%s failed (exit status %d)",
				    index, ident, stage, status);
	}
	return 0;
}

int pkg_repo_test(pkg_test_result *res, pkg_repo *r, const pkg_specfile *f, const pkg_spec *spec,
		  const pkg_test_opts *o, sp_error *err)
{
	memset(res, 0, sizeof(*res));
	if (spec->kind != PKG_RECIPE)
		return sp_error_set(err, SP_EINVALID, "%s: %s is not a recipe (pkg: name/version)",
				    spec->build.origin, spec->build.name);
	_cleanup_(solver_arena_freep) solver_arena *a = NULL;
	int rc = solver_arena_new(&a, err);
	if (rc)
		return rc;
	test_ctx c = {.r = r, .s = pkg_repo_store(r), .spec = spec, .o = o, .a = a, .res = res};
	const char *dtext;
	size_t dlen;
	if ((rc = pkg__recipe_doc(&c.doc, &dtext, &dlen, a, f->text, f->len, f->path, spec, err)))
		return rc;
	pkg__host host = {0};
	if (!o->no_host && (rc = pkg__host_detect(&host, a, err)))
		return rc;
	static const pkg_test_stage order[] = {PKG_TEST_SOURCES, PKG_TEST_BUILD, PKG_TEST_INSTALL};
	unsigned stages = o->stages ? o->stages : 7;
	int first = o->variant >= 0 ? o->variant : spec->nvariants ? 0 : -1;
	int last = o->variant >= 0 ? o->variant : spec->nvariants ? (int)spec->nvariants - 1 : -1;
	for (size_t s = 0; s < 3; s++) {
		if (!(stages & order[s]))
			continue;
		for (int v = first; v <= last; v++) {
			pkg_build_opts bo = {.opts = o->opts,
					     .nopts = o->nopts,
					     .no_host = o->no_host,
					     .variant = v};
			pkg__build_plan p;
			if ((rc = pkg__plan_options(&p, a, spec, c.doc, &bo,
						    o->no_host ? NULL : &host, err)))
				return rc;
			for (size_t i = 0; i < spec->ntests; i++) {
				const pkg_test_decl *t = &spec->tests[i];
				if (t->stage != order[s] || !pkg__test_selected(t, &p))
					continue;
				if ((rc = test_one(&c, t, i, v, &p, err)))
					return rc;
			}
		}
	}
	return 0;
}
