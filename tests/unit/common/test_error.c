/* test_error.c - the sp_error chain (common/error.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"

static void test_set_leaf(void **state)
{
	sp_error err = {0};
	err.sys_errno = 42;
	assert_int_equal(sp_error_set(&err, SP_EINVALID, "bad %s %d", "thing", 7), SP_EINVALID);
	assert_int_equal(err.code, SP_EINVALID);
	assert_int_equal(err.sys_errno, 0);
	assert_string_equal(err.msg, "bad thing 7");
	/* a second set replaces the leaf */
	sp_error_set(&err, SP_ENOTFOUND, "other");
	assert_int_equal(err.code, SP_ENOTFOUND);
	assert_string_equal(err.msg, "other");
}

static void test_null_error_is_allowed(void **state)
{
	errno = ENOENT;
	assert_int_equal(sp_error_set(NULL, SP_EIO, "x"), SP_EIO);
	assert_int_equal(sp_error_errno(NULL, "x"), SP_ENOTFOUND);
	assert_int_equal(sp_error_prefix(NULL, "x"), SP_ERROR);
	sp_error_clear(NULL);
}

static void test_errno_codes(void **state)
{
	struct {
		int e;
		int code;
	} cases[] = {
	    {ENOENT, SP_ENOTFOUND}, {EEXIST, SP_EEXISTS}, {ENOMEM, SP_ENOMEM},
	    {EACCES, SP_EIO},	    {ENOSPC, SP_EIO},	  {EIO, SP_EIO},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sp_error err = {0};
		errno = cases[i].e;
		assert_int_equal(sp_error_errno(&err, "open %s", "f"), cases[i].code);
		assert_int_equal(err.code, cases[i].code);
		assert_int_equal(err.sys_errno, cases[i].e);
		assert_int_equal(errno, cases[i].e); /* errno survives for the caller */
		char want[256];
		snprintf(want, sizeof(want), "open f: %s", strerror(cases[i].e));
		assert_string_equal(err.msg, want);
	}
}

static void test_prefix_chain(void **state)
{
	sp_error err = {0};
	errno = ENOSPC;
	sp_error_errno(&err, "openat(%s)", "tmp");
	assert_int_equal(sp_error_prefix(&err, "writing object %s", "3f2a"), SP_EIO);
	assert_int_equal(sp_error_prefix(&err, "cannot bake %s", "abc/maya"), SP_EIO);
	char want[256];
	snprintf(want, sizeof(want), "cannot bake abc/maya: writing object 3f2a: openat(tmp): %s",
		 strerror(ENOSPC));
	assert_string_equal(err.msg, want);
	assert_int_equal(err.sys_errno, ENOSPC); /* the leaf's errno is kept */
	assert_null(strchr(err.msg, '\n'));
}

static void test_prefix_without_code_is_generic(void **state)
{
	sp_error err = {0};
	assert_int_equal(sp_error_prefix(&err, "context"), SP_ERROR);
	assert_int_equal(err.code, SP_ERROR);
	assert_string_equal(err.msg, "context: ");
}

static void test_clear(void **state)
{
	sp_error err = {0};
	errno = EIO;
	sp_error_errno(&err, "x");
	sp_error_clear(&err);
	assert_int_equal(err.code, 0);
	assert_int_equal(err.sys_errno, 0);
	assert_string_equal(err.msg, "");
}

static void test_long_leaf_truncated(void **state)
{
	char big[3 * SP_ERROR_MSG_MAX];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sp_error err = {0};
	sp_error_set(&err, SP_EIO, "%s", big);
	assert_int_equal(strlen(err.msg), SP_ERROR_MSG_MAX - 1);
	/* errno text cannot fit after a full buffer; the message stays bounded */
	errno = EIO;
	sp_error_errno(&err, "%s", big);
	assert_int_equal(strlen(err.msg), SP_ERROR_MSG_MAX - 1);
	assert_int_equal(err.code, SP_EIO);
	assert_int_equal(err.sys_errno, EIO);
}

