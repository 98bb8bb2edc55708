/* test_request.c - package and var requests (solver/request.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "solver/solver.h"

#include "solver/arena_fixture.h"

/* text, repo, name, components (joined by ","), range, build, formatted */
static const struct {
	const char *text, *repo, *name, *comps, *range, *build, *fmt;
} good[] = {
    {"python", NULL, "python", "", "*", NULL, "python"},
    {"python/3.9", NULL, "python", "", "3.9", NULL, "python/3.9"},
    {"python/>=3.7,<4", NULL, "python", "", ">=3.7,<4", NULL, "python/>=3.7,<4"},
    {"python/~3.7.2", NULL, "python", "", "~3.7.2", NULL, "python/~3.7.2"},
    {"maya/=2024.2", NULL, "maya", "", "=2024.2", NULL, "maya/=2024.2"},
    {"maya/2024.2/ABCDEF12", NULL, "maya", "", "2024.2", "ABCDEF12", "maya/2024.2/ABCDEF12"},
    {"maya/2024.2/src", NULL, "maya", "", "2024.2", "src", "maya/2024.2/src"},
    {"local/maya", "local", "maya", "", "*", NULL, "local/maya"},
    {"local/maya/1.0", "local", "maya", "", "1.0", NULL, "local/maya/1.0"},
    {"local/maya/1.0/XYZ", "local", "maya", "", "1.0", "XYZ", "local/maya/1.0/XYZ"},
    {"maya:run", NULL, "maya", "run", "*", NULL, "maya:run"},
    {"maya:{run,docs}", NULL, "maya", "run,docs", "*", NULL, "maya:{run,docs}"},
    {"maya:{run, docs}/1.0", NULL, "maya", "run,docs", "1.0", NULL, "maya:{run,docs}/1.0"},
    {"maya:{run,run}", NULL, "maya", "run", "*", NULL, "maya:run"},
    {"maya:all/2", NULL, "maya", "all", "2", NULL, "maya:all/2"},
    {"origin/maya:docs/^1", "origin", "maya", "docs", "^1", NULL, "origin/maya:docs/^1"},
    {"my-plugin/1.0.0", NULL, "my-plugin", "", "1.0.0", NULL, "my-plugin/1.0.0"},
    {"p000/>=1.2.0,<2.0.0", NULL, "p000", "", ">=1.2.0,<2.0.0", NULL, "p000/>=1.2.0,<2.0.0"},
    {"python/API:3.9", NULL, "python", "", "API:3.9", NULL, "python/API:3.9"},
    {"python/Binary:3.9", NULL, "python", "", "Binary:3.9", NULL, "python/Binary:3.9"},
    {"python/3.*", NULL, "python", "", "3.*", NULL, "python/3.*"},
    {"python/*", NULL, "python", "", "*", NULL, "python"},
    {"x/!=1.0", NULL, "x", "", "!=1.0", NULL, "x/!=1.0"},
    {"x/!==1.0", NULL, "x", "", "!==1.0", NULL, "x/!==1.0"},
    {"x/==1.0+r.1", NULL, "x", "", "==1.0+r.1", NULL, "x/==1.0+r.1"},
    {"x/1.0-beta.1", NULL, "x", "", "1.0-beta.1", NULL, "x/1.0-beta.1"},
    {"x/1.0-a.1,b.2", NULL, "x", "", "1.0-a.1,b.2", NULL, "x/1.0-a.1,b.2"},
    {"9lives/1", NULL, "9lives", "", "1", NULL, "9lives/1"},
    {"x/<2", NULL, "x", "", "<2", NULL, "x/<2"},
};

static void join_comps(const solver_request *r, char *buf, size_t n)
{
	buf[0] = '\0';
	for (size_t i = 0; i < r->ncomponents; i++) {
		strncat(buf, i ? "," : "", n - strlen(buf) - 1);
		strncat(buf, r->components[i], n - strlen(buf) - 1);
	}
}

static void test_good(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		solver_request r;
		sp_error e = {0};
		if (solver_request_parse(&r, A, good[i].text, strlen(good[i].text),
					 SOLVER_COMPAT_API, NULL, &e))
			fail_msg("'%s': %s", good[i].text, e.msg);
		assert_int_equal(r.kind, SOLVER_REQ_PKG);
		if (good[i].repo)
			assert_string_equal(r.repo, good[i].repo);
		else
			assert_null(r.repo);
		assert_string_equal(r.name, good[i].name);
		char comps[256];
		join_comps(&r, comps, sizeof(comps));
		assert_string_equal(comps, good[i].comps);
		sp_buf b = {0};
		assert_int_equal(solver_range_format(&r.range, &b, &e), 0);
		assert_string_equal(b.data, good[i].range);
		sp_buf_free(&b);
		if (good[i].build)
			assert_string_equal(r.build, good[i].build);
		else
			assert_null(r.build);
		assert_int_equal(solver_request_format(&r, &b, &e), 0);
		assert_string_equal(b.data, good[i].fmt);
		sp_buf_free(&b);
		assert_string_equal(r.text, good[i].text);
		assert_int_equal(r.compat_rule, SOLVER_COMPAT_API);
		assert_int_equal(r.include, SOLVER_INCLUDE_ALWAYS);
		assert_int_equal(r.prerelease, SOLVER_PRERELEASE_EXCLUDE);
	}
}

