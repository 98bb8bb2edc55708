/* test_spec.c - the spec loader (pkg/spec.c, pkg/yamltree.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/pkg.h"
#include "pkg/yamltree.h"

static solver_arena *A;

static int setup(void **st)
{
	(void)st;
	sp_error e = {0};
	sp_log_set_level(SP_LOG_ERROR); /* unknown-field warnings stay quiet */
	return solver_arena_new(&A, &e);
}

static int teardown(void **st)
{
	(void)st;
	solver_arena_free(A);
	return 0;
}

static pkg_spec **parse(const char *text, size_t *n)
{
	pkg_spec **v;
	sp_error e = {0};
	int rc = pkg_spec_parse(&v, n, A, text, strlen(text), "t.yaml", NULL, &e);
	if (rc)
		fail_msg("parse: %s", e.msg);
	return v;
}

static const char *full = "pkg: my-pkg/1.2.3\n"
			  "api: v0/package\n"
			  "meta:\n"
			  "  description: a test package\n"
			  "  license: MIT\n"
			  "compat: x.ab\n"
			  "deprecated: false\n"
			  "sources:\n"
			  "  - path: ./src\n"
			  "  - git: https://example.com/x.git\n"
			  "    ref: v1\n"
			  "build:\n"
			  "  auto_host_vars: Distro\n"
			  "  options:\n"
			  "    - var: debug/off\n"
			  "      choices: [on, off]\n"
			  "    - var: abi\n"
			  "      default: cp39\n"
			  "      inheritance: Strong\n"
			  "      required: true\n"
			  "    - var: os\n"
			  "      static: linux\n"
			  "    - pkg: cmake/3.16\n"
			  "    - pkg: python\n"
			  "      default: 3.9\n"
			  "  variants:\n"
			  "    - { debug: on }\n"
			  "    - { debug: off }\n"
			  "  script:\n"
			  "    - cmake -S . -B build\n"
			  "    - cmake --build build\n"
			  "  validation:\n"
			  "    rules:\n"
			  "      - allow: EmptyPackage\n"
			  "install:\n"
			  "  requirements:\n"
			  "    - pkg: python/3.9\n"
			  "    - pkg: openssl/1.1\n"
			  "      include: IfAlreadyPresent\n"
			  "    - pkg: numpy\n"
			  "      prereleasePolicy: IncludeAll\n"
			  "    - var: python.abi/cp39\n"
			  "    - pkg: gcc\n"
			  "      fromBuildEnv: x.x\n"
			  "    - var: debug\n"
			  "      fromBuildEnv: true\n"
			  "  embedded:\n"
			  "    - pkg: qt/5.15.2\n"
			  "      install:\n"
			  "        components:\n"
			  "          - name: run\n"
			  "  components:\n"
			  "    - name: run\n"
			  "      files: [lib/]\n"
			  "      uses: [lib]\n"
			  "    - name: lib\n"
			  "      requirements:\n"
			  "        - pkg: zlib/1.2\n"
			  "      embedded:\n"
			  "        - pkg: half/2.1.0\n"
			  "    - name: build\n"
			  "  environment:\n"
			  "    - priority: 50\n"
			  "    - comment: hello\n"
			  "    - set: MY_PKG\n"
			  "      value: /spfs\n"
			  "    - append: PATH\n"
			  "      value: /spfs/bin\n"
			  "      separator: ':'\n"
			  "    - prepend: LD_LIBRARY_PATH\n"
			  "      value: /spfs/lib\n"
			  "tests:\n"
			  "  - stage: install\n"
			  "    script: [true]\n";

