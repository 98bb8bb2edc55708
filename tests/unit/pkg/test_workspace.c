/* test_workspace.c - workspace files (pkg/workspace.c) and spec
 * directories read through them (pkg/specdir.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pkg/workspace.h"

static char root[256];

static void put(const char *rel, const char *text)
{
	char p[512], cmd[600];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", p);
	assert_int_equal(system(cmd), 0);
	*slash = '/';
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **st)
{
	(void)st;
	sp_log_set_level(SP_LOG_ERROR);
	snprintf(root, sizeof(root), "/tmp/spawn-workspace-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void test_braces(void **st)
{
	(void)st;
	solver_arena *a = NULL;
	sp_error err = {0};
	assert_int_equal(solver_arena_new(&a, &err), 0);
	const char **v;
	size_t n;
	assert_int_equal(pkg__workspace_expand(&v, &n, a, "3.7.{0..2}", &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "3.7.0");
	assert_string_equal(v[2], "3.7.2");
	assert_int_equal(pkg__workspace_expand(&v, &n, a, "{1,2}.{0..1}", &err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v[1], "1.1");
	assert_string_equal(v[3], "2.1");
	assert_int_equal(pkg__workspace_expand(&v, &n, a, "2.7.18", &err), 0);
	assert_int_equal(n, 1);
	assert_int_not_equal(pkg__workspace_expand(&v, &n, a, "{3..1}", &err), 0);
	assert_int_not_equal(pkg__workspace_expand(&v, &n, a, "{0..99999}", &err), 0);
	assert_int_not_equal(pkg__workspace_expand(&v, &n, a, "{0..99}.{0..99}.{0..99}", &err), 0);
	assert_non_null(strstr(err.msg, "more than 10000 versions"));
	solver_arena_free(a);
}

static void test_read(void **st)
{
	(void)st;
	const char *t = "api: v0/workspace\n"
			"recipes:\n"
			"  - packages/**/*.spk.yaml\n"
			"  - path: packages/py/py3.spk.yaml\n"
			"    versions: ['3.{9..10}.0']\n";
	pkg__workspace *w = NULL;
	sp_error err = {0};
	assert_true(pkg__is_workspace(t, strlen(t)));
	assert_false(pkg__is_workspace("pkg: a/1\n", 9));
	assert_int_equal(pkg__workspace_read(&w, t, strlen(t), "ws.yaml", &err), 0);
	const char *const *vs;
	size_t nv;
	assert_true(pkg__workspace_wants(w, "packages/a/b/x.spk.yaml", &vs, &nv));
	assert_int_equal(nv, 0);
	assert_true(pkg__workspace_wants(w, "packages/py/py3.spk.yaml", &vs, &nv));
	assert_int_equal(nv, 2);
	assert_string_equal(vs[1], "3.10.0");
	assert_false(pkg__workspace_wants(w, "other/x.spk.yaml", &vs, &nv));
	assert_false(pkg__workspace_wants(w, "packages/a/x.yaml", &vs, &nv));
	pkg__workspace_free(w);
	static const struct {
		const char *text, *want;
	} bad[] = {
	    {"api: v0/package\n", "not a workspace file"},
	    {"api: v0/workspace\nrecipes: x\n", "ws.yaml:2:10: recipes: expected a list"},
	    {"api: v0/workspace\nrecipes: [{versions: [1]}]\n", "an entry needs 'path'"},
	    {"api: v0/workspace\nrecipes: ['../up/*.yaml']\n", "without '..'"},
	    {"api: v0/workspace\nrecipes: ['/abs/*.yaml']\n", "relative to the workspace"},
	    {"api: v0/workspace\nrecipes: [{path: a, versions: ['1.{2..1}']}]\n",
	     "ws.yaml:2:32: versions"},
	    {"api: v0/workspace\nrecipes: [{path: a, versions: ['x.y']}]\n", "versions: 'x.y'"},
	    {"api: v0/workspace\n---\napi: v0/workspace\n", "one workspace document"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w = NULL;
		if (!pkg__workspace_read(&w, bad[i].text, strlen(bad[i].text), "ws.yaml", &err))
			fail_msg("bad %zu read", i);
		if (!strstr(err.msg, bad[i].want))
			fail_msg("bad %zu: <%s> lacks <%s>", i, err.msg, bad[i].want);
		assert_null(w);
	}
}

static size_t count(const pkg_specdir *d, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < pkg_specdir_count(d); i++)
		n += !strcmp(pkg_specdir_get(d, i)->build.name, name);
	return n;
}

static void test_specdir(void **st)
{
	(void)st;
	put("ws/workspace.spk.yaml", "api: v0/workspace\n"
				     "recipes:\n"
				     "  - packages/**/*.spk.yaml\n"
				     "  - path: packages/py/py3.spk.yaml\n"
				     "    versions: ['3.9.{0..2}']\n");
	put("ws/packages/tool/tool.spk.yaml", "pkg: tool/1.0\n");
	put("ws/packages/py/py3.spk.yaml",
	    "# {% set opt = opt | default_opts(version='3.7.0') %}\npkg: py/{{ opt.version }}\n");
	put("ws/packages/notes.yaml", "pkg: not-listed/1\n");
	put("ws/other.spk.yaml", "pkg: outside/1\n");
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/ws", root);
	pkg_specdir *d = NULL;
	sp_error err = {0};
	assert_int_equal(pkg_specdir_open(&d, dir, NULL, NULL, &err), 0);
	assert_int_equal(count(d, "tool"), 1);
	assert_int_equal(count(d, "py"), 3); /* one per listed version */
	assert_int_equal(count(d, "not-listed"), 0);
	assert_int_equal(count(d, "outside"), 0);
	char v[32];
	const pkg_spec *first = NULL;
	for (size_t i = 0; i < pkg_specdir_count(d) && !first; i++)
		if (!strcmp(pkg_specdir_get(d, i)->build.name, "py"))
			first = pkg_specdir_get(d, i);
	assert_string_equal(solver_version_str(&first->build.version, v, sizeof(v)), "3.9.2");
	pkg_specdir_free(d);
	/* the workspace file itself names the same */
	snprintf(dir, sizeof(dir), "%s/ws/workspace.spk.yaml", root);
	assert_int_equal(pkg_specdir_open(&d, dir, NULL, NULL, &err), 0);
	assert_int_equal(pkg_specdir_count(d), 4);
	pkg_specdir_free(d);
	/* without a workspace at the root, a workspace file deeper down is
	 * skipped, not a spec error */
	put("plain/a.yaml", "pkg: a/1\n");
	put("plain/sub/workspace.spk.yml", "api: v0/workspace\nrecipes: []\n");
	snprintf(dir, sizeof(dir), "%s/plain", root);
	assert_int_equal(pkg_specdir_open(&d, dir, NULL, NULL, &err), 0);
	assert_int_equal(pkg_specdir_count(d), 1);
	pkg_specdir_free(d);
	/* a bad workspace is an error */
	put("badws/workspace.spk.yaml", "api: v0/workspace\nrecipes: 3\n");
	snprintf(dir, sizeof(dir), "%s/badws", root);
	assert_int_not_equal(pkg_specdir_open(&d, dir, NULL, NULL, &err), 0);
	assert_non_null(strstr(err.msg, "badws/workspace.spk.yaml:2:10: recipes: expected a list"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_braces),
	    cmocka_unit_test(test_read),
	    cmocka_unit_test(test_specdir),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
