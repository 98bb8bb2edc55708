/* tag.c - tags: names pointing at objects, with an append-only history.
 *
 * A tag NAME lives in tags/NAME.tag (slashes are directories). The file is
 * a list of records, oldest first, one per line:
 *     <64 hex target> <unix seconds> <8 hex check>\n
 * where check is the start of the SHA-256 of "<target> <seconds>". Every
 * change rewrites the file atomically (temp, fsync, rename, fsync dir) while
 * holding locks/tags, so readers see the old or the new history. A reader
 * still tolerates damage: a torn last line or a record whose check fails is
 * dropped and counted, and the remaining records keep the tag readable. */
#include "store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TAG_SUFFIX   ".tag"
#define RECORD_LEN   (SP_DIGEST_HEX_LEN + 1 + 20 + 1 + 8 + 1)
#define MAX_TAG_FILE ((size_t)64 << 20)

/* Why one part of a tag name (n bytes) is invalid, in why[0..size); false
 * when it is valid. */
static bool part_problem(const char *p, size_t n, char *why, size_t size)
{
	why[0] = '\0';
	if (n == 0)
		snprintf(why, size, "an empty part");
	else if (p[0] == '.')
		snprintf(why, size, "a part starts with '.'"); /* ".", "..", hidden names */
	else if (n > SPFS_MAX_TAG_PART)
		snprintf(why, size, "a part of %zu bytes (at most %u)", n, SPFS_MAX_TAG_PART);
	/* "x.tag" would collide with the file of tag "x" on disk */
	else if (n >= 4 && memcmp(p + n - 4, ".tag", 4) == 0)
		snprintf(why, size, "a part ends in '.tag'");
	else
		for (size_t i = 0; i < n; i++) {
			char ch = p[i];
			bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' ||
				  ch == '+' || ch == ',' || ch == '=' || ch == '@';
			if (!ok) {
				snprintf(
				    why, size,
				    "a character other than letters, digits and . _ - + , = @");
				return true;
			}
		}
	return why[0] != '\0';
}

/* Why a whole name is invalid; false when it is valid. */
static bool name_problem(const char *name, char *why, size_t size)
{
	why[0] = '\0';
	size_t len = strlen(name), parts = 0;
	if (len == 0) {
		snprintf(why, size, "empty");
		return true;
	}
	if (len > SPFS_MAX_TAG_NAME) {
		snprintf(why, size, "%zu bytes long (at most %u)", len, SPFS_MAX_TAG_NAME);
		return true;
	}
	for (const char *p = name;; p++) {
		const char *slash = strchr(p, '/');
		if (part_problem(p, slash ? (size_t)(slash - p) : strlen(p), why, size))
			return true;
		if (!slash)
			return false;
		if (++parts >= SPFS_MAX_TAG_DEPTH) {
			snprintf(why, size, "more than %u parts deep", SPFS_MAX_TAG_DEPTH);
			return true;
		}
		p = slash;
	}
}

bool spfs_tag_name_valid(const char *name)
{
	char why[128];
	return !name_problem(name, why, sizeof(why));
}

int spfs_tag_name_check(const char *name, sp_error *err)
{
	char why[128];
	if (!name_problem(name, why, sizeof(why)))
		return 0;
	return sp_error_set(err, SP_EINVALID,
			    "'%.200s%s' is not a valid tag name: %s (a tag name is up to %u parts "
			    "of letters, digits and . _ - + , = @ separated by '/', each at most "
			    "%u bytes, none starting with '.')",
			    name, strlen(name) > 200 ? "..." : "", why, SPFS_MAX_TAG_DEPTH,
			    SPFS_MAX_TAG_PART);
}

void spfs_tag_history_free(spfs_tag_history *h)
{
	free(h->records);
	h->records = NULL;
	h->count = h->dropped = 0;
}

static void record_check(char out[9], const char *hex, int64_t t)
{
	char line[SP_DIGEST_HEX_LEN + 32];
	int n = snprintf(line, sizeof(line), "%s %lld", hex, (long long)t);
	sp_digest d;
	sp_error ignored = {0};
	sp_digest_buf(&d, line, (size_t)n, &ignored);
	char dh[SP_DIGEST_HEX_LEN + 1];
	sp_digest_to_hex(&d, dh);
	memcpy(out, dh, 8);
	out[8] = '\0';
}

