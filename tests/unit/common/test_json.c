/* test_json.c - the JSON writer and UTF-8 validation (common/json.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

typedef struct capture {
	FILE *f;
	char *buf;
	size_t len;
} capture;

static void cap_open(capture *c, sp_json *j, bool pretty)
{
	memset(c, 0, sizeof(*c));
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
	sp_json_init(j, c->f, pretty);
}

/* Closes the stream and compares with `want`. */
static void cap_check(capture *c, const char *want)
{
	fclose(c->f);
	assert_string_equal(c->buf, want);
	free(c->buf);
}

/* One JSON string value from n bytes. */
static void check_string(const char *in, size_t n, const char *want)
{
	capture c;
	sp_json j;
	cap_open(&c, &j, false);
	sp_json_string_n(&j, in, n);
	cap_check(&c, want);
}

static void test_document_compact(void **state)
{
	capture c;
	sp_json j;
	cap_open(&c, &j, false);
	sp_json_begin_object(&j);
	sp_json_key(&j, "a");
	sp_json_int(&j, -1);
	sp_json_key(&j, "b");
	sp_json_begin_array(&j);
	sp_json_bool(&j, true);
	sp_json_bool(&j, false);
	sp_json_null(&j);
	sp_json_begin_object(&j);
	sp_json_end_object(&j);
	sp_json_begin_array(&j);
	sp_json_end_array(&j);
	sp_json_end_array(&j);
	sp_json_key(&j, "c");
	sp_json_string(&j, "x");
	sp_json_key(&j, "d");
	sp_json_string(&j, NULL);
	sp_json_end_object(&j);
	sp_json_finish(&j);
	cap_check(&c, "{\"a\":-1,\"b\":[true,false,null,{},[]],\"c\":\"x\",\"d\":null}\n");
}

static void test_document_pretty(void **state)
{
	capture c;
	sp_json j;
	cap_open(&c, &j, true);
	sp_json_begin_object(&j);
	sp_json_key(&j, "k");
	sp_json_begin_array(&j);
	sp_json_uint(&j, 1);
	sp_json_uint(&j, 2);
	sp_json_end_array(&j);
	sp_json_key(&j, "e");
	sp_json_begin_array(&j);
	sp_json_end_array(&j);
	sp_json_end_object(&j);
	sp_json_finish(&j);
	cap_check(&c, "{\n  \"k\": [\n    1,\n    2\n  ],\n  \"e\": []\n}\n");
}

static void test_integers(void **state)
{
	capture c;
	sp_json j;
	cap_open(&c, &j, false);
	sp_json_begin_array(&j);
	sp_json_int(&j, INT64_MIN);
	sp_json_int(&j, INT64_MAX);
	sp_json_uint(&j, UINT64_MAX);
	sp_json_uint(&j, 0);
	sp_json_end_array(&j);
	cap_check(&c, "[-9223372036854775808,9223372036854775807,18446744073709551615,0]");
}

static void test_escaping(void **state)
{
	check_string("plain", 5, "\"plain\"");
	check_string("", 0, "\"\"");
	check_string("q\"b\\s/", 6, "\"q\\\"b\\\\s/\"");
	check_string("\n\t\r", 3, "\"\\n\\t\\r\"");
	check_string("\x01\x08\x0c\x1f", 4, "\"\\u0001\\u0008\\u000c\\u001f\"");
	check_string("a\0b", 3, "\"a\\u0000b\"");
	check_string("\x7f", 1, "\"\x7f\""); /* DEL needs no escape */
	/* valid UTF-8 passes through: 2, 3 and 4 byte sequences */
	check_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
		     "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	/* the largest code point */
	check_string("\xf4\x8f\xbf\xbf", 4, "\"\xf4\x8f\xbf\xbf\"");
}

static void test_invalid_utf8_replaced(void **state)
{
	check_string("\xff", 1, "\"\\ufffd\"");
	check_string("a\x80z", 3, "\"a\\ufffdz\"");		      /* lone continuation */
	check_string("\xc3", 1, "\"\\ufffd\"");			      /* truncated at the end */
	check_string("\xc3(", 2, "\"\\ufffd(\"");		      /* bad continuation */
	check_string("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");	      /* overlong '/' */
	check_string("\xe0\x80\xaf", 3, "\"\\ufffd\\ufffd\\ufffd\""); /* overlong 3-byte */
	check_string("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
	check_string("\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* > U+10FFFF */
	check_string("\xf8\x88\x80\x80\x80", 5,
		     "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\""); /* 5-byte form */
	/* a valid character right after an invalid byte survives */
	check_string("\xff\xc3\xa9", 3, "\"\\ufffd\xc3\xa9\"");
	/* keys are escaped the same way */
	capture c;
	sp_json j;
	cap_open(&c, &j, false);
	sp_json_begin_object(&j);
	sp_json_key(&j, "k\"\xff\n");
	sp_json_int(&j, 1);
	sp_json_end_object(&j);
	cap_check(&c, "{\"k\\\"\\ufffd\\n\":1}");
}

static void test_utf8_valid(void **state)
{
	const struct {
		const char *s;
		size_t n;
		bool ok;
	} cases[] = {
	    {"", 0, true},
	    {"ascii", 5, true},
	    {"a\0b", 3, true},
	    {"\xc3\xa9", 2, true},
	    {"\xe2\x82\xac", 3, true},
	    {"\xf0\x9f\x98\x80", 4, true},
	    {"\xef\xbf\xbd", 3, true},
	    {"\xf4\x8f\xbf\xbf", 4, true},
	    {"\x80", 1, false},
	    {"\xc3", 1, false},
	    {"\xc3\xa9", 1, false}, /* n cuts the sequence */
	    {"\xc0\x80", 2, false},
	    {"\xc1\xbf", 2, false},
	    {"\xe0\x9f\xbf", 3, false},
	    {"\xed\xa0\x80", 3, false},
	    {"\xed\xbf\xbf", 3, false},
	    {"\xf0\x8f\xbf\xbf", 4, false},
	    {"\xf4\x90\x80\x80", 4, false},
	    {"\xf8\x88\x80\x80\x80", 5, false},
	    {"\xfe", 1, false},
	    {"\xff", 1, false},
	    {"ok\xe2\x82", 4, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (sp_utf8_valid(cases[i].s, cases[i].n) != cases[i].ok)
			fail_msg("case %zu: expected %s", i, cases[i].ok ? "valid" : "invalid");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_document_compact),
	    cmocka_unit_test(test_document_pretty),
	    cmocka_unit_test(test_integers),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_invalid_utf8_replaced),
	    cmocka_unit_test(test_utf8_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
