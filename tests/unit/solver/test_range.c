/* test_range.c - version ranges (solver/range.c), table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "solver/solve_internal.h"
#include "solver/solver.h"

#include "solver/arena_fixture.h"

enum { API = SOLVER_COMPAT_API, BIN = SOLVER_COMPAT_BINARY };

/* range, version, compat (NULL = x.a.b), default rule, expected */
static const struct {
	const char *range, *version, *compat;
	int rule;
	bool want;
} cases[] = {
    /* caret: the documented table */
    {"^1.2.3", "1.2.3", NULL, API, true},
    {"^1.2.3", "1.9.0", NULL, API, true},
    {"^1.2.3", "2.0.0", NULL, API, false},
    {"^1.2.3", "1.2.2", NULL, API, false},
    {"^1.2", "1.2.0", NULL, API, true},
    {"^1.2", "1.99", NULL, API, true},
    {"^1.2", "2.0", NULL, API, false},
    {"^1", "1.0.0", NULL, API, true},
    {"^1", "1.9.9", NULL, API, true},
    {"^1", "2.0.0", NULL, API, false},
    {"^0.2.3", "0.2.3", NULL, API, true},
    {"^0.2.3", "0.2.9", NULL, API, true},
    {"^0.2.3", "0.3.0", NULL, API, false},
    {"^0.2", "0.2.0", NULL, API, true},
    {"^0.2", "0.3.0", NULL, API, false},
    {"^0.0.3", "0.0.3", NULL, API, true},
    {"^0.0.3", "0.0.4", NULL, API, false},
    {"^0.0", "0.0.9", NULL, API, true},
    {"^0.0", "0.1.0", NULL, API, false},
    {"^0", "0.9.9", NULL, API, true},
    {"^0", "1.0.0", NULL, API, false},
    /* tilde */
    {"~1.2.3", "1.2.3", NULL, API, true},
    {"~1.2.3", "1.2.9", NULL, API, true},
    {"~1.2.3", "1.3.0", NULL, API, false},
    {"~1.2.3", "1.2.2", NULL, API, false},
    {"~1.2", "1.2.0", NULL, API, true},
    {"~1.2", "1.9.0", NULL, API, true},
    {"~1.2", "2.0.0", NULL, API, false},
    {"~1.2", "1.1.9", NULL, API, false},
    {"~3.10", "3.10.4", NULL, API, true},
    {"~3.10", "3.11.0", NULL, API, true},
    {"~3.10", "4.0", NULL, API, false},
    {"~1.2.3.4", "1.2.3.9", NULL, API, true},
    {"~1.2.3.4", "1.2.4", NULL, API, false},
    /* wildcards */
    {"*", "0.0.1", NULL, API, true},
    {"*", "99", NULL, API, true},
    {"1.*", "1.0.0", NULL, API, true},
    {"1.*", "1.99.3", NULL, API, true},
    {"1.*", "2.0.0", NULL, API, false},
    {"1.*", "0.9", NULL, API, false},
    {"1.2.*", "1.2.0", NULL, API, true},
    {"1.2.*", "1.2.7", NULL, API, true},
    {"1.2.*", "1.3.0", NULL, API, false},
    {"1.*.3", "1.7.3", NULL, API, true},
    {"1.*.3", "1.7.4", NULL, API, false},
    {"*.2", "5.2", NULL, API, true},
    {"*.2", "5.3", NULL, API, false},
    {"1.*", "1", NULL, API, true},
    /* comparisons */
    {">=1.2.0", "1.2.0", NULL, API, true},
    {">=1.2.0", "1.1.9", NULL, API, false},
    {">=1.2", "1.2.0+r.1", NULL, API, true},
    {">1", "1.0.0", NULL, API, false},
    {">1", "1.0.1", NULL, API, true},
    {">1", "1.0+r.1", NULL, API, true},
    {"<2", "1.99.99", NULL, API, true},
    {"<2", "2.0.0", NULL, API, false},
    {"<2", "2.0-pre.1", NULL, API, true},
    {"<=2", "2.0.0", NULL, API, true},
    {"<=2", "2.0.0+r.1", NULL, API, false},
    {"<=2", "2.0.1", NULL, API, false},
    /* = ignores unwritten post tags, == does not */
    {"=1.2.3", "1.2.3", NULL, API, true},
    {"=1.2.3", "1.2.3+r.2", NULL, API, true},
    {"=1.2.3", "1.2.4", NULL, API, false},
    {"=1.2.3", "1.2.3-pre.1", NULL, API, false},
    {"=1.2.3+r.1", "1.2.3+r.1", NULL, API, true},
    {"=1.2.3+r.1", "1.2.3+r.2", NULL, API, false},
    {"=1.2.3+r.1", "1.2.3", NULL, API, false},
    {"=1.0", "1.0.0", NULL, API, true},
    {"==1.2.3", "1.2.3", NULL, API, true},
    {"==1.2.3", "1.2.3+r.2", NULL, API, false},
    {"==1.2.3+r.2", "1.2.3+r.2", NULL, API, true},
    {"==1.0", "1.0.0", NULL, API, true},
    /* != and !== compare only the parts written (SPK's version_range
     * tests: !=1.0 excludes 1.0.1, allows 1.1.0) */
    {"!=4.2", "4.2.0", NULL, API, false},
    {"!=4.2", "4.2.1", NULL, API, false},
    {"!=4.2", "4.2.1.7", NULL, API, false},
    {"!=4.2", "4.3.0", NULL, API, true},
    {"!=4.2", "4.1.9", NULL, API, true},
    {"!=4.2", "4.2+r.1", NULL, API, false},
    {"!=1.0", "1.0.1", NULL, API, false},
    {"!=1.0", "1.1.0", NULL, API, true},
    {"!=1.0", "1", NULL, API, false}, /* a missing part counts as 0 */
    {"!=1.2", "1", NULL, API, true},  /* (SPK's zip would exclude 1) */
    {"!=1.0.0", "1.0.0", NULL, API, false},
    {"!=1.0.0", "1.0.0+r.1", NULL, API, false},
    {"!=1.0.0", "1.0.0-a.1", NULL, API, false}, /* pre tags not compared */
    {"!=1.0.0+r.2", "1.0.0+r.1", NULL, API, true},
    {"!=1.0.0+r.2", "1.0.0+r.2", NULL, API, false},
    {"!==4.2", "4.2", NULL, API, false},
    {"!==4.2", "4.2.5", NULL, API, false},
    {"!==4.2", "4.2+r.1", NULL, API, true},
    {"!==4.2", "4.3", NULL, API, true},
    {"!==1.0.0", "1.0.0+r.1", NULL, API, true},
    {"!==1.0", "1.0.0+r.1", NULL, API, true},
    {"!==1.0+r.1", "1.0.0+r.1", NULL, API, false},
    /* = and == compare whole versions (trailing zeros aside), not a
     * prefix; = checks only the post tags it names */
    {"=1.0", "1.0.1", NULL, API, false},
    {"=1.0", "1.0.0+r.1", NULL, API, true},
    {"==1.0.0", "1.0.0+r.1", NULL, API, false},
    {"==1.0+r.1", "1.0.0+r.1", NULL, API, true},
    {"=1.0.0+r.2", "1.0.0+r.1", NULL, API, false},
    {"=1.0+r.1", "1.0+r.1,x.2", NULL, API, true},
    {"==1.0+r.1", "1.0+r.1,x.2", NULL, API, false},
    /* a wildcard compares the parts written, a missing part as 0 */
    {"1.2.*", "1.2", NULL, API, true},
    {"1.2.*", "1.3.0", NULL, API, false},
    /* bare versions: the package's compat and the request's default rule */
    {"1.2", "1.2.0", NULL, API, true},
    {"1.2", "1.2.5", NULL, API, true},
    {"1.2", "1.2.5", NULL, BIN, true},
    {"1.2", "1.3.0", NULL, API, true},
    {"1.2", "1.3.0", NULL, BIN, false},
    {"1.2", "2.0.0", NULL, API, false},
    {"1.2", "1.1.0", NULL, API, false},
    {"1.2.3", "1.2.2", NULL, BIN, false},
    {"3.9", "3.10.4", NULL, API, true},
    {"3.9", "3.10.4", NULL, BIN, false},
    {"3.9", "3.9.7", NULL, BIN, true},
    {"2023", "2024.2.0", NULL, BIN, false},
    {"2024", "2024.2.0", NULL, BIN, true},
    {"1.0", "1.5", "x.ab", BIN, true},
    {"1.0", "1.5", "x.b", API, false},
    {"1.0", "2.0", "a.b", API, true},
    {"API:1.2", "1.3", NULL, BIN, true},
    {"API:1.2", "2.0", NULL, BIN, false},
    {"Binary:1.2", "1.3", NULL, API, false},
    {"Binary:1.2", "1.2.9", NULL, API, true},
    {"Binary:1.2.3", "1.2.2", NULL, API, false},
    /* intersections */
    {">=1.2,<1.5", "1.2.0", NULL, API, true},
    {">=1.2,<1.5", "1.4.9", NULL, API, true},
    {">=1.2,<1.5", "1.5.0", NULL, API, false},
    {">= 1.2, < 1.5", "1.3", NULL, API, true},
    {">=1.2,<1.5", "1.1", NULL, API, false},
    {">=3.7,<4", "3.11", NULL, API, true},
    {">=3.7,<4", "4.0", NULL, API, false},
    {">=2,<1", "1.5", NULL, API, false},
    {"1.*,!=1.5", "1.5", NULL, API, false},
    {"1.*,!=1.5", "1.6", NULL, API, true},
    {"^1.0,~1.2", "1.2.5", NULL, API, true},
    {"^1.0,~1.2", "1.1.5", NULL, API, false},
    {"=1.0-a.1,b.2", "1.0-b.2,a.1", NULL, API, true},
    {">=1.0-a.1,b.2,<2", "1.5", NULL, API, true},
    {"1.0,>=1.0.5", "1.0.7", NULL, BIN, true},
    {"1.0,>=1.0.5", "1.0.3", NULL, BIN, false},
};

