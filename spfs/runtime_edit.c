/* runtime_edit.c - changes inside a runtime: edit, commit, reset, diff.
 *
 * These run inside the runtime (its mount namespace, checked against the
 * record), as root. The upper directory is read directly:
 *   - a 0:0 character device is an overlayfs whiteout: a mask entry;
 *   - a directory with trusted.overlay.opaque=y hides everything below it
 *     in the lower layers: each lower child it does not itself contain
 *     becomes a mask entry (a manifest has no "opaque" marker);
 *   - files, directories and symlinks are entries.
 * redirect_dir, metacopy and index are off (runtime_mount.c), so no other
 * overlay metadata appears in the upper directory.
 *
 * Commit: the upper's files, directories and symlinks are mirrored into a
 * staging directory beside it (hardlinks on the same filesystem, so no
 * data is copied) which spfs_commit_dir commits (payloads, manifest);
 * when there are masks the manifest is read back, the masks are added and
 * spfs_commit_manifest writes the final layer. The intermediate layer
 * object is unreferenced and goes at the next clean.
 */
#include "runtime_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

/* ------------------------------------------------------------ walking */

typedef struct upper_entry {
	char *path;
	spfs_entry_kind kind; /* MASK for a whiteout */
	bool opaque;	      /* directories */
	mode_t mode;
	uint64_t size;
} upper_entry;

typedef struct upper_list {
	upper_entry *e;
	size_t count;
} upper_list;

static void upper_list_free(upper_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->e[i].path);
	free(l->e);
	l->e = NULL;
	l->count = 0;
}

static bool not_dots(const char *name)
{
	return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static bool is_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == 0;
}

static bool is_opaque(int dirfd)
{
	/* trusted.* as root; user.* in a rootless runtime ("userxattr") */
	char v[4];
	ssize_t n = fgetxattr(dirfd, "trusted.overlay.opaque", v, sizeof(v));
	if (n != 1)
		n = fgetxattr(dirfd, "user.overlay.opaque", v, sizeof(v));
	return n == 1 && v[0] == 'y';
}

/* Walks the upper directory depth first, siblings sorted: the canonical
 * order. When mirror_fd >= 0, files/dirs/symlinks are mirrored there. */
