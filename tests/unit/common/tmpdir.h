/* tmpdir.h - per-test temporary directories for the unit tests (cmocka
 * setup/teardown pair). Each test gets a fresh mkdtemp() directory and an
 * open fd on it; teardown removes the whole tree and checks it is gone. */
#ifndef SPAWN_TESTS_TMPDIR_H
#define SPAWN_TESTS_TMPDIR_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

typedef struct tmpdir {
	char path[4096];
	int fd;
} tmpdir;

static inline int tmpdir_setup(void **state)
{
	tmpdir *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	const char *base = getenv("TMPDIR");
	snprintf(t->path, sizeof(t->path), "%s/spawn-unit-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(t->path)) {
		free(t);
		return -1;
	}
	t->fd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->fd < 0) {
		rmdir(t->path);
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static inline int tmpdir_teardown(void **state)
{
	tmpdir *t = *state;
	if (!t)
		return 0;
	sp_sys_fault_reset();
	close(t->fd);
	sp_error err = {0};
	int rc = sp_rm_rf_at(AT_FDCWD, t->path, &err);
	struct stat st;
	bool gone = lstat(t->path, &st) < 0 && errno == ENOENT;
	if (rc || !gone)
		fprintf(stderr, "cannot remove %s: %s\n", t->path, err.msg);
	free(t);
	return rc || !gone ? -1 : 0;
}

/* Writes a small file below dirfd (test fixture, not the code under test). */
static inline void tmpdir_put(int dirfd, const char *name, const void *data, size_t n, mode_t mode)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || (n && write(fd, data, n) != (ssize_t)n)) {
		fprintf(stderr, "fixture %s: %s\n", name, strerror(errno));
		abort();
	}
	close(fd);
}

/* Counts directory entries other than . and .. */
static inline int tmpdir_count(int dirfd, const char *path)
{
	int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

#endif
