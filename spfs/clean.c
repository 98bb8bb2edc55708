/* clean.c - `spfs clean`: remove what no tag record reaches.
 *
 * Safety: the exclusive store lock (taken without waiting) means no commit,
 * render or tag change is in progress, so nothing unreferenced is about to
 * become referenced; the grace period additionally keeps anything recent,
 * for writers that reach the store without the lock. Everything under tmp/
 * and every ".tmp-*" file belongs to a writer that died, since live writers
 * hold the shared lock. Order: mark, then sweep objects before payloads, so
 * an interrupted clean never leaves an object whose payloads are gone while
 * the object itself stays (it was unreferenced either way). */
#include "runtime_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct clean_ctx {
	spfs_store *s;
	const spfs_clean_opts *opts;
	spfs_clean_cb cb;
	void *ud;
	spfs_clean_stats *stats;
	spfs_dset live;
	time_t now;
} clean_ctx;

static int mark_record(const char *tag, size_t back, const spfs_tag_record *r, size_t dropped,
		       void *ud)
{
	clean_ctx *c = ud;
	if (!r)
		return 0;
	sp_error err = {0};
	return spfs_store__mark(c->s, &c->live, &r->target, NULL, NULL, NULL, &err);
}

static bool is_young(clean_ctx *c, const struct stat *st)
{
	/* ctime, not mtime: payloads carry mtime 0 (sp_mark_pristine). ctime
	 * is set when a file gets its final name and moves again whenever a
	 * render links it, which only ever keeps things longer. */
	if (st->st_ctime > c->now)
		return true; /* a clock step backwards: keep it */
	return (uint64_t)(c->now - st->st_ctime) < c->opts->grace_seconds;
}

static int remove_entry(clean_ctx *c, int dirfd, const char *name, const char *what,
			const char *label, bool tree, sp_error *err)
{
	if (c->cb)
		c->cb(what, label, c->ud);
	if (c->opts->dry_run)
		return 0;
	if (tree)
		return sp_rm_rf_at(dirfd, name, err);
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return sp_error_errno(err, "cannot remove %s", label);
	return 0;
}

/* One entry of a sharded directory: shard_fd holds it, shard is "xx". */
typedef int (*shard_entry_cb)(clean_ctx *c, int shard_fd, const char *shard, const char *name,
			      sp_error *err);

/* Calls cb for every entry of every two-hex-digit shard directory below
 * parent (objects/, payloads/, renders/, runtimes/masks/); other entries
 * are not ours to judge (`spfs check` reports them). */
static int each_shard_entry(clean_ctx *c, int parent, const char *area, shard_entry_cb cb,
			    sp_error *err)
{
	int dup = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* own offset */
	DIR *top = dup >= 0 ? fdopendir(dup) : NULL;
	if (!top) {
		if (dup >= 0)
			close(dup);
		return sp_error_errno(err, "cannot read %s", area);
	}
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(top))) {
		if (strlen(de->d_name) != 2 || !sp_digest_is_hex(de->d_name, 2))
			continue;
		int sfd =
		    openat(parent, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d = sfd >= 0 ? fdopendir(sfd) : NULL;
		if (!d) {
			if (sfd >= 0)
				close(sfd);
			continue;
		}
		struct dirent *fe;
		while (!rc && (fe = readdir(d)))
			if (strcmp(fe->d_name, ".") && strcmp(fe->d_name, ".."))
				rc = cb(c, dirfd(d), de->d_name, fe->d_name, err);
		closedir(d);
	}
	closedir(top);
	return rc;
}

/* The digest named by shard + a 62-hex name with an optional 2-character
 * suffix (".x", ".l"); false when the name is not one. */
