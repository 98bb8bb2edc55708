/* test_repo.c - package repositories in an SpFS store (pkg/repo.c). */
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

#include "common/tmpdir.h"
#include "pkg/pkg.h"

typedef struct fx {
	tmpdir *t;
	spfs_store *s;
	pkg_repo *r;
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
	sp_error err = {0};
	if (spfs_store_open(&f->s, p, true, &err) || pkg_repo_open(&f->r, f->s, NULL, NULL, &err)) {
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

static void publish(fx *f, const char *text, const char *file, int want)
{
	sp_error err = {0};
	pkg_specfile *sf = NULL;
	int rc = pkg_specfile_load(&sf, text, strlen(text), file, NULL, &err);
	if (!rc)
		rc = pkg_repo_publish(f->r, sf, NULL, &err);
	pkg_specfile_free(sf);
	if (rc != want)
		fail_msg("publish %s: %d (%s), want %d", file, rc, err.msg, want);
}

static void reopen(fx *f)
{
	pkg_repo_free(f->r);
	f->r = NULL;
	sp_error err = {0};
	assert_int_equal(pkg_repo_open(&f->r, f->s, NULL, NULL, &err), 0);
}

static size_t nbuilds(fx *f, const char *name)
{
	const solver_repo *sr = pkg_repo_solver(f->r);
	const solver_build *const *v;
	size_t n = 99;
	sp_error err = {0};
	assert_int_equal(sr->ops->builds(sr->self, name, &v, &n, &err), 0);
	return n;
}

static const char *blob_text(fx *f, const char *tag, char *buf, size_t n)
{
	sp_digest d;
	sp_error err = {0};
	assert_int_equal(spfs_resolve(&d, NULL, f->s, tag, &err), 0);
	int fd = -1;
	assert_int_equal(spfs_open_payload(&fd, f->s, &d, &err), 0);
	ssize_t got = read(fd, buf, n - 1);
	close(fd);
	assert_true(got >= 0);
	buf[got] = '\0';
	return buf;
}

/* Documents are cut out of the file one blob each, comments and explicit
 * markers included; recipes get their default build too. */
static void test_publish_documents(void **state)
{
	fx *f = *state;
	const char *text = "# a comment\n"
			   "--- # first\n"
			   "pkg: a/1.0.0\n"
			   "install:\n"
			   "  embedded:\n"
			   "    - pkg: e/2.0.0\n"
			   "...\n"
			   "---\n"
			   "pkg: a/1.1.0/ABCDEFGH\n"
			   "build: {options: [{var: x/1}]}\n"
			   "---\n"
			   "\n"
			   "---\n"
			   "  pkg: a/1.1.0/src\n";
	publish(f, text, "no/such/a.yaml", 0);
	assert_int_equal(pkg_repo_count(f->r), 4);
	char buf[4096];
	/* each document as it is, after a line naming where it was cut from */
	assert_string_equal(blob_text(f, "spk/spec/a/1.0.0", buf, sizeof(buf)),
			    "# spk-origin: no/such/a.yaml:3\n"
			    "pkg: a/1.0.0\ninstall:\n  embedded:\n    - pkg: e/2.0.0\n");
	assert_string_equal(blob_text(f, "spk/spec/a/1.1.0/src", buf, sizeof(buf)),
			    "# spk-origin: no/such/a.yaml:14\n  pkg: a/1.1.0/src\n");
	/* the same documents from another checkout are up to date, not a
	 * conflict, and keep the origin they were first published with */
	publish(f, text, "elsewhere/a.yaml", 0);
	assert_string_equal(blob_text(f, "spk/spec/a/1.1.0/src", buf, sizeof(buf)),
			    "# spk-origin: no/such/a.yaml:14\n  pkg: a/1.1.0/src\n");
	/* other content still is one */
	publish(f, "pkg: a/1.1.0/src\nmeta: {description: other}\n", "elsewhere/a.yaml",
		SP_EEXISTS);
	assert_int_equal(nbuilds(f, "a"), 3);
	/* embedders come from the index */
	const solver_repo *sr = pkg_repo_solver(f->r);
	const solver_build *const *v;
	size_t n = 0;
	sp_error err = {0};
	reopen(f);
	sr = pkg_repo_solver(f->r);
	assert_int_equal(sr->ops->embedders(sr->self, "e", &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->name, "a");
	assert_int_equal(sr->ops->embedders(sr->self, "none", &v, &n, &err), 0);
	assert_int_equal(n, 0);
}

static void test_bad_input_publishes_nothing(void **state)
{
	fx *f = *state;
	publish(f, "pkg: ok/1.0.0\n---\npkg: bad/1.0.0\nbuild: [\n", "bad.yaml", SP_EINVALID);
	publish(f, "pkg: ok/1.0.0\n---\npkg: ok/1.0.0\n", "twice.yaml", SP_EINVALID);
	assert_int_equal(pkg_repo_count(f->r), 0);
	spfs_tag_history h = {0};
	sp_error err = {0};
	assert_int_equal(spfs_tag_read(&h, f->s, "spk/spec/ok/1.0.0", &err), SP_ENOTFOUND);
	/* a conflicting spec is refused, unless forced */
	publish(f, "pkg: ok/1.0.0\n", "ok.yaml", 0);
	publish(f, "pkg: ok/1.0.0\nmeta: {description: other}\n", "ok2.yaml", SP_EEXISTS);
	pkg_publish_opts force = {.force = true};
	const char *t = "pkg: ok/1.0.0\nmeta: {description: other}\n";
	pkg_specfile *sf = NULL;
	assert_int_equal(pkg_specfile_load(&sf, t, strlen(t), "ok2.yaml", NULL, &err), 0);
	assert_int_equal(pkg_repo_publish(f->r, sf, &force, &err), 0);
	pkg_specfile_free(sf);
}

/* The index is rebuilt when missing, when tag names change behind its
 * back, and when a tag moves. */
static void test_index_stale(void **state)
{
	fx *f = *state;
	publish(f, "pkg: p/1.0.0\n---\npkg: p/2.0.0\n", "p.yaml", 0);
	sp_error err = {0};
	assert_int_equal(spfs_tag_remove(f->s, PKG_REPO_INDEX_TAG, false, &err), 0);
	reopen(f);
	assert_int_equal(pkg_repo_count(f->r), 4);
	spfs_tag_history h = {0};
	assert_int_equal(spfs_tag_read(&h, f->s, PKG_REPO_INDEX_TAG, &err), 0); /* written back */
	spfs_tag_history_free(&h);
	/* a tag added by hand */
	sp_digest d;
	const char *t = "pkg: q/1.0.0/QQQQQQQQ\n";
	assert_int_equal(spfs_write_blob(&d, f->s, t, strlen(t), &err), 0);
	assert_int_equal(spfs_tag_set(f->s, "spk/spec/q/1.0.0/QQQQQQQQ", &d, &err), 0);
	reopen(f);
	assert_int_equal(nbuilds(f, "q"), 1);
	/* a tag moved by hand: seen when the package is read */
	t = "pkg: p/2.0.0\ndeprecated: true\n";
	assert_int_equal(spfs_write_blob(&d, f->s, t, strlen(t), &err), 0);
	assert_int_equal(spfs_tag_set(f->s, "spk/spec/p/2.0.0/4OYMIQUY", &d, &err), 0);
	reopen(f);
	const solver_repo *sr = pkg_repo_solver(f->r);
	const solver_build *const *v;
	size_t n = 0;
	assert_int_equal(sr->ops->builds(sr->self, "p", &v, &n, &err), 0);
	assert_int_equal(n, 2);
	bool dep = false;
	for (size_t i = 0; i < n; i++)
		dep |= v[i]->deprecated;
	assert_true(dep);
	/* a damaged index is rebuilt, not trusted */
	const char *junk = "spk-index 1 2\nnot an entry\n";
	assert_int_equal(spfs_write_blob(&d, f->s, junk, strlen(junk), &err), 0);
	assert_int_equal(spfs_tag_set(f->s, PKG_REPO_INDEX_TAG, &d, &err), 0);
	reopen(f);
	assert_int_equal(pkg_repo_count(f->r), 5);
}

static void test_invalid_tags(void **state)
{
	fx *f = *state;
	sp_digest d;
	sp_error err = {0};
	const char *t = "just text\n";
	assert_int_equal(spfs_write_blob(&d, f->s, t, strlen(t), &err), 0);
	assert_int_equal(spfs_tag_set(f->s, "spk/spec/x/1.0.0/AAAAAAAA", &d, &err), 0);
	t = "pkg: y/1.0.0\n";
	assert_int_equal(spfs_write_blob(&d, f->s, t, strlen(t), &err), 0);
	assert_int_equal(spfs_tag_set(f->s, "spk/spec/x/1.0.0", &d, &err), 0);
	assert_int_equal(spfs_tag_set(f->s, "spk/spec/x", &d, &err), 0);
	reopen(f);
	assert_int_equal(pkg_repo_count(f->r), 3);
	for (size_t i = 0; i < pkg_repo_count(f->r); i++)
		assert_true(pkg_repo_get(f->r, i)->invalid);
	assert_int_equal(nbuilds(f, "x"), 0);
	const pkg_repo_entry **v = NULL;
	size_t n = 0;
	assert_int_equal(pkg_repo_find(&v, &n, f->r, "x/1.0.0", &err), 0);
	assert_int_equal(n, 2);
	const pkg_spec *sp;
	assert_int_equal(pkg_repo_spec(&sp, f->r, v[0], &err), SP_EINVALID);
	assert_non_null(strstr(err.msg, "spk/spec/x/1.0.0: the spec is y/1.0.0"));
	free(v);
	reopen(f); /* the flags survive in the index */
	assert_true(pkg_repo_get(f->r, 0)->invalid);
	assert_int_equal(pkg_repo_find(&v, &n, f->r, "Bad_Name", &err), SP_EINVALID);
	assert_int_equal(pkg_repo_find(&v, &n, f->r, "x/2", &err), SP_ENOTFOUND);
}

static void test_deprecate_round_trip(void **state)
{
	fx *f = *state;
	const char *orig = "pkg: d/1.0.0\nbuild:\n  options:\n    - var: o/1\n";
	publish(f, orig, "no/such/d.yaml", 0);
	size_t changed = 0;
	sp_error err = {0};
	assert_int_equal(pkg_repo_deprecate(f->r, "d/1.0.0", true, &changed, &err), 0);
	assert_int_equal(changed, 2);
	char buf[4096];
	assert_string_equal(blob_text(f, "spk/spec/d/1.0.0", buf, sizeof(buf)),
			    "# spk-origin: no/such/d.yaml:1\n"
			    "pkg: d/1.0.0\nbuild:\n  options:\n    - var: o/1\ndeprecated: true\n");
	assert_int_equal(pkg_repo_deprecate(f->r, "d/1", true, &changed, &err), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(pkg_repo_deprecate(f->r, "d/1.0.0", false, &changed, &err), 0);
	assert_string_equal(blob_text(f, "spk/spec/d/1.0.0", buf, sizeof(buf)),
			    "# spk-origin: no/such/d.yaml:1\n"
			    "pkg: d/1.0.0\nbuild:\n  options:\n    - var: o/1\n");
	/* a deprecated value in the middle is edited in place */
	publish(f, "pkg: m/1.0.0\ndeprecated: false # keep\nmeta: {}\n", "no/such/m.yaml", 0);
	assert_int_equal(pkg_repo_deprecate(f->r, "m/1.0.0/4OYMIQUY", true, &changed, &err), 0);
	assert_int_equal(changed, 1);
	assert_string_equal(blob_text(f, "spk/spec/m/1.0.0/4OYMIQUY", buf, sizeof(buf)),
			    "# spk-origin: no/such/m.yaml:1\n"
			    "pkg: m/1.0.0\ndeprecated: true # keep\nmeta: {}\n");
	/* flow-style specs are not edited */
	publish(f, "{pkg: fl/1.0.0}\n", "fl.yaml", 0);
	assert_int_equal(pkg_repo_deprecate(f->r, "fl/1.0.0", true, &changed, &err), SP_EINVALID);
	assert_non_null(strstr(err.msg, "not a block mapping"));
	assert_int_equal(pkg_repo_deprecate(f->r, "fl", true, &changed, &err), SP_EINVALID);
}

static void test_remove_and_copy(void **state)
{
	fx *f = *state;
	publish(f, "pkg: r/1.0.0\n---\npkg: r/2.0.0\n", "r.yaml", 0);
	sp_error err = {0};
	/* a layer for r/1.0.0's build, in a platform */
	spfs_manifest m = {0};
	sp_digest layer, plat;
	assert_int_equal(
	    spfs_commit_manifest(&layer, f->s, &m, NULL, 0, "spk/pkg/r/1.0.0/4OYMIQUY/run", &err),
	    0);
	assert_int_equal(spfs_commit_platform(&plat, f->s, &layer, 1, "platforms/p", &err), 0);
	/* copy into a second store first */
	char p[4200];
	snprintf(p, sizeof(p), "%s/other", f->t->path);
	spfs_store *o = NULL;
	assert_int_equal(spfs_store_open(&o, p, true, &err), 0);
	assert_int_equal(pkg_repo_copy(f->r, o, "r/1.0.0", NULL, NULL, &err), 0);
	sp_digest got;
	assert_int_equal(spfs_resolve(&got, NULL, o, "spk/pkg/r/1.0.0/4OYMIQUY/run", &err), 0);
	assert_int_equal(sp_digest_cmp(&got, &layer), 0);
	pkg_repo * or = NULL;
	assert_int_equal(pkg_repo_open(& or, o, "other", NULL, &err), 0);
	assert_int_equal(pkg_repo_count(or), 2);
	pkg_repo_free(or);
	spfs_store_free(o);
	/* remove refuses while the platform uses the layer */
	assert_int_equal(pkg_repo_remove(f->r, "r/1.0.0", false, NULL, NULL, &err), PKG_EINUSE);
	assert_non_null(strstr(err.msg, "platform tag platforms/p"));
	assert_int_equal(pkg_repo_remove(f->r, "r", false, NULL, NULL, &err), SP_EINVALID);
	assert_int_equal(pkg_repo_remove(f->r, "r/2.0.0", false, NULL, NULL, &err), 0);
	assert_int_equal(pkg_repo_count(f->r), 2);
	assert_int_equal(pkg_repo_remove(f->r, "r/1.0.0", true, NULL, NULL, &err), 0);
	assert_int_equal(pkg_repo_count(f->r), 0);
	assert_int_equal(spfs_resolve(&got, NULL, f->s, "spk/pkg/r/1.0.0/4OYMIQUY/run", &err),
			 SP_ENOTFOUND);
	reopen(f);
	assert_int_equal(pkg_repo_count(f->r), 0);
}

/* A layer whose encoded bytes were also stored as a file's payload (a
 * store collected as sources once did that) still copies as a layer. */
static void test_copy_layer_also_a_payload(void **state)
{
	fx *f = *state;
	publish(f, "pkg: q/1.0.0\n", "q.yaml", 0);
	sp_error err = {0};
	spfs_manifest m = {0};
	sp_digest layer, blob;
	assert_int_equal(
	    spfs_commit_manifest(&layer, f->s, &m, NULL, 0, "spk/pkg/q/1.0.0/4OYMIQUY/run", &err),
	    0);
	sp_buf b = {0};
	spfs_kind k;
	assert_int_equal(spfs_read_object(&b, &k, f->s, &layer, &err), 0);
	assert_int_equal(spfs_write_blob(&blob, f->s, b.data, b.len, &err), 0);
	sp_buf_free(&b);
	assert_int_equal(sp_digest_cmp(&blob, &layer), 0);
	char p[4200];
	snprintf(p, sizeof(p), "%s/other", f->t->path);
	spfs_store *o = NULL;
	assert_int_equal(spfs_store_open(&o, p, true, &err), 0);
	assert_int_equal(pkg_repo_copy(f->r, o, "q/1.0.0", NULL, NULL, &err), 0);
	spfs_layer *l = NULL;
	if (spfs_read_layer(&l, o, &layer, &err))
		fail_msg("the copied layer: %s", err.msg);
	spfs_layer_free(l);
	spfs_store_free(o);
}

static void test_source_by_path(void **state)
{
	fx *f = *state;
	publish(f, "pkg: s/1.0.0\n", "s.yaml", 0);
	assert_true(pkg_path_is_store(spfs_store_path(f->s)));
	assert_false(pkg_path_is_store(f->t->path));
	pkg_source *src = NULL;
	sp_error err = {0};
	assert_int_equal(pkg_source_open(&src, spfs_store_path(f->s), "st", NULL, &err), 0);
	const solver_repo *sr = pkg_source_repo(src);
	assert_string_equal(sr->name, "st");
	const solver_build *const *v;
	size_t n = 0;
	assert_int_equal(sr->ops->builds(sr->self, "s", &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(v[0]->is_recipe);
	pkg_source_free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_publish_documents, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input_publishes_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_index_stale, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_tags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deprecate_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remove_and_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_copy_layer_also_a_payload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_source_by_path, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
