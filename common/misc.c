/* misc.c - time, durations, byte formatting, progress display. */
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t sp_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int sp_parse_duration(uint64_t *out_seconds, const char *s, sp_error *err)
{
	if (!*s || !isdigit((unsigned char)*s))
		return sp_error_set(err, SP_EINVALID,
				    "'%s' is not a duration (expected e.g. 90s, 15m, 2h, 7d)", s);
	errno = 0;
	char *end = NULL;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return sp_error_set(err, SP_EINVALID, "duration '%s' is too large", s);
	uint64_t mult = 1;
	if (*end) {
		if (end[1])
			return sp_error_set(
			    err, SP_EINVALID,
			    "'%s' is not a duration (expected e.g. 90s, 15m, 2h, 7d)", s);
		switch (*end) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case 'w': mult = 7 * 86400; break;
		default:
			return sp_error_set(err, SP_EINVALID,
					    "'%s': unknown unit '%c' (use s, m, h, d or w)", s,
					    *end);
		}
	}
	uint64_t out;
	if (__builtin_mul_overflow((uint64_t)v, mult, &out))
		return sp_error_set(err, SP_EINVALID, "duration '%s' is too large", s);
	*out_seconds = out;
	return 0;
}

void sp_format_bytes(char *buf, size_t n, uint64_t bytes)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	int u = 0;
	while (v >= 1024.0 && u < 4) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, n, "%.1f %s", v, units[u]);
}

void sp_progress_start(sp_progress *p, const char *label, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->label = label;
	p->total = total;
	p->enabled = isatty(STDERR_FILENO) && sp_log_get_level() >= SP_LOG_WARN &&
		     !getenv("SPAWN_NO_PROGRESS");
	/* NO_COLOR (no-color.org), when set and not empty: no escape
	 * sequences at all; a line is then cleared with spaces */
	const char *nc = getenv("NO_COLOR");
	p->plain = nc && *nc;
	/* Short work draws nothing: the first line appears after 300 ms. */
	p->last_draw_ms = sp_now_ms() + 200;
}

static void progress_draw(sp_progress *p)
{
	char b[32], line[160];
	sp_format_bytes(b, sizeof(b), p->bytes);
	int n = p->total ? snprintf(line, sizeof(line), "%s: %llu/%llu (%s)", p->label,
				    (unsigned long long)p->done, (unsigned long long)p->total, b)
			 : snprintf(line, sizeof(line), "%s: %llu (%s)", p->label,
				    (unsigned long long)p->done, b);
	if (n < 0)
		return;
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	if (p->plain)
		fprintf(stderr, "\r%s%*s", line, p->width > n ? p->width - n : 0, "");
	else
		fprintf(stderr, "\r\033[K%s", line);
	p->width = n;
	p->drawn = true;
}

void sp_progress_add(sp_progress *p, uint64_t items, uint64_t bytes)
{
	p->done += items;
	p->bytes += bytes;
	if (!p->enabled)
		return;
	uint64_t now = sp_now_ms();
	if (now < p->last_draw_ms + 100)
		return;
	p->last_draw_ms = now;
	progress_draw(p);
}

void sp_progress_done(sp_progress *p)
{
	if (p->enabled && p->drawn && p->plain)
		fprintf(stderr, "\r%*s\r", p->width, "");
	else if (p->enabled && p->drawn)
		fputs("\r\033[K", stderr);
	p->drawn = false;
}
