/* digest.c - SHA-256 through OpenSSL's EVP interface (uses SHA-NI).
 *
 * libcrypto is loaded with dlopen() on the first digest, not linked: the
 * dynamic loader binding Debian's libcrypto (built with BIND_NOW) was most
 * of the instructions of a fast `spfs run`, which hashes nothing. The
 * pointers are typed from OpenSSL's own declarations, so a signature
 * mismatch is a compile error. */
#include "common.h"

#include <dlfcn.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SP_STR_(x)    #x
#define SP_STR(x)     SP_STR_(x)
#define CRYPTO_SONAME "libcrypto.so." SP_STR(OPENSSL_SHLIB_VERSION)

static struct {
	__typeof__(&EVP_MD_CTX_new) ctx_new;
	__typeof__(&EVP_MD_CTX_free) ctx_free;
	__typeof__(&EVP_DigestInit_ex) init;
	__typeof__(&EVP_DigestUpdate) update;
	__typeof__(&EVP_DigestFinal_ex) final;
	__typeof__(&EVP_Digest) oneshot;
	const EVP_MD *sha256;
	char failure[256]; /* empty when loaded */
} crypto;

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

static void *crypto_sym(void *lib, const char *name)
{
	void *p = dlsym(lib, name);
	if (!p && !crypto.failure[0])
		snprintf(crypto.failure, sizeof(crypto.failure), "%s has no symbol %s",
			 CRYPTO_SONAME, name);
	return p;
}

static void crypto_load(void)
{
	/* Never closed: the library stays for the life of the process. */
	void *lib = dlopen(CRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *why = dlerror();
		snprintf(crypto.failure, sizeof(crypto.failure), "%s", why ? why : CRYPTO_SONAME);
		return;
	}
	__typeof__(&EVP_sha256) sha256 = (__typeof__(&EVP_sha256))crypto_sym(lib, "EVP_sha256");
	crypto.ctx_new = (__typeof__(crypto.ctx_new))crypto_sym(lib, "EVP_MD_CTX_new");
	crypto.ctx_free = (__typeof__(crypto.ctx_free))crypto_sym(lib, "EVP_MD_CTX_free");
	crypto.init = (__typeof__(crypto.init))crypto_sym(lib, "EVP_DigestInit_ex");
	crypto.update = (__typeof__(crypto.update))crypto_sym(lib, "EVP_DigestUpdate");
	crypto.final = (__typeof__(crypto.final))crypto_sym(lib, "EVP_DigestFinal_ex");
	crypto.oneshot = (__typeof__(crypto.oneshot))crypto_sym(lib, "EVP_Digest");
	if (crypto.failure[0])
		return;
	if (!(crypto.sha256 = sha256()))
		snprintf(crypto.failure, sizeof(crypto.failure), "%s has no SHA-256",
			 CRYPTO_SONAME);
}

static int crypto_ready(sp_error *err)
{
	pthread_once(&crypto_once, crypto_load);
	if (crypto.failure[0])
		return sp_error_set(err, SP_ERROR,
				    "cannot load OpenSSL's libcrypto for SHA-256: %s "
				    "(install the package providing %s, libssl3 on Debian)",
				    crypto.failure, CRYPTO_SONAME);
	return 0;
}

struct sp_hasher {
	EVP_MD_CTX *ctx;
};

int sp_hasher_new(sp_hasher **out, sp_error *err)
{
	int rc = crypto_ready(err);
	if (rc)
		return rc;
	sp_hasher *h = calloc(1, sizeof(*h));
	if (!h)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	h->ctx = crypto.ctx_new();
	if (!h->ctx || crypto.init(h->ctx, crypto.sha256, NULL) != 1) {
		sp_hasher_free(h);
		return sp_error_set(err, SP_ERROR, "cannot start SHA-256");
	}
	*out = h;
	return 0;
}

int sp_hasher_update(sp_hasher *h, const void *data, size_t n, sp_error *err)
{
	if (crypto.update(h->ctx, data, n) != 1)
		return sp_error_set(err, SP_ERROR, "SHA-256 update failed");
	return 0;
}

int sp_hasher_final(sp_hasher *h, sp_digest *out, sp_error *err)
{
	unsigned int len = 0;
	if (crypto.final(h->ctx, out->bytes, &len) != 1 || len != SP_DIGEST_LEN ||
	    crypto.init(h->ctx, crypto.sha256, NULL) != 1)
		return sp_error_set(err, SP_ERROR, "SHA-256 final failed");
	return 0;
}

void sp_hasher_free(sp_hasher *h)
{
	if (!h)
		return;
	if (h->ctx)
		crypto.ctx_free(h->ctx);
	free(h);
}

void sp_hasher_freep(sp_hasher **h)
{
	sp_hasher_free(*h);
}

int sp_digest_buf(sp_digest *out, const void *data, size_t n, sp_error *err)
{
	int rc = crypto_ready(err);
	if (rc)
		return rc;
	unsigned int len = 0;
	if (crypto.oneshot(data, n, out->bytes, &len, crypto.sha256, NULL) != 1 ||
	    len != SP_DIGEST_LEN)
		return sp_error_set(err, SP_ERROR, "SHA-256 failed");
	return 0;
}

int sp_digest_fd(sp_digest *out, uint64_t *size_out, int fd, sp_error *err)
{
	_cleanup_(sp_hasher_freep) sp_hasher *h = NULL;
	int rc = sp_hasher_new(&h, err);
	if (rc)
		return rc;
	enum { CHUNK = 256 * 1024 };
	_cleanup_free_ char *buf = malloc(CHUNK);
	if (!buf)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return sp_error_errno(err, "read");
		}
		if (n == 0)
			break;
		if ((rc = sp_hasher_update(h, buf, (size_t)n, err)))
			return rc;
		total += (uint64_t)n;
	}
	if (size_out)
		*size_out = total;
	return sp_hasher_final(h, out, err);
}

static const char hexchars[] = "0123456789abcdef";

void sp_digest_to_hex(const sp_digest *d, char *hex)
{
	for (size_t i = 0; i < SP_DIGEST_LEN; i++) {
		hex[2 * i] = hexchars[d->bytes[i] >> 4];
		hex[2 * i + 1] = hexchars[d->bytes[i] & 0xf];
	}
	hex[SP_DIGEST_HEX_LEN] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool sp_digest_is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (hexval(s[i]) < 0)
			return false;
	return true;
}

int sp_digest_from_hex(sp_digest *out, const char *hex, sp_error *err)
{
	if (strlen(hex) != SP_DIGEST_HEX_LEN || !sp_digest_is_hex(hex, SP_DIGEST_HEX_LEN))
		return sp_error_set(err, SP_EINVALID,
				    "'%.80s' is not a digest (64 lowercase hex characters)", hex);
	for (size_t i = 0; i < SP_DIGEST_LEN; i++)
		out->bytes[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	return 0;
}

int sp_digest_cmp(const sp_digest *a, const sp_digest *b)
{
	return memcmp(a->bytes, b->bytes, SP_DIGEST_LEN);
}

bool sp_digest_is_zero(const sp_digest *d)
{
	for (size_t i = 0; i < SP_DIGEST_LEN; i++)
		if (d->bytes[i])
			return false;
	return true;
}
