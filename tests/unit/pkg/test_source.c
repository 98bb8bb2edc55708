/* test_source.c - source packages (pkg/source.c): the path, link and
 * pattern checks, and make-source over a store (path sources with their
 * filters, subdir, refusals that publish nothing). */
/* cmocka.h needs these first */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/tmpdir.h"
#include "pkg/pkg.h"
#include "pkg/source.h"

static void test_check_path(void **state)
{
	(void)state;
	char why[300];
	assert_int_equal(pkg__source_check_path("a/b/c.txt", why, sizeof(why)), 0);
	assert_int_equal(pkg__source_check_path("./a//b/", why, sizeof(why)), 0);
	assert_int_equal(pkg__source_check_path("a..b/..c", why, sizeof(why)), 0);
	assert_int_equal(pkg__source_check_path("", why, sizeof(why)), -1);
	assert_int_equal(pkg__source_check_path("/etc/passwd", why, sizeof(why)), -1);
	assert_string_equal(why, "absolute path");
	assert_int_equal(pkg__source_check_path("a/../../b", why, sizeof(why)), -1);
	assert_int_equal(pkg__source_check_path("a/..", why, sizeof(why)), -1);
	assert_int_equal(pkg__source_check_path("..", why, sizeof(why)), -1);
	char long_path[5000];
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	assert_int_equal(pkg__source_check_path(long_path, why, sizeof(why)), -1);
}

static void test_check_symlink(void **state)
{
	(void)state;
	char why[300];
	assert_int_equal(pkg__source_check_symlink("l", "a/b", why, sizeof(why)), 0);
	assert_int_equal(pkg__source_check_symlink("a/b/l", "../../c", why, sizeof(why)), 0);
	assert_int_equal(pkg__source_check_symlink("a/b/l", "../x/../../y", why, sizeof(why)), 0);
	assert_int_equal(pkg__source_check_symlink("l", "..", why, sizeof(why)), -1);
	assert_int_equal(pkg__source_check_symlink("a/b/l", "../../../c", why, sizeof(why)), -1);
	assert_int_equal(pkg__source_check_symlink("a/l", "./../../c", why, sizeof(why)), -1);
	assert_int_equal(pkg__source_check_symlink("l", "/etc/passwd", why, sizeof(why)), -1);
	assert_non_null(strstr(why, "absolute"));
	assert_int_equal(pkg__source_check_symlink("l", "", why, sizeof(why)), -1);
	/* the link's own path must not climb either */
	assert_int_equal(pkg__source_check_symlink("../l", "x", why, sizeof(why)), -1);
}

