/* repo.c - SPK package repositories stored in SpFS (see pkg.h and
 * docs/packages.md).
 *
 * Tags: spk/spec/NAME/VERSION (recipe), spk/spec/NAME/VERSION/BUILD (a
 * build's spec), spk/pkg/NAME/VERSION/BUILD/COMPONENT (layers), spk/index.
 *
 * The index blob (spk/index) is text:
 *     spk-index 1 <count>\n
 *     <spec digest> <flags> <tag> <embedded,names|->\n   (sorted by tag)
 * flags: "-" or a set of letters: d deprecated, x not a readable spec.
 * Reading it is checked twice: the set of spk/spec/ tag names (one readdir
 * walk, no tag file read) when the repository is opened, and the targets of
 * one package's tags when a solve first asks for that package. Any mismatch
 * rebuilds the index from the tags (every spec blob read and parsed).
 *
 * Order of writes (publish, deprecate, copy): spec blobs (and, for copy,
 * payloads, manifests, layers) first, then the spec/pkg tags, then the
 * index. A crash between leaves an index that the next reader finds stale
 * and rebuilds; it never leaves a tag pointing at a missing object. The
 * index tag is removed and set again so its history stays one record long
 * (a reader in between finds no index and rebuilds). */
#include "pkg/pkg.h"
#include "pkg/yamltree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define SPEC_PREFIX "spk/spec/"
#define PKG_PREFIX  "spk/pkg/"
#define INDEX_MAGIC "spk-index 1"

typedef struct ent {
	pkg_repo_entry pub;
	const pkg_spec *spec; /* parsed, NULL until needed (arena) */
	const char *problem;  /* why invalid (arena), when known */
} ent;

typedef struct spec_slot {
	sp_digest d;
	const pkg_spec *sp; /* NULL: empty slot */
} spec_slot;

typedef struct cached {
	const char *name;	/* arena */
	bool emb;		/* embedders of name, else builds of name */
	const solver_build **v; /* arena */
	size_t n;
} cached;

struct pkg_repo {
	solver_arena *a; /* owns every string, spec and returned array */
	spfs_store *s;	 /* borrowed */
	const pkg_limits *lim;
	solver_repo repo;
	ent *ents; /* malloc'd, sorted by tag */
	size_t n;
	cached *cache; /* malloc'd */
	size_t ncache, capcache;
	const char **verified; /* names whose tag targets were checked (malloc'd array) */
	size_t nverified, capverified;
	spec_slot *skeys; /* parsed specs by blob digest (malloc'd; specs in the arena) */
	size_t sn, scap;
};

/* ------------------------------------------------------------ helpers */

static int grow(void **v, size_t *cap, size_t n, size_t size, sp_error *err)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	int rc = sp_realloc_array(v, nc, size, err);
	if (!rc)
		*cap = nc;
	return rc;
}

/* Reads a spec blob: payload d, at most max bytes, re-hashed. */
static int read_blob(char **out, size_t *len, spfs_store *s, const sp_digest *d, size_t max,
		     sp_error *err)
{
	char hex[SP_DIGEST_HEX_LEN + 1];
	sp_digest_to_hex(d, hex);
	*out = NULL;
	if (!spfs_has_payload(s, d)) {
		sp_buf tmp = {0};
		spfs_kind k;
		if (spfs_has_object(s, d) && spfs_read_object(&tmp, &k, s, d, err) == 0) {
			sp_buf_free(&tmp);
			return sp_error_set(err, SP_EINVALID, "%s is a %s, not a spec blob", hex,
					    spfs_kind_name(k));
		}
		sp_buf_free(&tmp);
		return sp_error_set(err, SP_ENOTFOUND, "blob %s is missing", hex);
	}
	_cleanup_close_ int fd = -1;
	int rc = spfs_open_payload(&fd, s, d, err);
	if (rc)
		return rc;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return sp_error_errno(err, "blob %s: fstat", hex);
	if ((uint64_t)st.st_size > max)
		return sp_error_set(err, SP_EINVALID, "blob %s is %llu bytes, more than %zu", hex,
				    (unsigned long long)st.st_size, max);
	_cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return sp_error_errno(err, "blob %s: read", hex);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	sp_digest actual;
	if ((rc = sp_digest_buf(&actual, buf, got, err)))
		return rc;
	if (sp_digest_cmp(&actual, d)) {
		char ah[SP_DIGEST_HEX_LEN + 1];
		sp_digest_to_hex(&actual, ah);
		return sp_error_set(err, SP_EMISMATCH, "blob %s is corrupt: expected %s, got %s",
				    hex, hex, ah);
	}
	*out = steal_pointer(&buf);
	*len = got;
	return 0;
}

/* The newest target of tag `name`. */
static int tag_target(sp_digest *out, spfs_store *s, const char *name, sp_error *err)
{
	spfs_tag_history h = {0};
	int rc = spfs_tag_read(&h, s, name, err);
	if (rc)
		return rc;
	if (h.count == 0) {
		spfs_tag_history_free(&h);
		return sp_error_set(err, SP_ENOTFOUND, "tag %s has no readable record", name);
	}
	*out = h.records[h.count - 1].target;
	spfs_tag_history_free(&h);
	return 0;
}

/* Splits "spk/spec/N/V[/B]" into arena strings; false when another shape. */
static bool split_spec_tag(solver_arena *a, const char *tag, const char **name,
			   const char **version, const char **build, sp_error *err)
{
	if (strncmp(tag, SPEC_PREFIX, strlen(SPEC_PREFIX)))
		return false;
	const char *p = tag + strlen(SPEC_PREFIX);
	const char *parts[4];
	size_t lens[4], k = 0;
	while (*p && k < 4) {
		const char *sl = strchr(p, '/');
		size_t l = sl ? (size_t)(sl - p) : strlen(p);
		parts[k] = p;
		lens[k++] = l;
		p += l + (sl ? 1 : 0);
		if (!sl)
			break;
	}
	if (*p || k < 2 || k > 3)
		return false;
	*name = solver_arena_strndup(a, parts[0], lens[0], err);
	*version = solver_arena_strndup(a, parts[1], lens[1], err);
	*build = k == 3 ? solver_arena_strndup(a, parts[2], lens[2], err) : NULL;
	return *name && *version && (k == 2 || *build);
}

/* Parses one spec blob for tag e and checks that it is exactly the
 * package the tag names. Fills e's spec, deprecated and embeds. */
static int parse_one(const pkg_spec **out, pkg_repo *r, const char *tag, const char *text,
		     size_t len, sp_error *err)
{
	pkg_spec **specs = NULL;
	size_t n = 0;
	int rc = pkg_spec_parse(&specs, &n, r->a, text, len, tag, r->lim, err);
	if (rc)
		return rc;
	if (n != 1)
		return sp_error_set(err, SP_EINVALID, "%s: holds %zu spec documents, not one", tag,
				    n);
	/* explanations name the build and its recipe, never the tag */
	if ((rc = pkg__origin_read(&specs[0]->build, r->a, text, len, err)))
		return rc;
	*out = specs[0];
	return 0;
}

static int check_ent(pkg_repo *r, ent *e, const pkg_spec *sp, sp_error *err)
{
	const solver_build *b = &sp->build;
	char v[256];
	solver_version_str(&b->version, v, sizeof(v));
	if (strcmp(b->name, e->pub.name) || strcmp(v, e->pub.version))
		return sp_error_set(err, SP_EINVALID, "%s: the spec is %s/%s", e->pub.tag, b->name,
				    v);
	if (!e->pub.build && sp->kind != PKG_RECIPE)
		return sp_error_set(err, SP_EINVALID,
				    "%s: the spec is the build %s/%s/%s, not a recipe", e->pub.tag,
				    b->name, v, b->build);
	if (e->pub.build && strcmp(b->build, e->pub.build))
		return sp_error_set(err, SP_EINVALID, "%s: the spec is %s/%s/%s", e->pub.tag,
				    b->name, v, b->build);
	e->spec = sp;
	e->pub.deprecated = b->deprecated;
	/* embedded names, deduplicated */
	size_t cap = b->nembedded;
	for (size_t m = 0; m < b->ncomponents; m++)
		cap += b->components[m].nembedded;
	const char **emb = solver_arena_array(r->a, cap ? cap : 1, sizeof(*emb), err);
	if (!emb)
		return err->code;
	size_t ne = 0;
	for (size_t m = 0; m <= b->ncomponents; m++) {
		const solver_embedded *ev = m == 0 ? b->embedded : b->components[m - 1].embedded;
		size_t nev = m == 0 ? b->nembedded : b->components[m - 1].nembedded;
		for (size_t k = 0; k < nev; k++) {
			bool dup = false;
			for (size_t j = 0; j < ne && !dup; j++)
				dup = !strcmp(emb[j], ev[k].name);
			if (!dup)
				emb[ne++] = ev[k].name;
		}
	}
	e->pub.embeds = emb;
	e->pub.nembeds = ne;
	return 0;
}

