/* test_build_plan.c - pkg/build_plan.c: a build's plan from a recipe, the
 * host's values, a variant, --opt and a solved environment (given as
 * parsed specs of its packages), checked value by value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/build_plan.h"

static solver_arena *A;

static int setup(void **st)
{
	(void)st;
	sp_error e = {0};
	sp_log_set_level(SP_LOG_ERROR);
	return solver_arena_new(&A, &e);
}

static int teardown(void **st)
{
	(void)st;
	solver_arena_free(A);
	A = NULL;
	return 0;
}

static const pkg__host debian = {"linux", "x86_64", "debian", "12"};

typedef struct parsed {
	pkg_spec *spec;
	const pkg__ynode *doc;
} parsed;

static parsed parse(const char *text)
{
	pkg_spec **v;
	size_t n = 0;
	sp_error e = {0};
	if (pkg_spec_parse(&v, &n, A, text, strlen(text), "t.yaml", NULL, &e))
		fail_msg("parse: %s", e.msg);
	pkg__ynode **docs;
	size_t nd = 0;
	if (pkg__yaml_load(&docs, &nd, A, text, strlen(text), "t.yaml", &pkg_limits_default, &e))
		fail_msg("load: %s", e.msg);
	assert_int_equal(n, 1);
	return (parsed){v[0], docs[0]};
}

static const solver_option *opt(const pkg__build_plan *p, const char *name)
{
	for (size_t i = 0; i < p->nopts; i++)
		if (!strcmp(p->opts[i].name, name))
			return &p->opts[i];
	return NULL;
}

static const char *var(const pkg__build_plan *p, const char *name)
{
	const char *v = NULL;
	for (size_t i = 0; i < p->nvars; i++)
		if (!strcmp(p->vars[i].name, name))
			v = p->vars[i].value; /* the last one wins, as in setenv order */
	return v;
}

static const char *recipe = "pkg: app/2.1.0\n"
			    "build:\n"
			    "  options:\n"
			    "    - pkg: lib/1.0\n"
			    "    - pkg: tool:run/2\n"
			    "    - var: arch\n"
			    "    - var: debug/off\n"
			    "      choices: [on, off]\n"
			    "  variants:\n"
			    "    - {debug: on}\n"
			    "  script: make\n"
			    "install:\n"
			    "  components:\n"
			    "    - name: run\n"
			    "      files: [/bin/, '!/bin/test-*']\n"
			    "    - name: dev\n"
			    "      files: [/include/]\n";

static void test_options_host_variant_opt(void **st)
{
	(void)st;
	parsed r = parse(recipe);
	sp_error e = {0};
	pkg__build_plan p;
	pkg_build_opts o = {.variant = -1};
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, &debian, &e), 0);
	assert_string_equal(p.version, "2.1.0");
	/* the recipe's four options, then os, distro and debian (auto_host_vars:
	 * Distro, the default); arch is declared, so it is not added again */
	assert_int_equal(p.nown, 4);
	assert_int_equal(p.nopts, 7);
	assert_string_equal(opt(&p, "arch")->value, "x86_64");
	assert_string_equal(opt(&p, "os")->value, "linux");
	assert_string_equal(opt(&p, "distro")->value, "debian");
	assert_string_equal(opt(&p, "debian")->value, "12");
	assert_string_equal(opt(&p, "debug")->value, "off");
	/* a pkg option without components asks for the build component (SPK);
	 * one that names them keeps them */
	assert_int_equal(p.nreqs, 2);
	assert_string_equal(p.reqs[0].name, "lib");
	assert_int_equal(p.reqs[0].ncomponents, 1);
	assert_string_equal(p.reqs[0].components[0], "build");
	assert_int_equal(p.reqs[1].ncomponents, 1);
	assert_string_equal(p.reqs[1].components[0], "run");
	/* var options steer the solve */
	bool arch = false;
	for (size_t i = 0; i < p.nsolve_opts; i++)
		arch = arch || (!strcmp(p.solve_opts[i].name, "arch") &&
				!strcmp(p.solve_opts[i].value, "x86_64"));
	assert_true(arch);

	/* the variant, then --opt, win over the host; a pkg option given by
	 * --opt keeps the components */
	solver_opt given[] = {{"arch", "aarch64"}, {"lib", "1.2"}, {"python.abi", "cp39"}};
	o = (pkg_build_opts){.variant = 0, .opts = given, .nopts = 3};
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, &debian, &e), 0);
	assert_string_equal(opt(&p, "debug")->value, "on");
	assert_string_equal(opt(&p, "arch")->value, "aarch64");
	assert_string_equal(opt(&p, "lib")->value, "1.2");
	assert_string_equal(p.reqs[0].text, "lib/1.2");
	assert_string_equal(p.reqs[0].components[0], "build");
	bool abi = false;
	for (size_t i = 0; i < p.nsolve_opts; i++)
		abi = abi || !strcmp(p.solve_opts[i].name, "python.abi");
	assert_true(abi);

	/* --no-host: no host options at all */
	o = (pkg_build_opts){.variant = -1, .no_host = true};
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, NULL, &e), 0);
	assert_int_equal(p.nopts, 4);
	assert_string_equal(opt(&p, "arch")->value, "");
}