static void test_match(void **state)
{
	(void)state;
	/* without a slash: the last component, at any depth */
	assert_true(pkg__source_match("*.o", "lib/x.o", false));
	assert_true(pkg__source_match("*.o", "x.o", false));
	assert_false(pkg__source_match("*.o", "x.c", false));
	assert_true(pkg__source_match("build", "a/build", true));
	/* a trailing slash: directories only */
	assert_true(pkg__source_match("build/", "build", true));
	assert_false(pkg__source_match("build/", "build", false));
	/* with a slash: anchored */
	assert_true(pkg__source_match("/build", "build", true));
	assert_false(pkg__source_match("/build", "a/build", true));
	assert_true(pkg__source_match("doc/*.txt", "doc/a.txt", false));
	assert_false(pkg__source_match("doc/*.txt", "doc/sub/a.txt", false));
	assert_false(pkg__source_match("doc/*.txt", "x/doc/a.txt", false));
	/* ** crosses directories */
	assert_true(pkg__source_match("**/tmp", "a/b/tmp", true));
	assert_true(pkg__source_match("**/tmp", "tmp", true));
	assert_true(pkg__source_match("a/**/z", "a/z", false));
	assert_true(pkg__source_match("a/**/z", "a/b/c/z", false));
	assert_false(pkg__source_match("a/**/z", "b/a/z", false));
	assert_true(pkg__source_match("a/**", "a/b/c", false));
	/* classes, ?, escapes; '*' never crosses '/' */
	assert_true(pkg__source_match("[a-c]?.h", "b1.h", false));
	assert_false(pkg__source_match("[!a-c]?.h", "b1.h", false));
	assert_true(pkg__source_match("\\*.h", "*.h", false));
	assert_false(pkg__source_match("\\*.h", "a.h", false));
	assert_true(pkg__source_match("[x", "[x", false));
	assert_false(pkg__source_match("a*c", "ab/c", false));
	assert_false(pkg__source_match("/a*c", "ab/c", false));
	assert_false(pkg__source_match("", "a", false));
	/* a pattern that backtracks a lot still answers at once */
	char s[4001];
	memset(s, 'a', 4000);
	s[4000] = '\0';
	assert_false(pkg__source_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", s, false));
}

/* ------------------------------------------------------- make-source */

typedef struct fx {
	tmpdir *t;
	spfs_store *s;
	pkg_repo *r;
	char dir[4200]; /* the project: spec files and their sources */
} fx;

static int setup(void **state)
{
	sp_log_set_level(SP_LOG_ERROR);
	void *t = NULL;
	if (tmpdir_setup(&t))
		return -1;
	fx *f = calloc(1, sizeof(*f));
	f->t = t;
	char p[4200];
	snprintf(p, sizeof(p), "%s/store", f->t->path);
	snprintf(f->dir, sizeof(f->dir), "%s/proj", f->t->path);
	sp_error err = {0};
	if (mkdir(f->dir, 0755) || spfs_store_open(&f->s, p, true, &err) ||
	    pkg_repo_open(&f->r, f->s, NULL, NULL, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	pkg_repo_free(f->r);
	spfs_store_free(f->s);
	void *t = f->t;
	free(f);
	return tmpdir_teardown(&t);
}

static void put(fx *f, const char *rel, const char *text)
{
	char p[8400];
	snprintf(p, sizeof(p), "%s/%s", f->dir, rel);
	char *sl = strrchr(p, '/');
	*sl = '\0';
	sp_error err = {0};
	assert_int_equal(sp_mkdir_p_at(AT_FDCWD, p, 0755, &err), 0);
	*sl = '/';
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* make-source of the one recipe in `yaml` (written as proj/NAME.yaml) */
static int make(fx *f, const char *name, const char *yaml, pkg_source_result *res, sp_error *err)
{
	char rel[300], file[8400];
	snprintf(rel, sizeof(rel), "%s.yaml", name);
	put(f, rel, yaml);
	snprintf(file, sizeof(file), "%s/%s", f->dir, rel);
	pkg_specfile *sf = NULL;
	int rc = pkg_specfile_load(&sf, yaml, strlen(yaml), file, NULL, err);
	if (!rc) {
		assert_int_equal(sf->nspecs, 1);
		rc = pkg_repo_make_source(res, f->r, sf, sf->specs[0], true, err);
	}
	pkg_specfile_free(sf);
	return rc;
}

static bool in_layer(fx *f, const pkg_source_result *res, const char *path)
{
	sp_error err = {0};
	spfs_layer *l = NULL;
	spfs_manifest *m = NULL;
	assert_int_equal(spfs_read_layer(&l, f->s, &res->layer, &err), 0);
	assert_int_equal(spfs_read_manifest(&m, f->s, &l->manifest, &err), 0);
	bool found = spfs_manifest_find(m, path) != NULL;
	spfs_manifest_free(m);
	spfs_layer_free(l);
	return found;
}

static bool has_tag(fx *f, const char *tag)
{
	sp_digest d;
	sp_error err = {0};
	return spfs_resolve(&d, NULL, f->s, tag, &err) == 0;
}

static void test_make_path(void **state)
{
	fx *f = *state;
	put(f, "src/main.c", "int main;\n");
	put(f, "src/gen/x.o", "obj\n");
	put(f, "src/.gitignore", "gen/*.o\n!keep.o\n");
	put(f, "src/keep.o", "kept\n");
	put(f, "src/.git/HEAD", "ref\n");
	put(f, "notes.txt", "n\n");
	pkg_source_result res;
	sp_error err = {0};
	int rc = make(f, "app",
		      "pkg: app/1.0.0\n"
		      "sources:\n"
		      "  - path: src\n"
		      "  - path: notes.txt\n"
		      "    subdir: doc\n",
		      &res, &err);
	if (rc)
		fail_msg("%s", err.msg);
	assert_string_equal(res.ident, "app/1.0.0/src");
	assert_true(res.changed);
	const char *root = "spk/pkg/app/1.0.0/src";
	char p[300];
	const char *want[] = {"main.c", ".gitignore", "keep.o", "gen", "doc/notes.txt"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, want[i]);
		if (!in_layer(f, &res, p))
			fail_msg("%s is missing", p);
	}
	const char *unwanted[] = {"gen/x.o", ".git", "app.yaml"};
	for (size_t i = 0; i < sizeof(unwanted) / sizeof(unwanted[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, unwanted[i]);
		if (in_layer(f, &res, p))
			fail_msg("%s should be left out", p);
	}
	assert_true(has_tag(f, "spk/pkg/app/1.0.0/src/src"));
	assert_true(has_tag(f, "spk/spec/app/1.0.0/src"));
	assert_true(has_tag(f, "spk/spec/app/1.0.0"));
	/* again: the same layer, the tag does not move */
	pkg_source_result again;
	assert_int_equal(make(f, "app",
			      "pkg: app/1.0.0\n"
			      "sources:\n"
			      "  - path: src\n"
			      "  - path: notes.txt\n"
			      "    subdir: doc\n",
			      &again, &err),
			 0);
	assert_false(again.changed);
	assert_int_equal(sp_digest_cmp(&again.layer, &res.layer), 0);
}

static void test_make_refused(void **state)
{
	fx *f = *state;
	put(f, "src/a.c", "a\n");
	char outside[8400];
	snprintf(outside, sizeof(outside), "%s/outside", f->t->path);
	assert_int_equal(mkdir(outside, 0755), 0);
	char link[8400];
	snprintf(link, sizeof(link), "%s/src/out", f->dir);
	assert_int_equal(symlink("../../outside", link), 0);
	pkg_source_result res;
	sp_error err = {0};
	/* a path through .. */
	assert_int_not_equal(
	    make(f, "up", "pkg: up/1.0.0\nsources:\n  - path: ../outside\n", &res, &err), 0);
	assert_non_null(strstr(err.msg, "up.yaml:3:5: path source '../outside'"));
	assert_non_null(strstr(err.msg, "leaves the spec's directory"));
	/* through a link */
	memset(&err, 0, sizeof(err));
	assert_int_not_equal(
	    make(f, "via", "pkg: via/1.0.0\nsources:\n  - path: src/out\n", &res, &err), 0);
	assert_non_null(strstr(err.msg, "leaves the spec's directory"));
	/* a link inside the tree pointing out */
	memset(&err, 0, sizeof(err));
	assert_int_not_equal(
	    make(f, "inner", "pkg: inner/1.0.0\nsources:\n  - path: src\n", &res, &err), 0);
	assert_non_null(strstr(err.msg, "symbolic link out points outside the sources"));
	/* nothing of them is published */
	assert_false(has_tag(f, "spk/spec/up/1.0.0/src"));
	assert_false(has_tag(f, "spk/pkg/via/1.0.0/src/src"));
	assert_false(has_tag(f, "spk/spec/inner/1.0.0"));
	/* a subdir with .. is a spec error */
	memset(&err, 0, sizeof(err));
	assert_int_equal(make(f, "sub",
			      "pkg: sub/1.0.0\nsources:\n  - path: src\n    subdir: a/../../b\n",
			      &res, &err),
			 SP_EINVALID);
	assert_non_null(strstr(err.msg, "sub.yaml:4:13: subdir 'a/../../b'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check_path),
	    cmocka_unit_test(test_check_symlink),
	    cmocka_unit_test(test_match),
	    cmocka_unit_test_setup_teardown(test_make_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_make_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
