/* encode.c - canonical binary encodings of manifests, layers and platforms.
 *
 * Every encoding starts with an ASCII header "spfs:<kind>:1\n" followed by
 * big-endian fixed-width fields (docs/store-format.md). The decoders are the
 * trust boundary for anything read from disk, a remote or a bake: they check
 * every length against the remaining bytes and the SPFS_MAX_* limits, every
 * name, the canonical order and the normalised modes, so the same tree can
 * only ever have one encoding. */
#include "spfs.h"

#include <stdlib.h>
#include <string.h>

#define HDR_MANIFEST "spfs:manifest:1\n"
#define HDR_LAYER    "spfs:layer:1\n"
#define HDR_PLATFORM "spfs:platform:1\n"

/* ---------------------------------------------------------------- writer */

static int put_u8(sp_buf *b, uint8_t v, sp_error *err)
{
	return sp_buf_append(b, &v, 1, err);
}

static int put_u16(sp_buf *b, uint16_t v, sp_error *err)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return sp_buf_append(b, x, 2, err);
}

static int put_u32(sp_buf *b, uint32_t v, sp_error *err)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return sp_buf_append(b, x, 4, err);
}

static int put_u64(sp_buf *b, uint64_t v, sp_error *err)
{
	int rc = put_u32(b, (uint32_t)(v >> 32), err);
	return rc ? rc : put_u32(b, (uint32_t)v, err);
}

/* ---------------------------------------------------------------- reader */

typedef struct reader {
	const uint8_t *p;
	size_t left;
	sp_error *err;
	const char *what;
} reader;

static int short_input(reader *r)
{
	return sp_error_set(r->err, SPFS_ECORRUPT, "%s is truncated", r->what);
}

static int get_bytes(reader *r, const uint8_t **out, size_t n)
{
	if (r->left < n)
		return short_input(r);
	*out = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

static int get_u8(reader *r, uint8_t *v)
{
	const uint8_t *p = NULL;
	int rc = get_bytes(r, &p, 1);
	if (!rc)
		*v = p[0];
	return rc;
}

static int get_u16(reader *r, uint16_t *v)
{
	const uint8_t *p = NULL;
	int rc = get_bytes(r, &p, 2);
	if (!rc)
		*v = (uint16_t)(p[0] << 8 | p[1]);
	return rc;
}

static int get_u32(reader *r, uint32_t *v)
{
	const uint8_t *p = NULL;
	int rc = get_bytes(r, &p, 4);
	if (!rc)
		*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return rc;
}

static int get_u64(reader *r, uint64_t *v)
{
	uint32_t hi, lo;
	int rc = get_u32(r, &hi);
	if (!rc)
		rc = get_u32(r, &lo);
	if (!rc)
		*v = (uint64_t)hi << 32 | lo;
	return rc;
}

static int get_digest(reader *r, sp_digest *d)
{
	const uint8_t *p = NULL;
	int rc = get_bytes(r, &p, SP_DIGEST_LEN);
	if (!rc)
		memcpy(d->bytes, p, SP_DIGEST_LEN);
	return rc;
}

static int expect_header(reader *r, const char *hdr)
{
	size_t n = strlen(hdr);
	if (r->left < n || memcmp(r->p, hdr, n) != 0)
		return sp_error_set(r->err, SPFS_ECORRUPT, "%s: missing header '%.*s'", r->what,
				    (int)(n - 1), hdr);
	r->p += n;
	r->left -= n;
	return 0;
}

static int trailing(reader *r)
{
	if (r->left)
		return sp_error_set(r->err, SPFS_ECORRUPT, "%s: %zu unexpected bytes at the end",
				    r->what, r->left);
	return 0;
}

int spfs_object_kind(spfs_kind *out, const void *data, size_t n, sp_error *err)
{
	static const struct {
		const char *hdr;
		spfs_kind kind;
	} kinds[] = {
	    {HDR_MANIFEST, SPFS_KIND_MANIFEST},
	    {HDR_LAYER, SPFS_KIND_LAYER},
	    {HDR_PLATFORM, SPFS_KIND_PLATFORM},
	};
	for (size_t i = 0; i < 3; i++) {
		size_t l = strlen(kinds[i].hdr);
		if (n >= l && memcmp(data, kinds[i].hdr, l) == 0) {
			*out = kinds[i].kind;
			return 0;
		}
	}
	return sp_error_set(err, SPFS_ECORRUPT, "not an spfs object (unknown header)");
}

/* -------------------------------------------------------------- manifest */

static bool mode_valid(spfs_entry_kind kind, uint32_t mode)
{
	switch (kind) {
	case SPFS_ENTRY_FILE: return mode == 0644 || mode == 0755;
	case SPFS_ENTRY_DIR: return mode == 0755;
	case SPFS_ENTRY_SYMLINK: return mode == 0777;
	case SPFS_ENTRY_MASK: return mode == 0;
	}
	return false;
}

int spfs_manifest_encode(const spfs_manifest *m, sp_buf *out, sp_error *err)
{
	if (m->count > SPFS_MAX_ENTRIES)
		return sp_error_set(err, SP_EINVALID, "manifest has too many entries (%zu)",
				    m->count);
	int rc = sp_buf_append(out, HDR_MANIFEST, strlen(HDR_MANIFEST), err);
	if (!rc)
		rc = put_u32(out, (uint32_t)m->count, err);
	for (size_t i = 0; !rc && i < m->count; i++) {
		const spfs_entry *e = &m->entries[i];
		size_t plen = strlen(e->path);
		if (plen > SPFS_MAX_PATH)
			return sp_error_set(err, SP_EINVALID, "path too long: %.100s...", e->path);
		rc = put_u8(out, (uint8_t)e->kind, err);
		if (!rc)
			rc = put_u32(out, e->mode, err);
		if (!rc)
			rc = put_u64(out, e->size, err);
		if (!rc)
			rc = sp_buf_append(out, e->digest.bytes, SP_DIGEST_LEN, err);
		if (!rc)
			rc = put_u16(out, (uint16_t)plen, err);
		if (!rc)
			rc = sp_buf_append(out, e->path, plen, err);
		if (!rc && e->kind == SPFS_ENTRY_SYMLINK)
			rc = sp_buf_append(out, e->target, e->size, err);
	}
	return rc;
}

/* Validates `path` and finds the depth; the parent must be the directory
 * most recently opened on the stack `dirs` (canonical order guarantees it). */
static int check_path(reader *r, const char *path, size_t len)
{
	if (len == 0)
		return sp_error_set(r->err, SPFS_ECORRUPT, "%s: entry with an empty name", r->what);
	size_t start = 0, depth = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || path[i] == '/') {
			if (!spfs_name_valid(path + start, i - start))
				return sp_error_set(r->err, SPFS_ECORRUPT,
						    "%s: invalid entry name '%.*s' in '%.200s'",
						    r->what, (int)(i - start), path + start, path);
			if (++depth > SPFS_MAX_DEPTH)
				return sp_error_set(r->err, SPFS_ECORRUPT,
						    "%s: '%.100s...' is nested too deep", r->what,
						    path);
			start = i + 1;
		}
	}
	return 0;
}

