/* test_confine.c - build confinement (spfs/confine.c) on the real kernel,
 * in forked children: only the kept directory (and /spfs, /proc, /sys,
 * /dev) stays writable, /tmp is private, as root and as another user (then
 * through a user namespace of its own); a bad plan changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spfs/spfs.h"

static char base[PATH_MAX], keep[PATH_MAX + 8], other[PATH_MAX + 8];

/* Directories below `where` ("" the working directory, in the build tree;
 * or /tmp, where the private /tmp must not hide the kept one). */
static int setup_in(const char *where)
{
	char tmpl[PATH_MAX];
	snprintf(tmpl, sizeof(tmpl), "%sconfine-XXXXXX", where);
	if (!mkdtemp(tmpl) || !realpath(tmpl, base))
		return -1;
	snprintf(keep, sizeof(keep), "%s/keep", base);
	snprintf(other, sizeof(other), "%s/other", base);
	/* writable by anyone: only the confinement can refuse a write */
	if (mkdir(keep, 0777) < 0 || mkdir(other, 0777) < 0 || chmod(keep, 0777) < 0 ||
	    chmod(other, 0777) < 0 || chmod(base, 0755) < 0)
		return -1;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return setup_in("");
}

static int teardown(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

/* 0 when path could be created (and is removed again), else errno. */
static int try_create(const char *dir, const char *name)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* In a child (as uid when not 0): confine, then the writes. Exit codes:
 * 0 all as expected, 10+ the step that was not. */
static int confined_child(uid_t uid, const char *tmpname)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (uid && (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
			    setresuid(uid, uid, uid) < 0 ||
			    /* as after an exec: the id change made us undumpable */
			    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0))
			_exit(10);
		bool no_ns = false;
		sp_error err = {0};
		spfs_confine_opts o = {.keep = keep, .private_tmp = true};
		if (spfs_confine(&o, &no_ns, &err))
			_exit(no_ns ? 77 : (fprintf(stderr, "confine: %s\n", err.msg), 11));
		if (try_create(keep, "kept") != 0)
			_exit(12);
		/* read-only, or (below /tmp) hidden by the private /tmp */
		int e = try_create(other, "other");
		if (e != EROFS && !(e == ENOENT && strncmp(other, "/tmp/", 5) == 0))
			_exit(13);
		if (try_create("/tmp", tmpname) != 0) /* the private /tmp */
			_exit(14);
		if (getuid() != uid)
			_exit(15);
		_exit(0);
	}
	int ws;
	if (pid < 0 || waitpid(pid, &ws, 0) != pid || !WIFEXITED(ws))
		return -1;
	return WEXITSTATUS(ws);
}

static void check(uid_t uid)
{
	char tmpname[64], tmppath[128], kept[PATH_MAX + 16], oth[PATH_MAX + 16];
	snprintf(tmpname, sizeof(tmpname), "spfs-confine-%d-%u", (int)getpid(), (unsigned)uid);
	snprintf(tmppath, sizeof(tmppath), "/tmp/%s", tmpname);
	snprintf(kept, sizeof(kept), "%s/kept", keep);
	snprintf(oth, sizeof(oth), "%s/other", other);
	unlink(kept);
	int rc = confined_child(uid, tmpname);
	if (rc == 77)
		skip();
	assert_int_equal(rc, 0);
	struct stat st;
	assert_int_equal(stat(kept, &st), 0); /* the kept directory is the host's */
	assert_int_equal(st.st_uid, uid);
	assert_int_not_equal(stat(oth, &st), 0);
	assert_int_not_equal(stat(tmppath, &st), 0); /* never reached the host's /tmp */
}

static void test_root(void **state)
{
	(void)state;
	if (getuid() != 0)
		skip();
	check(0);
}

static void test_other_user(void **state)
{
	(void)state;
	if (getuid() != 0)
		skip(); /* needs root to become another user */
	check(65534);
}

/* A kept directory below /tmp (a checkout or stage there) stays the
 * host's and writable under the private /tmp. */
static void test_keep_below_tmp(void **state)
{
	if (getuid() != 0)
		skip();
	assert_int_equal(teardown(state), 0);
	assert_int_equal(setup_in("/tmp/"), 0);
	check(0);
	check(65534);
	assert_int_equal(teardown(state), 0);
	assert_int_equal(setup_in(""), 0);
}

static void test_bad_plan(void **state)
{
	(void)state;
	struct stat before, after;
	assert_int_equal(stat("/proc/self/ns/mnt", &before), 0);
	bool no_ns = true;
	sp_error err = {0};
	static const char *const bad[] = {"relative", "/a/../b", "/a//b", "/"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spfs_confine_opts o = {.keep = bad[i]};
		assert_int_equal(spfs_confine(&o, &no_ns, &err), SP_EINVALID);
		assert_false(no_ns);
		assert_non_null(strstr(err.msg, "not a clean absolute path"));
	}
	assert_int_equal(stat("/proc/self/ns/mnt", &after), 0);
	assert_int_equal(before.st_ino, after.st_ino); /* still the same namespace */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_root),
	    cmocka_unit_test(test_other_user),
	    cmocka_unit_test(test_keep_below_tmp),
	    cmocka_unit_test(test_bad_plan),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
