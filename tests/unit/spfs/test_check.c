/* test_check.c - spfs_check (spfs/check.c) on a real store: a damaged
 * payload is one problem that names the tag records needing it (current
 * and older ones), a payload no tag uses says so, a long list of users is
 * cut with a count, a missing object is a closure problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "common/tmpdir.h"
#include "spfs/spfs.h"

typedef struct fixture {
	tmpdir *t;
	spfs_store *s;
	char tree[4200];
} fixture;

typedef struct seen {
	int count;
	char what[8][16];
	char name[8][300];
	char detail[8][2048];
} seen;

static void on_problem(const spfs_problem *p, void *ud)
{
	seen *s = ud;
	if (strcmp(p->what, "temp") == 0 || s->count >= 8)
		return;
	snprintf(s->what[s->count], sizeof(s->what[0]), "%s", p->what);
	snprintf(s->name[s->count], sizeof(s->name[0]), "%s", p->name);
	snprintf(s->detail[s->count], sizeof(s->detail[0]), "%s", p->detail);
	s->count++;
}

static int setup(void **state)
{
	void *t = NULL;
	if (tmpdir_setup(&t))
		return -1;
	fixture *f = calloc(1, sizeof(*f));
	f->t = t;
	char path[4200];
	snprintf(path, sizeof(path), "%s/store", f->t->path);
	sp_error err = {0};
	if (spfs_store_open(&f->s, path, true, &err))
		return -1;
	snprintf(f->tree, sizeof(f->tree), "%s/tree", f->t->path);
	if (mkdir(f->tree, 0755) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	spfs_store_free(f->s);
	void *t = f->t;
	free(f);
	return tmpdir_teardown(&t);
}

static void put_file(fixture *f, const char *name, const char *text)
{
	char p[4300];
	snprintf(p, sizeof(p), "%s/%s", f->tree, name);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void commit(fixture *f, const char *tag)
{
	sp_digest layer, manifest;
	sp_error err = {0};
	spfs_commit_opts o = {.tag = tag};
	assert_int_equal(spfs_commit_dir(&layer, &manifest, f->s, f->tree, &o, NULL, &err), 0);
}

/* Overwrites the plain payload of TEXT (as bit rot would). */
static void damage(fixture *f, const char *text, char *hex_out)
{
	sp_digest d;
	sp_error err = {0};
	assert_int_equal(sp_digest_buf(&d, text, strlen(text), &err), 0);
	sp_digest_to_hex(&d, hex_out);
	char p[4300];
	snprintf(p, sizeof(p), "%s/store/payloads/%.2s/%s", f->t->path, hex_out, hex_out + 2);
	assert_int_equal(chmod(p, 0644), 0);
	FILE *fp = fopen(p, "r+");
	assert_non_null(fp);
	fputc('X', fp);
	fclose(fp);
}

static void run_check(fixture *f, seen *s, spfs_check_stats *st)
{
	memset(s, 0, sizeof(*s));
	sp_error err = {0};
	assert_int_equal(spfs_check(f->s, on_problem, s, st, &err), 0);
}

static void test_one_problem_with_its_tags(void **state)
{
	fixture *f = *state;
	put_file(f, "shared", "shared content\n");
	commit(f, "a");
	commit(f, "b");
	put_file(f, "other", "other\n");
	commit(f, "b"); /* b~1 and b both use "shared" */
	char hex[SP_DIGEST_HEX_LEN + 1];
	damage(f, "shared content\n", hex);
	seen s;
	spfs_check_stats st;
	run_check(f, &s, &st);
	assert_int_equal(st.problems, 1);
	assert_int_equal(s.count, 1);
	assert_string_equal(s.what[0], "payload");
	assert_string_equal(s.name[0], hex);
	assert_non_null(strstr(s.detail[0], "content does not match"));
	const char *users = strstr(s.detail[0], "; used by ");
	assert_non_null(users);
	/* every record that needs it (older ones as TAG~N), each once */
	assert_string_equal(users, "; used by a, b~1, b");
}

static void test_unused_damage_says_so(void **state)
{
	fixture *f = *state;
	put_file(f, "gone", "soon untagged\n");
	commit(f, "t");
	sp_error err = {0};
	assert_int_equal(spfs_tag_remove(f->s, "t", false, &err), 0);
	char hex[SP_DIGEST_HEX_LEN + 1];
	damage(f, "soon untagged\n", hex);
	seen s;
	spfs_check_stats st;
	run_check(f, &s, &st);
	assert_int_equal(st.problems, 1);
	assert_non_null(strstr(s.detail[0], "; no tag uses it"));
}

static void test_many_users_are_counted(void **state)
{
	fixture *f = *state;
	put_file(f, "common", "common\n");
	char tag[16];
	for (int i = 0; i < 20; i++) {
		snprintf(tag, sizeof(tag), "t%02d", i);
		commit(f, tag);
	}
	char hex[SP_DIGEST_HEX_LEN + 1];
	damage(f, "common\n", hex);
	seen s;
	spfs_check_stats st;
	run_check(f, &s, &st);
	assert_int_equal(st.problems, 1);
	assert_non_null(strstr(s.detail[0], " and 4 more tag records"));
}

static void test_missing_object_is_a_closure_problem(void **state)
{
	fixture *f = *state;
	put_file(f, "x", "x\n");
	sp_digest layer, manifest;
	sp_error err = {0};
	spfs_commit_opts o = {.tag = "m"};
	assert_int_equal(spfs_commit_dir(&layer, &manifest, f->s, f->tree, &o, NULL, &err), 0);
	char hex[SP_DIGEST_HEX_LEN + 1], p[4300];
	sp_digest_to_hex(&manifest, hex);
	snprintf(p, sizeof(p), "%s/store/objects/%.2s/%s", f->t->path, hex, hex + 2);
	assert_int_equal(unlink(p), 0);
	seen s;
	spfs_check_stats st;
	run_check(f, &s, &st);
	assert_int_equal(s.count, 1);
	assert_string_equal(s.what[0], "closure");
	assert_string_equal(s.name[0], "m~0");
	assert_non_null(strstr(s.detail[0], hex));
}

static void test_damaged_object_is_one_problem(void **state)
{
	fixture *f = *state;
	put_file(f, "y", "y\n");
	sp_digest layer, manifest;
	sp_error err = {0};
	spfs_commit_opts o = {.tag = "o"};
	assert_int_equal(spfs_commit_dir(&layer, &manifest, f->s, f->tree, &o, NULL, &err), 0);
	char hex[SP_DIGEST_HEX_LEN + 1], p[4300];
	sp_digest_to_hex(&manifest, hex);
	snprintf(p, sizeof(p), "%s/store/objects/%.2s/%s", f->t->path, hex, hex + 2);
	assert_int_equal(chmod(p, 0644), 0);
	FILE *fp = fopen(p, "r+");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 40, SEEK_SET), 0);
	fputc(0x01, fp);
	fclose(fp);
	seen s;
	spfs_check_stats st;
	run_check(f, &s, &st);
	/* not also a closure problem for the record that cannot read it */
	assert_int_equal(st.problems, 1);
	assert_int_equal(s.count, 1);
	assert_string_equal(s.what[0], "object");
	assert_string_equal(s.name[0], hex);
	assert_non_null(strstr(s.detail[0], "; used by o"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_one_problem_with_its_tags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unused_damage_says_so, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_users_are_counted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_object_is_a_closure_problem, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_damaged_object_is_one_problem, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