static bool parse_record(spfs_tag_record *r, const char *line, size_t len)
{
	/* <64 hex> ' ' <digits, optional '-'> ' ' <8 hex> */
	if (len < SP_DIGEST_HEX_LEN + 1 + 1 + 1 + 8 || line[SP_DIGEST_HEX_LEN] != ' ')
		return false;
	char hex[SP_DIGEST_HEX_LEN + 1];
	memcpy(hex, line, SP_DIGEST_HEX_LEN);
	hex[SP_DIGEST_HEX_LEN] = '\0';
	sp_error ignored = {0};
	if (sp_digest_from_hex(&r->target, hex, &ignored))
		return false;
	const char *p = line + SP_DIGEST_HEX_LEN + 1;
	const char *end = line + len;
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	if (!sp || sp == p || end - sp != 9 || sp - p > 20)
		return false;
	int64_t t = 0;
	bool neg = *p == '-';
	for (const char *q = p + neg; q < sp; q++) {
		if (*q < '0' || *q > '9' || t > (INT64_MAX - (*q - '0')) / 10)
			return false;
		t = t * 10 + (*q - '0');
	}
	if (neg && sp == p + 1)
		return false;
	/* One spelling per time: no leading zeros, no "-0". */
	if (p[neg] == '0' && (neg || sp - p > 1))
		return false;
	r->time = neg ? -t : t;
	char want[9];
	record_check(want, hex, r->time);
	return memcmp(want, sp + 1, 8) == 0;
}

int spfs_tag_parse(spfs_tag_history *out, const char *data, size_t n, sp_error *err)
{
	memset(out, 0, sizeof(*out));
	if (n > MAX_TAG_FILE)
		return sp_error_set(err, SPFS_ECORRUPT, "tag file larger than %zu bytes",
				    MAX_TAG_FILE);
	size_t cap = 0;
	size_t pos = 0;
	while (pos < n) {
		const char *nl = memchr(data + pos, '\n', n - pos);
		if (!nl) {
			out->dropped++; /* torn last record */
			break;
		}
		size_t len = (size_t)(nl - (data + pos));
		spfs_tag_record r;
		if (!parse_record(&r, data + pos, len)) {
			out->dropped++;
		} else {
			if (out->count == cap) {
				cap = cap ? cap * 2 : 8;
				int rc = sp_realloc_array((void **)&out->records, cap,
							  sizeof(*out->records), err);
				if (rc) {
					spfs_tag_history_free(out);
					return rc;
				}
			}
			out->records[out->count++] = r;
		}
		pos += len + 1;
	}
	return 0;
}

/* "a/b/c" -> "a/b/c.tag" in buf. */
static int tag_file(char *buf, size_t n, const char *name, sp_error *err)
{
	int rc = spfs_tag_name_check(name, err);
	if (rc)
		return rc;
	snprintf(buf, n, "%s" TAG_SUFFIX, name);
	return 0;
}

int spfs_tag_read(spfs_tag_history *out, spfs_store *s, const char *name, sp_error *err)
{
	char file[SPFS_MAX_TAG_NAME + 8];
	int rc = tag_file(file, sizeof(file), name, err);
	if (rc)
		return rc;
	char *data = NULL;
	size_t len = 0;
	if ((rc = sp_read_file_at(&data, &len, s->tags_fd, file, MAX_TAG_FILE, err))) {
		if (rc == SP_ENOTFOUND || (err->sys_errno == ENOTDIR))
			return sp_error_set(err, SPFS_ENOTFOUND, "no tag named '%s'", name);
		return sp_error_prefix(err, "cannot read tag '%s'", name);
	}
	rc = spfs_tag_parse(out, data, len, err);
	free(data);
	if (rc)
		return sp_error_prefix(err, "tag '%s'", name);
	if (out->count == 0) {
		spfs_tag_history_free(out);
		return sp_error_set(err, SPFS_ECORRUPT, "tag '%s' is damaged: no complete record",
				    name);
	}
	return 0;
}

static int lock_tags(int *out, spfs_store *s, sp_error *err)
{
	int fd = openat(s->dirfd, "locks/tags", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return sp_error_errno(err, "cannot open locks/tags");
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return sp_error_errno(err, "cannot lock tags");
		}
	}
	*out = fd;
	return 0;
}

