/* digest.c - SHA-256 through OpenSSL's EVP interface (uses SHA-NI). */
#include "common.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sp_hasher {
	EVP_MD_CTX *ctx;
};

int sp_hasher_new(sp_hasher **out, sp_error *err)
{
	sp_hasher *h = calloc(1, sizeof(*h));
	if (!h)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		sp_hasher_free(h);
		return sp_error_set(err, SP_ERROR, "cannot start SHA-256");
	}
	*out = h;
	return 0;
}

int sp_hasher_update(sp_hasher *h, const void *data, size_t n, sp_error *err)
{
	if (EVP_DigestUpdate(h->ctx, data, n) != 1)
		return sp_error_set(err, SP_ERROR, "SHA-256 update failed");
	return 0;
}

int sp_hasher_final(sp_hasher *h, sp_digest *out, sp_error *err)
{
	unsigned int len = 0;
	if (EVP_DigestFinal_ex(h->ctx, out->bytes, &len) != 1 || len != SP_DIGEST_LEN ||
	    EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		return sp_error_set(err, SP_ERROR, "SHA-256 final failed");
	return 0;
}

void sp_hasher_free(sp_hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void sp_hasher_freep(sp_hasher **h)
{
	sp_hasher_free(*h);
}

int sp_digest_buf(sp_digest *out, const void *data, size_t n, sp_error *err)
{
	unsigned int len = 0;
	if (EVP_Digest(data, n, out->bytes, &len, EVP_sha256(), NULL) != 1 || len != SP_DIGEST_LEN)
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
