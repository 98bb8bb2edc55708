/* runtime_mount.c - the namespace and mount code of the runtime, and
 * nothing else (STYLE 16).
 *
 * The caller builds a spfs_mount_plan (data only), spfs_mount__check
 * validates all of it, then the process that will exec the command calls,
 * in this order:
 *   1. spfs_mount__enter: unshare(CLONE_NEWNS); make "/" MS_REC|MS_SLAVE
 *      at once, so no mount made afterwards propagates back to the host
 *      (slave, not private: host mounts made later still show up inside);
 *   2. spfs_mount__scratch (editable runtimes): a size-limited tmpfs,
 *      nosuid/nodev/noexec-free (the upper holds programs), mode 0755, with
 *      upper/ and work/ in it;
 *   3. spfs_mount__overlay: the overlay through the new mount API
 *      (fsopen("overlay"), one fsconfig("lowerdir+") per layer, top layer
 *      first, so the count is not capped by the 4 KiB option page),
 *      fsmount with MOUNT_ATTR_NOSUID|NODEV (and RDONLY without an upper),
 *      move_mount onto /spfs. When the kernel lacks fsopen or "lowerdir+",
 *      the classic mount(2) option string is used with '\', ',' and ':'
 *      escaped in every path. A read-only stack of one directory is a
 *      read-only bind mount (overlayfs wants two lowers without an upper).
 * Overlay features that would put metadata the commit code does not read
 * into the upper directory are switched off: redirect_dir (nofollow),
 * metacopy and index (index=off also lets a reset remount reuse an upper that a lazily
 * detached overlay still references).
 *
 * Rootless (the caller is not root): step 1 is spfs_mount__enter_rootless,
 * a user namespace that maps only the caller's own uid and gid (so files
 * keep their owners and the command runs as the caller), the overlay gets
 * "userxattr", and spfs_mount__drop empties the bounding set and sets
 * PR_SET_NO_NEW_PRIVS before the exec, which drops the namespace's
 * capabilities (the command's uid is not 0 in it). Nothing here can reach
 * anything the caller could not already read: every path is opened with
 * the caller's own credentials.
 */
#include "runtime_internal.h"
#include "enter.h"
#include "ns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define LEGACY_OPTS_MAX 4095u /* one page, minus the NUL */

int spfs_mount__check(const spfs_mount_plan *p, sp_error *err)
{
	if (!p->target || strcmp(p->target, SPFS_RUNTIME_MOUNTPOINT) != 0)
		return sp_error_set(err, SP_EINVALID, "the runtime mounts only at %s",
				    SPFS_RUNTIME_MOUNTPOINT);
	if (p->lower_count == 0 || p->lower_count > SPFS_RUNTIME_MAX_LOWERS)
		return sp_error_set(err, SP_EINVALID, "%zu lower directories (1 to %u allowed)",
				    p->lower_count, SPFS_RUNTIME_MAX_LOWERS);
	for (size_t i = 0; i < p->lower_count; i++)
		if (!p->lowers[i] || !spfs_ns__path_ok(p->lowers[i]))
			return sp_error_set(err, SP_EINVALID,
					    "lower directory %zu is not a clean absolute path", i);
	if (!p->upper != !p->work)
		return sp_error_set(err, SP_EINVALID, "an upper directory needs a work directory");
	if (p->upper && (!spfs_ns__path_ok(p->upper) || !spfs_ns__path_ok(p->work)))
		return sp_error_set(err, SP_EINVALID,
				    "upper or work directory is not a clean absolute path");
	if (p->scratch) {
		if (!spfs_ns__path_ok(p->scratch))
			return sp_error_set(err, SP_EINVALID,
					    "scratch directory is not a clean absolute path");
		if (!p->tmpfs_size || !spfs_enter__size_ok(p->tmpfs_size))
			return sp_error_set(err, SP_EINVALID,
					    "tmpfs size '%s' is not N, N[kmg] or N%%",
					    p->tmpfs_size ? p->tmpfs_size : "");
	}
	return 0;
}

int spfs_mount__enter(sp_error *err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return sp_error_errno(err, "unshare(CLONE_NEWNS)");
	return spfs_ns__slave_root(err);
}

int spfs_mount__enter_rootless(uid_t uid, gid_t gid, sp_error *err)
{
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return sp_error_errno(
		    err, "unshare(CLONE_NEWUSER|CLONE_NEWNS) (are unprivileged user namespaces "
			 "disabled? then spfs run needs root)");
	int rc = spfs_ns__map_ids(0, uid, gid, err);
	return rc ? rc : spfs_ns__slave_root(err);
}

int spfs_mount__drop(sp_error *err)
{
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return sp_error_errno(err, "PR_CAPBSET_DROP %d", cap);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return sp_error_errno(err, "PR_SET_NO_NEW_PRIVS");
	return 0;
}

