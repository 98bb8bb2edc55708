/* render.c - turning a tree into a directory of hardlinks to payloads.
 *
 * Payloads are read-only and shared by every render, so a render costs one
 * link() per file. Payloads are checked while linking (in the thread
 * pool): quickly (re-hash those whose mtime shows a write since they were
 * stored) or fully (re-hash all), so a modified payload is never served; stored renders are
 * built in tmp/, synced and renamed into renders/xx/ so a render that
 * exists is always complete. */
#include "store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

typedef struct verify_job {
	uv_work_t req;
	spfs_store *s;
	sp_digest digest;
	bool exec;
	bool full; /* re-hash even an untouched payload */
	int rc;
	char msg[200];
} verify_job;

/* Re-hashes the exact payload file (mode variant) that will be linked. A
 * variant that does not exist yet is made at link time from the other one,
 * and that copy is verified then (spfs_store__payload_variant). */
static void verify_work(uv_work_t *req)
{
	verify_job *j = req->data;
	sp_error err = {0};
	char hex[SP_DIGEST_HEX_LEN + 1], name[72];
	sp_digest_to_hex(&j->digest, hex);
	int sfd;
	int rc = spfs_store__shard_fd(&sfd, j->s, true, &j->digest, false, &err);
	if (rc) {
		j->rc = SPFS_ENOTFOUND;
		snprintf(j->msg, sizeof(j->msg), "payload %s is missing", hex);
		return;
	}
	spfs_store__shard_name(&j->digest, j->exec, name);
	/* Quick mode: a payload nobody wrote to since it was stored still has
	 * mtime 0 (one fstatat, no open); only modified ones are re-hashed.
	 * `spfs check` re-hashes everything, for damage that leaves no trace
	 * such as bit rot. */
	struct stat pre;
	if (!j->full && fstatat(sfd, name, &pre, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(pre.st_mode) && pre.st_mtim.tv_sec == 0 && pre.st_mtim.tv_nsec == 0)
		return;
	_cleanup_close_ int fd = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return;
		j->rc = errno == ELOOP ? SPFS_ECORRUPT : SP_EIO;
		snprintf(
		    j->msg, sizeof(j->msg), "payload %s%s: %s", hex, j->exec ? " (executable)" : "",
		    errno == ELOOP ? "is a symbolic link; refusing to follow it" : strerror(errno));
		return;
	}
	struct stat st;
	sp_digest got;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		j->rc = SPFS_ECORRUPT;
		snprintf(j->msg, sizeof(j->msg), "payload %s is not a regular file", hex);
		return;
	}
	rc = sp_digest_fd(&got, NULL, fd, &err);
	if (!rc && sp_digest_cmp(&got, &j->digest)) {
		char have[SP_DIGEST_HEX_LEN + 1];
		sp_digest_to_hex(&got, have);
		rc =
		    sp_error_set(&err, SPFS_EMISMATCH,
				 "payload %s%s is corrupt (content hashes to %s); run 'spfs check'",
				 hex, j->exec ? " (executable)" : "", have);
	}
	if (rc) {
		j->rc = rc;
		snprintf(j->msg, sizeof(j->msg), "%s", err.msg);
	}
}

typedef struct pair {
	sp_digest digest;
	bool exec;
} pair;

static int pair_cmp(const void *a, const void *b)
{
	const pair *x = a, *y = b;
	int c = sp_digest_cmp(&x->digest, &y->digest);
	return c ? c : (int)x->exec - (int)y->exec;
}

/* The distinct (digest, mode variant) pairs a manifest links. */
static int collect_pairs(pair **out, size_t *count, const spfs_manifest *m, sp_error *err)
{
	pair *ps = NULL;
	int rc = sp_calloc((void **)&ps, m->count ? m->count : 1, sizeof(*ps), err);
	if (rc)
		return rc;
	size_t n = 0;
	for (size_t i = 0; i < m->count; i++)
		if (m->entries[i].kind == SPFS_ENTRY_FILE) {
			ps[n].digest = m->entries[i].digest;
			ps[n].exec = m->entries[i].mode == 0755;
			n++;
		}
	if (n > 1)
		qsort(ps, n, sizeof(*ps), pair_cmp);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || pair_cmp(&ps[u - 1], &ps[i]))
			ps[u++] = ps[i];
	*out = ps;
	*count = u;
	return 0;
}

