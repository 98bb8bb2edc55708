/* test_enter_args.c - the argument parser of the setcap helper spfs-enter
 * (spfs/enter_args.c). The helper itself (mounts, privilege drop) is tested
 * end to end as an unprivileged user: tests/e2e/test_spfs_enter.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "spfs/enter.h"
#include "spfs/runtime_internal.h"

#define H1 "36b3269b699c42f5f3d90f03dd5136c8e947298f646020fa36465e95e262d05d"
#define H2 "c83c77ac6eae2e9ea83a112bfba6e1a85b21eca4d83df26f4027e444780efbb7"
#define ID "0123456789abcdef"

static int parse(spfs_enter_args *a, sp_error *err, char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	return spfs_enter__parse(a, argc, argv, err);
}

#define ARGV(...) ((char *[]){"spfs-enter", __VA_ARGS__, NULL})

static void test_full(void **state)
{
	(void)state;
	spfs_enter_args a;
	sp_error err = {0};
	char **argv =
	    ARGV("--status-fd", "3", "--env-fd", "4", "--store", "/s", "--id", ID, "--edit", "10%",
		 "--render", H1, "--masks", H2, "--render", H2, "--", "sh", "-c", "echo --render");
	assert_int_equal(parse(&a, &err, argv), 0);
	assert_int_equal(a.status_fd, 3);
	assert_int_equal(a.env_fd, 4);
	assert_string_equal(a.store, "/s");
	assert_string_equal(a.id, ID);
	assert_string_equal(a.tmpfs_size, "10%");
	assert_null(a.durable);
	assert_int_equal(a.lower_count, 3);
	assert_int_equal(a.lowers[0].kind, 'r');
	assert_string_equal(a.lowers[0].hex, H1);
	assert_int_equal(a.lowers[1].kind, 'w');
	assert_string_equal(a.lowers[1].hex, H2);
	assert_int_equal(a.lowers[2].kind, 'r');
	assert_ptr_equal(a.argv, argv + 18);
	assert_string_equal(a.argv[0], "sh");
	assert_string_equal(a.argv[2], "echo --render"); /* after "--": the command's */
	spfs_enter__args_free(&a);

	assert_int_equal(parse(&a, &err,
			       ARGV("--store", "/s", "--id", ID, "--durable", "dev-1.x", "--empty",
				    "--", "true")),
			 0);
	assert_string_equal(a.durable, "dev-1.x");
	assert_int_equal(a.lower_count, 1);
	assert_int_equal(a.lowers[0].kind, 'e');
	assert_int_equal(a.status_fd, -1);
	assert_int_equal(a.env_fd, -1);
	spfs_enter__args_free(&a);
}

static void refused(char **argv, const char *msg)
{
	spfs_enter_args a;
	sp_error err = {0};
	assert_int_equal(parse(&a, &err, argv), SP_EINVALID);
	if (!strstr(err.msg, msg))
		fail_msg("'%s' does not contain '%s'", err.msg, msg);
	assert_null(a.lowers);
	assert_int_equal(a.lower_count, 0);
}

