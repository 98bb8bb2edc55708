/* test_sys.c - the syscall layer and its fault injection (common/sys.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/common.h"
#include "common/tmpdir.h"

static int open_file(tmpdir *t)
{
	int fd = openat(t->fd, "f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	return fd;
}

static void test_fsync_second_call_fails(void **state)
{
	tmpdir *t = *state;
	sp_error err = {0};
	int fd = open_file(t);
	sp_sys_fault_reset();
	assert_int_equal(sp_sys_fault_set("fsync:2:EIO", &err), 0);
	assert_int_equal(sp_sys_fsync(fd), 0);
	errno = 0;
	assert_int_equal(sp_sys_fsync(fd), -1);
	assert_int_equal(errno, EIO);
	for (int i = 0; i < 5; i++)
		assert_int_equal(sp_sys_fsync(fd), 0); /* exactly once */
	/* other operations are not affected */
	assert_int_equal(sp_sys_syncfs(fd), 0);
	assert_int_equal(sp_sys_write(fd, "x", 1), 1);
	sp_sys_fault_reset();
	assert_int_equal(sp_sys_fsync(fd), 0);
	close(fd);
}

static void test_reset_restarts_count(void **state)
{
	tmpdir *t = *state;
	sp_error err = {0};
	int fd = open_file(t);
	sp_sys_fault_reset();
	assert_int_equal(sp_sys_fault_set("fsync:3:ENOSPC", &err), 0);
	assert_int_equal(sp_sys_fsync(fd), 0);
	assert_int_equal(sp_sys_fsync(fd), 0);
	sp_sys_fault_reset(); /* disarms and zeroes the counter */
	for (int i = 0; i < 4; i++)
		assert_int_equal(sp_sys_fsync(fd), 0);
	assert_int_equal(sp_sys_fault_set("fsync:3:ENOSPC", &err), 0);
	assert_int_equal(sp_sys_fsync(fd), 0);
	assert_int_equal(sp_sys_fsync(fd), 0);
	assert_int_equal(sp_sys_fsync(fd), -1);
	assert_int_equal(errno, ENOSPC);
	sp_sys_fault_reset();
	close(fd);
}

static void test_every_operation(void **state)
{
	tmpdir *t = *state;
	sp_error err = {0};
	sp_sys_fault_reset();
	assert_int_equal(sp_sys_fault_set("write:1:ENOSPC,open:1:EACCES,mkdir:1:EDQUOT,"
					  "rename:1:EROFS,link:1:EMLINK,syncfs:1:EIO",
					  &err),
			 0);
	errno = 0;
	assert_int_equal(sp_sys_openat(t->fd, "o", O_WRONLY | O_CREAT | O_CLOEXEC, 0644), -1);
	assert_int_equal(errno, EACCES);
	struct stat st;
	assert_int_equal(fstatat(t->fd, "o", &st, 0), -1); /* the call really was skipped */
	int fd = sp_sys_openat(t->fd, "o", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(sp_sys_write(fd, "abc", 3), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(sp_sys_write(fd, "abc", 3), 3);
	assert_int_equal(sp_sys_syncfs(fd), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(sp_sys_syncfs(fd), 0);
	close(fd);
	assert_int_equal(sp_sys_mkdirat(t->fd, "d", 0755), -1);
	assert_int_equal(errno, EDQUOT);
	assert_int_equal(sp_sys_mkdirat(t->fd, "d", 0755), 0);
	assert_int_equal(sp_sys_linkat(t->fd, "o", t->fd, "h", 0), -1);
	assert_int_equal(errno, EMLINK);
	assert_int_equal(sp_sys_linkat(t->fd, "o", t->fd, "h", 0), 0);
	assert_int_equal(sp_sys_renameat(t->fd, "h", t->fd, "r", 0), -1);
	assert_int_equal(errno, EROFS);
	assert_int_equal(fstatat(t->fd, "h", &st, 0), 0);
	assert_int_equal(sp_sys_renameat(t->fd, "h", t->fd, "r", 0), 0);
	sp_sys_fault_reset();
	/* RENAME_NOREPLACE passes through */
	assert_int_equal(sp_sys_renameat(t->fd, "r", t->fd, "o", RENAME_NOREPLACE), -1);
	assert_int_equal(errno, EEXIST);
	/* a later spec for the same op replaces the earlier one */
	assert_int_equal(sp_sys_fault_set("mkdir:5:EIO,mkdir:1:EPERM", &err), 0);
	assert_int_equal(sp_sys_mkdirat(t->fd, "e", 0755), -1);
	assert_int_equal(errno, EPERM);
	sp_sys_fault_reset();
}

static void test_invalid_specs(void **state)
{
	const char *bad[] = {
	    "fsync",	     "fsync:2",	     "fsync:0:EIO", "fsync:-1:EIO",
	    "fsync:x:EIO",   "fsync:2x:EIO", "fsync::EIO",  "bogus:1:EIO",
	    "fsync:1:EWHAT", "fsync:1:",     "FSYNC:1:EIO", "fsync:1:eio",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sp_error err = {0};
		sp_sys_fault_reset();
		if (sp_sys_fault_set(bad[i], &err) != SP_EINVALID)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(err.msg[0] != '\0');
	}
	char longspec[400];
	memset(longspec, 'a', sizeof(longspec) - 1);
	longspec[sizeof(longspec) - 1] = '\0';
	sp_error err = {0};
	assert_int_equal(sp_sys_fault_set(longspec, &err), SP_EINVALID);
	assert_non_null(strstr(err.msg, "too long"));
	sp_sys_fault_reset();
}

static void test_invalid_spec_arms_nothing(void **state)
{
	tmpdir *t = *state;
	sp_error err = {0};
	sp_sys_fault_reset();
	assert_int_equal(sp_sys_fault_set("fsync:1:EWHAT", &err), SP_EINVALID);
	int fd = open_file(t);
	assert_int_equal(sp_sys_fsync(fd), 0);
	/* a valid item before a bad one is not armed either */
	assert_int_equal(sp_sys_fault_set("fsync:1:EIO,write:1:EIO,bogus:1:EIO", &err),
			 SP_EINVALID);
	assert_non_null(strstr(err.msg, "bogus"));
	assert_int_equal(sp_sys_fsync(fd), 0);
	assert_int_equal(sp_sys_write(fd, "x", 1), 1);
	close(fd);
	sp_sys_fault_reset();
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_fsync_second_call_fails),   T(test_reset_restarts_count),
	    T(test_every_operation),	       cmocka_unit_test(test_invalid_specs),
	    T(test_invalid_spec_arms_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