static void test_full(void **st)
{
	(void)st;
	size_t n;
	pkg_spec **v = parse(full, &n);
	assert_int_equal(n, 1);
	const pkg_spec *s = v[0];
	const solver_build *b = &s->build;
	assert_string_equal(b->name, "my-pkg");
	char ver[64];
	assert_string_equal(solver_version_str(&b->version, ver, sizeof(ver)), "1.2.3");
	assert_int_equal(s->kind, PKG_RECIPE);
	assert_true(b->is_recipe);
	assert_int_equal(strlen(b->build), 8);
	assert_string_equal(s->description, "a test package");
	assert_int_equal(b->compat.nparts, 2);
	assert_false(b->deprecated);
	assert_int_equal(s->nsources, 2);
	assert_int_equal(b->noptions, 5);
	assert_string_equal(b->options[0].name, "debug");
	assert_string_equal(b->options[0].value, "off");
	assert_int_equal(b->options[0].nchoices, 2);
	assert_string_equal(b->options[1].value, "cp39");
	assert_string_equal(s->decls[1].inheritance, "Strong");
	assert_true(s->decls[1].required);
	assert_true(b->options[2].is_static);
	assert_string_equal(b->options[2].value, "linux");
	assert_true(b->options[3].is_pkg);
	assert_string_equal(b->options[3].value, "3.16");
	assert_string_equal(b->options[4].value, "3.9");
	assert_int_equal(b->nbuild_reqs, 2);
	assert_string_equal(b->build_reqs[0].text, "cmake/3.16");
	assert_int_equal(b->build_reqs[0].compat_rule, SOLVER_COMPAT_API);
	assert_int_equal(s->nvariants, 2);
	assert_string_equal(s->script, "cmake -S . -B build\ncmake --build build\n");
	/* the fromBuildEnv var without a value takes the build's (solver) */
	assert_int_equal(b->nreqs, 6);
	assert_string_equal(b->reqs[0].name, "python");
	assert_int_equal(b->reqs[0].compat_rule, SOLVER_COMPAT_BINARY);
	assert_int_equal(b->reqs[1].include, SOLVER_INCLUDE_IF_PRESENT);
	assert_int_equal(b->reqs[2].prerelease, SOLVER_PRERELEASE_INCLUDE);
	assert_int_equal(b->reqs[3].kind, SOLVER_REQ_VAR);
	assert_string_equal(b->reqs[3].var_pkg, "python");
	assert_true(b->reqs[4].from_build_env);
	assert_string_equal(b->reqs[4].pin, "x.x");
	assert_null(b->reqs[3].pin);
	assert_int_equal(b->reqs[5].kind, SOLVER_REQ_VAR);
	assert_true(b->reqs[5].from_build_env);
	assert_string_equal(b->reqs[5].var, "debug");
	assert_string_equal(b->reqs[5].value, "");
	assert_string_equal(b->reqs[5].pin, "true");
	/* inheritance and required reach the solver's view of the options */
	assert_int_equal(b->options[1].inheritance, SOLVER_INHERIT_STRONG);
	assert_true(b->options[1].required);
	assert_int_equal(b->options[0].inheritance, SOLVER_INHERIT_WEAK);
	assert_false(b->options[0].required);
	assert_int_equal(b->nembedded, 1);
	assert_string_equal(b->embedded[0].name, "qt");
	assert_int_equal(b->embedded[0].ncomponents, 1);
	assert_int_equal(b->ncomponents, 3);
	assert_string_equal(b->components[0].name, "run");
	assert_int_equal(b->components[0].nuses, 1);
	assert_int_equal(b->components[1].nreqs, 1);
	assert_int_equal(b->components[1].nembedded, 1);
	assert_int_equal(s->nenv, 5);
	assert_string_equal(s->env[3].op, "append");
	assert_string_equal(s->env[3].separator, ":");
	assert_int_equal(s->ntests, 1);
	assert_string_equal(b->origin, "t.yaml:1");
}

