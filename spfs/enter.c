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
 * set at once and raised only around writing the id maps of the user
 * namespace in which an overlay with an upper directory is built (its
 * child's /proc files are root's); there, the child raises its namespace's
 * override around the overlay's creation (the overlay works in its
 * work/work, which it makes mode 0, with the credentials it was created
 * with), where it covers the caller's own files only. Every open is
 * therefore checked against what the caller may read. The overlay's own
 * credentials (used for copy-up) are the caller's uid and gid without
 * CAP_CHOWN or CAP_FOWNER, so a copy-up can never give a file another
 * owner (no root-owned setuid file appears in a durable upper directory),
 * and the overlay checks the caller's own permission on every access.
 *
 * The order, each step checked, any failure fatal (exit 125):
 *   1. PR_SET_DUMPABLE 0 (not ptraceable, no core while privileged);
 *      fds 0-2 opened on /dev/null if closed; arguments parsed whole;
 *   2. every inherited fd closed but the status pipe and the environment
 *      fd (both made CLOEXEC);
 *   3. environment cleared (spfs run execs the helper with an empty one,
 *      and file capabilities make the exec secure: the loader ignored
 *      LD_* and glibc dropped GCONV_PATH and the like); without --env-fd
 *      the command's is built now from an allowlist (no LD_*, PATH fixed);
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
 *      or "/proc/self/fd/N" strings on kernels that take only strings, or
 *      one mount(2) option page of those on kernels without "lowerdir+"),
 *      nosuid, nodev, read-only without an upper; moved onto /spfs (the
 *      only other mount point); a single read-only lower is a bind; with
 *      an upper, only ever built by a child in a user namespace of the
 *      caller's (overlay_userns: why there); when no such namespace can
 *      be made, the runtime fails: there is no other way to an upper;
 *   9. privileges dropped: (setgroups is not needed: the supplementary
 *      groups are the caller's and are never changed; the helper has no
 *      CAP_SETGID) setresgid, setresuid, bounding set emptied (needs
 *      CAP_SETPCAP, so before the capability sets), ambient set cleared,
 *      capability sets cleared, PR_SET_NO_NEW_PRIVS; then every one of
 *      these verified, and setuid(0) must fail; only then dumpable again
 *      (nothing privileged is left, and the caller may see its own
 *      process's /proc files);
 *  10. with --env-fd, the command's environment read from it, as the
 *      caller and only now (nothing in it can reach a privileged step),
 *      with SPFS_RUNTIME and SPFS_STORAGE set to ours; every signal
 *      disposition back to default and the signal mask emptied (as
 *      bubblewrap does: the command inherits nothing the caller ignored or
 *      blocked); exec of the command (PATH lookup in its environment's
 *      PATH).
 * A SIGKILL at any point leaves nothing: every mount is in the helper's
 * own namespace, which dies with it.
 *
 * Test builds (SPFS_ENTER_TEST_HOOKS, never installed) read
 * SPFS_ENTER_TEST_KILL=STEP to die by SIGKILL at a step,
 * SPFS_ENTER_TEST_PAUSE=STEP:FIFO to stop there while a test looks at the
 * process, and SPFS_ENTER_TEST_API=string|legacy to force the mount
 * fallbacks. */
#include "enter.h"
#include "ns.h"

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
#define MAX_ENV_FD  ((size_t)32 << 20) /* bytes read from --env-fd */
#define LEGACY_MAX  4095u
/* RESOLVE_NO_XDEV too: no mount below the store (a FUSE file system the
 * caller mounted on a render, say) is ever a layer */
#define RESOLVE_SAFE                                                                               \
	(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

static int status_fd = -1;
/* Set in overlay_userns's child once it is in its user namespace: the
 * only place an overlay with an upper (and CAP_DAC_OVERRIDE) is made. */
static bool in_user_ns;

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
static const char *test_kill, *test_api, *test_pause;
static void hooks_load(void)
{
	test_kill = getenv("SPFS_ENTER_TEST_KILL");
	test_api = getenv("SPFS_ENTER_TEST_API");
	test_pause = getenv("SPFS_ENTER_TEST_PAUSE"); /* STEP:FIFO */
}
/* Pause: our pid written to FIFO, then wait until it is written to and
 * closed (the test inspects the process in between). */
static void pause_at(const char *fifo)
{
	int fd = openat(AT_FDCWD, fifo, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	dprintf(fd, "%d\n", (int)getpid());
	close(fd);
	if ((fd = openat(AT_FDCWD, fifo, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	char c;
	while (read(fd, &c, 1) > 0)
		;
	close(fd);
}
static void hook(const char *step)
{
	if (test_kill && strcmp(test_kill, step) == 0)
		raise(SIGKILL);
	size_t n = strlen(step);
	if (test_pause && strncmp(test_pause, step, n) == 0 && test_pause[n] == ':')
		pause_at(test_pause + n + 1);
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

/* Closes every fd above 2 but the status pipe and the environment fd,
 * which are made CLOEXEC. */
static int close_inherited(int status, int envfd, sp_error *err)
{
	struct stat st;
	if (status >= 0 && (fstat(status, &st) < 0 || !S_ISFIFO(st.st_mode)))
		return sp_error_set(err, SP_EINVALID, "--status-fd %d is not a pipe", status);
	/* read only after the drop, as the caller: any readable descriptor */
	if (envfd >= 0 && fstat(envfd, &st) < 0)
		return sp_error_errno(err, "--env-fd %d", envfd);
	int keep[2] = {status < envfd ? status : envfd, status < envfd ? envfd : status};
	unsigned lo = 3;
	for (int i = 0; i < 2; i++) {
		if (keep[i] < 0)
			continue;
		if (fcntl(keep[i], F_SETFD, FD_CLOEXEC) < 0)
			return sp_error_errno(err, "fcntl(%d)", keep[i]);
		if ((unsigned)keep[i] > lo && close_range(lo, (unsigned)keep[i] - 1, 0) < 0)
			return sp_error_errno(err, "close_range");
		lo = (unsigned)keep[i] + 1;
	}
	if (close_range(lo, ~0u, 0) < 0)
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

/* "SPFS_RUNTIME=<id>" and "SPFS_STORAGE=<store>" (they go to the exec). */
static int env_own(char **rt, char **st, const spfs_enter_args *a, sp_error *err)
{
	size_t rl = strlen("SPFS_RUNTIME=") + strlen(a->id) + 1;
	size_t sl = strlen("SPFS_STORAGE=") + strlen(a->store) + 1;
	*rt = malloc(rl);
	*st = malloc(sl);
	if (!*rt || !*st) {
		free(*rt);
		free(*st);
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	}
	snprintf(*rt, rl, "SPFS_RUNTIME=%s", a->id);
	snprintf(*st, sl, "SPFS_STORAGE=%s", a->store);
	return 0;
}

/* Clears the process's environment. Without --env-fd, *out gets the
 * command's: the allowlist above, the fixed PATH and our own two; with it,
 * NULL (env_from_fd reads it after the drop). */
static int env_build(char ***out, const spfs_enter_args *a, sp_error *err)
{
	*out = NULL;
	if (a->env_fd >= 0)
		return clearenv() == 0 ? 0 : sp_error_set(err, SP_ERROR, "clearenv failed");
	char **env = calloc(MAX_ENV + 4, sizeof(*env));
	if (!env)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	size_t n = 0;
	for (char **e = environ; e && *e && n < MAX_ENV; e++)
		if (strnlen(*e, MAX_ENV_LEN) < MAX_ENV_LEN && env_allowed(*e))
			env[n++] = *e; /* the strings outlive clearenv */
	char *rt, *st;
	if (env_own(&rt, &st, a, err)) {
		free(env);
		return err->code;
	}
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

static bool env_is(const char *kv, const char *prefix)
{
	return strncmp(kv, prefix, strlen(prefix)) == 0;
}

/* After the drop, as the caller: the command's environment read from fd
 * (NAME=VALUE strings, each ended by a NUL; passed on as they are), our
 * SPFS_RUNTIME and SPFS_STORAGE in place of any given. Everything
 * allocated here goes to the exec. */
static int env_from_fd(char ***out, int fd, const spfs_enter_args *a, sp_error *err)
{
	size_t cap = (size_t)64 << 10, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	for (;;) {
		if (len == cap) {
			char *nb = cap < MAX_ENV_FD ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				free(buf);
				return cap < MAX_ENV_FD
					   ? sp_error_set(err, SP_ENOMEM, "out of memory")
					   : sp_error_set(
						 err, SP_EINVALID,
						 "the environment is larger than %zu bytes",
						 MAX_ENV_FD);
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return sp_error_errno(err, "read the environment (--env-fd %d)", fd);
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (len && buf[len - 1] != '\0') {
		free(buf);
		return sp_error_set(err, SP_EINVALID,
				    "the environment (--env-fd) does not end with a NUL");
	}
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\0';
	char **env = calloc(n + 3, sizeof(*env));
	char *rt = NULL, *st = NULL;
	if (!env || env_own(&rt, &st, a, err)) {
		free(env);
		free(buf);
		return env ? err->code : sp_error_set(err, SP_ENOMEM, "out of memory");
	}
	size_t k = 0;
	for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
		if (!env_is(buf + i, "SPFS_RUNTIME=") && !env_is(buf + i, "SPFS_STORAGE="))
			env[k++] = buf + i;
	env[k++] = rt;
	env[k++] = st;
	env[k] = NULL;
	*out = env;
	return 0;
}

/* Every signal disposition back to default and nothing blocked. */
static int signals_default(sp_error *err)
{
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		/* EINVAL: a signal the C library keeps for itself */
		if (sigaction(sig, &sa, NULL) < 0 && errno != EINVAL)
			return sp_error_errno(err, "sigaction(%d)", sig);
	}
	sigset_t none;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return sp_error_errno(err, "sigprocmask");
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
	 * another owner), and only in the caller's user namespace, where it
	 * covers the caller's own files alone. Every path was resolved
	 * before, as the caller. */
	if (up >= 0 && !in_user_ns)
		return sp_error_set(err, SP_ERROR, "an upper outside the user namespace");
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

/* Kernels without "lowerdir+": one mount(2) option page of fd paths
 * (fsconfig takes strings of at most 256 bytes) onto target. */
static int overlay_legacy(int target, const int *lfd, size_t n, int up, int wk, sp_error *err)
{
	if (up >= 0 && !in_user_ns) /* as in overlay_fsmount */
		return sp_error_set(err, SP_ERROR, "an upper outside the user namespace");
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

/* A read-only stack (no upper) onto target. */
static int mount_spfs(int target, const int *lfd, size_t n, sp_error *err)
{
	if (n == 1)
		return bind_readonly(target, lfd[0], err);
	if (api_forced("legacy"))
		return overlay_legacy(target, lfd, n, -1, -1, err);
	_cleanup_close_ int mfd = -1;
	int rc = 2;
	if (!api_forced("string"))
		rc = overlay_fsmount(&mfd, LAYERS_FD, lfd, n, -1, -1, err);
	if (rc == 2)
		rc = overlay_fsmount(&mfd, LAYERS_STRING, lfd, n, -1, -1, err);
	if (rc == 1)
		return overlay_legacy(target, lfd, n, -1, -1, err);
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
 * There is no other way to an upper: when no user namespace can be made
 * (user namespaces disabled, or the caller's quota of them used up, which
 * the caller can do at will by holding namespaces) or the kernel refuses
 * an overlay in one, the runtime fails (fail closed). A fallback decided
 * by that failure would be the caller's to trigger. */

enum { USERNS_OK = 'u', USERNS_FAILED = 'f' };

/* Why unshare(CLONE_NEWUSER) failed with e, in words. */
static void userns_why(char *buf, size_t n, int e)
{
	char val[32] = "?";
	int fd = openat(AT_FDCWD, "/proc/sys/user/max_user_namespaces", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t r = read(fd, val, sizeof(val) - 1);
		val[r > 0 ? r : 0] = '\0';
		val[strcspn(val, "\n")] = '\0';
		close(fd);
	}
	if (e == ENOSPC || e == EUSERS)
		snprintf(buf, n,
			 "cannot make a user namespace (%s): %s; an editable runtime needs one "
			 "(user.max_user_namespaces is %s, counted per user: close the runtimes "
			 "or programs that hold yours)",
			 strerror(e),
			 strcmp(val, "0") == 0 ? "user namespaces are disabled here"
					       : "the limit is reached",
			 val);
	else
		snprintf(buf, n, "cannot make a user namespace: %s", strerror(e));
}

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

/* In the child, on kernels without "lowerdir+" (before Linux 6.8): the
 * overlay mounted by mount(2) on /spfs of the child's own mount namespace,
 * and a detached copy of that mount in *out. */
static int userns_legacy(int *out, const int *lfd, size_t n, int up, int wk, sp_error *err)
{
	_cleanup_close_ int target =
	    openat(AT_FDCWD, MOUNTPOINT, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return sp_error_errno(err, "open %s", MOUNTPOINT);
	int rc = overlay_legacy(target, lfd, n, up, wk, err);
	if (rc)
		return rc;
	int fd = open_tree(AT_FDCWD, MOUNTPOINT, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return sp_error_errno(err, "open_tree of the overlay");
	*out = fd;
	return 0;
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
	if (!rc && !api_forced("legacy")) {
		rc = api_forced("string")
			 ? 2
			 : overlay_fsmount(out, LAYERS_FD, lfd, opened, up, wk, err);
		if (rc == 2)
			rc = overlay_fsmount(out, LAYERS_STRING, lfd, opened, up, wk, err);
	}
	if ((!rc && api_forced("legacy")) || rc == 1)
		rc = userns_legacy(out, lfd, opened, up, wk, err);
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
		char why[SP_ERROR_MSG_MAX];
		userns_why(why, sizeof(why), errno);
		send_msg(sock, USERNS_FAILED, why, -1);
		_exit(1);
	}
	/* from here on, no capability in the initial namespace */
	in_user_ns = true;
	char text[64];
	int nofd;
	if (send_msg(sock, USERNS_OK, NULL, -1) < 0 ||
	    recv_msg(sock, text, sizeof(text), &nofd) != USERNS_OK)
		_exit(1);
	int mfd = -1;
	int rc = userns_build(&mfd, a, scratch_dev, &err);
	if (rc && err.sys_errno == EPERM)
		sp_error_prefix(&err, "overlayfs refused a user namespace's mount (it needs Linux "
				      "5.11 or later)");
	if (rc == 1)
		send_msg(sock, USERNS_FAILED, "this kernel lacks fsopen(\"overlay\")", -1);
	else if (rc)
		send_msg(sock, USERNS_FAILED, err.msg, -1);
	else
		send_msg(sock, USERNS_OK, NULL, mfd);
	_exit(rc ? 1 : 0);
}

/* The child's maps are written by the helper: the child is not dumpable
 * (it was forked from the helper), so its /proc files are root's and the
 * writes need CAP_DAC_OVERRIDE; the kernel allows mapping only the
 * writer's own ids (it has neither CAP_SETUID nor CAP_SETGID). */
static int overlay_userns(int *out, const spfs_enter_args *a, const creds *c, int up, sp_error *err)
{
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
		int rc2 = caps_effective(true, err);
		if (!rc2)
			rc2 = spfs_ns__map_ids(pid, c->uid, c->gid, err);
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
	/* an upper: the overlay is built in a user namespace of the
	 * caller's (overlay_userns), or not at all */
	_cleanup_close_ int umfd = -1;
	if (!rc && up >= 0 && !(rc = overlay_userns(&umfd, a, c, up, err)) &&
	    move_mount(umfd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		rc = sp_error_errno(err, "cannot move the overlay onto %s", MOUNTPOINT);
	else if (!rc && up < 0)
		rc = mount_spfs(target, lfd, a->lower_count, err);
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
	if (close_inherited(status_fd, a.env_fd, &err)) {
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
	if (spfs_ns__slave_root(&err))
		die(SPFS_ENTER_SETUP_EXIT, &err);
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
	/* unprivileged from here on: the caller's environment is safe to read */
	if (a.env_fd >= 0 && env_from_fd(&env, a.env_fd, &a, &err)) {
		sp_error_prefix(&err, "cannot set up runtime %s", a.id);
		die(SPFS_ENTER_SETUP_EXIT, &err);
	}
	if (signals_default(&err))
		die(SPFS_ENTER_SETUP_EXIT, &err);
	environ = env; /* execvp looks PATH up here: the command's */
	execvp(a.argv[0], a.argv);
	int e = errno;
	sp_error_errno(&err, "cannot run %s", a.argv[0]);
	die(e == ENOENT ? 127 : 126, &err);
}
