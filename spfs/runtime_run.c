/* runtime_run.c - `spfs run`: from refs to a mount plan, then the child
 * that mounts and execs, and the parent that supervises it (the order is
 * written at the top of runtime.c).
 *
 * Masks: a stored render has no whiteouts (render skips mask entries), so
 * a layer with masks gets a second lower directly beneath its render:
 * runtimes/masks/xx/<manifest>, directories and 0:0 character devices (the
 * overlayfs whiteout, which the kernel lets any user make) at the masked
 * paths, made once and reused. Stack: ..., render(k-1), masks(k), render(k), ...
 *
 * Flattening: past the overlay stack limit (SPFS_RUNTIME_MAX_LOWERS, or
 * less from $SPFS_RUNTIME_MAX_LAYERS / spfs.runtime.max_layers, or what
 * fits in a mount(2) option page on kernels without "lowerdir+"), the
 * bottom layers are merged into one manifest (spfs_manifest_overlay, masks
 * applied and dropped: nothing lies below the bottom group, so dropping
 * them loses nothing), written as an object, rendered once (cached) and
 * remembered in runtimes/flat/<key> (key: SHA-256 of the merged manifest
 * digests). The record lists the merged manifest, so clean keeps it while
 * a runtime uses it; afterwards it is a cache that clean may remove.
 */
#include "runtime_internal.h"

#include <dirent.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct stack_item {
	sp_digest digest;   /* the layer (or bare manifest) */
	sp_digest manifest; /* its manifest */
} stack_item;

typedef struct stack {
	stack_item *items;
	size_t count;
} stack;

static void stack_free(stack *st)
{
	free(st->items);
	st->items = NULL;
	st->count = 0;
}

static int stack_push(stack *st, const sp_digest *d, const sp_digest *m, sp_error *err)
{
	if (st->count >= SPFS_MAX_LAYERS)
		return sp_error_set(err, SP_EINVALID, "a stack of more than %u layers",
				    SPFS_MAX_LAYERS);
	if ((st->count & (st->count - 1)) == 0) {
		int rc = sp_realloc_array((void **)&st->items, st->count ? st->count * 2 : 8,
					  sizeof(*st->items), err);
		if (rc)
			return rc;
	}
	st->items[st->count].digest = *d;
	st->items[st->count].manifest = *m;
	st->count++;
	return 0;
}

static int push_object(stack *st, spfs_store *s, const sp_digest *d, spfs_kind kind,
		       const char *ref, sp_error *err)
{
	int rc = 0;
	switch (kind) {
	case SPFS_KIND_PLATFORM: {
		_cleanup_(spfs_platform_freep) spfs_platform *p = NULL;
		if ((rc = spfs_read_platform(&p, s, d, err)))
			return rc;
		for (size_t i = 0; i < p->count && !rc; i++)
			rc = push_object(st, s, &p->layers[i], SPFS_KIND_LAYER, ref, err);
		return rc;
	}
	case SPFS_KIND_LAYER: {
		_cleanup_(spfs_layer_freep) spfs_layer *l = NULL;
		if ((rc = spfs_read_layer(&l, s, d, err)))
			return rc;
		return stack_push(st, d, &l->manifest, err);
	}
	case SPFS_KIND_MANIFEST: return stack_push(st, d, d, err);
	case SPFS_KIND_BLOB: break;
	}
	return sp_error_set(err, SP_EINVALID, "'%s' is a blob, not a platform, layer or manifest",
			    ref);
}

/* Resolves one ref; "A+B" (when no tag of that name exists) is A then B. */
static int resolve_ref(stack *st, spfs_store *s, const char *ref, sp_error *err)
{
	sp_digest d;
	spfs_kind kind;
	int rc = SPFS_ENOTFOUND;
	if (strlen(ref) <= SPFS_MAX_TAG_NAME || !strchr(ref, '+'))
		rc = spfs_resolve(&d, &kind, s, ref, err);
	if (rc == 0)
		return push_object(st, s, &d, kind, ref, err);
	if ((rc != SPFS_ENOTFOUND && rc != SP_EINVALID) || !strchr(ref, '+'))
		return rc;
	_cleanup_free_ char *copy = strdup(ref);
	if (!copy)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	sp_error_clear(err);
	char *save = NULL;
	for (char *part = strtok_r(copy, "+", &save); part; part = strtok_r(NULL, "+", &save)) {
		if ((rc = spfs_resolve(&d, &kind, s, part, err)) ||
		    (rc = push_object(st, s, &d, kind, part, err)))
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------- masks */

static int open_subdir(int *out, int parent, const char *name, sp_error *err)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		*out = fd;
		return 0;
	}
	if (sp_sys_mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
		return sp_error_errno(err, "mkdir %s", name);
	return sp_open_dir_at(out, parent, name, err);
}

/* Creates the parents of path below root (all plain directories). */
static int mkparents_at(int root, const char *path, sp_error *err)
{
	char buf[SPFS_MAX_PATH + 1];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdirat(root, buf, 0755) < 0 && errno != EEXIST)
			return sp_error_errno(err, "mkdir %s", buf);
		*p = '/';
	}
	return 0;
}

