/* fetch.c - the source cache: tar files downloaded from http(s) URLs and
 * mirrors of remote git repositories (see pkg_sources_set_offline).
 *
 * Layout of the cache directory:
 *   blobs/<sha256>     a downloaded file, named by the SHA-256 of its bytes
 *                      (read-only; checked again every time it is used)
 *   urls/<sha256(url)> "<content sha256>\n<url>\n": what a URL gave last
 *                      time, for recipes that pin no digest
 *   git/<sha256(url)>  a bare mirror of a git URL
 *   tmp/               downloads in progress (a crash leaves a file here
 *                      that the next download of the same URL ignores)
 * A download lands in tmp/, is hashed while it is written, fsynced, checked
 * against the pinned digest, then renamed to blobs/: nothing half-written
 * or unverified is ever found under blobs/. Nothing from a download is
 * extracted, and nothing runs, before that check. */
#include "pkg/pkg.h"
#include "pkg/source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest download accepted (a bounded-size guard, not a quota). */
#define MAX_DOWNLOAD ((uint64_t)64 << 30)

static bool offline_set, offline_value;

void pkg_sources_set_offline(bool offline)
{
	offline_set = true;
	offline_value = offline;
}

void pkg__sources_offline_unset(void)
{
	offline_set = false;
}

bool pkg__sources_offline(void)
{
	if (offline_set)
		return offline_value;
	const char *e = getenv("SPK_OFFLINE");
	return e && *e && strcmp(e, "0") != 0;
}

int pkg__source_cache_dir(char *out, size_t n, sp_error *err)
{
	const char *e = getenv("SPK_SOURCE_CACHE");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	int w;
	if (e && *e)
		w = snprintf(out, n, "%s", e);
	else if (xdg && xdg[0] == '/')
		w = snprintf(out, n, "%s/spk/sources", xdg);
	else if (home && home[0] == '/')
		w = snprintf(out, n, "%s/.cache/spk/sources", home);
	else
		return sp_error_set(err, SP_EINVALID,
				    "no source cache: set SPK_SOURCE_CACHE (or HOME)");
	if (w < 0 || (size_t)w >= n)
		return sp_error_set(err, SP_EINVALID, "the source cache's path is too long");
	return 0;
}

/* Opens (creating) the cache directory and its subdirectories. */
static int cache_open(int *out, char *path, size_t npath, sp_error *err)
{
	int rc = pkg__source_cache_dir(path, npath, err);
	if (rc)
		return rc;
	if (path[0] != '/')
		return sp_error_set(err, SP_EINVALID,
				    "the source cache '%s' must be an absolute path", path);
	if ((rc = sp_mkdir_p_at(AT_FDCWD, path, 0755, err)))
		return sp_error_prefix(err, "source cache %s", path);
	_cleanup_close_ int fd = -1;
	if ((rc = sp_open_dir_at(&fd, AT_FDCWD, path, err)))
		return sp_error_prefix(err, "source cache");
	static const char *const subdirs[] = {"blobs", "urls", "git", "tmp"};
	for (size_t i = 0; i < 4; i++)
		if (mkdirat(fd, subdirs[i], 0755) < 0 && errno != EEXIST)
			return sp_error_errno(err, "source cache %s/%s", path, subdirs[i]);
	*out = sp_steal_fd(&fd);
	return 0;
}

void pkg__url_key(const char *url, char key[SP_DIGEST_HEX_LEN + 1])
{
	sp_digest d;
	sp_error ignored = {0};
	if (sp_digest_buf(&d, url, strlen(url), &ignored)) {
		/* no libcrypto: a key that cannot collide with a digest */
		snprintf(key, SP_DIGEST_HEX_LEN + 1, "unhashable");
		return;
	}
	sp_digest_to_hex(&d, key);
}

/* Opens blobs/<hex> and checks that its bytes still hash to hex (a cache
 * on a shared disk can be damaged or edited). SP_ENOTFOUND when absent;
 * a damaged entry is removed and reported as absent. */
