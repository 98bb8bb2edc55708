/* test_tag.c - tag names and the tolerant tag-file parser (spfs/tag.c).
 * The store-level tag operations are in test_store.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>

#include "spfs/fixtures.h"

/* One record in the documented format: "<hex> <time> <check>\n". */
static void append_record(sp_buf *b, const sp_digest *d, int64_t t)
{
	char hex[SP_DIGEST_HEX_LEN + 1], line[128], dh[SP_DIGEST_HEX_LEN + 1];
	sp_digest_to_hex(d, hex);
	int n = snprintf(line, sizeof(line), "%s %" PRId64, hex, t);
	sp_digest c;
	sp_error err = {0};
	assert_int_equal(sp_digest_buf(&c, line, (size_t)n, &err), 0);
	sp_digest_to_hex(&c, dh);
	assert_int_equal(sp_buf_printf(b, &err, "%s %.8s\n", line, dh), 0);
}

/* A record whose time is spelled `spelled` but checked as `checked`. */
static void append_spelled(sp_buf *b, const char *hex, const char *spelled, const char *checked)
{
	char line[128], dh[SP_DIGEST_HEX_LEN + 1];
	snprintf(line, sizeof(line), "%s %s", hex, checked);
	sp_digest c;
	sp_error err = {0};
	sp_digest_buf(&c, line, strlen(line), &err);
	sp_digest_to_hex(&c, dh);
	assert_int_equal(sp_buf_printf(b, &err, "%s %s %.8s\n", hex, spelled, dh), 0);
}

static sp_digest digest_n(int n)
{
	sp_digest d;
	sp_error err = {0};
	char s[16];
	snprintf(s, sizeof(s), "object %d", n);
	sp_digest_buf(&d, s, strlen(s), &err);
	return d;
}

static void three_records(sp_buf *b, size_t ends[3])
{
	const int64_t times[3] = {1700000000, 0, -5};
	for (int i = 0; i < 3; i++) {
		sp_digest d = digest_n(i);
		append_record(b, &d, times[i]);
		ends[i] = b->len;
	}
}

