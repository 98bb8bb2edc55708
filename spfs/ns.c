/* ns.c - the namespace steps every runtime, the helper and build
 * confinement share (ns.h). No allocation, libc only. */
#include "ns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

int spfs_ns__write_proc(pid_t pid, const char *name, const char *text, sp_error *err)
{
	char path[64];
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	else
		snprintf(path, sizeof(path), "/proc/self/%s", name);
	int fd = openat(AT_FDCWD, path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sp_error_errno(err, "open %s", path);
	size_t n = strlen(text);
	ssize_t w = write(fd, text, n);
	int e = errno;
	close(fd);
	if (w == (ssize_t)n)
		return 0;
	errno = w < 0 ? e : EIO;
	return sp_error_errno(err, "write %s", path);
}

int spfs_ns__map_ids(pid_t pid, uid_t uid, gid_t gid, sp_error *err)
{
	char map[64];
	int rc = spfs_ns__write_proc(pid, "setgroups", "deny", err);
	if (rc)
		return rc;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if ((rc = spfs_ns__write_proc(pid, "uid_map", map, err)))
		return rc;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	return spfs_ns__write_proc(pid, "gid_map", map, err);
}

int spfs_ns__slave_root(sp_error *err)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return sp_error_errno(err, "cannot make / a slave mount");
	return 0;
}

bool spfs_ns__path_ok(const char *p)
{
	size_t len = strlen(p);
	if (len < 2 || len >= PATH_MAX || p[0] != '/' || strchr(p, '\n'))
		return false;
	for (const char *c = p + 1;;) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (!slash)
			return true;
		c = slash + 1;
	}
}
