/* store.c - opening the repository, its layout, locks and object I/O.
 *
 * Layout (docs/store-format.md):
 *   spfs-store        marker with the format version
 *   objects/xx/...    encoded manifests, layers, platforms (0444)
 *   payloads/xx/...   blob contents (0444), "<name>.x" the 0555 variant
 *   tags/<name>.tag   tag histories
 *   renders/xx/...    manifests rendered as hardlink trees
 *   tmp/              staging for transactions; cleared by `spfs clean`
 *   locks/store       shared for writers, exclusive for clean
 */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARKER	       "spfs-store"
#define MARKER_CONTENT "spfs-store 1\n"

/* -------------------------------------------------------- storage path */

int spfs_default_storage(char **out, sp_error *err)
{
	const char *env = getenv("SPFS_STORAGE");
	if (env && *env) {
		*out = strdup(env);
		return *out ? 0 : sp_error_set(err, SP_ENOMEM, "out of memory");
	}
	char *path = NULL;
	int rc = sp_config_get(&path, "storage", err);
	if (rc)
		return sp_error_prefix(err, "cannot find the store");
	if (path) {
		char *expanded = sp_expand_home(path);
		free(path);
		path = expanded;
	} else {
		const char *home = getenv("HOME");
		if (geteuid() == 0) {
			path = strdup("/var/lib/spfs");
		} else {
			const char *xdg = getenv("XDG_DATA_HOME");
			char buf[4096];
			if (xdg && *xdg)
				snprintf(buf, sizeof(buf), "%s/spfs", xdg);
			else
				snprintf(buf, sizeof(buf), "%s/.local/share/spfs",
					 home ? home : "/tmp");
			path = strdup(buf);
		}
	}
	if (!path)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	*out = path;
	return 0;
}

/* ---------------------------------------------------------- open/init */

