/* runtime_enter.c - `spfs run` for a user who is not root: which mode
 * (docs/runtime.md, "Root or not"), and the exec of the setcap helper
 * spfs-enter (spfs/enter.c) in the forked child.
 *
 * Mode: spfs.runtime.mode in the config or $SPFS_RUNTIME_MODE (which wins):
 *   auto     (default) the helper when one with its file capabilities is
 *            found, else rootless;
 *   helper   the helper, or an error saying what to install;
 *   rootless a user namespace of our own (runtime_mount.c).
 * The helper is looked for next to the running spfs (the directory of
 * /proc/self/exe), in ../libexec from there, then in the install's libexec
 * directory. Usable means:
 * a regular executable file on a file system mounted without nosuid whose
 * security.capability xattr grants cap_dac_override, cap_setpcap and
 * cap_sys_admin, permitted and effective (v2, or v3 with root id 0), and this process has
 * no no_new_privs (which would keep the capabilities from being gained, as
 * in a nested runtime).
 *
 * Helper mode, in the child: the status pipe becomes fd 3 (kept across
 * the exec: the helper makes it CLOEXEC, so EOF again means the command
 * was executed, as for child_main), the caller's signal mask comes back,
 * and the helper gets the store, the id, --edit SIZE or --durable NAME and
 * the lowers as digests. The command's environment is ours, whole (what
 * spfs run, spk env or spk build prepared, as root and rootless runs get
 * it): written to a sealed memfd passed as fd 4 (--env-fd), which the
 * helper reads only after its privilege drop; the helper itself is
 * executed with an empty environment (but for the hooks of its test
 * build, SPFS_ENTER_TEST_KILL, _API and _PAUSE), so nothing of the
 * caller's reaches its privileged part. The command is the user's, run
 * through `spfs runtime __startup` (spfs_runtime_startup_exec,
 * runtime_run.c) when a layer (or a durable upper) may have
 * etc/spfs/startup.d, unless --no-startup: only inside the namespace can
 * the scripts be listed. */
#include "runtime_internal.h"
#include "enter.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef SPAWN_LIBEXECDIR
#define SPAWN_LIBEXECDIR "/usr/local/libexec"
#endif

#ifndef SPAWN_BIN_TO_LIBEXEC
#define SPAWN_BIN_TO_LIBEXEC "../libexec"
#endif

#define HELPER_NAME "spfs-enter"

bool spfs_runtime__helper_usable(const char *path, char *why, size_t n)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		snprintf(why, n, "%s: %s", path, strerror(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0) {
		snprintf(why, n, "%s is not an executable file", path);
		return false;
	}
	struct statvfs vfs;
	if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID)) {
		snprintf(why, n, "%s is on a nosuid file system (file capabilities are ignored)",
			 path);
		return false;
	}
	struct vfs_ns_cap_data cap;
	memset(&cap, 0, sizeof(cap));
	ssize_t len = getxattr(path, "security.capability", &cap, sizeof(cap));
	if (len < (ssize_t)XATTR_CAPS_SZ_2) {
		snprintf(why, n, "%s has no file capabilities (setcap " SPFS_ENTER_CAPS ")", path);
		return false;
	}
	uint32_t magic = le32toh(cap.magic_etc);
	uint32_t rev = magic & VFS_CAP_REVISION_MASK;
	uint32_t need = (1u << CAP_SYS_ADMIN) | (1u << CAP_SETPCAP) | (1u << CAP_DAC_OVERRIDE);
	bool ok = (rev == VFS_CAP_REVISION_2 ||
		   (rev == VFS_CAP_REVISION_3 && len >= (ssize_t)XATTR_CAPS_SZ_3 &&
		    le32toh(cap.rootid) == 0)) &&
		  (magic & VFS_CAP_FLAGS_EFFECTIVE) &&
		  (le32toh(cap.data[0].permitted) & need) == need;
	if (!ok) {
		snprintf(why, n, "%s lacks " SPFS_ENTER_CAPS, path);
		return false;
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1) {
		snprintf(why, n,
			 "no_new_privs is set (a nested runtime?): %s cannot gain its "
			 "capabilities",
			 path);
		return false;
	}
	return true;
}