static int copy_payload(spfs_store *s, const spfs_entry *e, int dirfd, const char *base,
			sp_error *err)
{
	_cleanup_close_ int src = -1;
	int rc = spfs_open_payload(&src, s, &e->digest, err);
	if (rc)
		return rc;
	_cleanup_close_ int dst =
	    openat(dirfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (dst < 0)
		return sp_error_errno(err, "cannot create %s", e->path);
	uint64_t left = e->size;
	while (left > 0) {
		ssize_t n =
		    copy_file_range(src, NULL, dst, NULL, left > (1u << 30) ? (1u << 30) : left, 0);
		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
			char buf[65536];
			n = read(src, buf, sizeof(buf));
			if (n > 0 && (rc = sp_write_all(dst, buf, (size_t)n, err)))
				return rc;
		}
		if (n < 0)
			return sp_error_errno(err, "cannot copy %s", e->path);
		if (n == 0)
			return sp_error_set(err, SPFS_EMISMATCH,
					    "payload of %s is shorter than its manifest says",
					    e->path);
		left -= (uint64_t)n;
	}
	if (fchmod(dst, e->mode) < 0)
		return sp_error_errno(err, "chmod %s", e->path);
	return 0;
}

static int link_file(spfs_store *s, const spfs_entry *e, int dirfd, const char *base, bool copy,
		     sp_error *err)
{
	if (copy)
		return copy_payload(s, e, dirfd, base, err);
	bool exec = e->mode == 0755;
	int sfd;
	char name[72];
	int rc = spfs_store__shard_fd(&sfd, s, true, &e->digest, false, err);
	if (rc) {
		char hex[SP_DIGEST_HEX_LEN + 1];
		sp_digest_to_hex(&e->digest, hex);
		return sp_error_set(err, rc, "payload %s of %s is missing", hex, e->path);
	}
	spfs_store__shard_name(&e->digest, exec, name);
	if (sp_sys_linkat(sfd, name, dirfd, base, 0) == 0)
		return 0;
	if (errno == ENOENT) {
		/* Only the other mode variant is stored: make this one. */
		if ((rc = spfs_store__payload_variant(s, &e->digest, exec, err)))
			return sp_error_prefix(err, "%s", e->path);
		if (sp_sys_linkat(sfd, name, dirfd, base, 0) == 0)
			return 0;
	}
	if (errno == EXDEV || errno == EMLINK || errno == EPERM)
		return copy_payload(s, e, dirfd, base, err);
	return sp_error_errno(err, "cannot link %s", e->path);
}

/* Symlinks are hardlinked too: creating a symlink costs as much as writing
 * a small file on ext4, a link() a fraction of that. The store keeps one
 * symlink per target as payloads/xx/<digest>.l (digest = SHA-256 of the
 * target), made on first use. Anything unusual falls back to symlinkat. */
static int link_symlink(spfs_store *s, const spfs_entry *e, int dirfd, const char *base, bool copy,
			sp_error *err)
{
	int sfd;
	char name[72];
	sp_error ignored = {0};
	if (!copy && spfs_store__shard_fd(&sfd, s, true, &e->digest, true, &ignored) == 0) {
		spfs_store__shard_name(&e->digest, false, name);
		memcpy(name + SP_DIGEST_HEX_LEN - 2, ".l", 3);
		if (linkat(sfd, name, dirfd, base, 0) == 0)
			return 0;
		if (errno == ENOENT) {
			char tmp[32], rnd[17];
			sp_random_name(rnd, 16);
			snprintf(tmp, sizeof(tmp), ".tmp-%s", rnd);
			if (symlinkat(e->target, sfd, tmp) == 0) {
				if (renameat2(sfd, tmp, sfd, name, RENAME_NOREPLACE) < 0)
					unlinkat(sfd, tmp, 0);
				if (linkat(sfd, name, dirfd, base, 0) == 0)
					return 0;
			}
		}
	}
	if (symlinkat(e->target, dirfd, base) < 0)
		return sp_error_errno(err, "cannot create symlink %s", e->path);
	return 0;
}

