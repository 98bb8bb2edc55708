/* test_solve.c - the solver (solver/solve.c, solver/explain.c): scenarios
 * for each rule, explanations, and completeness against a brute-force
 * enumeration on generated small repositories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "solver/solver.h"

/* ----------------------------------------------------- in-memory repo */

#define MAXB 1024
typedef struct memrepo {
	solver_arena *a;
	solver_build *b[MAXB];
	size_t n;
} memrepo;

static int mem_builds(void *self, const char *name, const solver_build *const **out, size_t *n,
		      sp_error *err)
{
	memrepo *r = self;
	const solver_build **v = solver_arena_array(r->a, r->n + 1, sizeof(*v), err);
	if (!v)
		return err->code;
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->b[i]->name, name))
			v[k++] = r->b[i];
	*out = v;
	*n = k;
	return 0;
}

static int mem_embedders(void *self, const char *name, const solver_build *const **out, size_t *n,
			 sp_error *err)
{
	memrepo *r = self;
	const solver_build **v = solver_arena_array(r->a, r->n + 1, sizeof(*v), err);
	if (!v)
		return err->code;
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++) {
		bool hit = false;
		for (size_t e = 0; e < r->b[i]->nembedded; e++)
			hit = hit || !strcmp(r->b[i]->embedded[e].name, name);
		for (size_t c = 0; c < r->b[i]->ncomponents; c++)
			for (size_t e = 0; e < r->b[i]->components[c].nembedded; e++)
				hit = hit || !strcmp(r->b[i]->components[c].embedded[e].name, name);
		if (hit)
			v[k++] = r->b[i];
	}
	*out = v;
	*n = k;
	return 0;
}

static const solver_repo_ops mem_ops = {SOLVER_REPO_OPS_VERSION, mem_builds, mem_embedders};

static memrepo R;

static void reset(void)
{
	solver_arena_free(R.a);
	memset(&R, 0, sizeof(R));
	sp_error e = {0};
	assert_int_equal(solver_arena_new(&R.a, &e), 0);
}

static solver_request parse_req(const char *s, int rule)
{
	solver_request r;
	sp_error e = {0};
	int rc;
	if (!strncmp(s, "var:", 4))
		rc = solver_request_parse_var(&r, R.a, s + 4, strlen(s + 4), NULL, &e);
	else if (s[0] == '?') {
		rc = solver_request_parse(&r, R.a, s + 1, strlen(s + 1), rule, NULL, &e);
		r.include = SOLVER_INCLUDE_IF_PRESENT;
	} else if (s[0] == '!') {
		rc = solver_request_parse(&r, R.a, s + 1, strlen(s + 1), rule, NULL, &e);
		r.prerelease = SOLVER_PRERELEASE_INCLUDE;
	} else
		rc = solver_request_parse(&r, R.a, s, strlen(s), rule, NULL, &e);
	if (rc)
		fail_msg("request %s: %s", s, e.msg);
	return r;
}

static const solver_request *req_array(const char *const *reqs, size_t *n, int rule)
{
	size_t k = 0;
	while (reqs && reqs[k])
		k++;
	sp_error e = {0};
	solver_request *v = solver_arena_array(R.a, k + 1, sizeof(*v), &e);
	for (size_t i = 0; i < k; i++)
		v[i] = parse_req(reqs[i], rule);
	*n = k;
	return v;
}

static solver_component *default_comps(size_t extra)
{
	sp_error e = {0};
	solver_component *c = solver_arena_array(R.a, 2 + extra, sizeof(*c), &e);
	c[0].name = "build";
	c[1].name = "run";
	return c;
}

/* name/version[/build] and requirements (NULL-terminated). */
static solver_build *mk_list(const char *ident, const char *const *reqs)
{
	sp_error e = {0};
	solver_build *b = solver_arena_alloc(R.a, sizeof(*b), &e);
	const char *s1 = strchr(ident, '/');
	const char *s2 = strchr(s1 + 1, '/');
	b->name = solver_arena_strndup(R.a, ident, (size_t)(s1 - ident), &e);
	size_t vl = s2 ? (size_t)(s2 - s1 - 1) : strlen(s1 + 1);
	assert_int_equal(solver_version_parse(&b->version, R.a, s1 + 1, vl, NULL, &e), 0);
	b->build = s2 ? solver_arena_strdup(R.a, s2 + 1, &e) : "BLD";
	b->is_source = s2 && !strcmp(s2 + 1, "src");
	b->reqs = req_array(reqs, &b->nreqs, SOLVER_COMPAT_BINARY);
	b->components = default_comps(0);
	b->ncomponents = 2;
	b->origin = solver_arena_strdup(R.a, ident, &e);
	assert_true(R.n < MAXB);
	R.b[R.n++] = b;
	return b;
}

#define mk(ident, ...) mk_list(ident, (const char *const[]){__VA_ARGS__, NULL})
#define mk0(ident)     mk_list(ident, NULL)

static void set_opt(solver_build *b, const char *name, const char *value)
{
	sp_error e = {0};
	solver_option *o = solver_arena_array(R.a, b->noptions + 1, sizeof(*o), &e);
	if (b->noptions)
		memcpy(o, b->options, b->noptions * sizeof(*o));
	o[b->noptions].name = name;
	o[b->noptions].value = value;
	b->options = o;
	b->noptions++;
}

static solver_result *solve_opts(const char *const *reqs, const solver_opt *opts, size_t nopts,
				 bool allow, int *rc_out)
{
	solver_repo repo = {&mem_ops, &R, "mem"};
	size_t n;
	const solver_request *rq = req_array(reqs, &n, SOLVER_COMPAT_API);
	char *tbuf = NULL;
	size_t tlen = 0;
	FILE *tf = open_memstream(&tbuf, &tlen);
	solver_options o = {.repos = &repo,
			    .nrepos = 1,
			    .requests = rq,
			    .nrequests = n,
			    .opts = opts,
			    .nopts = nopts,
			    .allow_builds = allow,
			    .trace = tf};
	solver_result *r = NULL;
	sp_error e = {0};
	int rc = solver_solve(&r, &o, &e);
	fclose(tf);
	if (rc && rc != SOLVER_EUNSAT)
		fail_msg("solve error %d: %s", rc, e.msg);
	/* the clause solver's verdict agrees with the search's (when the
	 * clause solver ran: a conflict among the requests themselves stops
	 * before it) */
	if (strstr(tbuf, "clause solver:") &&
	    !strstr(tbuf, rc == 0 ? ": solvable" : ": unsolvable"))
		fail_msg("clause solver disagrees with the search (rc %d):\n%.2000s", rc, tbuf);
	free(tbuf);
	*rc_out = rc;
	return r;
}

static solver_result *solve_traced(const char *const *reqs, int *rc_out, char **buf, size_t *len)
{
	solver_repo repo = {&mem_ops, &R, "mem"};
	size_t n;
	const solver_request *rq = req_array(reqs, &n, SOLVER_COMPAT_API);
	FILE *f = open_memstream(buf, len);
	solver_options o = {
	    .repos = &repo, .nrepos = 1, .requests = rq, .nrequests = n, .trace = f};
	solver_result *r = NULL;
	sp_error e = {0};
	int rc = solver_solve(&r, &o, &e);
	fclose(f);
	if (rc && rc != SOLVER_EUNSAT)
		fail_msg("solve error %d: %s", rc, e.msg);
	*rc_out = rc;
	return r;
}

static char *ids(const solver_result *r)
{
	static char buf[4096];
	buf[0] = '\0';
	for (size_t i = 0; i < solver_result_count(r); i++) {
		const solver_resolved *it = solver_result_get(r, i);
		char v[128], one[300];
		snprintf(one, sizeof(one), "%s%s/%s/%s%s", i ? " " : "", it->build->name,
			 solver_version_str(&it->build->version, v, sizeof(v)), it->build->build,
			 it->from_source ? "*" : "");
		strncat(buf, one, sizeof(buf) - strlen(buf) - 1);
	}
	return buf;
}

#define SOLVE(want, ...)                                                                           \
	do {                                                                                       \
		int rc_;                                                                           \
		solver_result *r_ =                                                                \
		    solve_opts((const char *const[]){__VA_ARGS__, NULL}, NULL, 0, false, &rc_);    \
		if (rc_)                                                                           \
			fail_msg("unsat:\n%s", solver_result_explanation(r_));                     \
		assert_string_equal(ids(r_), want);                                                \
		solver_result_free(r_);                                                            \
	} while (0)

/* Unsat, and the explanation contains each of the given fragments. */
static void unsat(const char *const *reqs, const char *const *frags)
{
	int rc;
	solver_result *r = solve_opts(reqs, NULL, 0, false, &rc);
	if (rc != SOLVER_EUNSAT)
		fail_msg("expected no solution, got %s", ids(r));
	const char *ex = solver_result_explanation(r);
	for (size_t i = 0; frags[i]; i++)
		if (!strstr(ex, frags[i]))
			fail_msg("explanation lacks '%s':\n%s", frags[i], ex);
	solver_result_free(r);
}
#define UNSAT(reqs, ...)                                                                           \
	unsat((const char *const[]){reqs, NULL}, (const char *const[]){__VA_ARGS__, NULL})