/* Ensures runtimes/masks/xx/<62hex> (with whiteouts) or <62hex>.none. */
static int ensure_masks(bool *has, spfs_store *s, int rdir, const sp_digest *manifest,
			sp_error *err)
{
	char hex[SP_DIGEST_HEX_LEN + 1], none[SP_DIGEST_HEX_LEN + 8];
	sp_digest_to_hex(manifest, hex);
	_cleanup_close_ int mdir = -1;
	_cleanup_close_ int shard = -1;
	char xx[3] = {hex[0], hex[1], 0};
	int rc = open_subdir(&mdir, rdir, "masks", err);
	if (!rc)
		rc = open_subdir(&shard, mdir, xx, err);
	if (rc)
		return rc;
	snprintf(none, sizeof(none), "%s.none", hex + 2);
	struct stat st;
	if (fstatat(shard, hex + 2, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		*has = true;
		return 0;
	}
	if (fstatat(shard, none, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		*has = false;
		return 0;
	}
	_cleanup_(spfs_manifest_freep) spfs_manifest *m = NULL;
	if ((rc = spfs_read_manifest(&m, s, manifest, err)))
		return rc;
	size_t masks = 0;
	for (size_t i = 0; i < m->count; i++)
		masks += m->entries[i].kind == SPFS_ENTRY_MASK;
	if (masks == 0) {
		int fd = openat(shard, none, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0444);
		if (fd < 0)
			return sp_error_errno(err, "create runtimes/masks/%s/%s", xx, none);
		close(fd);
		*has = false;
		return 0;
	}
	char tmp[40], rnd[17];
	sp_random_name(rnd, 16);
	snprintf(tmp, sizeof(tmp), ".tmp-%s", rnd);
	if (mkdirat(shard, tmp, 0755) < 0)
		return sp_error_errno(err, "mkdir runtimes/masks/%s/%s", xx, tmp);
	_cleanup_close_ int tfd = -1;
	if ((rc = sp_open_dir_at(&tfd, shard, tmp, err)))
		goto fail;
	for (size_t i = 0; i < m->count && !rc; i++) {
		const spfs_entry *e = &m->entries[i];
		if (e->kind != SPFS_ENTRY_MASK)
			continue;
		if ((rc = mkparents_at(tfd, e->path, err)))
			break;
		if (mknodat(tfd, e->path, S_IFCHR | 0000, makedev(0, 0)) < 0 && errno != EEXIST)
			rc = sp_error_errno(err, "cannot make the whiteout of %s", e->path);
	}
	if (rc)
		goto fail;
	if (renameat2(shard, tmp, shard, hex + 2, RENAME_NOREPLACE) < 0 && errno != EEXIST &&
	    errno != ENOTEMPTY) {
		rc = sp_error_errno(err, "rename runtimes/masks/%s/%s", xx, hex + 2);
		goto fail;
	}
	sp_rm_rf_at(shard, tmp, &(sp_error){0});
	*has = true;
	return 0;
fail:
	sp_rm_rf_at(shard, tmp, &(sp_error){0});
	return sp_error_prefix(err, "cannot record the masks of manifest %s", hex);
}

/* ---------------------------------------------------------- flatten */

static int max_lowers(size_t *out, sp_error *err)
{
	const char *env = getenv("SPFS_RUNTIME_MAX_LAYERS");
	_cleanup_free_ char *cfg = NULL;
	if (!env || !*env) {
		int rc = sp_config_get(&cfg, "spfs.runtime.max_layers", err);
		if (rc)
			return rc;
		env = cfg;
	}
	*out = SPFS_RUNTIME_MAX_LOWERS;
	if (env && *env) {
		char *end = NULL;
		unsigned long v = strtoul(env, &end, 10);
		if (*end || v < 2 || v > SPFS_RUNTIME_MAX_LOWERS)
			return sp_error_set(err, SP_EINVALID,
					    "max_layers '%s' is not a number from 2 to %u", env,
					    SPFS_RUNTIME_MAX_LOWERS);
		*out = v;
	}
	return 0;
}

/* The merged manifest of the bottom `n` items (cached under runtimes/flat). */
static int flatten_bottom(sp_digest *out, spfs_store *s, int rdir, const stack_item *items,
			  size_t n, sp_error *err)
{
	sp_buf key = {0};
	char hex[SP_DIGEST_HEX_LEN + 1];
	int rc = sp_buf_append(&key, "spfs-runtime-flat 1\n", 20, err);
	for (size_t i = 0; i < n && !rc; i++) {
		sp_digest_to_hex(&items[i].manifest, hex);
		rc = sp_buf_printf(&key, err, "%s\n", hex);
	}
	sp_digest kd;
	if (!rc)
		rc = sp_digest_buf(&kd, key.data, key.len, err);
	sp_buf_free(&key);
	if (rc)
		return rc;
	char khex[SP_DIGEST_HEX_LEN + 1];
	sp_digest_to_hex(&kd, khex);
	_cleanup_close_ int fdir = -1;
	if ((rc = open_subdir(&fdir, rdir, "flat", err)))
		return rc;
	_cleanup_free_ char *cached = NULL;
	size_t len = 0;
	sp_error ignored = {0};
	if (sp_read_file_at(&cached, &len, fdir, khex, 128, &ignored) == 0 &&
	    len >= SP_DIGEST_HEX_LEN && sp_digest_from_hex(out, cached, &ignored) == 0 &&
	    spfs_has_object(s, out))
		return 0;
	_cleanup_(spfs_manifest_freep) spfs_manifest *merged = calloc(1, sizeof(*merged));
	if (!merged)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	for (size_t i = 0; i < n && !rc; i++) {
		_cleanup_(spfs_manifest_freep) spfs_manifest *m = NULL;
		if (!(rc = spfs_read_manifest(&m, s, &items[i].manifest, err)))
			rc = spfs_manifest_overlay(merged, m, false, err);
	}
	sp_buf enc = {0};
	if (!rc)
		rc = spfs_manifest_encode(merged, &enc, err);
	if (!rc)
		rc = spfs_write_object(out, s, &enc, err);
	sp_buf_free(&enc);
	if (rc)
		return sp_error_prefix(err, "cannot flatten the bottom %zu layers", n);
	sp_digest_to_hex(out, hex);
	hex[SP_DIGEST_HEX_LEN] = '\n';
	rc = sp_atomic_write_at(fdir, khex, hex, SP_DIGEST_HEX_LEN + 1, 0644, err);
	return rc ? sp_error_prefix(err, "cannot cache a flattened stack") : 0;
}

/* Builds rt->lowers from the stack: renders, masks, flattening. */
static int build_lowers(spfs_runtime *rt, spfs_store *s, const stack *st, sp_error *err)
{
	_cleanup_close_ int rdir = -1;
	int rc = spfs_runtime__dir(&rdir, s, err);
	if (rc)
		return rc;
	size_t n = st->count;
	_cleanup_free_ bool *has = NULL;
	if ((rc = sp_calloc((void **)&has, n ? n : 1, sizeof(*has), err)))
		return rc;
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if ((rc = ensure_masks(&has[i], s, rdir, &st->items[i].manifest, err)))
			return rc;
		total += has[i] ? 2 : 1;
	}
	size_t max;
	if ((rc = max_lowers(&max, err)))
		return rc;
	/* Kernels without "lowerdir+" take one page of options: estimate. */
	size_t per = strlen(s->path) + 80;
	if (total * per > 4000 && !spfs_mount__has_lowerdir_plus()) {
		size_t fit = 3800 / per;
		if (fit < max)
			max = fit < 2 ? 2 : fit;
	}
	size_t first = 0; /* items below `first` are merged into one lower */
	if (total > max) {
		size_t left = total;
		while (first < n && left + 1 > max)
			left -= has[first++] ? 2 : 1;
	}
	size_t cap = total + 2;
	if ((rc = sp_calloc((void **)&rt->lowers, cap, sizeof(*rt->lowers), err)))
		return rc;
	rt->lower_count = 0;
	if (first > 0) {
		sp_digest merged;
		if ((rc = flatten_bottom(&merged, s, rdir, st->items, first, err)))
			return rc;
		_cleanup_free_ char *path = NULL;
		if ((rc = spfs_render_stored(&path, s, &merged, err)))
			return rc;
		rt->lowers[rt->lower_count++] = (spfs_runtime_lower){SPFS_LOWER_RENDER, merged};
	}
	for (size_t i = first; i < n; i++) {
		_cleanup_free_ char *path = NULL;
		if ((rc = spfs_render_stored(&path, s, &st->items[i].manifest, err)))
			return rc;
		if (has[i])
			rt->lowers[rt->lower_count++] =
			    (spfs_runtime_lower){SPFS_LOWER_MASKS, st->items[i].manifest};
		rt->lowers[rt->lower_count++] =
		    (spfs_runtime_lower){SPFS_LOWER_RENDER, st->items[i].manifest};
	}
	if (rt->lower_count == 0) {
		if (sp_sys_mkdirat(rdir, "empty", 0755) < 0 && errno != EEXIST)
			return sp_error_errno(err, "mkdir runtimes/empty");
		rt->lowers[rt->lower_count++] = (spfs_runtime_lower){SPFS_LOWER_EMPTY, {{0}}};
	}
	return 0;
}

/* --------------------------------------------------------- plan cache
 * runtimes/plans/<16 hex>: the stack and the lowers computed for a list of
 * refs and a lower limit. Objects never change, so a plan stays right as
 * long as (1) each tag it went through is unchanged, which is checked the
 * way git checks its index, by the tag file's device, inode, size and
 * mtime (tag files only ever grow, so any change alters the size), taken
 * BEFORE the slow path read the tag; and (2) its lower directories exist,
 * one fstatat each. Otherwise the plan is recomputed. The name is an
 * FNV-1a hash; the content repeats what it is for and is compared in full.
 * With a plan, `spfs run TAG` decodes no object and hashes nothing. */

#define PLAN_HEADER "spfs-runtime-plan 2\n"

/* One canonical ref: a full digest or an existing tag (not TAG~N). */
static int quick_line(sp_buf *b, spfs_store *s, const char *ref, sp_error *err)
{
	size_t len = strlen(ref);
	if (len == SP_DIGEST_HEX_LEN && sp_digest_is_hex(ref, len))
		return sp_buf_printf(b, err, "digest %s\n", ref);
	if (!spfs_tag_name_valid(ref))
		return SPFS_ENOTFOUND;
	char file[SPFS_MAX_TAG_NAME + 8];
	snprintf(file, sizeof(file), "%s.tag", ref);
	struct stat st;
	if (fstatat(s->tags_fd, file, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return SPFS_ENOTFOUND;
	return sp_buf_printf(b, err, "tag %llu %llu %llu %lld %ld %s\n",
			     (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
			     (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec,
			     (long)st.st_mtim.tv_nsec, ref);
}

/* The plan's key lines for refs; false when a ref needs the slow path
 * (prefixes, TAG~N, missing tags). */
static bool quick_key(sp_buf *key, spfs_store *s, const char *const *refs, size_t nrefs, size_t max)
{
	sp_error e = {0};
	if (sp_buf_printf(key, &e, PLAN_HEADER "max %zu\n", max))
		return false;
	for (size_t i = 0; i < nrefs; i++) {
		const char *ref = refs[i];
		int rc = strlen(ref) <= SPFS_MAX_TAG_NAME || !strchr(ref, '+')
			     ? quick_line(key, s, ref, &e)
			     : SPFS_ENOTFOUND;
		if (rc == 0)
			continue;
		if (rc != SPFS_ENOTFOUND || !strchr(ref, '+'))
			return false;
		_cleanup_free_ char *copy = strdup(ref);
		if (!copy)
			return false;
		char *save = NULL;
		for (char *part = strtok_r(copy, "+", &save); part;
		     part = strtok_r(NULL, "+", &save))
			if (quick_line(key, s, part, &e))
				return false;
	}
	return true;
}

static void plan_name(char name[17], const sp_buf *key)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < key->len; i++)
		h = (h ^ (uint8_t)key->data[i]) * 1099511628211ull;
	snprintf(name, 17, "%016llx", (unsigned long long)h);
}

static bool lower_exists(spfs_store *s, int rdir, const spfs_runtime_lower *l)
{
	char hex[SP_DIGEST_HEX_LEN + 1], rel[SP_DIGEST_HEX_LEN + 16];
	sp_digest_to_hex(&l->manifest, hex);
	struct stat st;
	switch (l->kind) {
	case SPFS_LOWER_RENDER:
		snprintf(rel, sizeof(rel), "%.2s/%s", hex, hex + 2);
		return fstatat(s->renders_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		       S_ISDIR(st.st_mode);
	case SPFS_LOWER_MASKS:
		snprintf(rel, sizeof(rel), "masks/%.2s/%s", hex, hex + 2);
		return fstatat(rdir, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
	case SPFS_LOWER_EMPTY:
		return fstatat(rdir, "empty", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
	}
	return false;
}

/* Fills rt->layers and rt->lowers from a cached plan; false when there is
 * none that fits (or its lowers are gone). */
static bool load_plan(spfs_runtime *rt, spfs_store *s, int rdir, const sp_buf *key)
{
	char name[17], rel[32];
	plan_name(name, key);
	snprintf(rel, sizeof(rel), "plans/%s", name);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	sp_error e = {0};
	if (sp_read_file_at(&data, &len, rdir, rel, (size_t)8 << 20, &e))
		return false;
	if (len <= key->len || memcmp(data, key->data, key->len) != 0)
		return false;
	/* the rest is "layer"/"lower" lines: the record parser reads them */
	sp_buf rec = {0};
	bool ok = sp_buf_printf(&rec, &e, "spfs-runtime 1\nid 0000000000000000\npid 1\n") == 0 &&
		  sp_buf_append(&rec, data + key->len, len - key->len, &e) == 0;
	spfs_runtime *p = NULL;
	ok = ok && spfs_runtime__parse(&p, rec.data, rec.len, &e) == 0;
	sp_buf_free(&rec);
	if (!ok)
		return false;
	for (size_t i = 0; i < p->lower_count && ok; i++)
		ok = lower_exists(s, rdir, &p->lowers[i]);
	ok = ok && p->lower_count > 0;
	if (ok) {
		rt->layers = steal_pointer(&p->layers);
		rt->layer_count = p->layer_count;
		rt->lowers = steal_pointer(&p->lowers);
		rt->lower_count = p->lower_count;
	}
	spfs_runtime_free(p);
	return ok;
}

static void save_plan(const spfs_runtime *rt, spfs_store *s, const sp_buf *key)
{
	sp_error e = {0};
	_cleanup_close_ int rdir = -1;
	_cleanup_close_ int pdir = -1;
	if (spfs_runtime__dir(&rdir, s, &e) || open_subdir(&pdir, rdir, "plans", &e))
		return;
	sp_buf b = {0};
	char hex[SP_DIGEST_HEX_LEN + 1];
	int rc = sp_buf_append(&b, key->data, key->len, &e);
	for (size_t i = 0; i < rt->layer_count && !rc; i++) {
		sp_digest_to_hex(&rt->layers[i], hex);
		rc = sp_buf_printf(&b, &e, "layer %s\n", hex);
	}
	for (size_t i = 0; i < rt->lower_count && !rc; i++) {
		sp_digest_to_hex(&rt->lowers[i].manifest, hex);
		rc = sp_buf_printf(&b, &e, "lower %c %s\n", (char)rt->lowers[i].kind, hex);
	}
	char name[17], tmp[40], rnd[17];
	plan_name(name, key);
	sp_random_name(rnd, 16);
	snprintf(tmp, sizeof(tmp), ".tmp-%s", rnd);
	int fd =
	    rc ? -1 : openat(pdir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd >= 0) {
		/* not fsynced: a torn plan fails the comparison and is redone */
		if (sp_write_all(fd, b.data, b.len, &e) || renameat(pdir, tmp, pdir, name) < 0)
			unlinkat(pdir, tmp, 0);
		close(fd);
	}
	sp_buf_free(&b);
}

/* ------------------------------------------------------------ durable */

static int durable_prepare(spfs_runtime *rt, stack *st, spfs_store *s, const spfs_run_opts *o,
			   int *lock_fd, sp_error *err)
{
	const char *name = o->durable;
	if (!spfs_runtime__name_valid(name))
		return sp_error_set(
		    err, SP_EINVALID,
		    "'%.80s' is not a durable runtime name (letters, digits, . _ -; at most %u)",
		    name, SPFS_RUNTIME_NAME_MAX);
	_cleanup_close_ int rdir = -1;
	_cleanup_close_ int ddir = -1;
	_cleanup_close_ int ndir = -1;
	int rc = spfs_runtime__dir(&rdir, s, err);
	if (!rc)
		rc = open_subdir(&ddir, rdir, "durable", err);
	if (rc)
		return rc;
	struct stat sb;
	bool exists = fstatat(ddir, name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
	if (o->rerun && !exists)
		return sp_error_set(err, SPFS_ENOTFOUND, "no durable runtime named '%s'", name);
	if ((rc = open_subdir(&ndir, ddir, name, err)))
		return rc;
	int lfd = openat(ndir, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (lfd < 0)
		return sp_error_errno(err, "open durable/%s/lock", name);
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		close(lfd);
		return sp_error_set(err, SPFS_ELOCKED, "durable runtime '%s' is in use", name);
	}
	*lock_fd = lfd;
	char hex[SP_DIGEST_HEX_LEN + 1];
	if (exists) {
		/* the stack file is the truth for a durable runtime */
		char rel[SPFS_RUNTIME_NAME_MAX + 16];
		snprintf(rel, sizeof(rel), "%s/stack", name);
		_cleanup_free_ char *data = NULL;
		size_t len = 0;
		if ((rc = sp_read_file_at(&data, &len, ddir, rel, (size_t)8 << 20, err)))
			return sp_error_prefix(err, "durable runtime '%s'", name);
		stack saved = {0};
		for (char *p = data; *p && !rc;) {
			char *nl = strchr(p, '\n');
			sp_digest d;
			if (!nl || nl - p != 6 + SP_DIGEST_HEX_LEN ||
			    strncmp(p, "layer ", 6) != 0) {
				rc = sp_error_set(err, SP_EINVALID, "durable/%s/stack is malformed",
						  name);
				break;
			}
			*nl = '\0';
			if (!(rc = sp_digest_from_hex(&d, p + 6, err))) {
				spfs_kind kind;
				if (!(rc = spfs_resolve(&d, &kind, s, p + 6, err)))
					rc = push_object(&saved, s, &d, kind, p + 6, err);
			}
			p = nl + 1;
		}
		if (rc) {
			stack_free(&saved);
			return sp_error_prefix(err, "durable runtime '%s'", name);
		}
		if (o->rerun) {
			stack_free(st);
			*st = saved;
		} else {
			bool same = saved.count == st->count;
			for (size_t i = 0; same && i < st->count; i++)
				same = sp_digest_cmp(&saved.items[i].digest,
						     &st->items[i].digest) == 0;
			stack_free(&saved);
			if (!same)
				return sp_error_set(err, SP_EEXISTS,
						    "durable runtime '%s' exists with another "
						    "stack; use --rerun %s, or "
						    "'spfs runtime rm %s'",
						    name, name, name);
		}
	} else {
		sp_buf b = {0};
		for (size_t i = 0; i < st->count && !rc; i++) {
			sp_digest_to_hex(&st->items[i].digest, hex);
			rc = sp_buf_printf(&b, err, "layer %s\n", hex);
		}
		if (!rc)
			rc = sp_atomic_write_at(ndir, "stack", b.data ? b.data : "", b.len, 0644,
						err);
		sp_buf_free(&b);
		if (rc)
			return sp_error_prefix(err, "cannot create durable runtime '%s'", name);
	}
	if ((sp_sys_mkdirat(ndir, "upper", 0755) < 0 && errno != EEXIST) ||
	    (sp_sys_mkdirat(ndir, "work", 0700) < 0 && errno != EEXIST))
		return sp_error_errno(err, "mkdir durable/%s/upper", name);
	size_t n = strlen(s->path) + SPFS_RUNTIME_NAME_MAX + 40;
	if (!(rt->upper = malloc(n)) || !(rt->work = malloc(n)) || !(rt->durable = strdup(name)))
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	snprintf(rt->upper, n, "%s/runtimes/durable/%s/upper", s->path, name);
	snprintf(rt->work, n, "%s/runtimes/durable/%s/work", s->path, name);
	return 0;
}

/* -------------------------------------------------------------- exec */

/* The child's memory. As root the child is started with CLONE_VM |
 * CLONE_VFORK (the supervisor's pages are not copied, which was a third of
 * a fast launch): it then shares the supervisor's heap and must not call
 * malloc, so everything it builds goes into this arena, allocated before
 * the clone. The fork path (rootless, sanitizers) uses the same code. */
typedef struct child_arena {
	char *buf;
	size_t used, cap;
} child_arena;

enum { CHILD_STACK_SIZE = 256 * 1024, MAX_STARTUP = 256 };
#define STARTUP_LIMIT_MSG                                                                          \
	"more than %d startup scripts in " SPFS_RUNTIME_MOUNTPOINT "/etc/spfs/startup.d (run "     \
	"with --no-startup, or merge them)"

/* What exec_argv and exec_envp can need: pointer arrays for argv and the
 * environment, the two variables, and at most MAX_STARTUP script names
 * with their sourcing lines (each name copied once and quoted, every byte
 * at most 4 when quoted). Untouched pages cost nothing. */
static size_t child_arena_size(char *const *argv, const char *storage)
{
	size_t n = 16;
	while (argv && argv[n - 16])
		n++;
	for (size_t i = 0; environ[i]; i++)
		n++;
	return n * sizeof(char *) + strlen(storage) + 256 +
	       (size_t)MAX_STARTUP * (NAME_MAX + 1) * 6 + 4096;
}

static void *arena_alloc(child_arena *a, size_t n)
{
	size_t at = (a->used + 15) & ~(size_t)15;
	if (at > a->cap || n > a->cap - at)
		return NULL;
	a->used = at + n;
	return a->buf + at;
}

static char *arena_strdup(child_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = arena_alloc(a, n);
	if (d)
		memcpy(d, s, n);
	return d;
}

/* Appends to the string being built at the arena's end (no alignment). */
static bool arena_cat(child_arena *a, const char *s, size_t n)
{
	if (n > a->cap - a->used)
		return false;
	memcpy(a->buf + a->used, s, n);
	a->used += n;
	return true;
}

/* Appends s single-quoted for sh and csh ('\'' inside). */
static bool arena_quote(child_arena *a, const char *s)
{
	bool ok = arena_cat(a, "'", 1);
	for (; *s && ok; s++)
		ok = *s == '\'' ? arena_cat(a, "'\\''", 4) : arena_cat(a, s, 1);
	return ok && arena_cat(a, "'", 1);
}

/* Startup scripts in name order (*.sh, or *.csh for csh/tcsh), read with
 * getdents64 (opendir allocates). More than MAX_STARTUP is MAX_STARTUP + 1:
 * an error, never a silently shorter list. */
static size_t startup_scripts(char **names, child_arena *a, const char *suffix)
{
	int fd =
	    open(SPFS_RUNTIME_MOUNTPOINT "/etc/spfs/startup.d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t n = 0, sl = strlen(suffix);
	char buf[8192];
	long got;
	while (n <= MAX_STARTUP && (got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < got && n <= MAX_STARTUP;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);
			off += de->d_reclen;
			size_t l = strlen(de->d_name);
			if (l <= sl || strcmp(de->d_name + l - sl, suffix) != 0 ||
			    de->d_name[0] == '.')
				continue;
			if (n == MAX_STARTUP) {
				n++;
				break;
			}
			char *copy = arena_strdup(a, de->d_name);
			if (!copy)
				break;
			/* insertion sort: qsort may allocate */
			size_t i = n++;
			for (; i > 0 && strcmp(names[i - 1], copy) > 0; i--)
				names[i] = names[i - 1];
			names[i] = copy;
		}
	}
	close(fd);
	return n;
}

/* argv for exec: the command itself, or a shell that sources the startup
 * scripts first. NULL when the arena is full (errno E2BIG) or there are
 * more than MAX_STARTUP startup scripts (EMLINK). */
static char **exec_argv(child_arena *a, char *const *argv, const spfs_run_opts *o)
{
	const char *shell = getenv("SHELL");
	if (!shell || shell[0] != '/')
		shell = "/bin/sh";
	const char *base = strrchr(shell, '/') ? strrchr(shell, '/') + 1 : shell;
	bool csh = o->shell && (strcmp(base, "csh") == 0 || strcmp(base, "tcsh") == 0);
	char *scripts[MAX_STARTUP];
	size_t ns = o->no_startup ? 0 : startup_scripts(scripts, a, csh ? ".csh" : ".sh");
	errno = ns > MAX_STARTUP ? EMLINK : E2BIG;
	if (ns > MAX_STARTUP)
		return NULL;
	size_t argc = 0;
	while (argv && argv[argc])
		argc++;
	char **v = arena_alloc(a, (argc + 8) * sizeof(*v));
	if (!v)
		return NULL;
	memset(v, 0, (argc + 8) * sizeof(*v));
	char *const *cmd = o->shell ? (char *const[]){(char *)shell, NULL} : argv;
	size_t cmdc = o->shell ? 1 : argc;
	if (ns == 0) {
		memcpy(v, cmd, cmdc * sizeof(*v));
		return v;
	}
	char *script = a->buf + a->used;
	bool ok = true;
	for (size_t i = 0; i < ns && ok; i++)
		ok = arena_cat(a, csh ? "source " : ". ", csh ? 7 : 2) &&
		     arena_quote(a, SPFS_RUNTIME_MOUNTPOINT "/etc/spfs/startup.d/") &&
		     arena_quote(a, scripts[i]) && arena_cat(a, "\n", 1);
	/* '/dir/''name': adjacent quoted words join in sh and csh */
	if (csh)
		ok = ok && arena_cat(a, "exec ", 5) && arena_quote(a, shell) && arena_cat(a, "", 1);
	else
		ok = ok && arena_cat(a, "exec \"$@\"", 10);
	if (!ok)
		return NULL;
	if (csh) {
		v[0] = (char *)shell;
		v[1] = "-c";
		v[2] = script;
		return v;
	}
	v[0] = "/bin/sh";
	v[1] = "-c";
	v[2] = script;
	v[3] = "spfs-startup";
	memcpy(v + 4, cmd, cmdc * sizeof(*v));
	return v;
}

/* The environment for the command: the caller's, with SPFS_RUNTIME and
 * SPFS_STORAGE set. */
static char **exec_envp(child_arena *a, const char *id, const char *storage)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **e = arena_alloc(a, (n + 3) * sizeof(*e));
	if (!e)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "SPFS_RUNTIME=", 13) != 0 &&
		    strncmp(environ[i], "SPFS_STORAGE=", 13) != 0)
			e[k++] = environ[i];
	char *rt = a->buf + a->used;
	if (!arena_cat(a, "SPFS_RUNTIME=", 13) || !arena_cat(a, id, strlen(id) + 1))
		return NULL;
	char *st = a->buf + a->used;
	if (!arena_cat(a, "SPFS_STORAGE=", 13) || !arena_cat(a, storage, strlen(storage) + 1))
		return NULL;
	e[k++] = rt;
	e[k++] = st;
	e[k] = NULL;
	return e;
}

int spfs_runtime_startup_exec(char *const *argv, bool shell, sp_error *err)
{
	size_t cap = child_arena_size(argv, "");
	child_arena a = {.buf = malloc(cap), .cap = cap};
	spfs_run_opts o = {.shell = shell};
	char **v = a.buf ? exec_argv(&a, argv, &o) : NULL;
	if (!v) {
		free(a.buf);
		return errno == EMLINK
			   ? sp_error_set(err, SP_EINVALID, STARTUP_LIMIT_MSG, MAX_STARTUP)
			   : sp_error_set(err, SP_ENOMEM, "the command line is too long");
	}
	execvp(v[0], v);
	sp_error_errno(err, "cannot run %s", v[0]);
	free(a.buf);
	return err->code;
}

/* In the child: report an error through the pipe and exit. */
static _Noreturn void child_fail(int fd, int code, const sp_error *err)
{
	size_t n = strlen(err->msg);
	if (write(fd, err->msg, n) < 0) {
		/* nothing more to do */
	}
	_exit(code);
}

typedef struct child_args {
	int status_fd;
	const sigset_t *oldmask;
	spfs_runtime *rt;
	spfs_store *s;
	const spfs_mount_plan *plan;
	char *const *argv;
	const spfs_run_opts *o;
	const char *helper; /* not root: exec spfs-enter (runtime_enter.c), or NULL */
	child_arena arena;
} child_args;

/* Enters the namespace, mounts and execs. Allocates nothing (see
 * child_arena): it may share the supervisor's memory. */
static int child_main(void *arg)
{
	child_args *c = arg;
	const spfs_mount_plan *plan = c->plan;
	sp_error err = {0};
	if (c->helper) /* forked, not sharing memory: may allocate */
		spfs_runtime__exec_helper(c->status_fd, c->oldmask, c->helper, c->rt, c->s, plan,
					  c->argv, c->o);
	/* Default dispositions and the caller's mask for the command. */
	signal(SIGPIPE, SIG_DFL);
	if ((plan->rootless ? spfs_mount__enter_rootless(geteuid(), getegid(), &err)
			    : spfs_mount__enter(&err)) ||
	    (plan->scratch && spfs_mount__scratch(plan, &err)) ||
	    spfs_mount__overlay(plan, false, &err) || (plan->rootless && spfs_mount__drop(&err))) {
		sp_error_prefix(&err, "cannot set up runtime %s", c->rt->id);
		child_fail(c->status_fd, SPFS_RUN_ESETUP, &err);
	}
	/* A working directory inside /spfs referred to the old mount. */
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) && strncmp(cwd, SPFS_RUNTIME_MOUNTPOINT, 5) == 0 &&
	    (cwd[5] == '/' || cwd[5] == '\0') && chdir(cwd) < 0 && chdir("/") < 0) {
		/* stay where we are */
	}
	char **v = exec_argv(&c->arena, c->argv, c->o);
	char **envp = exec_envp(&c->arena, c->rt->id, spfs_store_path(c->s));
	if (!v || !envp) {
		if (!v && errno == EMLINK)
			sp_error_set(&err, SP_EINVALID, STARTUP_LIMIT_MSG, MAX_STARTUP);
		else
			sp_error_set(&err, SP_ENOMEM,
				     "the command line and environment are too long");
		child_fail(c->status_fd, SPFS_RUN_ESETUP, &err);
	}
	/* Not root: no inherited descriptor beyond 0-2 reaches the command,
	 * as with spfs-enter (docs/runtime.md). */
	if (plan->rootless && close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) < 0) {
		sp_error_errno(&err, "close_range");
		child_fail(c->status_fd, SPFS_RUN_ESETUP, &err);
	}
	sigprocmask(SIG_SETMASK, c->oldmask, NULL);
	execvpe(v[0], v, envp);
	int e = errno;
	sp_error_errno(&err, "cannot run %s", v[0]);
	child_fail(c->status_fd, e == ENOENT ? SPFS_RUN_ENOENT : SPFS_RUN_ENOEXEC, &err);
}

/* Starts child_main. As root, with CLONE_VM | CLONE_VFORK: this returns
 * once the child has exec'd or failed. Rootless needs fork: a process
 * sharing its memory cannot unshare(CLONE_NEWUSER). ASan cannot follow a
 * child running on a stack of ours, so sanitized builds fork too. */
static pid_t start_child(child_args *c, bool may_share_vm)
{
#if defined(__SANITIZE_ADDRESS__)
	may_share_vm = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	may_share_vm = false;
#endif
#endif
	if (!may_share_vm) {
		pid_t pid = fork();
		if (pid == 0)
			child_main(c);
		return pid;
	}
	char *stk = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stk == MAP_FAILED)
		return -1;
	/* a guard page below the stack (it grows down) */
	mprotect(stk, 4096, PROT_NONE);
	pid_t pid = clone(child_main, stk + CHILD_STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, c);
	int e = errno;
	munmap(stk, CHILD_STACK_SIZE);
	errno = e;
	return pid;
}