static const char *bad[] = {
    "",
    "/",
    "Python",
    "py_thon",
    "python/",
    "python//",
    "python/3.9/",
    "python/3.9/AB-CD",
    "python/~3",
    "python/3.9/ABC/extra",
    "a/b/c/d/e",
    "a/b/c/d/e/f",
    "python:",
    "python:{",
    "python:{run",
    "python:{}",
    "python:{run,}",
    "python:Run",
    "-python",
    "python\n",
    "python\t/1",
    "pyth\xc3\xa9on",
    "python/>=",
    "python/1.0 2.0",
    "repo:x/python",
    "REPO/python",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

static void test_bad(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		solver_request r;
		sp_error e = {0};
		int rc = solver_request_parse(&r, A, bad[i], strlen(bad[i]), SOLVER_COMPAT_API,
					      NULL, &e);
		if (rc == 0)
			fail_msg("request '%s' should not parse", bad[i]);
		assert_int_equal(rc, SP_EINVALID);
		assert_true(strlen(e.msg) > 0);
	}
}

static const struct {
	const char *text, *pkg, *var, *value;
} vars[] = {
    {"debug/on", NULL, "debug", "on"},
    {"debug=on", NULL, "debug", "on"},
    {"python.abi/cp39", "python", "abi", "cp39"},
    {"python.abi=cp39", "python", "abi", "cp39"},
    {"os/linux", NULL, "os", "linux"},
    {"centos/7", NULL, "centos", "7"},
    {"arch=x86_64", NULL, "arch", "x86_64"},
    {"path=/usr/local", NULL, "path", "/usr/local"},
    {"x.y/a/b", "x", "y", "a/b"},
    {"empty=", NULL, "empty", ""},
    {"Mixed_Case/1", NULL, "Mixed_Case", "1"},
};

static const char *bad_vars[] = {"",	      "debug",	"=on",	     "/on",	"py thon.abi/x",
				 "Py.abi/x",  ".abi/x", "python./x", "a.b.c/x", "de bug/on",
				 "debug\n/on"};

static void test_vars(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		solver_request r;
		sp_error e = {0};
		if (solver_request_parse_var(&r, A, vars[i].text, strlen(vars[i].text), NULL, &e))
			fail_msg("var '%s': %s", vars[i].text, e.msg);
		assert_int_equal(r.kind, SOLVER_REQ_VAR);
		if (vars[i].pkg)
			assert_string_equal(r.var_pkg, vars[i].pkg);
		else
			assert_null(r.var_pkg);
		assert_string_equal(r.var, vars[i].var);
		assert_string_equal(r.value, vars[i].value);
	}
	for (size_t i = 0; i < sizeof(bad_vars) / sizeof(bad_vars[0]); i++) {
		solver_request r;
		sp_error e = {0};
		if (!solver_request_parse_var(&r, A, bad_vars[i], strlen(bad_vars[i]), NULL, &e))
			fail_msg("var '%s' should not parse", bad_vars[i]);
	}
}

static const struct {
	const char *text;
	int kind;
} cli[] = {
    {"python", SOLVER_REQ_PKG},		 {"python/3.9", SOLVER_REQ_PKG},
    {"python.abi/cp39", SOLVER_REQ_VAR}, {"debug=on", SOLVER_REQ_VAR},
    {"python/>=3.7,<4", SOLVER_REQ_PKG}, {"python/==3.9", SOLVER_REQ_PKG},
    {"python/!=3.9", SOLVER_REQ_PKG},	 {"maya:{run,docs}/1.0", SOLVER_REQ_PKG},
    {"repo/maya/1.0", SOLVER_REQ_PKG},	 {"python/3.9.1", SOLVER_REQ_PKG},
};

static void test_cli(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(cli) / sizeof(cli[0]); i++) {
		solver_request r;
		sp_error e = {0};
		if (solver_request_parse_cli(&r, A, cli[i].text, NULL, &e))
			fail_msg("cli '%s': %s", cli[i].text, e.msg);
		assert_int_equal(r.kind, cli[i].kind);
		if (r.kind == SOLVER_REQ_PKG)
			assert_int_equal(r.compat_rule, SOLVER_COMPAT_API);
	}
	solver_request r;
	sp_error e = {0};
	assert_int_equal(solver_request_parse_cli(&r, A, "debug/Off", NULL, &e), SP_EINVALID);
	assert_non_null(strstr(e.msg, "for a var request write debug=Off"));
	assert_int_equal(solver_request_parse(&r, A, "x/1", 3, SOLVER_COMPAT_BINARY, NULL, &e), 0);
	assert_int_equal(r.compat_rule, SOLVER_COMPAT_BINARY);
}

static void test_names(void **st)
{
	(void)st;
	assert_true(solver_name_valid("a", 1));
	assert_true(solver_name_valid("my-pkg2", 7));
	assert_false(solver_name_valid("", 0));
	assert_false(solver_name_valid("-a", 2));
	assert_false(solver_name_valid("A", 1));
	assert_false(solver_name_valid("a.b", 3));
	assert_false(solver_name_valid("a_b", 3));
}

static void test_limits(void **st)
{
	(void)st;
	solver_limits lim = solver_limits_default;
	lim.max_components = 2;
	solver_request r;
	sp_error e = {0};
	assert_int_equal(solver_request_parse(&r, A, "a:{b,c}", 7, 0, &lim, &e), 0);
	assert_int_equal(solver_request_parse(&r, A, "a:{b,c,d}", 9, 0, &lim, &e), SP_EINVALID);
	lim.max_text = 3;
	assert_int_equal(solver_request_parse(&r, A, "abcd", 4, 0, &lim, &e), SP_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),  cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_vars),  cmocka_unit_test(test_cli),
	    cmocka_unit_test(test_names), cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
