/* test_build_spec.c - pkg/build_spec.c: inherited options written into a
 * build's spec text, in each shape a recipe can have, and the result read
 * back by the spec loader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "pkg/yamltree.h"

static const solver_option inherited[] = {
    {.name = "rt.abi", .value = "cp'3", .inheritance = SOLVER_INHERIT_STRONG},
    {.name = "rt.flavour", .value = "plain", .inheritance = SOLVER_INHERIT_STRONG_BUILD},
};

/* Renders `in` and checks it equals `want`, then that it still loads. */
static void check(const char *in, const char *want)
{
	sp_error err = {0};
	sp_buf out = {0};
	assert_int_equal(pkg__render_inherited(&out, in, strlen(in), inherited, 2, "t.yaml", &err),
			 0);
	assert_non_null(out.data);
	assert_string_equal(out.data, want);
	solver_arena *a = NULL;
	assert_int_equal(solver_arena_new(&a, &err), 0);
	pkg__ynode **docs = NULL;
	size_t n = 0;
	assert_int_equal(
	    pkg__yaml_load(&docs, &n, a, out.data, out.len, "t.yaml", &pkg_limits_default, &err),
	    0);
	assert_int_equal(n, 1);
	solver_arena_free(a);
	sp_buf_free(&out);
}

static void test_into_existing_lists(void **state)
{
	(void)state;
	check("pkg: app/1.0.0/AAAAAAAA\n"
	      "build:\n"
	      "  options:\n"
	      "    - pkg: rt/1.0.0\n"
	      "install:\n"
	      "  requirements:\n"
	      "  - pkg: lib\n",
	      "pkg: app/1.0.0/AAAAAAAA\n"
	      "build:\n"
	      "  options:\n"
	      "    - var: 'rt.abi/cp''3'\n"
	      "    - var: 'rt.flavour/plain'\n"
	      "    - pkg: rt/1.0.0\n"
	      "install:\n"
	      "  requirements:\n"
	      "  - var: 'rt.abi/cp''3'\n"
	      "  - pkg: lib\n");
}

static void test_install_without_requirements(void **state)
{
	(void)state;
	check("pkg: app/1.0.0/AAAAAAAA\n"
	      "build:\n"
	      "  options:\n"
	      "  - pkg: rt\n"
	      "install:\n"
	      "    environment:\n"
	      "      - set: X\n"
	      "        value: y\n",
	      "pkg: app/1.0.0/AAAAAAAA\n"
	      "build:\n"
	      "  options:\n"
	      "  - var: 'rt.abi/cp''3'\n"
	      "  - var: 'rt.flavour/plain'\n"
	      "  - pkg: rt\n"
	      "install:\n"
	      "    requirements:\n"
	      "      - var: 'rt.abi/cp''3'\n"
	      "    environment:\n"
	      "      - set: X\n"
	      "        value: y\n");
}

static void test_no_install(void **state)
{
	(void)state;
	check("pkg: app/1.0.0/AAAAAAAA\n"
	      "build:\n"
	      "  options:\n"
	      "  - pkg: rt\n"
	      "  script: [true]",
	      "pkg: app/1.0.0/AAAAAAAA\n"
	      "build:\n"
	      "  options:\n"
	      "  - var: 'rt.abi/cp''3'\n"
	      "  - var: 'rt.flavour/plain'\n"
	      "  - pkg: rt\n"
	      "  script: [true]\n"
	      "install:\n"
	      "  requirements:\n"
	      "    - var: 'rt.abi/cp''3'\n");
}

static void test_flow_style_refused(void **state)
{
	(void)state;
	sp_error err = {0};
	sp_buf out = {0};
	const char *in = "pkg: app/1.0.0/AAAAAAAA\nbuild: {options: [{pkg: rt}]}\n";
	assert_int_equal(pkg__render_inherited(&out, in, strlen(in), inherited, 2, "t.yaml", &err),
			 SP_EINVALID);
	assert_non_null(strstr(err.msg, "t.yaml: cannot add the options rt.abi"));
	sp_buf_free(&out);
	const char *in2 = "pkg: app/1.0.0/AAAAAAAA\nbuild:\n  options:\n  - pkg: rt\n"
			  "install: {requirements: [{pkg: lib}]}\n";
	assert_int_equal(
	    pkg__render_inherited(&out, in2, strlen(in2), inherited, 2, "t.yaml", &err),
	    SP_EINVALID);
	assert_non_null(strstr(err.msg, "var: rt.abi/cp'3 to install"));
	sp_buf_free(&out);
}

static void test_nothing_inherited(void **state)
{
	(void)state;
	sp_error err = {0};
	sp_buf out = {0};
	const char *in = "pkg: app/1.0.0/AAAAAAAA\nbuild: {options: [{pkg: rt}]}\n";
	assert_int_equal(pkg__render_inherited(&out, in, strlen(in), NULL, 0, "t.yaml", &err), 0);
	assert_string_equal(out.data, in);
	sp_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_into_existing_lists),
	    cmocka_unit_test(test_install_without_requirements),
	    cmocka_unit_test(test_no_install),
	    cmocka_unit_test(test_flow_style_refused),
	    cmocka_unit_test(test_nothing_inherited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