#define UNSAT2(r1, r2, ...)                                                                        \
	unsat((const char *const[]){r1, r2, NULL}, (const char *const[]){__VA_ARGS__, NULL})

/* ---------------------------------------------------------- scenarios */

static void test_newest(void **st)
{
	(void)st;
	reset();
	mk0("a/1.0.0");
	mk0("a/1.2.0");
	mk0("a/1.10.0");
	SOLVE("a/1.10.0/BLD", "a");
	SOLVE("a/1.2.0/BLD", "a/<1.10");
	SOLVE("a/1.10.0/BLD", "a/1.0"); /* API compat: any 1.x */
	SOLVE("a/1.0.0/BLD", "a/Binary:1.0");
}

static void test_backtrack(void **st)
{
	(void)st;
	reset();
	mk("a/2.0.0", "c/2");
	mk("a/1.0.0", "c/1");
	mk("b/1.0.0", "c/1");
	mk0("c/2.0.0");
	mk0("c/1.0.0");
	SOLVE("a/1.0.0/BLD b/1.0.0/BLD c/1.0.0/BLD", "a", "b");
	SOLVE("a/2.0.0/BLD c/2.0.0/BLD", "a");
}

static void test_deep_backjump(void **st)
{
	(void)st;
	reset();
	/* a/3 and a/2 fail deep below through x; the fix is a/1 */
	mk("a/3.0.0", "b/1", "x/2");
	mk("a/2.0.0", "b/1", "x/2");
	mk("a/1.0.0", "b/1", "x/1");
	for (int i = 0; i < 6; i++) {
		char id[32];
		snprintf(id, sizeof(id), "b/1.%d.0", i);
		mk(id, "c/1");
	}
	mk0("c/1.0.0");
	mk("x/2.0.0", "y/9");
	mk0("x/1.0.0");
	mk0("y/1.0.0");
	SOLVE("a/1.0.0/BLD b/1.5.0/BLD c/1.0.0/BLD x/1.0.0/BLD", "a");
}

static void test_unsat_explained(void **st)
{
	(void)st;
	reset();
	mk("maya/2024.2.0", "python/~3.10");
	mk0("python/3.10.4");
	mk0("python/3.9.7");
	UNSAT2("maya/2024", "python/Binary:3.9", "maya/2024.2.0/BLD requires python/~3.10",
	       "python/3.10.4/BLD does not satisfy python/Binary:3.9 from the command line",
	       "python/3.9.7/BLD does not satisfy python/~3.10 from maya/2024.2.0/BLD",
	       "To find a solution, change", "python/Binary:3.9");
	mk("my-plugin/1.0.0", "maya/2020");
	mk0("maya/2019.0.0");
	mk0("maya/2020.1.0");
	UNSAT2("my-plugin", "maya/=2019", "my-plugin/1.0.0/BLD requires maya/2020",
	       "do not satisfy maya/=2019 from the command line");
}

static void test_root_conflict(void **st)
{
	(void)st;
	reset();
	mk0("python/3.9.7");
	mk0("python/4.0.0");
	UNSAT2("python/3.9", "python/4", "no candidate of python satisfies all the requests",
	       "python/4.0.0/BLD does not satisfy python/3.9 from the command line");
	/* ranges with no version in common are named, both of them */
	UNSAT2("python/>=3.9", "python/<3", "no candidate of python satisfies all the requests",
	       "python/>=3.9 from the command line and python/<3 share no version: >=3.9 and "
	       "<3 do not intersect");
	UNSAT("python/>=3.9,<3",
	      "python/>=3.9,<3 allows no version: >=3.9 and <3 do not intersect");
	mk("tool/1.0.0", "python/~2.7");
	UNSAT2("python/>=3", "tool",
	       "python/>=3 from the command line and python/~2.7 share no version: >=3 and ~2.7 "
	       "do not intersect");
}

static void test_missing(void **st)
{
	(void)st;
	reset();
	mk("a/1.0.0", "nope/1");
	UNSAT("nothing", "no package named nothing exists");
	UNSAT("a", "a/1.0.0/BLD requires nope/1, and no candidate of nope is left",
	      "no package named nope exists");
	UNSAT("a/2", "does not satisfy a/2 from the command line");
}

static void test_if_present(void **st)
{
	(void)st;
	reset();
	mk("a/1.0.0", "?openssl/1.1");
	mk0("openssl/1.1.1");
	mk0("openssl/3.0.0");
	SOLVE("a/1.0.0/BLD", "a");
	SOLVE("a/1.0.0/BLD openssl/1.1.1/BLD", "a", "openssl");
	SOLVE("a/1.0.0/BLD openssl/1.1.1/BLD", "openssl", "a");
	UNSAT2("a", "openssl/3", "does not satisfy openssl/1.1 from a/1.0.0/BLD");
}

static void test_deprecated(void **st)
{
	(void)st;
	reset();
	mk0("a/2.0.0/NEW")->deprecated = true;
	mk0("a/1.0.0/OLD");
	SOLVE("a/1.0.0/OLD", "a");
	SOLVE("a/2.0.0/NEW", "a/2.0.0/NEW");
	UNSAT("a/2", "a/2.0.0/NEW is deprecated");
	/* a dependency on a deprecated-only package fails, explained */
	mk("b/1.0.0", "a/2");
	UNSAT("b", "is deprecated");
}

static void test_prerelease(void **st)
{
	(void)st;
	reset();
	mk0("a/2.0.0-beta.1");
	mk0("a/1.0.0");
	SOLVE("a/1.0.0/BLD", "a");
	SOLVE("a/2.0.0-beta.1/BLD", "a/>=2.0.0-beta.0");
	SOLVE("a/2.0.0-beta.1/BLD", "!a");
	UNSAT("a/>=1.5", "is a pre-release");
	mk("b/1.0.0", "!a/>=1.5");
	SOLVE("a/2.0.0-beta.1/BLD b/1.0.0/BLD", "b");
	/* the stricter request wins: the command line excludes pre-releases */
	UNSAT2("b", "a", "is a pre-release");
}

