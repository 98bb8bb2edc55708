/* enter.c - spfs-enter: the one security boundary between a user and root
 * (docs/runtime.md, "Non-root users"; STYLE 16). In the spirit of
 * bubblewrap: small, one straight line, no choice left to the caller
 * beyond the arguments of enter.h.
 *
 * Installed with file capabilities cap_dac_override,cap_setpcap,
 * cap_sys_admin+ep and no setuid bit: it runs as the caller (real =
 * effective = saved ids), so its file system credentials are the caller's
 * from the start (setfsuid and setfsgid are still called and checked).
 * CAP_SYS_ADMIN is for unshare, the mounts and open_tree; CAP_SETPCAP only
 * to empty the bounding set; CAP_DAC_OVERRIDE is lowered from the effective
 * set at once and raised only around the creation of an overlay with an
 * upper directory (the overlay works in its work/work, which it makes
 * mode 0, with the credentials it was created with). Every open is
 * therefore checked against what the caller may read. The overlay's own
 * credentials (used for copy-up) are the caller's uid and gid without
 * CAP_CHOWN or CAP_FOWNER, so a copy-up can never give a file another
 * owner (no root-owned setuid file appears in a durable upper directory),
 * and the overlay checks the caller's own permission on every access.
 *
 * The order, each step checked, any failure fatal (exit 125):
 *   1. PR_SET_DUMPABLE 0 (not ptraceable, no core while privileged);
 *      fds 0-2 opened on /dev/null if closed; arguments parsed whole;
 *   2. every inherited fd closed but the status pipe (made CLOEXEC);
 *   3. environment cleared; the command's is built from an allowlist
 *      (no LD_*, no PATH: PATH is fixed), plus SPFS_RUNTIME, SPFS_STORAGE;
 *   4. real, effective and saved ids must be equal (no setuid install);
 *      setfsuid/setfsgid to them; the needed capabilities present;
 *   5. unshare(CLONE_NEWNS), then "/" MS_REC|MS_SLAVE at once;
 *   6. the store opened as the caller; each lower opened beneath it with
 *      openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS|
 *      RESOLVE_NO_XDEV) and O_RDONLY (read permission checked); upper/work
 *      the same way;
 *   7. editable: a fresh tmpfs (nosuid, nodev, owned by the caller) moved
 *      onto runtimes/<id>.scratch (opened as in 6, a directory the caller
 *      owns), upper/ and work/ made in it; durable: runtimes/durable/NAME/
 *      upper and work;
 *   8. the overlay from those fds (fsconfig FSCONFIG_SET_FD "lowerdir+",
 *      or "/proc/self/fd/N" strings on kernels that take only strings),
 *      nosuid, nodev, read-only without an upper; moved onto /spfs (the
 *      only other mount point); a single read-only lower is a bind; with
 *      an upper, built by a child in a user namespace of the caller's
 *      (overlay_userns: why there);
 *   9. privileges dropped: (setgroups is not needed: the supplementary
 *      groups are the caller's and are never changed; the helper has no
 *      CAP_SETGID) setresgid, setresuid, bounding set emptied (needs
 *      CAP_SETPCAP, so before the capability sets), ambient set cleared,
 *      capability sets cleared, PR_SET_NO_NEW_PRIVS; then every one of
 *      these verified, and setuid(0) must fail; only then dumpable again
 *      (nothing privileged is left, and the caller may see its own
 *      process's /proc files);
 *  10. exec of the command (PATH lookup in the fixed PATH).
 * A SIGKILL at any point leaves nothing: every mount is in the helper's
 * own namespace, which dies with it.
 *
 * Test builds (SPFS_ENTER_TEST_HOOKS, never installed) read
 * SPFS_ENTER_TEST_KILL=STEP to die by SIGKILL at a step, and
 * SPFS_ENTER_TEST_API=string|legacy to force the mount fallbacks. */
#include "enter.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MOUNTPOINT  "/spfs"
#define FIXED_PATH  "PATH=/usr/local/bin:/usr/bin:/bin"
#define MAX_ENV	    256
#define MAX_ENV_LEN ((size_t)64 << 10)
#define LEGACY_MAX  4095u
/* RESOLVE_NO_XDEV too: no mount below the store (a FUSE file system the
 * caller mounted on a render, say) is ever a layer */