int spfs_manifest_decode(spfs_manifest **out, const void *data, size_t n, sp_error *err)
{
	reader r = {.p = data, .left = n, .err = err, .what = "manifest"};
	if (n > SPFS_MAX_OBJECT_SIZE)
		return sp_error_set(err, SPFS_ECORRUPT, "manifest larger than %zu bytes",
				    SPFS_MAX_OBJECT_SIZE);
	int rc = expect_header(&r, HDR_MANIFEST);
	uint32_t count = 0;
	if (!rc)
		rc = get_u32(&r, &count);
	if (rc)
		return rc;
	/* Each entry takes at least 48 bytes, which bounds a lying count. */
	if (count > SPFS_MAX_ENTRIES || count > r.left / 48)
		return sp_error_set(err, SPFS_ECORRUPT, "manifest: entry count %u does not fit",
				    count);
	_cleanup_(spfs_manifest_freep) spfs_manifest *m = calloc(1, sizeof(*m));
	if (!m)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	if (count && (rc = sp_calloc((void **)&m->entries, count, sizeof(*m->entries), err)))
		return rc;
	m->cap = count;
	for (uint32_t i = 0; i < count; i++) {
		spfs_entry *e = &m->entries[i];
		uint8_t kind;
		uint16_t plen;
		const uint8_t *pbytes = NULL;
		if ((rc = get_u8(&r, &kind)) || (rc = get_u32(&r, &e->mode)) ||
		    (rc = get_u64(&r, &e->size)) || (rc = get_digest(&r, &e->digest)) ||
		    (rc = get_u16(&r, &plen)) || (rc = get_bytes(&r, &pbytes, plen)))
			return rc;
		e->kind = (spfs_entry_kind)kind;
		if (kind < SPFS_ENTRY_DIR || kind > SPFS_ENTRY_MASK)
			return sp_error_set(err, SPFS_ECORRUPT,
					    "manifest: entry %u has unknown kind %u", i, kind);
		if (plen > SPFS_MAX_PATH)
			return sp_error_set(err, SPFS_ECORRUPT, "manifest: entry %u path too long",
					    i);
		e->path = malloc((size_t)plen + 1);
		if (!e->path)
			return sp_error_set(err, SP_ENOMEM, "out of memory");
		memcpy(e->path, pbytes, plen);
		e->path[plen] = '\0';
		m->count = i + 1;
		if ((rc = check_path(&r, e->path, plen)))
			return rc;
		if (!mode_valid(e->kind, e->mode))
			return sp_error_set(err, SPFS_ECORRUPT,
					    "manifest: '%.200s': mode %o is not valid for a %s",
					    e->path, e->mode, spfs_entry_kind_name(e->kind));
		if (i > 0 && spfs_path_cmp(m->entries[i - 1].path, e->path) >= 0)
			return sp_error_set(err, SPFS_ECORRUPT,
					    "manifest: '%.200s' is out of order or repeated",
					    e->path);
		/* The parent must be present, and be a directory. */
		const char *slash = strrchr(e->path, '/');
		if (slash) {
			char *parent = strndup(e->path, (size_t)(slash - e->path));
			if (!parent)
				return sp_error_set(err, SP_ENOMEM, "out of memory");
			spfs_manifest view = {.entries = m->entries, .count = i};
			const spfs_entry *p = spfs_manifest_find(&view, parent);
			free(parent);
			if (!p || p->kind != SPFS_ENTRY_DIR)
				return sp_error_set(err, SPFS_ECORRUPT,
						    "manifest: '%.200s' has no parent directory",
						    e->path);
		}
		switch (e->kind) {
		case SPFS_ENTRY_SYMLINK: {
			const uint8_t *t = NULL;
			if (e->size == 0 || e->size > SPFS_MAX_TARGET)
				return sp_error_set(
				    err, SPFS_ECORRUPT,
				    "manifest: symlink '%.200s' has a bad target length", e->path);
			if ((rc = get_bytes(&r, &t, (size_t)e->size)))
				return rc;
			if (memchr(t, '\0', (size_t)e->size))
				return sp_error_set(
				    err, SPFS_ECORRUPT,
				    "manifest: symlink '%.200s' target contains NUL", e->path);
			e->target = strndup((const char *)t, (size_t)e->size);
			if (!e->target)
				return sp_error_set(err, SP_ENOMEM, "out of memory");
			sp_digest d;
			if ((rc = sp_digest_buf(&d, t, (size_t)e->size, err)))
				return rc;
			if (sp_digest_cmp(&d, &e->digest))
				return sp_error_set(
				    err, SPFS_ECORRUPT,
				    "manifest: symlink '%.200s' digest does not match its target",
				    e->path);
			break;
		}
		case SPFS_ENTRY_DIR:
		case SPFS_ENTRY_MASK:
			if (e->size || !sp_digest_is_zero(&e->digest))
				return sp_error_set(
				    err, SPFS_ECORRUPT,
				    "manifest: %s '%.200s' carries a size or digest",
				    spfs_entry_kind_name(e->kind), e->path);
			break;
		case SPFS_ENTRY_FILE: break;
		}
	}
	if ((rc = trailing(&r)))
		return rc;
	*out = steal_pointer(&m);
	return 0;
}