static void test_vars(void **st)
{
	(void)st;
	reset();
	set_opt(mk0("a/1.0.0/ON"), "debug", "on");
	set_opt(mk0("a/1.0.0/OFF"), "debug", "off");
	set_opt(mk0("py/3.9.0/CP39"), "abi", "cp39");
	set_opt(mk0("py/3.9.0/CP39M"), "abi", "cp39m");
	mk("mod/1.0.0", "py/3.9", "var:py.abi/cp39m");
	SOLVE("a/1.0.0/ON", "a"); /* SPK's build order: "on" before "off" */
	SOLVE("a/1.0.0/ON", "a", "var:debug/on");
	SOLVE("a/1.0.0/OFF", "a", "var:a.debug/off");
	SOLVE("mod/1.0.0/BLD py/3.9.0/CP39M", "mod");
	int rc;
	solver_opt o = {"debug", "on"};
	solver_result *r = solve_opts((const char *const[]){"a", NULL}, &o, 1, false, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(ids(r), "a/1.0.0/ON");
	solver_result_free(r);
	UNSAT2("var:debug/on", "var:debug/off", "requests debug/off", "requests debug/on");
	UNSAT2("mod", "var:py.abi/cp39", "py.abi/cp39m");
	UNSAT2("a", "var:debug/maybe", "its option debug is off, not maybe");
}

static void test_components(void **st)
{
	(void)st;
	reset();
	solver_build *b = mk0("a/1.0.0");
	solver_component *c = default_comps(2);
	c[1].uses = (const char *const[]){"lib"};
	c[1].nuses = 1;
	c[2].name = "lib";
	size_t n;
	c[2].reqs = req_array((const char *const[]){"libz/1", NULL}, &n, SOLVER_COMPAT_BINARY);
	c[2].nreqs = n;
	c[3].name = "docs";
	c[3].reqs = req_array((const char *const[]){"viewer", NULL}, &n, SOLVER_COMPAT_BINARY);
	c[3].nreqs = n;
	b->components = c;
	b->ncomponents = 4;
	mk0("libz/1.2.0");
	mk0("viewer/1.0.0");
	SOLVE("a/1.0.0/BLD libz/1.2.0/BLD", "a"); /* run uses lib */
	SOLVE("a/1.0.0/BLD viewer/1.0.0/BLD", "a:docs");
	SOLVE("a/1.0.0/BLD libz/1.2.0/BLD viewer/1.0.0/BLD", "a:{run,docs}");
	SOLVE("a/1.0.0/BLD libz/1.2.0/BLD viewer/1.0.0/BLD", "a:all");
	/* a component added by a later request brings its requirements */
	mk("tool/1.0.0", "a:docs");
	SOLVE("a/1.0.0/BLD libz/1.2.0/BLD tool/1.0.0/BLD viewer/1.0.0/BLD", "a", "tool");
	UNSAT("a:nope", "has no component 'nope'");
	int rc;
	solver_result *r = solve_opts((const char *const[]){"a:docs", NULL}, NULL, 0, false, &rc);
	assert_int_equal(rc, 0);
	const solver_resolved *it = solver_result_get(r, 0);
	assert_int_equal(it->ncomponents, 1);
	assert_string_equal(it->components[0], "docs");
	solver_result_free(r);
}

static void test_embedded(void **st)
{
	(void)st;
	reset();
	solver_build *p = mk0("maya/2024.0.0");
	sp_error e = {0};
	solver_embedded *em = solver_arena_array(R.a, 1, sizeof(*em), &e);
	em->name = "qt";
	assert_int_equal(solver_version_parse(&em->version, R.a, "5.15.2", 6, NULL, &e), 0);
	p->embedded = em;
	p->nembedded = 1;
	mk0("qt/6.5.0");
	mk("app/1.0.0", "qt/5.15");
	SOLVE("maya/2024.0.0/BLD qt/5.15.2/embedded", "maya");
	SOLVE("qt/6.5.0/BLD", "qt");
	/* needing qt 5.15 brings the package that embeds it */
	SOLVE("app/1.0.0/BLD maya/2024.0.0/BLD qt/5.15.2/embedded", "app");
	UNSAT2("maya", "qt/6", "maya/2024.0.0/BLD embeds qt");
	int rc;
	solver_result *r = solve_opts((const char *const[]){"app", NULL}, NULL, 0, false, &rc);
	assert_int_equal(rc, 0);
	const solver_resolved *q = solver_result_get(r, 2);
	assert_string_equal(q->build->name, "qt");
	assert_non_null(q->embedded_in);
	assert_string_equal(q->embedded_in, "maya/2024.0.0/BLD");
	solver_result_free(r);
}

static void test_source(void **st)
{
	(void)st;
	reset();
	mk0("a/1.0.0/src");
	mk0("a/1.0.0/BIN");
	SOLVE("a/1.0.0/BIN", "a");
	SOLVE("a/1.0.0/src", "a/1.0.0/src");
	reset();
	mk0("b/1.0.0/src");
	UNSAT("b", "is a source package");
	/* beside binary builds, source packages are neither counted nor listed */
	reset();
	mk0("c/1.0.0/src");
	mk0("c/1.0.0/BIN");
	mk0("c/2.0.0/src");
	mk0("c/2.0.0/BIN");
	UNSAT2("c/1", "c/2", "c/2.0.0/BIN does not", "c/1.0.0/BIN does not");
	mk("e/1.0.0", "c/3");
	mk("e/1.1.0", "c/3");
	mk0("e/1.1.0/src");
	UNSAT("e", "e is needed (the command line requires e), but none of its 2 candidates",
	      "e/1.0.0/BLD requires c/3, and no candidate of c is left");
	int rc;
	solver_result *r =
	    solve_opts((const char *const[]){"c/1", "c/2", NULL}, NULL, 0, false, &rc);
	assert_int_equal(rc, SOLVER_EUNSAT);
	assert_null(strstr(solver_result_explanation(r), "source package"));
	solver_result_free(r);
	reset();
	mk0("d/1.0.0/src");
	mk0("d/1.0.0/BIN");
	mk("f/1.0.0", "d/2");
	UNSAT("f",
	      "f is needed (the command line requires f), but its only candidate cannot be used",
	      "d/1.0.0/BIN does not satisfy d/2");
}

static void test_allow_builds(void **st)
{
	(void)st;
	reset();
	solver_build *b = mk("a/1.0.0", "dep");
	b->is_recipe = true;
	sp_error e = {0};
	solver_option *o = solver_arena_array(R.a, 1, sizeof(*o), &e);
	o->name = "debug";
	o->value = "off";
	o->choices = (const char *const[]){"on", "off"};
	o->nchoices = 2;
	b->options = o;
	b->noptions = 1;
	size_t n;
	b->build_reqs = req_array((const char *const[]){"cmake/3", NULL}, &n, SOLVER_COMPAT_API);
	b->nbuild_reqs = n;
	mk0("dep/1.0.0");
	int rc;
	solver_opt on = {"debug", "on"};
	solver_result *r = solve_opts((const char *const[]){"a", NULL}, &on, 1, false, &rc);
	assert_int_equal(rc, SOLVER_EUNSAT);
	solver_result_free(r);
	/* with --allow-builds: building needs cmake, which is missing */
	r = solve_opts((const char *const[]){"a", NULL}, &on, 1, true, &rc);
	assert_int_equal(rc, SOLVER_EUNSAT);
	assert_non_null(strstr(solver_result_explanation(r), "cannot be built"));
	assert_non_null(strstr(solver_result_explanation(r), "cmake"));
	solver_result_free(r);
	mk0("cmake/3.20.0");
	r = solve_opts((const char *const[]){"a", NULL}, &on, 1, true, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(ids(r), "a/1.0.0/BLD* dep/1.0.0/BLD");
	const solver_resolved *it = solver_result_get(r, 0);
	assert_true(it->from_source);
	assert_int_equal(it->noptions, 1);
	assert_string_equal(it->options[0].value, "on");
	solver_result_free(r);
	/* a value outside the option's choices cannot be built either */
	solver_opt bad = {"debug", "maybe"};
	r = solve_opts((const char *const[]){"a", NULL}, &bad, 1, true, &rc);
	assert_int_equal(rc, SOLVER_EUNSAT);
	solver_result_free(r);
}

static void test_cycles(void **st)
{
	(void)st;
	reset();
	mk("a/1.0.0", "b");
	mk("b/1.0.0", "a");
	mk("s/1.0.0", "s/1");
	SOLVE("a/1.0.0/BLD b/1.0.0/BLD", "a");
	SOLVE("s/1.0.0/BLD", "s");
	mk("t/2.0.0", "t/1");
	mk0("t/1.0.0");
	SOLVE("t/1.0.0/BLD", "t");
}

static void test_repos(void **st)
{
	(void)st;
	reset();
	memrepo second = {0};
	sp_error e = {0};
	assert_int_equal(solver_arena_new(&second.a, &e), 0);
	mk0("a/1.0.0/X");
	memrepo first = R;
	R = second;
	mk0("a/1.0.0/X");
	mk0("a/0.9.0/Y");
	second = R;
	R = first;
	solver_repo repos[2] = {{&mem_ops, &first, "one"}, {&mem_ops, &second, "two"}};
	size_t n;
	const solver_request *rq =
	    req_array((const char *const[]){"two/a/0.9", NULL}, &n, SOLVER_COMPAT_API);
	solver_options o = {.repos = repos, .nrepos = 2, .requests = rq, .nrequests = n};
	solver_result *r = NULL;
	assert_int_equal(solver_solve(&r, &o, &e), 0);
	assert_string_equal(ids(r), "a/0.9.0/Y");
	solver_result_free(r);
	rq = req_array((const char *const[]){"one/a/0.9", NULL}, &n, SOLVER_COMPAT_API);
	o.requests = rq;
	assert_int_equal(solver_solve(&r, &o, &e), SOLVER_EUNSAT);
	assert_non_null(strstr(solver_result_explanation(r), "repository"));
	solver_result_free(r);
	solver_arena_free(second.a);
}

static void test_dot_and_limit(void **st)
{
	(void)st;
	reset();
	mk("a/1.0.0", "b");
	mk0("b/1.0.0");
	int rc;
	solver_result *r = solve_opts((const char *const[]){"a", NULL}, NULL, 0, false, &rc);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	sp_error e = {0};
	assert_int_equal(solver_result_write_dot(r, f, &e), 0);
	fclose(f);
	assert_non_null(strstr(buf, "digraph solution"));
	assert_non_null(strstr(buf, "a/1.0.0/BLD"));
	assert_non_null(strstr(buf, "-> n1"));
	free(buf);
	solver_result_free(r);
	r = solve_opts((const char *const[]){"a/2", NULL}, NULL, 0, false, &rc);
	f = open_memstream(&buf, &len);
	assert_int_equal(solver_result_write_dot(r, f, &e), 0);
	fclose(f);
	assert_non_null(strstr(buf, "digraph conflict"));
	free(buf);
	solver_result_free(r);
	/* past the search's step limit, an unsolvable request is explained by
	 * the clause solver's facts */
	reset();
	for (int i = 0; i < 30; i++) {
		char id[32];
		snprintf(id, sizeof(id), "a/1.%d.0", i);
		mk(id, "z/2");
	}
	mk0("z/1.0.0");
	solver_repo repo = {&mem_ops, &R, "mem"};
	size_t n;
	const solver_request *rq =
	    req_array((const char *const[]){"a", NULL}, &n, SOLVER_COMPAT_API);
	solver_options o = {
	    .repos = &repo, .nrepos = 1, .requests = rq, .nrequests = n, .max_steps = 5};
	assert_int_equal(solver_solve(&r, &o, &e), SOLVER_EUNSAT);
	const char *ex = solver_result_explanation(r);
	if (!strstr(ex, "these facts cannot all hold at once") ||
	    !strstr(ex, "the command line requires a") ||
	    !strstr(ex, "a/1.29.0/BLD requires z/2, which nothing in the repositories satisfies"))
		fail_msg("core explanation:\n%s", ex);
	f = open_memstream(&buf, &len);
	assert_int_equal(solver_result_write_dot(r, f, &e), 0);
	fclose(f);
	assert_non_null(strstr(buf, "digraph conflict"));
	assert_non_null(strstr(buf, "requires z/2"));
	free(buf);
	solver_result_free(r);
}

/* ---------------------------------------------- brute-force completeness */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng_state >> 33) % n;
}

