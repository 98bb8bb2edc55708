/* test_version.c - versions and compat (solver/version.c), table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "solver/solver.h"

#include "solver/arena_fixture.h"

static solver_version V(const char *s)
{
	solver_version v;
	sp_error e = {0};
	int rc = solver_version_parse(&v, A, s, strlen(s), NULL, &e);
	if (rc)
		fail_msg("parse %s: %s", s, e.msg);
	return v;
}

/* input, canonical output */
static const char *good[][2] = {
    {"1", "1"},
    {"1.2", "1.2"},
    {"1.2.3", "1.2.3"},
    {"1.2.3.4.5.6", "1.2.3.4.5.6"},
    {"0", "0"},
    {"0.0.0", "0.0.0"},
    {"10.20.30", "10.20.30"},
    {"4294967295", "4294967295"},
    {"007.1", "7.1"},
    {"1.0.0-pre.1", "1.0.0-pre.1"},
    {"1.2.2-alpha.0", "1.2.2-alpha.0"},
    {"25.0.8-alpha.0,test.1", "25.0.8-alpha.0,test.1"},
    {"25.0.8-test.1,alpha.0", "25.0.8-alpha.0,test.1"},
    {"1.0.0+rev.1", "1.0.0+rev.1"},
    {"1.2.0+post.2,release.1", "1.2.0+post.2,release.1"},
    {"1.2.0+release.1,post.2", "1.2.0+post.2,release.1"},
    {"2.6.8-alpha.0+patch.6", "2.6.8-alpha.0+patch.6"},
    {"6.3-pre.0+post.1", "6.3-pre.0+post.1"},
    {"1-a.0", "1-a.0"},
    {"1+a.0", "1+a.0"},
    {"1.0-r2d2.7", "1.0-r2d2.7"},
    {"1.0-a.4294967295", "1.0-a.4294967295"},
};

static const char *bad[] = {
    "",
    ".",
    "1.",
    ".1",
    "1..2",
    "a",
    "v1.0",
    "1.0a",
    "1.0-",
    "1.0+",
    "1.0-alpha",
    "1.0-alpha.",
    "1.0-alpha.x",
    "1.0-Alpha.1",
    "1.0-1a.1",
    "1.0-a.1,",
    "1.0-a.1,a.2",
    "1.0+a.1-b.1",
    "1.0-a.1+",
    "1.0 ",
    " 1.0",
    "1,0",
    "4294967296",
    "99999999999999999999",
    "1.0-a.4294967296",
    "1.0/2",
    "-1",
    "+1",
    "1.0-a.1;b.1",
    "1.0--a.1",
    "1.0-a..1",
    "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26.27.28.29.30.31.32.33",
};

static void test_parse_good(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		solver_version v = V(good[i][0]);
		char buf[128];
		assert_string_equal(solver_version_str(&v, buf, sizeof(buf)), good[i][1]);
		/* the canonical form parses to an equal version */
		solver_version w = V(good[i][1]);
		assert_int_equal(solver_version_cmp(&v, &w), 0);
	}
}

static void test_parse_bad(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		solver_version v;
		sp_error e = {0};
		int rc = solver_version_parse(&v, A, bad[i], strlen(bad[i]), NULL, &e);
		if (rc == 0)
			fail_msg("'%s' should not parse", bad[i]);
		assert_int_equal(rc, SP_EINVALID);
		assert_true(strlen(e.msg) > 0);
	}
}