/* ----------------------------------------------------------------- layer */

void spfs_layer_free(spfs_layer *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->annotation_count; i++) {
		free(l->annotations[i].key);
		free(l->annotations[i].value);
	}
	free(l->annotations);
	free(l);
}

void spfs_layer_freep(spfs_layer **l)
{
	spfs_layer_free(*l);
}

int spfs_layer_encode(const spfs_layer *l, sp_buf *out, sp_error *err)
{
	if (l->annotation_count > SPFS_MAX_ANNOTATIONS)
		return sp_error_set(err, SP_EINVALID, "too many annotations");
	int rc = sp_buf_append(out, HDR_LAYER, strlen(HDR_LAYER), err);
	if (!rc)
		rc = sp_buf_append(out, l->manifest.bytes, SP_DIGEST_LEN, err);
	if (!rc)
		rc = put_u32(out, (uint32_t)l->annotation_count, err);
	for (size_t i = 0; !rc && i < l->annotation_count; i++) {
		const spfs_annotation *a = &l->annotations[i];
		size_t kl = strlen(a->key), vl = strlen(a->value);
		if (kl == 0 || kl > 255 || vl > 65535)
			return sp_error_set(err, SP_EINVALID,
					    "annotation '%.50s' is empty or too long", a->key);
		if (i > 0 && strcmp(l->annotations[i - 1].key, a->key) >= 0)
			return sp_error_set(err, SP_EINVALID,
					    "annotations not sorted or repeated at '%.50s'",
					    a->key);
		rc = put_u16(out, (uint16_t)kl, err);
		if (!rc)
			rc = sp_buf_append(out, a->key, kl, err);
		if (!rc)
			rc = put_u32(out, (uint32_t)vl, err);
		if (!rc)
			rc = sp_buf_append(out, a->value, vl, err);
	}
	return rc;
}