static void test_refused(void **state)
{
	(void)state;
	/* paths and near-digests in place of digests */
	refused(ARGV("--store", "/s", "--id", ID, "--render", "../../etc", "--", "true"),
		"not a digest");
	refused(ARGV("--store", "/s", "--id", ID, "--render", "/etc", "--", "true"),
		"not a digest");
	refused(ARGV("--store", "/s", "--id", ID, "--masks", H1 "0", "--", "true"), "not a digest");
	refused(ARGV("--store", "/s", "--id", ID, "--render",
		     "36B3269B699C42F5F3D90F03DD5136C8E947298F646020FA36465E95E262D05D", "--",
		     "true"),
		"not a digest");
	refused(ARGV("--store", "/s", "--id", "../../etc/passw", "--render", H1, "--", "true"),
		"not a runtime id");
	refused(ARGV("--store", "/s", "--id", ID "0", "--render", H1, "--", "true"),
		"not a runtime id");
	/* no paths or mount options of any kind */
	refused(ARGV("--store", "/s", "--id", ID, "--lowerdir", "/etc", "--", "true"),
		"unknown argument");
	refused(ARGV("--store", "/s", "--id", ID, "--render=" H1, "--", "true"),
		"unknown argument");
	refused(ARGV("--store", "s", "--id", ID, "--render", H1, "--", "true"), "absolute");
	refused(
	    ARGV("--store", "/s", "--id", ID, "--durable", "../x", "--render", H1, "--", "true"),
	    "durable runtime name");
	refused(ARGV("--store", "/s", "--id", ID, "--durable", ".x", "--render", H1, "--", "true"),
		"durable runtime name");
	refused(
	    ARGV("--store", "/s", "--id", ID, "--edit", "10,uid=0", "--render", H1, "--", "true"),
	    "not a size");
	refused(ARGV("--store", "/s", "--id", ID, "--edit", "1g", "--durable", "d", "--render", H1,
		     "--", "true"),
		"durable runtime name");
	/* once each, all required, the command after "--" */
	refused(ARGV("--store", "/s", "--store", "/t", "--id", ID, "--render", H1, "--", "true"),
		"once");
	refused(ARGV("--status-fd", "2", "--store", "/s", "--id", ID, "--render", H1, "--", "true"),
		"3..1023");
	refused(
	    ARGV("--status-fd", "+5", "--store", "/s", "--id", ID, "--render", H1, "--", "true"),
	    "3..1023");
	refused(
	    ARGV("--env-fd", "1023x", "--store", "/s", "--id", ID, "--render", H1, "--", "true"),
	    "3..1023");
	refused(ARGV("--env-fd", "1024", "--store", "/s", "--id", ID, "--render", H1, "--", "true"),
		"3..1023");
	refused(ARGV("--env-fd", "4", "--env-fd", "5", "--store", "/s", "--id", ID, "--render", H1,
		     "--", "true"),
		"once");
	refused(ARGV("--status-fd", "4", "--env-fd", "4", "--store", "/s", "--id", ID, "--render",
		     H1, "--", "true"),
		"not the other");
	refused(ARGV("--env-fd", "3", "--status-fd", "3", "--store", "/s", "--id", ID, "--render",
		     H1, "--", "true"),
		"not the other");
	refused(ARGV("--id", ID, "--render", H1, "--", "true"), "required");
	refused(ARGV("--store", "/s", "--id", ID, "--", "true"), "no lower");
	refused(ARGV("--store", "/s", "--id", ID, "--empty", "--render", H1, "--", "true"),
		"no lower");
	refused(ARGV("--store", "/s", "--id", ID, "--render", H1, "true"), "must follow '--'");
	refused(ARGV("--store", "/s", "--id", ID, "--render", H1), "must follow '--'");
	refused(ARGV("--store", "/s", "--id", ID, "--render", H1, "--"), "no command");
	refused(ARGV("--store", "/s", "--id", ID, "--render", H1, "--", ""), "no command");
	refused(ARGV("--store", "/s", "--id", ID, "--render"), "needs a value");
}

static void test_too_many(void **state)
{
	(void)state;
	enum { N = SPFS_ENTER_MAX_LOWERS + 1 };
	static char *argv[2 * N + 10];
	int k = 0;
	argv[k++] = "spfs-enter";
	argv[k++] = "--store";
	argv[k++] = "/s";
	argv[k++] = "--id";
	argv[k++] = ID;
	for (int i = 0; i < N; i++) {
		argv[k++] = "--render";
		argv[k++] = H1;
	}
	argv[k++] = "--";
	argv[k++] = "true";
	argv[k] = NULL;
	spfs_enter_args a;
	sp_error err = {0};
	assert_int_equal(spfs_enter__parse(&a, k, argv, &err), SP_EINVALID);
	assert_non_null(strstr(err.msg, "more than 500"));
	/* exactly the limit is fine */
	argv[k - 4] = "--";
	argv[k - 3] = "true";
	argv[k - 2] = NULL;
	assert_int_equal(spfs_enter__parse(&a, k - 2, argv, &err), 0);
	assert_int_equal(a.lower_count, SPFS_ENTER_MAX_LOWERS);
	spfs_enter__args_free(&a);
}

static void test_rules_match_spfs(void **state)
{
	(void)state;
	/* the helper's own copies of the name and size rules agree with spfs's */
	static const char *const names[] = {
	    "a",
	    "dev-1",
	    "A.b_c",
	    ".x",
	    "-x",
	    "a/b",
	    "",
	    "x y",
	    "0123456789012345678901234567890123456789012345678901234567890123",
	    "01234567890123456789012345678901234567890123456789012345678901234"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(spfs_enter__name_ok(names[i]), spfs_runtime__name_valid(names[i]));
	assert_true(spfs_enter__size_ok("10%"));
	assert_true(spfs_enter__size_ok("512m"));
	assert_true(spfs_enter__size_ok("4096"));
	assert_false(spfs_enter__size_ok(""));
	assert_false(spfs_enter__size_ok("m"));
	assert_false(spfs_enter__size_ok("1mm"));
	assert_false(spfs_enter__size_ok("1t"));
	assert_false(spfs_enter__size_ok("1234567890123"));
	assert_int_equal(SPFS_ENTER_MAX_LOWERS, SPFS_RUNTIME_MAX_LOWERS);
	assert_int_equal(SPFS_ENTER_SETUP_EXIT, SPFS_RUN_ESETUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_too_many),
	    cmocka_unit_test(test_rules_match_spfs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