static void test_very_long_chain_truncated(void **state)
{
	sp_error err = {0};
	sp_error_set(&err, SP_EMISMATCH, "leaf");
	char last[32] = "";
	for (int i = 0; i < 500; i++) {
		snprintf(last, sizeof(last), "step %d", i);
		assert_int_equal(sp_error_prefix(&err, "%s", last), SP_EMISMATCH);
		size_t len = strnlen(err.msg, sizeof(err.msg));
		assert_true(len < SP_ERROR_MSG_MAX); /* always NUL-terminated */
	}
	assert_int_equal(err.code, SP_EMISMATCH);
	assert_int_equal(strlen(err.msg), SP_ERROR_MSG_MAX - 1);
	/* The start of the chain (the outermost context) is what survives. */
	assert_memory_equal(err.msg, "step 499: step 498: ", strlen("step 499: step 498: "));
	assert_null(strstr(err.msg, "leaf"));
}

static void test_prefix_longer_than_buffer(void **state)
{
	char big[2 * SP_ERROR_MSG_MAX];
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sp_error err = {0};
	sp_error_set(&err, SP_EINVALID, "leaf");
	assert_int_equal(sp_error_prefix(&err, "%s", big), SP_EINVALID);
	assert_int_equal(strlen(err.msg), SP_ERROR_MSG_MAX - 1);
	assert_true(err.msg[0] == 'p' && err.msg[SP_ERROR_MSG_MAX - 2] == 'p');
}

static void test_prefix_near_full_keeps_bound(void **state)
{
	/* Prefixes of every length around the buffer size: the result is
	 * bounded, starts with the prefix and ends in part of the old message. */
	for (size_t plen = SP_ERROR_MSG_MAX - 8; plen <= SP_ERROR_MSG_MAX + 2; plen++) {
		char p[SP_ERROR_MSG_MAX + 8];
		memset(p, 'p', plen);
		p[plen] = '\0';
		sp_error err = {0};
		sp_error_set(&err, SP_EIO, "LEAF");
		sp_error_prefix(&err, "%s", p);
		size_t len = strlen(err.msg);
		assert_true(len <= SP_ERROR_MSG_MAX - 1);
		size_t kept = plen < SP_ERROR_MSG_MAX - 1 ? plen : SP_ERROR_MSG_MAX - 1;
		for (size_t i = 0; i < kept; i++)
			assert_int_equal(err.msg[i], 'p');
	}
}

/* A long, multi-line explanation travels whole as the detail; prefixes
 * add to the chain and leave it alone. */
static void test_detail_carries_long_text(void **state)
{
	size_t n = 5 * SP_ERROR_MSG_MAX;
	char *big = malloc(n + 1);
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = i % 80 == 79 ? '\n' : (char)('a' + i % 26);
	big[n] = '\0';
	_cleanup_error_ sp_error err = {0};
	sp_error_set(&err, SP_EINVALID, "cannot solve");
	assert_int_equal(sp_error_set_detail(&err, big), SP_EINVALID);
	assert_int_equal(sp_error_prefix(&err, "building %s", "x/1"), SP_EINVALID);
	assert_string_equal(err.msg, "building x/1: cannot solve");
	assert_string_equal(err.detail, big);
	/* a new leaf replaces the detail too */
	sp_error_set(&err, SP_EIO, "other");
	assert_null(err.detail);
	sp_error_set_detail(&err, big);
	free(big);
}

