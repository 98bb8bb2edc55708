/* error.c - the sp_error message chain, its detail, and printing messages
 * with the control characters of user input quoted. */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void drop_detail(sp_error *err)
{
	free(err->detail);
	err->detail = NULL;
}

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
	drop_detail(err);
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
	drop_detail(err);
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

int sp_error_set_detail(sp_error *err, const char *text)
{
	if (!err)
		return SP_ERROR;
	drop_detail(err);
	if (!err->code)
		err->code = SP_ERROR;
	if (!(err->detail = strdup(text))) {
		size_t n = strnlen(err->msg, sizeof(err->msg));
		snprintf(err->msg + n, sizeof(err->msg) - n, " (details lost: out of memory)");
	}
	return err->code;
}

int sp_error_move(sp_error *dst, sp_error *src)
{
	if (!dst) {
		sp_error_clear(src);
		return SP_ERROR;
	}
	if (dst == src)
		return dst->code ? dst->code : SP_ERROR;
	drop_detail(dst);
	dst->code = src->code ? src->code : SP_ERROR;
	dst->sys_errno = src->sys_errno;
	memcpy(dst->msg, src->msg, sizeof(dst->msg));
	dst->detail = steal_pointer(&src->detail);
	sp_error_clear(src);
	return dst->code;
}

void sp_error_clear(sp_error *err)
{
	if (!err)
		return;
	err->code = 0;
	err->sys_errno = 0;
	err->msg[0] = '\0';
	drop_detail(err);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid
 * (here, not json.c's: spfs-enter links this file with libc only). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	if (!len || len > n || s[0] > 0xf4)
		return 0;
	uint32_t cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* The quoting itself; `newlines` keeps newline and tab as they are. */
static void put_quoted(FILE *f, const char *text, bool newlines)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text);
	for (size_t i = 0; i < n;) {
		size_t run = i; /* a run of bytes that need no quoting */
		for (;;) {
			unsigned char c = s[run];
			if (run < n && c >= 0x20 && c < 0x7f) {
				run++;
				continue;
			}
			size_t u = run < n && c >= 0x80 ? utf8_len(s + run, n - run) : 0;
			/* U+0080..U+009F (C1 controls) are 0xc2 0x80..0x9f */
			if (u && !(u == 2 && c == 0xc2 && s[run + 1] < 0xa0)) {
				run += u;
				continue;
			}
			break;
		}
		fwrite(s + i, 1, run - i, f);
		i = run;
		if (i >= n)
			break;
		unsigned char c = s[i];
		if (newlines && (c == '\n' || c == '\t')) {
			fputc(c, f);
			i++;
			continue;
		}
		size_t u = c == 0xc2 ? utf8_len(s + i, n - i) : 0; /* a C1 control: both bytes */
		for (size_t k = 0; k < (u ? u : 1); k++)
			fprintf(f, "\\x%02x", s[i + k]);
		i += u ? u : 1;
	}
}

void sp_fputs_quoted(FILE *f, const char *s)
{
	put_quoted(f, s, true);
}

void sp_error_print(FILE *f, const char *who, const sp_error *err)
{
	if (who && *who) {
		put_quoted(f, who, false);
		fputs(": ", f);
	}
	/* the chain is one line: a newline in it came from user input */
	put_quoted(f, err->msg[0] ? err->msg : "unknown error", false);
	fputc('\n', f);
	if (err->detail && err->detail[0]) {
		put_quoted(f, err->detail, true);
		if (err->detail[strlen(err->detail) - 1] != '\n')
			fputc('\n', f);
	}
}

void sp_vfprintf_quoted(FILE *f, const char *fmt, va_list ap)
{
	/* the whole text, however long; cut only when memory runs out */
	char small[2048];
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	char *text = small;
	_cleanup_free_ char *big = NULL;
	if (n >= 0 && (size_t)n >= sizeof(small) && (big = malloc((size_t)n + 1))) {
		vsnprintf(big, (size_t)n + 1, fmt, again);
		text = big;
	}
	va_end(again);
	if (n >= 0)
		put_quoted(f, text, true);
}

void sp_eprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sp_vfprintf_quoted(stderr, fmt, ap);
	va_end(ap);
}
