/* sys.c - the syscall layer with fault injection (see common.h).
 *
 * Counters are global and atomic so faults fire deterministically even when
 * the thread pool issues the calls. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OP_WRITE, OP_FSYNC, OP_SYNCFS, OP_RENAME, OP_LINK, OP_OPEN, OP_MKDIR, OP_COUNT };
static const char *const op_names[OP_COUNT] = {
    "write", "fsync", "syncfs", "rename", "link", "open", "mkdir",
};

/* "OP:N:KILL" kills the process with SIGKILL at that call: a crash at an
 * exact point, for the crash-safety tests. */
#define FAULT_KILL (-1)

static atomic_long counters[OP_COUNT];
static long fail_at[OP_COUNT]; /* 0 = never */
static int fail_errno[OP_COUNT];
static atomic_int env_loaded;

static int errno_from_name(const char *s)
{
	static const struct {
		const char *name;
		int e;
	} names[] = {
	    {"EIO", EIO},	{"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT},
	    {"EROFS", EROFS},	{"EACCES", EACCES}, {"EPERM", EPERM},
	    {"ENOMEM", ENOMEM}, {"EMLINK", EMLINK}, {"EXDEV", EXDEV},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].e;
	if (strcmp(s, "KILL") == 0)
		return FAULT_KILL;
	return 0;
}

int sp_sys_fault_set(const char *spec, sp_error *err)
{
	char buf[256];
	if (strlen(spec) >= sizeof(buf))
		return sp_error_set(err, SP_EINVALID, "fault spec too long");
	memcpy(buf, spec, strlen(spec) + 1);
	/* Parse the whole spec before arming anything: a bad item arms nothing. */
	long at[OP_COUNT];
	int en[OP_COUNT];
	memcpy(at, fail_at, sizeof(at));
	memcpy(en, fail_errno, sizeof(en));
	char *save = NULL;
	for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *c1 = strchr(item, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c1 || !c2)
			return sp_error_set(err, SP_EINVALID, "fault '%s': expected OP:N:ERRNO",
					    item);
		*c1 = *c2 = '\0';
		int op = -1;
		for (int i = 0; i < OP_COUNT; i++)
			if (strcmp(item, op_names[i]) == 0)
				op = i;
		char *end = NULL;
		long n = strtol(c1 + 1, &end, 10);
		int e = errno_from_name(c2 + 1);
		if (op < 0 || !end || *end || n <= 0 || !e)
			return sp_error_set(err, SP_EINVALID, "fault '%s:%s:%s' is not valid", item,
					    c1 + 1, c2 + 1);
		at[op] = n;
		en[op] = e;
	}
	memcpy(fail_at, at, sizeof(at));
	memcpy(fail_errno, en, sizeof(en));
	return 0;
}

void sp_sys_fault_reset(void)
{
	for (int i = 0; i < OP_COUNT; i++) {
		fail_at[i] = 0;
		atomic_store(&counters[i], 0);
	}
	atomic_store(&env_loaded, 1);
}

static void load_env(void)
{
	int expected = 0;
	if (!atomic_compare_exchange_strong(&env_loaded, &expected, 1))
		return;
	const char *spec = getenv("SPAWN_FAULT");
	if (spec && *spec) {
		sp_error err = {0};
		if (sp_sys_fault_set(spec, &err))
			fprintf(stderr, "warning: SPAWN_FAULT ignored: %s\n", err.msg);
	}
}

/* True when this call of `op` must fail; errno is then set. */
static bool inject(int op)
{
	load_env();
	if (!fail_at[op])
		return false;
	long n = atomic_fetch_add(&counters[op], 1) + 1;
	if (n != fail_at[op])
		return false;
	if (fail_errno[op] == FAULT_KILL)
		raise(SIGKILL);
	errno = fail_errno[op];
	return true;
}

ssize_t sp_sys_write(int fd, const void *buf, size_t n)
{
	if (inject(OP_WRITE))
		return -1;
	return write(fd, buf, n);
}

int sp_sys_fsync(int fd)
{
	if (inject(OP_FSYNC))
		return -1;
	return fsync(fd);
}

int sp_sys_syncfs(int fd)
{
	if (inject(OP_SYNCFS))
		return -1;
	return syncfs(fd);
}

int sp_sys_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
		    unsigned int flags)
{
	if (inject(OP_RENAME))
		return -1;
	return renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}

int sp_sys_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
	if (inject(OP_LINK))
		return -1;
	return linkat(olddirfd, oldpath, newdirfd, newpath, flags);
}

int sp_sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	if (inject(OP_OPEN))
		return -1;
	return openat(dirfd, path, flags, mode);
}

int sp_sys_mkdirat(int dirfd, const char *path, mode_t mode)
{
	if (inject(OP_MKDIR))
		return -1;
	return mkdirat(dirfd, path, mode);
}