static void test_auto_host_vars(void **st)
{
	(void)st;
	sp_error e = {0};
	pkg__build_plan p;
	pkg_build_opts o = {.variant = -1};
	parsed r = parse("pkg: a/1.0.0\nbuild:\n  auto_host_vars: Arch\n  script: x\n");
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, &debian, &e), 0);
	assert_int_equal(p.nopts, 2);
	assert_string_equal(opt(&p, "os")->value, "linux");
	assert_string_equal(opt(&p, "arch")->value, "x86_64");
	assert_null(opt(&p, "distro"));
	r = parse("pkg: a/1.0.0\nbuild:\n  auto_host_vars: Os\n  script: x\n");
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, &debian, &e), 0);
	assert_int_equal(p.nopts, 1);
	assert_string_equal(p.opts[0].name, "os");
	r = parse("pkg: a/1.0.0\nbuild:\n  auto_host_vars: None\n  script: x\n");
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, &debian, &e), 0);
	assert_int_equal(p.nopts, 0);
	/* a recipe declaring centos on debian: its centos option gets no host
	 * value; a host value outside a declared option's choices is refused */
	r = parse("pkg: a/1.0.0\nbuild:\n  options:\n    - var: centos\n  script: x\n");
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, &debian, &e), 0);
	assert_string_equal(opt(&p, "centos")->value, "");
	assert_string_equal(opt(&p, "debian")->value, "12");
	r = parse("pkg: a/1.0.0\nbuild:\n  options:\n    - var: distro\n"
		  "      choices: [centos, rocky]\n  script: x\n");
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, &debian, &e), SP_EINVALID);
	assert_non_null(strstr(e.msg, "option distro: the host's 'debian' is not one of its "
				      "choices (give one with --opt distro=VALUE)"));
	/* --opt replaces the host's value before it is checked */
	solver_opt given[] = {{"distro", "rocky"}};
	o.opts = given;
	o.nopts = 1;
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, &debian, &e), 0);
	assert_string_equal(opt(&p, "distro")->value, "rocky");
	/* an unknown distro: SPK's unknown_distro option */
	pkg__host odd = {"linux", "x86_64", NULL, NULL};
	o = (pkg_build_opts){.variant = -1};
	r = parse("pkg: a/1.0.0\nbuild:\n  script: x\n");
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, &odd, &e), 0);
	assert_non_null(opt(&p, "unknown_distro"));
}

static void test_required_and_bad_variant(void **st)
{
	(void)st;
	sp_error e = {0};
	pkg__build_plan p;
	pkg_build_opts o = {.variant = 3};
	parsed r = parse(recipe);
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, &debian, &e), SP_EINVALID);
	assert_non_null(strstr(e.msg, "app has no variant 3 (it has 1)"));
	r = parse("pkg: a/1.0.0\nbuild:\n  options:\n    - var: abi\n      required: true\n"
		  "  script: x\n");
	o.variant = -1;
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, &debian, &e), SP_EINVALID);
	assert_non_null(strstr(e.msg, "its required option abi has no value"));
}