/* Renders m into the empty directory open at root_fd. */
static int render_into(spfs_store *s, const spfs_manifest *m, int root_fd, bool copy, sp_error *err)
{
	/* Directories get their mode from mkdirat; fchmod only when the umask
	 * would strip bits of it. */
	mode_t mask = umask(0);
	umask(mask);
	int stack[SPFS_MAX_DEPTH + 2];
	size_t top = 0;
	stack[0] = root_fd;
	int rc = 0;
	for (size_t i = 0; i < m->count && !rc; i++) {
		const spfs_entry *e = &m->entries[i];
		size_t depth = 0;
		const char *base = e->path;
		for (const char *p = e->path; *p; p++)
			if (*p == '/') {
				depth++;
				base = p + 1;
			}
		/* Canonical order: the parent is the directory opened at depth. */
		while (top > depth)
			close(stack[top--]);
		if (top != depth) {
			rc = sp_error_set(err, SPFS_ECORRUPT, "%s: parent directory missing",
					  e->path);
			break;
		}
		int dirfd = stack[top];
		switch (e->kind) {
		case SPFS_ENTRY_DIR: {
			if (sp_sys_mkdirat(dirfd, base, e->mode) < 0) {
				rc = sp_error_errno(err, "cannot create directory %s", e->path);
				break;
			}
			int fd =
			    openat(dirfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				rc = sp_error_errno(err, "cannot open %s", e->path);
				break;
			}
			if ((e->mode & mask) && fchmod(fd, e->mode) < 0) {
				rc = sp_error_errno(err, "cannot chmod %s", e->path);
				close(fd);
				break;
			}
			stack[++top] = fd;
			break;
		}
		case SPFS_ENTRY_FILE: rc = link_file(s, e, dirfd, base, copy, err); break;
		case SPFS_ENTRY_SYMLINK: rc = link_symlink(s, e, dirfd, base, copy, err); break;
		case SPFS_ENTRY_MASK: break;
		}
	}
	while (top > 0)
		close(stack[top--]);
	return rc;
}

typedef struct render_job {
	uv_work_t req;
	spfs_store *s;
	const spfs_manifest *m;
	int root_fd;
	bool copy;
	int rc;
	sp_error err;
} render_job;

static void render_work(uv_work_t *req)
{
	render_job *j = req->data;
	j->rc = render_into(j->s, j->m, j->root_fd, j->copy, &j->err);
}

/* Renders m into root_fd while, with `verify`, the other threads of the pool
 * re-hash every payload it links. The two overlap, so verification costs
 * little wall time; when a payload turns out bad the caller must remove
 * what was rendered (nothing is served: the render is not returned). */
static int render_checked(spfs_store *s, const spfs_manifest *m, int root_fd, bool copy,
			  spfs_verify verify, sp_error *err)
{
	_cleanup_free_ pair *pairs = NULL;
	_cleanup_free_ verify_job *jobs = NULL;
	size_t count = 0;
	int rc;
	if (verify != SPFS_VERIFY_NONE && !copy) {
		if ((rc = collect_pairs(&pairs, &count, m, err)) ||
		    (rc = sp_calloc((void **)&jobs, count ? count : 1, sizeof(*jobs), err)))
			return rc;
	}
	spfs_store__threadpool_size();
	uv_loop_t loop;
	if (uv_loop_init(&loop))
		return sp_error_set(err, SP_ERROR, "cannot start the thread pool");
	render_job rj = {.s = s, .m = m, .root_fd = root_fd, .copy = copy};
	rj.req.data = &rj;
	uv_queue_work(&loop, &rj.req, render_work, NULL);
	for (size_t i = 0; i < count; i++) {
		jobs[i].s = s;
		jobs[i].digest = pairs[i].digest;
		jobs[i].exec = pairs[i].exec;
		jobs[i].full = verify == SPFS_VERIFY_FULL;
		jobs[i].req.data = &jobs[i];
		uv_queue_work(&loop, &jobs[i].req, verify_work, NULL);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	for (size_t i = 0; i < count; i++)
		if (jobs[i].rc)
			return sp_error_set(err, jobs[i].rc, "%s", jobs[i].msg);
	if (rj.rc) {
		*err = rj.err;
		return rj.rc;
	}
	return 0;
}

/* Removes everything inside the directory open at fd. */
static void empty_dir(int fd)
{
	int dup = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
	if (!d) {
		if (dup >= 0)
			close(dup);
		return;
	}
	struct dirent *de;
	sp_error ignored = {0};
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			sp_rm_rf_at(fd, de->d_name, &ignored);
	closedir(d);
}

static bool dir_is_empty(int fd)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
	if (!d) {
		if (dup >= 0)
			close(dup);
		return false;
	}
	struct dirent *de;
	bool empty = true;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = false;
			break;
		}
	closedir(d);
	return empty;
}

