/* reach.c - digest sets and reachability from tags (used by check and clean). */
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

static size_t slot_of(const sp_digest *d, size_t mask)
{
	size_t h;
	memcpy(&h, d->bytes, sizeof(h));
	return h & mask;
}

static int grow(spfs_dset *s, sp_error *err)
{
	size_t cap = s->mask ? (s->mask + 1) * 2 : 1024;
	sp_digest *slots = NULL;
	int rc = sp_calloc((void **)&slots, cap, sizeof(*slots), err);
	if (rc)
		return rc;
	for (size_t i = 0; s->slots && i <= s->mask; i++) {
		if (sp_digest_is_zero(&s->slots[i]))
			continue;
		size_t j = slot_of(&s->slots[i], cap - 1);
		while (!sp_digest_is_zero(&slots[j]))
			j = (j + 1) & (cap - 1);
		slots[j] = s->slots[i];
	}
	free(s->slots);
	s->slots = slots;
	s->mask = cap - 1;
	return 0;
}

int spfs_dset__add(spfs_dset *s, const sp_digest *d, sp_error *err)
{
	if (!s->slots || (s->count + 1) * 2 > s->mask + 1) {
		int rc = grow(s, err);
		if (rc)
			return rc;
	}
	for (size_t i = slot_of(d, s->mask);; i = (i + 1) & s->mask) {
		if (sp_digest_is_zero(&s->slots[i])) {
			s->slots[i] = *d;
			s->count++;
			return 1;
		}
		if (sp_digest_cmp(&s->slots[i], d) == 0)
			return 0;
	}
}

bool spfs_dset__has(const spfs_dset *s, const sp_digest *d)
{
	if (!s->slots)
		return false;
	for (size_t i = slot_of(d, s->mask);; i = (i + 1) & s->mask) {
		if (sp_digest_is_zero(&s->slots[i]))
			return false;
		if (sp_digest_cmp(&s->slots[i], d) == 0)
			return true;
	}
}

void spfs_dset__free(spfs_dset *s)
{
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

int spfs_store__mark(spfs_store *s, spfs_dset *set, const sp_digest *d, spfs_missing_cb cb,
		     spfs_entry_cb entry_cb, void *ud, sp_error *err)
{
	int rc = spfs_dset__add(set, d, err);
	if (rc <= 0)
		return rc;
	if (!spfs_has_object(s, d)) {
		if (!spfs_has_payload(s, d) && cb)
			cb(d, "missing", ud);
		return 0;
	}
	sp_buf b = {0};
	spfs_kind kind;
	sp_error e2 = {0};
	if ((rc = spfs_read_object(&b, &kind, s, d, &e2))) {
		if (cb)
			cb(d, e2.msg, ud);
		return 0;
	}
	rc = 0;
	if (kind == SPFS_KIND_MANIFEST) {
		spfs_manifest *m = NULL;
		if (spfs_manifest_decode(&m, b.data, b.len, &e2) == 0) {
			for (size_t i = 0; i < m->count && rc >= 0; i++) {
				const spfs_entry *e = &m->entries[i];
				if (entry_cb &&
				    (e->kind == SPFS_ENTRY_SYMLINK || e->kind == SPFS_ENTRY_FILE))
					entry_cb(e, ud);
				if (e->kind == SPFS_ENTRY_SYMLINK) {
					/* keeps the symlink payload renders link to */
					rc = spfs_dset__add(set, &e->digest, err);
					continue;
				}
				if (e->kind != SPFS_ENTRY_FILE)
					continue;
				rc = spfs_dset__add(set, &e->digest, err);
				if (rc > 0 && cb && !spfs_has_payload(s, &e->digest)) {
					char why[SPFS_MAX_PATH + 64];
					snprintf(why, sizeof(why), "missing (content of %s)",
						 e->path);
					cb(&e->digest, why, ud);
				}
			}
			spfs_manifest_free(m);
		} else if (cb) {
			cb(d, e2.msg, ud);
		}
	} else if (kind == SPFS_KIND_LAYER) {
		spfs_layer *l = NULL;
		if (spfs_layer_decode(&l, b.data, b.len, &e2) == 0) {
			rc = spfs_store__mark(s, set, &l->manifest, cb, entry_cb, ud, err);
			spfs_layer_free(l);
		} else if (cb) {
			cb(d, e2.msg, ud);
		}
	} else if (kind == SPFS_KIND_PLATFORM) {
		spfs_platform *p = NULL;
		if (spfs_platform_decode(&p, b.data, b.len, &e2) == 0) {
			for (size_t i = 0; i < p->count && rc >= 0; i++)
				rc = spfs_store__mark(s, set, &p->layers[i], cb, entry_cb, ud, err);
			spfs_platform_free(p);
		} else if (cb) {
			cb(d, e2.msg, ud);
		}
	}
	sp_buf_free(&b);
	return rc < 0 ? rc : 0;
}

typedef struct each_ctx {
	spfs_store *s;
	spfs_record_cb cb;
	spfs_tag_odd_cb odd;
	void *ud;
	sp_error *err;
} each_ctx;

static void each_odd(const char *path, const char *why, void *ud)
{
	each_ctx *c = ud;
	c->odd(path, why, c->ud);
}

static int each_tag(const char *name, void *ud)
{
	each_ctx *c = ud;
	spfs_tag_history h = {0};
	sp_error e2 = {0};
	int rc = spfs_tag_read(&h, c->s, name, &e2);
	if (rc) {
		/* A damaged tag with no readable record is still reported. */
		return c->cb(name, 0, NULL, 1, c->ud);
	}
	for (size_t i = 0; i < h.count && !rc; i++)
		rc = c->cb(name, h.count - 1 - i, &h.records[i], h.dropped, c->ud);
	spfs_tag_history_free(&h);
	return rc;
}

int spfs_store__each_record(spfs_store *s, spfs_record_cb cb, spfs_tag_odd_cb odd, void *ud,
			    sp_error *err)
{
	each_ctx c = {s, cb, odd, ud, err};
	return spfs_tag_walk(s, "", each_tag, odd ? each_odd : NULL, &c, err);
}
