/* ns.h - the namespace steps shared by every place that makes one: the
 * runtime (runtime_mount.c), the setcap helper (enter.c) and build
 * confinement (confine.c). Links libc and the error chain only, so the
 * helper can use it. Internal to spfs/ and cli/spfs_enter.c. */
#ifndef SPAWN_SPFS_NS_H
#define SPAWN_SPFS_NS_H

#include "common/common.h"

#include <sys/types.h>

/* Writes text into /proc/<pid>/<name> (pid 0: /proc/self/<name>), whole
 * or an error. */
int spfs_ns__write_proc(pid_t pid, const char *name, const char *text, sp_error *err);
/* Maps uid and gid onto themselves, and nothing else, in the user
 * namespace of pid (0: our own, just made): setgroups "deny", uid_map,
 * gid_map, in the order the kernel requires. */
int spfs_ns__map_ids(pid_t pid, uid_t uid, gid_t gid, sp_error *err);
/* Makes every mount a slave of the host's (MS_REC|MS_SLAVE on "/"): call
 * it at once after unshare(CLONE_NEWNS), so nothing mounted afterwards
 * propagates back (slave, not private: host mounts made later still show
 * up). */
int spfs_ns__slave_root(sp_error *err);
/* True when p is an absolute path below "/" with no empty, "." or ".."
 * component and no newline, shorter than PATH_MAX: the only kind of path
 * a mount plan takes. */
bool spfs_ns__path_ok(const char *p);

#endif
