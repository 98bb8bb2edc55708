/* test_repo_test.c - pkg/repo_test.c: which variants a test's selectors
 * pick (running the tests needs a store and runtimes: see
 * tests/e2e/test_spk_test.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "pkg/build_plan.h"

static const char *recipe = "pkg: app/1.0.0\n"
			    "build:\n"
			    "  options:\n"
			    "    - var: python/3\n"
			    "    - var: debug/off\n"
			    "  variants:\n"
			    "    - {python: 3}\n"
			    "    - {python: 2, debug: on}\n"
			    "  script: [true]\n"
			    "tests:\n"
			    "  - stage: install\n"
			    "    script: [all]\n"
			    "  - stage: install\n"
			    "    selectors: [{python: 3}]\n"
			    "    script: [py3]\n"
			    "  - stage: install\n"
			    "    selectors: [{python: 2, debug: on}, {python: '3.7'}]\n"
			    "    script: [py2-debug or 3.7]\n"
			    "  - stage: install\n"
			    "    selectors: [{python: 2, debug: off}]\n"
			    "    script: [never]\n"
			    "  - stage: install\n"
			    "    selectors: [{arch: x86_64}]\n"
			    "    script: [host option]\n";

static void test_selectors(void **st)
{
	(void)st;
	solver_arena *a = NULL;
	sp_error e = {0};
	assert_int_equal(solver_arena_new(&a, &e), 0);
	pkg_spec **v;
	size_t n;
	assert_int_equal(pkg_spec_parse(&v, &n, a, recipe, strlen(recipe), "t.yaml", NULL, &e), 0);
	pkg__ynode **docs;
	size_t nd;
	assert_int_equal(pkg__yaml_load(&docs, &nd, a, recipe, strlen(recipe), "t.yaml",
					&pkg_limits_default, &e),
			 0);
	const pkg_spec *sp = v[0];
	assert_int_equal(sp->ntests, 5);
	const pkg__host host = {"linux", "x86_64", "debian", "12"};
	/* which tests run for variant 0, variant 1, and with --opt python=3.7 */
	static const bool want[3][5] = {{true, true, false, false, true},
					{true, false, true, false, true},
					{true, false, true, false, true}};
	for (int k = 0; k < 3; k++) {
		solver_opt opt = {"python", "3.7"};
		pkg_build_opts o = {.variant = k < 2 ? k : -1, .opts = &opt, .nopts = k == 2};
		pkg__build_plan p;
		assert_int_equal(pkg__plan_options(&p, a, sp, docs[0], &o, &host, &e), 0);
		for (size_t i = 0; i < sp->ntests; i++)
			if (pkg__test_selected(&sp->tests[i], &p) != want[k][i])
				fail_msg("run %d, test %zu: expected %d", k, i, want[k][i]);
	}
	solver_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_selectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
