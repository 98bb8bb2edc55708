/* test_encode.c - canonical encodings of manifests, layers and platforms
 * (spfs/encode.c): round trips, and every kind of bad input rejected with
 * SPFS_ECORRUPT and a message naming the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "spfs/fixtures.h"

#define HDR_LEN	    16 /* "spfs:manifest:1\n" */
#define ENTRY_FIXED (1 + 4 + 8 + SP_DIGEST_LEN + 2)

/* Encodes entries verbatim, in the given order, without any checks. */
static void encode_raw(sp_buf *b, const spfs_entry *es, size_t n)
{
	spfs_manifest m = {.entries = (spfs_entry *)es, .count = n, .cap = n};
	sp_error err = {0};
	assert_int_equal(spfs_manifest_encode(&m, b, &err), 0);
}

/* Decoding must fail with SPFS_ECORRUPT and a message containing `needle`. */
static void expect_corrupt(const void *data, size_t n, const char *needle)
{
	sp_error err = {0};
	spfs_manifest *m = NULL;
	int rc = spfs_manifest_decode(&m, data, n, &err);
	if (rc != SPFS_ECORRUPT)
		fail_msg("expected SPFS_ECORRUPT for '%s', got %d (%s)", needle, rc, err.msg);
	assert_null(m);
	if (!strstr(err.msg, needle))
		fail_msg("message '%s' does not contain '%s'", err.msg, needle);
}

static void expect_entries_corrupt(const spfs_entry *es, size_t n, const char *needle)
{
	sp_buf b = {0};
	encode_raw(&b, es, n);
	expect_corrupt(b.data, b.len, needle);
	sp_buf_free(&b);
}

static spfs_manifest *sample_manifest(void)
{
	/* every kind, both file modes, nesting, and the "a" < "a/b" < "a.txt" corner */
	spfs_manifest *m = fx_manifest("d:a f:a/b s:a/link>../a.txt d:a/sub m:a/sub/gone "
				       "f:a.txt f:b d:caf\xc3\xa9 f:caf\xc3\xa9/\x01\xff");
	m->entries[1].mode = 0755;
	return m;
}

static void assert_manifests_equal(const spfs_manifest *a, const spfs_manifest *b)
{
	assert_int_equal(a->count, b->count);
	for (size_t i = 0; i < a->count; i++) {
		const spfs_entry *x = &a->entries[i], *y = &b->entries[i];
		assert_string_equal(x->path, y->path);
		assert_int_equal(x->kind, y->kind);
		assert_int_equal(x->mode, y->mode);
		assert_int_equal(x->size, y->size);
		assert_memory_equal(x->digest.bytes, y->digest.bytes, SP_DIGEST_LEN);
		if (x->target || y->target)
			assert_string_equal(x->target, y->target);
	}
}

/* ----------------------------------------------------------- round trips */

static void test_manifest_round_trip(void **state)
{
	_cleanup_(spfs_manifest_freep) spfs_manifest *m = sample_manifest();
	sp_error err = {0};
	sp_buf b = {0}, again = {0};
	assert_int_equal(spfs_manifest_encode(m, &b, &err), 0);
	assert_memory_equal(b.data, "spfs:manifest:1\n", HDR_LEN);
	spfs_kind kind;
	assert_int_equal(spfs_object_kind(&kind, b.data, b.len, &err), 0);
	assert_int_equal(kind, SPFS_KIND_MANIFEST);
	_cleanup_(spfs_manifest_freep) spfs_manifest *d = NULL;
	if (spfs_manifest_decode(&d, b.data, b.len, &err))
		fail_msg("%s", err.msg);
	assert_manifests_equal(m, d);
	assert_int_equal(spfs_manifest_encode(d, &again, &err), 0);
	assert_int_equal(again.len, b.len);
	assert_memory_equal(again.data, b.data, b.len);
	sp_buf_free(&b);
	sp_buf_free(&again);
}

static void test_empty_manifest(void **state)
{
	spfs_manifest empty = {0};
	sp_error err = {0};
	sp_buf b = {0};
	assert_int_equal(spfs_manifest_encode(&empty, &b, &err), 0);
	assert_int_equal(b.len, HDR_LEN + 4);
	_cleanup_(spfs_manifest_freep) spfs_manifest *d = NULL;
	assert_int_equal(spfs_manifest_decode(&d, b.data, b.len, &err), 0);
	assert_int_equal(d->count, 0);
	sp_buf_free(&b);
}