/* Parsed specs by blob digest (open addressing), so that a rebuild of the
 * index in the middle of a solve hands the solver the same builds. */
static const pkg_spec *spec_cache_get(const pkg_repo *r, const sp_digest *d)
{
	if (!r->scap)
		return NULL;
	size_t mask = r->scap - 1, i;
	memcpy(&i, d->bytes, sizeof(i));
	for (i &= mask; r->skeys[i].sp; i = (i + 1) & mask)
		if (!sp_digest_cmp(&r->skeys[i].d, d))
			return r->skeys[i].sp;
	return NULL;
}

static int spec_cache_put(pkg_repo *r, const sp_digest *d, const pkg_spec *sp, sp_error *err)
{
	if ((r->sn + 1) * 2 > r->scap) {
		size_t nc = r->scap ? r->scap * 2 : 64;
		spec_slot *nv = calloc(nc, sizeof(*nv));
		if (!nv)
			return sp_error_set(err, SP_ENOMEM, "out of memory");
		spec_slot *old = r->skeys;
		size_t oc = r->scap;
		r->skeys = nv;
		r->scap = nc;
		r->sn = 0;
		for (size_t k = 0; k < oc; k++)
			if (old[k].sp)
				(void)spec_cache_put(r, &old[k].d, old[k].sp, err);
		free(old);
	}
	size_t mask = r->scap - 1, i;
	memcpy(&i, d->bytes, sizeof(i));
	for (i &= mask; r->skeys[i].sp; i = (i + 1) & mask)
		if (!sp_digest_cmp(&r->skeys[i].d, d))
			return 0;
	r->skeys[i] = (spec_slot){*d, sp};
	r->sn++;
	return 0;
}

/* Reads tag e->pub.tag's blob and parses it; on failure marks e invalid
 * with the reason and returns 0 (only out-of-memory is returned). */
static int load_ent(pkg_repo *r, ent *e, bool read_tag, sp_error *err)
{
	sp_error why = {0};
	int rc = 0;
	e->pub.invalid = false;
	e->spec = NULL;
	if (!e->pub.name)
		rc = sp_error_set(&why, SP_EINVALID, "%s: not a spk/spec/NAME/VERSION[/BUILD] tag",
				  e->pub.tag);
	if (!rc && read_tag && (rc = tag_target(&e->pub.spec, r->s, e->pub.tag, &why)))
		sp_error_prefix(&why, "%s", e->pub.tag);
	const pkg_spec *sp = rc ? NULL : spec_cache_get(r, &e->pub.spec);
	if (!rc && !sp) {
		_cleanup_free_ char *text = NULL;
		size_t len = 0;
		if ((rc = read_blob(&text, &len, r->s, &e->pub.spec, r->lim->max_file, &why)))
			sp_error_prefix(&why, "%s", e->pub.tag);
		if (!rc && !(rc = parse_one(&sp, r, e->pub.tag, text, len, &why)))
			rc = spec_cache_put(r, &e->pub.spec, sp, &why);
	}
	if (!rc)
		rc = check_ent(r, e, sp, &why);
	if (rc == SP_ENOMEM)
		return sp_error_move(err, &why);
	if (rc) {
		e->pub.invalid = true;
		e->pub.deprecated = false;
		e->pub.embeds = NULL;
		e->pub.nembeds = 0;
		e->problem = solver_arena_strdup(r->a, why.msg, err);
		if (!e->problem)
			return err->code;
	}
	return 0;
}

static int init_ent(pkg_repo *r, ent *e, const char *tag, sp_error *err)
{
	memset(e, 0, sizeof(*e));
	e->pub.tag = solver_arena_strdup(r->a, tag, err);
	if (!e->pub.tag)
		return err->code;
	const char *name = NULL, *version = NULL, *build = NULL;
	if (split_spec_tag(r->a, tag, &name, &version, &build, err)) {
		e->pub.name = name;
		e->pub.version = version;
		e->pub.build = build;
	} else if (err->code == SP_ENOMEM) {
		return err->code;
	}
	return 0;
}

/* -------------------------------------------------------------- index */

static int index_encode(const pkg_repo *r, sp_buf *b, sp_error *err)
{
	int rc = sp_buf_printf(b, err, "%s %zu\n", INDEX_MAGIC, r->n);
	for (size_t i = 0; !rc && i < r->n; i++) {
		const ent *e = &r->ents[i];
		char hex[SP_DIGEST_HEX_LEN + 1];
		sp_digest_to_hex(&e->pub.spec, hex);
		const char *flags = e->pub.invalid ? "x" : e->pub.deprecated ? "d" : "-";
		rc = sp_buf_printf(b, err, "%s %s %s ", hex, flags, e->pub.tag);
		for (size_t k = 0; !rc && k < e->pub.nembeds; k++)
			rc = sp_buf_printf(b, err, "%s%s", k ? "," : "", e->pub.embeds[k]);
		if (!rc)
			rc = sp_buf_printf(b, err, "%s\n", e->pub.nembeds ? "" : "-");
	}
	return rc;
}

/* Parses an index blob into a fresh ents array; SP_EINVALID when it does
 * not decode (the caller rebuilds). */
static int index_decode(ent **out, size_t *nout, pkg_repo *r, const char *text, size_t len,
			sp_error *err)
{
	*out = NULL;
	*nout = 0;
	const char *p = text, *end = text + len;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t count = 0;
	if (!nl || (size_t)(nl - p) <= strlen(INDEX_MAGIC) + 1 ||
	    strncmp(p, INDEX_MAGIC " ", strlen(INDEX_MAGIC) + 1))
		return sp_error_set(err, SP_EINVALID, "not a spk index (bad header)");
	char *cend;
	errno = 0;
	unsigned long long c = strtoull(p + strlen(INDEX_MAGIC) + 1, &cend, 10);
	if (errno || cend != nl || c > r->lim->max_files)
		return sp_error_set(err, SP_EINVALID, "bad entry count in the index header");
	count = (size_t)c;
	p = nl + 1;
	_cleanup_free_ ent *v = calloc(count ? count : 1, sizeof(*v));
	if (!v)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	size_t n = 0;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return sp_error_set(err, SP_EINVALID, "index line %zu is torn", n + 2);
		if (n == count)
			return sp_error_set(err, SP_EINVALID, "more than %zu entries", count);
		size_t ll = (size_t)(nl - p);
		char line[SPFS_MAX_TAG_NAME + 4096];
		if (ll >= sizeof(line))
			return sp_error_set(err, SP_EINVALID, "index line %zu is too long", n + 2);
		memcpy(line, p, ll);
		line[ll] = '\0';
		char *f[4];
		char *q = line;
		for (int k = 0; k < 4; k++) {
			f[k] = q;
			char *sp = strchr(q, ' ');
			if (k < 3) {
				if (!sp)
					return sp_error_set(err, SP_EINVALID,
							    "index line %zu: 4 fields expected",
							    n + 2);
				*sp = '\0';
				q = sp + 1;
			} else if (sp) {
				return sp_error_set(err, SP_EINVALID,
						    "index line %zu: 4 fields expected", n + 2);
			}
		}
		ent *e = &v[n];
		int rc = init_ent(r, e, f[2], err);
		if (rc)
			return rc;
		if (!spfs_tag_name_valid(f[2]) || (n && strcmp(v[n - 1].pub.tag, f[2]) >= 0))
			return sp_error_set(err, SP_EINVALID, "index line %zu: bad or unsorted tag",
					    n + 2);
		if (strlen(f[0]) != SP_DIGEST_HEX_LEN ||
		    sp_digest_from_hex(&e->pub.spec, f[0], err))
			return sp_error_set(err, SP_EINVALID, "index line %zu: bad digest", n + 2);
		if (!strcmp(f[1], "x"))
			e->pub.invalid = true;
		else if (!strcmp(f[1], "d"))
			e->pub.deprecated = true;
		else if (strcmp(f[1], "-"))
			return sp_error_set(err, SP_EINVALID, "index line %zu: bad flags", n + 2);
		if (!e->pub.name)
			e->pub.invalid = true;
		if (strcmp(f[3], "-")) {
			size_t ne = 1;
			for (const char *x = f[3]; *x; x++)
				ne += *x == ',';
			const char **emb = solver_arena_array(r->a, ne, sizeof(*emb), err);
			if (!emb)
				return err->code;
			size_t k = 0;
			for (char *x = f[3]; x;) {
				char *comma = strchr(x, ',');
				size_t l = comma ? (size_t)(comma - x) : strlen(x);
				if (!solver_name_valid(x, l))
					return sp_error_set(err, SP_EINVALID,
							    "index line %zu: bad embedded name",
							    n + 2);
				if (!(emb[k++] = solver_arena_strndup(r->a, x, l, err)))
					return err->code;
				x = comma ? comma + 1 : NULL;
			}
			e->pub.embeds = emb;
			e->pub.nembeds = k;
		}
		n++;
		p = nl + 1;
	}
	if (n != count)
		return sp_error_set(err, SP_EINVALID, "%zu entries, the header says %zu", n, count);
	*out = steal_pointer(&v);
	*nout = n;
	return 0;
}