static int status_of(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return SPFS_RUN_ESETUP;
}

/* Waits for the child, forwarding signals sent to us with kill(2). */
static int supervise(pid_t child, const sigset_t *set)
{
	for (;;) {
		siginfo_t si;
		/* A timeout as well: a SIGCHLD taken by a thread that did not
		 * block it (none should exist) must not hang us. */
		struct timespec ts = {1, 0};
		int sig = sigtimedwait(set, &si, &ts);
		if (sig < 0)
			sig = SIGCHLD; /* EINTR (SIGCONT after a stop) or timeout: look */
		if (sig == SIGCHLD) {
			int ws;
			pid_t r;
			while ((r = waitpid(-1, &ws, WNOHANG)) > 0)
				if (r == child)
					return status_of(ws);
			continue;
		}
		/* Terminal signals (SI_KERNEL) went to the whole foreground
		 * process group, the child included: do not send them twice. */
		if (si.si_code == SI_KERNEL)
			continue;
		kill(child, sig);
	}
}

/* Picks the id; an editable runtime's scratch mountpoint reserves it. */
static int make_id(spfs_runtime *rt, spfs_store *s, bool scratch, sp_error *err)
{
	_cleanup_close_ int rdir = -1;
	int rc = spfs_runtime__dir(&rdir, s, err);
	if (rc)
		return rc;
	char rnd[SPFS_RUNTIME_ID_LEN + 1], rel[SPFS_RUNTIME_ID_LEN + 16];
	for (int tries = 0;; tries++) {
		struct stat st;
		sp_random_name(rnd, SPFS_RUNTIME_ID_LEN);
		snprintf(rel, sizeof(rel), "%s.scratch", rnd);
		if (fstatat(rdir, rnd, &st, AT_SYMLINK_NOFOLLOW) == 0 && tries < 10)
			continue;
		if (!scratch || sp_sys_mkdirat(rdir, rel, 0755) == 0)
			break;
		if (errno != EEXIST || tries > 10)
			return sp_error_errno(err, "cannot create runtimes/%s", rel);
	}
	memcpy(rt->id, rnd, sizeof(rnd));
	if (!scratch)
		return 0;
	size_t n = strlen(s->path) + 64;
	if (!(rt->scratch = malloc(n)) || !(rt->upper = malloc(n)) || !(rt->work = malloc(n)))
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	snprintf(rt->scratch, n, "%s/runtimes/%s", s->path, rel);
	snprintf(rt->upper, n, "%s/upper", rt->scratch);
	snprintf(rt->work, n, "%s/work", rt->scratch);
	return 0;
}

