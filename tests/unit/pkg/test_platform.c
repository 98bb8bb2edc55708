/* test_platform.c - platform specs (pkg/platform.c) as the recipes they
 * stand for: requirements, components, bases, removal, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/platform.h"

static pkg_specfile *load(const char *text)
{
	pkg_specfile *f = NULL;
	sp_error err = {0};
	if (pkg_specfile_load(&f, text, strlen(text), "p.spk.yaml", NULL, &err))
		fail_msg("load: %s", err.msg);
	assert_int_equal(f->nspecs, 1);
	return f;
}

static void expect_error(const char *text, const char *want)
{
	pkg_specfile *f = NULL;
	sp_error err = {0};
	if (!pkg_specfile_load(&f, text, strlen(text), "p.spk.yaml", NULL, &err))
		fail_msg("<%s> loaded; want an error with <%s>", text, want);
	if (!strstr(err.msg, want))
		fail_msg("<%s>: error <%s> lacks <%s>", text, err.msg, want);
}

/* The request of `name` in reqs as text ("" when none); include flag. */
static const char *req(const solver_request *reqs, size_t n, const char *name, bool *if_present)
{
	static char buf[256];
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *nm = reqs[i].kind == SOLVER_REQ_VAR ? reqs[i].var : reqs[i].name;
		if (strcmp(nm, name))
			continue;
		sp_buf b = {0};
		sp_error err = {0};
		assert_int_equal(solver_request_format(&reqs[i], &b, &err), 0);
		snprintf(buf, sizeof(buf), "%s", b.data);
		sp_buf_free(&b);
		if (if_present)
			*if_present = reqs[i].include == SOLVER_INCLUDE_IF_PRESENT;
	}
	return buf;
}

static const solver_component *comp(const solver_build *b, const char *name)
{
	for (size_t i = 0; i < b->ncomponents; i++)
		if (!strcmp(b->components[i].name, name))
			return &b->components[i];
	fail_msg("no component %s", name);
	return NULL;
}

static void test_v1(void **st)
{
	(void)st;
	pkg_specfile *f = load("api: v1/platform\n"
			       "platform: studio-platform/2024.1\n"
			       "meta: {description: the studio's baseline}\n"
			       "base: [vfx-2023/1.0]\n"
			       "requirements:\n"
			       "  - pkg: gcc\n"
			       "    atBuild: =9.3.1\n"
			       "    atRuntime: 9.3.1\n"
			       "  - pkg: python\n"
			       "    atRuntime: 3.9\n"
			       "  - pkg: imath\n"
			       "    atBuild: false\n"
			       "    atRuntime: false\n"
			       "  - var: distro\n"
			       "    atBuild: rocky\n");
	const pkg_spec *sp = f->specs[0];
	const solver_build *b = &sp->build;
	assert_true(sp->platform);
	assert_int_equal(sp->kind, PKG_RECIPE);
	assert_string_equal(b->name, "studio-platform");
	assert_string_equal(b->origin, "p.spk.yaml:2");
	assert_int_equal(sp->line, 1);
	assert_string_equal(sp->description, "the studio's baseline");
	assert_non_null(sp->script);
	assert_string_equal(sp->script, ""); /* builds an empty package */
	assert_false(sp->has_sources);
	/* the base is built against: a pkg option, its exact version */
	assert_int_equal(b->nbuild_reqs, 1);
	/* (its build component, SPK's default for build options) */
	assert_string_equal(req(b->build_reqs, 1, "vfx-2023", NULL), "vfx-2023:build/=1.0");
	assert_int_equal(b->nreqs, 0);
	bool ifp = false;
	const solver_component *c = comp(b, "build");
	assert_string_equal(req(c->reqs, c->nreqs, "gcc", &ifp), "gcc/=9.3.1");
	assert_true(ifp);
	assert_string_equal(req(c->reqs, c->nreqs, "python", NULL), "");
	assert_string_equal(req(c->reqs, c->nreqs, "imath", NULL), "");
	assert_string_equal(req(c->reqs, c->nreqs, "distro", NULL), "distro/rocky");
	c = comp(b, "run");
	assert_string_equal(req(c->reqs, c->nreqs, "gcc", NULL), "gcc/9.3.1");
	assert_string_equal(req(c->reqs, c->nreqs, "python", &ifp), "python/3.9");
	assert_true(ifp);
	assert_string_equal(req(c->reqs, c->nreqs, "distro", NULL), "");
	pkg_specfile_free(f);
}

