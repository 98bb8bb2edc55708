/* test_fetch.c - the source cache (pkg/fetch.c) without a network: cache
 * hits for pinned and unpinned URLs, damaged or planted entries, records
 * that do not parse, offline misses. Downloads themselves are tested
 * against a real nginx in tests/e2e/test_spk_remote_sources.sh. */
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
#include <sys/wait.h>
#include <unistd.h>

#include "common/tmpdir.h"
#include "pkg/pkg.h"
#include "pkg/source.h"

#define URL "https://example.invalid/tool-1.0.tar.gz"

/* A cache below the test's directory holding `content` as a blob; hex
 * gets its digest. */
static void cache_with_blob(tmpdir *t, const char *content, char hex[65])
{
	char cache[4200];
	snprintf(cache, sizeof(cache), "%s/cache", t->path);
	setenv("SPK_SOURCE_CACHE", cache, 1);
	sp_error err = {0};
	assert_int_equal(sp_mkdir_p_at(t->fd, "cache/blobs", 0755, &err), 0);
	assert_int_equal(sp_mkdir_p_at(t->fd, "cache/urls", 0755, &err), 0);
	sp_digest d;
	assert_int_equal(sp_digest_buf(&d, content, strlen(content), &err), 0);
	sp_digest_to_hex(&d, hex);
	char rel[100];
	snprintf(rel, sizeof(rel), "cache/blobs/%s", hex);
	assert_int_equal(sp_atomic_write_at(t->fd, rel, content, strlen(content), 0444, &err), 0);
}

static void put_record(tmpdir *t, const char *text)
{
	char key[65], rel[100];
	pkg__url_key(URL, key);
	snprintf(rel, sizeof(rel), "cache/urls/%s", key);
	sp_error err = {0};
	assert_int_equal(sp_atomic_write_at(t->fd, rel, text, strlen(text), 0644, &err), 0);
}

static int fetch(int *fd, const char *pin, sp_error *err)
{
	pkg_source_decl sd = {.kind = PKG_SRC_TAR, .value = URL, .sha256 = pin};
	*fd = -1;
	return pkg__source_fetch_tar(fd, &sd, err);
}

static void expect_content(int fd, const char *want)
{
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = 0;
	assert_string_equal(buf, want);
	close(fd);
}

static void test_pinned_hit_needs_no_network(void **state)
{
	tmpdir *t = *state;
	char hex[65];
	cache_with_blob(t, "release bytes", hex);
	pkg_sources_set_offline(true);
	sp_error err = {0};
	int fd;
	assert_int_equal(fetch(&fd, hex, &err), 0);
	expect_content(fd, "release bytes");
}

static void test_unpinned_hit_by_url_record(void **state)
{
	tmpdir *t = *state;
	char hex[65], rec[200];
	cache_with_blob(t, "unpinned bytes", hex);
	snprintf(rec, sizeof(rec), "%s\n%s\n", hex, URL);
	put_record(t, rec);
	pkg_sources_set_offline(true);
	sp_error err = {0};
	int fd;
	assert_int_equal(fetch(&fd, NULL, &err), 0);
	expect_content(fd, "unpinned bytes");
}

/* Records that are cut, name another URL or are not digests are misses,
 * never a crash or a blob chosen at random. */
static void test_bad_records_are_misses(void **state)
{
	tmpdir *t = *state;
	char hex[65], rec[300];
	cache_with_blob(t, "x", hex);
	pkg_sources_set_offline(true);
	const char *bad[] = {"", "\n", "abc\n" URL "\n", NULL, NULL, NULL};
	snprintf(rec, sizeof(rec), "%s\nhttps://other.invalid/x\n", hex);
	bad[3] = rec;
	static char cut[70];
	snprintf(cut, sizeof(cut), "%.40s", hex);
	bad[4] = cut;
	for (size_t i = 0; bad[i]; i++) {
		put_record(t, bad[i]);
		sp_error err = {0};
		int fd;
		assert_int_equal(fetch(&fd, NULL, &err), SP_ENOTFOUND);
		assert_non_null(strstr(err.msg, "is not in the source cache"));
		assert_non_null(strstr(err.msg, "offline"));
	}
}