#define RESOLVE_SAFE                                                                               \
	(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

static int status_fd = -1;

/* Reports err (to the status pipe when there is one, else stderr) and
 * exits with code. */
static _Noreturn void die(int code, const sp_error *err)
{
	const char *msg = err->msg[0] ? err->msg : "failed";
	if (status_fd >= 0) {
		if (write(status_fd, msg, strlen(msg)) < 0) {
			/* nothing more to do */
		}
	} else {
		fprintf(stderr, "spfs-enter: %s\n", msg);
	}
	_exit(code);
}

/* -------------------------------------------------------- test hooks */

#ifdef SPFS_ENTER_TEST_HOOKS
static const char *test_kill, *test_api;
static void hooks_load(void)
{
	test_kill = getenv("SPFS_ENTER_TEST_KILL");
	test_api = getenv("SPFS_ENTER_TEST_API");
}
static void hook(const char *step)
{
	if (test_kill && strcmp(test_kill, step) == 0)
		raise(SIGKILL);
}
static bool api_forced(const char *what)
{
	return test_api && strcmp(test_api, what) == 0;
}
#else
static void hooks_load(void)
{
}
static void hook(const char *step)
{
	(void)step;
}
static bool api_forced(const char *what)
{
	(void)what;
	return false;
}
#endif

/* -------------------------------------------------------- fds, env */

static void stdio_sane(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = openat(AT_FDCWD, "/dev/null", O_RDWR | O_NOFOLLOW);
		if (n != fd)
			_exit(SPFS_ENTER_SETUP_EXIT);
	}
}

static int close_inherited(int keep, sp_error *err)
{
	if (keep >= 0) {
		struct stat st;
		if (fstat(keep, &st) < 0 || !S_ISFIFO(st.st_mode))
			return sp_error_set(err, SP_EINVALID, "--status-fd %d is not a pipe", keep);
		if (fcntl(keep, F_SETFD, FD_CLOEXEC) < 0)
			return sp_error_errno(err, "fcntl(status fd)");
	}
	unsigned lo = 3, hi = keep >= 0 ? (unsigned)keep : ~0u;
	if (hi > lo && close_range(lo, hi - 1, 0) < 0)
		return sp_error_errno(err, "close_range");
	if (keep >= 0 && close_range((unsigned)keep + 1, ~0u, 0) < 0)
		return sp_error_errno(err, "close_range");
	return 0;
}

/* Names passed from the caller's environment to the command; LC_* too. */
static const char *const env_allow[] = {
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "COLORTERM",
    "LANG",
    "LANGUAGE",
    "TZ",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "XDG_RUNTIME_DIR",
    "XDG_SESSION_TYPE",
    "DBUS_SESSION_BUS_ADDRESS",
    "SSH_AUTH_SOCK",
    "SPAWN_LOG",
    "SPAWN_NO_PROGRESS",
    "SPAWN_CONFIG",
    "SPFS_RUNTIME_MODE",
    "SPFS_RUNTIME_MAX_LAYERS",
    "SPFS_RUNTIME_TMPFS_SIZE",
};

static bool env_allowed(const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return false;
	size_t n = (size_t)(eq - kv);
	if (n > 3 && strncmp(kv, "LC_", 3) == 0)
		return strspn(kv + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == n - 3;
	for (size_t i = 0; i < sizeof(env_allow) / sizeof(env_allow[0]); i++)
		if (strlen(env_allow[i]) == n && strncmp(kv, env_allow[i], n) == 0)
			return true;
	return false;
}

/* The command's environment; the process's own is cleared. */
static int env_build(char ***out, const spfs_enter_args *a, sp_error *err)
{
	char **env = calloc(MAX_ENV + 4, sizeof(*env));
	if (!env)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	size_t n = 0;
	for (char **e = environ; e && *e && n < MAX_ENV; e++)
		if (strnlen(*e, MAX_ENV_LEN) < MAX_ENV_LEN && env_allowed(*e))
			env[n++] = *e; /* the strings outlive clearenv */
	size_t rl = strlen("SPFS_RUNTIME=") + strlen(a->id) + 1;
	size_t sl = strlen("SPFS_STORAGE=") + strlen(a->store) + 1;
	char *rt = malloc(rl), *st = malloc(sl);
	if (!rt || !st) {
		free(rt);
		free(st);
		free(env);
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	}
	snprintf(rt, rl, "SPFS_RUNTIME=%s", a->id);
	snprintf(st, sl, "SPFS_STORAGE=%s", a->store);
	env[n++] = (char *)FIXED_PATH;
	env[n++] = rt;
	env[n++] = st;
	env[n] = NULL;
	if (clearenv() != 0) {
		free(env);
		return sp_error_set(err, SP_ERROR, "clearenv failed");
	}
	*out = env;
	return 0;
}

/* ----------------------------------------------------- credentials */

#define MAX_GROUPS 65536

typedef struct creds {
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[MAX_GROUPS];
} creds;

static creds caller;		       /* static: the group list is large */
static gid_t groups_after[MAX_GROUPS]; /* for drop_verify */

static int caps_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	return (int)syscall(SYS_capget, &h, d);
}