static int blob_open_verified(int *out, int cachefd, const char *hex, sp_error *err)
{
	char rel[16 + SP_DIGEST_HEX_LEN];
	snprintf(rel, sizeof(rel), "blobs/%s", hex);
	_cleanup_close_ int fd = openat(cachefd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? SP_ENOTFOUND : sp_error_errno(err, "source cache %s", rel);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return sp_error_errno(err, "source cache %s", rel);
	if (!S_ISREG(st.st_mode))
		return sp_error_set(err, SP_EINVALID, "source cache %s is not a file", rel);
	sp_digest d;
	uint64_t size;
	int rc = sp_digest_fd(&d, &size, fd, err);
	if (rc)
		return sp_error_prefix(err, "source cache %s", rel);
	char got[SP_DIGEST_HEX_LEN + 1];
	sp_digest_to_hex(&d, got);
	if (strcmp(got, hex) != 0) {
		sp_warn("source cache %s is damaged (its content hashes to %s): removing it", rel,
			got);
		unlinkat(cachefd, rel, 0);
		return SP_ENOTFOUND;
	}
	if (lseek(fd, 0, SEEK_SET) < 0)
		return sp_error_errno(err, "source cache %s", rel);
	*out = sp_steal_fd(&fd);
	return 0;
}

/* urls/<key>: the digest a URL gave last time, or SP_ENOTFOUND. */
static int url_record_get(char hex[SP_DIGEST_HEX_LEN + 1], int cachefd, const char *url,
			  sp_error *err)
{
	char key[SP_DIGEST_HEX_LEN + 1], rel[8 + SP_DIGEST_HEX_LEN];
	pkg__url_key(url, key);
	snprintf(rel, sizeof(rel), "urls/%s", key);
	_cleanup_free_ char *text = NULL;
	size_t len;
	sp_error local = {0};
	if (sp_read_file_at(&text, &len, cachefd, rel, 64 << 10, &local))
		return local.code == SP_ENOTFOUND ? SP_ENOTFOUND : (*err = local, local.code);
	/* "<digest>\n<url>\n": the URL is kept to tell a hash collision (or an
	 * edited record) from a hit */
	if (len < SP_DIGEST_HEX_LEN + 2 || text[SP_DIGEST_HEX_LEN] != '\n' ||
	    !sp_digest_is_hex(text, SP_DIGEST_HEX_LEN) ||
	    strncmp(text + SP_DIGEST_HEX_LEN + 1, url, strlen(url)) != 0)
		return SP_ENOTFOUND;
	memcpy(hex, text, SP_DIGEST_HEX_LEN);
	hex[SP_DIGEST_HEX_LEN] = 0;
	return 0;
}

static int url_record_put(int cachefd, const char *url, const char *hex, sp_error *err)
{
	char key[SP_DIGEST_HEX_LEN + 1];
	pkg__url_key(url, key);
	_cleanup_close_ int dfd = -1;
	int rc = sp_open_dir_at(&dfd, cachefd, "urls", err);
	if (rc)
		return rc;
	sp_buf b = {0};
	rc = sp_buf_printf(&b, err, "%s\n%s\n", hex, url);
	if (!rc)
		rc = sp_atomic_write_at(dfd, key, b.data, b.len, 0644, err);
	sp_buf_free(&b);
	return rc;
}

/* Downloads url into tmp/, checks it against `pin` (when given), moves it
 * to blobs/<digest>; hex gets the digest. */
static int download(char hex[SP_DIGEST_HEX_LEN + 1], int cachefd, const char *cache,
		    const char *url, const char *pin, sp_error *err)
{
	char name[40], tmprel[48];
	sp_random_name(name, 24);
	snprintf(tmprel, sizeof(tmprel), "tmp/%s", name);
	_cleanup_close_ int fd = sp_sys_openat(
	    cachefd, tmprel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return sp_error_errno(err, "source cache %s/%s", cache, tmprel);
	sp_info("downloading %s", url);
	sp_digest d;
	uint64_t size = 0;
	int rc = sp_http_download(url, fd, &d, &size, MAX_DOWNLOAD, err);
	if (!rc) {
		sp_digest_to_hex(&d, hex);
		if (pin && strcmp(pin, hex) != 0)
			rc = sp_error_set(err, SP_EMISMATCH,
					  "%s does not match the recipe's sha256: expected %s, "
					  "downloaded %llu bytes with sha256 %s (nothing was "
					  "extracted; if the new file is right, update sha256)",
					  url, pin, (unsigned long long)size, hex);
	}
	if (!rc && sp_sys_fsync(fd) < 0)
		rc = sp_error_errno(err, "fsync %s", tmprel);
	if (!rc && fchmod(fd, 0444) < 0)
		rc = sp_error_errno(err, "chmod %s", tmprel);
	char blob[16 + SP_DIGEST_HEX_LEN];
	snprintf(blob, sizeof(blob), "blobs/%s", hex);
	/* the same content may have landed meanwhile: it is the same bytes */
	if (!rc && sp_sys_renameat(cachefd, tmprel, cachefd, blob, 0) < 0)
		rc = sp_error_errno(err, "source cache: rename into %s", blob);
	if (rc) {
		unlinkat(cachefd, tmprel, 0);
		return rc;
	}
	_cleanup_close_ int bfd = -1;
	if (sp_open_dir_at(&bfd, cachefd, "blobs", err) == 0 && sp_sys_fsync(bfd) < 0)
		return sp_error_errno(err, "fsync %s/blobs", cache);
	return 0;
}

int pkg__source_fetch_tar(int *out, const pkg_source_decl *sd, sp_error *err)
{
	char cache[4096];
	_cleanup_close_ int cachefd = -1;
	int rc = cache_open(&cachefd, cache, sizeof(cache), err);
	if (rc)
		return rc;
	char hex[SP_DIGEST_HEX_LEN + 1] = "";
	if (sd->sha256) {
		snprintf(hex, sizeof(hex), "%s", sd->sha256);
	} else {
		rc = url_record_get(hex, cachefd, sd->value, err);
		if (rc && rc != SP_ENOTFOUND)
			return rc;
		if (rc)
			hex[0] = 0;
	}
	if (hex[0]) {
		rc = blob_open_verified(out, cachefd, hex, err);
		if (rc != SP_ENOTFOUND) {
			if (!rc && !sd->sha256)
				sp_warn("%s is not pinned: add 'sha256: %s' to its source "
					"entry so a changed download is refused",
					sd->value, hex);
			return rc;
		}
	}
	if (pkg__sources_offline())
		return sp_error_set(err, SP_ENOTFOUND,
				    "%s is not in the source cache (%s) and spk is offline: "
				    "run once without --offline to download it",
				    sd->value, cache);
	if ((rc = download(hex, cachefd, cache, sd->value, sd->sha256, err)))
		return rc;
	if (!sd->sha256)
		sp_warn("%s is not pinned: add 'sha256: %s' to its source entry so a "
			"changed download is refused",
			sd->value, hex);
	if ((rc = url_record_put(cachefd, sd->value, hex, err)))
		return sp_error_prefix(err, "source cache %s", cache);
	return blob_open_verified(out, cachefd, hex, err) == 0
		   ? 0
		   : sp_error_set(err, SP_ERROR, "source cache: %s vanished after download", hex);
}

int pkg__source_verify_fd(int fd, const char *what, const char *pin, sp_error *err)
{
	sp_digest d;
	uint64_t size;
	int rc = sp_digest_fd(&d, &size, fd, err);
	if (rc)
		return sp_error_prefix(err, "%s", what);
	char hex[SP_DIGEST_HEX_LEN + 1];
	sp_digest_to_hex(&d, hex);
	if (strcmp(hex, pin) != 0)
		return sp_error_set(err, SP_EMISMATCH,
				    "%s does not match the recipe's sha256: expected %s, the file "
				    "has %s",
				    what, pin, hex);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return sp_error_errno(err, "%s", what);
	return 0;
}
