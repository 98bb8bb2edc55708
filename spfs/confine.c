/* confine.c - build and source-script confinement (spfs_confine in
 * spfs.h): the same namespace steps as a runtime (ns.c, runtime_mount.c),
 * then every mount made read-only but the package's /spfs, the kernel's
 * file systems and the one directory the caller keeps.
 *
 * Order: the plan (keep) is checked first; unshare(CLONE_NEWNS) (or, for
 * a caller who may not, a user namespace mapping only its own ids and a
 * mount namespace in it); "/" MS_REC|MS_SLAVE at once; `keep` bound onto
 * itself (its own mount, so it stays writable); every other mount read-only
 * from /proc/self/mountinfo; then the private /tmp. */
#include "runtime_internal.h"
#include "ns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* A mount point of /proc/self/mountinfo (field 5), unescaped in place. */
static char *mountinfo_point(char *line)
{
	char *p = line;
	for (int f = 0; f < 4 && p; f++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return NULL;
	char *end = strchr(p, ' ');
	if (end)
		*end = '\0';
	char *w = p;
	for (char *r = p; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return p;
}

static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

/* Every mount read-only but /spfs, the kernel's and keep's. */
static int readonly_host(const char *keep, sp_error *err)
{
	_cleanup_fclose_ FILE *mi = fopen("/proc/self/mountinfo", "re");
	if (!mi)
		return sp_error_errno(err, "/proc/self/mountinfo");
	char line[8192];
	bool root_done = false;
	while (fgets(line, sizeof(line), mi)) {
		char *mp = mountinfo_point(line);
		if (!mp || below(mp, SPFS_RUNTIME_MOUNTPOINT) || below(mp, "/proc") ||
		    below(mp, "/sys") || below(mp, "/dev") || (keep && below(mp, keep)))
			continue;
		struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
		if (mount_setattr(AT_FDCWD, mp, AT_SYMLINK_NOFOLLOW, &attr, sizeof(attr)) < 0) {
			if (!strcmp(mp, "/"))
				return sp_error_errno(err, "read-only /");
			sp_debug("cannot make %s read-only: %s", mp, strerror(errno));
			continue;
		}
		root_done = root_done || !strcmp(mp, "/");
	}
	if (!root_done)
		return sp_error_set(err, SP_ERROR, "/ is not a mount");
	return 0;
}

int spfs_confine(const spfs_confine_opts *o, bool *no_namespace, sp_error *err)
{
	static const spfs_confine_opts defaults = {0};
	if (!o)
		o = &defaults;
	*no_namespace = false;
	if (o->keep && !spfs_ns__path_ok(o->keep))
		return sp_error_set(err, SP_EINVALID, "'%s' is not a clean absolute path", o->keep);
	/* root (in the runtime's namespace) has its own mount namespace at
	 * once; another user gets one inside a user namespace of its own, in
	 * which it keeps its ids (where the system allows that) */
	int rc = 0;
	if (unshare(CLONE_NEWNS) == 0) {
		rc = spfs_ns__slave_root(err);
	} else if (errno != EPERM) {
		*no_namespace = true;
		return sp_error_errno(err, "unshare(CLONE_NEWNS)");
	} else {
		uid_t uid = getuid();
		gid_t gid = getgid();
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
			*no_namespace = true;
			return sp_error_errno(err, "unshare(CLONE_NEWUSER|CLONE_NEWNS)");
		}
		if (!(rc = spfs_ns__map_ids(0, uid, gid, err)))
			rc = spfs_ns__slave_root(err);
	}
	if (rc)
		return rc;
	/* the directory left writable is a mount of its own */
	if (o->keep && mount(o->keep, o->keep, NULL, MS_BIND | MS_REC, NULL) < 0)
		return sp_error_errno(err, "mount --bind %s", o->keep);
	if ((rc = readonly_host(o->keep, err)))
		return rc;
	struct stat st;
	if (!o->private_tmp || stat("/tmp", &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	/* a kept directory below /tmp (a build tree or stage made there) would
	 * vanish under the fresh tmpfs: hold it by an fd across the mount and
	 * bind it back at its path inside the new /tmp; /tmp itself kept means
	 * no private /tmp */
	bool in_tmp = o->keep && below(o->keep, "/tmp");
	if (in_tmp && !strcmp(o->keep, "/tmp"))
		return 0;
	_cleanup_close_ int held = -1;
	if (in_tmp && (held = open(o->keep, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return sp_error_errno(err, "open %s", o->keep);
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		return sp_error_errno(err, "a private /tmp");
	if (!in_tmp)
		return 0;
	if ((rc = sp_mkdir_p_at(AT_FDCWD, o->keep, 0755, err)))
		return sp_error_prefix(err, "the kept %s inside the private /tmp", o->keep);
	char src[64];
	snprintf(src, sizeof(src), "/proc/self/fd/%d", held);
	if (mount(src, o->keep, NULL, MS_BIND | MS_REC, NULL) < 0)
		return sp_error_errno(err, "mount --bind %s inside the private /tmp", o->keep);
	return 0;
}
