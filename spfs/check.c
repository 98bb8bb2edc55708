/* check.c - `spfs check`: re-hash everything, decode every object, verify
 * every tag's closure. Nothing is trusted: names are checked to be digests,
 * symlinks inside the store are reported, never followed.
 * One damaged object or payload is one problem: it is reported after the
 * tags are walked, naming the tag records that need it ("used by a, b~1"),
 * so a person sees what the damage affects without counting it per tag. */
#include "store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

typedef struct item {
	uv_work_t req;
	spfs_store *s;
	bool payload;
	bool exec;
	bool link; /* a symlink payload (<digest>.l): its target is hashed */
	bool bad;
	sp_digest digest;
	uint64_t size;
	char shard[3];
	char name[72];
	char detail[256];
} item;

/* A damaged object or payload variant and the tag records that need it. */
typedef struct damaged {
	sp_digest key; /* an object's digest, or a payload's variant_key */
	const item *it;
	sp_buf users; /* "tag, tag~1, ...", the first MAX_USERS_NAMED */
	size_t nusers;
} damaged;

#define MAX_USERS_NAMED 16

typedef struct check_ctx {
	spfs_store *s;
	spfs_problem_cb cb;
	void *ud;
	spfs_check_stats *stats;
	item *items;
	size_t count, cap;
	damaged *damaged; /* sorted by key (owned, with each users buffer) */
	size_t ndamaged;
	sp_progress progress;
} check_ctx;

static void problem(check_ctx *c, const char *what, const char *name, const char *detail)
{
	c->stats->problems++;
	spfs_problem p = {what, name, detail};
	if (c->cb)
		c->cb(&p, c->ud);
}

static void check_work(uv_work_t *req)
{
	item *it = req->data;
	int parent = it->payload ? it->s->payloads_fd : it->s->objects_fd;
	char rel[80];
	snprintf(rel, sizeof(rel), "%s/%s", it->shard, it->name);
	if (it->link) {
		char target[SPFS_MAX_TARGET + 1];
		ssize_t n = readlinkat(parent, rel, target, sizeof(target));
		sp_digest got;
		sp_error e2 = {0};
		if (n <= 0 || (size_t)n > SPFS_MAX_TARGET) {
			it->bad = true;
			snprintf(it->detail, sizeof(it->detail), "%s",
				 n < 0 && errno == EINVAL ? "should be a symbolic link"
							  : "unreadable symbolic link");
		} else if (sp_digest_buf(&got, target, (size_t)n, &e2) == 0 &&
			   sp_digest_cmp(&got, &it->digest)) {
			it->bad = true;
			snprintf(it->detail, sizeof(it->detail),
				 "symbolic link target does not match its digest");
		}
		it->size = n > 0 ? (uint64_t)n : 0;
		return;
	}
	_cleanup_close_ int fd =
	    openat(parent, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		it->bad = true;
		snprintf(it->detail, sizeof(it->detail), "%s",
			 errno == ELOOP ? "is a symbolic link (refusing to follow it)"
					: strerror(errno));
		return;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		it->bad = true;
		snprintf(it->detail, sizeof(it->detail), "is not a regular file");
		return;
	}
	sp_error err = {0};
	sp_digest got;
	if (!it->payload) {
		char *data = NULL;
		size_t len = 0;
		if (sp_read_file_at(&data, &len, parent, rel, SPFS_MAX_OBJECT_SIZE, &err)) {
			it->bad = true;
			snprintf(it->detail, sizeof(it->detail), "%s", err.msg);
			return;
		}
		it->size = len;
		sp_digest_buf(&got, data, len, &err);
		if (sp_digest_cmp(&got, &it->digest) == 0) {
			spfs_kind kind;
			int rc = spfs_object_kind(&kind, data, len, &err);
			void *obj = NULL;
			if (!rc && kind == SPFS_KIND_MANIFEST)
				rc = spfs_manifest_decode((spfs_manifest **)&obj, data, len, &err),
				spfs_manifest_free(obj);
			else if (!rc && kind == SPFS_KIND_LAYER)
				rc = spfs_layer_decode((spfs_layer **)&obj, data, len, &err),
				spfs_layer_free(obj);
			else if (!rc && kind == SPFS_KIND_PLATFORM)
				rc = spfs_platform_decode((spfs_platform **)&obj, data, len, &err),
				spfs_platform_free(obj);
			if (rc) {
				it->bad = true;
				snprintf(it->detail, sizeof(it->detail), "does not decode: %s",
					 err.msg);
			}
		}
		free(data);
	} else if (sp_digest_fd(&got, &it->size, fd, &err)) {
		it->bad = true;
		snprintf(it->detail, sizeof(it->detail), "%s", err.msg);
		return;
	}
	if (!it->bad && sp_digest_cmp(&got, &it->digest)) {
		char hex[SP_DIGEST_HEX_LEN + 1], want[SP_DIGEST_HEX_LEN + 1];
		sp_digest_to_hex(&got, hex);
		sp_digest_to_hex(&it->digest, want);
		it->bad = true;
		snprintf(it->detail, sizeof(it->detail),
			 "content does not match: expected %s, got %s", want, hex);
	}
	if (!it->bad && it->payload && (st.st_mode & 0222))
		snprintf(it->detail, sizeof(it->detail),
			 "is writable (mode %o); payloads must be read-only", st.st_mode & 07777);
}

