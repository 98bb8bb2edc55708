/* test_manifest.c - canonical order, lookup, overlay and diff
 * (spfs/manifest.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "spfs/fixtures.h"

static void assert_listing(const spfs_manifest *m, const char *want)
{
	char got[4096];
	fx_listing(m, got, sizeof(got));
	assert_string_equal(got, want);
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void test_path_cmp_order(void **state)
{
	/* strictly increasing in canonical order */
	const char *order[] = {"a",	"a/b", "a/b/c", "a/b.c", "a/c", "a!",	"a-b",
			       "a.txt", "a0",  "ab",	"b",	 "b/a", "\x7f", "\xff"};
	size_t n = sizeof(order) / sizeof(order[0]);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(spfs_path_cmp(order[i], order[i]), 0);
		for (size_t j = 0; j < n; j++) {
			int want = (i > j) - (i < j);
			if (sign(spfs_path_cmp(order[i], order[j])) != want)
				fail_msg("cmp('%s', '%s') should be %d", order[i], order[j], want);
		}
	}
	assert_true(spfs_path_cmp("a", "a/b") < 0);
	assert_true(spfs_path_cmp("a/b", "a.txt") < 0);
	assert_true(spfs_path_cmp("a.txt", "b") < 0);
	assert_true(spfs_path_cmp("", "a") < 0);
}

static void test_sort_and_find(void **state)
{
	_cleanup_(spfs_manifest_freep) spfs_manifest *m =
	    fx_manifest("f:b d:a/b f:a.txt f:a/b/z d:a s:a/l>x f:a/b.c f:a/b/a d:a/b/c");
	spfs_manifest_sort(m);
	assert_listing(m, "a/ a/b/ a/b/a a/b/c/ a/b/z a/b.c a/l@ a.txt b");
	for (size_t i = 0; i < m->count; i++)
		assert_ptr_equal(spfs_manifest_find(m, m->entries[i].path), &m->entries[i]);
	assert_null(spfs_manifest_find(m, "a/b/y"));
	assert_null(spfs_manifest_find(m, "c"));
	assert_null(spfs_manifest_find(m, ""));
	assert_null(spfs_manifest_find(m, "a/"));
	spfs_manifest empty = {0};
	assert_null(spfs_manifest_find(&empty, "a"));
	spfs_manifest_sort(&empty);
	/* the sorted result is what the decoder accepts */
	sp_buf b = {0};
	sp_error err = {0};
	assert_int_equal(spfs_manifest_encode(m, &b, &err), 0);
	_cleanup_(spfs_manifest_freep) spfs_manifest *d = NULL;
	if (spfs_manifest_decode(&d, b.data, b.len, &err))
		fail_msg("%s", err.msg);
	sp_buf_free(&b);
}

static void test_push_copies(void **state)
{
	spfs_manifest m = {0};
	char path[] = "dir/file";
	char target[] = "tgt";
	spfs_entry e = fx_symlink(path, target);
	sp_error err = {0};
	for (int i = 0; i < 200; i++) /* crosses several growth steps */
		assert_int_equal(spfs_manifest_push(&m, &e, &err), 0);
	path[0] = 'X';
	target[0] = 'X';
	assert_int_equal(m.count, 200);
	assert_true(m.cap >= 200);
	assert_string_equal(m.entries[199].path, "dir/file");
	assert_string_equal(m.entries[0].target, "tgt");
	assert_ptr_not_equal(m.entries[0].path, m.entries[1].path);
	spfs_manifest *heap = malloc(sizeof(*heap));
	*heap = m;
	spfs_manifest_free(heap);
	spfs_manifest_free(NULL);
}

/* ---------------------------------------------------------------- overlay */

static void overlay_case(const char *lower, const char *upper, bool keep_masks, const char *want)
{
	_cleanup_(spfs_manifest_freep) spfs_manifest *l = fx_manifest(lower);
	_cleanup_(spfs_manifest_freep) spfs_manifest *u = fx_manifest(upper);
	for (size_t i = 1; i < l->count; i++) /* the fixtures themselves are canonical */
		assert_true(spfs_path_cmp(l->entries[i - 1].path, l->entries[i].path) < 0);
	for (size_t i = 1; i < u->count; i++)
		assert_true(spfs_path_cmp(u->entries[i - 1].path, u->entries[i].path) < 0);
	sp_error err = {0};
	assert_int_equal(spfs_manifest_overlay(l, u, keep_masks, &err), 0);
	assert_listing(l, want);
	/* the result is canonical */
	for (size_t i = 1; i < l->count; i++)
		assert_true(spfs_path_cmp(l->entries[i - 1].path, l->entries[i].path) < 0);
}

static void test_overlay_file_replaces_dir_subtree(void **state)
{
	overlay_case("d:d f:d/x d:d/y f:d/y/z f:d.txt f:e", "f:d", false, "d d.txt e");
	overlay_case("d:d f:d/x f:e", "s:d>elsewhere", false, "d@ e");
	/* an upper directory over a lower file */
	overlay_case("f:d f:e", "d:d f:d/n", false, "d/ d/n e");
}

static void test_overlay_upper_wins_same_path(void **state)
{
	_cleanup_(spfs_manifest_freep) spfs_manifest *l = fx_manifest("f:a f:b");
	_cleanup_(spfs_manifest_freep) spfs_manifest *u = fx_manifest("f:b");
	u->entries[0].mode = 0755;
	memset(u->entries[0].digest.bytes, 0xee, SP_DIGEST_LEN);
	sp_error err = {0};
	assert_int_equal(spfs_manifest_overlay(l, u, false, &err), 0);
	assert_listing(l, "a b");
	assert_int_equal(l->entries[1].mode, 0755);
	assert_int_equal(l->entries[1].digest.bytes[0], 0xee);
}