#define NP 5
#define NV 4

/* Var rules: the var requests of the command line and of the chosen builds
 * agree with each other and with the chosen builds' options; a required
 * option without a value rules its build out. */
static bool vars_valid(solver_build **all, const int *choice, const solver_request *rq, size_t nrq)
{
	const solver_request *vr[64];
	size_t nv = 0;
	for (size_t i = 0; i < nrq && nv < 64; i++)
		if (rq[i].kind == SOLVER_REQ_VAR)
			vr[nv++] = &rq[i];
	for (int p = 0; p < NP; p++) {
		if (choice[p] < 0)
			continue;
		const solver_build *b = all[choice[p]];
		for (size_t k = 0; k < b->nreqs && nv < 64; k++)
			if (b->reqs[k].kind == SOLVER_REQ_VAR)
				vr[nv++] = &b->reqs[k];
		for (size_t o = 0; o < b->noptions; o++)
			if (b->options[o].required && !*b->options[o].value)
				return false;
	}
	for (size_t i = 0; i < nv; i++)
		for (size_t j = 0; j < i; j++) {
			bool same = (!vr[i]->var_pkg && !vr[j]->var_pkg) ||
				    (vr[i]->var_pkg && vr[j]->var_pkg &&
				     !strcmp(vr[i]->var_pkg, vr[j]->var_pkg));
			if (same && !strcmp(vr[i]->var, vr[j]->var) &&
			    strcmp(vr[i]->value, vr[j]->value))
				return false;
		}
	for (int p = 0; p < NP; p++) {
		if (choice[p] < 0)
			continue;
		const solver_build *b = all[choice[p]];
		for (size_t i = 0; i < nv; i++) {
			if (vr[i]->var_pkg && strcmp(vr[i]->var_pkg, b->name))
				continue;
			for (size_t o = 0; o < b->noptions; o++)
				if (!strcmp(b->options[o].name, vr[i]->var) &&
				    strcmp(b->options[o].value, vr[i]->value))
					return false;
		}
	}
	return true;
}

/* Is the assignment (choice[p] = build index or -1) valid? */
static bool valid(solver_build **all, size_t nall, const int *choice, const solver_request *rq,
		  size_t nrq)
{
	if (!vars_valid(all, choice, rq, nrq))
		return false;
	for (size_t i = 0; i < nrq; i++) {
		if (rq[i].kind == SOLVER_REQ_VAR)
			continue;
		int hit = -1;
		for (size_t b = 0; b < nall; b++)
			if (!strcmp(all[b]->name, rq[i].name) && choice[b / NV] == (int)b)
				hit = (int)b;
		if (hit < 0)
			return false;
		if (!solver_range_allows(&rq[i].range, &all[hit]->version, &all[hit]->compat,
					 rq[i].compat_rule, NULL, 0))
			return false;
	}
	for (int p = 0; p < NP; p++) {
		if (choice[p] < 0)
			continue;
		const solver_build *b = all[choice[p]];
		for (size_t k = 0; k < b->nreqs; k++) {
			const solver_request *r = &b->reqs[k];
			if (r->kind == SOLVER_REQ_VAR)
				continue;
			int hit = -1;
			for (size_t o = 0; o < nall; o++)
				if (!strcmp(all[o]->name, r->name) && choice[o / NV] == (int)o)
					hit = (int)o;
			if (hit < 0) {
				if (r->include == SOLVER_INCLUDE_ALWAYS)
					return false;
				continue;
			}
			if (!solver_range_allows(&r->range, &all[hit]->version, &all[hit]->compat,
						 r->compat_rule, NULL, 0))
				return false;
		}
	}
	return true;
}

static bool brute(solver_build **all, size_t nall, int *choice, int p, const solver_request *rq,
		  size_t nrq)
{
	if (p == NP)
		return valid(all, nall, choice, rq, nrq);
	for (int c = -1; c < NV; c++) {
		choice[p] = c < 0 ? -1 : p * NV + c;
		if (brute(all, nall, choice, p + 1, rq, nrq))
			return true;
	}
	choice[p] = -1;
	return false;
}

static const char *rand_range(char *buf, size_t n)
{
	int a = (int)rnd(NV) + 1, b = (int)rnd(NV) + 1;
	switch (rnd(8)) {
	case 0: snprintf(buf, n, ">=%d", a); break;
	case 1: snprintf(buf, n, "<%d", a + 1); break;
	case 2: snprintf(buf, n, "=%d", a); break;
	case 3: snprintf(buf, n, ">=%d,<%d", a < b ? a : b, (a > b ? a : b) + 1); break;
	case 4: snprintf(buf, n, "%d", a); break;
	case 5: snprintf(buf, n, "!=%d", a); break;
	case 6: snprintf(buf, n, "^%d", a); break;
	default: snprintf(buf, n, "%d.*", a); break;
	}
	return buf;
}

static char *ordered_ids(const solver_result *r)
{
	static char buf[4096];
	buf[0] = '\0';
	for (size_t i = 0; solver_result_get_ordered(r, i); i++) {
		const solver_resolved *it = solver_result_get_ordered(r, i);
		char one[300];
		snprintf(one, sizeof(one), "%s%s", i ? " " : "", it->build->name);
		strncat(buf, one, sizeof(buf) - strlen(buf) - 1);
	}
	return buf;
}

/* Solve order: requests as given, then breadth first what each brought,
 * embedded packages right after their parent. */