static void test_move_hands_on_everything(void **state)
{
	sp_error why = {0}, err = {0};
	errno = ENOENT;
	sp_error_errno(&why, "open %s", "f");
	sp_error_set_detail(&why, "line 1\nline 2\n");
	sp_error_set(&err, SP_EIO, "stale");
	sp_error_set_detail(&err, "stale detail"); /* freed by the move */
	assert_int_equal(sp_error_move(&err, &why), SP_ENOTFOUND);
	assert_int_equal(err.sys_errno, ENOENT);
	assert_true(strncmp(err.msg, "open f: ", 8) == 0);
	assert_string_equal(err.detail, "line 1\nline 2\n");
	assert_int_equal(why.code, 0);
	assert_null(why.detail);
	assert_string_equal(why.msg, "");
	/* an empty source still gives a failure code */
	sp_error empty = {0};
	assert_int_equal(sp_error_move(&err, &empty), SP_ERROR);
	assert_null(err.detail);
	sp_error_clear(&err);
}

/* What sp_error_print and sp_eprintf write, read back through a file. */
static char *printed(void (*fn)(FILE *, const void *), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	fn(f, arg);
	fclose(f);
	return buf;
}

static void print_err(FILE *f, const void *e)
{
	sp_error_print(f, "spk build", e);
}

static void print_quoted(FILE *f, const void *s)
{
	sp_fputs_quoted(f, s);
}

static void test_print_quotes_control_characters(void **state)
{
	_cleanup_error_ sp_error err = {0};
	/* an escape sequence, a carriage return, a bell, a newline and a C1
	 * control (U+009B, CSI) from user input; UTF-8 text stays as it is */
	sp_error_set(&err, SP_ENOTFOUND, "no tag '%s' in 'caf\xc3\xa9'",
		     "\x1b[31mred\r\a\nx\xc2\x9b");
	sp_error_set_detail(&err, "- a\n\t- \x1b]0;title\x07"
				  "b");
	_cleanup_free_ char *out = printed(print_err, &err);
	assert_string_equal(out, "spk build: no tag '\\x1b[31mred\\x0d\\x07\\x0ax\\xc2\\x9b' in "
				 "'caf\xc3\xa9'\n"
				 "- a\n\t- \\x1b]0;title\\x07b\n");
	/* invalid UTF-8 and DEL are quoted byte by byte; newline and tab kept */
	_cleanup_free_ char *q = printed(print_quoted, "a\xff\xc3(\x7f\tb\nc");
	assert_string_equal(q, "a\\xff\\xc3(\\x7f\tb\nc");
	/* a chain without text still prints a line */
	sp_error none = {0};
	_cleanup_free_ char *n = printed(print_err, &none);
	assert_string_equal(n, "spk build: unknown error\n");
}

static void test_eprintf_any_length(void **state)
{
	char path[] = "/tmp/spawn-eprintf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	size_t n = 3000;
	char *big = malloc(n + 1);
	memset(big, 'y', n);
	big[n] = '\0';
	sp_eprintf("spfs: %s: \x1b[2J%s\n", "arg", big);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char *got = NULL;
	size_t len = 0;
	assert_int_equal(sp_read_file_at(&got, &len, AT_FDCWD, path, 1 << 20, &(sp_error){0}), 0);
	assert_int_equal(len, strlen("spfs: arg: \\x1b[2J") + n + 1);
	assert_true(strncmp(got, "spfs: arg: \\x1b[2J", strlen("spfs: arg: \\x1b[2J")) == 0);
	free(got);
	free(big);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_set_leaf),
	    cmocka_unit_test(test_null_error_is_allowed),
	    cmocka_unit_test(test_errno_codes),
	    cmocka_unit_test(test_prefix_chain),
	    cmocka_unit_test(test_prefix_without_code_is_generic),
	    cmocka_unit_test(test_clear),
	    cmocka_unit_test(test_long_leaf_truncated),
	    cmocka_unit_test(test_very_long_chain_truncated),
	    cmocka_unit_test(test_prefix_longer_than_buffer),
	    cmocka_unit_test(test_prefix_near_full_keeps_bound),
	    cmocka_unit_test(test_detail_carries_long_text),
	    cmocka_unit_test(test_move_hands_on_everything),
	    cmocka_unit_test(test_print_quotes_control_characters),
	    cmocka_unit_test(test_eprintf_any_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