static bool cap_has(const struct __user_cap_data_struct d[2], int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

/* Sets the effective set to CAP_SYS_ADMIN and CAP_SETPCAP, plus
 * CAP_DAC_OVERRIDE with dac; permitted is left as it is. */
static int caps_effective(bool dac, sp_error *err)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (caps_get(d) < 0)
		return sp_error_errno(err, "capget");
	for (int i = 0; i < 2; i++)
		d[i].effective = d[i].inheritable = 0;
	d[0].effective =
	    (1u << CAP_SYS_ADMIN) | (1u << CAP_SETPCAP) | (dac ? 1u << CAP_DAC_OVERRIDE : 0);
	if (syscall(SYS_capset, &h, d) < 0)
		return sp_error_errno(err, "capset");
	return 0;
}

static int creds_check(creds *c, sp_error *err)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return sp_error_errno(err, "getresuid");
	if (r != e || r != s || rg != eg || rg != sg)
		return sp_error_set(err, SP_EINVALID,
				    "spfs-enter must not be setuid or setgid; install it with file "
				    "capabilities (setcap " SPFS_ENTER_CAPS ")");
	c->uid = r;
	c->gid = rg;
	c->ngroups = getgroups(MAX_GROUPS, c->groups);
	if (c->ngroups < 0)
		return sp_error_errno(err, "getgroups");
	/* Already the caller's (no setuid bit), set and checked all the same. */
	setfsuid(r);
	setfsgid(rg);
	if ((uid_t)setfsuid((uid_t)-1) != r || (gid_t)setfsgid((gid_t)-1) != rg)
		return sp_error_set(err, SP_ERROR, "cannot take the caller's file system ids");
	struct __user_cap_data_struct d[2];
	if (caps_get(d) < 0)
		return sp_error_errno(err, "capget");
	if (!cap_has(d, CAP_SYS_ADMIN) || !cap_has(d, CAP_SETPCAP) || !cap_has(d, CAP_DAC_OVERRIDE))
		return sp_error_set(
		    err, SP_ERROR,
		    "spfs-enter lacks its capabilities (install it with 'setcap " SPFS_ENTER_CAPS
		    "' on a file system without nosuid; "
		    "no_new_privs, as in a nested runtime, also keeps them away)");
	/* Effective from here on: CAP_SYS_ADMIN and CAP_SETPCAP only; every
	 * other one (CAP_DAC_OVERRIDE) stays permitted, for overlay_create. */
	return caps_effective(false, err);
}

static int drop_privileges(const creds *c, sp_error *err)
{
	if (setresgid(c->gid, c->gid, c->gid) < 0)
		return sp_error_errno(err, "setresgid");
	if (setresuid(c->uid, c->uid, c->uid) < 0)
		return sp_error_errno(err, "setresuid");
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return sp_error_errno(err, "PR_CAPBSET_DROP %d", cap);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return sp_error_errno(err, "PR_CAP_AMBIENT_CLEAR_ALL");
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		return sp_error_errno(err, "capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return sp_error_errno(err, "PR_SET_NO_NEW_PRIVS");
	return 0;
}

static int drop_verify(const creds *c, sp_error *err)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0 || r != c->uid ||
	    e != c->uid || s != c->uid || rg != c->gid || eg != c->gid || sg != c->gid)
		return sp_error_set(err, SP_ERROR, "ids are not the caller's after the drop");
	if ((uid_t)setfsuid((uid_t)-1) != c->uid || (gid_t)setfsgid((gid_t)-1) != c->gid)
		return sp_error_set(err, SP_ERROR, "fs ids are not the caller's after the drop");
	int ng = getgroups(MAX_GROUPS, groups_after);
	if (ng != c->ngroups || memcmp(groups_after, c->groups, (size_t)ng * sizeof(gid_t)) != 0)
		return sp_error_set(err, SP_ERROR, "supplementary groups changed");
	struct __user_cap_data_struct d[2];
	if (caps_get(d) < 0)
		return sp_error_errno(err, "capget");
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return sp_error_set(err, SP_ERROR, "capabilities left after the drop");
	for (int cap = 0; cap <= 63; cap++) {
		int b = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (b < 0 && errno == EINVAL)
			break;
		if (b != 0)
			return sp_error_set(err, SP_ERROR, "capability %d left in the bounding set",
					    cap);
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) != 0)
			return sp_error_set(err, SP_ERROR, "ambient capability %d left", cap);
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return sp_error_set(err, SP_ERROR, "no_new_privs is not set");
	if (c->uid != 0 && (setuid(0) == 0 || errno != EPERM))
		return sp_error_set(err, SP_ERROR, "setuid(0) did not fail after the drop");
	return 0;
}

/* --------------------------------------------------------- opening */