static void test_allows(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		solver_range r;
		solver_version v;
		solver_compat c = {0};
		sp_error e = {0};
		if (solver_range_parse(&r, A, cases[i].range, strlen(cases[i].range), NULL, &e))
			fail_msg("range '%s': %s", cases[i].range, e.msg);
		assert_int_equal(solver_version_parse(&v, A, cases[i].version,
						      strlen(cases[i].version), NULL, &e),
				 0);
		if (cases[i].compat)
			assert_int_equal(solver_compat_parse(&c, A, cases[i].compat,
							     strlen(cases[i].compat), NULL, &e),
					 0);
		char why[256] = "";
		bool got = solver_range_allows(&r, &v, cases[i].compat ? &c : NULL, cases[i].rule,
					       why, sizeof(why));
		if (got != cases[i].want)
			fail_msg("%s allows %s (%s) = %d, want %d (%s)", cases[i].range,
				 cases[i].version, cases[i].rule == API ? "API" : "Binary", got,
				 cases[i].want, why);
		if (!got)
			assert_true(strlen(why) > 0);
	}
}

static const char *bad[] = {
    "",	      ",",	 "1.0,", ",1.0",    ">=",    ">=a",	 "~2",	     "~",
    "^",      "1.*.*",	 "**",	 "1.x",	    "=>1.0", ">>1",	 "API:",     "api:1.0",
    "Binary", "1.0 2.0", "!1.0", "!===1.0", "<>1",   "1.*-a.1",	 "1.0,,2.0", "^4294967295",
    "=1.0-",  "~1.0+",	 "1..*", ">= ",	    "*.*",   "1.0-a.1,",
};