static void remove_record(spfs_store *s, const char *id)
{
	sp_error ignored = {0};
	_cleanup_close_ int rdir = -1;
	if (id[0] && spfs_runtime__dir(&rdir, s, &ignored) == 0)
		spfs_runtime__remove_files(rdir, id, &ignored);
}

/* After the exec: the child's identity, then the record. Skipped when the
 * command is gone already. */
static void write_record(spfs_runtime *rt, spfs_store *s, pid_t child)
{
	char path[64];
	struct stat st;
	rt->pid = (int)child;
	rt->started = (int64_t)time(NULL);
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)child);
	if (!spfs_runtime__proc_start(rt->pid, &rt->start_ticks) || stat(path, &st) < 0)
		return;
	rt->mntns = (uint64_t)st.st_ino;
	sp_error err = {0};
	if (spfs_runtime__write(s, rt, &err))
		sp_warn("runtime %s has no record (spfs clean will not see it): %s", rt->id,
			err.msg);
}

static int run(int *exit_status, spfs_store *s, const char *const *refs, size_t nrefs,
	       char *const *argv, const spfs_run_opts *o, const sigset_t *set, const sigset_t *old,
	       sp_error *err)
{
	static const spfs_run_opts defaults = {0};
	if (!o)
		o = &defaults;
	*exit_status = SPFS_RUN_ESETUP;
	if (!o->shell && (!argv || !argv[0]))
		return sp_error_set(err, SP_EINVALID, "no command to run");
	if (o->rerun && !o->durable)
		return sp_error_set(err, SP_EINVALID, "rerun needs a durable runtime name");
	bool rootless = geteuid() != 0; /* then in a user namespace of our own */
	/* or, not root, through the setcap helper spfs-enter (runtime_enter.c) */
	_cleanup_free_ char *helper = NULL;
	if (rootless && spfs_runtime__helper(&helper, err))
		return sp_error_prefix(err, "cannot start a runtime");
	if (strchr(spfs_store_path(s), '\n'))
		return sp_error_set(err, SP_EINVALID, "the store path contains a newline");
	_cleanup_(spfs_runtime_freep) spfs_runtime *rt = calloc(1, sizeof(*rt));
	if (!rt)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	stack st = {0};
	_cleanup_close_ int durable_lock = -1;
	char **paths = NULL;
	spfs_mount_plan plan;
	int rc = spfs_store_lock_shared(s, err);
	if (rc)
		return rc;
	/* 1. the whole plan, validated, before anything is mounted */
	sp_buf key = {0};
	size_t max = 0;
	bool planned = false, keyed = false;
	if (!o->durable && (rc = max_lowers(&max, err)) == 0 &&
	    quick_key(&key, s, refs, nrefs, max)) {
		_cleanup_close_ int rdir = -1;
		sp_error ignored = {0};
		keyed = true;
		if (spfs_runtime__dir(&rdir, s, &ignored) == 0)
			planned = load_plan(rt, s, rdir, &key);
	}
	for (size_t i = 0; i < nrefs && !rc && !planned; i++)
		rc = resolve_ref(&st, s, refs[i], err);
	if (!rc && !planned && o->durable)
		rc = durable_prepare(rt, &st, s, o, &durable_lock, err);
	if (!rc && !planned)
		rc = build_lowers(rt, s, &st, err);
	if (!rc && !planned && st.count && !(rt->layers = malloc(st.count * sizeof(*rt->layers))))
		rc = sp_error_set(err, SP_ENOMEM, "out of memory");
	for (size_t i = 0; i < st.count && !rc && !planned; i++)
		rt->layers[rt->layer_count++] = st.items[i].digest;
	if (!rc && !planned && keyed)
		save_plan(rt, s, &key);
	sp_buf_free(&key);
	rt->editable = o->editable || o->durable;
	_cleanup_free_ char *tmpfs_size = NULL;
	if (!rc && rt->editable && !o->durable)
		rc = spfs_runtime__tmpfs_size(&tmpfs_size, err);
	if (!rc)
		rc = make_id(rt, s, rt->editable && !o->durable, err);
	if (!rc)
		rc = spfs_runtime__plan(&plan, &paths, s, rt, err);
	if (!rc) {
		plan.tmpfs_size = tmpfs_size;
		plan.rootless = rootless;
		rc = spfs_mount__check(&plan, err);
	}
	if (!rc) {
		struct stat sb;
		if (stat(SPFS_RUNTIME_MOUNTPOINT, &sb) < 0 &&
		    mkdir(SPFS_RUNTIME_MOUNTPOINT, 0755) < 0 && errno != EEXIST)
			rc = rootless
				 ? sp_error_set(err, SP_ENOTFOUND,
						"%s does not exist; root must create it once "
						"(mkdir %s)",
						SPFS_RUNTIME_MOUNTPOINT, SPFS_RUNTIME_MOUNTPOINT)
				 : sp_error_errno(err, "cannot create %s", SPFS_RUNTIME_MOUNTPOINT);
	}
	stack_free(&st);
	if (rc) {
		spfs_store_unlock(s);
		remove_record(s, rt->id);
		spfs_runtime__free_paths(paths, rt->lower_count);
		return sp_error_prefix(err, "cannot start a runtime");
	}
	/* 2. fork; the child mounts and execs */
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		rc = sp_error_errno(err, "pipe");
		goto fail;
	}
	fflush(NULL);
	size_t arena_cap = child_arena_size(argv, spfs_store_path(s));
	child_args ca = {.status_fd = pfd[1],
			 .oldmask = old,
			 .rt = rt,
			 .s = s,
			 .plan = &plan,
			 .argv = argv,
			 .o = o,
			 .helper = helper,
			 .arena = {.buf = malloc(arena_cap), .cap = arena_cap}};
	pid_t child = ca.arena.buf ? start_child(&ca, !rootless) : (errno = ENOMEM, -1);
	if (child < 0) {
		rc = sp_error_errno(err, "cannot start the runtime's process");
		free(ca.arena.buf);
		close(pfd[0]);
		close(pfd[1]);
		goto fail;
	}
	free(ca.arena.buf);
	close(pfd[1]);
	char msg[SP_ERROR_MSG_MAX];
	size_t got = 0;
	for (;;) {
		ssize_t r = read(pfd[0], msg + got, sizeof(msg) - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (got += (size_t)r) >= sizeof(msg) - 1)
			break;
	}
	close(pfd[0]);
	msg[got] = '\0';
	/* 3. the command runs (or failed): record it, then clean may run */
	if (!got)
		write_record(rt, s, child);
	spfs_store_unlock(s);
	*exit_status = supervise(child, set);
	remove_record(s, rt->id);
	spfs_runtime__free_paths(paths, rt->lower_count);
	if (got)
		return sp_error_set(err, SP_ERROR, "%s", msg);
	return 0;
fail:
	spfs_store_unlock(s);
	remove_record(s, rt->id);
	spfs_runtime__free_paths(paths, rt->lower_count);
	return sp_error_prefix(err, "cannot start a runtime");
}

int spfs_runtime_run(int *exit_status, spfs_store *s, const char *const *refs, size_t nrefs,
		     char *const *argv, const spfs_run_opts *o, sp_error *err)
{
	/* Blocked from the start, before the render thread pool may start:
	 * threads inherit the mask, so every one of these signals waits for
	 * the supervisor's sigtimedwait instead of reaching (and, for SIGCHLD,
	 * being dropped by, or for SIGTERM killing us through) another thread. */
	sigset_t set, old;
	sigemptyset(&set);
	static const int forwarded[] = {SIGINT,	 SIGTERM, SIGHUP, SIGQUIT,
					SIGUSR1, SIGUSR2, SIGCHLD};
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	int rc = run(exit_status, s, refs, nrefs, argv, o, &set, &old, err);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
