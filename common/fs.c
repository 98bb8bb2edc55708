/* fs.c - *at() helpers and atomic whole-file writes. */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int sp_write_all(int fd, const void *buf, size_t n, sp_error *err)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = sp_sys_write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return sp_error_errno(err, "write");
		}
		if (w == 0)
			return sp_error_set(err, SP_EIO, "write: wrote nothing");
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int sp_read_file_at(char **out, size_t *len, int dirfd, const char *path, size_t max, sp_error *err)
{
	/* O_NONBLOCK: opening a FIFO must not hang; it is refused below */
	_cleanup_close_ int fd =
	    openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			return sp_error_set(err, SP_EINVALID, "%s: is a symbolic link", path);
		return sp_error_errno(err, "open %s", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return sp_error_errno(err, "stat %s", path);
	if (!S_ISREG(st.st_mode))
		return sp_error_set(err, SP_EINVALID, "%s: not a regular file", path);
	if ((uint64_t)st.st_size > max)
		return sp_error_set(err, SP_EINVALID, "%s: %lld bytes, more than the limit of %zu",
				    path, (long long)st.st_size, max);
	sp_buf b = {.max = max + 1};
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			sp_buf_free(&b);
			return sp_error_errno(err, "read %s", path);
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			sp_buf_free(&b);
			return sp_error_set(err, SP_EINVALID,
					    "%s: larger than the limit of %zu bytes", path, max);
		}
		int rc = sp_buf_append(&b, chunk, (size_t)n, err);
		if (rc) {
			sp_buf_free(&b);
			return rc;
		}
	}
	if (!b.data) {
		b.data = calloc(1, 1);
		if (!b.data)
			return sp_error_set(err, SP_ENOMEM, "out of memory");
	}
	*out = b.data;
	if (len)
		*len = b.len;
	return 0;
}

int sp_open_dir_at(int *out_fd, int dirfd, const char *path, sp_error *err)
{
	int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			return sp_error_set(err, SP_EINVALID,
					    "%s: not a directory (or a symbolic link)", path);
		return sp_error_errno(err, "open directory %s", path);
	}
	*out_fd = fd;
	return 0;
}

int sp_mkdir_p_at(int dirfd, const char *path, mode_t mode, sp_error *err)
{
	size_t len = strlen(path);
	_cleanup_free_ char *copy = malloc(len + 1);
	if (!copy)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	memcpy(copy, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (copy[i] != '/' && copy[i] != '\0')
			continue;
		char saved = copy[i];
		copy[i] = '\0';
		if (sp_sys_mkdirat(dirfd, copy, mode) < 0 && errno != EEXIST)
			return sp_error_errno(err, "mkdir %s", copy);
		struct stat st;
		if (fstatat(dirfd, copy, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return sp_error_errno(err, "stat %s", copy);
		if (!S_ISDIR(st.st_mode))
			return sp_error_set(err, SP_EINVALID, "%s: exists and is not a directory",
					    copy);
		copy[i] = saved;
	}
	return 0;
}

int sp_mark_pristine(int fd, sp_error *err)
{
	const struct timespec epoch[2] = {{0, 0}, {0, 0}};
	if (futimens(fd, epoch) < 0)
		return sp_error_errno(err, "cannot set the timestamp of a payload");
	return 0;
}

void sp_random_name(char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[64];
	size_t need = (len + 1) / 2;
	if (need > sizeof(raw))
		need = sizeof(raw);
	if (getrandom(raw, need, 0) != (ssize_t)need) {
		/* getrandom on Linux >= 3.17 does not fail for small sizes; fall
		 * back to something unique per process anyway. */
		for (size_t i = 0; i < need; i++)
			raw[i] = (unsigned char)((uintptr_t)out >> (i % 8) ^ (unsigned)getpid() ^
						 i * 131u);
	}
	for (size_t i = 0; i < len && i / 2 < need; i++)
		out[i] = hex[(raw[i / 2] >> ((i & 1) ? 0 : 4)) & 0xf];
	out[len] = '\0';
}

int sp_atomic_write_at(int dirfd, const char *name, const void *data, size_t n, mode_t mode,
		       sp_error *err)
{
	char tmp[64];
	char rnd[17];
	sp_random_name(rnd, 16);
	snprintf(tmp, sizeof(tmp), ".tmp-%s", rnd);
	_cleanup_close_ int fd =
	    sp_sys_openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return sp_error_errno(err, "create temporary file for %s", name);
	int rc = sp_write_all(fd, data, n, err);
	if (rc)
		goto fail;
	if (fchmod(fd, mode) < 0) {
		rc = sp_error_errno(err, "chmod");
		goto fail;
	}
	if (sp_sys_fsync(fd) < 0) {
		rc = sp_error_errno(err, "fsync");
		goto fail;
	}
	if (sp_sys_renameat(dirfd, tmp, dirfd, name, 0) < 0) {
		rc = sp_error_errno(err, "rename into place");
		goto fail;
	}
	if (sp_sys_fsync(dirfd) < 0)
		return sp_error_errno(err, "fsync directory of %s", name);
	return 0;
fail:
	unlinkat(dirfd, tmp, 0);
	return sp_error_prefix(err, "cannot write %s", name);
}

int sp_rm_rf_at(int dirfd, const char *name, sp_error *err)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return sp_error_errno(err, "remove %s", name);
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && fchmodat(dirfd, name, 0700, 0) == 0)
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sp_error_errno(err, "open %s", name);
	/* Directories in renders are read-only; make them writable to empty them. */
	fchmod(fd, 0700);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return sp_error_errno(err, "read directory %s", name);
	}
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((rc = sp_rm_rf_at(fd, de->d_name, err)))
			break;
	}
	closedir(d);
	if (rc)
		return sp_error_prefix(err, "%s", name);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return sp_error_errno(err, "remove directory %s", name);
	return 0;
}

char *sp_expand_home(const char *path)
{
	if (path[0] == '~' && path[1] == '/') {
		const char *home = getenv("HOME");
		if (home && *home) {
			size_t n = strlen(home) + strlen(path);
			char *out = malloc(n);
			if (out)
				snprintf(out, n, "%s%s", home, path + 1);
			return out;
		}
	}
	return strdup(path);
}