/* a, b, sign of cmp(a, b) */
static const struct {
	const char *a, *b;
	int want;
} cmps[] = {
    {"1.0", "1.0.0", 0},
    {"1", "1.0.0.0", 0},
    {"1.0.0", "1.0.1", -1},
    {"1.0.1", "1.0.0", 1},
    {"1.10", "1.9", 1},
    {"1.2.3", "1.2.3.1", -1},
    {"2", "1.99.99", 1},
    {"0.0.1", "0.1", -1},
    {"10.0", "9.9.9", 1},
    {"1.0.0-alpha.1", "1.0.0", -1},
    {"1.0.0-alpha.2", "1.0.0-alpha.3", -1},
    {"6.3", "6.3+post.0", -1},
    {"6.3+a.0", "6.3+b.0", -1},
    {"6.3-pre.0+post.1", "6.3-pre.0+post.2", -1},
    {"6.3-pre.0+post.1", "6.3-pre.1+post.0", -1},
    {"1.0-alpha.1", "1.0-beta.0", -1},
    {"1.0-beta.0", "1.0-alpha.9", 1},
    {"1.0-alpha.1", "1.0-alpha.1,beta.1", -1},
    {"1.0-alpha.1,beta.1", "1.0-beta.1,alpha.1", 0},
    {"1.0-rc.1", "0.9.9", 1},
    {"1.0-rc.1", "1.0+r.1", -1},
    {"1.0+r.1", "1.0.1-a.0", -1},
    {"1.0.0+r.1", "1.0+r.1", 0},
    {"1.0+r.2", "1.0+r.10", -1},
    {"1.0+a.1", "1.0+a.1,b.0", -1},
    {"1.0-a.0", "1.0-a.0+p.0", -1},
    {"1.0-b.0", "1.0-a.0+p.0", 1},
    {"3.10.10", "3.10", 1},
    {"0", "0.0.0", 0},
    {"4294967295", "4294967294.9", 1},
    {"1.0.0", "1.0.0", 0},
    {"2.0-pre.1", "1.9.9", 1},
    {"2.0-pre.1", "2.0", -1},
    {"1.0+r.0", "1.0+r.0", 0},
    {"1.0-a.0,b.0", "1.0-a.0,c.0", -1},
    {"1.0-a.1", "1.0-a.0,b.0", 1},
};

static void test_cmp(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(cmps) / sizeof(cmps[0]); i++) {
		solver_version a = V(cmps[i].a), b = V(cmps[i].b);
		int c = solver_version_cmp(&a, &b);
		int s = c < 0 ? -1 : c > 0;
		if (s != cmps[i].want)
			fail_msg("cmp(%s, %s) = %d, want %d", cmps[i].a, cmps[i].b, s,
				 cmps[i].want);
		/* antisymmetry */
		int r = solver_version_cmp(&b, &a);
		assert_int_equal(r < 0 ? -1 : r > 0, -cmps[i].want);
	}
}

static void test_cmp_total_order(void **st)
{
	(void)st;
	/* every pair of the good table is consistent (transitivity spot check) */
	size_t n = sizeof(good) / sizeof(good[0]);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			for (size_t k = 0; k < n; k++) {
				solver_version a = V(good[i][0]), b = V(good[j][0]),
					       c = V(good[k][0]);
				if (solver_version_cmp(&a, &b) <= 0 &&
				    solver_version_cmp(&b, &c) <= 0)
					assert_true(solver_version_cmp(&a, &c) <= 0);
			}
}

static const struct {
	const char *compat;
	const char *fmt;
} compats[] = {
    {"x.a.b", "x.a.b"},		{"x.ab", "x.ab"},	{"x.ba", "x.ab"},
    {"x.x.x-x+x", "x.x.x-x+x"}, {"a.b", "a.b"},		{"x", "x"},
    {"x.a.b+b", "x.a.b+b"},	{"x.a.b-x", "x.a.b-x"}, {"abx.a", "abx.a"},
    {"x.a.b.b", "x.a.b.b"},
};

static const char *bad_compat[] = {"",	     "y",	  "x..a",  "x.a.",  ".x",  "x.a.b-",
				   "x.a.b+", "x.a.b-x-x", "x.a.c", "X.A.B", "x,a", "x.a b"};

static void test_compat_parse(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(compats) / sizeof(compats[0]); i++) {
		solver_compat c;
		sp_error e = {0};
		assert_int_equal(solver_compat_parse(&c, A, compats[i].compat,
						     strlen(compats[i].compat), NULL, &e),
				 0);
		sp_buf b = {0};
		assert_int_equal(solver_compat_format(&c, &b, &e), 0);
		assert_string_equal(b.data, compats[i].fmt);
		sp_buf_free(&b);
	}
	for (size_t i = 0; i < sizeof(bad_compat) / sizeof(bad_compat[0]); i++) {
		solver_compat c;
		sp_error e = {0};
		if (!solver_compat_parse(&c, A, bad_compat[i], strlen(bad_compat[i]), NULL, &e))
			fail_msg("compat '%s' should not parse", bad_compat[i]);
	}
}

enum { API = SOLVER_COMPAT_API, BIN = SOLVER_COMPAT_BINARY };