/* Opens rel beneath the store as the caller: no symlink, no "..", no
 * magic link anywhere on the way; a directory. */
static int open_beneath(int *out, int storefd, const char *rel, int flags, sp_error *err)
{
	struct open_how how = {
	    /* no O_NOFOLLOW: RESOLVE_NO_SYMLINKS refuses a final symlink too,
	     * with ELOOP rather than ENOTDIR */
	    .flags = (uint64_t)(flags | O_DIRECTORY | O_CLOEXEC),
	    .resolve = RESOLVE_SAFE,
	};
	int fd = (int)syscall(SYS_openat2, storefd, rel, &how, sizeof(how));
	if (fd < 0) {
		if (errno == ELOOP)
			return sp_error_errno(err, "%s is or goes through a symlink", rel);
		if (errno == EXDEV)
			return sp_error_errno(err, "%s is or goes through a mount point", rel);
		return sp_error_errno(err, "open %s", rel);
	}
	*out = fd;
	return 0;
}

static int lower_rel(char *buf, size_t n, const spfs_enter_lower *l)
{
	switch (l->kind) {
	case 'r': return snprintf(buf, n, "renders/%.2s/%s", l->hex, l->hex + 2);
	case 'w': return snprintf(buf, n, "runtimes/masks/%.2s/%s", l->hex, l->hex + 2);
	default: return snprintf(buf, n, "runtimes/empty");
	}
}

/* ------------------------------------------------------- mounting */

static int fs_fail(int fsfd, sp_error *err, const char *what)
{
	int saved = errno;
	char log[400];
	spfs_enter__fs_log(fsfd, log, sizeof(log));
	errno = saved;
	return sp_error_errno(err, "%s%s%s%s", what, log[0] ? " (" : "", log, log[0] ? ")" : "");
}

/* The scratch tmpfs, owned by the caller, on runtimes/<id>.scratch;
 * *upper and *work get its upper/ and work/. */
static int scratch_mount(int *upper, int *work, int storefd, const spfs_enter_args *a,
			 const creds *c, sp_error *err)
{
	char rel[64];
	snprintf(rel, sizeof(rel), "runtimes/%s.scratch", a->id);
	_cleanup_close_ int target = -1;
	int rc = open_beneath(&target, storefd, rel, O_PATH, err);
	if (rc)
		return rc;
	struct stat st;
	if (fstat(target, &st) < 0)
		return sp_error_errno(err, "stat %s", rel);
	if (st.st_uid != c->uid)
		return sp_error_set(err, SP_EINVALID, "%s is not the caller's own directory", rel);
	_cleanup_close_ int fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return sp_error_errno(err, "fsopen(tmpfs)");
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "size", a->tmpfs_size, 0) < 0)
		return fs_fail(fsfd, err, "tmpfs size");
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0)
		return fs_fail(fsfd, err, "tmpfs mode");
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fs_fail(fsfd, err, "tmpfs create");
	_cleanup_close_ int mfd =
	    fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (mfd < 0)
		return fs_fail(fsfd, err, "tmpfs fsmount");
	if (move_mount(mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return sp_error_errno(err, "cannot mount the scratch tmpfs on %s", rel);
	if (mkdirat(mfd, "upper", 0755) < 0 || mkdirat(mfd, "work", 0700) < 0)
		return sp_error_errno(err, "mkdir in the scratch tmpfs");
	*upper = openat(mfd, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	*work = openat(mfd, "work", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*upper < 0 || *work < 0)
		return sp_error_errno(err, "open the scratch upper/work");
	return 0;
}

static int durable_dirs(int *upper, int *work, int storefd, const spfs_enter_args *a, sp_error *err)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "runtimes/durable/%s", a->durable);
	_cleanup_close_ int dfd = -1;
	int rc = open_beneath(&dfd, storefd, rel, O_RDONLY, err);
	if (rc)
		return rc;
	if ((mkdirat(dfd, "upper", 0755) < 0 && errno != EEXIST) ||
	    (mkdirat(dfd, "work", 0700) < 0 && errno != EEXIST))
		return sp_error_errno(err, "mkdir %s/upper, work", rel);
	if ((rc = open_beneath(upper, dfd, "upper", O_RDONLY, err)) ||
	    (rc = open_beneath(work, dfd, "work", O_RDONLY, err)))
		return sp_error_prefix(err, "%s", rel);
	return 0;
}

typedef enum { LAYERS_FD, LAYERS_STRING } layers_how;

static int set_layer(int fsfd, layers_how how, const char *key, int fd)
{
	if (how == LAYERS_FD)
		return fsconfig(fsfd, FSCONFIG_SET_FD, key, NULL, fd);
	char p[32];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return fsconfig(fsfd, FSCONFIG_SET_STRING, key, p, 0);
}

