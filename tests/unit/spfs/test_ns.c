/* test_ns.c - the namespace steps shared by runtimes, the helper and
 * build confinement (spfs/ns.c), on the real kernel: /proc writes, an id
 * map in a fresh user namespace, a slave "/" in a fresh mount namespace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spfs/ns.h"

static void test_path_ok(void **state)
{
	(void)state;
	static const char *const good[] = {"/a", "/spfs", "/a/b/c", "/a.b/..c/c..", "/a b"};
	static const char *const bad[] = {"",	     "/",   "a/b",     "/a/",	"/a//b", "/a/./b",
					  "/a/../b", "/..", "/a/b/..", "/a\nb", "//a"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!spfs_ns__path_ok(good[i]))
			fail_msg("'%s' refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (spfs_ns__path_ok(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
	char longp[5000];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_false(spfs_ns__path_ok(longp));
}

static void read_small(char *buf, size_t n, const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t got = fread(buf, 1, n - 1, f);
	buf[got] = '\0';
	fclose(f);
}

static void test_write_proc(void **state)
{
	(void)state;
	sp_error err = {0};
	char buf[64];
	assert_int_equal(spfs_ns__write_proc(0, "comm", "ns-self", &err), 0);
	read_small(buf, sizeof(buf), "/proc/self/comm");
	assert_string_equal(buf, "ns-self\n");
	assert_int_equal(spfs_ns__write_proc(getpid(), "comm", "ns-pid", &err), 0);
	read_small(buf, sizeof(buf), "/proc/self/comm");
	assert_string_equal(buf, "ns-pid\n");
	assert_int_not_equal(spfs_ns__write_proc(0, "no-such-file", "x", &err), 0);
	assert_non_null(strstr(err.msg, "open /proc/self/no-such-file"));
	assert_int_equal(err.sys_errno, ENOENT);
}

/* In a child: a user namespace mapping our ids, then its maps read back.
 * Exit 0 on success, 77 when the kernel refuses the namespace. */
static void test_map_ids(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uid_t uid = getuid();
		gid_t gid = getgid();
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(77);
		sp_error err = {0};
		if (spfs_ns__map_ids(0, uid, gid, &err))
			_exit(1);
		char buf[128], want[128];
		read_small(buf, sizeof(buf), "/proc/self/uid_map");
		snprintf(want, sizeof(want), "%10u %10u %10u\n", (unsigned)uid, (unsigned)uid, 1u);
		if (strcmp(buf, want) != 0)
			_exit(2);
		read_small(buf, sizeof(buf), "/proc/self/setgroups");
		if (strcmp(buf, "deny\n") != 0)
			_exit(3);
		/* mapped once: a second map is refused, and said so */
		if (spfs_ns__map_ids(0, uid, gid, &err) == 0 || !strstr(err.msg, "setgroups"))
			_exit(4);
		_exit(getuid() == uid && getgid() == gid ? 0 : 5);
	}
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	if (WEXITSTATUS(ws) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(ws), 0);
}

static void test_slave_root(void **state)
{
	(void)state;
	if (getuid() != 0)
		skip();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sp_error err = {0};
		if (unshare(CLONE_NEWNS) < 0 || spfs_ns__slave_root(&err))
			_exit(1);
		/* "/" is shared with nobody now (a slave, or private where the
		 * host's was) */
		FILE *f = fopen("/proc/self/mountinfo", "r");
		char line[4096];
		while (f && fgets(line, sizeof(line), f)) {
			char mp[4096];
			if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && !strcmp(mp, "/"))
				_exit(strstr(line, " shared:") ? 2 : 0);
		}
		_exit(3);
	}
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_ok),
	    cmocka_unit_test(test_write_proc),
	    cmocka_unit_test(test_map_ids),
	    cmocka_unit_test(test_slave_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