int spfs_store_init(const char *path, sp_error *err)
{
	/* The path up to the store is the admin's (it may hold symlinks, like
	 * /var/lib -> /data/var/lib); only what is below it is the store's. */
	int rc = 0;
	_cleanup_free_ char *copy = strdup(path);
	if (!copy)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	for (char *p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		struct stat st;
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			return sp_error_errno(err, "cannot create store at %s: mkdir %s", path,
					      copy);
		if (stat(copy, &st) < 0 || !S_ISDIR(st.st_mode))
			return sp_error_set(err, SP_EINVALID,
					    "cannot create store at %s: %s is not a directory",
					    path, copy);
		*p = saved;
		if (!saved)
			break;
	}
	_cleanup_close_ int dfd = -1;
	if ((rc = sp_open_dir_at(&dfd, AT_FDCWD, path, err)))
		return sp_error_prefix(err, "cannot open store");
	static const char *const dirs[] = {"objects", "payloads", "tags",
					   "renders", "tmp",	  "locks"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (sp_sys_mkdirat(dfd, dirs[i], 0755) < 0 && errno != EEXIST)
			return sp_error_errno(err, "cannot create %s/%s", path, dirs[i]);
	_cleanup_close_ int lfd =
	    openat(dfd, "locks/store", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (lfd < 0)
		return sp_error_errno(err, "cannot create %s/locks/store", path);
	struct stat st;
	if (fstatat(dfd, MARKER, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if ((rc = sp_atomic_write_at(dfd, MARKER, MARKER_CONTENT, strlen(MARKER_CONTENT),
					     0644, err)))
			return sp_error_prefix(err, "cannot initialise store at %s", path);
	}
	return 0;
}

void spfs_store_free(spfs_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < 256; i++) {
		if (s->object_shards[i] >= 0)
			close(s->object_shards[i]);
		if (s->payload_shards[i] >= 0)
			close(s->payload_shards[i]);
	}
	int fds[] = {s->dirfd,	    s->objects_fd, s->payloads_fd, s->tags_fd,
		     s->renders_fd, s->tmp_fd,	   s->lock_fd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	pthread_mutex_destroy(&s->shard_lock);
	free(s->path);
	free(s);
}

void spfs_store_freep(spfs_store **s)
{
	spfs_store_free(*s);
}

static int store_open(spfs_store **out, const char *path, sp_error *err);

int spfs_store_open(spfs_store **out, const char *path, bool create, sp_error *err)
{
	int rc = store_open(out, path, err);
	if (rc != SPFS_ENOTFOUND || !create)
		return rc;
	sp_error_clear(err);
	if ((rc = spfs_store_init(path, err)))
		return rc;
	return store_open(out, path, err);
}

static int store_open(spfs_store **out, const char *path, sp_error *err)
{
	int rc;
	_cleanup_(spfs_store_freep) spfs_store *s = calloc(1, sizeof(*s));
	if (!s)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	s->dirfd = s->objects_fd = s->payloads_fd = s->tags_fd = s->renders_fd = s->tmp_fd =
	    s->lock_fd = -1;
	for (int i = 0; i < 256; i++)
		s->object_shards[i] = s->payload_shards[i] = -1;
	pthread_mutex_init(&s->shard_lock, NULL);
	s->path = strdup(path);
	if (!s->path)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	/* The root itself may be reached through a symlink the admin made
	 * (/var/lib/spfs -> /data/spfs); nothing below it may be. */
	s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		if (errno == ENOENT)
			return sp_error_set(err, SPFS_ENOTFOUND,
					    "no store at %s (create one with 'spfs init %s')", path,
					    path);
		return sp_error_errno(err, "cannot open store %s", path);
	}
	struct stat st;
	if (fstatat(s->dirfd, MARKER, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return sp_error_set(
		    err, SPFS_ENOTFOUND,
		    "%s is not an spfs store (no %s file; create one with 'spfs init %s')", path,
		    MARKER, path);
	struct {
		int *fd;
		const char *name;
	} dirs[] = {
	    {&s->objects_fd, "objects"}, {&s->payloads_fd, "payloads"}, {&s->tags_fd, "tags"},
	    {&s->renders_fd, "renders"}, {&s->tmp_fd, "tmp"},
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if ((rc = sp_open_dir_at(dirs[i].fd, s->dirfd, dirs[i].name, err)))
			return sp_error_prefix(err, "store %s is damaged", path);
	s->lock_fd =
	    openat(s->dirfd, "locks/store", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (s->lock_fd < 0)
		s->lock_fd = openat(s->dirfd, "locks/store", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (s->lock_fd < 0)
		return sp_error_errno(err, "cannot open %s/locks/store", path);
	*out = steal_pointer(&s);
	return 0;
}

const char *spfs_store_path(const spfs_store *s)
{
	return s->path;
}

int spfs_store_dirfd(const spfs_store *s)
{
	return s->dirfd;
}

int spfs_store_lock_shared(spfs_store *s, sp_error *err)
{
	if (s->lock_depth++ > 0)
		return 0;
	/* Only `spfs clean` holds the lock exclusively: say what we wait for
	 * rather than hang silently. */
	if (flock(s->lock_fd, LOCK_SH | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		sp_warn("store %s is locked by 'spfs clean' (another process): waiting for it to "
			"finish",
			s->path);
	while (flock(s->lock_fd, LOCK_SH) < 0) {
		if (errno == EINTR)
			continue;
		s->lock_depth--;
		return sp_error_errno(err, "cannot lock store %s", s->path);
	}
	return 0;
}

int spfs_store__lock_exclusive(spfs_store *s, sp_error *err)
{
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return sp_error_set(err, SPFS_ELOCKED,
					    "store %s is in use by another spfs process", s->path);
		return sp_error_errno(err, "cannot lock store %s", s->path);
	}
	s->lock_depth = 1;
	return 0;
}

void spfs_store_unlock(spfs_store *s)
{
	if (s->lock_depth > 0 && --s->lock_depth == 0)
		flock(s->lock_fd, LOCK_UN);
}

/* ------------------------------------------------------------- shards */

void spfs_store__shard_name(const sp_digest *d, bool exec, char *name)
{
	char hex[SP_DIGEST_HEX_LEN + 1];
	sp_digest_to_hex(d, hex);
	memcpy(name, hex + 2, SP_DIGEST_HEX_LEN - 2);
	size_t n = SP_DIGEST_HEX_LEN - 2;
	if (exec) {
		name[n++] = '.';
		name[n++] = 'x';
	}
	name[n] = '\0';
}

int spfs_store__shard_fd(int *out, spfs_store *s, bool payload, const sp_digest *d, bool create,
			 sp_error *err)
{
	int *slot = payload ? &s->payload_shards[d->bytes[0]] : &s->object_shards[d->bytes[0]];
	int parent = payload ? s->payloads_fd : s->objects_fd;
	pthread_mutex_lock(&s->shard_lock);
	if (*slot < 0) {
		char name[3];
		snprintf(name, sizeof(name), "%02x", d->bytes[0]);
		int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && create) {
			if (sp_sys_mkdirat(parent, name, 0755) < 0 && errno != EEXIST) {
				int rc = sp_error_errno(err, "cannot create %s/%s",
							payload ? "payloads" : "objects", name);
				pthread_mutex_unlock(&s->shard_lock);
				return rc;
			}
			fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0) {
			int rc = errno == ENOENT
				     ? sp_error_set(err, SPFS_ENOTFOUND, "not found")
				     : sp_error_errno(err, "cannot open %s/%s",
						      payload ? "payloads" : "objects", name);
			if (errno == ELOOP || errno == ENOTDIR)
				rc = sp_error_set(err, SPFS_ECORRUPT,
						  "%s/%s is not a directory (a symlink?)",
						  payload ? "payloads" : "objects", name);
			pthread_mutex_unlock(&s->shard_lock);
			return rc;
		}
		*slot = fd;
	}
	*out = *slot;
	pthread_mutex_unlock(&s->shard_lock);
	return 0;
}

int spfs_store__stage_dir(int *out_fd, char *name, spfs_store *s, sp_error *err)
{
	char rnd[17];
	sp_random_name(rnd, 16);
	snprintf(name, 32, "txn-%s", rnd);
	if (sp_sys_mkdirat(s->tmp_fd, name, 0700) < 0)
		return sp_error_errno(err, "cannot create staging directory tmp/%s", name);
	return sp_open_dir_at(out_fd, s->tmp_fd, name, err);
}

/* ------------------------------------------------------------- reading */

static bool shard_has(spfs_store *s, bool payload, const sp_digest *d, bool exec)
{
	int fd = -1;
	sp_error err = {0};
	if (spfs_store__shard_fd(&fd, s, payload, d, false, &err))
		return false;
	char name[72];
	spfs_store__shard_name(d, exec, name);
	struct stat st;
	return fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

bool spfs_has_payload(spfs_store *s, const sp_digest *d)
{
	return shard_has(s, true, d, false) || shard_has(s, true, d, true);
}

bool spfs_has_object(spfs_store *s, const sp_digest *d)
{
	return shard_has(s, false, d, false);
}

int spfs_open_payload(int *out_fd, spfs_store *s, const sp_digest *d, sp_error *err)
{
	char hex[SP_DIGEST_HEX_LEN + 1];
	sp_digest_to_hex(d, hex);
	int sfd = -1;
	int rc = spfs_store__shard_fd(&sfd, s, true, d, false, err);
	if (rc)
		return rc == SPFS_ENOTFOUND ? sp_error_set(err, rc, "payload %s is missing", hex)
					    : sp_error_prefix(err, "payload %s", hex);
	char name[72];
	for (int exec = 0; exec < 2; exec++) {
		spfs_store__shard_name(d, exec, name);
		/* O_NONBLOCK: a FIFO planted here must not hang the open */
		int fd = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0) {
			struct stat st;
			if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
			    fcntl(fd, F_SETFL, 0) < 0) {
				close(fd);
				return sp_error_set(err, SPFS_ECORRUPT,
						    "payload %s is not a regular file", hex);
			}
			*out_fd = fd;
			return 0;
		}
		if (errno == ELOOP)
			return sp_error_set(err, SPFS_ECORRUPT,
					    "payload %s is a symbolic link; refusing to follow it",
					    hex);
		if (errno != ENOENT)
			return sp_error_errno(err, "cannot open payload %s", hex);
	}
	return sp_error_set(err, SPFS_ENOTFOUND, "payload %s is missing", hex);
}

int spfs_read_object(sp_buf *out, spfs_kind *kind, spfs_store *s, const sp_digest *d, sp_error *err)
{
	char hex[SP_DIGEST_HEX_LEN + 1];
	sp_digest_to_hex(d, hex);
	int sfd = -1;
	int rc = spfs_store__shard_fd(&sfd, s, false, d, false, err);
	if (rc)
		return rc == SPFS_ENOTFOUND ? sp_error_set(err, rc, "object %s is missing", hex)
					    : sp_error_prefix(err, "object %s", hex);
	char name[72];
	spfs_store__shard_name(d, false, name);
	char *data = NULL;
	size_t len = 0;
	if ((rc = sp_read_file_at(&data, &len, sfd, name, SPFS_MAX_OBJECT_SIZE, err))) {
		if (rc == SP_ENOTFOUND)
			return sp_error_set(err, SPFS_ENOTFOUND, "object %s is missing", hex);
		return sp_error_prefix(err, "cannot read object %s", hex);
	}
	sp_digest actual;
	if ((rc = sp_digest_buf(&actual, data, len, err))) {
		free(data);
		return rc;
	}
	if (sp_digest_cmp(&actual, d) != 0) {
		char got[SP_DIGEST_HEX_LEN + 1];
		sp_digest_to_hex(&actual, got);
		free(data);
		return sp_error_set(err, SPFS_EMISMATCH,
				    "object %s is corrupt: expected digest %s, got %s", hex, hex,
				    got);
	}
	if (kind && (rc = spfs_object_kind(kind, data, len, err))) {
		free(data);
		return sp_error_prefix(err, "object %s", hex);
	}
	sp_buf_free(out);
	out->data = data;
	out->len = len;
	out->cap = len + 1;
	return 0;
}

#define READ_TYPED(fn, type, KIND, decode)                                                         \
	int fn(type **out, spfs_store *s, const sp_digest *d, sp_error *err)                       \
	{                                                                                          \
		sp_buf b = {0};                                                                    \
		spfs_kind kind;                                                                    \
		int rc = spfs_read_object(&b, &kind, s, d, err);                                   \
		if (rc)                                                                            \
			return rc;                                                                 \
		char hex[SP_DIGEST_HEX_LEN + 1];                                                   \
		sp_digest_to_hex(d, hex);                                                          \
		if (kind != KIND) {                                                                \
			sp_buf_free(&b);                                                           \
			return sp_error_set(err, SP_EINVALID, "%s is a %s, not a %s", hex,         \
					    spfs_kind_name(kind), spfs_kind_name(KIND));           \
		}                                                                                  \
		rc = decode(out, b.data, b.len, err);                                              \
		sp_buf_free(&b);                                                                   \
		return rc ? sp_error_prefix(err, "object %s", hex) : 0;                            \
	}

READ_TYPED(spfs_read_manifest, spfs_manifest, SPFS_KIND_MANIFEST, spfs_manifest_decode)
READ_TYPED(spfs_read_layer, spfs_layer, SPFS_KIND_LAYER, spfs_layer_decode)
READ_TYPED(spfs_read_platform, spfs_platform, SPFS_KIND_PLATFORM, spfs_platform_decode)

/* ------------------------------------------------------------- writing */

/* What write_named writes: bytes in memory, or the rest of an open file,
 * hashed while it is copied and refused unless it hashes to the name. */
typedef struct named_src {
	const void *data;
	size_t n;
	int fd; /* >= 0: stream from here instead */
} named_src;

int spfs_store__copy_hashed(int fd, int src, const sp_digest *d, sp_error *err)
{
	_cleanup_(sp_hasher_freep) sp_hasher *h = NULL;
	int rc = sp_hasher_new(&h, err);
	if (rc)
		return rc;
	enum { CHUNK = 1 << 20 };
	_cleanup_free_ char *buf = malloc(CHUNK);
	if (!buf)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	for (;;) {
		ssize_t n = read(src, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sp_error_errno(err, "read");
		if (n == 0)
			break;
		if ((rc = sp_hasher_update(h, buf, (size_t)n, err)) ||
		    (rc = sp_write_all(fd, buf, (size_t)n, err)))
			return rc;
	}
	sp_digest got;
	if ((rc = sp_hasher_final(h, &got, err)))
		return rc;
	if (sp_digest_cmp(&got, d)) {
		char want[SP_DIGEST_HEX_LEN + 1], have[SP_DIGEST_HEX_LEN + 1];
		sp_digest_to_hex(d, want);
		sp_digest_to_hex(&got, have);
		return sp_error_set(err, SPFS_EMISMATCH, "content hashes to %s, not %s", have,
				    want);
	}
	return 0;
}

/* Writes bytes under a final digest name: temp file in the shard, fsync,
 * rename without replacing. EEXIST means another writer got there first:
 * the content is the same by construction. */
static int write_named(spfs_store *s, bool payload, const sp_digest *d, bool exec,
		       const named_src *src, sp_error *err)
{
	int sfd;
	int rc = spfs_store__shard_fd(&sfd, s, payload, d, true, err);
	if (rc)
		return rc;
	char name[72], tmp[96], rnd[17];
	spfs_store__shard_name(d, exec, name);
	struct stat st;
	if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
		return 0;
	sp_random_name(rnd, 16);
	snprintf(tmp, sizeof(tmp), ".tmp-%s", rnd);
	_cleanup_close_ int fd =
	    sp_sys_openat(sfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return sp_error_errno(err, "cannot create temporary file");
	if ((rc = src->fd >= 0 ? spfs_store__copy_hashed(fd, src->fd, d, err)
			       : sp_write_all(fd, src->data, src->n, err)))
		goto fail;
	if (fchmod(fd, exec ? 0555 : 0444) < 0) {
		rc = sp_error_errno(err, "chmod");
		goto fail;
	}
	if (payload && (rc = sp_mark_pristine(fd, err)))
		goto fail;
	if (sp_sys_fsync(fd) < 0) {
		rc = sp_error_errno(err, "fsync");
		goto fail;
	}
	if (sp_sys_renameat(sfd, tmp, sfd, name, RENAME_NOREPLACE) < 0) {
		if (errno != EEXIST) {
			rc = sp_error_errno(err, "rename into place");
			goto fail;
		}
		/* Another writer's copy is fine; a symlink or a directory under
		 * the name is not (the object could never be read). */
		if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
			rc = sp_error_set(err, SPFS_ECORRUPT,
					  "%s is in the way and not a regular file", name);
			goto fail;
		}
	}
	unlinkat(sfd, tmp, 0); /* only still there after EEXIST */
	s->published++;
	if (sp_sys_fsync(sfd) < 0)
		return sp_error_errno(err, "fsync shard directory");
	return 0;
fail:
	unlinkat(sfd, tmp, 0);
	return rc;
}

int spfs_write_object(sp_digest *out, spfs_store *s, const sp_buf *encoded, sp_error *err)
{
	int rc = sp_digest_buf(out, encoded->data, encoded->len, err);
	if (rc)
		return rc;
	spfs_kind kind;
	if ((rc = spfs_object_kind(&kind, encoded->data, encoded->len, err)))
		return rc;
	if ((rc = write_named(s, false, out, false,
			      &(named_src){.data = encoded->data, .n = encoded->len, .fd = -1},
			      err))) {
		char hex[SP_DIGEST_HEX_LEN + 1];
		sp_digest_to_hex(out, hex);
		return sp_error_prefix(err, "cannot write %s %s", spfs_kind_name(kind), hex);
	}
	return 0;
}

int spfs_write_blob(sp_digest *out, spfs_store *s, const void *data, size_t n, sp_error *err)
{
	int rc = sp_digest_buf(out, data, n, err);
	if (rc)
		return rc;
	if (spfs_has_payload(s, out))
		return 0;
	if ((rc = write_named(s, true, out, false, &(named_src){.data = data, .n = n, .fd = -1},
			      err))) {
		char hex[SP_DIGEST_HEX_LEN + 1];
		sp_digest_to_hex(out, hex);
		return sp_error_prefix(err, "cannot write blob %s", hex);
	}
	return 0;
}

int spfs_store__payload_variant(spfs_store *s, const sp_digest *d, bool exec, sp_error *err)
{
	if (shard_has(s, true, d, exec))
		return 0;
	_cleanup_close_ int src = -1;
	int rc = spfs_open_payload(&src, s, d, err);
	if (rc)
		return rc;
	/* Payload variants are rare (the same bytes committed both with and
	 * without the exec bit): a verified copy, streamed. */
	rc = write_named(s, true, d, exec, &(named_src){.fd = src}, err);
	if (rc) {
		char hex[SP_DIGEST_HEX_LEN + 1];
		sp_digest_to_hex(d, hex);
		return sp_error_prefix(err, "payload %s", hex);
	}
	return 0;
}

int spfs_write_payload_to(int fd, spfs_store *s, const sp_digest *d, sp_error *err)
{
	_cleanup_close_ int src = -1;
	int rc = spfs_open_payload(&src, s, d, err);
	if (rc)
		return rc;
	rc = spfs_store__copy_hashed(fd, src, d, err);
	if (rc == SPFS_EMISMATCH) {
		char hex[SP_DIGEST_HEX_LEN + 1];
		sp_digest_to_hex(d, hex);
		return sp_error_set(err, SPFS_EMISMATCH, "payload %s is corrupt; run 'spfs check'",
				    hex);
	}
	return rc;
}

int spfs_copy_payload(spfs_store *dst, spfs_store *src, const sp_digest *d, sp_error *err)
{
	if (spfs_has_payload(dst, d))
		return 0;
	_cleanup_close_ int fd = -1;
	int rc = spfs_open_payload(&fd, src, d, err);
	if (rc)
		return rc;
	rc = write_named(dst, true, d, false, &(named_src){.fd = fd}, err);
	if (rc) {
		char hex[SP_DIGEST_HEX_LEN + 1];
		sp_digest_to_hex(d, hex);
		return sp_error_prefix(err, "cannot copy payload %s", hex);
	}
	return 0;
}