int spfs_mount__scratch(const spfs_mount_plan *p, sp_error *err)
{
	char opts[64];
	snprintf(opts, sizeof(opts), "size=%s,mode=0755", p->tmpfs_size);
	if (mount("spfs-runtime", p->scratch, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return sp_error_errno(err, "cannot mount a tmpfs (%s) at %s", opts, p->scratch);
	if (p->upper) {
		if (mkdir(p->upper, 0755) < 0 && errno != EEXIST)
			return sp_error_errno(err, "mkdir %s", p->upper);
		if (mkdir(p->work, 0700) < 0 && errno != EEXIST)
			return sp_error_errno(err, "mkdir %s", p->work);
	}
	return 0;
}

/* fsconfig's message log: "e overlay: ..." lines read from the context. */

static int fs_fail(int fsfd, sp_error *err, const char *what, const char *arg)
{
	int saved = errno;
	char log[600];
	spfs_enter__fs_log(fsfd, log, sizeof(log));
	errno = saved;
	if (log[0])
		return sp_error_errno(err, "overlay %s %s (%s)", what, arg ? arg : "", log);
	return sp_error_errno(err, "overlay %s %s", what, arg ? arg : "");
}

typedef enum { NEW_API_OK, NEW_API_UNSUPPORTED, NEW_API_FAILED } new_api_rc;

/* SPFS_RUNTIME_MOUNT_API=legacy forces the mount(2) path (tests). */
static bool legacy_forced(void)
{
	const char *v = getenv("SPFS_RUNTIME_MOUNT_API");
	return v && strcmp(v, "legacy") == 0;
}

/* The overlay as a detached mount; *out gets its fd. */
static new_api_rc overlay_new_api(int *out, const spfs_mount_plan *p, sp_error *err)
{
	if (legacy_forced())
		return NEW_API_UNSUPPORTED;
	_cleanup_close_ int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fsfd < 0) {
		if (errno == ENOSYS || errno == ENODEV || errno == EPERM)
			return errno == EPERM
				   ? (sp_error_errno(err, "fsopen(overlay)"), NEW_API_FAILED)
				   : NEW_API_UNSUPPORTED;
		sp_error_errno(err, "fsopen(overlay)");
		return NEW_API_FAILED;
	}
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "spfs", 0) < 0) {
		fs_fail(fsfd, err, "source", NULL);
		return NEW_API_FAILED;
	}
	/* redirect_dir "nofollow", not "off": with ALWAYS_FOLLOW kernels "off"
	 * means "follow", which "userxattr" refuses */
	static const char *const off[][2] = {
	    {"redirect_dir", "nofollow"}, {"metacopy", "off"}, {"index", "off"}};
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++)
		if (fsconfig(fsfd, FSCONFIG_SET_STRING, off[i][0], off[i][1], 0) < 0 &&
		    errno != EINVAL) {
			fs_fail(fsfd, err, off[i][0], off[i][1]);
			return NEW_API_FAILED;
		}
	if (p->rootless && fsconfig(fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0) {
		fs_fail(fsfd, err, "userxattr", NULL);
		return NEW_API_FAILED;
	}
	/* "lowerdir+" appends below what is there: the top layer comes first. */
	for (size_t i = p->lower_count; i-- > 0;) {
		if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", p->lowers[i], 0) < 0) {
			if (errno == EINVAL && i == p->lower_count - 1) {
				char log[200];
				spfs_enter__fs_log(fsfd, log, sizeof(log));
				if (strstr(log, "nknown parameter"))
					return NEW_API_UNSUPPORTED;
				errno = EINVAL;
				sp_error_errno(err, "overlay lowerdir+ %s (%s)", p->lowers[i], log);
				return NEW_API_FAILED;
			}
			fs_fail(fsfd, err, "lowerdir+", p->lowers[i]);
			return NEW_API_FAILED;
		}
	}
	if (p->upper) {
		if (fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", p->upper, 0) < 0) {
			fs_fail(fsfd, err, "upperdir", p->upper);
			return NEW_API_FAILED;
		}
		if (fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", p->work, 0) < 0) {
			fs_fail(fsfd, err, "workdir", p->work);
			return NEW_API_FAILED;
		}
	}
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		fs_fail(fsfd, err, "create", NULL);
		return NEW_API_FAILED;
	}
	unsigned attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (p->upper ? 0 : MOUNT_ATTR_RDONLY);
	int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, attr);
	if (mfd < 0) {
		fs_fail(fsfd, err, "fsmount", NULL);
		return NEW_API_FAILED;
	}
	*out = mfd;
	return NEW_API_OK;
}

/* Appends s to the option string with '\', ',' and ':' escaped. */
static bool opt_append(char *buf, size_t *len, size_t cap, const char *s, bool escape)
{
	for (; *s; s++) {
		bool esc = escape && (*s == '\\' || *s == ',' || *s == ':');
		if (*len + (esc ? 2 : 1) >= cap)
			return false;
		if (esc)
			buf[(*len)++] = '\\';
		buf[(*len)++] = *s;
	}
	buf[*len] = '\0';
	return true;
}

