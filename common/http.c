/* http.c - downloads over HTTP(S) with libcurl, loaded with dlopen() on
 * first use (common.h, sp_http_download).
 *
 * libcurl is not linked: it brings GnuTLS/OpenSSL, nghttp2, LDAP, SSH and
 * more with it, and every spfs/spk start would pay for binding them while
 * only source downloads (and, later, HTTP remotes) use it. The pointers
 * are typed from curl's own declarations, so a signature mismatch is a
 * compile error. */
#define CURL_DISABLE_TYPECHECK 1 /* curl_easy_setopt is called through a pointer */
#include "common.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

static struct {
	__typeof__(&curl_global_init) global_init;
	__typeof__(&curl_easy_init) easy_init;
	__typeof__(&curl_easy_setopt) easy_setopt;
	__typeof__(&curl_easy_perform) easy_perform;
	__typeof__(&curl_easy_getinfo) easy_getinfo;
	__typeof__(&curl_easy_strerror) easy_strerror;
	__typeof__(&curl_easy_cleanup) easy_cleanup;
	char failure[256]; /* empty when loaded */
} cu;

static pthread_once_t cu_once = PTHREAD_ONCE_INIT;

static void *cu_sym(void *lib, const char *name)
{
	void *p = dlsym(lib, name);
	if (!p && !cu.failure[0])
		snprintf(cu.failure, sizeof(cu.failure), "libcurl has no symbol %s", name);
	return p;
}

static void cu_load(void)
{
	static const char *const sonames[] = {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so"};
	void *lib = NULL;
	for (size_t i = 0; i < sizeof(sonames) / sizeof(sonames[0]) && !lib; i++)
		lib = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
	if (!lib) { /* never closed: it stays for the life of the process */
		const char *why = dlerror();
		snprintf(cu.failure, sizeof(cu.failure), "%s",
			 why ? why : "libcurl.so.4 not found");
		return;
	}
	cu.global_init = (__typeof__(cu.global_init))cu_sym(lib, "curl_global_init");
	cu.easy_init = (__typeof__(cu.easy_init))cu_sym(lib, "curl_easy_init");
	cu.easy_setopt = (__typeof__(cu.easy_setopt))cu_sym(lib, "curl_easy_setopt");
	cu.easy_perform = (__typeof__(cu.easy_perform))cu_sym(lib, "curl_easy_perform");
	cu.easy_getinfo = (__typeof__(cu.easy_getinfo))cu_sym(lib, "curl_easy_getinfo");
	cu.easy_strerror = (__typeof__(cu.easy_strerror))cu_sym(lib, "curl_easy_strerror");
	cu.easy_cleanup = (__typeof__(cu.easy_cleanup))cu_sym(lib, "curl_easy_cleanup");
	if (!cu.failure[0] && cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		snprintf(cu.failure, sizeof(cu.failure), "curl_global_init failed");
}

static int cu_ready(sp_error *err)
{
	pthread_once(&cu_once, cu_load);
	if (cu.failure[0])
		return sp_error_set(err, SP_ERROR,
				    "cannot load libcurl for downloads: %s (install libcurl4)",
				    cu.failure);
	return 0;
}

bool sp_http_is_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

typedef struct sink {
	int fd;
	sp_hasher *hasher;
	uint64_t size, max;
	sp_progress progress;
	sp_error err; /* why the write callback stopped the transfer */
	bool too_big;
} sink;

static size_t on_data(char *data, size_t one, size_t n, void *arg)
{
	sink *s = arg;
	size_t len = one * n;
	if (s->size + len > s->max) {
		s->too_big = true;
		return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
	}
	if (sp_hasher_update(s->hasher, data, len, &s->err) ||
	    sp_write_all(s->fd, data, len, &s->err))
		return 0;
	s->size += len;
	sp_progress_add(&s->progress, 0, len);
	return len;
}

/* A server's announced length, shown as the progress total. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dlnow, (void)ultotal, (void)ulnow;
	sink *s = arg;
	if (dltotal > 0)
		s->progress.total = (uint64_t)dltotal;
	return 0;
}

static void easy_freep(CURL **h)
{
	if (*h)
		cu.easy_cleanup(*h);
}

int sp_http_download(const char *url, int fd, sp_digest *digest, uint64_t *size, uint64_t max,
		     sp_error *err)
{
	if (!sp_http_is_url(url))
		return sp_error_set(err, SP_EINVALID, "'%s' is not an http:// or https:// URL",
				    url);
	int rc = cu_ready(err);
	if (rc)
		return rc;
	_cleanup_(easy_freep) CURL *h = cu.easy_init();
	if (!h)
		return sp_error_set(err, SP_ENOMEM, "curl_easy_init failed");
	_cleanup_(sp_hasher_freep) sp_hasher *hasher = NULL;
	if ((rc = sp_hasher_new(&hasher, err)))
		return rc;
	sink s = {.fd = fd, .hasher = hasher, .max = max};
	sp_progress_start(&s.progress, "downloading", 0);
	char errbuf[CURL_ERROR_SIZE] = "";
	cu.easy_setopt(h, CURLOPT_URL, url);
	cu.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	/* redirects stay on http(s): no file://, no other scheme */
	cu.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	cu.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	cu.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	cu.easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	cu.easy_setopt(h, CURLOPT_FAILONERROR, 1L); /* 4xx/5xx is an error, not content */
	cu.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	/* a stalled server (under 1 byte/s for 60 s) fails instead of hanging */
	cu.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	cu.easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	cu.easy_setopt(h, CURLOPT_USERAGENT, "spawn/" SPAWN_VERSION);
	cu.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	cu.easy_setopt(h, CURLOPT_WRITEDATA, &s);
	cu.easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	cu.easy_setopt(h, CURLOPT_XFERINFODATA, &s);
	cu.easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	CURLcode cc = cu.easy_perform(h);
	sp_progress_done(&s.progress);
	if (cc != CURLE_OK) {
		if (s.too_big)
			return sp_error_set(err, SP_EINVALID, "%s: larger than %llu bytes", url,
					    (unsigned long long)max);
		if (s.err.code) {
			*err = s.err;
			return sp_error_prefix(err, "%s", url);
		}
		return sp_error_set(err, SP_EIO, "cannot download %s: %s", url,
				    errbuf[0] ? errbuf : cu.easy_strerror(cc));
	}
	if ((rc = sp_hasher_final(hasher, digest, err)))
		return rc;
	*size = s.size;
	return 0;
}