static void test_kinds_and_docs(void **st)
{
	(void)st;
	size_t n;
	pkg_spec **v = parse("pkg: a/1.0.0/ABCDEFGH\n"
			     "build:\n  options:\n    - var: debug/on\n"
			     "---\n"
			     "pkg: a/1.0.0/src\n"
			     "install:\n  requirements:\n    - pkg: b\n"
			     "---\n"
			     "---\n"
			     "pkg: c\n"
			     "deprecated: true\n",
			     &n);
	assert_int_equal(n, 3);
	assert_int_equal(v[0]->kind, PKG_BUILD);
	assert_string_equal(v[0]->build.build, "ABCDEFGH");
	assert_false(v[0]->build.is_recipe);
	assert_string_equal(v[0]->build.options[0].value, "on");
	assert_int_equal(v[1]->kind, PKG_SOURCE);
	assert_true(v[1]->build.is_source);
	assert_int_equal(v[1]->build.nreqs, 0);
	assert_int_equal(v[2]->kind, PKG_RECIPE);
	assert_true(v[2]->build.deprecated);
	char ver[32];
	assert_string_equal(solver_version_str(&v[2]->build.version, ver, sizeof(ver)), "0.0.0");
	assert_int_equal(v[2]->line, 12);
	assert_int_equal(v[2]->build.ncomponents, 2);
}

static void test_build_id(void **st)
{
	(void)st;
	solver_option a[2] = {{.name = "x", .value = "1"}, {.name = "y", .value = "2"}};
	solver_option b[2] = {{.name = "y", .value = "2"}, {.name = "x", .value = "1"}};
	solver_option c[2] = {{.name = "x", .value = "1"}, {.name = "y", .value = "3"}};
	char ia[9], ib[9], ic[9];
	sp_error e = {0};
	assert_int_equal(pkg_build_id(ia, a, 2, &e), 0);
	assert_int_equal(pkg_build_id(ib, b, 2, &e), 0);
	assert_int_equal(pkg_build_id(ic, c, 2, &e), 0);
	assert_string_equal(ia, ib);
	assert_string_not_equal(ia, ic);
	for (int i = 0; i < 8; i++)
		assert_true((ia[i] >= 'A' && ia[i] <= 'Z') || (ia[i] >= '2' && ia[i] <= '7'));
}