/* Builds the classic option string; false when it does not fit. */
static bool legacy_opts(char *buf, size_t cap, size_t *len_out, const spfs_mount_plan *p)
{
	size_t len = 0;
	bool ok = opt_append(buf, &len, cap, p->rootless ? "userxattr," : "", false) &&
		  opt_append(buf, &len, cap,
			     "redirect_dir=nofollow,metacopy=off,index=off,lowerdir=", false);
	for (size_t i = p->lower_count; ok && i-- > 0;) {
		ok = opt_append(buf, &len, cap, p->lowers[i], true);
		if (ok && i > 0)
			ok = opt_append(buf, &len, cap, ":", false);
	}
	if (ok && p->upper)
		ok = opt_append(buf, &len, cap, ",upperdir=", false) &&
		     opt_append(buf, &len, cap, p->upper, true) &&
		     opt_append(buf, &len, cap, ",workdir=", false) &&
		     opt_append(buf, &len, cap, p->work, true);
	if (len_out)
		*len_out = len;
	return ok;
}

size_t spfs_mount__legacy_len(const spfs_mount_plan *p)
{
	size_t len = strlen("redirect_dir=nofollow,metacopy=off,index=off,lowerdir=") +
		     (p->rootless ? strlen("userxattr,") : 0);
	for (size_t i = 0; i < p->lower_count; i++) {
		len += strlen(p->lowers[i]) + 1;
		for (const char *c = p->lowers[i]; *c; c++)
			len += (*c == '\\' || *c == ',' || *c == ':');
	}
	if (p->upper)
		len += 2 * strlen(p->upper) + strlen(p->work) + 20;
	return len;
}

bool spfs_mount__has_lowerdir_plus(void)
{
	if (legacy_forced())
		return false;
	_cleanup_close_ int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return false;
	return fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", "/", 0) == 0;
}

bool spfs_mount__is_mountpoint(const char *path)
{
	struct stat st, parent;
	char up[PATH_MAX + 4];
	snprintf(up, sizeof(up), "%s/..", path);
	return stat(path, &st) == 0 && stat(up, &parent) == 0 && st.st_dev != parent.st_dev;
}

static int detach_target(const spfs_mount_plan *p, sp_error *err)
{
	if (umount2(p->target, MNT_DETACH) < 0)
		return sp_error_errno(err, "cannot detach the old %s", p->target);
	return 0;
}

static int bind_readonly(const spfs_mount_plan *p, bool replace, sp_error *err)
{
	_cleanup_close_ int tfd =
	    open_tree(AT_FDCWD, p->lowers[0], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tfd >= 0) {
		struct mount_attr attr = {
		    .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
		};
		if (mount_setattr(tfd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
			return sp_error_errno(err, "cannot make the bind of %s read-only",
					      p->lowers[0]);
		if (replace && detach_target(p, err))
			return err->code;
		if (move_mount(tfd, "", AT_FDCWD, p->target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return sp_error_errno(err, "cannot mount %s at %s", p->lowers[0],
					      p->target);
		return 0;
	}
	if (errno != ENOSYS)
		return sp_error_errno(err, "open_tree %s", p->lowers[0]);
	if (replace && detach_target(p, err))
		return err->code;
	if (mount(p->lowers[0], p->target, NULL, MS_BIND, NULL) < 0)
		return sp_error_errno(err, "cannot bind %s at %s", p->lowers[0], p->target);
	if (mount(NULL, p->target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
		  NULL) < 0)
		return sp_error_errno(err, "cannot make %s read-only", p->target);
	return 0;
}

int spfs_mount__overlay(const spfs_mount_plan *p, bool replace, sp_error *err)
{
	if (!p->upper && p->lower_count == 1)
		return bind_readonly(p, replace, err);
	_cleanup_close_ int mfd = -1;
	new_api_rc nrc = overlay_new_api(&mfd, p, err);
	if (nrc == NEW_API_FAILED)
		return err->code ? err->code : SP_ERROR;
	if (nrc == NEW_API_OK) {
		if (replace && detach_target(p, err))
			return err->code;
		if (move_mount(mfd, "", AT_FDCWD, p->target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return sp_error_errno(err, "cannot move the overlay onto %s", p->target);
		return 0;
	}
	/* The kernel lacks the new API: one option string, one page. */
	char opts[LEGACY_OPTS_MAX + 1];
	size_t len = 0;
	if (!legacy_opts(opts, sizeof(opts), &len, p))
		return sp_error_set(
		    err, SP_EINVALID,
		    "%zu layers do not fit in the %u-byte mount(2) option string and this kernel "
		    "lacks fsconfig(\"lowerdir+\"); lower spfs.runtime.max_layers",
		    p->lower_count, LEGACY_OPTS_MAX);
	if (replace && detach_target(p, err))
		return err->code;
	unsigned long flags = MS_NOSUID | MS_NODEV | (p->upper ? 0 : MS_RDONLY);
	if (mount("spfs", p->target, "overlay", flags, opts) < 0)
		return sp_error_errno(err, "cannot mount the overlay at %s", p->target);
	return 0;
}
