/* commit.c - committing a directory tree as a layer.
 *
 * Transaction order (what makes a crash at any point safe):
 *   1. walk the tree (lstat only) and build the manifest skeleton;
 *   2. in the thread pool: read and hash every file; a blob that neither the
 *      store nor this commit already has is written to tmp/txn-XXXX/ under its
 *      digest, read-only, without fsync;
 *   3. syncfs: every staged byte is on disk before any of it gets a final name;
 *   4. rename each staged payload into payloads/xx/ (RENAME_NOREPLACE: an
 *      existing one is the same content, the staged copy is dropped);
 *   5. write the manifest and layer objects (temp, fsync, rename);
 *   6. syncfs: the final names are durable;
 *   7. move the tag (its own atomic write), then print the digest.
 * A kill before 7 leaves at most unreferenced, complete objects and a
 * staging directory, both removed by the next `spfs clean`. The shared store
 * lock is held throughout so clean never removes a blob this commit reuses.
 */
#include "store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

/* Files up to this size are hashed from one buffer that is then written
 * as is, so the stored bytes are exactly the hashed bytes. */
#define SMALL_FILE_MAX ((size_t)4 << 20)

typedef struct commit_ctx commit_ctx;

typedef struct file_job {
	uv_work_t req;
	commit_ctx *ctx;
	size_t entry; /* index into ctx->m.entries */
	bool staged;  /* this job wrote a new payload into the stage dir */
	uint64_t size;
} file_job;

typedef struct seen_set {
	sp_digest *slots; /* zero digest = empty */
	uint8_t *exec;
	size_t mask;
} seen_set;

struct commit_ctx {
	spfs_store *s;
	int root_fd;
	int stage_fd;
	spfs_manifest m;
	spfs_commit_stats *stats;
	pthread_mutex_t lock;
	seen_set seen;
	int rc;
	sp_error err;
	sp_progress progress;
	file_job *jobs;
	size_t job_count;
};

static void ctx_fail(commit_ctx *c, int rc, const sp_error *err)
{
	pthread_mutex_lock(&c->lock);
	if (!c->rc) {
		c->rc = rc;
		c->err = *err;
	}
	pthread_mutex_unlock(&c->lock);
}

/* --------------------------------------------------------------- walk */

static int walk(commit_ctx *c, int dirfd, const char *prefix, unsigned depth, sp_error *err);

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_entry(commit_ctx *c, int dirfd, const char *name, const char *path, unsigned depth,
		     sp_error *err)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return sp_error_errno(err, "cannot stat %s", path);
	spfs_entry e = {.path = (char *)path};
	int rc;
	if (S_ISDIR(st.st_mode)) {
		e.kind = SPFS_ENTRY_DIR;
		e.mode = 0755;
		if ((rc = spfs_manifest_push(&c->m, &e, err)))
			return rc;
		c->stats->dirs++;
		_cleanup_close_ int sub =
		    openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return sp_error_errno(err, "cannot open directory %s", path);
		return walk(c, sub, path, depth + 1, err);
	}
	if (S_ISREG(st.st_mode)) {
		e.kind = SPFS_ENTRY_FILE;
		e.mode = (st.st_mode & 0111) ? 0755 : 0644;
		e.size = (uint64_t)st.st_size;
		c->stats->files++;
		return spfs_manifest_push(&c->m, &e, err);
	}
	if (S_ISLNK(st.st_mode)) {
		if (st.st_size <= 0 || (uint64_t)st.st_size > SPFS_MAX_TARGET)
			return sp_error_set(err, SP_EINVALID,
					    "%s: symlink target is empty or longer than %u bytes",
					    path, SPFS_MAX_TARGET);
		char target[SPFS_MAX_TARGET + 2];
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target));
		if (n < 0)
			return sp_error_errno(err, "cannot read symlink %s", path);
		if ((size_t)n > SPFS_MAX_TARGET)
			return sp_error_set(err, SP_EINVALID,
					    "%s: symlink target longer than %u bytes", path,
					    SPFS_MAX_TARGET);
		target[n] = '\0';
		e.kind = SPFS_ENTRY_SYMLINK;
		e.mode = 0777;
		e.size = (uint64_t)n;
		e.target = target;
		if ((rc = sp_digest_buf(&e.digest, target, (size_t)n, err)))
			return rc;
		c->stats->symlinks++;
		return spfs_manifest_push(&c->m, &e, err);
	}
	const char *what = S_ISCHR(st.st_mode)	  ? "a character device"
			   : S_ISBLK(st.st_mode)  ? "a block device"
			   : S_ISFIFO(st.st_mode) ? "a FIFO"
			   : S_ISSOCK(st.st_mode) ? "a socket"
						  : "of an unknown type";
	return sp_error_set(err, SP_EINVALID,
			    "%s is %s; only files, directories and symlinks can be committed", path,
			    what);
}