/* text, fragment of the error (with line:column) */
static const struct {
	const char *text, *frag;
} bad[] = {
    {"", NULL},
    {"pkg: [a]\n", "t.yaml:1:6: pkg: expected a value, got a list"},
    {"- a\n- b\n", "t.yaml:1:1: spec: expected a mapping, got a list"},
    {"api: v0/package\n", "missing 'pkg"},
    {"pkg: A/1\n", "t.yaml:1:6: pkg: invalid package name"},
    {"pkg: a/1.x\n", "t.yaml:1:6: pkg"},
    {"pkg: a/1/B-C\n", "invalid build"},
    {"pkg: a/1\napi: v9/other\n",
     "t.yaml:2:6: api: expected v0/package, v0/platform or v1/platform, got 'v9/other'"},
    {"api: v0/workspace\nrecipes: []\n", "t.yaml:1:6: a workspace file"},
    {"pkg: a/1\napi: v0/platform\n", "t.yaml:1:1: missing 'platform: name/version'"},
    {"pkg: a/1\ncompat: x.y\n", "t.yaml:2:9"},
    {"pkg: a/1\ndeprecated: maybe\n", "t.yaml:2:13: deprecated: expected true or false"},
    {"pkg: a/1\nbuild: [x]\n", "t.yaml:2:8: build: expected a mapping"},
    {"pkg: a/1\nbuild:\n  options:\n    - {var: a, pkg: b}\n", "exactly one of 'var' or 'pkg'"},
    {"pkg: a/1\nbuild:\n  options:\n    - var: x/3\n      choices: [1, 2]\n",
     "not one of its choices"},
    {"pkg: a/1\nbuild:\n  options:\n    - var: x\n    - var: x\n", "declared twice"},
    {"pkg: a/1\nbuild:\n  options:\n    - var: x\n      inheritance: Sometimes\n", "inheritance"},
    {"pkg: a/1\nbuild:\n  auto_host_vars: Planet\n", "auto_host_vars"},
    {"pkg: a/1\ninstall:\n  requirements:\n    - pkg: B/1\n", "t.yaml:4:12"},
    {"pkg: a/1\ninstall:\n  requirements:\n    - pkg: b/~1\n", "~ needs at least two"},
    {"pkg: a/1\ninstall:\n  requirements:\n    - pkg: b\n      include: Sometimes\n",
     "include: expected"},
    {"pkg: a/1\ninstall:\n  requirements:\n    - pkg: b\n      prereleasePolicy: Some\n",
     "prereleasePolicy"},
    {"pkg: a/1\ninstall:\n  requirements:\n    - var: debug\n", "var: expected name/value"},
    {"pkg: a/1\ninstall:\n  requirements:\n    - {}\n", "exactly one of 'pkg' or 'var'"},
    {"pkg: a/1\ninstall:\n  requirements: {pkg: b}\n", "expected a list"},
    {"pkg: a/1\ninstall:\n  components:\n    - name: run\n    - name: run\n", "defined twice"},
    {"pkg: a/1\ninstall:\n  components:\n    - name: run\n      uses: [nope]\n", "uses 'nope'"},
    {"pkg: a/1\ninstall:\n  components:\n    - files: [x]\n", "missing 'name'"},
    {"pkg: a/1\ninstall:\n  embedded:\n    - pkg: b/1/XYZ\n", "expected name/version"},
    {"pkg: a/1\ninstall:\n  environment:\n    - set: X\n", "missing 'value'"},
    {"pkg: a/1\ninstall:\n  environment:\n    - set: X\n      append: Y\n      value: 1\n",
     "more than one"},
    {"pkg: a/1\ninstall:\n  environment:\n    - priority: 500\n", "priority"},
    {"pkg: a/1\ninstall:\n  environment:\n    - value: 1\n", "expected one of set"},
    {"pkg: a/1\ntests: {}\n", "tests: expected a list"},
    {"pkg: a/1\ntests: [{script: [true]}]\n", "test: missing 'stage'"},
    {"pkg: a/1\ntests: [{stage: build}]\n", "test: missing 'script'"},
    {"pkg: a/1\ntests: [{stage: build, script: x, selectors: [1]}]\n",
     "selector: expected a mapping"},
    {"pkg: a/1\nbuild:\n  validation:\n    rules: [{allow: Nope}]\n",
     "t.yaml:4:21: build.validation: unknown rule"},
    {"pkg: a/1\nsources: [1]\n", "source: expected a mapping"},
    {"pkg: &x a/1\nmeta: *x\n", "aliases are not supported"},
    {"pkg: a/1\nmeta: {description: [1]}\n", "description: expected a value"},
    {"pkg: a/1\n  bad: indent\n", "t.yaml:2:"},
    {"pkg: 'a/1\n", "invalid YAML"},
    {"pkg: a/1\n\xff\xfe: x\n", "invalid YAML"},
    {"{{{{{{{{", "t.yaml:1:2: a mapping key must be a plain value"},
    {"pkg: a/1\n---\npkg: B\n", "t.yaml:3:6"},
    /* a duplicate key names both lines; the first would have won silently */
    {"pkg: a/1\nbuild:\n  script: [x]\napi: v0/package\nbuild: {}\n",
     "t.yaml:5:1: key 'build' appears twice (lines 2 and 5)"},
    {"pkg: a/1\ninstall:\n  requirements:\n    - pkg: b\n      pkg: c\n",
     "t.yaml:5:7: key 'pkg' appears twice (lines 4 and 5)"},
    {"pkg: a/1\n? [x]\n: y\n", "t.yaml:2:3: a mapping key must be a plain value, not a list"},
    {"pkg: a/1\n? {x: 1}\n: y\n", "t.yaml:2:3: a mapping key must be a plain value, not a mapping"},
};

static void test_bad(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pkg_spec **v;
		size_t n;
		sp_error e = {0};
		int rc =
		    pkg_spec_parse(&v, &n, A, bad[i].text, strlen(bad[i].text), "t.yaml", NULL, &e);
		if (!bad[i].frag) {
			assert_int_equal(rc, 0);
			assert_int_equal(n, 0);
			continue;
		}
		if (rc == 0)
			fail_msg("spec %zu should fail: %s", i, bad[i].text);
		if (!strstr(e.msg, bad[i].frag))
			fail_msg("spec %zu: error '%s' lacks '%s'", i, e.msg, bad[i].frag);
	}
}