static void test_resolve(void **st)
{
	(void)st;
	sp_error e = {0};
	parsed r = parse(recipe);
	parsed lib = parse("pkg: lib/1.4.2-beta.1/BBBBBBBB\n"
			   "build:\n  options:\n    - var: abi/cp39\n      inheritance: Strong\n"
			   "install:\n  environment:\n    - set: LIB_ROOT\n      value: /spfs\n");
	parsed tool = parse("pkg: my-tool/7/CCCCCCCC\n");
	pkg__build_dep env[] = {{&lib.spec->build, lib.spec}, {&tool.spec->build, NULL}};
	pkg__build_plan p;
	pkg_build_opts o = {.variant = -1};
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, &debian, &e), 0);
	assert_int_equal(pkg__plan_resolve(&p, A, r.doc, env, 2, &e), 0);
	/* the pkg option records the version resolved */
	assert_string_equal(opt(&p, "lib")->value, "1.4.2-beta.1");
	/* lib's Strong option is inherited */
	assert_int_equal(p.ninherited, 1);
	assert_string_equal(p.inherited[0].name, "lib.abi");
	assert_string_equal(p.inherited[0].value, "cp39");
	/* variables */
	assert_string_equal(var(&p, "PREFIX"), "/spfs");
	assert_string_equal(var(&p, "SPK_ACTIVE_PREFIX"), "/spfs");
	assert_string_equal(var(&p, "SPK_INITIAL_PKG_REQUESTS"), "");
	assert_string_equal(var(&p, "SPK_PKG"), p.ident);
	assert_string_equal(var(&p, "SPK_PKG_NAME"), "app");
	assert_string_equal(var(&p, "SPK_PKG_VERSION"), "2.1.0");
	assert_string_equal(var(&p, "SPK_PKG_BUILD"), p.id);
	assert_string_equal(var(&p, "SPK_PKG_VERSION_MAJOR"), "2");
	assert_string_equal(var(&p, "SPK_PKG_VERSION_MINOR"), "1");
	assert_string_equal(var(&p, "SPK_PKG_VERSION_PATCH"), "0");
	assert_string_equal(var(&p, "SPK_PKG_VERSION_BASE"), "2.1.0");
	assert_string_equal(var(&p, "SPK_PKG_lib"), "lib/1.4.2-beta.1/BBBBBBBB");
	assert_string_equal(var(&p, "SPK_PKG_lib_VERSION"), "1.4.2-beta.1");
	assert_string_equal(var(&p, "SPK_PKG_lib_BUILD"), "BBBBBBBB");
	assert_string_equal(var(&p, "SPK_PKG_lib_VERSION_MAJOR"), "1");
	assert_string_equal(var(&p, "SPK_PKG_lib_VERSION_MINOR"), "4");
	assert_string_equal(var(&p, "SPK_PKG_lib_VERSION_PATCH"), "2");
	assert_string_equal(var(&p, "SPK_PKG_lib_VERSION_BASE"), "1.4.2");
	/* a one-part version: the missing parts are 0 (SPK) */
	assert_string_equal(var(&p, "SPK_PKG_my_tool_VERSION_MINOR"), "0");
	assert_string_equal(var(&p, "SPK_PKG_my_tool_VERSION_BASE"), "7");
	assert_string_equal(var(&p, "SPK_OPT_arch"), "x86_64");
	assert_string_equal(var(&p, "SPK_OPT_debian"), "12");
	assert_string_equal(var(&p, "SPK_OPT_lib"), "1.4.2-beta.1");
	assert_string_equal(var(&p, "SPK_PKG_lib_OPT_abi"), "cp39");
	/* the environment's operations: lib's (tool has no spec here) */
	assert_int_equal(p.nenv_specs, 1);
	assert_ptr_equal(p.env_specs[0], lib.spec);
	/* components in the order they claim files: the declared ones, then
	 * build, which the loader added (as SPK appends it) */
	assert_int_equal(p.ncomponents, 3);
	assert_string_equal(p.components[0].name, "run");
	assert_int_equal(p.components[0].nrules, 2);
	assert_string_equal(p.components[0].rules[1], "!/bin/test-*");
	assert_false(p.components[0].remaining);
	assert_string_equal(p.components[1].name, "dev");
	assert_string_equal(p.components[1].rules[0], "/include/");
	assert_string_equal(p.components[2].name, "build");
	assert_int_equal(p.components[2].nrules, 0);

	/* the host options count in the build id: another host, another id */
	char id[9];
	memcpy(id, p.id, sizeof(id));
	pkg__host rocky = {"linux", "x86_64", "rocky", "9.3"};
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, &rocky, &e), 0);
	assert_int_equal(pkg__plan_resolve(&p, A, r.doc, env, 2, &e), 0);
	assert_string_not_equal(p.id, id);
	assert_string_equal(opt(&p, "rocky")->value, "9.3");
	/* the components a pkg option names count too (SPK) */
	char *other = strdup(recipe);
	assert_non_null(other);
	memcpy(strstr(other, "tool:run/2"), "tool:dev/2", 10);
	parsed r2 = parse(other);
	free(other);
	assert_int_equal(pkg__plan_options(&p, A, r2.spec, r2.doc, &o, &debian, &e), 0);
	assert_int_equal(pkg__plan_resolve(&p, A, r2.doc, env, 2, &e), 0);
	assert_string_not_equal(p.id, id);
	/* the same inputs, the same id */
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, &debian, &e), 0);
	assert_int_equal(pkg__plan_resolve(&p, A, r.doc, env, 2, &e), 0);
	assert_string_equal(p.id, id);
}