static int append_record(sp_buf *b, const spfs_tag_record *r, sp_error *err)
{
	char hex[SP_DIGEST_HEX_LEN + 1], check[9];
	sp_digest_to_hex(&r->target, hex);
	record_check(check, hex, r->time);
	return sp_buf_printf(b, err, "%s %lld %s\n", hex, (long long)r->time, check);
}

/* Rewrites the tag file from `h` (or removes it when empty). */
static int write_history(spfs_store *s, const char *file, const spfs_tag_history *h, sp_error *err)
{
	const char *slash = strrchr(file, '/');
	_cleanup_close_ int dfd = -1;
	const char *base = file;
	int rc;
	if (slash) {
		char dir[SPFS_MAX_TAG_NAME + 8];
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
		if ((rc = sp_mkdir_p_at(s->tags_fd, dir, 0755, err)) ||
		    (rc = sp_open_dir_at(&dfd, s->tags_fd, dir, err)))
			return rc;
		base = slash + 1;
	} else {
		dfd = fcntl(s->tags_fd, F_DUPFD_CLOEXEC, 0);
		if (dfd < 0)
			return sp_error_errno(err, "dup");
	}
	if (h->count == 0) {
		if (unlinkat(dfd, base, 0) < 0 && errno != ENOENT)
			return sp_error_errno(err, "cannot remove %s", file);
		if (sp_sys_fsync(dfd) < 0)
			return sp_error_errno(err, "fsync");
		return 0;
	}
	sp_buf b = {.max = MAX_TAG_FILE};
	for (size_t i = 0; i < h->count; i++)
		if ((rc = append_record(&b, &h->records[i], err))) {
			sp_buf_free(&b);
			return rc;
		}
	rc = sp_atomic_write_at(dfd, base, b.data, b.len, 0644, err);
	sp_buf_free(&b);
	return rc;
}

int spfs_tag_set(spfs_store *s, const char *name, const sp_digest *d, sp_error *err)
{
	char file[SPFS_MAX_TAG_NAME + 8];
	int rc = tag_file(file, sizeof(file), name, err);
	if (rc)
		return rc;
	_cleanup_close_ int lfd = -1;
	if ((rc = lock_tags(&lfd, s, err)))
		return rc;
	spfs_tag_history h = {0};
	rc = spfs_tag_read(&h, s, name, err);
	if (rc && rc != SPFS_ENOTFOUND && rc != SPFS_ECORRUPT)
		return rc;
	sp_error_clear(err);
	if (h.count && sp_digest_cmp(&h.records[h.count - 1].target, d) == 0) {
		spfs_tag_history_free(&h);
		return 0;
	}
	if ((rc = sp_realloc_array((void **)&h.records, h.count + 1, sizeof(*h.records), err))) {
		spfs_tag_history_free(&h);
		return rc;
	}
	h.records[h.count].target = *d;
	h.records[h.count].time = (int64_t)time(NULL);
	h.count++;
	rc = write_history(s, file, &h, err);
	spfs_tag_history_free(&h);
	return rc ? sp_error_prefix(err, "cannot set tag '%s'", name) : 0;
}

int spfs_tag_remove(spfs_store *s, const char *name, bool latest_only, sp_error *err)
{
	char file[SPFS_MAX_TAG_NAME + 8];
	int rc = tag_file(file, sizeof(file), name, err);
	if (rc)
		return rc;
	_cleanup_close_ int lfd = -1;
	if ((rc = lock_tags(&lfd, s, err)))
		return rc;
	spfs_tag_history h = {0};
	rc = spfs_tag_read(&h, s, name, err);
	/* A tag with no readable record can still be removed as a whole. */
	if (rc == SPFS_ECORRUPT && !latest_only)
		sp_error_clear(err);
	else if (rc)
		return rc;
	if (latest_only)
		h.count--;
	else
		h.count = 0;
	rc = write_history(s, file, &h, err);
	spfs_tag_history_free(&h);
	return rc ? sp_error_prefix(err, "cannot remove tag '%s'", name) : 0;
}

/* ----------------------------------------------------------------- list */

typedef struct name_list {
	char **names;
	size_t count, cap;
	spfs_tag_odd_cb odd;
	void *ud;
} name_list;

static void odd_entry(name_list *l, const char *path, const char *why)
{
	if (l->odd)
		l->odd(path, why, l->ud);
	else
		sp_warn("tags/%s: not a tag: %s (ignored)", path, why);
}