static void clear_cache(pkg_repo *r)
{
	r->ncache = 0;
	r->nverified = 0;
}

static int write_index(pkg_repo *r, sp_error *err)
{
	sp_buf b = {0};
	b.max = PKG_REPO_MAX_INDEX;
	int rc = index_encode(r, &b, err);
	sp_digest d;
	if (!rc)
		rc = spfs_write_blob(&d, r->s, b.data ? b.data : "", b.len, err);
	sp_buf_free(&b);
	if (rc)
		return sp_error_prefix(err, "cannot write %s", PKG_REPO_INDEX_TAG);
	sp_error ignore = {0};
	(void)spfs_tag_remove(r->s, PKG_REPO_INDEX_TAG, false, &ignore);
	if ((rc = spfs_tag_set(r->s, PKG_REPO_INDEX_TAG, &d, err)))
		return sp_error_prefix(err, "cannot write %s", PKG_REPO_INDEX_TAG);
	return 0;
}

typedef struct name_vec {
	char **v;
	size_t n, cap;
	int rc;
	sp_error *err;
} name_vec;

static int collect_tag(const char *name, void *ud)
{
	name_vec *nv = ud;
	if ((nv->rc = grow((void **)&nv->v, &nv->cap, nv->n, sizeof(*nv->v), nv->err)))
		return nv->rc;
	if (!(nv->v[nv->n] = strdup(name)))
		return nv->rc = sp_error_set(nv->err, SP_ENOMEM, "out of memory");
	nv->n++;
	return 0;
}

static void name_vec_free(name_vec *nv)
{
	for (size_t i = 0; i < nv->n; i++)
		free(nv->v[i]);
	free(nv->v);
	nv->v = NULL;
	nv->n = nv->cap = 0;
}

static int list_tags(name_vec *out, spfs_store *s, const char *prefix, sp_error *err)
{
	*out = (name_vec){.err = err};
	int rc = spfs_tag_list(s, prefix, collect_tag, out, err);
	if (rc)
		name_vec_free(out);
	return rc;
}

static int rebuild(pkg_repo *r, bool write, sp_error *err)
{
	name_vec tags;
	int rc = list_tags(&tags, r->s, SPEC_PREFIX, err);
	if (rc)
		return sp_error_prefix(err, "cannot list spk/spec tags");
	ent *v = calloc(tags.n ? tags.n : 1, sizeof(*v));
	if (!v) {
		name_vec_free(&tags);
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	}
	size_t n = 0;
	for (size_t i = 0; !rc && i < tags.n; i++) {
		if ((rc = init_ent(r, &v[n], tags.v[i], err)))
			break;
		if ((rc = load_ent(r, &v[n], true, err)))
			break;
		if (v[n].pub.invalid)
			sp_debug("%s", v[n].problem);
		n++;
	}
	name_vec_free(&tags);
	if (rc) {
		free(v);
		return rc;
	}
	free(r->ents);
	r->ents = v;
	r->n = n;
	clear_cache(r);
	if (write) {
		sp_error werr = {0};
		if (write_index(r, &werr))
			sp_debug("spk index not written back: %s", werr.msg);
	}
	return 0;
}

/* Compares the index's tag names with the store's spk/spec tags. */
static int names_match(bool *out, pkg_repo *r, sp_error *err)
{
	name_vec tags;
	int rc = list_tags(&tags, r->s, SPEC_PREFIX, err);
	if (rc)
		return sp_error_prefix(err, "cannot list spk/spec tags");
	bool same = tags.n == r->n;
	for (size_t i = 0; same && i < tags.n; i++)
		same = !strcmp(tags.v[i], r->ents[i].pub.tag);
	name_vec_free(&tags);
	*out = same;
	return 0;
}

static int load_index(pkg_repo *r, sp_error *err)
{
	sp_error why = {0};
	sp_digest d;
	int rc = tag_target(&d, r->s, PKG_REPO_INDEX_TAG, &why);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (!rc)
		rc = read_blob(&text, &len, r->s, &d, PKG_REPO_MAX_INDEX, &why);
	ent *v = NULL;
	size_t n = 0;
	if (!rc)
		rc = index_decode(&v, &n, r, text, len, &why);
	if (rc == SP_ENOMEM)
		return sp_error_move(err, &why);
	if (rc) {
		sp_debug("%s: %s; rebuilding it from the tags", PKG_REPO_INDEX_TAG, why.msg);
		return rebuild(r, true, err);
	}
	free(r->ents);
	r->ents = v;
	r->n = n;
	bool same = false;
	if ((rc = names_match(&same, r, err)))
		return rc;
	if (!same) {
		sp_debug("%s is stale (the spk/spec tags changed); rebuilding it from the tags",
			 PKG_REPO_INDEX_TAG);
		return rebuild(r, true, err);
	}
	return 0;
}

/* Range [lo, hi) of entries of package name (tags share "spk/spec/NAME/"). */
static void name_range(const pkg_repo *r, const char *name, size_t *lo, size_t *hi)
{
	char prefix[SPFS_MAX_TAG_NAME + 16];
	snprintf(prefix, sizeof(prefix), "%s%s/", SPEC_PREFIX, name);
	size_t pl = strlen(prefix);
	size_t a = 0, b = r->n;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (strcmp(r->ents[mid].pub.tag, prefix) < 0)
			a = mid + 1;
		else
			b = mid;
	}
	b = a;
	while (b < r->n && !strncmp(r->ents[b].pub.tag, prefix, pl))
		b++;
	*lo = a;
	*hi = b;
}

/* Checks the targets of name's tags against the index (once per name). */
static int verify_name(pkg_repo *r, const char *name, sp_error *err)
{
	for (size_t i = 0; i < r->nverified; i++)
		if (!strcmp(r->verified[i], name))
			return 0;
	size_t lo, hi;
	name_range(r, name, &lo, &hi);
	bool stale = false;
	for (size_t i = lo; i < hi && !stale; i++) {
		sp_digest d;
		sp_error why = {0};
		int rc = tag_target(&d, r->s, r->ents[i].pub.tag, &why);
		if (rc == SP_ENOMEM)
			return sp_error_move(err, &why);
		stale = rc ? true : sp_digest_cmp(&d, &r->ents[i].pub.spec) != 0;
		if (stale)
			sp_debug("%s is stale (%s moved); rebuilding it from the tags",
				 PKG_REPO_INDEX_TAG, r->ents[i].pub.tag);
	}
	if (stale) {
		int rc = rebuild(r, true, err);
		if (rc)
			return rc;
	}
	int rc =
	    grow((void **)&r->verified, &r->capverified, r->nverified, sizeof(*r->verified), err);
	if (rc)
		return rc;
	const char *copy = solver_arena_strdup(r->a, name, err);
	if (!copy)
		return err->code;
	r->verified[r->nverified++] = copy;
	return 0;
}

/* ------------------------------------------------------- solver view */

/* Parses e's spec when not done yet; for an entry the index marks invalid,
 * finds the reason again. */
static int ent_spec(pkg_repo *r, ent *e, sp_error *err)
{
	if (e->spec || (e->pub.invalid && e->problem))
		return 0;
	return load_ent(r, e, false, err);
}

static int add_cache(pkg_repo *r, const char *name, bool emb, const solver_build **v, size_t n,
		     sp_error *err)
{
	int rc = grow((void **)&r->cache, &r->capcache, r->ncache, sizeof(*r->cache), err);
	if (rc)
		return rc;
	const char *copy = solver_arena_strdup(r->a, name, err);
	if (!copy)
		return err->code;
	r->cache[r->ncache++] = (cached){copy, emb, v, n};
	return 0;
}

static const cached *find_cache(const pkg_repo *r, const char *name, bool emb)
{
	for (size_t i = 0; i < r->ncache; i++)
		if (r->cache[i].emb == emb && !strcmp(r->cache[i].name, name))
			return &r->cache[i];
	return NULL;
}

