/* test_store.c - a real store in a temporary directory (spfs/store.c, with
 * spfs/ref.c and the tag operations of spfs/tag.c): idempotent writes,
 * verification on read, refusal of symlinks, resolving references and tag
 * histories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>

#include "common/tmpdir.h"
#include "spfs/fixtures.h"

typedef struct fixture {
	tmpdir *t;
	char store_path[4200];
	spfs_store *s;
	int sfd; /* the store root, borrowed */
} fixture;

static int store_setup(void **state)
{
	void *t = NULL;
	if (tmpdir_setup(&t))
		return -1;
	fixture *f = calloc(1, sizeof(*f));
	f->t = t;
	snprintf(f->store_path, sizeof(f->store_path), "%s/store", f->t->path);
	sp_error err = {0};
	if (spfs_store_open(&f->s, f->store_path, true, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	f->sfd = spfs_store_dirfd(f->s);
	*state = f;
	return 0;
}

static int store_teardown(void **state)
{
	fixture *f = *state;
	spfs_store_free(f->s);
	void *t = f->t;
	free(f);
	return tmpdir_teardown(&t);
}

/* "objects/xx/<62 hex>" (or payloads/) of d. */
static void rel_path(char *out, size_t n, const char *top, const sp_digest *d, bool exec)
{
	char hex[SP_DIGEST_HEX_LEN + 1];
	sp_digest_to_hex(d, hex);
	snprintf(out, n, "%s/%.2s/%s%s", top, hex, hex + 2, exec ? ".x" : "");
}

static void write_manifest(sp_digest *out, fixture *f, const char *spec, sp_buf *keep)
{
	_cleanup_(spfs_manifest_freep) spfs_manifest *m = fx_manifest(spec);
	sp_buf b = {0};
	sp_error err = {0};
	assert_int_equal(spfs_manifest_encode(m, &b, &err), 0);
	if (spfs_write_object(out, f->s, &b, &err))
		fail_msg("%s", err.msg);
	if (keep)
		*keep = b;
	else
		sp_buf_free(&b);
}

static void write_layer(sp_digest *out, fixture *f, const sp_digest *manifest)
{
	spfs_layer l = {.manifest = *manifest};
	sp_buf b = {0};
	sp_error err = {0};
	assert_int_equal(spfs_layer_encode(&l, &b, &err), 0);
	assert_int_equal(spfs_write_object(out, f->s, &b, &err), 0);
	sp_buf_free(&b);
}

static void hex_of(const sp_digest *d, char *hex)
{
	sp_digest_to_hex(d, hex);
}

/* ------------------------------------------------------------ open/init */

static void test_open_and_init(void **state)
{
	fixture *f = *state;
	sp_error err = {0};
	assert_string_equal(spfs_store_path(f->s), f->store_path);
	const char *dirs[] = {"objects", "payloads", "tags", "renders", "tmp", "locks"};
	for (size_t i = 0; i < 6; i++) {
		struct stat st;
		assert_int_equal(fstatat(f->sfd, dirs[i], &st, AT_SYMLINK_NOFOLLOW), 0);
		assert_true(S_ISDIR(st.st_mode));
	}
	/* reopen without create; init again is idempotent */
	spfs_store *again = NULL;
	assert_int_equal(spfs_store_open(&again, f->store_path, false, &err), 0);
	spfs_store_free(again);
	assert_int_equal(spfs_store_init(f->store_path, &err), 0);

	char path[4300];
	snprintf(path, sizeof(path), "%s/none", f->t->path);
	spfs_store *none = NULL;
	assert_int_equal(spfs_store_open(&none, path, false, &err), SPFS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no store at"));
	assert_null(none);
	/* a directory without the marker is not a store */
	assert_int_equal(mkdirat(f->t->fd, "plain", 0755), 0);
	snprintf(path, sizeof(path), "%s/plain", f->t->path);
	assert_int_equal(spfs_store_open(&none, path, false, &err), SPFS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "not an spfs store"));
	assert_int_equal(tmpdir_count(f->t->fd, "plain"), 0);
}

/* --------------------------------------------------------------- writes */

static void test_write_blob_idempotent(void **state)
{
	fixture *f = *state;
	sp_error err = {0};
	sp_digest d, d2, want;
	assert_int_equal(spfs_write_blob(&d, f->s, "hello\n", 6, &err), 0);
	assert_int_equal(sp_digest_buf(&want, "hello\n", 6, &err), 0);
	assert_memory_equal(d.bytes, want.bytes, SP_DIGEST_LEN);
	assert_true(spfs_has_payload(f->s, &d));
	assert_false(spfs_has_object(f->s, &d));
	assert_int_equal(spfs_write_blob(&d2, f->s, "hello\n", 6, &err), 0);
	assert_memory_equal(d2.bytes, d.bytes, SP_DIGEST_LEN);

	char rel[128], hex[SP_DIGEST_HEX_LEN + 1];
	rel_path(rel, sizeof(rel), "payloads", &d, false);
	struct stat st;
	assert_int_equal(fstatat(f->sfd, rel, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0444);
	hex_of(&d, hex);
	char shard[16];
	snprintf(shard, sizeof(shard), "payloads/%.2s", hex);
	assert_int_equal(tmpdir_count(f->sfd, shard), 1); /* no temp files left */

	int fd = -1;
	assert_int_equal(spfs_open_payload(&fd, f->s, &d, &err), 0);
	char buf[16] = {0};
	assert_int_equal(read(fd, buf, sizeof(buf)), 6);
	assert_string_equal(buf, "hello\n");
	close(fd);

	/* the empty blob */
	assert_int_equal(spfs_write_blob(&d, f->s, "", 0, &err), 0);
	hex_of(&d, hex);
	assert_string_equal(hex,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_true(spfs_has_payload(f->s, &d));
	assert_int_equal(tmpdir_count(f->sfd, "tmp"), 0);
}

static void test_write_object_idempotent(void **state)
{
	fixture *f = *state;
	sp_error err = {0};
	sp_buf enc = {0};
	sp_digest d, d2, want;
	write_manifest(&d, f, "d:a f:a/b s:a/c>b f:z", &enc);
	assert_int_equal(sp_digest_buf(&want, enc.data, enc.len, &err), 0);
	assert_memory_equal(d.bytes, want.bytes, SP_DIGEST_LEN);
	assert_true(spfs_has_object(f->s, &d));
	assert_false(spfs_has_payload(f->s, &d));
	assert_int_equal(spfs_write_object(&d2, f->s, &enc, &err), 0);
	assert_memory_equal(d2.bytes, d.bytes, SP_DIGEST_LEN);

	char rel[128], hex[SP_DIGEST_HEX_LEN + 1], shard[16];
	rel_path(rel, sizeof(rel), "objects", &d, false);
	struct stat st;
	assert_int_equal(fstatat(f->sfd, rel, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 07777, 0444);
	hex_of(&d, hex);
	snprintf(shard, sizeof(shard), "objects/%.2s", hex);
	assert_int_equal(tmpdir_count(f->sfd, shard), 1);

	sp_buf got = {0};
	spfs_kind kind = 0;
	assert_int_equal(spfs_read_object(&got, &kind, f->s, &d, &err), 0);
	assert_int_equal(kind, SPFS_KIND_MANIFEST);
	assert_int_equal(got.len, enc.len);
	assert_memory_equal(got.data, enc.data, enc.len);
	sp_buf_free(&got);
	_cleanup_(spfs_manifest_freep) spfs_manifest *m = NULL;
	assert_int_equal(spfs_read_manifest(&m, f->s, &d, &err), 0);
	assert_int_equal(m->count, 4);
	assert_string_equal(m->entries[2].target, "b");
	spfs_layer *l = NULL;
	assert_int_equal(spfs_read_layer(&l, f->s, &d, &err), SP_EINVALID);
	assert_non_null(strstr(err.msg, "is a manifest, not a layer"));
	assert_null(l);

	/* bytes that are not an object are not written */
	sp_buf junk = {0};
	sp_buf_append(&junk, "not an object", 13, &err);
	assert_int_equal(spfs_write_object(&d2, f->s, &junk, &err), SPFS_ECORRUPT);
	assert_false(spfs_has_object(f->s, &d2));
	sp_buf_free(&junk);
	sp_buf_free(&enc);
}

static void test_write_object_fault_leaves_nothing(void **state)
{
	fixture *f = *state;
	sp_error err = {0};
	_cleanup_(spfs_manifest_freep) spfs_manifest *m = fx_manifest("f:faulty");
	sp_buf b = {0};
	assert_int_equal(spfs_manifest_encode(m, &b, &err), 0);
	sp_digest d;
	sp_sys_fault_reset();
	assert_int_equal(sp_sys_fault_set("fsync:1:EIO", &err), 0);
	assert_int_equal(spfs_write_object(&d, f->s, &b, &err), SP_EIO);
	sp_sys_fault_reset();
	assert_non_null(strstr(err.msg, "cannot write manifest"));
	assert_false(spfs_has_object(f->s, &d));
	char hex[SP_DIGEST_HEX_LEN + 1], shard[16];
	hex_of(&d, hex);
	snprintf(shard, sizeof(shard), "objects/%.2s", hex);
	assert_int_equal(tmpdir_count(f->sfd, shard), 0); /* the temp file is gone */
	/* and a retry succeeds */
	assert_int_equal(spfs_write_object(&d, f->s, &b, &err), 0);
	assert_true(spfs_has_object(f->s, &d));
	sp_buf_free(&b);
}

/* ------------------------------------------------------ damage on read */

static void test_read_object_detects_flipped_byte(void **state)
{
	fixture *f = *state;
	sp_error err = {0};
	sp_buf enc = {0};
	sp_digest d;
	write_manifest(&d, f, "d:a f:a/b f:c", &enc);
	char rel[128], want_hex[SP_DIGEST_HEX_LEN + 1];
	rel_path(rel, sizeof(rel), "objects", &d, false);
	hex_of(&d, want_hex);
	assert_int_equal(fchmodat(f->sfd, rel, 0644, 0), 0);
	for (size_t off = 0; off < enc.len; off++) {
		int fd = openat(f->sfd, rel, O_WRONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		char c = (char)(enc.data[off] ^ 0x04);
		assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
		close(fd);
		enc.data[off] = c;
		sp_digest actual;
		char got_hex[SP_DIGEST_HEX_LEN + 1];
		sp_digest_buf(&actual, enc.data, enc.len, &err);
		hex_of(&actual, got_hex);

		sp_buf out = {0};
		assert_int_equal(spfs_read_object(&out, NULL, f->s, &d, &err), SPFS_EMISMATCH);
		assert_null(out.data);
		assert_non_null(strstr(err.msg, want_hex));
		assert_non_null(strstr(err.msg, got_hex));
		spfs_manifest *m = NULL;
		assert_int_equal(spfs_read_manifest(&m, f->s, &d, &err), SPFS_EMISMATCH);
		assert_null(m);
		/* restore for the next offset */
		enc.data[off] = (char)(c ^ 0x04);
		fd = openat(f->sfd, rel, O_WRONLY | O_CLOEXEC);
		assert_int_equal(pwrite(fd, &enc.data[off], 1, (off_t)off), 1);
		close(fd);
	}
	sp_buf out = {0};
	assert_int_equal(spfs_read_object(&out, NULL, f->s, &d, &err), 0);
	sp_buf_free(&out);
	/* a truncated object is a mismatch too */
	int fd = openat(f->sfd, rel, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, enc.data, enc.len - 1), (ssize_t)enc.len - 1);
	close(fd);
	assert_int_equal(spfs_read_object(&out, NULL, f->s, &d, &err), SPFS_EMISMATCH);
	sp_buf_free(&enc);
}

static void test_read_object_missing(void **state)
{
	fixture *f = *state;
	sp_error err = {0};
	sp_digest d;
	memset(d.bytes, 0xab, SP_DIGEST_LEN);
	sp_buf out = {0};
	/* no shard yet, then a shard without the file */
	assert_int_equal(spfs_read_object(&out, NULL, f->s, &d, &err), SPFS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "is missing"));
	assert_int_equal(mkdirat(f->sfd, "objects/ab", 0755), 0);
	spfs_store *fresh = NULL;
	assert_int_equal(spfs_store_open(&fresh, f->store_path, false, &err), 0);
	assert_int_equal(spfs_read_object(&out, NULL, fresh, &d, &err), SPFS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "is missing"));
	int fd = -1;
	assert_int_equal(spfs_open_payload(&fd, fresh, &d, &err), SPFS_ENOTFOUND);
	assert_int_equal(fd, -1);
	spfs_store_free(fresh);
}

static void test_payload_symlink_refused(void **state)
{
	fixture *f = *state;
	sp_error err = {0};
	sp_digest d;
	assert_int_equal(spfs_write_blob(&d, f->s, "secret", 6, &err), 0);
	/* an identical file outside the store, reached by a symlink */
	tmpdir_put(f->t->fd, "outside", "secret", 6, 0644);
	char rel[128], target[4300];
	rel_path(rel, sizeof(rel), "payloads", &d, false);
	snprintf(target, sizeof(target), "%s/outside", f->t->path);
	assert_int_equal(unlinkat(f->sfd, rel, 0), 0);
	assert_int_equal(symlinkat(target, f->sfd, rel), 0);
	int fd = -1;
	assert_int_equal(spfs_open_payload(&fd, f->s, &d, &err), SPFS_ECORRUPT);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_int_equal(fd, -1);
	assert_false(spfs_has_payload(f->s, &d));
	/* never followed: a dangling link is the same refusal, not "missing" */
	assert_int_equal(unlinkat(f->sfd, rel, 0), 0);
	assert_int_equal(symlinkat("/nonexistent/spfs-test", f->sfd, rel), 0);
	assert_int_equal(spfs_open_payload(&fd, f->s, &d, &err), SPFS_ECORRUPT);
	/* the executable variant as a symlink */
	assert_int_equal(unlinkat(f->sfd, rel, 0), 0);
	char relx[128];
	rel_path(relx, sizeof(relx), "payloads", &d, true);
	assert_int_equal(symlinkat(target, f->sfd, relx), 0);
	assert_int_equal(spfs_open_payload(&fd, f->s, &d, &err), SPFS_ECORRUPT);
	assert_non_null(strstr(err.msg, "symbolic link"));
	/* a directory in a payload's place */
	assert_int_equal(unlinkat(f->sfd, relx, 0), 0);
	assert_int_equal(mkdirat(f->sfd, rel, 0755), 0);
	assert_int_equal(spfs_open_payload(&fd, f->s, &d, &err), SPFS_ECORRUPT);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_int_equal(fd, -1);
}

static void test_object_symlink_refused(void **state)
{
	fixture *f = *state;
	sp_error err = {0};
	sp_buf enc = {0};
	sp_digest d;
	write_manifest(&d, f, "f:x", &enc);
	/* a byte-identical, valid copy of the object outside the store */
	tmpdir_put(f->t->fd, "copy", enc.data, enc.len, 0444);
	char rel[128], target[4300];
	rel_path(rel, sizeof(rel), "objects", &d, false);
	snprintf(target, sizeof(target), "%s/copy", f->t->path);
	assert_int_equal(unlinkat(f->sfd, rel, 0), 0);
	assert_int_equal(symlinkat(target, f->sfd, rel), 0);
	sp_buf out = {0};
	int rc = spfs_read_object(&out, NULL, f->s, &d, &err);
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_null(out.data);
	assert_false(spfs_has_object(f->s, &d));
	spfs_manifest *m = NULL;
	assert_int_not_equal(spfs_read_manifest(&m, f->s, &d, &err), 0);
	assert_null(m);

	/* a shard directory replaced by a symlink to a copy of it */
	assert_int_equal(unlinkat(f->sfd, rel, 0), 0);
	char hex[SP_DIGEST_HEX_LEN + 1], shard[16], shard_copy[4300];
	hex_of(&d, hex);
	snprintf(shard, sizeof(shard), "objects/%.2s", hex);
	assert_int_equal(mkdirat(f->t->fd, "shardcopy", 0755), 0);
	snprintf(shard_copy, sizeof(shard_copy), "shardcopy/%s", hex + 2);
	tmpdir_put(f->t->fd, shard_copy, enc.data, enc.len, 0444);
	assert_int_equal(unlinkat(f->sfd, shard, AT_REMOVEDIR), 0);
	snprintf(target, sizeof(target), "%s/shardcopy", f->t->path);
	assert_int_equal(symlinkat(target, f->sfd, shard), 0);
	spfs_store *fresh = NULL; /* shard fds are cached per handle */
	assert_int_equal(spfs_store_open(&fresh, f->store_path, false, &err), 0);
	assert_int_equal(spfs_read_object(&out, NULL, fresh, &d, &err), SPFS_ECORRUPT);
	assert_non_null(strstr(err.msg, "not a directory"));
	assert_false(spfs_has_object(fresh, &d));
	spfs_store_free(fresh);
	sp_buf_free(&enc);
}

static void test_write_over_planted_entry_is_not_success(void **state)
{
	fixture *f = *state;
	sp_error err = {0};
	_cleanup_(spfs_manifest_freep) spfs_manifest *m = fx_manifest("f:planted");
	sp_buf b = {0};
	assert_int_equal(spfs_manifest_encode(m, &b, &err), 0);
	sp_digest d;
	assert_int_equal(sp_digest_buf(&d, b.data, b.len, &err), 0);
	/* a symlink already sits under the object's final name */
	char rel[128], hex[SP_DIGEST_HEX_LEN + 1], shard[16];
	hex_of(&d, hex);
	snprintf(shard, sizeof(shard), "objects/%.2s", hex);
	assert_int_equal(mkdirat(f->sfd, shard, 0755), 0);
	rel_path(rel, sizeof(rel), "objects", &d, false);
	assert_int_equal(symlinkat("/nonexistent", f->sfd, rel), 0);
	sp_digest got;
	int rc = spfs_write_object(&got, f->s, &b, &err);
	/* claiming success would leave an object that can never be read */
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(err.msg, hex));
	assert_int_equal(tmpdir_count(f->sfd, shard), 1); /* no temp file left */
	/* the same for a payload */
	sp_digest pd;
	assert_int_equal(sp_digest_buf(&pd, "planted", 7, &err), 0);
	hex_of(&pd, hex);
	snprintf(shard, sizeof(shard), "payloads/%.2s", hex);
	assert_int_equal(mkdirat(f->sfd, shard, 0755), 0);
	rel_path(rel, sizeof(rel), "payloads", &pd, false);
	assert_int_equal(mkdirat(f->sfd, rel, 0755), 0);
	assert_int_not_equal(spfs_write_blob(&got, f->s, "planted", 7, &err), 0);
	assert_false(spfs_has_payload(f->s, &pd));
	sp_buf_free(&b);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "blocked on a FIFO\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(3);
}

static void test_fifo_in_store_does_not_block(void **state)
{
	fixture *f = *state;
	sp_error err = {0};
	sp_digest d;
	assert_int_equal(spfs_write_blob(&d, f->s, "fifo", 4, &err), 0);
	char rel[128];
	rel_path(rel, sizeof(rel), "payloads", &d, false);
	assert_int_equal(unlinkat(f->sfd, rel, 0), 0);
	assert_int_equal(mkfifoat(f->sfd, rel, 0644), 0);
	signal(SIGALRM, on_alarm); /* a hang guard only: the calls return at once */
	alarm(30);
	int fd = -1;
	assert_int_equal(spfs_open_payload(&fd, f->s, &d, &err), SPFS_ECORRUPT);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_int_equal(fd, -1);

	sp_buf enc = {0};
	sp_digest od;
	write_manifest(&od, f, "f:fifo", &enc);
	rel_path(rel, sizeof(rel), "objects", &od, false);
	assert_int_equal(unlinkat(f->sfd, rel, 0), 0);
	assert_int_equal(mkfifoat(f->sfd, rel, 0644), 0);
	sp_buf out = {0};
	assert_int_not_equal(spfs_read_object(&out, NULL, f->s, &od, &err), 0);
	assert_non_null(strstr(err.msg, "not a regular file"));
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	sp_buf_free(&enc);
}

static void test_read_typed_reports_undecodable_object(void **state)
{
	fixture *f = *state;
	sp_error err = {0};
	/* the right digest and header, but an entry named ".." */
	spfs_entry bad = fx_entry(SPFS_ENTRY_FILE, "..");
	spfs_manifest m = {.entries = &bad, .count = 1};
	sp_buf b = {0};
	assert_int_equal(spfs_manifest_encode(&m, &b, &err), 0);
	sp_digest d;
	assert_int_equal(spfs_write_object(&d, f->s, &b, &err), 0);
	char hex[SP_DIGEST_HEX_LEN + 1];
	hex_of(&d, hex);
	spfs_manifest *out = NULL;
	assert_int_equal(spfs_read_manifest(&out, f->s, &d, &err), SPFS_ECORRUPT);
	assert_null(out);
	assert_non_null(strstr(err.msg, hex));
	assert_non_null(strstr(err.msg, "invalid entry name '..'"));
	sp_buf_free(&b);
}

static void test_flatten_platform(void **state)
{
	fixture *f = *state;
	sp_error err = {0};
	sp_digest lower_m, upper_m, lower_l, upper_l, plat;
	write_manifest(&lower_m, f, "d:d f:d/x f:d/y f:e f:gone", NULL);
	write_manifest(&upper_m, f, "d:d m:d/x f:d/z m:gone", NULL);
	write_layer(&lower_l, f, &lower_m);
	write_layer(&upper_l, f, &upper_m);
	sp_digest layers[2] = {lower_l, upper_l};
	spfs_platform p = {.layers = layers, .count = 2};
	sp_buf b = {0};
	assert_int_equal(spfs_platform_encode(&p, &b, &err), 0);
	assert_int_equal(spfs_write_object(&plat, f->s, &b, &err), 0);
	sp_buf_free(&b);
	spfs_kind kind;
	char hex[SP_DIGEST_HEX_LEN + 1];
	hex_of(&plat, hex);
	assert_int_equal(spfs_resolve(&plat, &kind, f->s, hex, &err), 0);
	assert_int_equal(kind, SPFS_KIND_PLATFORM);
	char listing[256];
	_cleanup_(spfs_manifest_freep) spfs_manifest *merged = NULL;
	if (spfs_flatten(&merged, f->s, &plat, kind, false, &err))
		fail_msg("%s", err.msg);
	fx_listing(merged, listing, sizeof(listing));
	assert_string_equal(listing, "d/ d/y d/z e");
	_cleanup_(spfs_manifest_freep) spfs_manifest *masked = NULL;
	assert_int_equal(spfs_flatten(&masked, f->s, &plat, kind, true, &err), 0);
	fx_listing(masked, listing, sizeof(listing));
	assert_string_equal(listing, "d/ d/x! d/y d/z e gone!");
	/* a layer flattens to its manifest; a blob is not a tree */
	_cleanup_(spfs_manifest_freep) spfs_manifest *one = NULL;
	assert_int_equal(spfs_flatten(&one, f->s, &upper_l, SPFS_KIND_LAYER, false, &err), 0);
	assert_int_equal(one->count, 4);
	sp_digest blob;
	assert_int_equal(spfs_write_blob(&blob, f->s, "b", 1, &err), 0);
	spfs_manifest *none = NULL;
	assert_int_equal(spfs_flatten(&none, f->s, &blob, SPFS_KIND_BLOB, false, &err),
			 SP_EINVALID);
	assert_non_null(strstr(err.msg, "not a tree"));
	/* a platform whose layer is missing names what is missing */
	sp_digest ghost;
	memset(ghost.bytes, 0x5e, SP_DIGEST_LEN);
	sp_digest bad_layers[2] = {lower_l, ghost};
	spfs_platform q = {.layers = bad_layers, .count = 2};
	sp_buf c = {0};
	assert_int_equal(spfs_platform_encode(&q, &c, &err), 0);
	sp_digest qd;
	assert_int_equal(spfs_write_object(&qd, f->s, &c, &err), 0);
	sp_buf_free(&c);
	assert_int_equal(spfs_flatten(&none, f->s, &qd, SPFS_KIND_PLATFORM, false, &err),
			 SPFS_ENOTFOUND);
	hex_of(&ghost, hex);
	assert_non_null(strstr(err.msg, hex));
	assert_null(none);
}

/* ---------------------------------------------------------------- resolve */

static void test_resolve(void **state)
{
	fixture *f = *state;
	sp_error err = {0};
	sp_digest blob, man, layer, got;
	spfs_kind kind;
	assert_int_equal(spfs_write_blob(&blob, f->s, "content", 7, &err), 0);
	write_manifest(&man, f, "f:file", NULL);
	write_layer(&layer, f, &man);
	char lhex[SP_DIGEST_HEX_LEN + 1], bhex[SP_DIGEST_HEX_LEN + 1], mhex[SP_DIGEST_HEX_LEN + 1];
	hex_of(&layer, lhex);
	hex_of(&blob, bhex);
	hex_of(&man, mhex);

	/* full digests */
	assert_int_equal(spfs_resolve(&got, &kind, f->s, lhex, &err), 0);
	assert_memory_equal(got.bytes, layer.bytes, SP_DIGEST_LEN);
	assert_int_equal(kind, SPFS_KIND_LAYER);
	assert_int_equal(spfs_resolve(&got, &kind, f->s, bhex, &err), 0);
	assert_int_equal(kind, SPFS_KIND_BLOB);
	assert_int_equal(spfs_resolve(&got, NULL, f->s, mhex, &err), 0);
	assert_memory_equal(got.bytes, man.bytes, SP_DIGEST_LEN);

	/* 8-character prefixes */
	char prefix[9];
	snprintf(prefix, sizeof(prefix), "%.8s", lhex);
	assert_int_equal(spfs_resolve(&got, &kind, f->s, prefix, &err), 0);
	assert_memory_equal(got.bytes, layer.bytes, SP_DIGEST_LEN);
	assert_int_equal(kind, SPFS_KIND_LAYER);
	snprintf(prefix, sizeof(prefix), "%.8s", bhex);
	assert_int_equal(spfs_resolve(&got, &kind, f->s, prefix, &err), 0);
	assert_int_equal(kind, SPFS_KIND_BLOB);
	char longer[40];
	snprintf(longer, sizeof(longer), "%.39s", mhex);
	assert_int_equal(spfs_resolve(&got, &kind, f->s, longer, &err), 0);
	assert_int_equal(kind, SPFS_KIND_MANIFEST);

	/* too short */
	char seven[8];
	snprintf(seven, sizeof(seven), "%.7s", lhex);
	assert_int_equal(spfs_resolve(&got, &kind, f->s, seven, &err), SPFS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "at least 8 characters"));

	/* ambiguous: a second object name sharing the layer's first 8 chars */
	char name[SP_DIGEST_HEX_LEN - 1], fake[128];
	memcpy(name, lhex + 2, SP_DIGEST_HEX_LEN - 2);
	name[SP_DIGEST_HEX_LEN - 2] = '\0';
	memset(name + 6, lhex[8] == '0' ? '1' : '0', SP_DIGEST_HEX_LEN - 2 - 6);
	snprintf(fake, sizeof(fake), "objects/%.2s/%s", lhex, name);
	tmpdir_put(f->sfd, fake, "x", 1, 0444);
	snprintf(prefix, sizeof(prefix), "%.8s", lhex);
	assert_int_equal(spfs_resolve(&got, &kind, f->s, prefix, &err), SPFS_EAMBIGUOUS);
	assert_non_null(strstr(err.msg, "ambiguous"));
	assert_non_null(strstr(err.msg, prefix));
	/* one more character settles it */
	char nine[10];
	snprintf(nine, sizeof(nine), "%.9s", lhex);
	assert_int_equal(spfs_resolve(&got, &kind, f->s, nine, &err), 0);
	assert_memory_equal(got.bytes, layer.bytes, SP_DIGEST_LEN);

	/* tags and TAG~N */
	assert_int_equal(spfs_tag_set(f->s, "rel", &layer, &err), 0);
	assert_int_equal(spfs_tag_set(f->s, "rel", &man, &err), 0);
	assert_int_equal(spfs_resolve(&got, &kind, f->s, "rel", &err), 0);
	assert_memory_equal(got.bytes, man.bytes, SP_DIGEST_LEN);
	assert_int_equal(kind, SPFS_KIND_MANIFEST);
	assert_int_equal(spfs_resolve(&got, &kind, f->s, "rel~0", &err), 0);
	assert_memory_equal(got.bytes, man.bytes, SP_DIGEST_LEN);
	assert_int_equal(spfs_resolve(&got, &kind, f->s, "rel~1", &err), 0);
	assert_memory_equal(got.bytes, layer.bytes, SP_DIGEST_LEN);
	assert_int_equal(kind, SPFS_KIND_LAYER);
	assert_int_equal(spfs_resolve(&got, &kind, f->s, "rel~2", &err), SPFS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "has only 2 versions"));
	assert_int_equal(spfs_resolve(&got, &kind, f->s, "rel~x", &err), SP_EINVALID);
	assert_int_equal(spfs_resolve(&got, &kind, f->s, "rel~", &err), SP_EINVALID);
	assert_int_equal(spfs_resolve(&got, &kind, f->s, "rel~-1", &err), SP_EINVALID);
	/* a tag wins over a digest prefix of the same spelling */
	snprintf(prefix, sizeof(prefix), "%.8s", bhex);
	assert_int_equal(spfs_tag_set(f->s, prefix, &layer, &err), 0);
	assert_int_equal(spfs_resolve(&got, &kind, f->s, prefix, &err), 0);
	assert_memory_equal(got.bytes, layer.bytes, SP_DIGEST_LEN);

	/* missing */
	assert_int_equal(spfs_resolve(&got, &kind, f->s, "nope", &err), SPFS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "nope"));
	assert_int_equal(spfs_resolve(&got, &kind, f->s, "nope~1", &err), SPFS_ENOTFOUND);
	char unknown[SP_DIGEST_HEX_LEN + 1];
	memset(unknown, 'e', SP_DIGEST_HEX_LEN);
	unknown[SP_DIGEST_HEX_LEN] = '\0';
	assert_int_equal(spfs_resolve(&got, &kind, f->s, unknown, &err), SPFS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "not in the store"));
	assert_int_equal(spfs_resolve(&got, &kind, f->s, "eeeeeeeeee", &err), SPFS_ENOTFOUND);
	assert_int_equal(spfs_resolve(&got, &kind, f->s, "", &err), SPFS_ENOTFOUND);
}