/* A blob whose bytes no longer hash to its name is removed and missed. */
static void test_damaged_blob_is_removed(void **state)
{
	tmpdir *t = *state;
	char hex[65], rel[100];
	cache_with_blob(t, "good", hex);
	snprintf(rel, sizeof(rel), "cache/blobs/%s", hex);
	sp_error err = {0};
	assert_int_equal(unlinkat(t->fd, rel, 0), 0);
	assert_int_equal(sp_atomic_write_at(t->fd, rel, "evil", 4, 0444, &err), 0);
	pkg_sources_set_offline(true);
	int fd;
	assert_int_equal(fetch(&fd, hex, &err), SP_ENOTFOUND);
	assert_int_equal(faccessat(t->fd, rel, F_OK, AT_SYMLINK_NOFOLLOW), -1);
}

/* A symbolic link planted under blobs/ is not followed. */
static void test_planted_symlink_refused(void **state)
{
	tmpdir *t = *state;
	char hex[65], rel[100];
	cache_with_blob(t, "content", hex);
	snprintf(rel, sizeof(rel), "cache/blobs/%s", hex);
	assert_int_equal(unlinkat(t->fd, rel, 0), 0);
	assert_int_equal(symlinkat("/etc/passwd", t->fd, rel), 0);
	pkg_sources_set_offline(true);
	sp_error err = {0};
	int fd;
	int rc = fetch(&fd, hex, &err);
	assert_true(rc < 0);
	assert_int_equal(fd, -1);
}

static void test_offline_from_environment(void **state)
{
	(void)state;
	/* the process-wide setting wins once set; before, SPK_OFFLINE decides */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pkg__sources_offline_unset();
		setenv("SPK_OFFLINE", "1", 1);
		bool a = pkg__sources_offline();
		setenv("SPK_OFFLINE", "0", 1);
		bool b = pkg__sources_offline();
		pkg_sources_set_offline(true);
		bool c = pkg__sources_offline();
		_exit(a && !b && c ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_cache_dir_choice(void **state)
{
	(void)state;
	char out[4096];
	sp_error err = {0};
	setenv("SPK_SOURCE_CACHE", "/c", 1);
	assert_int_equal(pkg__source_cache_dir(out, sizeof(out), &err), 0);
	assert_string_equal(out, "/c");
	unsetenv("SPK_SOURCE_CACHE");
	setenv("XDG_CACHE_HOME", "/x", 1);
	assert_int_equal(pkg__source_cache_dir(out, sizeof(out), &err), 0);
	assert_string_equal(out, "/x/spk/sources");
	setenv("XDG_CACHE_HOME", "relative", 1); /* not absolute: ignored, as XDG says */
	setenv("HOME", "/home/a", 1);
	assert_int_equal(pkg__source_cache_dir(out, sizeof(out), &err), 0);
	assert_string_equal(out, "/home/a/.cache/spk/sources");
	unsetenv("XDG_CACHE_HOME");
	unsetenv("HOME");
	assert_int_equal(pkg__source_cache_dir(out, sizeof(out), &err), SP_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pinned_hit_needs_no_network, tmpdir_setup,
					    tmpdir_teardown),
	    cmocka_unit_test_setup_teardown(test_unpinned_hit_by_url_record, tmpdir_setup,
					    tmpdir_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_records_are_misses, tmpdir_setup,
					    tmpdir_teardown),
	    cmocka_unit_test_setup_teardown(test_damaged_blob_is_removed, tmpdir_setup,
					    tmpdir_teardown),
	    cmocka_unit_test_setup_teardown(test_planted_symlink_refused, tmpdir_setup,
					    tmpdir_teardown),
	    cmocka_unit_test(test_offline_from_environment),
	    cmocka_unit_test(test_cache_dir_choice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