static void test_solve_order(void **st)
{
	(void)st;
	reset();
	mk("app/1.0.0", "zlib/1", "maya/2024");
	solver_build *maya = mk("maya/2024.0.0", "python/3");
	sp_error e = {0};
	solver_embedded *em = solver_arena_array(R.a, 1, sizeof(*em), &e);
	em->name = "qt";
	assert_int_equal(solver_version_parse(&em->version, R.a, "5.15.2", 6, NULL, &e), 0);
	maya->embedded = em;
	maya->nembedded = 1;
	mk("python/3.9.0", "zlib/1");
	mk0("zlib/1.2.0");
	mk("tool/1.0.0", "python");
	mk("b/1.0.0", "?zlib/1", "a");
	mk("a/1.0.0", "zlib");
	static const struct {
		const char *reqs[4];
		const char *want;
	} cases[] = {
	    {{"app"}, "app zlib maya qt python"},
	    {{"tool", "app"}, "tool app python zlib maya qt"},
	    {{"app", "tool"}, "app tool zlib maya qt python"},
	    {{"python", "maya"}, "python maya qt zlib"},
	    /* a stand-in brings its parent first */
	    {{"qt/5.15", "zlib"}, "maya qt zlib python"},
	    /* IfAlreadyPresent does not place a package */
	    {{"b"}, "b a zlib"},
	    {{"zlib", "b"}, "zlib b a"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;
		solver_result *r = solve_opts(cases[i].reqs, NULL, 0, false, &rc);
		if (rc)
			fail_msg("case %zu unsat:\n%s", i, solver_result_explanation(r));
		if (strcmp(ordered_ids(r), cases[i].want))
			fail_msg("case %zu: got '%s', want '%s'", i, ordered_ids(r), cases[i].want);
		size_t words = 1;
		for (const char *p = cases[i].want; *p; p++)
			words += *p == ' ';
		assert_int_equal(solver_result_count(r), words);
		assert_null(solver_result_get_ordered(r, solver_result_count(r)));
		solver_result_free(r);
	}
	assert_null(solver_result_get_ordered(NULL, 0));
}

/* Builds of one version in SPK's build-key order: the solver takes the
 * first, so each case lists builds (id: options) and the one chosen. */
static void test_build_order(void **st)
{
	(void)st;
	static const struct {
		const char *builds[4]; /* "ID name=value name=value" */
		const char *want;
	} cases[] = {
	    {{"OFF debug=off", "ON debug=on"}, "ON"}, /* text: reverse alphabetical */
	    {{"A python=2.7", "B python=3.7"}, "B"},  /* versions: higher first */
	    {{"A v=1.9", "B v=1.10"}, "B"},
	    {{"A gcc=6 abi=z", "B gcc=9 abi=a"}, "B"}, /* gcc comes first */
	    {{"A python=3.7 abi=z", "B python=2.7 abi=a"}, "A"},
	    {{"A abi=z zlib=1.0", "B abi=a zlib=2.0"}, "A"}, /* then by name */
	    {{"A cmake=apples", "B cmake=3.0"}, "B"},	     /* a version before text */
	    {{"A", "B debug=on"}, "B"},			     /* a missing value is last */
	    {{"A gcc=~6.3.1", "B gcc=~9.3.1"}, "B"},
	    {{"A gcc=~6.3.1", "B gcc=6.3.1"}, "B"},    /* no upper limit is highest */
	    {{"B same=1 x=on", "A same=1 x=on"}, "A"}, /* equal keys: build id */
	    {{"A x=a", "B x=b", "C x=c"}, "C"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reset();
		for (size_t k = 0; k < 4 && cases[i].builds[k]; k++) {
			char buf[200], id[64];
			snprintf(buf, sizeof(buf), "%s", cases[i].builds[k]);
			char *save = NULL, *tok = strtok_r(buf, " ", &save);
			snprintf(id, sizeof(id), "a/1.0.0/%s", tok);
			solver_build *b = mk0(id);
			while ((tok = strtok_r(NULL, " ", &save))) {
				char *eq = strchr(tok, '=');
				*eq = '\0';
				sp_error e = {0};
				set_opt(b, solver_arena_strdup(R.a, tok, &e),
					solver_arena_strdup(R.a, eq + 1, &e));
			}
		}
		int rc;
		solver_result *r =
		    solve_opts((const char *const[]){"a", NULL}, NULL, 0, false, &rc);
		assert_int_equal(rc, 0);
		if (strcmp(solver_result_get(r, 0)->build->build, cases[i].want))
			fail_msg("case %zu: chose %s, want %s", i,
				 solver_result_get(r, 0)->build->build, cases[i].want);
		solver_result_free(r);
	}
}

static solver_option *add_opt(solver_build *b, const char *name, const char *value)
{
	set_opt(b, name, value);
	return (solver_option *)&b->options[b->noptions - 1];
}

/* A pkg option (a build dependency): recorded value, and its build
 * request for recipes. */
static void add_pkgopt(solver_build *b, const char *name, const char *value, const char *breq)
{
	add_opt(b, name, value)->is_pkg = true;
	if (breq) {
		sp_error e = {0};
		solver_request *v = solver_arena_array(R.a, b->nbuild_reqs + 1, sizeof(*v), &e);
		if (b->nbuild_reqs)
			memcpy(v, b->build_reqs, b->nbuild_reqs * sizeof(*v));
		v[b->nbuild_reqs] = parse_req(breq, SOLVER_COMPAT_API);
		b->build_reqs = v;
		b->nbuild_reqs++;
	}
}

/* An install requirement with fromBuildEnv: pin. */
static void add_pinned(solver_build *b, const char *req, const char *pin)
{
	sp_error e = {0};
	solver_request *v = solver_arena_array(R.a, b->nreqs + 1, sizeof(*v), &e);
	if (b->nreqs)
		memcpy(v, b->reqs, b->nreqs * sizeof(*v));
	v[b->nreqs] = parse_req(req, SOLVER_COMPAT_BINARY);
	v[b->nreqs].from_build_env = true;
	v[b->nreqs].pin = pin;
	b->reqs = v;
	b->nreqs++;
}

typedef struct scase {
	const char *reqs[4];
	const char *opt; /* "name=value" for --opt, or NULL */
	bool allow;
	const char *want; /* ids, or "!fragment" of the explanation */
} scase;

static void run_cases(const scase *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc;
		solver_opt o = {0};
		char nm[64] = "";
		if (cases[i].opt) {
			snprintf(nm, sizeof(nm), "%s", cases[i].opt);
			*strchr(nm, '=') = '\0';
			o.name = nm;
			o.value = strchr(cases[i].opt, '=') + 1;
		}
		solver_result *r =
		    solve_opts(cases[i].reqs, &o, cases[i].opt ? 1 : 0, cases[i].allow, &rc);
		if (cases[i].want[0] == '!') {
			if (rc != SOLVER_EUNSAT)
				fail_msg("case %zu: expected no solution, got %s", i, ids(r));
			if (!strstr(solver_result_explanation(r), cases[i].want + 1))
				fail_msg("case %zu: explanation lacks '%s':\n%s", i,
					 cases[i].want + 1, solver_result_explanation(r));
		} else {
			if (rc)
				fail_msg("case %zu: unsat:\n%s", i, solver_result_explanation(r));
			if (strcmp(ids(r), cases[i].want))
				fail_msg("case %zu: got %s, want %s", i, ids(r), cases[i].want);
		}
		solver_result_free(r);
	}
}

/* Var requests and --opt match pkg options (build dependencies) too. */
static void test_pkg_options(void **st)
{
	(void)st;
	reset();
	add_pkgopt(mk0("a/1.0.0/PY37"), "python", "3.7.3", NULL);
	add_pkgopt(mk0("a/1.0.0/PY39"), "python", "3.9.1", NULL);
	solver_build *rb = mk0("r/1.0.0/DEF");
	rb->is_recipe = true;
	add_pkgopt(rb, "python", "3", "python/3");
	mk0("python/3.9.1");
	mk0("python/2.7.18");
	static const scase cases[] = {
	    {{"a"}, NULL, false, "a/1.0.0/PY39"},
	    {{"a", "var:python/~3.7.0"}, NULL, false, "a/1.0.0/PY37"},
	    {{"a", "var:a.python/<3.8"}, NULL, false, "a/1.0.0/PY37"},
	    {{"a"}, "python=~3.7.0", false, "a/1.0.0/PY37"},
	    {{"a"}, "python=3.7", false, "a/1.0.0/PY39"}, /* API: 3.9 is compatible */
	    {{"a"}, "a.python=~3.9", false, "a/1.0.0/PY39"},
	    {{"a", "var:python/4"},
	     NULL,
	     false,
	     "!it was built against python/3.9.1, not python/4"},
	    {{"a"}, "python=not a range", false, "!not a version range"},
	    /* a recipe's default build: its default range must meet the value */
	    {{"r"}, "python=3.9", false, "r/1.0.0/DEF"},
	    {{"r"}, "python=~2.7", false, "!shares no version with ~2.7"},
	    /* built from source with the value as its dependency's range */
	    {{"r"}, "python=~2.7", true, "r/1.0.0/DEF*"},
	};
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
	/* the build from source records the value it is built with */
	int rc;
	solver_opt o = {"python", "~2.7"};
	solver_result *r = solve_opts((const char *const[]){"r", NULL}, &o, 1, true, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(solver_result_get(r, 0)->options[0].value, "~2.7");
	solver_result_free(r);
}

/* required var options, and Strong inheritance into dependents. */
static void test_required_and_inheritance(void **st)
{
	(void)st;
	static const solver_inheritance kinds[] = {
	    SOLVER_INHERIT_STRONG, SOLVER_INHERIT_STRONG_BUILD, SOLVER_INHERIT_WEAK};
	for (size_t k = 0; k < 3; k++) {
		reset();
		add_opt(mk0("base/1.0.0/ON"), "flavor", "on")->inheritance = kinds[k];
		add_opt(mk0("base/1.0.0/OFF"), "flavor", "off")->inheritance = kinds[k];
		solver_build *top = mk("top/1.0.0/TOP", "base");
		top->is_recipe = true;
		add_pkgopt(top, "base", "", "base");
		/* top's build environment has base/ON (tried first): built
		 * against it, with Strong it needs flavor on at run time */
		static const scase strong[] = {
		    {{"top"}, NULL, false, "base/1.0.0/ON top/1.0.0/TOP"},
		    {{"top", "base/1.0.0/OFF"},
		     NULL,
		     false,
		     "!its option flavor is off, not on, but top/1.0.0/TOP requests "
		     "base.flavor/on"},
		    /* built from source against base/OFF instead */
		    {{"top", "base/1.0.0/OFF"},
		     "flavor=off",
		     true,
		     "base/1.0.0/OFF top/1.0.0/TOP*"},
		};
		static const scase weak[] = {
		    {{"top", "base/1.0.0/OFF"}, NULL, false, "base/1.0.0/OFF top/1.0.0/TOP"},
		};
		if (kinds[k] == SOLVER_INHERIT_STRONG)
			run_cases(strong, sizeof(strong) / sizeof(strong[0]));
		else
			run_cases(weak, 1);
		/* built from source: the inherited option is one of its build
		 * options, unless the inheritance is Weak */
		int rc;
		add_opt(top, "abi", "")->required = true; /* no default build now */
		solver_opt o = {"flavor", "off"};
		solver_result *r = solve_opts(
		    (const char *const[]){"top", "base/1.0.0/OFF", "var:top.abi/x", NULL}, &o, 1,
		    true, &rc);
		assert_int_equal(rc, 0);
		const solver_resolved *t = solver_result_get(r, 1);
		assert_true(t->from_source);
		bool inherited = false;
		for (size_t i = 0; i < t->noptions; i++)
			inherited = inherited || (!strcmp(t->options[i].name, "base.flavor") &&
						  !strcmp(t->options[i].value, "off"));
		assert_int_equal(inherited, kinds[k] != SOLVER_INHERIT_WEAK);
		solver_result_free(r);
	}
	reset();
	add_opt(mk0("pub/1.0.0/EMPTY"), "abi", "")->required = true;
	add_opt(mk0("pub/0.9.0/SET"), "abi", "cp39")->required = true;
	solver_build *rc = mk0("rec/1.0.0/DEF");
	rc->is_recipe = true;
	add_opt(rc, "abi", "")->required = true;
	static const scase req[] = {
	    {{"pub"}, NULL, false, "pub/0.9.0/SET"},
	    {{"pub/1"},
	     NULL,
	     false,
	     "!pub/1.0.0/EMPTY cannot be used: its required option abi has no value"},
	    {{"rec"}, NULL, false, "!its required option abi has no default value"},
	    {{"rec"},
	     NULL,
	     true,
	     "!its required option abi has no value (give one: --opt abi=VALUE"},
	    {{"rec"}, "abi=cp39", true, "rec/1.0.0/DEF*"},
	    {{"rec", "var:rec.abi/cp311"}, NULL, true, "rec/1.0.0/DEF*"},
	};
	run_cases(req, sizeof(req) / sizeof(req[0]));
}

/* fromBuildEnv: pinned to the version in the build environment. */
static void test_from_build_env(void **st)
{
	(void)st;
	static const struct {
		const char *pin, *want; /* the pinned request, as requested_by shows it */
	} pins[] = {
	    {"x.x", "python/3.7"},
	    {"~x.x", "python/~3.7"},
	    {"x.x.x", "python/3.7.3"},
	    {"x.x.x.x", "python/3.7.3.0"},
	    {"Binary", "python/Binary:3.7.3"},
	    {"true", "python/Binary:3.7.3"},
	    {"API", "python/API:3.7.3"},
	    {">=x", "python/>=3"},
	};
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		reset();
		mk0("python/3.7.3");
		mk0("python/3.7.9");
		mk0("python/3.9.1");
		/* a published build records the version it was built against */
		solver_build *b = mk0("lib/1.0.0/B37");
		add_pkgopt(b, "python", "3.7.3", NULL);
		add_pinned(b, "python", pins[i].pin);
		int rc;
		solver_result *r =
		    solve_opts((const char *const[]){"lib", NULL}, NULL, 0, false, &rc);
		assert_int_equal(rc, 0);
		const solver_resolved *py = solver_result_get(r, 1);
		if (!strstr(py->requested_by, pins[i].want))
			fail_msg("pin %s: requested by '%s', want %s", pins[i].pin,
				 py->requested_by, pins[i].want);
		solver_result_free(r);
	}
	reset();
	mk0("python/3.7.3");
	mk0("python/3.9.1");
	solver_build *pub = mk0("lib/1.0.0/B37");
	add_pkgopt(pub, "python", "3.7.3", NULL);
	add_pinned(pub, "python", "x.x");
	/* a recipe's default build: pinned by solving its build environment */
	solver_build *rec = mk0("tool/1.0.0/DEF");
	rec->is_recipe = true;
	add_pkgopt(rec, "python", "3", "python/3");
	add_pinned(rec, "python", "~x.x");
	/* a component's requirement is pinned too */
	solver_build *cmp = mk0("cmp/1.0.0/C37");
	add_pkgopt(cmp, "python", "3.7.3", NULL);
	{
		solver_component *cc = default_comps(0);
		sp_error e = {0};
		solver_request *cr = solver_arena_array(R.a, 1, sizeof(*cr), &e);
		cr[0] = parse_req("python", SOLVER_COMPAT_BINARY);
		cr[0].from_build_env = true;
		cr[0].pin = "x.x";
		cc[1].reqs = cr;
		cc[1].nreqs = 1;
		cmp->components = cc;
	}
	/* a package not in the build environment: as written */
	solver_build *other = mk0("other/1.0.0/OTH");
	add_pinned(other, "python/3.7", "x.x");
	static const scase cases[] = {
	    {{"lib"}, NULL, false, "lib/1.0.0/B37 python/3.7.3/BLD"},
	    {{"lib", "python/3.9"}, NULL, false, "!python/3.9"},
	    {{"tool"}, NULL, false, "python/3.9.1/BLD tool/1.0.0/DEF"},
	    {{"tool", "python/=3.7.3"}, NULL, false, "!python/~3.9"},
	    /* built from source against 3.7 (the option asks for it) */
	    {{"tool", "python/=3.7.3"}, "python=~3.7.0", true, "python/3.7.3/BLD tool/1.0.0/DEF*"},
	    {{"other"}, NULL, false, "other/1.0.0/OTH python/3.7.3/BLD"},
	    {{"cmp"}, NULL, false, "cmp/1.0.0/C37 python/3.7.3/BLD"},
	    {{"cmp", "python/3.9"}, NULL, false, "!python/3.7"},
	    {{"cmp:build"}, NULL, false, "cmp/1.0.0/C37"},
	};
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

/* include: IfAlreadyPresent (SPK: "only include this package if it is
 * already in the environment or another request exists with the Always
 * inclusion policy"): it never adds a package, and constrains it when
 * something else does. */
static void test_if_present_rules(void **st)
{
	(void)st;
	reset();
	/* "x must not be present": a range below every version */
	mk("a/1.0.0", "?x/<0");
	mk0("x/1.0.0");
	mk("wants-x/1.0.0", "x");
	/* two IfAlreadyPresent requests that share no version: fine while
	 * the package is absent (SPK lets them merge) */
	mk("p/1.0.0", "?z/1");
	mk("q/1.0.0", "?z/2");
	mk0("z/1.0.0");
	mk0("z/2.0.0");
	/* on a name no repository has */
	mk("n/1.0.0", "?nothing/1");
	SOLVE("a/1.0.0/BLD", "a");
	SOLVE("p/1.0.0/BLD q/1.0.0/BLD", "p", "q");
	SOLVE("n/1.0.0/BLD", "n");
	SOLVE("p/1.0.0/BLD z/1.0.0/BLD", "p", "z");
	UNSAT2("p", "z/2", "z/2.0.0/BLD does not satisfy z/1 from p/1.0.0/BLD");
	/* present: the range applies, said as a person reads it */
	UNSAT2("a", "x",
	       "x/1.0.0/BLD cannot be used: a/1.0.0/BLD requires that x not be present "
	       "(x/<0, include: IfAlreadyPresent)");
	UNSAT2("x", "a", "requires that x not be present (x/<0, include: IfAlreadyPresent)");
	UNSAT2("wants-x", "a", "requires that x not be present");
	/* an IfAlreadyPresent requirement of a component */
	reset();
	solver_build *c = mk0("c/1.0.0");
	solver_component *cc = default_comps(0);
	size_t n;
	cc[1].reqs = req_array((const char *const[]){"?y/1", NULL}, &n, SOLVER_COMPAT_BINARY);
	cc[1].nreqs = n;
	c->components = cc;
	mk0("y/1.0.0");
	mk0("y/2.0.0");
	SOLVE("c/1.0.0/BLD", "c");
	SOLVE("c/1.0.0/BLD y/1.0.0/BLD", "c", "y");
	UNSAT2("c", "y/2", "does not satisfy y/1 from c/1.0.0/BLD");
	/* with a fromBuildEnv pin: pinned, and still only if present */
	reset();
	solver_build *lib = mk0("lib/1.0.0/B37");
	add_pkgopt(lib, "py", "3.7.3", NULL);
	add_pinned(lib, "?py", "x.x");
	mk0("py/3.7.3");
	mk0("py/3.9.1");
	SOLVE("lib/1.0.0/B37", "lib");
	SOLVE("lib/1.0.0/B37 py/3.7.3/BLD", "lib", "py");
	UNSAT2("lib", "py/3.9", "does not satisfy py/3.7 from lib/1.0.0/B37");
}

/* A long explanation starts with what was asked and the one-line reason;
 * a short one goes straight to the facts. */
static void test_summary(void **st)
{
	(void)st;
	reset();
	mk("a/1.0.0", "m/1");
	mk("b/1.0.0", "m/2");
	mk0("m/1.0.0");
	mk0("m/2.0.0");
	int rc;
	solver_result *r = solve_opts((const char *const[]){"a", "b", NULL}, NULL, 0, false, &rc);
	assert_int_equal(rc, SOLVER_EUNSAT);
	const char *want = "Cannot resolve: a b\n"
			   "Because: no version of m satisfies both m/1 from a/1.0.0/BLD and m/2 "
			   "from b/1.0.0/BLD\n"
			   "The request cannot be satisfied:\n";
	if (strncmp(solver_result_explanation(r), want, strlen(want)))
		fail_msg("explanation:\n%s", solver_result_explanation(r));
	solver_result_free(r);
	r = solve_opts((const char *const[]){"m/3", NULL}, NULL, 0, false, &rc);
	assert_int_equal(rc, SOLVER_EUNSAT);
	assert_true(
	    !strncmp(solver_result_explanation(r), "The request cannot be satisfied:\n", 33));
	solver_result_free(r);
	/* a missing package: who asked for it */
	mk("c/1.0.0", "gone");
	mk("d/1.0.0", "c");
	mk("e/1.0.0", "d");
	r = solve_opts((const char *const[]){"e", NULL}, NULL, 0, false, &rc);
	assert_int_equal(rc, SOLVER_EUNSAT);
	if (!strstr(solver_result_explanation(r),
		    "\nBecause: no package named gone exists in the repositories (c/1.0.0/BLD "
		    "requires gone, and no candidate of gone is left)\n"))
		fail_msg("explanation:\n%s", solver_result_explanation(r));
	solver_result_free(r);
}

/* Solves with a trace kept in *trace (the caller frees it). */
static solver_result *solve_trace_opts(const char *const *reqs, bool allow, int *rc_out,
				       char **trace)
{
	solver_repo repo = {&mem_ops, &R, "mem"};
	size_t n, len = 0;
	const solver_request *rq = req_array(reqs, &n, SOLVER_COMPAT_API);
	FILE *f = open_memstream(trace, &len);
	solver_options o = {.repos = &repo,
			    .nrepos = 1,
			    .requests = rq,
			    .nrequests = n,
			    .allow_builds = allow,
			    .trace = f};
	solver_result *r = NULL;
	sp_error e = {0};
	int rc = solver_solve(&r, &o, &e);
	fclose(f);
	if (rc && rc != SOLVER_EUNSAT)
		fail_msg("solve error %d: %s", rc, e.msg);
	*rc_out = rc;
	return r;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* A recipe that builds with `dep` (a pkg option and its build request)
 * and pins its install requirement on it (fromBuildEnv: x.x). */
static solver_build *recipe_pinned(const char *ident, const char *dep, const char *range)
{
	solver_build *b = mk0(ident);
	b->is_recipe = true;
	char req[128];
	snprintf(req, sizeof(req), "%s/%s", dep, range);
	sp_error e = {0};
	add_pkgopt(b, solver_arena_strdup(R.a, dep, &e), solver_arena_strdup(R.a, range, &e),
		   solver_arena_strdup(R.a, req, &e));
	add_pinned(b, solver_arena_strdup(R.a, dep, &e), "x.x");
	return b;
}

/* Build environments that need each other (issue 10: i builds with
 * e/~2.4.0, e/3.1.1 builds with i/~3.1.0) terminate, say the cycle, and
 * still solve what can be solved. */
static void test_build_env_cycle(void **st)
{
	(void)st;
	reset();
	recipe_pinned("i/2.4.0/DEF", "e", "~2.4.0");
	recipe_pinned("e/3.1.1/DEF", "i", "~3.1.0");
	mk0("e/2.4.3/DEF")->is_recipe = true;
	static const scase cases[] = {
	    {{"i"}, NULL, false, "e/2.4.3/DEF i/2.4.0/DEF"},
	    {{"i"}, NULL, true, "e/2.4.3/DEF i/2.4.0/DEF"},
	    /* e/3.1.1's environment (i/~3.1.0) has no i: its requirement
	     * stays as written, and i/2.4.0 pins e to 2.4 */
	    {{"e"}, NULL, false, "e/2.4.3/DEF"},
	    {{"e/2.4"}, NULL, true, "e/2.4.3/DEF"},
	    {{"e/3"}, NULL, false, "!i/2.4.0/DEF requires e/2.4"},
	    {{"e/3"},
	     NULL,
	     true,
	     "!e/3.1.1 (built from source) cannot be built: its build environment (i/~3.1.0) "
	     "cannot be resolved: i/2.4.0/DEF does not satisfy i/~3.1.0 from its build options"},
	};
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
	/* the pin comes from i's own environment: e/2.4 */
	int rc;
	char *tr = NULL;
	solver_result *r = solve_trace_opts((const char *const[]){"i", NULL}, false, &rc, &tr);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(solver_result_get(r, 0)->requested_by, "i/2.4.0/DEF: e/2.4"));
	assert_non_null(strstr(tr, "cannot solve the build environment of i/2.4.0: its build "
				   "environment needs e/~2.4.0, whose candidate e/3.1.1/DEF "
				   "requires i, whose candidate i/2.4.0/DEF is this build again "
				   "(a cycle)"));
	/* a chosen recipe whose environment cannot be resolved says so */
	solver_result_free(r);
	free(tr);
	recipe_pinned("t/1.0.0/DEF", "e", "~9.0");
	tr = NULL;
	r = solve_trace_opts((const char *const[]){"t", NULL}, false, &rc, &tr);
	assert_int_equal(rc, 0);
	assert_string_equal(ids(r), "e/2.4.3/DEF t/1.0.0/DEF");
	assert_null(solver_result_get(r, 0)->note);
	const char *note = solver_result_get(r, 1)->note;
	assert_non_null(note);
	assert_string_equal(note, "its build environment (e/~9.0) cannot be resolved: its build "
				  "options require e/~9.0, and no candidate of e satisfies all the "
				  "requests; its fromBuildEnv requirements are used as written");
	solver_result_free(r);
	free(tr);
	tr = NULL;
	r = solve_trace_opts((const char *const[]){"i", NULL}, false, &rc, &tr);
	/* each environment once (the memo), though several solves meet it */
	assert_int_equal(count_of(tr, "solve the build environment of i/2.4.0 "), 1);
	assert_int_equal(count_of(tr, "solve the build environment of e/3.1.1 "), 1);
	free(tr);
	solver_result_free(r);
}

/* A recipe built from source provides its embedded packages too (it had
 * no stand-in of its own: "internal: no embedded candidate"). */
static void test_from_source_embedded(void **st)
{
	(void)st;
	reset();
	solver_build *p = mk0("p/1.0.0/DEF");
	p->is_recipe = true;
	set_opt(p, "debug", "off");
	sp_error e = {0};
	solver_embedded *em = solver_arena_alloc(R.a, sizeof(*em), &e);
	em->name = "q";
	assert_int_equal(solver_version_parse(&em->version, R.a, "2.0", 3, NULL, &e), 0);
	p->embedded = em;
	p->nembedded = 1;
	int rc;
	solver_opt on = {"debug", "on"};
	solver_result *r = solve_opts((const char *const[]){"p", "q/2", NULL}, &on, 1, true, &rc);
	if (rc)
		fail_msg("unsat:\n%s", solver_result_explanation(r));
	assert_string_equal(ids(r), "p/1.0.0/DEF* q/2.0/embedded");
	assert_non_null(strstr(solver_result_get(r, 1)->embedded_in, "p/1.0.0"));
	solver_result_free(r);
}

/* A three-recipe cycle whose environments are all usable, a diamond that
 * shares one environment, and a chain deeper than the bound. */
static void test_build_env_nesting(void **st)
{
	(void)st;
	reset();
	recipe_pinned("a/1.0.0/DEF", "b", "1");
	recipe_pinned("b/1.0.0/DEF", "c", "1");
	recipe_pinned("c/1.0.0/DEF", "a", "1");
	int rc;
	char *tr = NULL;
	solver_result *r = solve_trace_opts((const char *const[]){"a", NULL}, true, &rc, &tr);
	assert_int_equal(rc, 0);
	assert_string_equal(ids(r), "a/1.0.0/DEF b/1.0.0/DEF c/1.0.0/DEF");
	assert_non_null(strstr(tr, "is this build again (a cycle)"));
	free(tr);
	solver_result_free(r);
	/* diamond: top builds with l and m, both build with base, whose
	 * environment is solved once */
	reset();
	mk0("z/1.0.0/DEF")->is_recipe = true;
	recipe_pinned("base/1.0.0/DEF", "z", "1");
	recipe_pinned("l/1.0.0/DEF", "base", "1");
	recipe_pinned("m/1.0.0/DEF", "base", "1");
	solver_build *top = recipe_pinned("top/1.0.0/DEF", "l", "1");
	add_pkgopt(top, "m", "1", "m/1");
	add_pinned(top, "m", "x.x");
	tr = NULL;
	r = solve_trace_opts((const char *const[]){"top", NULL}, false, &rc, &tr);
	assert_int_equal(rc, 0);
	assert_string_equal(ids(r), "base/1.0.0/DEF l/1.0.0/DEF m/1.0.0/DEF top/1.0.0/DEF "
				    "z/1.0.0/DEF");
	assert_int_equal(count_of(tr, "solve the build environment of base/1.0.0 "), 1);
	free(tr);
	solver_result_free(r);
	/* a chain of 24 recipes, each building with the next: past 16 nested
	 * environments the innermost is not solved, and the trace says why */
	reset();
	for (int k = 0; k < 24; k++) {
		char id[32], dep[16];
		snprintf(id, sizeof(id), "p%d/1.0.0/DEF", k);
		snprintf(dep, sizeof(dep), "p%d", k + 1);
		sp_error e = {0};
		recipe_pinned(solver_arena_strdup(R.a, id, &e), solver_arena_strdup(R.a, dep, &e),
			      "1");
	}
	mk0("p24/1.0.0/DEF")->is_recipe = true;
	tr = NULL;
	r = solve_trace_opts((const char *const[]){"p0", NULL}, false, &rc, &tr);
	assert_int_equal(rc, 0);
	assert_int_equal(solver_result_count(r), 25);
	assert_non_null(strstr(tr, "build environments nest more than 16 deep here (p"));
	free(tr);
	solver_result_free(r);
}

/* A component's embedded packages apply whenever the component is
 * selected, also by a request that comes after its package was chosen. */
static void test_component_embedded(void **st)
{
	(void)st;
	reset();
	solver_build *m = mk0("maya/2024.0.0");
	solver_component *c = default_comps(1);
	c[2].name = "lib";
	sp_error e = {0};
	solver_embedded *em = solver_arena_array(R.a, 1, sizeof(*em), &e);
	em->name = "half";
	assert_int_equal(solver_version_parse(&em->version, R.a, "2.1.0", 5, NULL, &e), 0);
	c[2].embedded = em;
	c[2].nembedded = 1;
	m->components = c;
	m->ncomponents = 3;
	mk("tool/1.0.0", "maya:lib");
	mk("late/1.0.0", "zz");
	mk("zz/1.0.0", "maya:lib");
	mk0("half/3.0.0");
	static const scase cases[] = {
	    {{"maya"}, NULL, false, "maya/2024.0.0/BLD"},
	    {{"maya:lib"}, NULL, false, "half/2.1.0/embedded maya/2024.0.0/BLD"},
	    /* maya chosen first (run), lib selected afterwards by tool */
	    {{"maya", "tool"}, NULL, false, "half/2.1.0/embedded maya/2024.0.0/BLD tool/1.0.0/BLD"},
	    {{"maya", "late"},
	     NULL,
	     false,
	     "half/2.1.0/embedded late/1.0.0/BLD maya/2024.0.0/BLD zz/1.0.0/BLD"},
	    /* and no other build of half can be used alongside */
	    {{"maya", "half/3", "tool"}, NULL, false, "!half"},
	    {{"half/3", "maya"}, NULL, false, "half/3.0.0/BLD maya/2024.0.0/BLD"},
	};
	run_cases(cases, sizeof(cases) / sizeof(cases[0]));
	/* the stand-in says where it comes from */
	int rc;
	solver_result *r =
	    solve_opts((const char *const[]){"maya", "tool", NULL}, NULL, 0, false, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(solver_result_get(r, 0)->embedded_in, "maya/2024.0.0/BLD");
	assert_non_null(strstr(solver_result_get(r, 0)->requested_by, "maya/2024.0.0/BLD"));
	solver_result_free(r);
}

static void test_brute_force(void **st)
{
	(void)st;
	int sat = 0, unsatc = 0;
	for (int round = 0; round < 1000; round++) {
		rng_state = (uint64_t)round * 7919 + 1;
		reset();
		solver_build *all[NP * NV];
		for (int p = 0; p < NP; p++)
			for (int v = 0; v < NV; v++) {
				char id[32];
				snprintf(id, sizeof(id), "p%d/%d.0.0", p, v + 1);
				const char *reqs[5] = {NULL, NULL, NULL, NULL, NULL};
				int nd = (int)rnd(3);
				for (int d = 0; d < nd; d++) {
					char rb[64], *r = malloc(96);
					int q = (int)rnd(NP + 1); /* NP = a missing package */
					snprintf(r, 96, "%sp%d/%s", rnd(6) == 0 ? "?" : "", q,
						 rand_range(rb, sizeof(rb)));
					reqs[d] = r;
				}
				/* var requirements, global or for one package */
				if (rnd(8) == 0) {
					char *r = malloc(32);
					if (rnd(2))
						snprintf(r, 32, "var:o/%c", rnd(2) ? 'x' : 'y');
					else
						snprintf(r, 32, "var:p%d.o/%c", (int)rnd(NP),
							 rnd(2) ? 'x' : 'y');
					reqs[nd++] = r;
				}
				all[p * NV + v] = mk_list(id, reqs);
				for (int d = 0; d < nd; d++)
					free((void *)reqs[d]);
				/* an option o: x, y, or none; sometimes required
				 * and empty (the build cannot be used) */
				switch (rnd(6)) {
				case 0: set_opt(all[p * NV + v], "o", "x"); break;
				case 1: set_opt(all[p * NV + v], "o", "y"); break;
				case 2: {
					solver_option *o = add_opt(all[p * NV + v], "o", "");
					o->required = rnd(3) == 0;
					break;
				}
				default: break;
				}
			}
		const char *rq_text[4] = {NULL, NULL, NULL, NULL};
		char t1[64], t2[64], rb[64];
		snprintf(t1, sizeof(t1), "p%d/%s", (int)rnd(NP), rand_range(rb, sizeof(rb)));
		snprintf(t2, sizeof(t2), "p%d", (int)rnd(NP));
		rq_text[0] = t1;
		size_t nt = 1;
		if (rnd(2))
			rq_text[nt++] = t2;
		if (rnd(6) == 0)
			rq_text[nt++] = rnd(2) ? "var:o/x" : "var:p1.o/y";
		size_t nrq;
		const solver_request *rq = req_array(rq_text, &nrq, SOLVER_COMPAT_API);
		int choice[NP];
		for (int p = 0; p < NP; p++)
			choice[p] = -1;
		bool exists = brute(all, NP * NV, choice, 0, rq, nrq);
		int rc;
		char *tbuf = NULL;
		size_t tlen = 0;
		solver_result *r = solve_traced(rq_text, &rc, &tbuf, &tlen);
		/* the clause solver agrees with the search and the brute force */
		if (strstr(tbuf, "clause solver:") &&
		    !strstr(tbuf, exists ? ": solvable" : ": unsolvable"))
			fail_msg("round %d: clause solver disagrees (%d):\n%.300s", round, exists,
				 tbuf);
		free(tbuf);
		if (exists != (rc == 0))
			fail_msg("round %d: brute force says %d, solver says %d\n%s", round, exists,
				 rc == 0, solver_result_explanation(r));
		if (rc == 0) {
			sat++;
			/* the solver's answer is itself valid */
			int got[NP];
			for (int p = 0; p < NP; p++)
				got[p] = -1;
			for (size_t i = 0; i < solver_result_count(r); i++) {
				const solver_resolved *it = solver_result_get(r, i);
				for (int b = 0; b < NP * NV; b++)
					if (all[b] == it->build)
						got[b / NV] = b;
			}
			assert_true(valid(all, NP * NV, got, rq, nrq));
			/* guided by the clause solver's model, the search never backtracks */
			uint64_t steps, bt, learned;
			solver_result_stats(r, &steps, &bt, &learned);
			if (bt != 0)
				fail_msg("round %d: %llu backtracks despite the model", round,
					 (unsigned long long)bt);
			/* and deterministic */
			char first[4096];
			snprintf(first, sizeof(first), "%s", ids(r));
			int rc2;
			solver_result *r2 = solve_opts(rq_text, NULL, 0, false, &rc2);
			assert_int_equal(rc2, 0);
			assert_string_equal(ids(r2), first);
			solver_result_free(r2);
		} else {
			unsatc++;
			assert_non_null(
			    strstr(solver_result_explanation(r), "cannot be satisfied"));
		}
		solver_result_free(r);
	}
	/* the generator must exercise both outcomes */
	assert_true(sat > 50);
	assert_true(unsatc > 50);
}

static int teardown(void **st)
{
	(void)st;
	solver_arena_free(R.a);
	R.a = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_newest),
	    cmocka_unit_test(test_backtrack),
	    cmocka_unit_test(test_deep_backjump),
	    cmocka_unit_test(test_unsat_explained),
	    cmocka_unit_test(test_root_conflict),
	    cmocka_unit_test(test_missing),
	    cmocka_unit_test(test_if_present),
	    cmocka_unit_test(test_if_present_rules),
	    cmocka_unit_test(test_summary),
	    cmocka_unit_test(test_deprecated),
	    cmocka_unit_test(test_prerelease),
	    cmocka_unit_test(test_vars),
	    cmocka_unit_test(test_components),
	    cmocka_unit_test(test_embedded),
	    cmocka_unit_test(test_source),
	    cmocka_unit_test(test_allow_builds),
	    cmocka_unit_test(test_cycles),
	    cmocka_unit_test(test_repos),
	    cmocka_unit_test(test_dot_and_limit),
	    cmocka_unit_test(test_brute_force),
	    cmocka_unit_test(test_solve_order),
	    cmocka_unit_test(test_build_order),
	    cmocka_unit_test(test_pkg_options),
	    cmocka_unit_test(test_required_and_inheritance),
	    cmocka_unit_test(test_from_build_env),
	    cmocka_unit_test(test_build_env_cycle),
	    cmocka_unit_test(test_build_env_nesting),
	    cmocka_unit_test(test_from_source_embedded),
	    cmocka_unit_test(test_component_embedded),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