/* Collects the tags under dirfd, whose name is prefix (`parts` parts). An
 * entry that cannot hold or be a valid tag is reported and skipped, so the
 * walk's depth and names are bounded by the tag name rule itself. */
static int collect(name_list *l, int dirfd, const char *prefix, size_t parts, sp_error *err)
{
	/* A new open file description: a dup would share (and leave at the end)
	 * the read offset of the store's tags_fd, so a second walk saw nothing. */
	int dup = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
	if (!d) {
		if (dup >= 0)
			close(dup);
		return sp_error_errno(err, "cannot read tags/%s", prefix);
	}
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue; /* ".", "..", temporary files of atomic writes */
		char path[SPFS_MAX_TAG_NAME + 300], why[128];
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "/" : "", de->d_name);
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		size_t n = strlen(de->d_name);
		if (S_ISDIR(st.st_mode)) {
			if (part_problem(de->d_name, n, why, sizeof(why)))
				odd_entry(l, path, why);
			else if (parts + 1 >= SPFS_MAX_TAG_DEPTH)
				odd_entry(l, path, "a directory nested too deep to hold a tag");
			else if (strlen(path) + 2 > SPFS_MAX_TAG_NAME)
				odd_entry(l, path,
					  "a directory whose name is too long to hold a tag");
			else {
				_cleanup_close_ int sub =
				    openat(dirfd, de->d_name,
					   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (sub < 0)
					odd_entry(l, path, strerror(errno));
				else
					rc = collect(l, sub, path, parts + 1, err);
			}
			continue;
		}
		size_t pn = strlen(path), sl = strlen(TAG_SUFFIX);
		if (!S_ISREG(st.st_mode) || pn <= sl || strcmp(path + pn - sl, TAG_SUFFIX) != 0) {
			odd_entry(l, path, "not a directory or a .tag file");
			continue;
		}
		path[pn - sl] = '\0';
		if (name_problem(path, why, sizeof(why))) {
			path[pn - sl] = '.';
			odd_entry(l, path, why);
			continue;
		}
		if (l->count == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 64;
			if ((rc =
				 sp_realloc_array((void **)&l->names, l->cap, sizeof(char *), err)))
				break;
		}
		if (!(l->names[l->count] = strdup(path))) {
			rc = sp_error_set(err, SP_ENOMEM, "out of memory");
			break;
		}
		l->count++;
	}
	closedir(d);
	return rc;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int spfs_tag_list(spfs_store *s, const char *prefix, spfs_tag_cb cb, void *ud, sp_error *err)
{
	return spfs_tag_walk(s, prefix, cb, NULL, ud, err);
}

int spfs_tag_walk(spfs_store *s, const char *prefix, spfs_tag_cb cb, spfs_tag_odd_cb odd, void *ud,
		  sp_error *err)
{
	name_list l = {.odd = odd, .ud = ud};
	/* Walk only the directory the prefix names ("spk/spec/x" -> tags/spk/spec),
	 * not every tag of the store. */
	char base[SPFS_MAX_TAG_NAME + 1] = "";
	const char *slash = prefix ? strrchr(prefix, '/') : NULL;
	int rc = 0;
	if (slash && (size_t)(slash - prefix) <= SPFS_MAX_TAG_NAME) {
		snprintf(base, sizeof(base), "%.*s", (int)(slash - prefix), prefix);
		if (!spfs_tag_name_valid(base))
			return 0; /* no tag can start with an invalid prefix */
		int dfd = openat(s->tags_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			return errno == ENOENT || errno == ENOTDIR
				   ? 0
				   : sp_error_errno(err, "cannot read tags/%s", base);
		size_t parts = 1;
		for (const char *p = base; *p; p++)
			parts += *p == '/';
		rc = collect(&l, dfd, base, parts, err);
		close(dfd);
	} else {
		rc = collect(&l, s->tags_fd, "", 0, err);
	}
	if (!rc && l.count > 1)
		qsort(l.names, l.count, sizeof(char *), str_cmp);
	size_t plen = prefix ? strlen(prefix) : 0;
	for (size_t i = 0; !rc && i < l.count; i++)
		if (!plen || strncmp(l.names[i], prefix, plen) == 0)
			rc = cb(l.names[i], ud);
	for (size_t i = 0; i < l.count; i++)
		free(l.names[i]);
	free(l.names);
	return rc;
}
