/* test_error.c - the sp_error chain (common/error.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