/* Lists one of objects/ or payloads/; odd names are problems, temp files
 * are reported as leftovers. */
static int collect(check_ctx *c, bool payload, sp_error *err)
{
	int parent = payload ? c->s->payloads_fd : c->s->objects_fd;
	const char *area = payload ? "payloads" : "objects";
	int dup = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* own offset */
	DIR *top = dup >= 0 ? fdopendir(dup) : NULL;
	if (!top) {
		if (dup >= 0)
			close(dup);
		return sp_error_errno(err, "cannot read %s", area);
	}
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(top))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char where[300];
		snprintf(where, sizeof(where), "%s/%s", area, de->d_name);
		if (strlen(de->d_name) != 2 || !sp_digest_is_hex(de->d_name, 2)) {
			problem(c, "store", where, "unexpected entry");
			continue;
		}
		int sfd =
		    openat(parent, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0) {
			problem(c, "store", where,
				errno == ELOOP || errno == ENOTDIR
				    ? "is not a directory (a symbolic link?)"
				    : strerror(errno));
			continue;
		}
		DIR *d = fdopendir(sfd);
		if (!d) {
			close(sfd);
			continue;
		}
		struct dirent *fe;
		while ((fe = readdir(d))) {
			if (strcmp(fe->d_name, ".") == 0 || strcmp(fe->d_name, "..") == 0)
				continue;
			char full[SP_DIGEST_HEX_LEN + 8];
			size_t n = strlen(fe->d_name);
			bool exec = payload && n == SP_DIGEST_HEX_LEN &&
				    strcmp(fe->d_name + n - 2, ".x") == 0;
			bool link = payload && n == SP_DIGEST_HEX_LEN &&
				    strcmp(fe->d_name + n - 2, ".l") == 0;
			size_t hexlen = exec || link ? n - 2 : n;
			if (strncmp(fe->d_name, ".tmp-", 5) == 0) {
				if (c->cb) {
					spfs_problem p = {
					    "temp", where,
					    "leftover temporary file (removed by 'spfs clean')"};
					c->cb(&p, c->ud);
				}
				continue;
			}
			if (hexlen != SP_DIGEST_HEX_LEN - 2 ||
			    !sp_digest_is_hex(fe->d_name, hexlen)) {
				char w[600];
				snprintf(w, sizeof(w), "%s/%s", where, fe->d_name);
				problem(c, "store", w, "unexpected file name");
				continue;
			}
			if (c->count == c->cap) {
				c->cap = c->cap ? c->cap * 2 : 1024;
				if ((rc = sp_realloc_array((void **)&c->items, c->cap,
							   sizeof(*c->items), err)))
					break;
			}
			item *it = &c->items[c->count++];
			memset(it, 0, sizeof(*it));
			it->s = c->s;
			it->payload = payload;
			it->exec = exec;
			it->link = link;
			memcpy(it->shard, de->d_name, 3);
			snprintf(it->name, sizeof(it->name), "%s", fe->d_name);
			snprintf(full, sizeof(full), "%s%.*s", de->d_name, (int)hexlen, fe->d_name);
			sp_digest_from_hex(&it->digest, full, err);
		}
		closedir(d);
	}
	closedir(top);
	return rc;
}

typedef struct closure_ctx {
	check_ctx *c;
	const char *tag;
	size_t back;
	spfs_dset blamed; /* damaged things already charged to this record */
	sp_error *err;
} closure_ctx;

enum { VARIANT_PLAIN, VARIANT_EXEC, VARIANT_LINK };

/* A payload's digest made distinct per stored variant (plain, ".x", ".l"),
 * so a damaged variant blames only the records that use that one. */
static sp_digest variant_key(const sp_digest *d, int variant)
{
	sp_digest k = *d;
	k.bytes[SP_DIGEST_LEN - 1] ^= (uint8_t)(0x5b * (variant + 1));
	return k;
}

static int damaged_cmp(const void *a, const void *b)
{
	return memcmp(&((const damaged *)a)->key, &((const damaged *)b)->key, sizeof(sp_digest));
}