static const struct {
	const char *compat; /* NULL = default x.a.b */
	const char *base, *other;
	int rule;
	bool want;
} checks[] = {
    {NULL, "1.0.0", "1.0.0", API, true},
    {NULL, "1.0.0", "1.0.0", BIN, true},
    {NULL, "1.0.0", "1.0.5", BIN, true},
    {NULL, "1.0.0", "1.0.5", API, true},
    {NULL, "1.0.0", "1.5.0", API, true},
    {NULL, "1.0.0", "1.5.0", BIN, false},
    {NULL, "1.0.0", "2.0.0", API, false},
    {NULL, "1.0.0", "2.0.0", BIN, false},
    {NULL, "1.2.3", "1.2.4", BIN, true},
    {NULL, "1.2.3", "1.2.2", BIN, false},
    {NULL, "1.2.3", "1.1.9", API, false},
    {NULL, "1.2.3", "0.2.3", API, false},
    {NULL, "3.10", "3.10.10", BIN, true},
    {NULL, "3.10", "3.11", BIN, false},
    {NULL, "3.10", "3.11", API, true},
    {NULL, "3", "3.11.2", BIN, true},
    {NULL, "1.0.0", "1.0.0+r.1", BIN, true},
    {NULL, "1.0.0", "1.0.0-pre.1", BIN, true},
    {NULL, "1.0.0.0", "1.0.0.9", BIN, true},
    {"x.x.x-x+x", "1.0.0", "1.0.0+r.1", BIN, false},
    {"x.x.x-x+x", "1.0.0", "1.0.0-a.1", API, false},
    {"x.x.x-x+x", "1.0.0", "1.0.0", API, true},
    {"x.x.x-x+x", "1.0.0", "1.0.1", BIN, false},
    {"x.a.b+b", "1.0.0+r.1", "1.0.0+r.2", BIN, true},
    {"x.a.b+a", "1.0.0+r.1", "1.0.0+r.2", BIN, false},
    {"x.a.b+a", "1.0.0+r.1", "1.0.0+r.2", API, true},
    {"x.ab", "1.0", "1.5", BIN, true},
    {"x.ab", "1.0", "1.5", API, true},
    {"x.ab", "1.5", "1.0", API, false},
    {"x.b", "1.0", "1.5", API, false},
    {"x.b", "1.0", "1.5", BIN, true},
    {"a.b", "1.0", "2.0", API, true},
    {"a.b", "1.0", "2.0", BIN, false},
    {"x.x.b", "1.2.0", "1.2.9", BIN, true},
    {"x.x.b", "1.2.0", "1.3.0", API, false},
    {"x", "1.2.0", "1.2.9", API, false},
    {"x", "1.2", "1.2.9", API, false}, /* SPK: compat does not cover part 3 */
    {"x.a", "1.2.3", "1.3.0", API, true},
    {"x.a", "1.2.3", "1.2.4", BIN, false},
    {NULL, "0.1.0", "0.2.0", API, true},
    {NULL, "0.1.0", "1.0.0", API, false},
};

static void test_compat_check(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		solver_compat c = {0};
		sp_error e = {0};
		if (checks[i].compat)
			assert_int_equal(solver_compat_parse(&c, A, checks[i].compat,
							     strlen(checks[i].compat), NULL, &e),
					 0);
		solver_version b = V(checks[i].base), o = V(checks[i].other);
		char why[256] = "";
		bool got = solver_compat_check(checks[i].compat ? &c : NULL, &b, &o, checks[i].rule,
					       why, sizeof(why));
		if (got != checks[i].want)
			fail_msg("compat %s: %s vs %s (%s) = %d, want %d (%s)",
				 checks[i].compat ? checks[i].compat : "default", checks[i].base,
				 checks[i].other, checks[i].rule == API ? "API" : "Binary", got,
				 checks[i].want, why);
		if (!got)
			assert_true(strlen(why) > 0);
	}
}

static void test_limits(void **st)
{
	(void)st;
	solver_limits lim = solver_limits_default;
	lim.max_parts = 3;
	lim.max_tags = 1;
	solver_version v;
	sp_error e = {0};
	assert_int_equal(solver_version_parse(&v, A, "1.2.3", 5, &lim, &e), 0);
	assert_int_equal(solver_version_parse(&v, A, "1.2.3.4", 7, &lim, &e), SP_EINVALID);
	assert_int_equal(solver_version_parse(&v, A, "1-a.1,b.1", 9, &lim, &e), SP_EINVALID);
	lim.max_text = 4;
	assert_int_equal(solver_version_parse(&v, A, "1.2.3", 5, &lim, &e), SP_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good),	 cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_cmp),		 cmocka_unit_test(test_cmp_total_order),
	    cmocka_unit_test(test_compat_parse), cmocka_unit_test(test_compat_check),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