int spfs_render_to(spfs_store *s, const sp_digest *d, spfs_kind kind, const char *target,
		   const spfs_render_opts *opts, sp_error *err)
{
	_cleanup_(spfs_manifest_freep) spfs_manifest *m = NULL;
	_cleanup_close_ int fd = -1; /* declared before the first goto out */
	int rc = spfs_store_lock_shared(s, err);
	if (rc)
		return rc;
	if ((rc = spfs_flatten(&m, s, d, kind, false, err)))
		goto out;
	if (mkdir(target, 0755) < 0 && errno != EEXIST) {
		rc = sp_error_errno(err, "cannot create %s", target);
		goto out;
	}
	fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = sp_error_errno(err, "cannot open %s", target);
		goto out;
	}
	if (!dir_is_empty(fd)) {
		rc = sp_error_set(err, SP_EEXISTS, "%s exists and is not empty", target);
		goto out;
	}
	rc = render_checked(s, m, fd, opts && opts->copy, opts ? opts->verify : SPFS_VERIFY_QUICK,
			    err);
	if (rc)
		empty_dir(fd); /* never leave a partial or unverified render behind */
out:
	spfs_store_unlock(s);
	if (rc)
		return sp_error_prefix(err, "cannot render into %s", target);
	return 0;
}

int spfs_render_stored(char **out_path, spfs_store *s, const sp_digest *manifest, sp_error *err)
{
	char hex[SP_DIGEST_HEX_LEN + 1], rel[SP_DIGEST_HEX_LEN + 4];
	sp_digest_to_hex(manifest, hex);
	snprintf(rel, sizeof(rel), "%.2s/%s", hex, hex + 2);
	size_t n = strlen(s->path) + strlen(rel) + 16;
	_cleanup_free_ char *path = malloc(n);
	if (!path)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	snprintf(path, n, "%s/renders/%s", s->path, rel);
	int rc = spfs_store_lock_shared(s, err);
	if (rc)
		return rc;
	struct stat st;
	if (fstatat(s->renders_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		spfs_store_unlock(s);
		if (!S_ISDIR(st.st_mode))
			return sp_error_set(err, SPFS_ECORRUPT, "renders/%s is not a directory",
					    rel);
		*out_path = steal_pointer(&path);
		return 0;
	}
	_cleanup_(spfs_manifest_freep) spfs_manifest *m = NULL;
	char stage[32] = "";
	_cleanup_close_ int sfd = -1;
	if ((rc = spfs_read_manifest(&m, s, manifest, err)) ||
	    (rc = spfs_store__stage_dir(&sfd, stage, s, err)))
		goto out;
	if (fchmod(sfd, 0755) < 0) {
		rc = sp_error_errno(err, "chmod");
		goto out;
	}
	char shard[3] = {hex[0], hex[1], '\0'};
	if (sp_sys_mkdirat(s->renders_fd, shard, 0755) < 0 && errno != EEXIST) {
		rc = sp_error_errno(err, "cannot create renders/%s", shard);
		goto out;
	}
	if ((rc = render_checked(s, m, sfd, false, SPFS_VERIFY_QUICK, err)))
		goto out;
	if (sp_sys_syncfs(sfd) < 0) {
		rc = sp_error_errno(err, "cannot sync render");
		goto out;
	}
	char from[64];
	snprintf(from, sizeof(from), "%s", stage);
	if (sp_sys_renameat(s->tmp_fd, from, s->renders_fd, rel, RENAME_NOREPLACE) < 0) {
		if (errno != EEXIST) {
			rc = sp_error_errno(err, "cannot move render into place");
			goto out;
		}
	} else {
		stage[0] = '\0';
	}
out:
	if (stage[0]) {
		sp_error ignored = {0};
		sp_rm_rf_at(s->tmp_fd, stage, &ignored);
	}
	spfs_store_unlock(s);
	if (rc)
		return sp_error_prefix(err, "cannot render manifest %s", hex);
	*out_path = steal_pointer(&path);
	return 0;
}