static int repo_builds(void *self, const char *name, const solver_build *const **out, size_t *n,
		       sp_error *err)
{
	pkg_repo *r = self;
	const cached *c = find_cache(r, name, false);
	if (c) {
		*out = c->v;
		*n = c->n;
		return 0;
	}
	*out = NULL;
	*n = 0;
	if (!solver_name_valid(name, strlen(name)))
		return 0;
	int rc = verify_name(r, name, err);
	if (rc)
		return rc;
	size_t lo, hi;
	name_range(r, name, &lo, &hi);
	const solver_build **v = solver_arena_array(r->a, hi > lo ? hi - lo : 1, sizeof(*v), err);
	if (!v)
		return err->code;
	size_t k = 0;
	for (size_t i = lo; i < hi; i++) {
		ent *e = &r->ents[i];
		if (!e->pub.build)
			continue;
		if ((rc = ent_spec(r, e, err)))
			return rc;
		if (e->pub.invalid) {
			sp_warn("skipping a tag that holds no readable spec: %s",
				e->problem ? e->problem : e->pub.tag);
			continue;
		}
		v[k++] = &e->spec->build;
	}
	/* recipes: as in a spec directory, a recipe's default-options build is
	 * the candidate the solver may build from source with other values
	 * (is_recipe). When that build was built (its own spec), it carries the
	 * flag; when the version has no build of that id, the recipe itself is
	 * the (spec-only) candidate. */
	for (size_t i = lo; i < hi; i++) {
		ent *rec = &r->ents[i];
		if (rec->pub.build || rec->pub.invalid)
			continue;
		if ((rc = ent_spec(r, rec, err)))
			return rc;
		if (rec->pub.invalid)
			continue;
		/* the build of the recipe's default id, else (pkg options record
		 * resolved versions, so ids differ) the version's first build */
		const char *id = rec->spec->build.build;
		ent *hit = NULL, *first = NULL;
		for (size_t j = lo; j < hi && !hit; j++) {
			ent *e = &r->ents[j];
			if (!e->pub.build || e->pub.invalid || !e->spec ||
			    e->spec->kind == PKG_SOURCE || strcmp(e->pub.version, rec->pub.version))
				continue;
			if (!strcmp(e->pub.build, id))
				hit = e;
			else if (!first)
				first = e;
		}
		if (!hit)
			hit = first;
		if (!hit)
			v[k++] = &rec->spec->build;
		else if (hit->spec != rec->spec)
			((pkg_spec *)(void *)hit->spec)->build.is_recipe = true; /* ours, in r->a */
	}
	if ((rc = add_cache(r, name, false, v, k, err)))
		return rc;
	*out = v;
	*n = k;
	return 0;
}

static int repo_embedders(void *self, const char *name, const solver_build *const **out, size_t *n,
			  sp_error *err)
{
	pkg_repo *r = self;
	const cached *c = find_cache(r, name, true);
	if (c) {
		*out = c->v;
		*n = c->n;
		return 0;
	}
	*out = NULL;
	*n = 0;
	/* names of packages with a build embedding `name` (copied: a rebuild
	 * while reading them replaces the entries) */
	const char **names = NULL;
	size_t nn = 0, cap = 0;
	int rc = 0;
	for (size_t i = 0; !rc && i < r->n; i++) {
		const ent *e = &r->ents[i];
		if (!e->pub.build || e->pub.invalid || (nn && !strcmp(names[nn - 1], e->pub.name)))
			continue;
		for (size_t k = 0; k < e->pub.nembeds; k++) {
			if (strcmp(e->pub.embeds[k], name))
				continue;
			if ((rc = grow((void **)&names, &cap, nn, sizeof(*names), err)))
				break;
			if (!(names[nn++] = solver_arena_strdup(r->a, e->pub.name, err)))
				rc = err->code;
			break;
		}
	}
	const solver_build **v = NULL;
	size_t k = 0, vcap = 0;
	for (size_t i = 0; !rc && i < nn; i++) {
		const solver_build *const *bv;
		size_t bn;
		if ((rc = repo_builds(r, names[i], &bv, &bn, err)))
			break;
		for (size_t j = 0; !rc && j < bn; j++) {
			const solver_build *b = bv[j];
			bool hit = false;
			for (size_t m = 0; m <= b->ncomponents && !hit; m++) {
				const solver_embedded *ev =
				    m == 0 ? b->embedded : b->components[m - 1].embedded;
				size_t nev = m == 0 ? b->nembedded : b->components[m - 1].nembedded;
				for (size_t q = 0; q < nev && !hit; q++)
					hit = !strcmp(ev[q].name, name);
			}
			if (!hit)
				continue;
			if ((rc = grow((void **)&v, &vcap, k, sizeof(*v), err)))
				break;
			v[k++] = b;
		}
	}
	free(names);
	const solver_build **av = NULL;
	if (!rc) {
		av = solver_arena_array(r->a, k ? k : 1, sizeof(*av), err);
		if (!av)
			rc = err->code;
		else if (k)
			memcpy(av, v, k * sizeof(*av));
	}
	free(v);
	if (!rc)
		rc = add_cache(r, name, true, av, k, err);
	if (rc)
		return rc;
	*out = av;
	*n = k;
	return 0;
}

static const solver_repo_ops spfsrepo_ops = {
    .version = SOLVER_REPO_OPS_VERSION,
    .builds = repo_builds,
    .embedders = repo_embedders,
};

/* --------------------------------------------------------------- API */

int pkg_repo_open(pkg_repo **out, spfs_store *s, const char *name, const pkg_limits *lim,
		  sp_error *err)
{
	*out = NULL;
	pkg_repo *r = calloc(1, sizeof(*r));
	if (!r)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	r->s = s;
	r->lim = lim ? lim : &pkg_limits_default;
	int rc = solver_arena_new(&r->a, err);
	if (!rc) {
		r->repo.ops = &spfsrepo_ops;
		r->repo.self = r;
		r->repo.name = solver_arena_strdup(r->a, name ? name : "local", err);
		rc = r->repo.name ? load_index(r, err) : err->code;
	}
	if (rc) {
		pkg_repo_free(r);
		return sp_error_prefix(err, "cannot open the package repository in %s",
				       spfs_store_path(s));
	}
	*out = r;
	return 0;
}

void pkg_repo_free(pkg_repo *r)
{
	if (!r)
		return;
	free(r->ents);
	free(r->cache);
	free(r->verified);
	free(r->skeys);
	solver_arena_free(r->a);
	free(r);
}

void pkg_repo_freep(pkg_repo **r)
{
	pkg_repo_free(*r);
}

spfs_store *pkg_repo_store(const pkg_repo *r)
{
	return r->s;
}

const solver_repo *pkg_repo_solver(pkg_repo *r)
{
	return &r->repo;
}

size_t pkg_repo_count(const pkg_repo *r)
{
	return r->n;
}

const pkg_repo_entry *pkg_repo_get(const pkg_repo *r, size_t i)
{
	return i < r->n ? &r->ents[i].pub : NULL;
}

int pkg_repo_verify(pkg_repo *r, sp_error *err)
{
	bool stale = false;
	for (size_t i = 0; i < r->n && !stale; i++) {
		sp_digest d;
		sp_error why = {0};
		int rc = tag_target(&d, r->s, r->ents[i].pub.tag, &why);
		if (rc == SP_ENOMEM)
			return sp_error_move(err, &why);
		stale = rc || sp_digest_cmp(&d, &r->ents[i].pub.spec) != 0;
		if (stale)
			sp_debug("%s is stale (%s moved); rebuilding it from the tags",
				 PKG_REPO_INDEX_TAG, r->ents[i].pub.tag);
	}
	return stale ? rebuild(r, true, err) : 0;
}

int pkg_repo_reindex(pkg_repo *r, sp_error *err)
{
	int rc = rebuild(r, false, err);
	return rc ? rc : write_index(r, err);
}

int pkg_repo_write_index(pkg_repo *r, sp_error *err)
{
	return write_index(r, err);
}

static ent *ent_of(pkg_repo *r, const pkg_repo_entry *e)
{
	/* pub is the first member of ent */
	return (ent *)(void *)e;
}

int pkg_repo_spec(const pkg_spec **out, pkg_repo *r, const pkg_repo_entry *pe, sp_error *err)
{
	ent *e = ent_of(r, pe);
	int rc = ent_spec(r, e, err);
	if (rc)
		return rc;
	if (e->pub.invalid)
		return sp_error_set(err, SP_EINVALID, "%s",
				    e->problem ? e->problem : "not a readable spec");
	*out = e->spec;
	return 0;
}

const pkg_spec *pkg_repo_spec_of(pkg_repo *r, const solver_build *b)
{
	if (!b || !b->name)
		return NULL;
	size_t lo, hi;
	name_range(r, b->name, &lo, &hi);
	for (size_t i = lo; i < hi; i++)
		if (r->ents[i].spec && &r->ents[i].spec->build == b)
			return r->ents[i].spec;
	/* a build of a spec shared by digest, whose entry was replaced */
	for (size_t i = 0; i < r->scap; i++)
		if (r->skeys[i].sp && &r->skeys[i].sp->build == b)
			return r->skeys[i].sp;
	return NULL;
}

int pkg_repo_spec_text(char **out, size_t *len, pkg_repo *r, const pkg_repo_entry *e, sp_error *err)
{
	int rc = read_blob(out, len, r->s, &e->spec, r->lim->max_file, err);
	return rc ? sp_error_prefix(err, "%s", e->tag) : 0;
}