static void test_layer_round_trip(void **state)
{
	spfs_annotation a[] = {{"author", "me"}, {"empty", ""}, {"msg", "caf\xc3\xa9\n\"q\""}};
	spfs_layer l = {.annotations = a, .annotation_count = 3};
	memset(l.manifest.bytes, 0x3c, SP_DIGEST_LEN);
	sp_error err = {0};
	sp_buf b = {0}, again = {0};
	assert_int_equal(spfs_layer_encode(&l, &b, &err), 0);
	spfs_kind kind;
	assert_int_equal(spfs_object_kind(&kind, b.data, b.len, &err), 0);
	assert_int_equal(kind, SPFS_KIND_LAYER);
	_cleanup_(spfs_layer_freep) spfs_layer *d = NULL;
	assert_int_equal(spfs_layer_decode(&d, b.data, b.len, &err), 0);
	assert_memory_equal(d->manifest.bytes, l.manifest.bytes, SP_DIGEST_LEN);
	assert_int_equal(d->annotation_count, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(d->annotations[i].key, a[i].key);
		assert_string_equal(d->annotations[i].value, a[i].value);
	}
	assert_int_equal(spfs_layer_encode(d, &again, &err), 0);
	assert_int_equal(again.len, b.len);
	assert_memory_equal(again.data, b.data, b.len);
	sp_buf_free(&b);
	sp_buf_free(&again);
}

static void test_platform_round_trip(void **state)
{
	sp_digest layers[3];
	for (int i = 0; i < 3; i++)
		memset(layers[i].bytes, 0x10 + i, SP_DIGEST_LEN);
	for (size_t n = 0; n <= 3; n++) {
		spfs_platform p = {.layers = layers, .count = n};
		sp_error err = {0};
		sp_buf b = {0}, again = {0};
		assert_int_equal(spfs_platform_encode(&p, &b, &err), 0);
		assert_int_equal(b.len, 16 + 4 + n * SP_DIGEST_LEN);
		spfs_kind kind;
		assert_int_equal(spfs_object_kind(&kind, b.data, b.len, &err), 0);
		assert_int_equal(kind, SPFS_KIND_PLATFORM);
		_cleanup_(spfs_platform_freep) spfs_platform *d = NULL;
		assert_int_equal(spfs_platform_decode(&d, b.data, b.len, &err), 0);
		assert_int_equal(d->count, n);
		for (size_t i = 0; i < n; i++) /* order is kept: bottom first */
			assert_memory_equal(d->layers[i].bytes, layers[i].bytes, SP_DIGEST_LEN);
		assert_int_equal(spfs_platform_encode(d, &again, &err), 0);
		assert_memory_equal(again.data, b.data, b.len);
		sp_buf_free(&b);
		sp_buf_free(&again);
	}
}

static void test_object_kind_unknown(void **state)
{
	sp_error err = {0};
	spfs_kind kind = 0;
	const char *bad[] = {"", "spfs:manifest:1", "spfs:blob:1\n", "SPFS:manifest:1\n", "hello"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(spfs_object_kind(&kind, bad[i], strlen(bad[i]), &err),
				 SPFS_ECORRUPT);
		assert_non_null(strstr(err.msg, "unknown header"));
	}
	assert_int_equal(spfs_kind_name(SPFS_KIND_BLOB)[0], 'b');
	assert_string_equal(spfs_kind_name((spfs_kind)99), "unknown");
	assert_string_equal(spfs_entry_kind_name(SPFS_ENTRY_MASK), "mask");
}

static void test_encoders_refuse_bad_input(void **state)
{
	sp_error err = {0};
	sp_buf b = {0};
	spfs_annotation unsorted[] = {{"b", "1"}, {"a", "2"}};
	spfs_layer l = {.annotations = unsorted, .annotation_count = 2};
	assert_int_equal(spfs_layer_encode(&l, &b, &err), SP_EINVALID);
	assert_non_null(strstr(err.msg, "not sorted"));
	spfs_annotation dup[] = {{"a", "1"}, {"a", "2"}};
	l.annotations = dup;
	assert_int_equal(spfs_layer_encode(&l, &b, &err), SP_EINVALID);
	spfs_annotation empty[] = {{"", "1"}};
	l.annotations = empty;
	l.annotation_count = 1;
	assert_int_equal(spfs_layer_encode(&l, &b, &err), SP_EINVALID);
	assert_non_null(strstr(err.msg, "empty or too long"));
	sp_buf_free(&b);

	char *path = malloc(SPFS_MAX_PATH + 2);
	memset(path, 'p', SPFS_MAX_PATH + 1);
	path[SPFS_MAX_PATH + 1] = '\0';
	spfs_entry e = fx_entry(SPFS_ENTRY_FILE, path);
	spfs_manifest m = {.entries = &e, .count = 1};
	sp_buf c = {0};
	assert_int_equal(spfs_manifest_encode(&m, &c, &err), SP_EINVALID);
	assert_non_null(strstr(err.msg, "path too long"));
	sp_buf_free(&c);
	free(path);
}