static void test_limits(void **st)
{
	(void)st;
	pkg_limits lim = pkg_limits_default;
	lim.max_depth = 8;
	sp_buf b = {0};
	sp_error e = {0};
	assert_int_equal(sp_buf_printf(&b, &e, "pkg: a/1\nmeta: "), 0);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(sp_buf_append(&b, "[", 1, &e), 0);
	pkg_spec **v;
	size_t n;
	int rc = pkg_spec_parse(&v, &n, A, b.data, b.len, "deep.yaml", &lim, &e);
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(e.msg, "deep.yaml:2:"));
	sp_buf_free(&b);
	lim = pkg_limits_default;
	lim.max_nodes = 10;
	const char *many = "pkg: a/1\nsources: [{a: 1}, {a: 2}, {a: 3}, {a: 4}, {a: 5}]\n";
	rc = pkg_spec_parse(&v, &n, A, many, strlen(many), "m.yaml", &lim, &e);
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(e.msg, "more than 10 YAML nodes"));
	lim = pkg_limits_default;
	lim.max_scalar = 4;
	rc = pkg_spec_parse(&v, &n, A, "pkg: abcdef/1\n", 14, "s.yaml", &lim, &e);
	assert_non_null(strstr(e.msg, "longer than 4 bytes"));
	lim = pkg_limits_default;
	lim.max_docs = 2;
	const char *docs = "pkg: a/1\n---\npkg: a/2\n---\npkg: a/3\n";
	rc = pkg_spec_parse(&v, &n, A, docs, strlen(docs), "d.yaml", &lim, &e);
	assert_non_null(strstr(e.msg, "more than 2 documents"));
	lim = pkg_limits_default;
	lim.max_file = 3;
	rc = pkg_spec_parse(&v, &n, A, "pkg: a/1\n", 9, "f.yaml", &lim, &e);
	assert_non_null(strstr(e.msg, "larger than 3 bytes"));
}

/* Requirements keep their line; a published text's first line records the
 * recipe it came from, and reading it back maps lines to the recipe. */
static void test_positions_and_origin(void **st)
{
	(void)st;
	const char *text = "# a comment\n"
			   "pkg: tool/1.0.0\n"
			   "build:\n"
			   "  options:\n"
			   "    - pkg: cmake/3\n"
			   "install:\n"
			   "  requirements:\n"
			   "    - pkg: lib/2\n"
			   "    - var: abi/cp39\n";
	sp_error e = {0};
	pkg_spec **v;
	size_t n;
	assert_int_equal(
	    pkg_spec_parse(&v, &n, A, text, strlen(text), "no/such/dir/tool.yaml", NULL, &e), 0);
	const solver_build *b = &v[0]->build;
	assert_int_equal(b->nreqs, 2);
	assert_int_equal(b->reqs[0].line, 8);
	assert_int_equal(b->reqs[1].line, 9);
	assert_int_equal(b->nbuild_reqs, 1);
	assert_int_equal(b->build_reqs[0].line, 5);
	assert_string_equal(b->where.file, "no/such/dir/tool.yaml");
	assert_true(b->where.lines && !b->where.published && b->where.shift == 0);
	/* the published text: the document cut from line 2, after the comment */
	sp_buf pub = {0};
	assert_int_equal(pkg__with_origin(&pub, v[0], true, text + 12, strlen(text + 12), &e), 0);
	assert_true(
	    strncmp(pub.data, "# spk-origin: no/such/dir/tool.yaml:2\npkg: tool/1.0.0\n", 53) == 0);
	pkg_spec **p;
	assert_int_equal(
	    pkg_spec_parse(&p, &n, A, pub.data, pub.len, "spk/spec/tool/1.0.0", NULL, &e), 0);
	solver_build *pb = &p[0]->build;
	assert_int_equal(pkg__origin_read(pb, A, pub.data, pub.len, &e), 0);
	assert_true(pb->where.published && pb->where.lines);
	assert_string_equal(pb->where.file, "no/such/dir/tool.yaml");
	/* lib/2 is on line 8 of the recipe again */
	assert_int_equal((long)pb->reqs[0].line + pb->where.shift, 8);
	/* a build of the stored recipe passes the recipe's origin on */
	sp_buf again = {0};
	assert_int_equal(pkg__origin_comment(&again, p[0], true, &e), 0);
	assert_string_equal(again.data, "# spk-origin: no/such/dir/tool.yaml:2\n");
	sp_buf_free(&again);
	/* lines moved: the file alone; no comment: published, nothing known;
	 * a file name with ':' keeps it */
	assert_int_equal(pkg__origin_comment(&again, p[0], false, &e), 0);
	assert_string_equal(again.data, "# spk-origin: no/such/dir/tool.yaml\n");
	assert_int_equal(pkg__origin_read(pb, A, again.data, again.len, &e), 0);
	assert_true(pb->where.published && !pb->where.lines);
	assert_string_equal(pb->where.file, "no/such/dir/tool.yaml");
	sp_buf_free(&again);
	assert_int_equal(pkg__origin_read(pb, A, "pkg: tool/1.0.0\n", 16, &e), 0);
	assert_true(pb->where.published && !pb->where.file);
	const char *colon = "# spk-origin: /a:b/c.yaml:12\n";
	assert_int_equal(pkg__origin_read(pb, A, colon, strlen(colon), &e), 0);
	assert_string_equal(pb->where.file, "/a:b/c.yaml");
	assert_int_equal(pb->where.shift, 10);
	sp_buf_free(&pub);
}