static void test_bad(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		solver_range r;
		sp_error e = {0};
		int rc = solver_range_parse(&r, A, bad[i], strlen(bad[i]), NULL, &e);
		if (rc == 0)
			fail_msg("range '%s' should not parse", bad[i]);
		assert_true(strlen(e.msg) > 0);
	}
}

static const char *roundtrip[][2] = {
    {">=1.2,<1.5", ">=1.2,<1.5"},
    {">= 1.2, < 1.5", ">=1.2,<1.5"},
    {"^1.2", "^1.2"},
    {"~1.2.3", "~1.2.3"},
    {"1.*", "1.*"},
    {"*", "*"},
    {"=1.0+r.1", "=1.0+r.1"},
    {"==1.0", "==1.0"},
    {"!==1", "!==1"},
    {"!=1", "!=1"},
    {"API:1.2", "API:1.2"},
    {"Binary:3", "Binary:3"},
    {"3.9", "3.9"},
    {"1.*.3", "1.*.3"},
    {"<=2-a.1", "<=2-a.1"},
};

static void test_format(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(roundtrip) / sizeof(roundtrip[0]); i++) {
		solver_range r;
		sp_error e = {0};
		assert_int_equal(
		    solver_range_parse(&r, A, roundtrip[i][0], strlen(roundtrip[i][0]), NULL, &e),
		    0);
		sp_buf b = {0};
		assert_int_equal(solver_range_format(&r, &b, &e), 0);
		assert_string_equal(b.data, roundtrip[i][1]);
		sp_buf_free(&b);
	}
}