/* --------------------------------------------------- truncation, bit flips */

static void test_manifest_truncated_at_every_offset(void **state)
{
	_cleanup_(spfs_manifest_freep) spfs_manifest *m = sample_manifest();
	sp_error err = {0};
	sp_buf b = {0};
	assert_int_equal(spfs_manifest_encode(m, &b, &err), 0);
	for (size_t n = 0; n < b.len; n++) {
		/* a fresh allocation of exactly n bytes, so ASan sees any over-read */
		char *copy = malloc(n ? n : 1);
		memcpy(copy, b.data, n);
		expect_corrupt(copy, n, n < HDR_LEN ? "missing header" : "manifest");
		free(copy);
	}
	sp_buf_free(&b);
}

/* Byte ranges of the sample's encoding, by field. */
typedef enum {
	F_HEADER,
	F_COUNT,
	F_KIND,
	F_MODE,
	F_SIZE,
	F_DIGEST,
	F_PLEN,
	F_PATH,
	F_TARGET
} field;

static field field_at(const spfs_manifest *m, size_t off, const spfs_entry **which)
{
	if (off < HDR_LEN)
		return F_HEADER;
	if (off < HDR_LEN + 4)
		return F_COUNT;
	size_t pos = HDR_LEN + 4;
	for (size_t i = 0; i < m->count; i++) {
		const spfs_entry *e = &m->entries[i];
		size_t plen = strlen(e->path);
		size_t tlen = e->kind == SPFS_ENTRY_SYMLINK ? e->size : 0;
		size_t rel = off - pos;
		*which = e;
		if (off < pos + ENTRY_FIXED + plen + tlen) {
			if (rel < 1)
				return F_KIND;
			if (rel < 5)
				return F_MODE;
			if (rel < 13)
				return F_SIZE;
			if (rel < 13 + SP_DIGEST_LEN)
				return F_DIGEST;
			if (rel < ENTRY_FIXED)
				return F_PLEN;
			if (rel < ENTRY_FIXED + plen)
				return F_PATH;
			return F_TARGET;
		}
		pos += ENTRY_FIXED + plen + tlen;
	}
	fail_msg("offset %zu past the end", off);
	return F_HEADER;
}

static void test_manifest_bit_flip_at_every_offset(void **state)
{
	_cleanup_(spfs_manifest_freep) spfs_manifest *m = sample_manifest();
	sp_error err = {0};
	sp_buf b = {0};
	assert_int_equal(spfs_manifest_encode(m, &b, &err), 0);
	size_t rejected = 0, accepted = 0;
	for (size_t off = 0; off < b.len; off++) {
		const spfs_entry *e = NULL;
		field f = field_at(m, off, &e);
		for (int bit = 0; bit < 8; bit++) {
			char *copy = malloc(b.len);
			memcpy(copy, b.data, b.len);
			copy[off] ^= (char)(1 << bit);
			spfs_manifest *d = NULL;
			sp_error_clear(&err);
			int rc = spfs_manifest_decode(&d, copy, b.len, &err);
			if (rc) {
				assert_int_equal(rc, SPFS_ECORRUPT);
				assert_null(d);
				assert_memory_equal(err.msg, "manifest", 8);
				rejected++;
			} else {
				/* Whatever still decodes is canonical: it re-encodes
				 * to exactly the flipped bytes. */
				sp_buf again = {0};
				assert_int_equal(spfs_manifest_encode(d, &again, &err), 0);
				assert_int_equal(again.len, b.len);
				assert_memory_equal(again.data, copy, b.len);
				sp_buf_free(&again);
				spfs_manifest_free(d);
				accepted++;
			}
			/* Structure, kinds and modes admit no single-bit change
			 * (valid modes differ in more than one bit); a file's
			 * size and digest are free-form and stay decodable. */
			bool must_fail =
			    f == F_HEADER || f == F_COUNT || f == F_KIND || f == F_MODE ||
			    f == F_TARGET ||
			    ((f == F_SIZE || f == F_DIGEST) && e->kind != SPFS_ENTRY_FILE);
			bool must_pass =
			    (f == F_SIZE || f == F_DIGEST) && e->kind == SPFS_ENTRY_FILE;
			if (must_fail && rc == 0)
				fail_msg("flip of bit %d at offset %zu (field %d) was accepted",
					 bit, off, f);
			if (must_pass && rc != 0)
				fail_msg("flip of bit %d at offset %zu (field %d) was rejected: %s",
					 bit, off, f, err.msg);
			free(copy);
		}
	}
	assert_true(rejected > 0 && accepted > 0);
	sp_buf_free(&b);
}