int spfs_layer_decode(spfs_layer **out, const void *data, size_t n, sp_error *err)
{
	reader r = {.p = data, .left = n, .err = err, .what = "layer"};
	_cleanup_(spfs_layer_freep) spfs_layer *l = calloc(1, sizeof(*l));
	if (!l)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	uint32_t count = 0;
	int rc = expect_header(&r, HDR_LAYER);
	if (!rc)
		rc = get_digest(&r, &l->manifest);
	if (!rc)
		rc = get_u32(&r, &count);
	if (rc)
		return rc;
	if (count > SPFS_MAX_ANNOTATIONS || count > r.left / 7)
		return sp_error_set(err, SPFS_ECORRUPT, "layer: annotation count %u does not fit",
				    count);
	if (count &&
	    (rc = sp_calloc((void **)&l->annotations, count, sizeof(*l->annotations), err)))
		return rc;
	for (uint32_t i = 0; i < count; i++) {
		uint16_t kl;
		uint32_t vl;
		const uint8_t *k = NULL, *v = NULL;
		if ((rc = get_u16(&r, &kl)) || (rc = get_bytes(&r, &k, kl)) ||
		    (rc = get_u32(&r, &vl)) || (rc = get_bytes(&r, &v, vl)))
			return rc;
		if (kl == 0 || kl > 255 || vl > 65535 || memchr(k, 0, kl) || memchr(v, 0, vl))
			return sp_error_set(err, SPFS_ECORRUPT, "layer: annotation %u is malformed",
					    i);
		spfs_annotation *a = &l->annotations[i];
		a->key = strndup((const char *)k, kl);
		a->value = strndup((const char *)v, vl);
		l->annotation_count = i + 1;
		if (!a->key || !a->value)
			return sp_error_set(err, SP_ENOMEM, "out of memory");
		if (i > 0 && strcmp(l->annotations[i - 1].key, a->key) >= 0)
			return sp_error_set(err, SPFS_ECORRUPT,
					    "layer: annotation keys out of order at '%.50s'",
					    a->key);
	}
	if ((rc = trailing(&r)))
		return rc;
	*out = steal_pointer(&l);
	return 0;
}

/* -------------------------------------------------------------- platform */

void spfs_platform_free(spfs_platform *p)
{
	if (!p)
		return;
	free(p->layers);
	free(p);
}

void spfs_platform_freep(spfs_platform **p)
{
	spfs_platform_free(*p);
}

int spfs_platform_encode(const spfs_platform *p, sp_buf *out, sp_error *err)
{
	if (p->count > SPFS_MAX_LAYERS)
		return sp_error_set(err, SP_EINVALID, "platform has too many layers (%zu)",
				    p->count);
	int rc = sp_buf_append(out, HDR_PLATFORM, strlen(HDR_PLATFORM), err);
	if (!rc)
		rc = put_u32(out, (uint32_t)p->count, err);
	for (size_t i = 0; !rc && i < p->count; i++)
		rc = sp_buf_append(out, p->layers[i].bytes, SP_DIGEST_LEN, err);
	return rc;
}

int spfs_platform_decode(spfs_platform **out, const void *data, size_t n, sp_error *err)
{
	reader r = {.p = data, .left = n, .err = err, .what = "platform"};
	_cleanup_(spfs_platform_freep) spfs_platform *p = calloc(1, sizeof(*p));
	if (!p)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	uint32_t count = 0;
	int rc = expect_header(&r, HDR_PLATFORM);
	if (!rc)
		rc = get_u32(&r, &count);
	if (rc)
		return rc;
	if (count > SPFS_MAX_LAYERS || (size_t)count * SP_DIGEST_LEN != r.left)
		return sp_error_set(err, SPFS_ECORRUPT,
				    "platform: layer count %u does not match its size", count);
	if (count && (rc = sp_calloc((void **)&p->layers, count, sizeof(*p->layers), err)))
		return rc;
	for (uint32_t i = 0; i < count; i++)
		if ((rc = get_digest(&r, &p->layers[i])))
			return rc;
	p->count = count;
	*out = steal_pointer(&p);
	return 0;
}
