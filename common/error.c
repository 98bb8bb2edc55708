/* error.c - the sp_error message chain. */
#include "common.h"

#include <errno.h>
#include <string.h>

int sp_error_set(sp_error *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->code = code;
	err->sys_errno = 0;
	return code;
}

static int code_for_errno(int e)
{
	switch (e) {
	case ENOENT: return SP_ENOTFOUND;
	case EEXIST: return SP_EEXISTS;
	case ENOMEM: return SP_ENOMEM;
	default: return SP_EIO;
	}
}

int sp_error_errno(sp_error *err, const char *fmt, ...)
{
	int e = errno;
	int code = code_for_errno(e);
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(e));
	err->code = code;
	err->sys_errno = e;
	errno = e;
	return code;
}

int sp_error_prefix(sp_error *err, const char *fmt, ...)
{
	if (!err)
		return SP_ERROR;
	char prefix[SP_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (n < 0)
		return err->code ? err->code : SP_ERROR;
	/* Truncation keeps the start of the chain, which says what was being
	 * done; the fixed buffer never allocates. */
	char joined[SP_ERROR_MSG_MAX];
	size_t plen = strnlen(prefix, sizeof(joined) - 1);
	memcpy(joined, prefix, plen);
	size_t pos = plen;
	if (pos + 2 < sizeof(joined)) {
		joined[pos++] = ':';
		joined[pos++] = ' ';
	}
	size_t mlen = strnlen(err->msg, sizeof(err->msg));
	if (mlen > sizeof(joined) - 1 - pos)
		mlen = sizeof(joined) - 1 - pos;
	memcpy(joined + pos, err->msg, mlen);
	joined[pos + mlen] = '\0';
	memcpy(err->msg, joined, sizeof(err->msg));
	if (!err->code)
		err->code = SP_ERROR;
	return err->code;
}

void sp_error_clear(sp_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->sys_errno = 0;
	err->msg[0] = '\0';
}
