/* test_fs.c - *at() helpers and atomic writes (common/fs.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>

#include "common/common.h"
#include "common/tmpdir.h"

static char *read_all(int dirfd, const char *name, size_t *len)
{
	sp_error err = {0};
	char *data = NULL;
	int rc = sp_read_file_at(&data, len, dirfd, name, 1 << 20, &err);
	if (rc)
		fail_msg("read %s: %s", name, err.msg);
	return data;
}

/* ---------------------------------------------------------- atomic write */

static void test_atomic_write_creates_and_replaces(void **state)
{
	tmpdir *t = *state;
	sp_error err = {0};
	assert_int_equal(sp_atomic_write_at(t->fd, "f", "one\n", 4, 0640, &err), 0);
	size_t len;
	char *d = read_all(t->fd, "f", &len);
	assert_int_equal(len, 4);
	assert_string_equal(d, "one\n");
	free(d);
	struct stat st;
	assert_int_equal(fstatat(t->fd, "f", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 07777, 0640); /* fchmod, not the umask */
	ino_t first = st.st_ino;

	assert_int_equal(sp_atomic_write_at(t->fd, "f", "second version", 14, 0444, &err), 0);
	d = read_all(t->fd, "f", &len);
	assert_int_equal(len, 14);
	assert_string_equal(d, "second version");
	free(d);
	assert_int_equal(fstatat(t->fd, "f", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 07777, 0444);
	assert_true(st.st_ino != first); /* a new file renamed over, not rewritten */

	/* empty content */
	assert_int_equal(sp_atomic_write_at(t->fd, "f", "", 0, 0644, &err), 0);
	d = read_all(t->fd, "f", &len);
	assert_int_equal(len, 0);
	free(d);
	/* no temporary files are left behind */
	assert_int_equal(tmpdir_count(t->fd, "."), 1);
}

static void test_atomic_write_replaces_symlink_not_target(void **state)
{
	tmpdir *t = *state;
	sp_error err = {0};
	tmpdir_put(t->fd, "target", "keep", 4, 0644);
	assert_int_equal(symlinkat("target", t->fd, "link"), 0);
	assert_int_equal(sp_atomic_write_at(t->fd, "link", "new", 3, 0644, &err), 0);
	size_t len;
	char *d = read_all(t->fd, "target", &len);
	assert_string_equal(d, "keep");
	free(d);
	d = read_all(t->fd, "link", &len); /* now a regular file */
	assert_string_equal(d, "new");
	free(d);
	assert_int_equal(tmpdir_count(t->fd, "."), 2);
}

static void test_atomic_write_failure_keeps_old_and_cleans_up(void **state)
{
	tmpdir *t = *state;
	sp_error err = {0};
	assert_int_equal(sp_atomic_write_at(t->fd, "f", "old", 3, 0644, &err), 0);
	const char *faults[] = {"fsync:1:EIO", "rename:1:ENOSPC", "write:1:EDQUOT",
				"open:1:EACCES"};
	const int errs[] = {EIO, ENOSPC, EDQUOT, EACCES};
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		sp_sys_fault_reset();
		assert_int_equal(sp_sys_fault_set(faults[i], &err), 0);
		sp_error_clear(&err);
		int rc = sp_atomic_write_at(t->fd, "f", "new content", 11, 0644, &err);
		sp_sys_fault_reset();
		assert_int_not_equal(rc, 0);
		assert_int_equal(err.sys_errno, errs[i]);
		assert_non_null(strstr(err.msg, strerror(errs[i])));
		assert_non_null(strstr(err.msg, "f"));
		size_t len;
		char *d = read_all(t->fd, "f", &len);
		assert_string_equal(d, "old");
		free(d);
		assert_int_equal(tmpdir_count(t->fd, "."), 1); /* temp file removed */
	}
}

static void test_atomic_write_dir_fsync_failure_reported(void **state)
{
	tmpdir *t = *state;
	sp_error err = {0};
	/* fsync #1 is the file, #2 the directory after the rename */
	assert_int_equal(sp_sys_fault_set("fsync:2:EIO", &err), 0);
	assert_int_equal(sp_atomic_write_at(t->fd, "f", "x", 1, 0644, &err), SP_EIO);
	sp_sys_fault_reset();
	assert_non_null(strstr(err.msg, "fsync directory of f"));
	assert_int_equal(tmpdir_count(t->fd, "."), 1);
}

/* ----------------------------------------------------------- read file */

static void test_read_file_basic(void **state)
{
	tmpdir *t = *state;
	sp_error err = {0};
	tmpdir_put(t->fd, "f", "abc\0def", 7, 0644);
	char *d = NULL;
	size_t len = 0;
	assert_int_equal(sp_read_file_at(&d, &len, t->fd, "f", 7, &err), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(d, "abc\0def", 7);
	assert_int_equal(d[7], '\0'); /* always NUL-terminated */
	free(d);
	tmpdir_put(t->fd, "empty", "", 0, 0644);
	assert_int_equal(sp_read_file_at(&d, NULL, t->fd, "empty", 0, &err), 0);
	assert_non_null(d);
	assert_string_equal(d, "");
	free(d);
	/* a large file read in several chunks */
	size_t n = 200000;
	char *big = malloc(n);
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(i % 251);
	tmpdir_put(t->fd, "big", big, n, 0644);
	assert_int_equal(sp_read_file_at(&d, &len, t->fd, "big", n, &err), 0);
	assert_int_equal(len, n);
	assert_memory_equal(d, big, n);
	free(d);
	free(big);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "blocked on a FIFO\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(3);
}

static void test_read_file_refuses(void **state)
{
	tmpdir *t = *state;
	sp_error err = {0};
	char *d = (char *)0x1;
	tmpdir_put(t->fd, "f", "12345678", 8, 0644);
	assert_int_equal(symlinkat("f", t->fd, "link"), 0);
	assert_int_equal(sp_read_file_at(&d, NULL, t->fd, "link", 100, &err), SP_EINVALID);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_ptr_equal(d, (char *)0x1); /* *out untouched */

	assert_int_equal(sp_read_file_at(&d, NULL, t->fd, "f", 7, &err), SP_EINVALID);
	assert_non_null(strstr(err.msg, "limit"));
	assert_non_null(strstr(err.msg, "8 bytes"));

	assert_int_equal(sp_read_file_at(&d, NULL, t->fd, "missing", 7, &err), SP_ENOTFOUND);
	assert_int_equal(err.sys_errno, ENOENT);

	assert_int_equal(mkdirat(t->fd, "dir", 0755), 0);
	assert_int_equal(sp_read_file_at(&d, NULL, t->fd, "dir", 7, &err), SP_EINVALID);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_ptr_equal(d, (char *)0x1);

	/* a FIFO is refused without blocking in open() (alarm: a hang guard) */
	assert_int_equal(mkfifoat(t->fd, "fifo", 0644), 0);
	signal(SIGALRM, on_alarm);
	alarm(30);
	assert_int_equal(sp_read_file_at(&d, NULL, t->fd, "fifo", 7, &err), SP_EINVALID);
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_ptr_equal(d, (char *)0x1);

	/* a symlink to a directory is refused too */
	assert_int_equal(symlinkat("dir", t->fd, "dirlink"), 0);
	assert_int_equal(sp_read_file_at(&d, NULL, t->fd, "dirlink", 7, &err), SP_EINVALID);
}

/* ------------------------------------------------------------- mkdir -p */

static void test_mkdir_p(void **state)
{
	tmpdir *t = *state;
	sp_error err = {0};
	assert_int_equal(sp_mkdir_p_at(t->fd, "a/b/c", 0755, &err), 0);
	struct stat st;
	assert_int_equal(fstatat(t->fd, "a/b/c", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* idempotent, and a trailing slash is fine */
	assert_int_equal(sp_mkdir_p_at(t->fd, "a/b/c", 0755, &err), 0);
	assert_int_equal(sp_mkdir_p_at(t->fd, "a/b/d/", 0755, &err), 0);
	assert_int_equal(fstatat(t->fd, "a/b/d", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(sp_mkdir_p_at(t->fd, "single", 0700, &err), 0);
	assert_int_equal(fstatat(t->fd, "single", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
}

static void test_mkdir_p_refuses(void **state)
{
	tmpdir *t = *state;
	sp_error err = {0};
	tmpdir_put(t->fd, "file", "x", 1, 0644);
	assert_int_equal(sp_mkdir_p_at(t->fd, "file/sub", 0755, &err), SP_EINVALID);
	assert_non_null(strstr(err.msg, "not a directory"));
	/* a symlink to a directory is not a directory component */
	assert_int_equal(mkdirat(t->fd, "real", 0755), 0);
	assert_int_equal(symlinkat("real", t->fd, "link"), 0);
	assert_int_equal(sp_mkdir_p_at(t->fd, "link/sub", 0755, &err), SP_EINVALID);
	assert_non_null(strstr(err.msg, "link"));
	assert_int_equal(tmpdir_count(t->fd, "real"), 0); /* nothing created through it */
	assert_int_equal(sp_mkdir_p_at(t->fd, "link", 0755, &err), SP_EINVALID);
	/* a failing mkdir is reported with errno */
	assert_int_equal(sp_sys_fault_set("mkdir:2:ENOSPC", &err), 0);
	assert_int_equal(sp_mkdir_p_at(t->fd, "x/y/z", 0755, &err), SP_EIO);
	sp_sys_fault_reset();
	assert_int_equal(err.sys_errno, ENOSPC);
	assert_non_null(strstr(err.msg, "mkdir x/y"));
}

static void test_open_dir_at(void **state)
{
	tmpdir *t = *state;
	sp_error err = {0};
	assert_int_equal(mkdirat(t->fd, "d", 0755), 0);
	assert_int_equal(symlinkat("d", t->fd, "l"), 0);
	tmpdir_put(t->fd, "f", "x", 1, 0644);
	int fd = -1;
	assert_int_equal(sp_open_dir_at(&fd, t->fd, "d", &err), 0);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	fd = -1;
	assert_int_equal(sp_open_dir_at(&fd, t->fd, "l", &err), SP_EINVALID);
	assert_int_equal(sp_open_dir_at(&fd, t->fd, "f", &err), SP_EINVALID);
	assert_int_equal(sp_open_dir_at(&fd, t->fd, "none", &err), SP_ENOTFOUND);
	assert_int_equal(fd, -1);
}

/* ---------------------------------------------------------------- rm -rf */

static void make_tree(int dfd)
{
	assert_int_equal(mkdirat(dfd, "tree", 0755), 0);
	assert_int_equal(mkdirat(dfd, "tree/a", 0755), 0);
	assert_int_equal(mkdirat(dfd, "tree/a/b", 0755), 0);
	tmpdir_put(dfd, "tree/a/b/f", "x", 1, 0444);
	tmpdir_put(dfd, "tree/a/g", "y", 1, 0444);
	tmpdir_put(dfd, "tree/top", "z", 1, 0600);
	assert_int_equal(mkdirat(dfd, "tree/empty", 0755), 0);
	/* read-only directories, innermost first */
	assert_int_equal(fchmodat(dfd, "tree/a/b", 0555, 0), 0);
	assert_int_equal(fchmodat(dfd, "tree/a", 0500, 0), 0);
	assert_int_equal(fchmodat(dfd, "tree/empty", 0555, 0), 0);
	assert_int_equal(fchmodat(dfd, "tree", 0555, 0), 0);
}

static void chown_tree(int dfd, const char *path, uid_t uid)
{
	assert_int_equal(fchownat(dfd, path, uid, uid, AT_SYMLINK_NOFOLLOW), 0);
	struct stat st;
	assert_int_equal(fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW), 0);
	if (!S_ISDIR(st.st_mode))
		return;
	int fd = openat(dfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	assert_true(fd >= 0);
	DIR *d = fdopendir(fd);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			chown_tree(fd, de->d_name, uid);
	closedir(d);
}

static void test_rm_rf_read_only_dirs(void **state)
{
	tmpdir *t = *state;
	sp_error err = {0};
	/* Outside the tree: must survive a symlink pointing at it. */
	assert_int_equal(mkdirat(t->fd, "outside", 0755), 0);
	tmpdir_put(t->fd, "outside/keep", "k", 1, 0644);
	make_tree(t->fd);
	assert_int_equal(fchmodat(t->fd, "tree", 0755, 0), 0);
	assert_int_equal(symlinkat("../outside", t->fd, "tree/link"), 0);
	assert_int_equal(fchmodat(t->fd, "tree", 0555, 0), 0);

	if (geteuid() == 0) {
		/* root ignores permissions; run the removal as nobody so the
		 * read-only directories really are read-only. */
		chown_tree(t->fd, "tree", 65534);
		assert_int_equal(fchownat(t->fd, ".", 65534, 65534, 0), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			if (setgid(65534) < 0 || setuid(65534) < 0)
				_exit(99);
			sp_error e = {0};
			_exit(sp_rm_rf_at(t->fd, "tree", &e) == 0 ? 0 : 1);
		}
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	} else {
		assert_int_equal(sp_rm_rf_at(t->fd, "tree", &err), 0);
	}
	struct stat st;
	assert_int_equal(fstatat(t->fd, "tree", &st, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(fstatat(t->fd, "outside/keep", &st, AT_SYMLINK_NOFOLLOW), 0);
	/* removing what is not there is fine; so is a plain file or a symlink */
	assert_int_equal(sp_rm_rf_at(t->fd, "tree", &err), 0);
	assert_int_equal(symlinkat("outside", t->fd, "l2"), 0);
	assert_int_equal(sp_rm_rf_at(t->fd, "l2", &err), 0);
	assert_int_equal(fstatat(t->fd, "outside/keep", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(tmpdir_count(t->fd, "."), 1);
}

/* ------------------------------------------------------------ the rest */

static void test_write_all_and_random_name(void **state)
{
	tmpdir *t = *state;
	sp_error err = {0};
	int fd = openat(t->fd, "w", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(sp_write_all(fd, "hello", 5, &err), 0);
	assert_int_equal(sp_sys_fault_set("write:1:ENOSPC", &err), 0);
	assert_int_equal(sp_write_all(fd, "more", 4, &err), SP_EIO);
	sp_sys_fault_reset();
	assert_int_equal(err.sys_errno, ENOSPC);
	close(fd);
	size_t len;
	char *d = read_all(t->fd, "w", &len);
	assert_string_equal(d, "hello");
	free(d);

	char a[33], b[33], odd[8];
	sp_random_name(a, 32);
	sp_random_name(b, 32);
	assert_int_equal(strlen(a), 32);
	assert_true(sp_digest_is_hex(a, 32));
	assert_string_not_equal(a, b);
	sp_random_name(odd, 7);
	assert_int_equal(strlen(odd), 7);
	assert_true(sp_digest_is_hex(odd, 7));
}

static void test_expand_home(void **state)
{
	const char *old = getenv("HOME");
	char *saved = old ? strdup(old) : NULL;
	setenv("HOME", "/home/someone", 1);
	char *p = sp_expand_home("~/x/y");
	assert_string_equal(p, "/home/someone/x/y");
	free(p);
	p = sp_expand_home("/abs/~/x");
	assert_string_equal(p, "/abs/~/x");
	free(p);
	p = sp_expand_home("~user/x");
	assert_string_equal(p, "~user/x");
	free(p);
	unsetenv("HOME");
	p = sp_expand_home("~/x");
	assert_string_equal(p, "~/x");
	free(p);
	if (saved) {
		setenv("HOME", saved, 1);
		free(saved);
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, tmpdir_setup, tmpdir_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_atomic_write_creates_and_replaces),
	    T(test_atomic_write_replaces_symlink_not_target),
	    T(test_atomic_write_failure_keeps_old_and_cleans_up),
	    T(test_atomic_write_dir_fsync_failure_reported),
	    T(test_read_file_basic),
	    T(test_read_file_refuses),
	    T(test_mkdir_p),
	    T(test_mkdir_p_refuses),
	    T(test_open_dir_at),
	    T(test_rm_rf_read_only_dirs),
	    T(test_write_all_and_random_name),
	    cmocka_unit_test(test_expand_home),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