static void test_layer_and_platform_truncated_and_flipped(void **state)
{
	spfs_annotation a[] = {{"k1", "v1"}, {"k2", "value two"}};
	spfs_layer l = {.annotations = a, .annotation_count = 2};
	memset(l.manifest.bytes, 0x42, SP_DIGEST_LEN);
	sp_digest layers[2];
	memset(layers, 0x24, sizeof(layers));
	spfs_platform p = {.layers = layers, .count = 2};
	sp_error err = {0};
	sp_buf lb = {0}, pb = {0};
	assert_int_equal(spfs_layer_encode(&l, &lb, &err), 0);
	assert_int_equal(spfs_platform_encode(&p, &pb, &err), 0);

	for (size_t n = 0; n < lb.len; n++) {
		char *copy = malloc(n ? n : 1);
		memcpy(copy, lb.data, n);
		spfs_layer *d = NULL;
		assert_int_equal(spfs_layer_decode(&d, copy, n, &err), SPFS_ECORRUPT);
		assert_null(d);
		assert_non_null(strstr(err.msg, n < 13 ? "missing header" : "layer"));
		free(copy);
	}
	for (size_t n = 0; n < pb.len; n++) {
		char *copy = malloc(n ? n : 1);
		memcpy(copy, pb.data, n);
		spfs_platform *d = NULL;
		assert_int_equal(spfs_platform_decode(&d, copy, n, &err), SPFS_ECORRUPT);
		assert_null(d);
		assert_non_null(strstr(err.msg, "platform"));
		free(copy);
	}
	/* flips: header and count always rejected; digests always accepted;
	 * anything accepted is canonical */
	for (size_t off = 0; off < lb.len; off++) {
		for (int bit = 0; bit < 8; bit++) {
			char *copy = malloc(lb.len);
			memcpy(copy, lb.data, lb.len);
			copy[off] ^= (char)(1 << bit);
			spfs_layer *d = NULL;
			int rc = spfs_layer_decode(&d, copy, lb.len, &err);
			if (off < 13 + SP_DIGEST_LEN + 4 && off >= 13)
				assert_true((off < 13 + SP_DIGEST_LEN) == (rc == 0));
			if (off < 13)
				assert_int_equal(rc, SPFS_ECORRUPT);
			if (rc == 0) {
				sp_buf again = {0};
				assert_int_equal(spfs_layer_encode(d, &again, &err), 0);
				assert_int_equal(again.len, lb.len);
				assert_memory_equal(again.data, copy, lb.len);
				sp_buf_free(&again);
				spfs_layer_free(d);
			} else {
				assert_int_equal(rc, SPFS_ECORRUPT);
			}
			free(copy);
		}
	}
	for (size_t off = 0; off < pb.len; off++) {
		for (int bit = 0; bit < 8; bit++) {
			char *copy = malloc(pb.len);
			memcpy(copy, pb.data, pb.len);
			copy[off] ^= (char)(1 << bit);
			spfs_platform *d = NULL;
			int rc = spfs_platform_decode(&d, copy, pb.len, &err);
			assert_int_equal(rc, off < 20 ? SPFS_ECORRUPT : 0);
			spfs_platform_free(d);
			free(copy);
		}
	}
	sp_buf_free(&lb);
	sp_buf_free(&pb);
}

/* ----------------------------------------------------- hostile manifests */

