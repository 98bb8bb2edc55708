/* test_misc.c - durations, byte formatting, the clock (common/misc.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"

static void test_parse_duration_good(void **state)
{
	const struct {
		const char *s;
		uint64_t want;
	} cases[] = {
	    {"0", 0},
	    {"0s", 0},
	    {"42", 42},
	    {"90s", 90},
	    {"15m", 900},
	    {"2h", 7200},
	    {"7d", 604800},
	    {"1w", 604800},
	    {"007s", 7},
	    {"18446744073709551615", UINT64_MAX},
	    {"307445734561825860m", 307445734561825860ull * 60},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sp_error err = {0};
		uint64_t v = 12345;
		if (sp_parse_duration(&v, cases[i].s, &err))
			fail_msg("'%s': %s", cases[i].s, err.msg);
		assert_int_equal(v, cases[i].want);
	}
}

static void test_parse_duration_bad(void **state)
{
	const struct {
		const char *s;
		const char *why;
	} cases[] = {
	    {"", "not a duration"},
	    {"s", "not a duration"},
	    {"-1", "not a duration"},
	    {"+1", "not a duration"},
	    {" 1", "not a duration"},
	    {"1 s", "not a duration"},
	    {"1ss", "not a duration"},
	    {"1.5h", "not a duration"},
	    {"1x", "unknown unit 'x'"},
	    {"1S", "unknown unit 'S'"},
	    {"99999999999999999999", "too large"},
	    {"18446744073709551615s1", "not a duration"},
	    {"307445734561825861m", "too large"},
	    {"30500568904943664w", "too large"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sp_error err = {0};
		uint64_t v = 12345;
		assert_int_equal(sp_parse_duration(&v, cases[i].s, &err), SP_EINVALID);
		if (!strstr(err.msg, cases[i].why))
			fail_msg("'%s': message '%s' lacks '%s'", cases[i].s, err.msg,
				 cases[i].why);
		assert_int_equal(v, 12345); /* untouched on failure */
	}
}

static void test_format_bytes(void **state)
{
	const struct {
		uint64_t n;
		const char *want;
	} cases[] = {
	    {0, "0 B"},
	    {1, "1 B"},
	    {1023, "1023 B"},
	    {1024, "1.0 KiB"},
	    {1536, "1.5 KiB"},
	    {1048576, "1.0 MiB"},
	    {(uint64_t)3 << 30, "3.0 GiB"},
	    {(uint64_t)5 << 40, "5.0 TiB"},
	    {(uint64_t)2048 << 40, "2048.0 TiB"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];
		sp_format_bytes(buf, sizeof(buf), cases[i].n);
		assert_string_equal(buf, cases[i].want);
	}
	char small[4];
	sp_format_bytes(small, sizeof(small), 123456); /* truncated, terminated */
	assert_int_equal(strlen(small), 3);
}

static void test_now_ms_monotonic(void **state)
{
	uint64_t prev = sp_now_ms();
	for (int i = 0; i < 1000; i++) {
		uint64_t now = sp_now_ms();
		assert_true(now >= prev);
		prev = now;
	}
}

static void test_progress_counts_without_terminal(void **state)
{
	sp_progress p;
	sp_progress_start(&p, "items", 10);
	assert_string_equal(p.label, "items");
	assert_int_equal(p.total, 10);
	/* ctest runs without a terminal: nothing is drawn */
	sp_progress_add(&p, 3, 100);
	sp_progress_add(&p, 2, 50);
	assert_int_equal(p.done, 5);
	assert_int_equal(p.bytes, 150);
	sp_progress_done(&p);
	assert_false(p.drawn);
}

/* Draws on a pseudo-terminal as stderr and returns what reached it. */
static char *progress_on_pty(const char *no_color)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(slave >= 0);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(slave, STDERR_FILENO) >= 0);
	close(slave);
	unsetenv("SPAWN_NO_PROGRESS");
	if (no_color)
		setenv("NO_COLOR", no_color, 1);
	else
		unsetenv("NO_COLOR");
	sp_progress p;
	sp_progress_start(&p, "items", 10);
	assert_true(p.enabled);
	p.last_draw_ms = 0; /* draw now, not after the first 300 ms */
	sp_progress_add(&p, 3, 100);
	p.last_draw_ms = 0;
	sp_progress_add(&p, 2, 50);
	sp_progress_done(&p);
	fflush(stderr);
	/* the last descriptor of the slave goes: the master reads to the end */
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	unsetenv("NO_COLOR");
	char *out = calloc(1, 4096);
	assert_non_null(out);
	size_t got = 0;
	ssize_t n;
	while (got < 4095 && (n = read(master, out + got, 4095 - got)) > 0)
		got += (size_t)n;
	close(master);
	return out;
}

static void test_progress_no_color(void **state)
{
	char *out = progress_on_pty("1");
	assert_non_null(strstr(out, "items: 3/10 (100 B)"));
	assert_non_null(strstr(out, "items: 5/10 (150 B)"));
	assert_null(strchr(out, '\033'));
	free(out);
	/* with NO_COLOR unset (or empty), the line is cleared with ESC [K */
	out = progress_on_pty("");
	assert_non_null(strstr(out, "items: 5/10 (150 B)"));
	assert_non_null(strstr(out, "\033[K"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_duration_good),
	    cmocka_unit_test(test_parse_duration_bad),
	    cmocka_unit_test(test_format_bytes),
	    cmocka_unit_test(test_now_ms_monotonic),
	    cmocka_unit_test(test_progress_counts_without_terminal),
	    cmocka_unit_test(test_progress_no_color),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
