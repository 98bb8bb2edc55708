/* test_explain.c - solver/explain.c: an explanation names where a person
 * edits each requirement involved (solver__where): a spec file and the
 * requirement's line, or a published build and the recipe it records;
 * never the spec's tag or its document's first line. Both writers (the
 * search's reason tree and the clause solver's facts) are checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "solver/solver.h"

#define MAXB 16
static solver_arena *A;
static solver_build *B[MAXB];
static size_t NB;

static int mem_builds(void *self, const char *name, const solver_build *const **out, size_t *n,
		      sp_error *err)
{
	(void)self;
	const solver_build **v = solver_arena_array(A, NB + 1, sizeof(*v), err);
	if (!v)
		return err->code;
	size_t k = 0;
	for (size_t i = 0; i < NB; i++)
		if (!strcmp(B[i]->name, name))
			v[k++] = B[i];
	*out = v;
	*n = k;
	return 0;
}

static int mem_none(void *self, const char *name, const solver_build *const **out, size_t *n,
		    sp_error *err)
{
	(void)self, (void)name, (void)err;
	*out = NULL;
	*n = 0;
	return 0;
}

static const solver_repo_ops ops = {SOLVER_REPO_OPS_VERSION, mem_builds, mem_none};

/* name/version with one requirement `req` written on line `line` of its
 * spec text (no requirement when req is NULL); origin as a spec file
 * parse would set it (the document's first line). */
static solver_build *mk(const char *name, const char *ver, const char *req, size_t line)
{
	sp_error e = {0};
	solver_build *b = solver_arena_alloc(A, sizeof(*b), &e);
	b->name = name;
	assert_int_equal(solver_version_parse(&b->version, A, ver, strlen(ver), NULL, &e), 0);
	b->build = "BLD";
	solver_component *c = solver_arena_array(A, 2, sizeof(*c), &e);
	c[0].name = "build";
	c[1].name = "run";
	b->components = c;
	b->ncomponents = 2;
	b->origin = "doc-first-line.yaml:1";
	if (req) {
		solver_request *r = solver_arena_alloc(A, sizeof(*r), &e);
		assert_int_equal(
		    solver_request_parse(r, A, req, strlen(req), SOLVER_COMPAT_BINARY, NULL, &e),
		    0);
		r->line = line;
		b->reqs = r;
		b->nreqs = 1;
	}
	B[NB++] = b;
	return b;
}

static void setup_repo(void)
{
	solver_arena_free(A);
	NB = 0;
	sp_error e = {0};
	assert_int_equal(solver_arena_new(&A, &e), 0);
	/* from a spec file: its requirement is on line 7 */
	solver_build *a = mk("plug-a", "1.0.0", "maya/2024", 7);
	a->where.file = "specs/plug-a.spk.yaml";
	a->where.lines = true;
	/* published, built from a recipe whose text starts 10 lines further */
	solver_build *b = mk("plug-b", "1.0.0", "maya/2023", 4);
	b->where.file = "/src/recipes/plug-b.spk.yaml";
	b->where.shift = 10;
	b->where.lines = true;
	b->where.published = true;
	mk("maya", "2024.1.0", NULL, 0);
	mk("maya", "2023.1.0", NULL, 0);
}

static char *explain(const char *r1, const char *r2, size_t max_steps)
{
	sp_error e = {0};
	solver_request rq[2];
	assert_int_equal(solver_request_parse_cli(&rq[0], A, r1, NULL, &e), 0);
	assert_int_equal(solver_request_parse_cli(&rq[1], A, r2, NULL, &e), 0);
	solver_repo repo = {&ops, NULL, "mem"};
	solver_options o = {
	    .repos = &repo, .nrepos = 1, .requests = rq, .nrequests = 2, .max_steps = max_steps};
	solver_result *r = NULL;
	assert_int_equal(solver_solve(&r, &o, &e), SOLVER_EUNSAT);
	char *ex = strdup(solver_result_explanation(r));
	solver_result_free(r);
	return ex;
}

static void expect_where(const char *ex)
{
	const char *want[] = {"specs/plug-a.spk.yaml:7",
			      "plug-b/1.0.0/BLD (recipe /src/recipes/plug-b.spk.yaml:14)"};
	for (size_t i = 0; i < 2; i++)
		if (!strstr(ex, want[i]))
			fail_msg("explanation lacks '%s':\n%s", want[i], ex);
	if (strstr(ex, "doc-first-line.yaml"))
		fail_msg("explanation names a document's first line:\n%s", ex);
}

static void test_search_explanation(void **st)
{
	(void)st;
	setup_repo();
	char *ex = explain("plug-a", "plug-b", 0);
	expect_where(ex);
	free(ex);
}

static void test_clause_explanation(void **st)
{
	(void)st;
	setup_repo();
	/* past the search's step limit the clause solver's facts explain */
	char *ex = explain("plug-a", "plug-b", 1);
	if (!strstr(ex, "these facts cannot all hold at once"))
		fail_msg("not the clause solver's explanation:\n%s", ex);
	expect_where(ex);
	free(ex);
}

static void test_published_without_recipe(void **st)
{
	(void)st;
	setup_repo();
	/* a published build that records no recipe: its ident alone; one that
	 * records the file but not the lines: the file alone */
	B[0]->where = (typeof(B[0]->where)){.published = true};
	B[1]->where.lines = false;
	char *ex = explain("plug-a", "plug-b", 0);
	const char *fix = strstr(ex, "the requirements in ");
	if (!fix || !strstr(fix, "plug-a/1.0.0/BLD") ||
	    !strstr(fix, "plug-b/1.0.0/BLD (recipe /src/recipes/plug-b.spk.yaml),") ||
	    strstr(ex, "doc-first-line.yaml"))
		fail_msg("unexpected explanation:\n%s", ex);
	free(ex);
}

static void test_unknown_where_keeps_origin(void **st)
{
	(void)st;
	setup_repo();
	/* builds that say nothing of where they are edited (an in-memory
	 * repository) are named by their origin, as before */
	B[0]->where = (typeof(B[0]->where)){0};
	B[1]->where = (typeof(B[1]->where)){0};
	char *ex = explain("plug-a", "plug-b", 0);
	if (!strstr(ex, "the requirements in doc-first-line.yaml:1"))
		fail_msg("unexpected explanation:\n%s", ex);
	free(ex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_search_explanation),
	    cmocka_unit_test(test_clause_explanation),
	    cmocka_unit_test(test_published_without_recipe),
	    cmocka_unit_test(test_unknown_where_keeps_origin),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	solver_arena_free(A);
	return rc;
}