/* The overlay as a detached mount. Returns 1 when the kernel lacks
 * "lowerdir+" (then the caller uses mount(2)), 2 when it does not take
 * layers as fds (then again with strings). */
static int overlay_fsmount(int *out, layers_how how, const int *lfd, size_t n, int up, int wk,
			   sp_error *err)
{
	_cleanup_close_ int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fsfd < 0) {
		if (errno == ENOSYS)
			return 1;
		return sp_error_errno(err, "fsopen(overlay)");
	}
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "spfs", 0) < 0)
		return fs_fail(fsfd, err, "overlay source");
	static const char *const opts[][2] = {
	    {"redirect_dir", "nofollow"}, {"metacopy", "off"}, {"index", "off"}};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (fsconfig(fsfd, FSCONFIG_SET_STRING, opts[i][0], opts[i][1], 0) < 0 &&
		    errno != EINVAL)
			return fs_fail(fsfd, err, opts[i][0]);
	/* user.overlay.* xattrs: what the caller's `spfs commit` can read */
	if (fsconfig(fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
		return fs_fail(fsfd, err, "overlay userxattr");
	for (size_t i = n; i-- > 0;) { /* "lowerdir+" appends below: top first */
		if (set_layer(fsfd, how, "lowerdir+", lfd[i]) == 0)
			continue;
		if (errno == EINVAL && i == n - 1) {
			char log[200];
			spfs_enter__fs_log(fsfd, log, sizeof(log));
			if (strstr(log, "nknown parameter"))
				return 1;
			if (how == LAYERS_FD)
				return 2;
			errno = EINVAL;
		}
		return fs_fail(fsfd, err, "overlay lowerdir+");
	}
	if (up >= 0 &&
	    (set_layer(fsfd, how, "upperdir", up) < 0 || set_layer(fsfd, how, "workdir", wk) < 0))
		return fs_fail(fsfd, err, "overlay upperdir/workdir");
	/* The overlay keeps the credentials it is created with for its own
	 * work in the upper directory, where it makes work/work mode 0: with
	 * an upper it needs CAP_DAC_OVERRIDE, effective for this call only
	 * (not CAP_CHOWN or CAP_FOWNER: a copy-up can never give a file
	 * another owner). Every path was resolved before, as the caller. */
	if (up >= 0 && caps_effective(true, err))
		return err->code;
	int created = fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
	int saved = errno;
	if (up >= 0 && caps_effective(false, err))
		return err->code;
	errno = saved;
	if (created < 0)
		return fs_fail(fsfd, err, "overlay create");
	unsigned attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (up >= 0 ? 0 : MOUNT_ATTR_RDONLY);
	int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, attr);
	if (mfd < 0)
		return fs_fail(fsfd, err, "overlay fsmount");
	*out = mfd;
	return 0;
}

/* Kernels without "lowerdir+": one mount(2) option page of fd paths. */
static int overlay_legacy(int target, const int *lfd, size_t n, int up, int wk, sp_error *err)
{
	char opts[LEGACY_MAX + 1], tp[32];
	size_t len = (size_t)snprintf(
	    opts, sizeof(opts), "userxattr,redirect_dir=nofollow,metacopy=off,index=off,lowerdir=");
	for (size_t i = n; i-- > 0 && len < sizeof(opts);)
		len += (size_t)snprintf(opts + len, sizeof(opts) - len, "/proc/self/fd/%d%s",
					lfd[i], i ? ":" : "");
	if (up >= 0 && len < sizeof(opts))
		len +=
		    (size_t)snprintf(opts + len, sizeof(opts) - len,
				     ",upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d", up, wk);
	if (len >= sizeof(opts))
		return sp_error_set(
		    err, SP_EINVALID,
		    "%zu layers do not fit in a mount(2) option page and this kernel "
		    "lacks fsconfig(\"lowerdir+\")",
		    n);
	snprintf(tp, sizeof(tp), "/proc/self/fd/%d", target);
	unsigned long flags = MS_NOSUID | MS_NODEV | (up >= 0 ? 0 : MS_RDONLY);
	if (up >= 0 && caps_effective(true, err)) /* as in overlay_fsmount */
		return err->code;
	int mounted = mount("spfs", tp, "overlay", flags, opts);
	int saved = errno;
	if (up >= 0 && caps_effective(false, err))
		return err->code;
	errno = saved;
	if (mounted < 0)
		return sp_error_errno(err, "cannot mount the overlay at %s", MOUNTPOINT);
	return 0;
}