/* The directory of the running executable (caller frees), or NULL. */
static char *self_path(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

int spfs_runtime__helper(char **out, sp_error *err)
{
	*out = NULL;
	const char *mode = getenv("SPFS_RUNTIME_MODE");
	_cleanup_free_ char *cfg = NULL;
	if (!mode || !*mode) {
		int rc = sp_config_get(&cfg, "spfs.runtime.mode", err);
		if (rc)
			return rc;
		mode = cfg && *cfg ? cfg : "auto";
	}
	if (strcmp(mode, "rootless") == 0)
		return 0;
	if (strcmp(mode, "auto") != 0 && strcmp(mode, "helper") != 0)
		return sp_error_set(err, SP_EINVALID,
				    "runtime mode '%.40s' is not auto, helper or rootless "
				    "(spfs.runtime.mode, $SPFS_RUNTIME_MODE)",
				    mode);
	char cand[3][PATH_MAX];
	size_t nc = 0;
	_cleanup_free_ char *self = self_path();
	char *slash = self ? strrchr(self, '/') : NULL;
	if (slash) {
		*slash = '\0';
		snprintf(cand[nc++], PATH_MAX, "%s/" HELPER_NAME, self);
		/* PREFIX/bin/spfs and PREFIX/libexec/spfs-enter, wherever PREFIX is
		 * (with the install's CMAKE_INSTALL_BINDIR and _LIBEXECDIR) */
		snprintf(cand[nc++], PATH_MAX, "%s/" SPAWN_BIN_TO_LIBEXEC "/" HELPER_NAME, self);
	}
	snprintf(cand[nc++], PATH_MAX, "%s/" HELPER_NAME, SPAWN_LIBEXECDIR);
	char why[3][PATH_MAX + 128];
	for (size_t i = 0; i < nc; i++) {
		if (spfs_runtime__helper_usable(cand[i], why[i], sizeof(why[i]))) {
			if (!(*out = strdup(cand[i])))
				return sp_error_set(err, SP_ENOMEM, "out of memory");
			return 0;
		}
	}
	if (strcmp(mode, "auto") == 0)
		return 0;
	return sp_error_set(
	    err, SP_ENOTFOUND,
	    "runtime mode is 'helper' but no usable spfs-enter was found (%s%s%s%s%s); "
	    "install it with 'cmake --install' as root, which sets its file "
	    "capabilities, or use mode 'rootless'",
	    why[0], nc > 1 ? "; " : "", nc > 1 ? why[1] : "", nc > 2 ? "; " : "",
	    nc > 2 ? why[2] : "");
}

/* False when no lower has etc/spfs/startup.d: then /spfs has no startup
 * scripts (masks only hide), and the command needs no startup stage. */
static bool may_have_startup(const spfs_runtime *rt, spfs_store *s)
{
	if (rt->durable)
		return true; /* its upper may have them */
	for (size_t i = 0; i < rt->lower_count; i++) {
		char hex[SP_DIGEST_HEX_LEN + 1], rel[SP_DIGEST_HEX_LEN + 32];
		struct stat st;
		if (rt->lowers[i].kind != SPFS_LOWER_RENDER)
			continue;
		sp_digest_to_hex(&rt->lowers[i].manifest, hex);
		snprintf(rel, sizeof(rel), "%.2s/%s/etc/spfs/startup.d", hex, hex + 2);
		if (fstatat(s->renders_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
			return true;
	}
	return false;
}

/* A sealed memfd holding environ as NUL-ended strings, at fd 4 (not
 * CLOEXEC: the helper takes it over). */
static int env_memfd(sp_error *err)
{
	int fd = memfd_create("spfs-env", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return sp_error_errno(err, "memfd_create");
	for (char **e = environ; e && *e; e++) {
		const char *p = *e;
		size_t left = strlen(p) + 1; /* with its NUL */
		while (left) {
			ssize_t w = write(fd, p, left);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				sp_error_errno(err, "write the environment");
				close(fd);
				return err->code;
			}
			p += w;
			left -= (size_t)w;
		}
	}
	if (lseek(fd, 0, SEEK_SET) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0 ||
	    (fd == 4 ? fcntl(fd, F_SETFD, 0) : dup2(fd, 4)) < 0) {
		sp_error_errno(err, "seal the environment");
		close(fd);
		return err->code;
	}
	if (fd != 4)
		close(fd);
	return 0;
}

/* In the child: report and exit (as child_main does). */
static _Noreturn void helper_fail(int fd, sp_error *err)
{
	if (write(fd, err->msg, strlen(err->msg)) < 0) {
		/* nothing more to do */
	}
	_exit(SPFS_RUN_ESETUP);
}

_Noreturn void spfs_runtime__exec_helper(int status_fd, const sigset_t *oldmask, const char *helper,
					 const spfs_runtime *rt, spfs_store *s,
					 const spfs_mount_plan *plan, char *const *argv,
					 const spfs_run_opts *o)
{
	sp_error err = {0};
	size_t argc = 0;
	while (argv && argv[argc])
		argc++;
	/* helper + 10 options + 2 per lower + "--" + stage (6) + command */
	size_t max = 1 + 10 + 2 * rt->lower_count + 1 + 6 + argc + 1;
	char **v = calloc(max, sizeof(*v));
	char *hex = calloc(rt->lower_count ? rt->lower_count : 1, SP_DIGEST_HEX_LEN + 1);
	char *self = self_path();
	if (!v || !hex || !self) {
		sp_error_set(&err, SP_ENOMEM, "out of memory");
		helper_fail(status_fd, &err);
	}
	size_t k = 0;
	v[k++] = (char *)helper;
	v[k++] = "--status-fd";
	v[k++] = "3";
	v[k++] = "--env-fd";
	v[k++] = "4";
	v[k++] = "--store";
	v[k++] = (char *)spfs_store_path(s);
	v[k++] = "--id";
	v[k++] = (char *)rt->id;
	if (rt->durable) {
		v[k++] = "--durable";
		v[k++] = rt->durable;
	} else if (rt->upper) {
		v[k++] = "--edit";
		v[k++] = (char *)plan->tmpfs_size;
	}
	for (size_t i = 0; i < rt->lower_count; i++) {
		const spfs_runtime_lower *l = &rt->lowers[i];
		char *h = hex + i * (SP_DIGEST_HEX_LEN + 1);
		sp_digest_to_hex(&l->manifest, h);
		switch (l->kind) {
		case SPFS_LOWER_RENDER: v[k++] = "--render", v[k++] = h; break;
		case SPFS_LOWER_MASKS: v[k++] = "--masks", v[k++] = h; break;
		case SPFS_LOWER_EMPTY: v[k++] = "--empty"; break;
		}
	}
	v[k++] = "--";
	if (!o->no_startup && may_have_startup(rt, s)) {
		v[k++] = self;
		v[k++] = "runtime";
		v[k++] = "__startup";
		if (o->shell)
			v[k++] = "--shell";
		v[k++] = "--";
	} else if (o->shell) { /* as exec_argv picks it */
		const char *shell = getenv("SHELL");
		v[k++] = (char *)(shell && shell[0] == '/' ? shell : "/bin/sh");
	}
	for (size_t i = 0; i < argc && !o->shell; i++)
		v[k++] = argv[i];
	v[k] = NULL;
	/* fd 3 is the status pipe, fd 4 the environment, without CLOEXEC;
	 * the helper closes the rest */
	if (status_fd == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(status_fd, 3) < 0) {
		sp_error_errno(&err, "dup2(status pipe)");
		helper_fail(status_fd, &err);
	}
	if (status_fd != 3)
		close(status_fd);
	status_fd = 3;
	if (env_memfd(&err))
		helper_fail(status_fd, &err);
	/* the helper's own environment: nothing (its test build's hooks) */
	char *henv[4] = {NULL, NULL, NULL, NULL};
	size_t nh = 0;
	static const char *const hooks[] = {
	    "SPFS_ENTER_TEST_KILL=", "SPFS_ENTER_TEST_API=", "SPFS_ENTER_TEST_PAUSE="};
	for (char **e = environ; e && *e; e++)
		for (size_t i = 0; i < 3; i++)
			if (strncmp(*e, hooks[i], strlen(hooks[i])) == 0 && nh < 3)
				henv[nh++] = *e;
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	execve(helper, v, henv);
	sp_error_errno(&err, "cannot run %s", helper);
	helper_fail(status_fd, &err);
}