static void test_v0(void **st)
{
	(void)st;
	pkg_specfile *f = load("api: v0/platform\n"
			       "platform: vfx-2023\n"
			       "requirements:\n"
			       "  - pkg: python/3.10\n"
			       "  - pkg: qt/5.15\n"
			       "    include: Always\n"
			       "  - var: python.abi/cp310\n");
	const solver_build *b = &f->specs[0]->build;
	assert_int_equal(b->nreqs, 3);
	bool ifp = false;
	assert_string_equal(req(b->reqs, b->nreqs, "python", &ifp), "python/3.10");
	assert_true(ifp);
	/* a platform's pkg requirements are IfAlreadyPresent, whatever is written */
	assert_string_equal(req(b->reqs, b->nreqs, "qt", &ifp), "qt/5.15");
	assert_true(ifp);
	assert_string_equal(req(b->reqs, b->nreqs, "abi", NULL), "python.abi/cp310");
	char v[32];
	assert_string_equal(solver_version_str(&b->version, v, sizeof(v)), "0.0.0");
	pkg_specfile_free(f);
	/* the add / remove form */
	f = load("api: v0/platform\n"
		 "platform: vfx-2024/1\n"
		 "base: vfx-2023\n"
		 "requirements:\n"
		 "  add:\n"
		 "    - pkg: python/3.11\n"
		 "  remove:\n"
		 "    - pkg: qt\n");
	b = &f->specs[0]->build;
	assert_int_equal(b->nreqs, 1);
	assert_string_equal(req(b->reqs, b->nreqs, "python", NULL), "python/3.11");
	assert_string_equal(req(b->build_reqs, b->nbuild_reqs, "vfx-2023", NULL), "vfx-2023:build");
	pkg_specfile_free(f);
}

static void test_bad(void **st)
{
	(void)st;
	expect_error("api: v1/platform\nrequirements: []\n",
		     "p.spk.yaml:1:1: missing 'platform: name/version'");
	expect_error("api: v1/platform\nplatform: Bad_Name\n",
		     "p.spk.yaml:2:11: platform: invalid package name 'Bad_Name'");
	expect_error("api: v1/platform\nplatform: p/1.x\n", "p.spk.yaml:2:11: platform:");
	expect_error(
	    "api: v1/platform\nplatform: p\nrequirements:\n  - pkg: a\n    atBuild: '>>1'\n",
	    "p.spk.yaml:5:14:");
	expect_error("api: v1/platform\nplatform: p\nrequirements:\n  - pkg: a\n    atbuild: 1\n",
		     "p.spk.yaml:5:5: requirement: unknown field 'atbuild'");
	expect_error("api: v1/platform\nplatform: p\nrequirements:\n  - {pkg: a, var: b}\n",
		     "exactly one of 'pkg' or 'var'");
	expect_error("api: v1/platform\nplatform: p\nrequirements: {add: []}\n",
		     "p.spk.yaml:3:15: requirements: expected a list");
	expect_error("api: v0/platform\nplatform: p\nrequirements: 3\n",
		     "requirements: expected a list, or a mapping of add and remove");
	expect_error("api: v0/platform\nplatform: p\nbase: [x/1, 'Y']\n",
		     "p.spk.yaml:3:13: base: invalid package name 'Y'");
	expect_error("api: v0/platform\nplatform: p\nrequirements:\n  - pkg: 'a/!!'\n",
		     "p.spk.yaml:4:10:");
	expect_error(
	    "api: v1/platform\nplatform: p\nrequirements:\n  - pkg: a\n    atRuntime: [1]\n",
	    "atRuntime: expected a version range, a value or false");
}

int main(void)
{
	sp_log_set_level(SP_LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v1),
	    cmocka_unit_test(test_v0),
	    cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