static void test_bad_names(void **state)
{
	spfs_entry dir = fx_entry(SPFS_ENTRY_DIR, "a");
	const struct {
		const char *path;
		const char *needle;
		bool with_dir;
	} cases[] = {
	    {"..", "invalid entry name '..'", false},
	    {".", "invalid entry name '.'", false},
	    {"/etc", "invalid entry name '' in '/etc'", false},
	    {"a/", "invalid entry name '' in 'a/'", true},
	    {"a//b", "invalid entry name '' in 'a//b'", true},
	    {"a/../b", "invalid entry name '..' in 'a/../b'", true},
	    {"a/./b", "invalid entry name '.' in 'a/./b'", true},
	    {"a/..", "invalid entry name '..'", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		spfs_entry es[2] = {dir, fx_entry(SPFS_ENTRY_FILE, cases[i].path)};
		if (cases[i].with_dir)
			expect_entries_corrupt(es, 2, cases[i].needle);
		else
			expect_entries_corrupt(es + 1, 1, cases[i].needle);
	}
	/* An empty path is the only 47-byte entry, so a lone one already fails
	 * the count bound; followed by a longer entry it reaches the name check. */
	spfs_entry empty[] = {fx_entry(SPFS_ENTRY_FILE, ""), fx_entry(SPFS_ENTRY_FILE, "zzz")};
	expect_entries_corrupt(empty, 2, "entry with an empty name");
	expect_entries_corrupt(empty, 1, "entry count 1 does not fit");
	/* a name of 255 bytes is fine, 256 is not */
	char name[300];
	memset(name, 'n', 255);
	name[255] = '\0';
	spfs_entry ok = fx_entry(SPFS_ENTRY_FILE, name);
	sp_buf b = {0};
	encode_raw(&b, &ok, 1);
	sp_error err = {0};
	_cleanup_(spfs_manifest_freep) spfs_manifest *d = NULL;
	assert_int_equal(spfs_manifest_decode(&d, b.data, b.len, &err), 0);
	sp_buf_free(&b);
	name[255] = 'n';
	name[256] = '\0';
	spfs_entry long1 = fx_entry(SPFS_ENTRY_FILE, name);
	expect_entries_corrupt(&long1, 1, "invalid entry name 'nnn");
}

static void test_name_with_nul(void **state)
{
	/* "a\0c" and "a/b\0" written byte by byte */
	spfs_entry e = fx_entry(SPFS_ENTRY_FILE, "abc");
	sp_buf b = {0};
	encode_raw(&b, &e, 1);
	b.data[b.len - 2] = '\0';
	expect_corrupt(b.data, b.len, "invalid entry name 'a");
	b.data[b.len - 2] = 'b';
	b.data[b.len - 1] = '\0';
	expect_corrupt(b.data, b.len, "invalid entry name 'ab");
	b.data[b.len - 3] = '\0';
	b.data[b.len - 1] = 'c';
	expect_corrupt(b.data, b.len, "invalid entry name ''");
	sp_buf_free(&b);
}

static void test_order_duplicates_parents(void **state)
{
	spfs_entry ba[] = {fx_entry(SPFS_ENTRY_FILE, "b"), fx_entry(SPFS_ENTRY_FILE, "a")};
	expect_entries_corrupt(ba, 2, "'a' is out of order or repeated");
	spfs_entry dup[] = {fx_entry(SPFS_ENTRY_FILE, "a"), fx_entry(SPFS_ENTRY_FILE, "a")};
	expect_entries_corrupt(dup, 2, "'a' is out of order or repeated");
	/* bytewise order would put "a.txt" before "a/b"; canonical order does not */
	spfs_entry bytewise[] = {fx_entry(SPFS_ENTRY_DIR, "a"), fx_entry(SPFS_ENTRY_FILE, "a.txt"),
				 fx_entry(SPFS_ENTRY_FILE, "a/b")};
	expect_entries_corrupt(bytewise, 3, "'a/b' is out of order or repeated");
	spfs_entry child_first[] = {fx_entry(SPFS_ENTRY_FILE, "a/b"),
				    fx_entry(SPFS_ENTRY_DIR, "a")};
	expect_entries_corrupt(child_first, 2, "'a/b' has no parent directory");
	spfs_entry orphan[] = {fx_entry(SPFS_ENTRY_FILE, "x/y")};
	expect_entries_corrupt(orphan, 1, "'x/y' has no parent directory");
	spfs_entry grand[] = {fx_entry(SPFS_ENTRY_DIR, "x"), fx_entry(SPFS_ENTRY_FILE, "x/y/z")};
	expect_entries_corrupt(grand, 2, "'x/y/z' has no parent directory");
	spfs_entry file_parent[] = {fx_entry(SPFS_ENTRY_FILE, "x"),
				    fx_entry(SPFS_ENTRY_FILE, "x/y")};
	expect_entries_corrupt(file_parent, 2, "'x/y' has no parent directory");
	spfs_entry mask_parent[] = {fx_entry(SPFS_ENTRY_MASK, "x"),
				    fx_entry(SPFS_ENTRY_FILE, "x/y")};
	expect_entries_corrupt(mask_parent, 2, "'x/y' has no parent directory");
	spfs_entry link_parent[] = {fx_symlink("x", "/tmp"), fx_entry(SPFS_ENTRY_FILE, "x/y")};
	expect_entries_corrupt(link_parent, 2, "'x/y' has no parent directory");
}

static void test_bad_modes_and_kinds(void **state)
{
	const struct {
		spfs_entry_kind kind;
		uint32_t mode;
		const char *needle;
	} cases[] = {
	    {SPFS_ENTRY_DIR, 0700, "mode 700 is not valid for a dir"},
	    {SPFS_ENTRY_DIR, 040755, "mode 40755 is not valid for a dir"},
	    {SPFS_ENTRY_FILE, 0600, "mode 600 is not valid for a file"},
	    {SPFS_ENTRY_FILE, 04755, "mode 4755 is not valid for a file"},
	    {SPFS_ENTRY_FILE, 0777, "mode 777 is not valid for a file"},
	    {SPFS_ENTRY_SYMLINK, 0755, "mode 755 is not valid for a symlink"},
	    {SPFS_ENTRY_MASK, 0644, "mode 644 is not valid for a mask"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		spfs_entry e = cases[i].kind == SPFS_ENTRY_SYMLINK ? fx_symlink("x", "t")
								   : fx_entry(cases[i].kind, "x");
		e.mode = cases[i].mode;
		expect_entries_corrupt(&e, 1, cases[i].needle);
	}
	spfs_entry k = fx_entry(SPFS_ENTRY_FILE, "x");
	k.kind = 0;
	expect_entries_corrupt(&k, 1, "entry 0 has unknown kind 0");
	k.kind = 5;
	expect_entries_corrupt(&k, 1, "unknown kind 5");
	spfs_entry ds = fx_entry(SPFS_ENTRY_DIR, "x");
	ds.size = 1;
	expect_entries_corrupt(&ds, 1, "dir 'x' carries a size or digest");
	spfs_entry md = fx_entry(SPFS_ENTRY_MASK, "x");
	md.digest.bytes[31] = 1;
	expect_entries_corrupt(&md, 1, "mask 'x' carries a size or digest");
}

static void test_bad_symlinks(void **state)
{
	spfs_entry wrong = fx_symlink("s", "target");
	wrong.digest.bytes[0] ^= 1;
	expect_entries_corrupt(&wrong, 1, "symlink 's' digest does not match its target");
	spfs_entry nul = fx_symlink("s", "ab");
	nul.target = "a\0b";
	nul.size = 3;
	sp_error err = {0};
	sp_digest_buf(&nul.digest, "a\0b", 3, &err);
	expect_entries_corrupt(&nul, 1, "symlink 's' target contains NUL");
	spfs_entry empty = fx_symlink("s", "");
	expect_entries_corrupt(&empty, 1, "symlink 's' has a bad target length");
	/* a target length beyond the data */
	spfs_entry lying = fx_symlink("s", "abc");
	sp_buf b = {0};
	encode_raw(&b, &lying, 1);
	b.data[HDR_LEN + 4 + 5 + 7] = 4; /* size 3 -> 4 */
	expect_corrupt(b.data, b.len, "manifest is truncated");
	sp_buf_free(&b);
	/* absolute and dotdot targets are verbatim data, not names: accepted */
	spfs_entry fine[] = {fx_symlink("a", "/etc/passwd"), fx_symlink("b", "../../..")};
	encode_raw(&b, fine, 2);
	_cleanup_(spfs_manifest_freep) spfs_manifest *d = NULL;
	assert_int_equal(spfs_manifest_decode(&d, b.data, b.len, &err), 0);
	assert_string_equal(d->entries[0].target, "/etc/passwd");
	sp_buf_free(&b);
}

static void put_u32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

static void test_counts_limits_and_framing(void **state)
{
	spfs_entry e = fx_entry(SPFS_ENTRY_FILE, "abc");
	sp_buf b = {0};
	encode_raw(&b, &e, 1);
	put_u32(b.data + HDR_LEN, 0xffffffffu);
	expect_corrupt(b.data, b.len, "entry count 4294967295 does not fit");
	put_u32(b.data + HDR_LEN, 2);
	expect_corrupt(b.data, b.len, "entry count 2 does not fit");
	put_u32(b.data + HDR_LEN, 0);
	expect_corrupt(b.data, b.len, "unexpected bytes at the end");
	put_u32(b.data + HDR_LEN, 1);
	sp_error err = {0};
	sp_buf_append(&b, "x", 1, &err);
	expect_corrupt(b.data, b.len, "manifest: 1 unexpected bytes at the end");
	b.len--;
	/* path length claims more than is there */
	b.data[HDR_LEN + 4 + ENTRY_FIXED - 2] = 0x10;
	expect_corrupt(b.data, b.len, "manifest is truncated");
	sp_buf_free(&b);
	/* wrong or damaged header */
	expect_corrupt("spfs:layer:1\n", 13, "missing header 'spfs:manifest:1'");
	expect_corrupt("spfs:manifest:2\n\0\0\0\0", 20, "missing header");

	/* nesting: 256 levels decode, 257 do not */
	static char paths[257][520];
	static spfs_entry deep[257];
	for (int i = 0; i < 257; i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s%sd", i ? paths[i - 1] : "", i ? "/" : "");
		deep[i] = fx_entry(SPFS_ENTRY_DIR, paths[i]);
	}
	encode_raw(&b, deep, 256);
	_cleanup_(spfs_manifest_freep) spfs_manifest *d = NULL;
	if (spfs_manifest_decode(&d, b.data, b.len, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(d->count, 256);
	sp_buf_free(&b);
	encode_raw(&b, deep, 257);
	expect_corrupt(b.data, b.len, "is nested too deep");
	sp_buf_free(&b);

	/* a path over SPFS_MAX_PATH made of valid names, written by hand */
	size_t plen = SPFS_MAX_PATH + 1;
	char *big = calloc(1, HDR_LEN + 4 + ENTRY_FIXED + plen);
	memcpy(big, "spfs:manifest:1\n", HDR_LEN);
	put_u32(big + HDR_LEN, 1);
	char *ent = big + HDR_LEN + 4;
	ent[0] = SPFS_ENTRY_DIR;
	put_u32(ent + 1, 0755);
	ent[ENTRY_FIXED - 2] = (char)(plen >> 8);
	ent[ENTRY_FIXED - 1] = (char)plen;
	for (size_t i = 0; i < plen; i++)
		ent[ENTRY_FIXED + i] = (i % 10 == 9) ? '/' : 'x';
	ent[ENTRY_FIXED + plen - 1] = 'x';
	expect_corrupt(big, HDR_LEN + 4 + ENTRY_FIXED + plen, "entry 0 path too long");
	free(big);
}

static void test_hostile_layers_and_platforms(void **state)
{
	sp_error err = {0};
	spfs_layer *l = NULL;
	/* header, zero digest, count, then annotations by hand */
	char buf[256];
	memcpy(buf, "spfs:layer:1\n", 13);
	memset(buf + 13, 0, SP_DIGEST_LEN);
	size_t base = 13 + SP_DIGEST_LEN;
#define ANN(p, k, v)                                                                               \
	do {                                                                                       \
		(p)[0] = 0;                                                                        \
		(p)[1] = (char)(sizeof(k) - 1);                                                    \
		memcpy((p) + 2, k, sizeof(k) - 1);                                                 \
		put_u32((p) + 2 + sizeof(k) - 1, sizeof(v) - 1);                                   \
		memcpy((p) + 6 + sizeof(k) - 1, v, sizeof(v) - 1);                                 \
		(p) += 6 + sizeof(k) - 1 + sizeof(v) - 1;                                          \
	} while (0)
	struct {
		const char *needle;
		int n;
	} cases[] = {
	    {"annotation keys out of order at 'a'", 0}, {"annotation keys out of order at 'k'", 1},
	    {"annotation 0 is malformed", 2},		{"annotation 0 is malformed", 3},
	    {"annotation 0 is malformed", 4},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = buf + base + 4;
		uint32_t count = 2;
		switch (cases[i].n) {
		case 0:
			ANN(p, "b", "1");
			ANN(p, "a", "2");
			break;
		case 1:
			ANN(p, "k", "1");
			ANN(p, "k", "2");
			break;
		case 2:
			count = 1;
			ANN(p, "", "v");
			break;
		case 3:
			count = 1;
			ANN(p, "a\0b", "v");
			break;
		case 4:
			count = 1;
			ANN(p, "k", "v\0w");
			break;
		}
		put_u32(buf + base, count);
		assert_int_equal(spfs_layer_decode(&l, buf, (size_t)(p - buf), &err),
				 SPFS_ECORRUPT);
		assert_null(l);
		if (!strstr(err.msg, cases[i].needle))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].needle);
	}
	put_u32(buf + base, 0xffffffffu);
	assert_int_equal(spfs_layer_decode(&l, buf, base + 4, &err), SPFS_ECORRUPT);
	assert_non_null(strstr(err.msg, "annotation count 4294967295 does not fit"));
	put_u32(buf + base, 0);
	buf[base + 4] = 'x';
	assert_int_equal(spfs_layer_decode(&l, buf, base + 5, &err), SPFS_ECORRUPT);
	assert_non_null(strstr(err.msg, "layer: 1 unexpected bytes at the end"));

	spfs_platform *p = NULL;
	char pbuf[16 + 4 + 2 * SP_DIGEST_LEN + 1] = "spfs:platform:1\n";
	memset(pbuf + 20, 7, sizeof(pbuf) - 20);
	put_u32(pbuf + 16, 3);
	assert_int_equal(spfs_platform_decode(&p, pbuf, 20 + 2 * SP_DIGEST_LEN, &err),
			 SPFS_ECORRUPT);
	assert_non_null(strstr(err.msg, "layer count 3 does not match its size"));
	put_u32(pbuf + 16, 0xffffffffu);
	assert_int_equal(spfs_platform_decode(&p, pbuf, sizeof(pbuf), &err), SPFS_ECORRUPT);
	put_u32(pbuf + 16, 2);
	assert_int_equal(spfs_platform_decode(&p, pbuf, sizeof(pbuf), &err), SPFS_ECORRUPT);
	assert_int_equal(spfs_platform_decode(&p, pbuf, sizeof(pbuf) - 1, &err), 0);
	assert_int_equal(p->count, 2);
	spfs_platform_free(p);
	p = NULL;
	assert_int_equal(spfs_platform_decode(&p, "spfs:manifest:1\n\0\0\0\0", 20, &err),
			 SPFS_ECORRUPT);
	assert_non_null(strstr(err.msg, "missing header 'spfs:platform:1'"));
}

static void test_name_valid(void **state)
{
	assert_true(spfs_name_valid("a", 1));
	assert_true(spfs_name_valid("...", 3));
	assert_true(spfs_name_valid(".hidden", 7));
	assert_true(spfs_name_valid("a b\\c:\xff", 7));
	assert_false(spfs_name_valid("", 0));
	assert_false(spfs_name_valid(".", 1));
	assert_false(spfs_name_valid("..", 2));
	assert_false(spfs_name_valid("a/b", 3));
	assert_false(spfs_name_valid("a\0b", 3));
	assert_true(spfs_name_valid("a/b", 1)); /* only len bytes count */
	char n[SPFS_MAX_NAME + 1];
	memset(n, 'x', sizeof(n));
	assert_true(spfs_name_valid(n, SPFS_MAX_NAME));
	assert_false(spfs_name_valid(n, SPFS_MAX_NAME + 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_manifest_round_trip),
	    cmocka_unit_test(test_empty_manifest),
	    cmocka_unit_test(test_layer_round_trip),
	    cmocka_unit_test(test_platform_round_trip),
	    cmocka_unit_test(test_object_kind_unknown),
	    cmocka_unit_test(test_encoders_refuse_bad_input),
	    cmocka_unit_test(test_manifest_truncated_at_every_offset),
	    cmocka_unit_test(test_manifest_bit_flip_at_every_offset),
	    cmocka_unit_test(test_layer_and_platform_truncated_and_flipped),
	    cmocka_unit_test(test_bad_names),
	    cmocka_unit_test(test_name_with_nul),
	    cmocka_unit_test(test_order_duplicates_parents),
	    cmocka_unit_test(test_bad_modes_and_kinds),
	    cmocka_unit_test(test_bad_symlinks),
	    cmocka_unit_test(test_counts_limits_and_framing),
	    cmocka_unit_test(test_hostile_layers_and_platforms),
	    cmocka_unit_test(test_name_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
