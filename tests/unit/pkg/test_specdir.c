/* test_specdir.c - spec directories as solver repositories (pkg/specdir.c). */
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

#include "pkg/pkg.h"

static char root[256];

static void put(const char *rel, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	char cmd[600];
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
	snprintf(root, sizeof(root), "/tmp/spawn-specdir-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void test_walk(void **st)
{
	(void)st;
	put("a/python.yaml", "pkg: python/3.9.7\n---\npkg: python/3.10.1\n");
	put("a/b/c/maya.yml",
	    "pkg: maya/2024.2.0\ninstall:\n  requirements:\n    - pkg: python/3.10\n"
	    "  embedded:\n    - pkg: qt/5.15.2\n");
	put("a/b/build.yaml",
	    "pkg: python/3.9.7/ABCDEFGH\nbuild:\n  options:\n    - var: abi/cp39\n");
	put("a/notes.txt", "pkg: not/read\n");
	put("a/.hidden.yaml", "pkg: hidden/1\n");
	put("a/src.yaml", "pkg: python/3.9.7/src\n");
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/a", root);
	pkg_specdir *d = NULL;
	sp_error e = {0};
	assert_int_equal(pkg_specdir_open(&d, dir, "main", NULL, &e), 0);
	assert_int_equal(pkg_specdir_count(d), 5);
	/* sorted: name, newest version first, build */
	assert_string_equal(pkg_specdir_get(d, 0)->build.name, "maya");
	char v[32];
	assert_string_equal(solver_version_str(&pkg_specdir_get(d, 1)->build.version, v, sizeof(v)),
			    "3.10.1");
	assert_null(pkg_specdir_get(d, 5));
	const solver_repo *r = pkg_specdir_repo(d);
	assert_string_equal(r->name, "main");
	assert_int_equal(r->ops->version, SOLVER_REPO_OPS_VERSION);
	const solver_build *const *bs;
	size_t n;
	assert_int_equal(r->ops->builds(r->self, "python", &bs, &n, &e), 0);
	assert_int_equal(n, 4);
	assert_int_equal(r->ops->builds(r->self, "nothing", &bs, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(r->ops->builds(r->self, "hidden", &bs, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(r->ops->embedders(r->self, "qt", &bs, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(bs[0]->name, "maya");
	assert_int_equal(r->ops->embedders(r->self, "python", &bs, &n, &e), 0);
	assert_int_equal(n, 0);
	/* origins name the file and line */
	assert_non_null(strstr(pkg_specdir_get(d, 0)->build.origin, "b/c/maya.yml:1"));

	/* solve through the repository */
	solver_arena *a = NULL;
	assert_int_equal(solver_arena_new(&a, &e), 0);
	solver_request req;
	assert_int_equal(solver_request_parse_cli(&req, a, "maya", NULL, &e), 0);
	solver_options o = {.repos = r, .nrepos = 1, .requests = &req, .nrequests = 1};
	solver_result *res = NULL;
	assert_int_equal(solver_solve(&res, &o, &e), 0);
	assert_int_equal(solver_result_count(res), 3);
	assert_string_equal(solver_result_get(res, 1)->build->name, "python");
	assert_string_equal(
	    solver_version_str(&solver_result_get(res, 1)->build->version, v, sizeof(v)), "3.10.1");
	assert_string_equal(solver_result_get(res, 2)->build->build, "embedded");
	solver_result_free(res);
	solver_arena_free(a);
	pkg_specdir_free(d);
}

static void test_errors(void **st)
{
	(void)st;
	char dir[300];
	pkg_specdir *d = NULL;
	sp_error e = {0};
	put("dup/one.yaml", "pkg: x/1.0.0/AAAA\n");
	put("dup/two.yaml", "pkg: x/1.0/AAAA\n");
	snprintf(dir, sizeof(dir), "%s/dup", root);
	assert_int_not_equal(pkg_specdir_open(&d, dir, NULL, NULL, &e), 0);
	assert_non_null(strstr(e.msg, "defined twice"));
	assert_non_null(strstr(e.msg, "one.yaml:1"));
	assert_non_null(strstr(e.msg, "two.yaml:1"));

	put("bad/ok.yaml", "pkg: y/1\n");
	put("bad/sub/broken.yaml", "pkg: y/2\ninstall:\n  requirements:\n    - pkg: Y\n");
	snprintf(dir, sizeof(dir), "%s/bad", root);
	assert_int_not_equal(pkg_specdir_open(&d, dir, NULL, NULL, &e), 0);
	assert_non_null(strstr(e.msg, "sub/broken.yaml:4:12"));

	snprintf(dir, sizeof(dir), "%s/missing", root);
	assert_int_equal(pkg_specdir_open(&d, dir, NULL, NULL, &e), SP_ENOTFOUND);
	assert_non_null(strstr(e.msg, "cannot open spec directory"));

	pkg_limits lim = pkg_limits_default;
	pkg_specfile_opts fo = {.lim = &lim};
	lim.max_files = 1;
	put("many/a.yaml", "pkg: a/1\n");
	put("many/b.yaml", "pkg: b/1\n");
	snprintf(dir, sizeof(dir), "%s/many", root);
	assert_int_not_equal(pkg_specdir_open(&d, dir, NULL, &fo, &e), 0);
	assert_non_null(strstr(e.msg, "more than 1 spec files"));
	lim = pkg_limits_default;
	lim.max_dir_depth = 1;
	put("deep/1/2/3/a.yaml", "pkg: a/1\n");
	snprintf(dir, sizeof(dir), "%s/deep", root);
	assert_int_not_equal(pkg_specdir_open(&d, dir, NULL, &fo, &e), 0);
	assert_non_null(strstr(e.msg, "nested deeper"));
}

static void test_symlinks_skipped(void **st)
{
	(void)st;
	put("links/real.yaml", "pkg: r/1\n");
	char p[600], t[600];
	snprintf(t, sizeof(t), "%s/links/real.yaml", root);
	snprintf(p, sizeof(p), "%s/links/link.yaml", root);
	assert_int_equal(symlink(t, p), 0);
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/links", root);
	pkg_specdir *d = NULL;
	sp_error e = {0};
	assert_int_equal(pkg_specdir_open(&d, dir, NULL, NULL, &e), 0);
	assert_int_equal(pkg_specdir_count(d), 1);
	pkg_specdir_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_walk),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_symlinks_skipped),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