/* Parses "NAME[/VERSION[/BUILD]]". Pointers into buf. */
static int split_ident(const char *ident, char *buf, size_t bufn, const char **name,
		       const char **version, const char **build, sp_error *err)
{
	if (strlen(ident) >= bufn)
		return sp_error_set(err, SP_EINVALID, "'%s': too long", ident);
	snprintf(buf, bufn, "%s", ident);
	*name = buf;
	*version = *build = NULL;
	char *sl = strchr(buf, '/');
	if (sl) {
		*sl = '\0';
		*version = sl + 1;
		sl = strchr(sl + 1, '/');
		if (sl) {
			*sl = '\0';
			*build = sl + 1;
			if (strchr(*build, '/') || !**build)
				return sp_error_set(err, SP_EINVALID,
						    "'%s': expected NAME[/VERSION[/BUILD]]", ident);
		}
		if (!**version)
			return sp_error_set(err, SP_EINVALID,
					    "'%s': expected NAME[/VERSION[/BUILD]]", ident);
	}
	if (!solver_name_valid(*name, strlen(*name)))
		return sp_error_set(err, SP_EINVALID, "'%s': '%s' is not a package name", ident,
				    *name);
	return 0;
}

int pkg_repo_find(const pkg_repo_entry ***out, size_t *n, pkg_repo *r, const char *ident,
		  sp_error *err)
{
	*out = NULL;
	*n = 0;
	char buf[1024];
	const char *name = NULL, *version = NULL, *build = NULL;
	int rc = split_ident(ident, buf, sizeof(buf), &name, &version, &build, err);
	if (rc)
		return rc;
	_cleanup_(solver_arena_freep) solver_arena *a = NULL;
	if ((rc = solver_arena_new(&a, err)))
		return rc;
	solver_version want = {0};
	if (version && (rc = solver_version_parse(&want, a, version, strlen(version),
						  &solver_limits_default, err)))
		return sp_error_prefix(err, "'%s'", ident);
	if ((rc = verify_name(r, name, err)))
		return rc;
	size_t lo, hi;
	name_range(r, name, &lo, &hi);
	_cleanup_free_ const pkg_repo_entry **v = calloc(hi > lo ? hi - lo : 1, sizeof(*v));
	if (!v)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	size_t k = 0;
	for (size_t i = lo; i < hi; i++) {
		const ent *e = &r->ents[i];
		if (version) {
			solver_version ev;
			sp_error ignore = {0};
			if (!e->pub.version ||
			    solver_version_parse(&ev, a, e->pub.version, strlen(e->pub.version),
						 &solver_limits_default, &ignore) ||
			    solver_version_cmp(&ev, &want) || !solver_version_parts_eq(&ev, &want))
				continue;
		}
		if (build && (!e->pub.build || strcmp(e->pub.build, build)))
			continue;
		v[k++] = &e->pub;
	}
	if (!k)
		return sp_error_set(err, SP_ENOTFOUND, "%s is not in the repository", ident);
	*out = steal_pointer(&v);
	*n = k;
	return 0;
}

/* ------------------------------------------------ writing entries */

/* Inserts or replaces the entry for tag with a fresh parse of its blob d. */
static int upsert(pkg_repo *r, const char *tag, const sp_digest *d, sp_error *err)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(r->ents[mid].pub.tag, tag) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == r->n || strcmp(r->ents[lo].pub.tag, tag)) {
		size_t cap = r->n + 1;
		int rc = sp_realloc_array((void **)&r->ents, cap, sizeof(*r->ents), err);
		if (rc)
			return rc;
		memmove(&r->ents[lo + 1], &r->ents[lo], (r->n - lo) * sizeof(*r->ents));
		r->n++;
		if ((rc = init_ent(r, &r->ents[lo], tag, err)))
			return rc;
	}
	ent *e = &r->ents[lo];
	e->pub.spec = *d;
	clear_cache(r);
	return load_ent(r, e, false, err);
}

static void drop(pkg_repo *r, const char *tag)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->ents[i].pub.tag, tag)) {
			memmove(&r->ents[i], &r->ents[i + 1], (r->n - i - 1) * sizeof(*r->ents));
			r->n--;
			break;
		}
	clear_cache(r);
}

/* --------------------------------------------------- YAML text edits */

/* The byte ranges of the non-empty documents of text, in order (libyaml
 * events: from the start of the root node's line to its end). */
typedef struct doc_slice {
	size_t start, end;
	size_t line;   /* 1-based line of the root node */
	size_t indent; /* column of the root node */
	bool block_map;
} doc_slice;

static int slice_docs(doc_slice **out, size_t *n, const char *text, size_t len, const char *file,
		      sp_error *err)
{
	*out = NULL;
	*n = 0;
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	doc_slice *v = NULL;
	size_t k = 0, cap = 0;
	int depth = 0, rc = 0;
	bool done = false, empty = false;
	doc_slice cur = {0};
	while (!done && !rc) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			rc = sp_error_set(err, SP_EINVALID, "%s:%zu:%zu: %s", file,
					  p.problem_mark.line + 1, p.problem_mark.column + 1,
					  p.problem ? p.problem : "YAML error");
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT: done = true; break;
		case YAML_DOCUMENT_START_EVENT:
			depth = 0;
			empty = false;
			break;
		case YAML_DOCUMENT_END_EVENT:
			if (!empty) {
				if ((rc = grow((void **)&v, &cap, k, sizeof(*v), err)))
					break;
				v[k++] = cur;
			}
			break;
		case YAML_SCALAR_EVENT:
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_ALIAS_EVENT:
			if (depth == 0) {
				size_t start = ev.start_mark.index, col = ev.start_mark.column;
				bool blank = col <= start;
				for (size_t i = start - (blank ? col : 0); blank && i < start; i++)
					blank = text[i] == ' ';
				cur =
				    (doc_slice){.start = blank ? start - col : start,
						.line = ev.start_mark.line + 1,
						.indent = col,
						.block_map = ev.type == YAML_MAPPING_START_EVENT &&
							     ev.data.mapping_start.style ==
								 YAML_BLOCK_MAPPING_STYLE};
				empty = ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 0;
			}
			if (ev.type == YAML_MAPPING_START_EVENT ||
			    ev.type == YAML_SEQUENCE_START_EVENT)
				depth++;
			else if (depth == 0)
				cur.end = ev.end_mark.index;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			if (--depth == 0)
				cur.end = ev.end_mark.index;
			break;
		default: break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*n = k;
	return 0;
}

/* The text of the document of text whose root node starts on `line`
 * (pkg_spec.line), as publish stores it. */
int pkg_repo__doc_text(sp_buf *out, const char *text, size_t len, const char *file, size_t line,
		       sp_error *err)
{
	_cleanup_free_ doc_slice *docs = NULL;
	size_t n = 0;
	int rc = slice_docs(&docs, &n, text, len, file, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (docs[i].line != line)
			continue;
		size_t dl = docs[i].end - docs[i].start;
		rc = sp_buf_append(out, text + docs[i].start, dl, err);
		if (!rc && dl && text[docs[i].end - 1] != '\n')
			rc = sp_buf_append(out, "\n", 1, err);
		return rc;
	}
	return sp_error_set(err, SP_ENOTFOUND, "%s: no document at line %zu", file, line);
}

/* Writes a spec blob, points tag at it and updates the entries (not the
 * index: the caller writes it). */
int pkg_repo__put_spec(pkg_repo *r, const char *tag, const char *text, size_t len, sp_error *err)
{
	sp_digest d;
	int rc = spfs_write_blob(&d, r->s, text ? text : "", len, err);
	if (!rc && (rc = spfs_tag_set(r->s, tag, &d, err)))
		sp_error_prefix(err, "cannot set %s", tag);
	return rc ? rc : upsert(r, tag, &d, err);
}

/* A copy of a one-document spec with its top-level `deprecated` set to
 * want: the value is replaced in place, or a line is appended. */