static damaged *find_damaged(check_ctx *c, const sp_digest *key)
{
	if (!c->ndamaged)
		return NULL;
	damaged probe = {.key = *key};
	return bsearch(&probe, c->damaged, c->ndamaged, sizeof(*c->damaged), damaged_cmp);
}

/* The current record needs the damaged thing d: add it to d's users, once. */
static void charge(closure_ctx *cc, damaged *d)
{
	if (spfs_dset__add(&cc->blamed, &d->key, cc->err) <= 0)
		return;
	if (d->nusers++ >= MAX_USERS_NAMED)
		return;
	sp_error ignored = {0};
	if (cc->back)
		sp_buf_printf(&d->users, &ignored, "%s%s~%zu", d->users.len ? ", " : "", cc->tag,
			      cc->back);
	else
		sp_buf_printf(&d->users, &ignored, "%s%s", d->users.len ? ", " : "", cc->tag);
}

static void on_missing(const sp_digest *d, const char *why, void *ud)
{
	closure_ctx *cc = ud;
	/* a damaged object cannot be read: it is one problem, reported with
	 * its users, not once more per record */
	damaged *known = find_damaged(cc->c, d);
	if (known) {
		charge(cc, known);
		return;
	}
	char hex[SP_DIGEST_HEX_LEN + 1], name[SPFS_MAX_TAG_NAME + 32], detail[SPFS_MAX_PATH + 200];
	sp_digest_to_hex(d, hex);
	snprintf(name, sizeof(name), "%s~%zu", cc->tag, cc->back);
	snprintf(detail, sizeof(detail), "needs %s: %s", hex, why);
	problem(cc->c, "closure", name, detail);
}

static void on_entry(const spfs_entry *e, void *ud)
{
	closure_ctx *cc = ud;
	int variant = e->kind == SPFS_ENTRY_SYMLINK ? VARIANT_LINK
		      : e->mode == 0755		    ? VARIANT_EXEC
						    : VARIANT_PLAIN;
	sp_digest k = variant_key(&e->digest, variant);
	damaged *d = find_damaged(cc->c, &k);
	if (d)
		charge(cc, d);
}

static int on_record(const char *tag, size_t back, const spfs_tag_record *r, size_t dropped,
		     void *ud)
{
	closure_ctx *cc = ud;
	check_ctx *c = cc->c;
	if (back == 0 || !r) {
		c->stats->tags++;
		if (dropped) {
			char detail[128];
			snprintf(detail, sizeof(detail),
				 r ? "%zu damaged or torn record%s dropped from its history"
				   : "no readable record",
				 dropped, dropped == 1 ? "" : "s");
			problem(c, "tag", tag, detail);
		}
	}
	if (!r)
		return 0;
	cc->tag = tag;
	cc->back = back;
	sp_error err = {0};
	/* Each tag record is walked with a fresh set so every record that
	 * needs a damaged object is named among its users. A damaged payload
	 * is charged (on_entry) only to records whose entries use its
	 * variant. */
	spfs_dset seen = {0};
	cc->err = &err;
	int rc = spfs_store__mark(c->s, &seen, &r->target, on_missing, on_entry, cc, &err);
	for (size_t i = 0; !rc && seen.slots && i <= seen.mask; i++) {
		damaged *d =
		    sp_digest_is_zero(&seen.slots[i]) ? NULL : find_damaged(c, &seen.slots[i]);
		if (d)
			charge(cc, d);
	}
	spfs_dset__free(&seen);
	spfs_dset__free(&cc->blamed);
	return rc;
}

/* An entry of tags/ that is not a tag: reported, the walk goes on. */
static void on_odd_tag(const char *path, const char *why, void *ud)
{
	closure_ctx *cc = ud;
	char name[SPFS_MAX_TAG_NAME + 320];
	snprintf(name, sizeof(name), "tags/%s", path);
	problem(cc->c, "tag", name, why);
}

/* Staging directories under tmp/ belong to transactions that are running
 * or died; reported for information, removed by clean. */
static void report_tmp(check_ctx *c)
{
	int fd = openat(c->s->tmp_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || !c->cb)
			continue;
		char name[300];
		snprintf(name, sizeof(name), "tmp/%s", de->d_name);
		spfs_problem p = {
		    "temp", name,
		    "leftover of a running or interrupted transaction (removed by 'spfs clean')"};
		c->cb(&p, c->ud);
	}
	closedir(d);
}

static int add_damaged(check_ctx *c, const item *it, sp_error *err)
{
	if (c->ndamaged % 64 == 0) {
		damaged *n = reallocarray(c->damaged, c->ndamaged + 64, sizeof(*n));
		if (!n)
			return sp_error_set(err, SP_ENOMEM, "out of memory");
		c->damaged = n;
	}
	damaged *d = &c->damaged[c->ndamaged++];
	memset(d, 0, sizeof(*d));
	d->it = it;
	d->key = !it->payload ? it->digest
			      : variant_key(&it->digest, it->link   ? VARIANT_LINK
							 : it->exec ? VARIANT_EXEC
								    : VARIANT_PLAIN);
	return 0;
}