static int walk_upper(upper_list *out, int dirfd, int mirror_fd, const char *prefix, unsigned depth,
		      sp_error *err)
{
	if (depth > SPFS_MAX_DEPTH)
		return sp_error_set(err, SP_EINVALID, "%s: nested deeper than %u directories",
				    prefix, SPFS_MAX_DEPTH);
	char **names = NULL;
	size_t n = 0;
	int rc = spfs_runtime__list_names(&names, &n, dirfd, not_dots, err);
	if (rc)
		return sp_error_prefix(err, "%s", *prefix ? prefix : "the upper directory");
	for (size_t i = 0; i < n && !rc; i++) {
		const char *name = names[i];
		size_t plen = strlen(prefix), nlen = strlen(name);
		if (plen + 1 + nlen > SPFS_MAX_PATH) {
			rc = sp_error_set(err, SP_EINVALID, "%s/%s: path too long", prefix, name);
			break;
		}
		char path[SPFS_MAX_PATH + 2];
		snprintf(path, sizeof(path), "%s%s%s", prefix, plen ? "/" : "", name);
		struct stat st;
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = sp_error_errno(err, "cannot stat %s", path);
			break;
		}
		upper_entry e = {.mode = st.st_mode, .size = (uint64_t)st.st_size};
		_cleanup_close_ int sub = -1;
		if (S_ISDIR(st.st_mode)) {
			e.kind = SPFS_ENTRY_DIR;
			sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				rc = sp_error_errno(err, "cannot open %s", path);
				break;
			}
			e.opaque = is_opaque(sub);
			if (mirror_fd >= 0 && mkdirat(mirror_fd, name, 0755) < 0)
				rc = sp_error_errno(err, "cannot mirror %s", path);
		} else if (S_ISREG(st.st_mode)) {
			e.kind = SPFS_ENTRY_FILE;
			if (mirror_fd >= 0 && linkat(dirfd, name, mirror_fd, name, 0) < 0)
				rc = sp_error_errno(err, "cannot link %s", path);
		} else if (S_ISLNK(st.st_mode)) {
			e.kind = SPFS_ENTRY_SYMLINK;
			if (mirror_fd >= 0) {
				char target[SPFS_MAX_TARGET + 2];
				ssize_t tl = readlinkat(dirfd, name, target, sizeof(target));
				if (tl < 0 || (size_t)tl > SPFS_MAX_TARGET)
					rc = sp_error_set(err, SP_EINVALID,
							  "%s: unreadable or too long symlink",
							  path);
				else if ((target[tl] = '\0',
					  symlinkat(target, mirror_fd, name) < 0))
					rc = sp_error_errno(err, "cannot mirror symlink %s", path);
			}
		} else if (is_whiteout(&st)) {
			e.kind = SPFS_ENTRY_MASK;
		} else {
			rc = sp_error_set(err, SP_EINVALID,
					  "%s is a device, FIFO or socket; only files, directories "
					  "and symlinks can be "
					  "committed (remove it or 'spfs reset' it)",
					  path);
		}
		if (rc)
			break;
		if ((out->count & (out->count - 1)) == 0 &&
		    (rc = sp_realloc_array((void **)&out->e, out->count ? out->count * 2 : 16,
					   sizeof(*out->e), err)))
			break;
		if (!(e.path = strdup(path))) {
			rc = sp_error_set(err, SP_ENOMEM, "out of memory");
			break;
		}
		out->e[out->count++] = e;
		if (e.kind == SPFS_ENTRY_DIR) {
			_cleanup_close_ int msub = -1;
			if (mirror_fd >= 0 &&
			    (msub = openat(mirror_fd, name,
					   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				rc = sp_error_errno(err, "cannot open mirror of %s", path);
			else
				rc = walk_upper(out, sub, mirror_fd >= 0 ? msub : -1, path,
						depth + 1, err);
		}
	}
	spfs_runtime__free_names(names, n);
	return rc;
}

/* The runtime's stack merged (what /spfs shows without the upper). */
static int lower_tree(spfs_manifest **out, spfs_store *s, const spfs_runtime *rt, sp_error *err)
{
	_cleanup_(spfs_manifest_freep) spfs_manifest *merged = calloc(1, sizeof(*merged));
	if (!merged)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	int rc = 0;
	for (size_t i = 0; i < rt->layer_count && !rc; i++) {
		_cleanup_(spfs_manifest_freep) spfs_manifest *m = NULL;
		spfs_kind kind;
		sp_buf b = {0};
		rc = spfs_read_object(&b, &kind, s, &rt->layers[i], err);
		sp_buf_free(&b);
		if (!rc)
			rc = spfs_flatten(&m, s, &rt->layers[i], kind, true, err);
		if (!rc)
			rc = spfs_manifest_overlay(merged, m, false, err);
	}
	if (rc)
		return sp_error_prefix(err, "cannot read the runtime's layers");
	*out = steal_pointer(&merged);
	return 0;
}

static bool is_direct_child(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && path[n] == '/' && !strchr(path + n + 1, '/');
}

static bool upper_has(const upper_list *u, const char *path)
{
	/* u is in canonical order: binary search */
	size_t lo = 0, hi = u->count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = spfs_path_cmp(u->e[mid].path, path);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* ---------------------------------------------------------------- edit */

static int need_root(const char *what, sp_error *err)
{
	if (geteuid() != 0)
		return sp_error_set(err, SP_EINVALID,
				    "%s needs root (it remounts /spfs); in a rootless runtime, "
				    "start it with --edit",
				    what);
	return 0;
}

static int remount(spfs_store *s, const spfs_runtime *rt, sp_error *err)
{
	spfs_mount_plan plan;
	char **paths = NULL;
	int rc = spfs_runtime__plan(&plan, &paths, s, rt, err);
	plan.scratch = NULL; /* mounted already */
	if (!rc)
		rc = spfs_mount__check(&plan, err);
	if (!rc)
		rc = spfs_mount__overlay(&plan, true, err);
	spfs_runtime__free_paths(paths, rt->lower_count);
	return rc;
}

int spfs_runtime_edit(spfs_store *s, sp_error *err)
{
	_cleanup_(spfs_runtime_freep) spfs_runtime *rt = NULL;
	int rc = spfs_runtime_current(&rt, s, err);
	if (rc || rt->editable)
		return rc;
	if ((rc = need_root("spfs edit", err)))
		return rc;
	_cleanup_free_ char *size = NULL;
	if ((rc = spfs_runtime__tmpfs_size(&size, err)))
		return rc;
	size_t n = strlen(spfs_store_path(s)) + 64;
	if (!(rt->scratch = malloc(n)) || !(rt->upper = malloc(n)) || !(rt->work = malloc(n)))
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	snprintf(rt->scratch, n, "%s/runtimes/%s.scratch", spfs_store_path(s), rt->id);
	snprintf(rt->upper, n, "%s/upper", rt->scratch);
	snprintf(rt->work, n, "%s/work", rt->scratch);
	if (mkdir(rt->scratch, 0755) < 0 && errno != EEXIST)
		return sp_error_errno(err, "cannot create %s", rt->scratch);
	spfs_mount_plan plan;
	char **paths = NULL;
	if ((rc = spfs_runtime__plan(&plan, &paths, s, rt, err)))
		return rc;
	plan.tmpfs_size = size;
	if (!(rc = spfs_mount__check(&plan, err)) &&
	    (spfs_mount__is_mountpoint(rt->scratch) || !(rc = spfs_mount__scratch(&plan, err))))
		rc = spfs_mount__overlay(&plan, true, err);
	spfs_runtime__free_paths(paths, rt->lower_count);
	if (!rc) {
		rt->editable = true;
		rc = spfs_runtime__write(s, rt, err);
	}
	return rc ? sp_error_prefix(err, "cannot make runtime %s editable", rt->id) : 0;
}

static int editable_current(spfs_runtime **out, spfs_store *s, const char *what, sp_error *err)
{
	int rc = spfs_runtime_current(out, s, err);
	if (rc)
		return rc;
	if (!(*out)->editable || !(*out)->upper) {
		spfs_runtime_freep(out);
		return sp_error_set(err, SP_EINVALID,
				    "%s: the runtime is read-only (run 'spfs edit' first)", what);
	}
	return 0;
}

/* -------------------------------------------------------------- commit */

static int parent_dir(char **out, const char *path, sp_error *err)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return sp_error_set(err, SP_EINVALID, "%s has no parent", path);
	if (!(*out = strndup(path, (size_t)(slash - path))))
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	return 0;
}

/* Commits the upper directory; SPFS_ENOTFOUND when it holds nothing. */
static int commit_upper(sp_digest *out, spfs_store *s, const spfs_runtime *rt, const char *tag,
			sp_error *err)
{
	if (tag && spfs_tag_name_check(tag, err))
		return err->code;
	_cleanup_close_ int ufd = open(rt->upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ufd < 0)
		return sp_error_errno(err, "cannot open %s", rt->upper);
	_cleanup_free_ char *parent = NULL;
	int rc = parent_dir(&parent, rt->upper, err);
	if (rc)
		return rc;
	char rnd[17], stage[PATH_MAX];
	sp_random_name(rnd, 16);
	snprintf(stage, sizeof(stage), "%s/commit-%s", parent, rnd);
	if (mkdir(stage, 0755) < 0)
		return sp_error_errno(err, "cannot create %s", stage);
	_cleanup_close_ int sfd = open(stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	upper_list u = {0};
	_cleanup_(spfs_manifest_freep) spfs_manifest *m = NULL;
	_cleanup_(spfs_manifest_freep) spfs_manifest *lower = NULL;
	if (sfd < 0) {
		rc = sp_error_errno(err, "cannot open %s", stage);
		goto out;
	}
	if ((rc = walk_upper(&u, ufd, sfd, "", 0, err)))
		goto out;
	if (u.count == 0) {
		rc = sp_error_set(err, SPFS_ENOTFOUND,
				  "nothing to commit: no changes in runtime %s", rt->id);
		goto out;
	}
	bool masks = false, opaque = false;
	for (size_t i = 0; i < u.count; i++) {
		masks |= u.e[i].kind == SPFS_ENTRY_MASK;
		opaque |= u.e[i].opaque;
	}
	sp_digest layer, manifest;
	if ((rc = spfs_commit_dir(&layer, &manifest, s, stage,
				  &(spfs_commit_opts){.tag = masks || opaque ? NULL : tag}, NULL,
				  err)))
		goto out;
	if (!masks && !opaque) {
		*out = layer;
		goto out;
	}
	if ((rc = spfs_read_manifest(&m, s, &manifest, err)))
		goto out;
	if (opaque && (rc = lower_tree(&lower, s, rt, err)))
		goto out;
	size_t base = m->count;
	for (size_t i = 0; i < u.count && !rc; i++) {
		spfs_entry e = {.path = u.e[i].path, .kind = SPFS_ENTRY_MASK};
		if (u.e[i].kind == SPFS_ENTRY_MASK)
			rc = spfs_manifest_push(m, &e, err);
		if (!u.e[i].opaque || !lower)
			continue;
		for (size_t k = 0; k < lower->count && !rc; k++) {
			const spfs_entry *le = &lower->entries[k];
			if (!is_direct_child(le->path, u.e[i].path) || upper_has(&u, le->path))
				continue;
			e.path = le->path;
			rc = spfs_manifest_push(m, &e, err);
		}
	}
	if (rc)
		goto out;
	if (m->count > base)
		spfs_manifest_sort(m);
	rc = spfs_commit_manifest(out, s, m, NULL, 0, tag, err);
out:
	upper_list_free(&u);
	sp_error ignored = {0};
	sp_rm_rf_at(AT_FDCWD, stage, &ignored);
	return rc;
}

int spfs_runtime_commit_layer(sp_digest *out, spfs_store *s, const char *tag, sp_error *err)
{
	_cleanup_(spfs_runtime_freep) spfs_runtime *rt = NULL;
	int rc = editable_current(&rt, s, "nothing to commit", err);
	if (rc)
		return rc;
	rc = commit_upper(out, s, rt, tag, err);
	if (rc == SPFS_ENOTFOUND)
		return rc;
	return rc ? sp_error_prefix(err, "cannot commit runtime %s", rt->id) : 0;
}

int spfs_runtime_commit_platform(sp_digest *out, spfs_store *s, const char *tag, sp_error *err)
{
	if (tag && spfs_tag_name_check(tag, err))
		return err->code;
	_cleanup_(spfs_runtime_freep) spfs_runtime *rt = NULL;
	int rc = spfs_runtime_current(&rt, s, err);
	if (rc)
		return rc;
	_cleanup_free_ sp_digest *layers = NULL;
	if ((rc = sp_calloc((void **)&layers, rt->layer_count + 1, sizeof(*layers), err)))
		return rc;
	size_t n = 0;
	for (size_t i = 0; i < rt->layer_count && !rc; i++) {
		spfs_kind kind;
		sp_buf b = {0};
		rc = spfs_read_object(&b, &kind, s, &rt->layers[i], err);
		sp_buf_free(&b);
		if (rc)
			break;
		if (kind == SPFS_KIND_LAYER) {
			layers[n++] = rt->layers[i];
			continue;
		}
		/* a bare manifest in the stack: wrap it in a layer */
		spfs_layer l = {.manifest = rt->layers[i]};
		sp_buf enc = {0};
		if (!(rc = spfs_layer_encode(&l, &enc, err)))
			rc = spfs_write_object(&layers[n++], s, &enc, err);
		sp_buf_free(&enc);
	}
	if (!rc && rt->editable && rt->upper) {
		rc = commit_upper(&layers[n], s, rt, NULL, err);
		if (rc == 0)
			n++;
		else if (rc == SPFS_ENOTFOUND)
			rc = 0, sp_error_clear(err);
	}
	if (!rc)
		rc = spfs_commit_platform(out, s, layers, n, tag, err);
	return rc ? sp_error_prefix(err, "cannot commit runtime %s as a platform", rt->id) : 0;
}

/* --------------------------------------------------------------- reset */

static int open_beneath(int root, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
}

/* "/spfs/a/b", "a/b/" or "/a/b" -> "a/b"; checks every component. */
static int normalise(char *out, size_t n, const char *in, sp_error *err)
{
	const char *p = in;
	size_t ml = strlen(SPFS_RUNTIME_MOUNTPOINT);
	if (strncmp(p, SPFS_RUNTIME_MOUNTPOINT, ml) == 0 && (p[ml] == '/' || p[ml] == '\0'))
		p += ml;
	while (*p == '/')
		p++;
	snprintf(out, n, "%s", p);
	size_t len = strlen(out);
	while (len && out[len - 1] == '/')
		out[--len] = '\0';
	if (len == 0)
		return 0;
	for (char *c = out;;) {
		char *slash = strchr(c, '/');
		size_t cl = slash ? (size_t)(slash - c) : strlen(c);
		if (!spfs_name_valid(c, cl))
			return sp_error_set(err, SP_EINVALID, "'%s' is not a path inside %s", in,
					    SPFS_RUNTIME_MOUNTPOINT);
		if (!slash)
			break;
		c = slash + 1;
	}
	return 0;
}

static int clear_dir(int fd, sp_error *err)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
	if (!d) {
		if (dup >= 0)
			close(dup);
		return sp_error_errno(err, "cannot read the upper directory");
	}
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			rc = sp_rm_rf_at(fd, de->d_name, err);
	closedir(d);
	return rc;
}

int spfs_runtime_reset(spfs_store *s, const char *const *paths, size_t n, sp_error *err)
{
	_cleanup_(spfs_runtime_freep) spfs_runtime *rt = NULL;
	int rc = editable_current(&rt, s, "nothing to reset", err);
	if (rc || (rc = need_root("spfs reset", err)))
		return rc;
	_cleanup_close_ int ufd = open(rt->upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ufd < 0)
		return sp_error_errno(err, "cannot open %s", rt->upper);
	/* validate every path before removing anything */
	char rel[SPFS_MAX_PATH + 1];
	bool all = n == 0;
	for (size_t i = 0; i < n; i++) {
		if ((rc = normalise(rel, sizeof(rel), paths[i], err)))
			return rc;
		all |= rel[0] == '\0';
	}
	if (all) {
		rc = clear_dir(ufd, err);
	} else {
		for (size_t i = 0; i < n && !rc; i++) {
			normalise(rel, sizeof(rel), paths[i], err);
			char *slash = strrchr(rel, '/');
			_cleanup_close_ int pfd = -1;
			const char *base = rel;
			if (slash) {
				*slash = '\0';
				base = slash + 1;
				pfd = open_beneath(ufd, rel, O_RDONLY | O_DIRECTORY);
				if (pfd < 0) {
					if (errno == ENOENT || errno == ENOTDIR)
						continue; /* unchanged: nothing to discard */
					rc = sp_error_errno(
					    err, "cannot open %s in the upper directory", rel);
					break;
				}
			}
			rc = sp_rm_rf_at(slash ? pfd : ufd, base, err);
		}
	}
	if (!rc)
		rc = remount(s, rt, err);
	return rc ? sp_error_prefix(err, "cannot reset runtime %s", rt->id) : 0;
}

/* ---------------------------------------------------------------- diff */

int spfs_runtime_diff(spfs_store *s, spfs_diff_cb cb, void *ud, sp_error *err)
{
	_cleanup_(spfs_runtime_freep) spfs_runtime *rt = NULL;
	int rc = spfs_runtime_current(&rt, s, err);
	if (rc || !rt->editable || !rt->upper)
		return rc;
	_cleanup_close_ int ufd = open(rt->upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ufd < 0)
		return sp_error_errno(err, "cannot open %s", rt->upper);
	upper_list u = {0};
	_cleanup_(spfs_manifest_freep) spfs_manifest *lower = NULL;
	if ((rc = walk_upper(&u, ufd, -1, "", 0, err)) || (rc = lower_tree(&lower, s, rt, err))) {
		upper_list_free(&u);
		return rc;
	}
	for (size_t i = 0; i < u.count; i++) {
		const upper_entry *ue = &u.e[i];
		const spfs_entry *le = spfs_manifest_find(lower, ue->path);
		spfs_entry b = {.path = ue->path,
				.kind = ue->kind,
				.size = ue->size,
				.mode = ue->kind == SPFS_ENTRY_DIR ? 0755
					: (ue->mode & 0111)	   ? 0755
								   : 0644};
		if (ue->kind == SPFS_ENTRY_MASK) {
			if (le)
				cb(SPFS_DIFF_REMOVED, le, NULL, ud);
			continue;
		}
		if (!le) {
			cb(SPFS_DIFF_ADDED, NULL, &b, ud);
		} else if (ue->kind != SPFS_ENTRY_DIR || le->kind != SPFS_ENTRY_DIR) {
			bool same = false;
			if (ue->kind == SPFS_ENTRY_FILE && le->kind == SPFS_ENTRY_FILE &&
			    le->size == ue->size && le->mode == b.mode) {
				_cleanup_close_ int fd = open_beneath(ufd, ue->path, O_RDONLY);
				sp_digest d;
				sp_error ignored = {0};
				same = fd >= 0 && sp_digest_fd(&d, NULL, fd, &ignored) == 0 &&
				       sp_digest_cmp(&d, &le->digest) == 0;
			}
			if (!same)
				cb(SPFS_DIFF_CHANGED, le, &b, ud);
		}
		if (ue->opaque)
			for (size_t k = 0; k < lower->count; k++)
				if (is_direct_child(lower->entries[k].path, ue->path) &&
				    !upper_has(&u, lower->entries[k].path))
					cb(SPFS_DIFF_REMOVED, &lower->entries[k], NULL, ud);
	}
	upper_list_free(&u);
	return 0;
}