static int edit_deprecated(sp_buf *out, const char *text, size_t len, const char *tag, bool want,
			   sp_error *err)
{
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	int depth = 0, rc = 0;
	bool done = false, is_key = true, hit_key = false, found = false, block = false;
	size_t vstart = 0, vend = 0, indent = 0, kstart = 0, kcol = 0;
	while (!done && !rc) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			rc = sp_error_set(err, SP_EINVALID, "%s:%zu:%zu: %s", tag,
					  p.problem_mark.line + 1, p.problem_mark.column + 1,
					  p.problem ? p.problem : "YAML error");
			break;
		}
		bool node = ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT ||
			    ev.type == YAML_MAPPING_START_EVENT ||
			    ev.type == YAML_SEQUENCE_START_EVENT;
		if (ev.type == YAML_STREAM_END_EVENT || ev.type == YAML_DOCUMENT_END_EVENT) {
			done = true;
		} else if (node && depth == 0) {
			block = ev.type == YAML_MAPPING_START_EVENT &&
				ev.data.mapping_start.style == YAML_BLOCK_MAPPING_STYLE;
			indent = ev.start_mark.column;
			if (!block)
				rc = sp_error_set(
				    err, SP_EINVALID,
				    "%s: the spec is not a block mapping; cannot edit it", tag);
			depth = 1;
		} else if (node && depth == 1) {
			if (is_key) {
				hit_key = ev.type == YAML_SCALAR_EVENT &&
					  !strcmp((const char *)ev.data.scalar.value, "deprecated");
				if (hit_key) {
					kstart = ev.start_mark.index;
					kcol = ev.start_mark.column;
				}
			} else if (hit_key) {
				if (ev.type != YAML_SCALAR_EVENT)
					rc = sp_error_set(
					    err, SP_EINVALID,
					    "%s:%zu:%zu: deprecated: expected true or false", tag,
					    ev.start_mark.line + 1, ev.start_mark.column + 1);
				found = true;
				vstart = ev.start_mark.index;
				vend = ev.end_mark.index;
			}
			if (ev.type == YAML_MAPPING_START_EVENT ||
			    ev.type == YAML_SEQUENCE_START_EVENT)
				depth++;
			is_key = !is_key;
		} else if (node) {
			if (ev.type == YAML_MAPPING_START_EVENT ||
			    ev.type == YAML_SEQUENCE_START_EVENT)
				depth++;
		} else if (ev.type == YAML_MAPPING_END_EVENT ||
			   ev.type == YAML_SEQUENCE_END_EVENT) {
			if (--depth == 0)
				done = true;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (rc)
		return rc;
	const char *val = want ? "true" : "false";
	if (found && !want && kcol <= kstart) {
		/* undeprecating drops the whole `deprecated:` line when it is alone
		 * on its line, so deprecate + undeprecate gives the original bytes */
		size_t ls = kstart - kcol, le = vend;
		bool alone = true;
		for (size_t i = ls; i < kstart && alone; i++)
			alone = text[i] == ' ';
		while (le < len && (text[le] == ' ' || text[le] == '\t'))
			le++;
		if (alone && (le == len || text[le] == '\n'))
			return sp_buf_append(out, text, ls, err) ||
				       sp_buf_append(out, text + (le < len ? le + 1 : le),
						     len - (le < len ? le + 1 : le), err)
				   ? err->code
				   : 0;
	}
	if (found) {
		if ((rc = sp_buf_append(out, text, vstart, err)) ||
		    (rc = sp_buf_append(out, val, strlen(val), err)) ||
		    (rc = sp_buf_append(out, text + vend, len - vend, err)))
			return rc;
		return 0;
	}
	if ((rc = sp_buf_append(out, text, len, err)))
		return rc;
	if (len && text[len - 1] != '\n' && (rc = sp_buf_append(out, "\n", 1, err)))
		return rc;
	for (size_t i = 0; !rc && i < indent; i++)
		rc = sp_buf_append(out, " ", 1, err);
	return rc ? rc : sp_buf_printf(out, err, "deprecated: %s\n", val);
}

/* ------------------------------------------------------------ publish */

typedef struct pending {
	char tag[SPFS_MAX_TAG_NAME + 1];
	const char *text; /* borrowed */
	size_t len;
	sp_digest d;
	bool changed;
	bool kept; /* the same text is there, published from elsewhere */
} pending;

static int add_pending(pending **v, size_t *n, size_t *cap, const char *tag, const char *text,
		       size_t len, sp_error *err)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i].tag, tag))
			return sp_error_set(err, SP_EINVALID, "%s is given twice", tag);
	if (!spfs_tag_name_valid(tag))
		return sp_error_set(err, SP_EINVALID, "'%s' is not a valid tag name", tag);
	int rc = grow((void **)v, cap, *n, sizeof(**v), err);
	if (rc)
		return rc;
	pending *p = &(*v)[(*n)++];
	memset(p, 0, sizeof(*p));
	snprintf(p->tag, sizeof(p->tag), "%s", tag);
	p->text = text;
	p->len = len;
	return sp_digest_buf(&p->d, text, len, err);
}

/* The first line of a published text names where it was cut from. */
static size_t origin_line_len(const char *t, size_t n)
{
	static const char mark[] = "# spk-origin: ";
	if (n < sizeof(mark) - 1 || memcmp(t, mark, sizeof(mark) - 1))
		return 0;
	const char *nl = memchr(t, '\n', n);
	return nl ? (size_t)(nl - t) + 1 : 0;
}

/* 1 when the blob cur holds text apart from its origin line (the same spec
 * published again from another checkout: kept as it is), 0 when it
 * differs, or an error. */
static int same_but_origin(pkg_repo *r, const sp_digest *cur, const char *text, size_t len,
			   sp_error *err)
{
	_cleanup_free_ char *old = NULL;
	size_t olen = 0;
	int rc = read_blob(&old, &olen, r->s, cur, r->lim->max_file, err);
	if (rc)
		return rc;
	size_t a = origin_line_len(old, olen), b = origin_line_len(text, len);
	return olen - a == len - b && !memcmp(old + a, text + b, len - b);
}

int pkg_repo_publish(pkg_repo *r, const pkg_specfile *f, const pkg_publish_opts *opts,
		     sp_error *err)
{
	const char *text = f->text, *file = f->path;
	size_t len = f->len;
	static const pkg_publish_opts none = {0};
	if (!opts)
		opts = &none;
	/* 1. the whole file parsed when f was loaded */
	_cleanup_(solver_arena_freep) solver_arena *a = NULL;
	int rc = solver_arena_new(&a, err);
	if (rc)
		return rc;
	pkg_spec *const *specs = f->specs;
	size_t nspecs = f->nspecs;
	if (nspecs == 0)
		return sp_error_set(err, SP_EINVALID, "%s: no spec in the file", file);
	/* 2. one blob per document; each must parse alone to the same package */
	_cleanup_free_ doc_slice *docs = NULL;
	size_t ndocs = 0;
	if ((rc = slice_docs(&docs, &ndocs, text, len, file, err)))
		return rc;
	if (ndocs != nspecs)
		return sp_error_set(err, SP_EINVALID, "%s: found %zu documents but %zu specs", file,
				    ndocs, nspecs);
	_cleanup_free_ char **texts = calloc(ndocs, sizeof(*texts));
	_cleanup_free_ pending *pv = NULL;
	size_t np = 0, pcap = 0;
	if (!texts)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < ndocs; i++) {
		const pkg_spec *sp = specs[i];
		const solver_build *b = &sp->build;
		size_t dl = docs[i].end - docs[i].start;
		sp_buf t = {0};
		/* its first line names the file and line it was cut from (spec.c) */
		if ((rc = pkg__with_origin(&t, sp, true, text + docs[i].start, dl, err)) ||
		    (dl && text[docs[i].end - 1] != '\n' &&
		     (rc = sp_buf_append(&t, "\n", 1, err)))) {
			sp_buf_free(&t);
			break;
		}
		texts[i] = t.data;
		pkg_spec **one = NULL;
		size_t n1 = 0;
		char what[512];
		snprintf(what, sizeof(what), "%s (document %zu)", file, i + 1);
		if ((rc = pkg_spec_parse(&one, &n1, a, t.data, t.len, what, r->lim, err)))
			break;
		char v[256], v1[256];
		solver_version_str(&b->version, v, sizeof(v));
		if (n1 != 1 || strcmp(one[0]->build.name, b->name) ||
		    strcmp(solver_version_str(&one[0]->build.version, v1, sizeof(v1)), v) ||
		    strcmp(one[0]->build.build, b->build)) {
			rc = sp_error_set(err, SP_EINVALID,
					  "%s: cannot cut document %zu out of the file", file,
					  i + 1);
			break;
		}
		char tag[SPFS_MAX_TAG_NAME + 1];
		if (sp->kind == PKG_RECIPE) {
			snprintf(tag, sizeof(tag), SPEC_PREFIX "%s/%s", b->name, v);
			if ((rc = add_pending(&pv, &np, &pcap, tag, t.data, t.len, err)))
				break;
		}
		snprintf(tag, sizeof(tag), SPEC_PREFIX "%s/%s/%s", b->name, v, b->build);
		rc = add_pending(&pv, &np, &pcap, tag, t.data, t.len, err);
	}
	/* 3. conflicts with what is there */
	for (size_t i = 0; !rc && i < np; i++) {
		sp_digest cur;
		sp_error why = {0};
		int trc = tag_target(&cur, r->s, pv[i].tag, &why);
		if (trc == SP_ENOTFOUND) {
			pv[i].changed = true;
		} else if (trc) {
			rc = sp_error_move(err, &why);
		} else if (sp_digest_cmp(&cur, &pv[i].d) &&
			   (trc = same_but_origin(r, &cur, pv[i].text, pv[i].len, err)) == 1) {
			pv[i].d = cur; /* up to date: keeps the origin it was published with */
			pv[i].kept = true;
		} else if (trc < 0) {
			rc = trc;
		} else if (sp_digest_cmp(&cur, &pv[i].d)) {
			if (!opts->force)
				rc = sp_error_set(
				    err, SP_EEXISTS,
				    "%s already exists with other content (--force replaces it)",
				    pv[i].tag);
			pv[i].changed = true;
		}
	}
	/* 4. blobs, then tags, then the index */
	for (size_t i = 0; !rc && i < np; i++) {
		sp_digest d;
		if (!pv[i].kept && (rc = spfs_write_blob(&d, r->s, pv[i].text, pv[i].len, err)))
			rc = sp_error_prefix(err, "%s", pv[i].tag);
	}
	for (size_t i = 0; !rc && i < np; i++) {
		if (pv[i].changed && (rc = spfs_tag_set(r->s, pv[i].tag, &pv[i].d, err)))
			rc = sp_error_prefix(err, "cannot set %s", pv[i].tag);
		if (!rc)
			rc = upsert(r, pv[i].tag, &pv[i].d, err);
		if (!rc && opts->cb)
			opts->cb(pv[i].tag, &pv[i].d, pv[i].changed, opts->ud);
	}
	for (size_t i = 0; i < ndocs; i++)
		free(texts[i]);
	if (rc || opts->defer_index)
		return rc;
	return write_index(r, err);
}

