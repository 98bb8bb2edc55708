/* json.c - a small streaming JSON writer. */
#include "common.h"

#include <inttypes.h>
#include <string.h>

void sp_json_init(sp_json *j, FILE *out, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->pretty = pretty;
}

static void indent(sp_json *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->out);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

static bool *comma_slot(sp_json *j)
{
	return &j->need_comma[j->depth < SP_JSON_MAX_DEPTH ? j->depth : SP_JSON_MAX_DEPTH - 1];
}

/* Called before every value or key. */
static void before_item(sp_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0) {
		if (*comma_slot(j))
			fputc(',', j->out);
		*comma_slot(j) = true;
		indent(j);
	}
}

static void open_container(sp_json *j, char c)
{
	before_item(j);
	fputc(c, j->out);
	/* Past the tracked depth commas are tracked at the last level; the
	 * depth itself still counts so opens and closes stay paired. */
	j->depth++;
	j->need_comma[j->depth < SP_JSON_MAX_DEPTH ? j->depth : SP_JSON_MAX_DEPTH - 1] = false;
}

static void close_container(sp_json *j, char c)
{
	bool had_items = *comma_slot(j);
	if (j->depth > 0)
		j->depth--;
	if (had_items)
		indent(j);
	fputc(c, j->out);
}

void sp_json_begin_object(sp_json *j)
{
	open_container(j, '{');
}
void sp_json_end_object(sp_json *j)
{
	close_container(j, '}');
}
void sp_json_begin_array(sp_json *j)
{
	open_container(j, '[');
}
void sp_json_end_array(sp_json *j)
{
	close_container(j, ']');
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		len = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool sp_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t l = utf8_seq(p + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

void sp_json_string_n(sp_json *j, const char *s, size_t n)
{
	before_item(j);
	fputc('"', j->out);
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			fputc('\\', j->out);
			fputc(c, j->out);
			i++;
		} else if (c < 0x20) {
			switch (c) {
			case '\n': fputs("\\n", j->out); break;
			case '\t': fputs("\\t", j->out); break;
			case '\r': fputs("\\r", j->out); break;
			default: fprintf(j->out, "\\u%04x", c);
			}
			i++;
		} else {
			size_t l = utf8_seq(p + i, n - i);
			if (!l) {
				fputs("\\ufffd", j->out);
				i++;
			} else {
				fwrite(p + i, 1, l, j->out);
				i += l;
			}
		}
	}
	fputc('"', j->out);
}

void sp_json_string(sp_json *j, const char *s)
{
	if (!s) {
		sp_json_null(j);
		return;
	}
	sp_json_string_n(j, s, strlen(s));
}

void sp_json_key(sp_json *j, const char *key)
{
	sp_json_string(j, key);
	fputc(':', j->out);
	if (j->pretty)
		fputc(' ', j->out);
	j->after_key = true;
}

void sp_json_int(sp_json *j, int64_t v)
{
	before_item(j);
	fprintf(j->out, "%" PRId64, v);
}

void sp_json_uint(sp_json *j, uint64_t v)
{
	before_item(j);
	fprintf(j->out, "%" PRIu64, v);
}

void sp_json_bool(sp_json *j, bool v)
{
	before_item(j);
	fputs(v ? "true" : "false", j->out);
}

void sp_json_null(sp_json *j)
{
	before_item(j);
	fputs("null", j->out);
}

void sp_json_finish(sp_json *j)
{
	fputc('\n', j->out);
	fflush(j->out);
}
