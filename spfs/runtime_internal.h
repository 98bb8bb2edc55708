/* runtime_internal.h - shared between spfs/runtime*.c (and the one call
 * from clean.c). */
#ifndef SPAWN_SPFS_RUNTIME_INTERNAL_H
#define SPAWN_SPFS_RUNTIME_INTERNAL_H

#include "store_internal.h"

#include <signal.h>

/* ------------------------------------------------------- mount plan */

/* Everything the namespace code needs, as data: checked whole by
 * spfs_mount__check before anything is mounted. Paths are absolute. */
typedef struct spfs_mount_plan {
	const char **lowers;	/* bottom first; borrowed strings */
	size_t lower_count;	/* >= 1 */
	const char *upper;	/* NULL: read-only */
	const char *work;	/* with upper */
	const char *scratch;	/* tmpfs mountpoint holding upper/work, or NULL */
	const char *tmpfs_size; /* with scratch: "N", "N[kmg]" or "N%" */
	const char *target;	/* SPFS_RUNTIME_MOUNTPOINT */
	bool rootless;		/* in a user namespace: overlay "userxattr" */
} spfs_mount_plan;

/* Validates the plan: absolute paths without newlines or "..", bounded
 * lengths and counts, a sane tmpfs size, the fixed target. */
int spfs_mount__check(const spfs_mount_plan *p, sp_error *err);
/* unshare(CLONE_NEWNS) and make every mount a slave (nothing propagates
 * back to the host). */
int spfs_mount__enter(sp_error *err);
/* Rootless: a new user namespace mapping only the caller's uid and gid to
 * themselves (setgroups denied), then a new mount namespace as above. */
int spfs_mount__enter_rootless(uid_t uid, gid_t gid, sp_error *err);
/* Rootless, after mounting: empty the bounding set and set
 * PR_SET_NO_NEW_PRIVS; exec then leaves the command no capability. */
int spfs_mount__drop(sp_error *err);
/* Mounts the scratch tmpfs (nosuid, nodev) and creates upper/ and work/
 * in it. */
int spfs_mount__scratch(const spfs_mount_plan *p, sp_error *err);
/* Mounts the overlay (or a read-only bind of a single lower) at target.
 * With `replace`, the mount already at target is detached first (the new
 * one is fully built before that). */
int spfs_mount__overlay(const spfs_mount_plan *p, bool replace, sp_error *err);
/* True when the kernel takes overlay layers through fsconfig("lowerdir+"). */
bool spfs_mount__has_lowerdir_plus(void);
/* Bytes the classic mount(2) option string would need. */
size_t spfs_mount__legacy_len(const spfs_mount_plan *p);
/* Sorted names in dirfd that pass `keep`; free with
 * spfs_runtime__free_names (each name and the array are the caller's). */
int spfs_runtime__list_names(char ***out, size_t *count, int dirfd, bool (*keep)(const char *),
			     sp_error *err);
void spfs_runtime__free_names(char **names, size_t n);
/* True when path is a mountpoint (its device differs from its parent's). */
bool spfs_mount__is_mountpoint(const char *path);

/* --------------------------------------------------------- records */

/* Opens (creating) STORE/runtimes. Borrowed fd in *out is owned by caller. */
int spfs_runtime__dir(int *out, spfs_store *s, sp_error *err);
/* Path of a lower directory (caller frees). */
int spfs_runtime__lower_path(char **out, spfs_store *s, const spfs_runtime_lower *l, sp_error *err);
/* Writes rt's record (temp + rename; not fsynced: a record is only
 * meaningful while its processes live). */
int spfs_runtime__write(spfs_store *s, const spfs_runtime *rt, sp_error *err);
/* Removes runtimes/<id> and runtimes/<id>.scratch. */
int spfs_runtime__remove_files(int rdir, const char *id, sp_error *err);
/* Parses a record (fuzzable). */
int spfs_runtime__parse(spfs_runtime **out, const char *data, size_t n, sp_error *err);
/* Start time of pid in clock ticks; false when the process is gone. */
bool spfs_runtime__proc_start(int pid, uint64_t *ticks);
/* True when the record's process is alive (same pid, same start time). */
bool spfs_runtime__alive(const spfs_runtime *rt);
/* Marks everything live and durable runtimes use (called by spfs_clean
 * under the exclusive lock). */
int spfs_runtime__mark_live(spfs_store *s, spfs_dset *set, sp_error *err);
/* Mount plan of a record (lowers as paths); strings owned by *paths_out. */
int spfs_runtime__plan(spfs_mount_plan *p, char ***paths_out, spfs_store *s, const spfs_runtime *rt,
		       sp_error *err);
void spfs_runtime__free_paths(char **paths, size_t n);
/* Checks and returns the tmpfs size from $SPFS_RUNTIME_TMPFS_SIZE, else
 * spfs.runtime.tmpfs_size in the config, else the default (caller frees). */
int spfs_runtime__tmpfs_size(char **out, sp_error *err);
/* True when name is a valid durable runtime name. */
bool spfs_runtime__name_valid(const char *name);

/* ------------------------------------------- non-root: the helper
 * (runtime_enter.c) */

/* For a caller who is not root: *out gets the path of the setcap helper
 * spfs-enter to use (caller frees), or NULL for rootless mode, by
 * $SPFS_RUNTIME_MODE / spfs.runtime.mode (auto|helper|rootless). */
int spfs_runtime__helper(char **out, sp_error *err);
/* True when path is a helper this process can use; else why says why. */
bool spfs_runtime__helper_usable(const char *path, char *why, size_t n);
/* In the forked child: execs the helper for rt (status pipe as fd 3). */
_Noreturn void spfs_runtime__exec_helper(int status_fd, const sigset_t *oldmask, const char *helper,
					 const spfs_runtime *rt, spfs_store *s,
					 const spfs_mount_plan *plan, char *const *argv,
					 const spfs_run_opts *o);

#endif