/* ---------------------------------------------------------- deprecate */

int pkg_repo_deprecate(pkg_repo *r, const char *ident, bool deprecated, size_t *changed,
		       sp_error *err)
{
	*changed = 0;
	_cleanup_free_ const pkg_repo_entry **v = NULL;
	size_t n = 0;
	int rc = pkg_repo_find(&v, &n, r, ident, err);
	if (rc)
		return rc;
	/* NAME/VERSION: the recipe and every build; NAME alone is refused */
	if (!strchr(ident, '/'))
		return sp_error_set(err, SP_EINVALID,
				    "'%s': name a version or a build (NAME/VERSION[/BUILD])",
				    ident);
	/* copy the tags: entries move while they are updated */
	_cleanup_free_ char **tags = calloc(n, sizeof(*tags));
	if (!tags)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (v[i]->invalid)
			return sp_error_set(err, SP_EINVALID, "%s",
					    ent_of(r, v[i])->problem ? ent_of(r, v[i])->problem
								     : "not a readable spec");
	for (size_t i = 0; !rc && i < n; i++) {
		if (v[i]->deprecated == deprecated)
			continue;
		_cleanup_free_ char *text = NULL;
		size_t len;
		sp_buf nb = {0};
		const char *tag = v[i]->tag;
		if ((rc = pkg_repo_spec_text(&text, &len, r, v[i], err)) ||
		    (rc = edit_deprecated(&nb, text, len, tag, deprecated, err))) {
			sp_buf_free(&nb);
			break;
		}
		/* the edited spec must still be the same package, now (un)deprecated */
		ent probe = *ent_of(r, v[i]);
		probe.spec = NULL;
		const pkg_spec *psp = NULL;
		if ((rc = parse_one(&psp, r, tag, nb.data, nb.len, err)) ||
		    (rc = check_ent(r, &probe, psp, err)) || psp->build.deprecated != deprecated) {
			if (!rc)
				rc = sp_error_set(err, SP_EINVALID, "%s: editing deprecated failed",
						  tag);
			sp_buf_free(&nb);
			break;
		}
		sp_digest d;
		char *tagcopy = strdup(tag);
		if (!tagcopy) {
			sp_buf_free(&nb);
			rc = sp_error_set(err, SP_ENOMEM, "out of memory");
			break;
		}
		rc = spfs_write_blob(&d, r->s, nb.data, nb.len, err);
		sp_buf_free(&nb);
		if (!rc && (rc = spfs_tag_set(r->s, tagcopy, &d, err)))
			sp_error_prefix(err, "cannot set %s", tagcopy);
		if (!rc)
			rc = upsert(r, tagcopy, &d, err);
		free(tagcopy);
		if (!rc)
			(*changed)++;
		/* upsert may have moved the entries: find them again */
		if (!rc && i + 1 < n) {
			free(v);
			v = NULL;
			size_t n2;
			if ((rc = pkg_repo_find(&v, &n2, r, ident, err)))
				break;
			if (n2 != n)
				rc = sp_error_set(err, SP_ERROR, "%s changed while deprecating",
						  ident);
		}
	}
	if (*changed) {
		int wrc = write_index(r, err);
		if (!rc)
			rc = wrc;
	}
	return rc;
}

/* ------------------------------------------------------------- remove */

typedef struct digest_set {
	sp_digest *v;
	size_t n, cap;
} digest_set;

static bool dset_has(const digest_set *s, const sp_digest *d)
{
	for (size_t i = 0; i < s->n; i++)
		if (!sp_digest_cmp(&s->v[i], d))
			return true;
	return false;
}

static int dset_add(digest_set *s, const sp_digest *d, sp_error *err)
{
	if (dset_has(s, d))
		return 0;
	int rc = grow((void **)&s->v, &s->cap, s->n, sizeof(*s->v), err);
	if (!rc)
		s->v[s->n++] = *d;
	return rc;
}

/* Tags of the layers of the matched builds: spk/pkg/N/V/B/... (or
 * spk/pkg/N/V/... for a whole version). */
static int pkg_tags_of(name_vec *out, pkg_repo *r, const char *name, const char *version,
		       const char *build, sp_error *err)
{
	char prefix[SPFS_MAX_TAG_NAME + 1];
	if (build)
		snprintf(prefix, sizeof(prefix), PKG_PREFIX "%s/%s/%s/", name, version, build);
	else
		snprintf(prefix, sizeof(prefix), PKG_PREFIX "%s/%s/", name, version);
	return list_tags(out, r->s, prefix, err);
}

typedef struct use_ctx {
	const digest_set *layers;
	const char *user;
	char found[512];
} use_ctx;

static int runtime_uses(const spfs_runtime *rt, void *ud)
{
	use_ctx *u = ud;
	if (!rt->live || u->found[0])
		return 0;
	for (size_t i = 0; i < rt->layer_count; i++)
		if (dset_has(u->layers, &rt->layers[i])) {
			snprintf(u->found, sizeof(u->found), "live runtime %s (pid %d)", rt->id,
				 rt->pid);
			break;
		}
	return 0;
}

/* Is one of the layers (or their manifests) in a tagged platform or a live
 * runtime? Fills u->found with who. */
static int find_user(use_ctx *u, pkg_repo *r, const name_vec *skip, sp_error *err)
{
	name_vec all;
	int rc = list_tags(&all, r->s, "", err);
	if (rc)
		return rc;
	for (size_t i = 0; !rc && i < all.n && !u->found[0]; i++) {
		bool skipped = false;
		for (size_t k = 0; k < skip->n && !skipped; k++)
			skipped = !strcmp(skip->v[k], all.v[i]);
		if (skipped || !strncmp(all.v[i], SPEC_PREFIX, strlen(SPEC_PREFIX)) ||
		    !strcmp(all.v[i], PKG_REPO_INDEX_TAG))
			continue;
		spfs_tag_history h = {0};
		sp_error ignore = {0};
		if (spfs_tag_read(&h, r->s, all.v[i], &ignore))
			continue;
		for (size_t k = 0; k < h.count && !u->found[0]; k++) {
			if (!spfs_has_object(r->s, &h.records[k].target))
				continue;
			spfs_platform *p = NULL;
			if (spfs_read_platform(&p, r->s, &h.records[k].target, &ignore))
				continue;
			for (size_t j = 0; j < p->count; j++)
				if (dset_has(u->layers, &p->layers[j])) {
					snprintf(u->found, sizeof(u->found), "platform tag %s%s",
						 all.v[i],
						 k + 1 == h.count ? "" : " (in its history)");
					break;
				}
			spfs_platform_free(p);
		}
		spfs_tag_history_free(&h);
	}
	name_vec_free(&all);
	if (rc || u->found[0])
		return rc;
	sp_error ignore = {0};
	(void)spfs_runtime_list(r->s, runtime_uses, u, &ignore);
	return 0;
}