static int walk(commit_ctx *c, int dirfd, const char *prefix, unsigned depth, sp_error *err)
{
	if (depth > SPFS_MAX_DEPTH)
		return sp_error_set(err, SP_EINVALID, "%s: nested deeper than %u directories",
				    prefix, SPFS_MAX_DEPTH);
	int dup = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return sp_error_errno(err, "cannot read directory %s", *prefix ? prefix : ".");
	DIR *d = fdopendir(dup);
	if (!d) {
		close(dup);
		return sp_error_errno(err, "cannot read directory %s", *prefix ? prefix : ".");
	}
	char **names = NULL;
	size_t count = 0, cap = 0;
	int rc = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 32;
			if ((rc = sp_realloc_array((void **)&names, cap, sizeof(*names), err)))
				goto out;
		}
		if (!(names[count] = strdup(de->d_name))) {
			rc = sp_error_set(err, SP_ENOMEM, "out of memory");
			goto out;
		}
		count++;
	}
	if (count > 1)
		qsort(names, count, sizeof(*names), name_cmp);
	for (size_t i = 0; i < count && !rc; i++) {
		size_t plen = strlen(prefix), nlen = strlen(names[i]);
		if (plen + 1 + nlen > SPFS_MAX_PATH) {
			rc = sp_error_set(err, SP_EINVALID, "%s/%s: path longer than %u bytes",
					  prefix, names[i], SPFS_MAX_PATH);
			break;
		}
		char path[SPFS_MAX_PATH + 2];
		if (plen)
			snprintf(path, sizeof(path), "%s/%s", prefix, names[i]);
		else
			snprintf(path, sizeof(path), "%s", names[i]);
		rc = add_entry(c, dirfd, names[i], path, depth, err);
	}
out:
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

/* ------------------------------------------------------------ seen set */

static int seen_init(seen_set *s, size_t n, sp_error *err)
{
	size_t cap = 16;
	while (cap < n * 2)
		cap *= 2;
	int rc = sp_calloc((void **)&s->slots, cap, sizeof(*s->slots), err);
	if (!rc)
		rc = sp_calloc((void **)&s->exec, cap, 1, err);
	s->mask = cap - 1;
	return rc;
}

/* Returns true when (d, exec) was already there; inserts it otherwise. The
 * table is sized for every file of the commit, so it cannot fill up. */
static bool seen_test_and_set(seen_set *s, const sp_digest *d, bool exec)
{
	size_t h;
	memcpy(&h, d->bytes, sizeof(h));
	h ^= exec ? 0x9e3779b97f4a7c15ull : 0;
	for (size_t i = h & s->mask;; i = (i + 1) & s->mask) {
		if (sp_digest_is_zero(&s->slots[i])) {
			s->slots[i] = *d;
			s->exec[i] = exec;
			return false;
		}
		if (s->exec[i] == exec && sp_digest_cmp(&s->slots[i], d) == 0)
			return true;
	}
}

/* ----------------------------------------------------------- hashing */

static int open_beneath(int root, const char *path)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = openat(root, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	return fd;
}