static void test_name_valid(void **state)
{
	const char *good[] = {
	    "a",    "A",    "release", "team/app/1.0", "v1.2.3-rc.1+build,x=y@z", "a_b",
	    "a..b", "x/y.", "0"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!spfs_tag_name_valid(good[i]))
			fail_msg("'%s' should be valid", good[i]);
	const char *bad[] = {"",   ".",	   "..",  ".hidden", "a/.b", "a/..", "a/../b",	    "/a",
			     "a/", "a//b", "a b", "a~1",     "a:b",  "a\\b", "caf\xc3\xa9", "a\tb",
			     "a*", "a?",   "$x",  "a\nb"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (spfs_tag_name_valid(bad[i]))
			fail_msg("'%s' should be invalid", bad[i]);
	/* The one limit: total length, parts, bytes per part. */
	char longname[SPFS_MAX_TAG_NAME + 2];
	memset(longname, 'x', sizeof(longname));
	for (size_t i = 200; i < SPFS_MAX_TAG_NAME; i += 200)
		longname[i] = '/';
	longname[SPFS_MAX_TAG_NAME] = '\0';
	assert_true(spfs_tag_name_valid(longname));
	longname[SPFS_MAX_TAG_NAME] = 'x';
	longname[SPFS_MAX_TAG_NAME + 1] = '\0';
	assert_false(spfs_tag_name_valid(longname));
	char part[SPFS_MAX_TAG_PART + 2];
	memset(part, 'p', sizeof(part));
	part[SPFS_MAX_TAG_PART] = '\0';
	assert_true(spfs_tag_name_valid(part));
	part[SPFS_MAX_TAG_PART] = 'p';
	part[SPFS_MAX_TAG_PART + 1] = '\0';
	sp_error err = {0};
	assert_int_equal(spfs_tag_name_check(part, &err), SP_EINVALID);
	assert_non_null(strstr(err.msg, "a part of 252 bytes (at most 251)"));
	char deep[2 * SPFS_MAX_TAG_DEPTH + 2];
	size_t n = 0;
	for (unsigned i = 0; i < SPFS_MAX_TAG_DEPTH; i++) {
		deep[n++] = 'd';
		deep[n++] = '/';
	}
	deep[n - 1] = '\0';
	assert_true(spfs_tag_name_valid(deep)); /* 64 parts */
	deep[n - 1] = '/';
	deep[n++] = 'x';
	deep[n] = '\0';
	sp_error err2 = {0};
	assert_int_equal(spfs_tag_name_check(deep, &err2), SP_EINVALID);
	assert_non_null(strstr(err2.msg, "more than 64 parts deep"));
	assert_true(strncmp(err2.msg, "'d/d/d/", 7) == 0);
}

static void test_parse_three_records(void **state)
{
	sp_buf b = {0};
	size_t ends[3];
	three_records(&b, ends);
	spfs_tag_history h;
	sp_error err = {0};
	assert_int_equal(spfs_tag_parse(&h, b.data, b.len, &err), 0);
	assert_int_equal(h.count, 3);
	assert_int_equal(h.dropped, 0);
	const int64_t times[3] = {1700000000, 0, -5};
	for (int i = 0; i < 3; i++) {
		sp_digest d = digest_n(i);
		assert_memory_equal(h.records[i].target.bytes, d.bytes, SP_DIGEST_LEN);
		assert_int_equal(h.records[i].time, times[i]);
	}
	spfs_tag_history_free(&h);
	assert_null(h.records);
	assert_int_equal(h.count, 0);
	/* empty input: no records, nothing dropped */
	assert_int_equal(spfs_tag_parse(&h, "", 0, &err), 0);
	assert_int_equal(h.count + h.dropped, 0);
	spfs_tag_history_free(&h);
	sp_buf_free(&b);
}

static void test_parse_truncated_at_every_offset(void **state)
{
	sp_buf b = {0};
	size_t ends[3];
	three_records(&b, ends);
	for (size_t n = 0; n <= b.len; n++) {
		char *copy = malloc(n ? n : 1); /* exact size: ASan catches over-reads */
		memcpy(copy, b.data, n);
		spfs_tag_history h;
		sp_error err = {0};
		assert_int_equal(spfs_tag_parse(&h, copy, n, &err), 0);
		size_t complete = 0;
		while (complete < 3 && ends[complete] <= n)
			complete++;
		bool torn = n > 0 && (complete == 0 ? true : ends[complete - 1] != n);
		if (h.count != complete || h.dropped != (torn ? 1u : 0u))
			fail_msg("at %zu: %zu records, %zu dropped; want %zu, %d", n, h.count,
				 h.dropped, complete, torn);
		for (size_t i = 0; i < complete; i++) {
			sp_digest d = digest_n((int)i);
			assert_memory_equal(h.records[i].target.bytes, d.bytes, SP_DIGEST_LEN);
		}
		spfs_tag_history_free(&h);
		free(copy);
	}
	sp_buf_free(&b);
}

static void test_parse_flipped_byte_drops_record(void **state)
{
	sp_buf b = {0};
	size_t ends[3];
	three_records(&b, ends);
	/* every byte of the middle record except its newline, every bit */
	for (size_t off = ends[0]; off < ends[1] - 1; off++) {
		for (int bit = 0; bit < 8; bit++) {
			char *copy = malloc(b.len);
			memcpy(copy, b.data, b.len);
			copy[off] ^= (char)(1 << bit);
			if (copy[off] == '\n') { /* splits the line: two bad halves */
				free(copy);
				continue;
			}
			spfs_tag_history h;
			sp_error err = {0};
			assert_int_equal(spfs_tag_parse(&h, copy, b.len, &err), 0);
			if (h.count != 2 || h.dropped != 1)
				fail_msg("flip bit %d at %zu: %zu records, %zu dropped", bit, off,
					 h.count, h.dropped);
			sp_digest d0 = digest_n(0), d2 = digest_n(2);
			assert_memory_equal(h.records[0].target.bytes, d0.bytes, SP_DIGEST_LEN);
			assert_memory_equal(h.records[1].target.bytes, d2.bytes, SP_DIGEST_LEN);
			spfs_tag_history_free(&h);
			free(copy);
		}
	}
	/* the middle record's newline damaged: it and the next run together */
	char *copy = malloc(b.len);
	memcpy(copy, b.data, b.len);
	copy[ends[1] - 1] = ' ';
	spfs_tag_history h;
	sp_error err = {0};
	assert_int_equal(spfs_tag_parse(&h, copy, b.len, &err), 0);
	assert_int_equal(h.count, 1);
	assert_int_equal(h.dropped, 1);
	spfs_tag_history_free(&h);
	free(copy);
	sp_buf_free(&b);
}

static void test_parse_spellings(void **state)
{
	const char *hex = "bd9189068da5cf835bc48de086e478ec537bc3b19b139b1b6cbd305b8368b32a";
	const struct {
		const char *spelled, *checked;
		bool ok;
		int64_t t;
	} cases[] = {
	    {"0", "0", true, 0},
	    {"7", "7", true, 7},
	    {"-5", "-5", true, -5},
	    {"9223372036854775807", "9223372036854775807", true, INT64_MAX},
	    {"-9223372036854775807", "-9223372036854775807", true, -INT64_MAX},
	    /* one accepted spelling per time */
	    {"007", "7", false, 0},
	    {"00", "0", false, 0},
	    {"-0", "0", false, 0},
	    {"-0", "-0", false, 0},
	    {"-07", "-7", false, 0},
	    {"+7", "7", false, 0},
	    {"-", "-", false, 0},
	    {"", "", false, 0},
	    {"9223372036854775808", "9223372036854775808", false, 0},
	    {"-9223372036854775808", "-9223372036854775808", false, 0}, /* not written by us */
	    {"99999999999999999999", "99999999999999999999", false, 0},
	    {"1 2", "1 2", false, 0},
	    {"1x", "1x", false, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sp_buf b = {0};
		append_spelled(&b, hex, cases[i].spelled, cases[i].checked);
		spfs_tag_history h;
		sp_error err = {0};
		assert_int_equal(spfs_tag_parse(&h, b.data, b.len, &err), 0);
		if (h.count != (cases[i].ok ? 1u : 0u) || h.dropped != (cases[i].ok ? 0u : 1u))
			fail_msg("time '%s': %zu records, %zu dropped", cases[i].spelled, h.count,
				 h.dropped);
		if (cases[i].ok)
			assert_int_equal(h.records[0].time, cases[i].t);
		spfs_tag_history_free(&h);
		sp_buf_free(&b);
	}
}

static void test_parse_damage(void **state)
{
	sp_buf b = {0};
	sp_digest d = digest_n(1);
	append_record(&b, &d, 42);
	sp_error err = {0};
	spfs_tag_history h;
	/* uppercase hex target */
	char *up = strndup(b.data, b.len);
	for (int i = 0; i < SP_DIGEST_HEX_LEN; i++)
		if (up[i] >= 'a' && up[i] <= 'f')
			up[i] = (char)(up[i] - 'a' + 'A');
	assert_int_equal(spfs_tag_parse(&h, up, b.len, &err), 0);
	assert_int_equal(h.count, 0);
	assert_int_equal(h.dropped, 1);
	spfs_tag_history_free(&h);
	free(up);
	/* CRLF, blank lines, garbage, a NUL inside: each line dropped on its own */
	sp_buf m = {0};
	sp_buf_append(&m, b.data, b.len, &err);
	sp_buf_append(&m, "\n", 1, &err);
	sp_buf_append(&m, b.data, b.len - 1, &err);
	sp_buf_append(&m, "\r\n", 2, &err);
	sp_buf_append(&m, "garbage\n", 8, &err);
	sp_buf_append(&m, b.data, b.len, &err);
	m.data[m.len - 20] = '\0';
	sp_buf_append(&m, b.data, b.len, &err);
	assert_int_equal(spfs_tag_parse(&h, m.data, m.len, &err), 0);
	assert_int_equal(h.count, 2);
	assert_int_equal(h.dropped, 4);
	spfs_tag_history_free(&h);
	sp_buf_free(&m);
	sp_buf_free(&b);
}

static void test_parse_too_large(void **state)
{
	size_t n = ((size_t)64 << 20) + 1;
	char *big = calloc(1, n); /* untouched pages: cheap */
	assert_non_null(big);
	spfs_tag_history h;
	sp_error err = {0};
	assert_int_equal(spfs_tag_parse(&h, big, n, &err), SPFS_ECORRUPT);
	assert_non_null(strstr(err.msg, "tag file larger than"));
	assert_int_equal(h.count, 0);
	assert_null(h.records);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name_valid),
	    cmocka_unit_test(test_parse_three_records),
	    cmocka_unit_test(test_parse_truncated_at_every_offset),
	    cmocka_unit_test(test_parse_flipped_byte_drops_record),
	    cmocka_unit_test(test_parse_spellings),
	    cmocka_unit_test(test_parse_damage),
	    cmocka_unit_test(test_parse_too_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