static void test_overlay_mask_deletes(void **state)
{
	overlay_case("f:a d:b f:b/c d:b/d f:b/d/e f:c", "m:b", false, "a c");
	overlay_case("f:a d:b f:b/c d:b/d f:b/d/e f:c", "m:b", true, "a b! c");
	/* a mask inside a merged directory */
	overlay_case("d:d f:d/x f:d/z", "d:d m:d/x", false, "d/ d/z");
	overlay_case("d:d f:d/x f:d/z", "d:d m:d/x", true, "d/ d/x! d/z");
	/* a mask for something the lower layer does not have */
	overlay_case("f:a", "m:zz", false, "a");
	overlay_case("f:a", "m:zz", true, "a zz!");
	/* a later upper re-creates a masked path */
	overlay_case("f:a m:b", "f:b", true, "a b");
}

static void test_overlay_merged_dirs_keep_lower_children(void **state)
{
	overlay_case("d:d d:d/s f:d/s/deep f:d/x", "d:d f:d/y", false, "d/ d/s/ d/s/deep d/x d/y");
	/* a file hiding a subdirectory does not hide the directory's siblings */
	overlay_case("d:a d:a/b f:a/b/c f:a/d", "d:a f:a/b", false, "a/ a/b a/d");
	/* hidden subtree, then a merged directory after it */
	overlay_case("d:a f:a/x d:b f:b/y", "f:a d:b f:b/z", false, "a b/ b/y b/z");
	/* the empty cases */
	overlay_case("", "f:a", false, "a");
	overlay_case("f:a", "", false, "a");
	overlay_case("", "", false, "");
}

static void test_overlay_upper_only_dir_and_nested_hides(void **state)
{
	/* nested: upper file deep inside merged dirs hides only its own subtree */
	overlay_case("d:a d:a/b d:a/b/c f:a/b/c/f f:a/b/g d:a/h f:a/h/i", "d:a d:a/b f:a/b/c",
		     false, "a/ a/b/ a/b/c a/b/g a/h/ a/h/i");
	/* lower entries whose names extend the hidden name stay */
	overlay_case("d:x f:x/1 f:x-y f:x.z d:x0 f:x0/1", "m:x", false, "x-y x.z x0/ x0/1");
}

/* ------------------------------------------------------------------- diff */

typedef struct diff_log {
	char text[1024];
	size_t len;
} diff_log;

static void diff_cb(spfs_diff_op op, const spfs_entry *a, const spfs_entry *b, void *ud)
{
	diff_log *log = ud;
	if (op == SPFS_DIFF_ADDED)
		assert_true(a == NULL && b != NULL);
	if (op == SPFS_DIFF_REMOVED)
		assert_true(a != NULL && b == NULL);
	if (op == SPFS_DIFF_CHANGED) {
		assert_true(a != NULL && b != NULL);
		assert_string_equal(a->path, b->path);
	}
	const spfs_entry *e = a ? a : b;
	log->len += (size_t)snprintf(log->text + log->len, sizeof(log->text) - log->len, "%s%c%s",
				     log->len ? " " : "", (char)op, e->path);
}

static void test_diff(void **state)
{
	_cleanup_(spfs_manifest_freep) spfs_manifest *a =
	    fx_manifest("f:same f:w f:x d:y f:y/z f:mode s:link>one");
	_cleanup_(spfs_manifest_freep) spfs_manifest *b =
	    fx_manifest("f:same f:v f:x d:y f:y/q f:mode s:link>two");
	spfs_manifest_sort(a);
	spfs_manifest_sort(b);
	memset(((spfs_entry *)spfs_manifest_find(b, "x"))->digest.bytes, 0x99, SP_DIGEST_LEN);
	((spfs_entry *)spfs_manifest_find(b, "mode"))->mode = 0755;
	diff_log log = {0};
	spfs_manifest_diff(a, b, diff_cb, &log);
	assert_string_equal(log.text, "~link ~mode +v -w ~x +y/q -y/z");
	/* nothing for identical trees; everything one way against an empty one */
	diff_log none = {0};
	spfs_manifest_diff(a, a, diff_cb, &none);
	assert_string_equal(none.text, "");
	spfs_manifest empty = {0};
	diff_log gone = {0}, added = {0};
	spfs_manifest_diff(a, &empty, diff_cb, &gone);
	assert_string_equal(gone.text, "-link -mode -same -w -x -y -y/z");
	spfs_manifest_diff(&empty, b, diff_cb, &added);
	assert_string_equal(added.text, "+link +mode +same +v +x +y +y/q");
	/* a kind change with the same path is a change */
	_cleanup_(spfs_manifest_freep) spfs_manifest *c = fx_manifest("d:p");
	_cleanup_(spfs_manifest_freep) spfs_manifest *e = fx_manifest("m:p");
	diff_log kinds = {0};
	spfs_manifest_diff(c, e, diff_cb, &kinds);
	assert_string_equal(kinds.text, "~p");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_cmp_order),
	    cmocka_unit_test(test_sort_and_find),
	    cmocka_unit_test(test_push_copies),
	    cmocka_unit_test(test_overlay_file_replaces_dir_subtree),
	    cmocka_unit_test(test_overlay_upper_wins_same_path),
	    cmocka_unit_test(test_overlay_mask_deletes),
	    cmocka_unit_test(test_overlay_merged_dirs_keep_lower_children),
	    cmocka_unit_test(test_overlay_upper_only_dir_and_nested_hides),
	    cmocka_unit_test(test_diff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