/* Reads a whole small file; *len is the count actually read. */
static int read_small(char **out, size_t *len, int fd, size_t expect, sp_error *err)
{
	size_t cap = expect + 1;
	char *buf = malloc(cap);
	if (!buf)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	size_t n = 0;
	for (;;) {
		if (n == cap) {
			if (cap > SMALL_FILE_MAX * 2) {
				free(buf);
				return sp_error_set(err, SP_EINVALID,
						    "file grew while it was read");
			}
			cap *= 2;
			char *p = realloc(buf, cap);
			if (!p) {
				free(buf);
				return sp_error_set(err, SP_ENOMEM, "out of memory");
			}
			buf = p;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return sp_error_errno(err, "read");
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* Copies a large file into the stage while hashing it again, so what is
 * stored is exactly what was hashed; a file that changed in between is an
 * error rather than a payload under the wrong name. */
static int copy_verified(int dst, int src, const sp_digest *want, sp_error *err)
{
	if (lseek(src, 0, SEEK_SET) < 0)
		return sp_error_errno(err, "seek");
	int rc = spfs_store__copy_hashed(dst, src, want, err);
	if (rc == SPFS_EMISMATCH)
		return sp_error_set(err, SP_EINVALID, "file changed while it was being committed");
	return rc;
}

static int stage_payload(commit_ctx *c, const sp_digest *d, bool exec, const char *data, size_t len,
			 int src_fd, sp_error *err)
{
	char name[SP_DIGEST_HEX_LEN + 3];
	sp_digest_to_hex(d, name);
	if (exec)
		memcpy(name + SP_DIGEST_HEX_LEN, ".x", 3);
	_cleanup_close_ int fd = sp_sys_openat(
	    c->stage_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return sp_error_errno(err, "cannot create staged payload");
	int rc = data ? sp_write_all(fd, data, len, err) : copy_verified(fd, src_fd, d, err);
	if (rc)
		return rc;
	if (fchmod(fd, exec ? 0555 : 0444) < 0)
		return sp_error_errno(err, "chmod staged payload");
	if ((rc = sp_mark_pristine(fd, err)))
		return rc;
	/* Start writeback now so the disk works while other files are hashed;
	 * the syncfs before publishing then has little left to wait for. */
	sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return 0;
}

static void hash_work(uv_work_t *req)
{
	file_job *job = req->data;
	commit_ctx *c = job->ctx;
	if (__atomic_load_n(&c->rc, __ATOMIC_RELAXED))
		return;
	spfs_entry *e = &c->m.entries[job->entry];
	bool exec = e->mode == 0755;
	sp_error err = {0};
	int rc = 0;
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	_cleanup_close_ int fd = open_beneath(c->root_fd, e->path);
	if (fd < 0) {
		rc = sp_error_errno(&err, "cannot open");
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		rc = sp_error_errno(&err, "cannot stat");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = sp_error_set(&err, SP_EINVALID, "no longer a regular file");
		goto out;
	}
	if ((uint64_t)st.st_size <= SMALL_FILE_MAX) {
		if ((rc = read_small(&data, &len, fd, (size_t)st.st_size, &err)) ||
		    (rc = sp_digest_buf(&e->digest, data, len, &err)))
			goto out;
		job->size = len;
	} else {
		uint64_t n = 0;
		if ((rc = sp_digest_fd(&e->digest, &n, fd, &err)))
			goto out;
		job->size = n;
	}
	e->size = job->size;

	pthread_mutex_lock(&c->lock);
	bool dup = seen_test_and_set(&c->seen, &e->digest, exec);
	pthread_mutex_unlock(&c->lock);
	if (dup)
		goto out;
	int sfd;
	char sname[72];
	if (spfs_store__shard_fd(&sfd, c->s, true, &e->digest, false, &err) == 0) {
		spfs_store__shard_name(&e->digest, exec, sname);
		struct stat pst;
		if (fstatat(sfd, sname, &pst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(pst.st_mode))
			goto out; /* already stored */
	}
	sp_error_clear(&err);
	if ((rc = stage_payload(c, &e->digest, exec, data, len, fd, &err)))
		goto out;
	job->staged = true;
out:
	if (rc) {
		sp_error_prefix(&err, "%s", e->path);
		ctx_fail(c, rc, &err);
	}
}

static void hash_done(uv_work_t *req, int status)
{
	file_job *job = req->data;
	sp_progress_add(&job->ctx->progress, 1, job->size);
}

void spfs_store__threadpool_size(void)
{
	if (getenv("UV_THREADPOOL_SIZE"))
		return;
	/* File creation on ext4 waits on the journal more than on the CPU, so
	 * a few more threads than cores keep the disk busy. */
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	char buf[16];
	snprintf(buf, sizeof(buf), "%ld", n * 2 < 4 ? 4 : (n * 2 > 64 ? 64 : n * 2));
	setenv("UV_THREADPOOL_SIZE", buf, 0);
}

static int hash_all(commit_ctx *c, sp_error *err)
{
	size_t files = 0;
	for (size_t i = 0; i < c->m.count; i++)
		files += c->m.entries[i].kind == SPFS_ENTRY_FILE;
	int rc = seen_init(&c->seen, files, err);
	if (rc)
		return rc;
	if (files && (rc = sp_calloc((void **)&c->jobs, files, sizeof(*c->jobs), err)))
		return rc;
	spfs_store__threadpool_size();
	uv_loop_t loop;
	if (uv_loop_init(&loop) != 0)
		return sp_error_set(err, SP_ERROR, "cannot start the thread pool");
	sp_progress_start(&c->progress, "hashing", files);
	for (size_t i = 0; i < c->m.count; i++) {
		if (c->m.entries[i].kind != SPFS_ENTRY_FILE)
			continue;
		file_job *job = &c->jobs[c->job_count++];
		job->ctx = c;
		job->entry = i;
		job->req.data = job;
		if (uv_queue_work(&loop, &job->req, hash_work, hash_done) != 0) {
			c->job_count--;
			sp_error e = {0};
			sp_error_set(&e, SP_ERROR, "cannot queue work");
			ctx_fail(c, SP_ERROR, &e);
			break;
		}
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	sp_progress_done(&c->progress);
	if (c->rc) {
		*err = c->err;
		return c->rc;
	}
	return 0;
}

/* ------------------------------------------------------------ publish */

static int publish_staged(commit_ctx *c, sp_error *err)
{
	size_t n_staged = 0;
	for (size_t i = 0; i < c->job_count; i++)
		n_staged += c->jobs[i].staged;
	if (n_staged && sp_sys_syncfs(c->stage_fd) < 0)
		return sp_error_errno(err, "cannot sync staged payloads");
	for (size_t i = 0; i < c->job_count; i++) {
		file_job *job = &c->jobs[i];
		if (!job->staged)
			continue;
		spfs_entry *e = &c->m.entries[job->entry];
		bool exec = e->mode == 0755;
		int sfd;
		int rc = spfs_store__shard_fd(&sfd, c->s, true, &e->digest, true, err);
		if (rc)
			return rc;
		char staged[SP_DIGEST_HEX_LEN + 3], final[72];
		sp_digest_to_hex(&e->digest, staged);
		if (exec)
			memcpy(staged + SP_DIGEST_HEX_LEN, ".x", 3);
		spfs_store__shard_name(&e->digest, exec, final);
		if (sp_sys_renameat(c->stage_fd, staged, sfd, final, RENAME_NOREPLACE) < 0) {
			if (errno != EEXIST)
				return sp_error_errno(err, "cannot move payload %s into place",
						      staged);
			unlinkat(c->stage_fd, staged, 0);
		}
		c->s->published++;
		c->stats->new_blobs++;
		c->stats->new_bytes += job->size;
	}
	return 0;
}

int spfs_commit_manifest(sp_digest *out_layer, spfs_store *s, const spfs_manifest *m,
			 const spfs_annotation *annotations, size_t count, const char *tag,
			 sp_error *err)
{
	sp_buf enc = {0};
	sp_digest manifest_digest;
	int rc = spfs_store_lock_shared(s, err);
	if (rc)
		return rc;
	rc = spfs_manifest_encode(m, &enc, err);
	if (!rc)
		rc = spfs_write_object(&manifest_digest, s, &enc, err);
	sp_buf_free(&enc);
	if (rc) {
		spfs_store_unlock(s);
		return rc;
	}
	spfs_layer layer = {.manifest = manifest_digest,
			    .annotations = (spfs_annotation *)annotations,
			    .annotation_count = count};
	if (!(rc = spfs_layer_encode(&layer, &enc, err)))
		rc = spfs_write_object(out_layer, s, &enc, err);
	sp_buf_free(&enc);
	/* Make the final names durable before the tag points at them; nothing
	 * to do when every object and payload was already there. */
	if (!rc && s->published != s->synced) {
		if (sp_sys_syncfs(s->dirfd) < 0)
			rc = sp_error_errno(err, "cannot sync store");
		else
			s->synced = s->published;
	}
	if (!rc && tag)
		rc = spfs_tag_set(s, tag, out_layer, err);
	spfs_store_unlock(s);
	return rc;
}

int spfs_commit_dir(sp_digest *out_layer, sp_digest *out_manifest, spfs_store *s, const char *dir,
		    const spfs_commit_opts *opts, spfs_commit_stats *stats, sp_error *err)
{
	spfs_commit_stats local_stats = {0};
	if (!stats)
		stats = &local_stats;
	memset(stats, 0, sizeof(*stats));
	if (opts && opts->tag && spfs_tag_name_check(opts->tag, err))
		return err->code;
	commit_ctx c = {.s = s, .root_fd = -1, .stage_fd = -1, .stats = stats};
	pthread_mutex_init(&c.lock, NULL);
	char stage_name[32] = "";
	int rc = 0;
	c.root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.root_fd < 0) {
		rc = sp_error_errno(err, "cannot open %s", dir);
		goto out;
	}
	if ((rc = spfs_store_lock_shared(s, err)))
		goto out;
	if ((rc = walk(&c, c.root_fd, "", 0, err)) ||
	    (rc = spfs_store__stage_dir(&c.stage_fd, stage_name, s, err)) ||
	    (rc = hash_all(&c, err)) || (rc = publish_staged(&c, err)))
		goto unlock;
	for (size_t i = 0; i < c.m.count; i++)
		if (c.m.entries[i].kind == SPFS_ENTRY_FILE)
			stats->bytes += c.m.entries[i].size;
	sp_buf enc = {0};
	if ((rc = spfs_manifest_encode(&c.m, &enc, err)) == 0 && out_manifest)
		rc = sp_digest_buf(out_manifest, enc.data, enc.len, err);
	sp_buf_free(&enc);
	if (!rc)
		rc = spfs_commit_manifest(out_layer, s, &c.m, opts ? opts->annotations : NULL,
					  opts ? opts->annotation_count : 0,
					  opts ? opts->tag : NULL, err);
unlock:
	spfs_store_unlock(s);
out:
	if (stage_name[0]) {
		sp_error ignored = {0};
		sp_rm_rf_at(s->tmp_fd, stage_name, &ignored);
	}
	if (c.stage_fd >= 0)
		close(c.stage_fd);
	if (c.root_fd >= 0)
		close(c.root_fd);
	for (size_t i = 0; i < c.m.count; i++) {
		free(c.m.entries[i].path);
		free(c.m.entries[i].target);
	}
	free(c.m.entries);
	free(c.jobs);
	free(c.seen.slots);
	free(c.seen.exec);
	pthread_mutex_destroy(&c.lock);
	if (rc)
		return sp_error_prefix(err, "cannot commit %s", dir);
	return 0;
}

int spfs_commit_platform(sp_digest *out, spfs_store *s, const sp_digest *layers, size_t count,
			 const char *tag, sp_error *err)
{
	if (tag && spfs_tag_name_check(tag, err))
		return err->code;
	spfs_platform p = {.layers = (sp_digest *)layers, .count = count};
	sp_buf enc = {0};
	int rc = spfs_store_lock_shared(s, err);
	if (rc)
		return rc;
	if (!(rc = spfs_platform_encode(&p, &enc, err)))
		rc = spfs_write_object(out, s, &enc, err);
	sp_buf_free(&enc);
	if (!rc && tag)
		rc = spfs_tag_set(s, tag, out, err);
	spfs_store_unlock(s);
	return rc;
}