/* ------------------------------------------------------------------- tags */

static void assert_history(fixture *f, const char *name, const sp_digest *want, size_t n)
{
	spfs_tag_history h = {0};
	sp_error err = {0};
	if (spfs_tag_read(&h, f->s, name, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(h.count, n);
	assert_int_equal(h.dropped, 0);
	for (size_t i = 0; i < n; i++) {
		assert_memory_equal(h.records[i].target.bytes, want[i].bytes, SP_DIGEST_LEN);
		assert_true(h.records[i].time > 0);
		if (i)
			assert_true(h.records[i].time >= h.records[i - 1].time);
	}
	spfs_tag_history_free(&h);
}

typedef struct names {
	char text[512];
	size_t len;
} names;

static int collect_name(const char *name, void *ud)
{
	names *n = ud;
	n->len += (size_t)snprintf(n->text + n->len, sizeof(n->text) - n->len, "%s%s",
				   n->len ? " " : "", name);
	return 0;
}

static void test_tag_history_and_remove(void **state)
{
	fixture *f = *state;
	sp_error err = {0};
	sp_digest a, b;
	write_manifest(&a, f, "f:a", NULL);
	write_manifest(&b, f, "f:b", NULL);
	assert_int_equal(spfs_tag_set(f->s, "app", &a, &err), 0);
	assert_int_equal(spfs_tag_set(f->s, "app", &b, &err), 0);
	assert_int_equal(spfs_tag_set(f->s, "app", &b, &err), 0); /* no-op: already there */
	assert_int_equal(spfs_tag_set(f->s, "app", &a, &err), 0);
	assert_history(f, "app", (sp_digest[]){a, b, a}, 3);
	assert_int_equal(tmpdir_count(f->sfd, "tags"), 1); /* app.tag, no temp files */

	assert_int_equal(spfs_tag_remove(f->s, "app", true, &err), 0);
	assert_history(f, "app", (sp_digest[]){a, b}, 2);
	assert_int_equal(spfs_tag_remove(f->s, "app", true, &err), 0);
	assert_history(f, "app", (sp_digest[]){a}, 1);
	assert_int_equal(spfs_tag_remove(f->s, "app", true, &err), 0); /* the last one */
	spfs_tag_history h = {0};
	assert_int_equal(spfs_tag_read(&h, f->s, "app", &err), SPFS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no tag named 'app'"));
	assert_int_equal(tmpdir_count(f->sfd, "tags"), 0);

	assert_int_equal(spfs_tag_set(f->s, "app", &a, &err), 0);
	assert_int_equal(spfs_tag_set(f->s, "app", &b, &err), 0);
	assert_int_equal(spfs_tag_remove(f->s, "app", false, &err), 0);
	assert_int_equal(spfs_tag_read(&h, f->s, "app", &err), SPFS_ENOTFOUND);
	assert_int_equal(spfs_tag_remove(f->s, "app", false, &err), SPFS_ENOTFOUND);
	assert_int_equal(spfs_tag_remove(f->s, "app", true, &err), SPFS_ENOTFOUND);

	/* invalid names are refused before touching anything */
	const char *bad[] = {"", "../x", ".x", "a//b", "a b", "x/../../y"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(spfs_tag_set(f->s, bad[i], &a, &err), SP_EINVALID);
		assert_non_null(strstr(err.msg, "not a valid tag name"));
		assert_int_equal(spfs_tag_read(&h, f->s, bad[i], &err), SP_EINVALID);
		assert_int_equal(spfs_tag_remove(f->s, bad[i], false, &err), SP_EINVALID);
	}
	assert_int_equal(tmpdir_count(f->sfd, "tags"), 0);

	/* nested names are directories; listing is sorted and filtered */
	assert_int_equal(spfs_tag_set(f->s, "team/b", &a, &err), 0);
	assert_int_equal(spfs_tag_set(f->s, "team/a/x", &b, &err), 0);
	assert_int_equal(spfs_tag_set(f->s, "zeta", &b, &err), 0);
	assert_int_equal(spfs_tag_set(f->s, "alpha", &a, &err), 0);
	struct stat st;
	assert_int_equal(fstatat(f->sfd, "tags/team/a/x.tag", &st, AT_SYMLINK_NOFOLLOW), 0);
	names all = {{0}, 0}, team = {{0}, 0};
	assert_int_equal(spfs_tag_list(f->s, "", collect_name, &all, &err), 0);
	assert_string_equal(all.text, "alpha team/a/x team/b zeta");
	assert_int_equal(spfs_tag_list(f->s, "team/", collect_name, &team, &err), 0);
	assert_string_equal(team.text, "team/a/x team/b");
	assert_history(f, "team/a/x", &b, 1);
}

static void test_tag_read_damaged(void **state)
{
	fixture *f = *state;
	sp_error err = {0};
	sp_digest a, b, c;
	write_manifest(&a, f, "f:a", NULL);
	write_manifest(&b, f, "f:b", NULL);
	write_manifest(&c, f, "f:c", NULL);
	assert_int_equal(spfs_tag_set(f->s, "t", &a, &err), 0);
	assert_int_equal(spfs_tag_set(f->s, "t", &b, &err), 0);
	/* a torn third record, as if a writer had been cut off */
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(sp_read_file_at(&data, &len, f->sfd, "tags/t.tag", 4096, &err), 0);
	size_t rec = len / 2;
	char *torn = malloc(len + rec);
	memcpy(torn, data, len);
	memcpy(torn + len, data, rec / 2);
	assert_int_equal(unlinkat(f->sfd, "tags/t.tag", 0), 0);
	tmpdir_put(f->sfd, "tags/t.tag", torn, len + rec / 2, 0644);
	spfs_tag_history h = {0};
	assert_int_equal(spfs_tag_read(&h, f->s, "t", &err), 0);
	assert_int_equal(h.count, 2);
	assert_int_equal(h.dropped, 1);
	spfs_tag_history_free(&h);
	/* setting the tag again keeps the good records and drops the torn one */
	assert_int_equal(spfs_tag_set(f->s, "t", &c, &err), 0);
	assert_history(f, "t", (sp_digest[]){a, b, c}, 3);

	/* nothing readable: damaged, not missing */
	assert_int_equal(unlinkat(f->sfd, "tags/t.tag", 0), 0);
	tmpdir_put(f->sfd, "tags/t.tag", "garbage\n", 8, 0644);
	assert_int_equal(spfs_tag_read(&h, f->s, "t", &err), SPFS_ECORRUPT);
	assert_non_null(strstr(err.msg, "damaged"));
	assert_null(h.records);
	/* spfs_tag_set recovers a damaged tag */
	assert_int_equal(spfs_tag_set(f->s, "t", &a, &err), 0);
	assert_history(f, "t", &a, 1);

	/* a tag file that is a symlink is not followed */
	tmpdir_put(f->t->fd, "evil.tag", data, len, 0644);
	char target[4300];
	snprintf(target, sizeof(target), "%s/evil.tag", f->t->path);
	assert_int_equal(symlinkat(target, f->sfd, "tags/evil.tag"), 0);
	int rc = spfs_tag_read(&h, f->s, "evil", &err);
	assert_int_not_equal(rc, 0);
	assert_int_not_equal(rc, SPFS_ENOTFOUND);
	assert_non_null(strstr(err.msg, "symbolic link"));
	free(torn);
	free(data);
}

/* spfs_copy_payload: a streamed, verified copy into another store; a
 * damaged source copies nothing. Large enough to take several chunks. */
static void test_copy_payload(void **state)
{
	fixture *f = *state;
	sp_error err = {0};
	char dst_path[4300];
	snprintf(dst_path, sizeof(dst_path), "%s/other", f->t->path);
	spfs_store *dst = NULL;
	assert_int_equal(spfs_store_open(&dst, dst_path, true, &err), 0);
	size_t n = (3u << 20) + 17;
	char *data = malloc(n);
	assert_non_null(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 131 + (i >> 12));
	sp_digest d;
	assert_int_equal(spfs_write_blob(&d, f->s, data, n, &err), 0);
	assert_false(spfs_has_payload(dst, &d));
	assert_int_equal(spfs_copy_payload(dst, f->s, &d, &err), 0);
	assert_true(spfs_has_payload(dst, &d));
	int fd = -1;
	assert_int_equal(spfs_open_payload(&fd, dst, &d, &err), 0);
	char *back = malloc(n + 1);
	size_t got = 0;
	ssize_t r;
	while ((r = read(fd, back + got, n + 1 - got)) > 0)
		got += (size_t)r;
	close(fd);
	assert_int_equal(got, n);
	assert_memory_equal(back, data, n);
	assert_int_equal(spfs_copy_payload(dst, f->s, &d, &err), 0); /* idempotent */

	/* a flipped byte in the source: refused, nothing left behind */
	sp_digest d2;
	assert_int_equal(spfs_write_blob(&d2, f->s, "payload two\n", 12, &err), 0);
	char rel[128], hex[SP_DIGEST_HEX_LEN + 1], shard[16];
	rel_path(rel, sizeof(rel), "payloads", &d2, false);
	assert_int_equal(fchmodat(f->sfd, rel, 0644, 0), 0);
	int w = openat(f->sfd, rel, O_WRONLY | O_CLOEXEC);
	assert_true(w >= 0);
	assert_int_equal(pwrite(w, "P", 1, 0), 1);
	close(w);
	assert_int_equal(spfs_copy_payload(dst, f->s, &d2, &err), SPFS_EMISMATCH);
	assert_non_null(strstr(err.msg, "hashes to"));
	assert_false(spfs_has_payload(dst, &d2));
	hex_of(&d2, hex);
	snprintf(shard, sizeof(shard), "payloads/%.2s", hex);
	/* the shard was created for the temp file; no temp is left in it */
	int sh = openat(spfs_store_dirfd(dst), shard, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(sh >= 0);
	DIR *dir = fdopendir(sh);
	assert_non_null(dir);
	for (struct dirent *de; (de = readdir(dir));)
		assert_true(strncmp(de->d_name, ".tmp-", 5) != 0);
	closedir(dir);
	free(back);
	free(data);
	spfs_store_free(dst);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, store_setup, store_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_open_and_init),
	    T(test_write_blob_idempotent),
	    T(test_write_object_idempotent),
	    T(test_write_object_fault_leaves_nothing),
	    T(test_read_object_detects_flipped_byte),
	    T(test_read_object_missing),
	    T(test_payload_symlink_refused),
	    T(test_object_symlink_refused),
	    T(test_write_over_planted_entry_is_not_success),
	    T(test_fifo_in_store_does_not_block),
	    T(test_read_typed_reports_undecodable_object),
	    T(test_flatten_platform),
	    T(test_resolve),
	    T(test_tag_history_and_remove),
	    T(test_tag_read_damaged),
	    T(test_copy_payload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