static bool entry_digest(sp_digest *out, const char *shard, const char *name, const char *suffix1,
			 const char *suffix2)
{
	size_t len = strlen(name), hexlen = len;
	if (len == SP_DIGEST_HEX_LEN && ((suffix1 && !strcmp(name + len - 2, suffix1)) ||
					 (suffix2 && !strcmp(name + len - 2, suffix2))))
		hexlen = len - 2;
	if (hexlen != SP_DIGEST_HEX_LEN - 2 || !sp_digest_is_hex(name, hexlen))
		return false;
	char full[SP_DIGEST_HEX_LEN + 1];
	snprintf(full, sizeof(full), "%s%.62s", shard, name);
	sp_error ignored = {0};
	return sp_digest_from_hex(out, full, &ignored) == 0;
}

static int sweep_entry(clean_ctx *c, int sfd, const char *shard, const char *n, bool payloads,
		       bool renders, const char *area, sp_error *err)
{
	if (strncmp(n, ".tmp-", 5) == 0) {
		char label[400];
		snprintf(label, sizeof(label), "%s/%s/%s", area, shard, n);
		c->stats->temps++;
		return remove_entry(c, sfd, n, "temp", label, false, err);
	}
	sp_digest d;
	if (!entry_digest(&d, shard, n, payloads ? ".x" : NULL, payloads ? ".l" : NULL) ||
	    spfs_dset__has(&c->live, &d))
		return 0;
	struct stat st;
	if (fstatat(sfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (is_young(c, &st)) {
		c->stats->kept_young++;
		return 0;
	}
	char full[SP_DIGEST_HEX_LEN + 1];
	sp_digest_to_hex(&d, full);
	if (renders) {
		c->stats->renders++;
		return remove_entry(c, sfd, n, "render", full, true, err);
	}
	c->stats->bytes += (uint64_t)st.st_size;
	if (payloads) {
		c->stats->payloads++;
		return remove_entry(c, sfd, n, "payload", full, false, err);
	}
	c->stats->objects++;
	return remove_entry(c, sfd, n, "object", full, false, err);
}

static int sweep_object(clean_ctx *c, int sfd, const char *shard, const char *n, sp_error *err)
{
	return sweep_entry(c, sfd, shard, n, false, false, "objects", err);
}

static int sweep_payload(clean_ctx *c, int sfd, const char *shard, const char *n, sp_error *err)
{
	return sweep_entry(c, sfd, shard, n, true, false, "payloads", err);
}

static int sweep_render(clean_ctx *c, int sfd, const char *shard, const char *n, sp_error *err)
{
	return sweep_entry(c, sfd, shard, n, false, true, "renders", err);
}

static int sweep_tmp(clean_ctx *c, sp_error *err)
{
	int dup = openat(c->s->tmp_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* own offset */
	DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
	if (!d) {
		if (dup >= 0)
			close(dup);
		return sp_error_errno(err, "cannot read tmp");
	}
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char label[300];
		snprintf(label, sizeof(label), "tmp/%s", de->d_name);
		c->stats->temps++;
		rc = remove_entry(c, c->s->tmp_fd, de->d_name, "temp", label, true, err);
	}
	closedir(d);
	return rc;
}

/* Removes one cache entry under runtimes/ unless young. */
static int drop_cache(clean_ctx *c, int dirfd, const char *name, const char *label, bool tree,
		      sp_error *err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (is_young(c, &st)) {
		c->stats->kept_young++;
		return 0;
	}
	c->stats->runtime_caches++;
	return remove_entry(c, dirfd, name, "runtime cache", label, tree, err);
}

/* runtimes/masks/xx/<62hex>[.none]: whiteouts of a manifest's masks, kept
 * while the manifest is. */
static int sweep_mask(clean_ctx *c, int sfd, const char *shard, const char *n, sp_error *err)
{
	char label[400];
	snprintf(label, sizeof(label), "runtimes/masks/%s/%s", shard, n);
	if (strncmp(n, ".tmp-", 5) == 0)
		return drop_cache(c, sfd, n, label, true, err);
	size_t len = strlen(n);
	bool none = len == SP_DIGEST_HEX_LEN - 2 + 5 && strcmp(n + len - 5, ".none") == 0;
	char hex[SP_DIGEST_HEX_LEN - 1];
	snprintf(hex, sizeof(hex), "%.62s", n);
	sp_digest d;
	if ((len != SP_DIGEST_HEX_LEN - 2 && !none) || !entry_digest(&d, shard, hex, NULL, NULL) ||
	    spfs_dset__has(&c->live, &d))
		return 0;
	return drop_cache(c, sfd, n, label, !none, err);
}

static int sweep_masks(clean_ctx *c, int rdir, sp_error *err)
{
	int mfd = openat(rdir, "masks", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (mfd < 0)
		return 0;
	int rc = each_shard_entry(c, mfd, "runtimes/masks", sweep_mask, err);
	close(mfd);
	return rc;
}

/* runtimes/flat/<key> names a flattened manifest: kept while it is;
 * runtimes/plans/<name> are cached mount plans: a cache of what a run
 * recomputes in a few milliseconds, so every one past the grace period
 * goes (a plan whose tags moved would otherwise stay forever). */
static int sweep_flat_and_plans(clean_ctx *c, int rdir, const char *sub, sp_error *err)
{
	int fd = openat(rdir, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	bool flat = strcmp(sub, "flat") == 0;
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		const char *n = de->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		char label[400];
		snprintf(label, sizeof(label), "runtimes/%s/%s", sub, n);
		if (flat && strncmp(n, ".tmp-", 5) != 0) {
			_cleanup_free_ char *data = NULL;
			size_t len = 0;
			sp_error ignored = {0};
			sp_digest d_;
			if (sp_read_file_at(&data, &len, dirfd(d), n, 128, &ignored) == 0 &&
			    len >= SP_DIGEST_HEX_LEN) {
				data[SP_DIGEST_HEX_LEN] = '\0';
				if (sp_digest_from_hex(&d_, data, &ignored) == 0 &&
				    spfs_dset__has(&c->live, &d_))
					continue;
			}
		}
		rc = drop_cache(c, dirfd(d), n, label, false, err);
	}
	closedir(d);
	return rc;
}

/* The runtimes/ caches whose objects went (or, for plans, all old ones).
 * Runs after the sweep of renders: a live runtime's lowers are marked. */
static int sweep_runtime_caches(clean_ctx *c, sp_error *err)
{
	int rdir = openat(c->s->dirfd, "runtimes", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rdir < 0)
		return 0;
	int rc = sweep_masks(c, rdir, err);
	if (!rc)
		rc = sweep_flat_and_plans(c, rdir, "flat", err);
	if (!rc)
		rc = sweep_flat_and_plans(c, rdir, "plans", err);
	close(rdir);
	return rc;
}

int spfs_clean(spfs_store *s, const spfs_clean_opts *opts, spfs_clean_cb cb, void *ud,
	       spfs_clean_stats *stats, sp_error *err)
{
	spfs_clean_stats local = {0};
	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	clean_ctx c = {.s = s, .opts = opts, .cb = cb, .ud = ud, .stats = stats, .now = time(NULL)};
	int rc = spfs_store__lock_exclusive(s, err);
	if (rc)
		return rc;
	rc = spfs_store__each_record(s, mark_record, NULL, &c, err);
	if (!rc) /* the layers of live and durable runtimes */
		rc = spfs_runtime__mark_live(s, &c.live, err);
	if (!rc)
		rc = each_shard_entry(&c, s->renders_fd, "renders", sweep_render, err);
	if (!rc)
		rc = each_shard_entry(&c, s->objects_fd, "objects", sweep_object, err);
	if (!rc)
		rc = each_shard_entry(&c, s->payloads_fd, "payloads", sweep_payload, err);
	if (!rc)
		rc = sweep_tmp(&c, err);
	if (!rc)
		rc = sweep_runtime_caches(&c, err);
	if (!rc && !opts->dry_run && sp_sys_syncfs(s->dirfd) < 0)
		rc = sp_error_errno(err, "cannot sync store");
	spfs_store_unlock(s);
	spfs_dset__free(&c.live);
	return rc ? sp_error_prefix(err, "cannot clean %s", s->path) : 0;
}