static int bind_readonly(int target, int lfd, sp_error *err)
{
	_cleanup_close_ int tfd =
	    open_tree(lfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tfd < 0)
		return sp_error_errno(err, "open_tree of the lower");
	struct mount_attr attr = {
	    .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
	};
	if (mount_setattr(tfd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return sp_error_errno(err, "cannot make the bind read-only");
	if (move_mount(tfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return sp_error_errno(err, "cannot mount on %s", MOUNTPOINT);
	return 0;
}

static int mount_spfs(int target, const int *lfd, size_t n, int up, int wk, sp_error *err)
{
	if (up < 0 && n == 1)
		return bind_readonly(target, lfd[0], err);
	if (api_forced("legacy"))
		return overlay_legacy(target, lfd, n, up, wk, err);
	_cleanup_close_ int mfd = -1;
	int rc = 2;
	if (!api_forced("string"))
		rc = overlay_fsmount(&mfd, LAYERS_FD, lfd, n, up, wk, err);
	if (rc == 2)
		rc = overlay_fsmount(&mfd, LAYERS_STRING, lfd, n, up, wk, err);
	if (rc == 1)
		return overlay_legacy(target, lfd, n, up, wk, err);
	if (rc)
		return rc;
	if (move_mount(mfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return sp_error_errno(err, "cannot move the overlay onto %s", MOUNTPOINT);
	return 0;
}

/* ------------------------------------------- editable: a user namespace */

/* An overlay with an upper directory copies files up with the credentials
 * it was created with, and those need CAP_DAC_OVERRIDE (overlayfs makes its
 * work/work mode 0). Created here, in the initial user namespace, that
 * override would cover every file: a file the caller cannot read, renamed
 * inside the runtime, would be copied (data first, owner last) into a
 * temporary file the caller owns. So an editable overlay is built by a
 * child in a user namespace of the caller's own (uid and gid mapped to
 * themselves, nothing else; CAP_SYS_ADMIN lets the helper make one where
 * unprivileged ones are off), where the override covers only the caller's
 * own files and another user's file cannot be copied up at all (EOVERFLOW).
 * The child opens the layers itself (overlayfs takes layers only from the
 * mount namespace it runs in), builds the overlay and passes the detached
 * mount back over a socket; the helper moves it onto /spfs.
 *
 * Returns 0 with *out set, 1 when this kernel cannot do it (no user
 * namespace for us, no fd-passed overlay: the caller then builds the
 * overlay itself), or an error. */

enum { USERNS_OK = 'u', USERNS_UNSUPPORTED = 'n', USERNS_FAILED = 'f' };

static int send_msg(int sock, char kind, const char *text, int fd)
{
	struct iovec io[2] = {{&kind, 1}, {(void *)text, text ? strlen(text) : 0}};
	char ctl[CMSG_SPACE(sizeof(int))];
	struct msghdr m = {.msg_iov = io, .msg_iovlen = text ? 2 : 1};
	if (fd >= 0) {
		memset(ctl, 0, sizeof(ctl));
		m.msg_control = ctl;
		m.msg_controllen = sizeof(ctl);
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &fd, sizeof(int));
	}
	return sendmsg(sock, &m, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* One message: its kind (0 when the peer is gone), text, passed fd. */
static char recv_msg(int sock, char *text, size_t n, int *fd)
{
	char buf[SP_ERROR_MSG_MAX + 1];
	struct iovec io = {buf, sizeof(buf) - 1};
	char ctl[CMSG_SPACE(sizeof(int))];
	struct msghdr m = {
	    .msg_iov = &io, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
	*fd = -1;
	ssize_t got;
	do
		got = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (got < 0 && errno == EINTR);
	if (got <= 0)
		return 0;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
		    h->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(h), sizeof(int));
	buf[got] = '\0';
	snprintf(text, n, "%s", buf + 1);
	return buf[0];
}

/* In the child, in its user namespace: the layers, opened here, and the
 * overlay as a detached mount. */
static int userns_build(int *out, const spfs_enter_args *a, dev_t scratch_dev, sp_error *err)
{
	_cleanup_close_ int storefd = openat(AT_FDCWD, a->store, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (storefd < 0)
		return sp_error_errno(err, "open the store %s", a->store);
	_cleanup_free_ int *lfd = calloc(a->lower_count, sizeof(*lfd));
	if (!lfd)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	int rc = 0;
	size_t opened = 0;
	for (; opened < a->lower_count && !rc; opened++) {
		char rel[128];
		lower_rel(rel, sizeof(rel), &a->lowers[opened]);
		rc = open_beneath(&lfd[opened], storefd, rel, O_RDONLY, err);
	}
	if (rc)
		opened--;
	_cleanup_close_ int up = -1;
	_cleanup_close_ int wk = -1;
	if (!rc && a->tmpfs_size) {
		/* the helper's tmpfs, mounted on runtimes/<id>.scratch before
		 * this namespace was copied: reached by crossing onto it (so
		 * not RESOLVE_NO_XDEV here), and checked to be that tmpfs */
		char rel[64];
		snprintf(rel, sizeof(rel), "runtimes/%s.scratch", a->id);
		struct open_how how = {
		    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};
		_cleanup_close_ int sfd =
		    (int)syscall(SYS_openat2, storefd, rel, &how, sizeof(how));
		struct stat st;
		if (sfd < 0 || fstat(sfd, &st) < 0)
			rc = sp_error_errno(err, "open %s", rel);
		else if (st.st_dev != scratch_dev)
			rc = sp_error_set(err, SP_EINVALID, "%s is no longer the runtime's tmpfs",
					  rel);
		if (!rc && (rc = open_beneath(&up, sfd, "upper", O_RDONLY, err)) == 0)
			rc = open_beneath(&wk, sfd, "work", O_RDONLY, err);
	} else if (!rc) {
		rc = durable_dirs(&up, &wk, storefd, a, err);
	}
	if (!rc) {
		rc = api_forced("string")
			 ? 2
			 : overlay_fsmount(out, LAYERS_FD, lfd, opened, up, wk, err);
		if (rc == 2)
			rc = overlay_fsmount(out, LAYERS_STRING, lfd, opened, up, wk, err);
	}
	for (size_t i = 0; i < opened; i++)
		close(lfd[i]);
	return rc;
}

static _Noreturn void userns_child(int sock, const spfs_enter_args *a, dev_t scratch_dev)
{
	sp_error err = {0};
	/* no longer than the helper */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() == 1)
		_exit(1);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		send_msg(sock, USERNS_UNSUPPORTED, strerror(errno), -1);
		_exit(1);
	}
	/* from here on, no capability in the initial namespace */
	char text[64];
	int nofd;
	if (send_msg(sock, USERNS_OK, NULL, -1) < 0 ||
	    recv_msg(sock, text, sizeof(text), &nofd) != USERNS_OK)
		_exit(1);
	int mfd = -1;
	int rc = userns_build(&mfd, a, scratch_dev, &err);
	if (rc == 1)
		send_msg(sock, USERNS_UNSUPPORTED, "no overlay lowerdir+", -1);
	else if (rc)
		send_msg(sock, USERNS_FAILED, err.msg, -1);
	else
		send_msg(sock, USERNS_OK, NULL, mfd);
	_exit(rc ? 1 : 0);
}

/* Writes s into /proc/<pid>/<name>: the child is not dumpable (it was
 * forked from the helper), so its /proc files are root's and the write
 * needs CAP_DAC_OVERRIDE; the kernel allows mapping only the writer's own
 * ids (it has neither CAP_SETUID nor CAP_SETGID). */
static int write_proc(pid_t pid, const char *name, const char *s, sp_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	int fd = openat(AT_FDCWD, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return sp_error_errno(err, "open %s", path);
	ssize_t n = write(fd, s, strlen(s));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(s) ? 0 : sp_error_errno(err, "write %s", path);
}

static int overlay_userns(int *out, const spfs_enter_args *a, const creds *c, int up, sp_error *err)
{
	if (api_forced("legacy") || api_forced("initns"))
		return 1;
	struct stat st;
	if (fstat(up, &st) < 0)
		return sp_error_errno(err, "stat the upper directory");
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return sp_error_errno(err, "socketpair");
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return sp_error_errno(err, "fork");
	}
	if (pid == 0) {
		close(sv[0]);
		userns_child(sv[1], a, a->tmpfs_size ? st.st_dev : 0);
	}
	close(sv[1]);
	int rc = 0, fd = -1;
	char text[SP_ERROR_MSG_MAX];
	char kind = recv_msg(sv[0], text, sizeof(text), &fd);
	if (kind == USERNS_OK) {
		char map[64];
		int rc2 = caps_effective(true, err);
		if (!rc2 && !(rc2 = write_proc(pid, "setgroups", "deny", err))) {
			snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)c->uid, (unsigned)c->uid);
			if (!(rc2 = write_proc(pid, "uid_map", map, err))) {
				snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)c->gid,
					 (unsigned)c->gid);
				rc2 = write_proc(pid, "gid_map", map, err);
			}
		}
		if (caps_effective(false, err) || rc2)
			rc = err->code ? err->code : SP_ERROR;
		else if (send_msg(sv[0], USERNS_OK, NULL, -1) < 0)
			rc = sp_error_errno(err, "talk to the namespace child");
		else
			kind = recv_msg(sv[0], text, sizeof(text), &fd);
	}
	close(sv[0]);
	int ws;
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (rc) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (kind == USERNS_OK && fd >= 0) {
		*out = fd;
		return 0;
	}
	if (fd >= 0)
		close(fd);
	if (kind == USERNS_UNSUPPORTED)
		return 1;
	return sp_error_set(err, SP_ERROR, "the editable overlay: %s",
			    kind == USERNS_FAILED ? text : "its builder died");
}

/* Everything between unshare and the drop: store, lowers, upper, mounts.
 * Every fd opened here is closed on return. */
static int setup_mounts(const spfs_enter_args *a, const creds *c, sp_error *err)
{
	_cleanup_close_ int storefd = openat(AT_FDCWD, a->store, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (storefd < 0)
		return sp_error_errno(err, "open the store %s", a->store);
	_cleanup_close_ int target =
	    openat(AT_FDCWD, MOUNTPOINT, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return sp_error_errno(err, "open %s (root must create it once)", MOUNTPOINT);
	_cleanup_free_ int *lfd = calloc(a->lower_count, sizeof(*lfd));
	if (!lfd)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	size_t opened = 0;
	int rc = 0;
	for (; opened < a->lower_count; opened++) {
		char rel[128];
		lower_rel(rel, sizeof(rel), &a->lowers[opened]);
		if ((rc = open_beneath(&lfd[opened], storefd, rel, O_RDONLY, err)))
			break;
	}
	hook("opened");
	_cleanup_close_ int up = -1;
	_cleanup_close_ int wk = -1;
	if (!rc && a->tmpfs_size)
		rc = scratch_mount(&up, &wk, storefd, a, c, err);
	else if (!rc && a->durable)
		rc = durable_dirs(&up, &wk, storefd, a, err);
	hook("scratch");
	/* an upper: the overlay is built in a user namespace of the caller's
	 * (overlay_userns), where the kernel allows it */
	_cleanup_close_ int umfd = -1;
	int urc = !rc && up >= 0 ? overlay_userns(&umfd, a, c, up, err) : 1;
	if (!rc && urc == 0) {
		if (move_mount(umfd, "", target, "",
			       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			rc = sp_error_errno(err, "cannot move the overlay onto %s", MOUNTPOINT);
	} else if (!rc && urc != 1) {
		rc = urc;
	} else if (!rc) {
		rc = mount_spfs(target, lfd, a->lower_count, up, wk, err);
	}
	for (size_t i = 0; i < opened; i++)
		close(lfd[i]);
	return rc;
}

/* --------------------------------------------------------------- main */

_Noreturn void spfs_enter__main(int argc, char **argv)
{
	sp_error err = {0};
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		sp_error_errno(&err, "PR_SET_DUMPABLE");
		die(SPFS_ENTER_SETUP_EXIT, &err);
	}
	stdio_sane();
	hooks_load();
	spfs_enter_args a;
	if (spfs_enter__parse(&a, argc, argv, &err)) {
		sp_error_prefix(&err, "usage");
		die(2, &err);
	}
	status_fd = a.status_fd;
	if (close_inherited(status_fd, &err)) {
		status_fd = -1;
		die(SPFS_ENTER_SETUP_EXIT, &err);
	}
	char **env = NULL;
	creds *c = &caller;
	if (env_build(&env, &a, &err) || creds_check(c, &err))
		die(SPFS_ENTER_SETUP_EXIT, &err);
	hook("start");
	if (unshare(CLONE_NEWNS) < 0) {
		sp_error_errno(&err, "unshare(CLONE_NEWNS)");
		die(SPFS_ENTER_SETUP_EXIT, &err);
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		sp_error_errno(&err, "cannot make / a slave mount");
		die(SPFS_ENTER_SETUP_EXIT, &err);
	}
	hook("unshared");
	if (setup_mounts(&a, c, &err)) {
		sp_error_prefix(&err, "cannot set up runtime %s", a.id);
		die(SPFS_ENTER_SETUP_EXIT, &err);
	}
	hook("mounted");
	if (drop_privileges(c, &err) || drop_verify(c, &err)) {
		sp_error_prefix(&err, "cannot drop privileges");
		die(SPFS_ENTER_SETUP_EXIT, &err);
	}
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) {
		sp_error_errno(&err, "PR_SET_DUMPABLE");
		die(SPFS_ENTER_SETUP_EXIT, &err);
	}
	hook("dropped");
	/* A working directory inside /spfs referred to the host's. */
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) && strncmp(cwd, MOUNTPOINT, 5) == 0 &&
	    (cwd[5] == '/' || cwd[5] == '\0') && chdir(cwd) < 0 && chdir("/") < 0) {
		/* stay where we are */
	}
	environ = env; /* execvp looks PATH up here: the fixed one */
	execvp(a.argv[0], a.argv);
	int e = errno;
	sp_error_errno(&err, "cannot run %s", a.argv[0]);
	die(e == ENOENT ? 127 : 126, &err);
}