int pkg_repo_remove(pkg_repo *r, const char *ident, bool force, pkg_repo_tag_cb cb, void *ud,
		    sp_error *err)
{
	if (!strchr(ident, '/'))
		return sp_error_set(err, SP_EINVALID,
				    "'%s': name a version or a build (NAME/VERSION[/BUILD])",
				    ident);
	_cleanup_free_ const pkg_repo_entry **v = NULL;
	size_t n = 0;
	int rc = pkg_repo_find(&v, &n, r, ident, err);
	if (rc)
		return rc;
	name_vec tags = {.err = err};
	digest_set layers = {0};
	for (size_t i = 0; !rc && i < n; i++)
		rc = collect_tag(v[i]->tag, &tags);
	if (!rc)
		rc = tags.rc;
	/* layer tags: of each build, or everything below spk/pkg/N/V/ for a
	 * whole version */
	bool whole_version = !strchr(strchr(ident, '/') + 1, '/');
	for (size_t i = 0; !rc && i < n; i++) {
		if (!v[i]->name || (!whole_version && !v[i]->build))
			continue;
		name_vec pk;
		if ((rc = pkg_tags_of(&pk, r, v[i]->name, v[i]->version,
				      whole_version ? NULL : v[i]->build, err)))
			break;
		for (size_t k = 0; !rc && k < pk.n; k++) {
			bool dup = false;
			for (size_t j = 0; j < tags.n && !dup; j++)
				dup = !strcmp(tags.v[j], pk.v[k]);
			if (dup)
				continue;
			if ((rc = collect_tag(pk.v[k], &tags)))
				break;
			spfs_tag_history h = {0};
			if ((rc = spfs_tag_read(&h, r->s, pk.v[k], err)))
				break;
			for (size_t q = 0; !rc && q < h.count; q++) {
				rc = dset_add(&layers, &h.records[q].target, err);
				spfs_layer *l = NULL;
				sp_error ignore = {0};
				if (!rc &&
				    spfs_read_layer(&l, r->s, &h.records[q].target, &ignore) == 0) {
					rc = dset_add(&layers, &l->manifest, err);
					spfs_layer_free(l);
				}
			}
			spfs_tag_history_free(&h);
		}
		name_vec_free(&pk);
	}
	if (!rc && layers.n && !force) {
		use_ctx u = {.layers = &layers};
		if (!(rc = find_user(&u, r, &tags, err)) && u.found[0])
			rc = sp_error_set(
			    err, PKG_EINUSE,
			    "cannot remove %s: %s uses its layers (--force removes it anyway)",
			    ident, u.found);
	}
	for (size_t i = 0; !rc && i < tags.n; i++) {
		if ((rc = spfs_tag_remove(r->s, tags.v[i], false, err))) {
			sp_error_prefix(err, "cannot remove %s", tags.v[i]);
			break;
		}
		drop(r, tags.v[i]);
		if (cb)
			cb(tags.v[i], ud);
	}
	free(layers.v);
	name_vec_free(&tags);
	int wrc = write_index(r, rc ? &(sp_error){0} : err);
	return rc ? rc : wrc;
}

/* --------------------------------------------------------------- copy */

static int copy_payload(spfs_store *dst, spfs_store *src, const sp_digest *d, sp_error *err)
{
	/* streamed and verified by the store: no size limit, no bad copy */
	return spfs_copy_payload(dst, src, d, err);
}

static int copy_object(spfs_store *dst, spfs_store *src, const sp_digest *d, sp_error *err)
{
	if (spfs_has_object(dst, d))
		return 0;
	sp_buf b = {0};
	spfs_kind k;
	int rc = spfs_read_object(&b, &k, src, d, err);
	if (rc)
		return rc;
	if (k == SPFS_KIND_MANIFEST) {
		spfs_manifest *m = NULL;
		rc = spfs_manifest_decode(&m, b.data, b.len, err);
		for (size_t i = 0; !rc && i < m->count; i++)
			if (m->entries[i].kind == SPFS_ENTRY_FILE)
				rc = copy_payload(dst, src, &m->entries[i].digest, err);
		spfs_manifest_free(m);
	} else if (k == SPFS_KIND_LAYER) {
		spfs_layer *l = NULL;
		rc = spfs_layer_decode(&l, b.data, b.len, err);
		if (!rc)
			rc = copy_object(dst, src, &l->manifest, err);
		spfs_layer_free(l);
	} else if (k == SPFS_KIND_PLATFORM) {
		spfs_platform *p = NULL;
		rc = spfs_platform_decode(&p, b.data, b.len, err);
		for (size_t i = 0; !rc && i < p->count; i++)
			rc = copy_object(dst, src, &p->layers[i], err);
		spfs_platform_free(p);
	}
	sp_digest got;
	if (!rc)
		rc = spfs_write_object(&got, dst, &b, err);
	sp_buf_free(&b);
	return rc;
}

int pkg_repo_copy(pkg_repo *r, spfs_store *dst, const char *ident, pkg_repo_tag_cb cb, void *ud,
		  sp_error *err)
{
	_cleanup_free_ const pkg_repo_entry **v = NULL;
	size_t n = 0;
	int rc = pkg_repo_find(&v, &n, r, ident, err);
	if (rc)
		return rc;
	name_vec tags = {.err = err};
	for (size_t i = 0; !rc && i < n; i++) {
		if (v[i]->invalid) {
			rc = sp_error_set(err, SP_EINVALID, "%s",
					  ent_of(r, v[i])->problem ? ent_of(r, v[i])->problem
								   : "not a readable spec");
			break;
		}
		if ((rc = collect_tag(v[i]->tag, &tags)))
			break;
		if (!v[i]->build)
			continue;
		name_vec pk;
		if ((rc = pkg_tags_of(&pk, r, v[i]->name, v[i]->version, v[i]->build, err)))
			break;
		for (size_t k = 0; !rc && k < pk.n; k++)
			rc = collect_tag(pk.v[k], &tags);
		name_vec_free(&pk);
	}
	_cleanup_free_ sp_digest *targets = calloc(tags.n ? tags.n : 1, sizeof(*targets));
	if (!rc && !targets)
		rc = sp_error_set(err, SP_ENOMEM, "out of memory");
	/* objects and payloads first */
	for (size_t i = 0; !rc && i < tags.n; i++) {
		if ((rc = tag_target(&targets[i], r->s, tags.v[i], err)))
			break;
		/* spec tags hold blobs, layer tags objects; a digest can be both
		 * (a file holding an object's bytes): copy what exists */
		bool obj = spfs_has_object(r->s, &targets[i]);
		if (obj)
			rc = copy_object(dst, r->s, &targets[i], err);
		if (!rc && (!obj || spfs_has_payload(r->s, &targets[i])))
			rc = copy_payload(dst, r->s, &targets[i], err);
		if (rc)
			sp_error_prefix(err, "copying %s", tags.v[i]);
	}
	/* then the tags */
	for (size_t i = 0; !rc && i < tags.n; i++) {
		if ((rc = spfs_tag_set(dst, tags.v[i], &targets[i], err))) {
			sp_error_prefix(err, "cannot set %s in %s", tags.v[i],
					spfs_store_path(dst));
			break;
		}
		if (cb)
			cb(tags.v[i], ud);
	}
	name_vec_free(&tags);
	if (rc)
		return rc;
	/* then the destination's index */
	_cleanup_(pkg_repo_freep) pkg_repo *d = NULL;
	if ((rc = pkg_repo_open(&d, dst, NULL, r->lim, err)))
		return rc;
	return pkg_repo_verify(d, err);
}

/* ------------------------------------------------------------ sources */

bool pkg_path_is_store(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	return fstatat(fd, "spfs-store", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

struct pkg_source {
	pkg_specdir *dir;
	spfs_store *store;
	pkg_repo *repo;
	solver_repo view;
};

int pkg_source_open(pkg_source **out, const char *path, const char *name,
		    const pkg_specfile_opts *fo, sp_error *err)
{
	*out = NULL;
	pkg_source *s = calloc(1, sizeof(*s));
	if (!s)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	int rc;
	if (pkg_path_is_store(path)) {
		rc = spfs_store_open(&s->store, path, false, err);
		if (!rc)
			rc = pkg_repo_open(&s->repo, s->store, name, fo ? fo->lim : NULL, err);
		if (!rc)
			s->view = *pkg_repo_solver(s->repo);
	} else {
		rc = pkg_specdir_open(&s->dir, path, name, fo, err);
		if (!rc)
			s->view = *pkg_specdir_repo(s->dir);
	}
	if (rc) {
		pkg_source_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void pkg_source_free(pkg_source *s)
{
	if (!s)
		return;
	pkg_specdir_free(s->dir);
	pkg_repo_free(s->repo);
	spfs_store_free(s->store);
	free(s);
}

void pkg_source_freep(pkg_source **s)
{
	pkg_source_free(*s);
}

const solver_repo *pkg_source_repo(pkg_source *s)
{
	return &s->view;
}

/* ------------------------------------------------------------- fuzzing */

/* For tests/fuzz/fuzz_spkindex.c: the index decoder, the document cutter
 * and the deprecation edit on arbitrary bytes must fail cleanly. Returns 0
 * or the first decoder's error code. */
int pkg_repo__fuzz(const char *text, size_t len);
int pkg_repo__fuzz(const char *text, size_t len)
{
	pkg_repo r = {.lim = &pkg_limits_default};
	sp_error err = {0};
	if (solver_arena_new(&r.a, &err))
		return err.code;
	ent *v = NULL;
	size_t n = 0;
	int rc = index_decode(&v, &n, &r, text, len, &err);
	for (size_t i = 0; !rc && i < n; i++)
		if (!v[i].pub.tag || !spfs_tag_name_valid(v[i].pub.tag))
			abort(); /* the decoder let a bad tag through */
	free(v);
	doc_slice *docs = NULL;
	size_t nd = 0;
	if (slice_docs(&docs, &nd, text, len, "fuzz", &err) == 0)
		for (size_t i = 0; i < nd; i++)
			if (docs[i].start > docs[i].end || docs[i].end > len)
				abort(); /* a slice outside the text */
	free(docs);
	for (int want = 0; want < 2; want++) {
		sp_buf out = {0};
		(void)edit_deprecated(&out, text, len, "fuzz", want, &err);
		sp_buf_free(&out);
	}
	solver_arena_free(r.a);
	return rc;
}