/* ifPresentInBuildEnv and suppress in install requirements; a build
 * option without components asks for the build component. */
static void test_pins_and_suppress(void **st)
{
	(void)st;
	size_t n;
	pkg_spec **v =
	    parse("pkg: a/1.0.0\n"
		  "build:\n  options:\n    - pkg: b\n    - pkg: c:run\n"
		  "install:\n  requirements:\n"
		  "    - var: b.abi\n      suppress: not needed\n"
		  "    - pkg: b\n      fromBuildEnv: x.x\n      ifPresentInBuildEnv: true\n"
		  "    - var: c.v\n      fromBuildEnv: true\n      ifPresentInBuildEnv: on\n"
		  "    - pkg: d\n      fromBuildEnv: Binary\n",
		  &n);
	const solver_build *b = &v[0]->build;
	assert_int_equal(b->nreqs, 3); /* the suppress request is none */
	assert_true(b->reqs[0].if_present);
	assert_true(b->reqs[0].from_build_env);
	assert_true(b->reqs[1].if_present);
	assert_false(b->reqs[2].if_present);
	assert_int_equal(b->nsuppressed, 1);
	assert_string_equal(b->suppressed[0], "b.abi");
	assert_int_equal(b->nbuild_reqs, 2);
	assert_int_equal(b->build_reqs[0].ncomponents, 1);
	assert_string_equal(b->build_reqs[0].components[0], "build");
	assert_string_equal(b->build_reqs[1].components[0], "run");
	static const struct {
		const char *text, *frag;
	} refused[] = {
	    {"pkg: a/1\ninstall:\n  requirements:\n    - var: x/1\n      suppress: why\n",
	     "a suppress request names the var only, got 'x/1'"},
	    {"pkg: a/1\ninstall:\n  requirements:\n    - pkg: x\n      suppress: why\n",
	     "suppress: only a var request has it"},
	    {"pkg: a/1\ninstall:\n  requirements:\n    - pkg: x\n      fromBuildEnv: x\n"
	     "      ifPresentInBuildEnv: maybe\n",
	     "ifPresentInBuildEnv: expected true or false, got 'maybe'"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		sp_error e = {0};
		assert_int_not_equal(pkg_spec_parse(&v, &n, A, refused[i].text,
						    strlen(refused[i].text), "t.yaml", NULL, &e),
				     0);
		if (!strstr(e.msg, refused[i].frag))
			fail_msg("error '%s' lacks '%s'", e.msg, refused[i].frag);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_kinds_and_docs),
	    cmocka_unit_test(test_build_id),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_positions_and_origin),
	    cmocka_unit_test(test_pins_and_suppress),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