static void test_file_match_mode(void **st)
{
	(void)st;
	sp_error e = {0};
	pkg__build_plan p;
	pkg_build_opts o = {.variant = -1};
	parsed r =
	    parse("pkg: a/1.0.0\nbuild:\n  script: x\ninstall:\n  components:\n"
		  "    - name: docs\n      files: [/share/doc/]\n"
		  "    - name: rest\n      files: ['*']\n      file_match_mode: Remaining\n");
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, NULL, &e), 0);
	assert_int_equal(pkg__plan_resolve(&p, A, r.doc, NULL, 0, &e), 0);
	assert_int_equal(p.ncomponents, 4);
	assert_string_equal(p.components[0].name, "docs");
	assert_false(p.components[0].remaining);
	assert_string_equal(p.components[1].name, "rest");
	assert_true(p.components[1].remaining);
	r = parse("pkg: a/1.0.0\nbuild:\n  script: x\ninstall:\n  components:\n"
		  "    - name: x\n      file_match_mode: Some\n");
	assert_int_equal(pkg__plan_options(&p, A, r.spec, r.doc, &o, NULL, &e), 0);
	assert_int_equal(pkg__plan_resolve(&p, A, r.doc, NULL, 0, &e), SP_EINVALID);
	assert_non_null(strstr(e.msg, "file_match_mode: expected All or Remaining"));
}

static void test_os_release(void **st)
{
	(void)st;
	sp_error e = {0};
	pkg__host h = {0};
	const char *t = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian\"\n"
			"VERSION_ID=\"12\"\nID=debian\nHOME_URL=\"https://www.debian.org/\"";
	assert_int_equal(pkg__host_parse_os_release(&h, A, t, strlen(t), &e), 0);
	assert_string_equal(h.distro, "debian");
	assert_string_equal(h.distro_version, "12");
	pkg__host g = {0};
	const char *u = "ID='rocky'\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n"
			"garbage line\n=\nID=\n";
	assert_int_equal(pkg__host_parse_os_release(&g, A, u, strlen(u), &e), 0);
	assert_string_equal(g.distro, "rocky");
	assert_string_equal(g.distro_version, "9.3");
	pkg__host none = {0};
	assert_int_equal(pkg__host_parse_os_release(&none, A, "", 0, &e), 0);
	assert_null(none.distro);
	/* this host */
	pkg__host me;
	assert_int_equal(pkg__host_detect(&me, A, &e), 0);
	assert_string_equal(me.os, "linux");
	assert_non_null(me.arch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_options_host_variant_opt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_auto_host_vars, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_required_and_bad_variant, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_match_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_os_release, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
