/* mem.c - checked allocation, cleanup helpers and the capped buffer. */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sp_freep(void *p)
{
	free(*(void **)p);
}

void sp_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

void sp_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

int sp_malloc(void **out, size_t n, sp_error *err)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		return sp_error_set(err, SP_ENOMEM, "out of memory (%zu bytes)", n);
	*out = p;
	return 0;
}

int sp_calloc(void **out, size_t count, size_t size, sp_error *err)
{
	size_t total;
	if (__builtin_mul_overflow(count, size, &total))
		return sp_error_set(err, SP_ENOMEM, "allocation size overflows");
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		return sp_error_set(err, SP_ENOMEM, "out of memory (%zu bytes)", total);
	*out = p;
	return 0;
}

int sp_realloc_array(void **ptr, size_t count, size_t size, sp_error *err)
{
	size_t total;
	if (__builtin_mul_overflow(count, size, &total))
		return sp_error_set(err, SP_ENOMEM, "allocation size overflows");
	void *p = realloc(*ptr, total ? total : 1);
	if (!p)
		return sp_error_set(err, SP_ENOMEM, "out of memory (%zu bytes)", total);
	*ptr = p;
	return 0;
}

char *sp_strdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int buf_reserve(sp_buf *b, size_t extra, sp_error *err)
{
	size_t need;
	size_t max = b->max ? b->max : SP_BUF_DEFAULT_MAX;
	if (__builtin_add_overflow(b->len, extra, &need) ||
	    __builtin_add_overflow(need, 1, &need) || need > max)
		return sp_error_set(err, SP_EINVALID, "buffer would exceed its limit of %zu bytes",
				    max);
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > max / 2 ? max : cap * 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return sp_error_set(err, SP_ENOMEM, "out of memory (%zu bytes)", cap);
	b->data = p;
	b->cap = cap;
	return 0;
}

int sp_buf_append(sp_buf *b, const void *data, size_t n, sp_error *err)
{
	int rc = buf_reserve(b, n, err);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int sp_buf_printf(sp_buf *b, sp_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return sp_error_set(err, SP_ERROR, "cannot format text");
	int rc = buf_reserve(b, (size_t)n, err);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void sp_buf_free(sp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