/* SPK's simplification of one range: a rule that another one makes
 * redundant is dropped (the stricter stays); impossible ranges stay. */
static const char *simplify[][2] = {
    {">=1.0,>=1.2", ">=1.2"},
    {">=1.2,>=1.0", ">=1.2"},
    {">1.0,>2.0", ">2.0"},
    {"<3,<2", "<2"},
    {">=1,<3,<2", ">=1,<2"},
    {"<=2,<2", "<2"},
    {">=1.2,>1.2", ">1.2"},
    {">=1,>=1", ">=1"},
    {"^1.2,>=1.5", "^1.2,>=1.5"},
    {"^1.2,<1.5", "^1.2,<1.5"},
    {">=1,^1.2", "^1.2"},
    {"~1.2.3,<2", "~1.2.3"},
    {"1.2,1.4", "1.4"},
    {"Binary:1.2,=1.2", "=1.2"},
    {"API:1.2,Binary:1.2", "Binary:1.2"},
    {">=2,<1", ">=2,<1"},
    /* rules whose versions are not just their bounds are kept */
    {">=1,!=1.5", ">=1,!=1.5"},
    {"1.*.3,=1.5.0", "1.*.3,=1.5.0"},
    {"=1.0,>=0.5", "=1.0"},
    {">=1.0,1.*", "1.*"},
};

/* Whether two ranges share a version by their bounds: != leaves out the
 * whole written prefix ([1.0, 1.1) for !=1.0). */
static void test_not_equal_meets(void **st)
{
	(void)st;
	static const struct {
		const char *x, *y;
		bool meet;
	} meets[] = {
	    {"!=1.0", "=1.0.5", false}, {"!=1.0", "~1.0.2", false},  {"!=1.0", "=1.1", true},
	    {"!=1.0", "<1.0.3", true},	{"!=1.0.0", "=1.0.1", true}, {"!=1", "1.*", false},
	};
	for (size_t i = 0; i < sizeof(meets) / sizeof(meets[0]); i++) {
		solver_range x, y;
		sp_error e = {0};
		assert_int_equal(
		    solver_range_parse(&x, A, meets[i].x, strlen(meets[i].x), NULL, &e), 0);
		assert_int_equal(
		    solver_range_parse(&y, A, meets[i].y, strlen(meets[i].y), NULL, &e), 0);
		if (solver__ranges_meet(&x, &y, A, NULL, NULL) != meets[i].meet)
			fail_msg("%s and %s meet: want %d", meets[i].x, meets[i].y, meets[i].meet);
	}
}

static void test_simplify(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(simplify) / sizeof(simplify[0]); i++) {
		solver_range r;
		sp_error e = {0};
		assert_int_equal(
		    solver_range_parse(&r, A, simplify[i][0], strlen(simplify[i][0]), NULL, &e), 0);
		sp_buf b = {0};
		assert_int_equal(solver_range_format(&r, &b, &e), 0);
		if (strcmp(b.data, simplify[i][1]))
			fail_msg("%s: got %s, want %s", simplify[i][0], b.data, simplify[i][1]);
		sp_buf_free(&b);
	}
}

static void test_prerelease_named(void **st)
{
	(void)st;
	solver_range r;
	sp_error e = {0};
	assert_int_equal(solver_range_parse(&r, A, ">=1.0-a.1", 9, NULL, &e), 0);
	assert_true(solver_range_names_prerelease(&r));
	assert_int_equal(solver_range_parse(&r, A, ">=1.0", 5, NULL, &e), 0);
	assert_false(solver_range_names_prerelease(&r));
}

static void test_limits(void **st)
{
	(void)st;
	solver_limits lim = solver_limits_default;
	lim.max_rules = 2;
	solver_range r;
	sp_error e = {0};
	assert_int_equal(solver_range_parse(&r, A, ">1,<3", 5, &lim, &e), 0);
	assert_int_equal(solver_range_parse(&r, A, ">1,<3,!=2", 9, &lim, &e), SP_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_allows),	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_format),	    cmocka_unit_test(test_prerelease_named),
	    cmocka_unit_test(test_limits),	    cmocka_unit_test(test_simplify),
	    cmocka_unit_test(test_not_equal_meets),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