/* One problem per damaged thing, with what it breaks. */
static int report_damaged(check_ctx *c, sp_error *err)
{
	for (size_t i = 0; i < c->ndamaged; i++) {
		const damaged *d = &c->damaged[i];
		char hex[SP_DIGEST_HEX_LEN + 1];
		sp_digest_to_hex(&d->it->digest, hex);
		_cleanup_(sp_buf_free) sp_buf detail = {0};
		int rc = d->nusers == 0
			     ? sp_buf_printf(&detail, err, "%s; no tag uses it", d->it->detail)
			     : sp_buf_printf(&detail, err, "%s; used by %s", d->it->detail,
					     d->users.data ? d->users.data : "?");
		if (!rc && d->nusers > MAX_USERS_NAMED)
			rc = sp_buf_printf(&detail, err, " and %zu more tag records",
					   d->nusers - MAX_USERS_NAMED);
		if (rc)
			return rc;
		problem(c, d->it->payload ? "payload" : "object", hex, detail.data);
	}
	return 0;
}

static check_ctx *current_ctx; /* the progress display is driven from the loop thread only */

static void check_done_cb(uv_work_t *req, int status)
{
	item *it = req->data;
	sp_progress_add(&current_ctx->progress, 1, it->size);
}

int spfs_check(spfs_store *s, spfs_problem_cb cb, void *ud, spfs_check_stats *stats, sp_error *err)
{
	spfs_check_stats local = {0};
	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	check_ctx c = {.s = s, .cb = cb, .ud = ud, .stats = stats};
	int rc = spfs_store_lock_shared(s, err);
	if (rc)
		return rc;
	if ((rc = collect(&c, false, err)) || (rc = collect(&c, true, err)))
		goto out;
	uv_loop_t loop;
	if (uv_loop_init(&loop)) {
		rc = sp_error_set(err, SP_ERROR, "cannot start the thread pool");
		goto out;
	}
	current_ctx = &c;
	sp_progress_start(&c.progress, "checking", c.count);
	for (size_t i = 0; i < c.count; i++) {
		c.items[i].req.data = &c.items[i];
		uv_queue_work(&loop, &c.items[i].req, check_work, check_done_cb);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	sp_progress_done(&c.progress);
	for (size_t i = 0; i < c.count; i++) {
		item *it = &c.items[i];
		char hex[SP_DIGEST_HEX_LEN + 1];
		sp_digest_to_hex(&it->digest, hex);
		if (it->payload)
			stats->payloads++;
		else
			stats->objects++;
		stats->bytes += it->size;
		if (it->bad) {
			if (!(rc = add_damaged(&c, it, err)))
				continue;
			goto out;
		} else if (it->detail[0]) {
			problem(&c, "payload", hex, it->detail);
		}
	}
	if (c.ndamaged)
		qsort(c.damaged, c.ndamaged, sizeof(*c.damaged), damaged_cmp);
	report_tmp(&c);
	closure_ctx cc = {.c = &c};
	rc = spfs_store__each_record(s, on_record, on_odd_tag, &cc, err);
	if (!rc)
		rc = report_damaged(&c, err);
out:
	spfs_store_unlock(s);
	free(c.items);
	for (size_t i = 0; i < c.ndamaged; i++)
		sp_buf_free(&c.damaged[i].users);
	free(c.damaged);
	return rc;
}

static int count_tag(const char *name, void *ud)
{
	(void)name;
	((spfs_check_stats *)ud)->tags++;
	return 0;
}

int spfs_store_usage(spfs_check_stats *out, spfs_store *s, sp_error *err)
{
	memset(out, 0, sizeof(*out));
	check_ctx c = {.s = s, .stats = out};
	int rc = collect(&c, false, err);
	if (!rc)
		rc = collect(&c, true, err);
	for (size_t i = 0; !rc && i < c.count; i++) {
		item *it = &c.items[i];
		char rel[80];
		snprintf(rel, sizeof(rel), "%s/%s", it->shard, it->name);
		struct stat st;
		if (fstatat(it->payload ? s->payloads_fd : s->objects_fd, rel, &st,
			    AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		out->bytes += (uint64_t)st.st_size;
		if (it->payload)
			out->payloads++;
		else
			out->objects++;
	}
	free(c.items);
	out->problems = 0;
	if (!rc)
		rc = spfs_tag_list(s, "", count_tag, out, err);
	return rc;
}
