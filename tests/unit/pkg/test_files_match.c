/* test_files_match.c - pkg/files_match.c: component `files` rules read as
 * gitignore lines (SPK's FileMatcher): anchoring, directory rules, `**`,
 * classes, `!` exclusions where the last matching rule wins, and a path's
 * parents deciding when no rule names it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "pkg/build_plan.h"

#define RULES(...)                                                                                 \
	((const char *const[]){__VA_ARGS__}),                                                      \
	    sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)

static void test_plain(void **st)
{
	(void)st;
	/* a rule with no '/' matches the last name at any depth */
	assert_true(pkg__files_match(RULES("*.so"), "lib/libx.so", false));
	assert_true(pkg__files_match(RULES("*.so"), "libx.so", false));
	assert_false(pkg__files_match(RULES("*.so"), "lib/libx.so.1", false));
	/* anchored: from /spfs only; `*` does not cross '/' */
	assert_true(pkg__files_match(RULES("/bin/*"), "bin/tool", false));
	assert_false(pkg__files_match(RULES("/bin/*"), "opt/bin/tool", false));
	assert_true(pkg__files_match(RULES("lib/*.a"), "lib/x.a", false));
	assert_false(pkg__files_match(RULES("lib/*.a"), "lib/sub/x.a", false));
	/* a directory takes what is below it; "dir/" names directories only */
	assert_true(pkg__files_match(RULES("/include/"), "include/a/b.h", false));
	assert_true(pkg__files_match(RULES("/include/"), "include", true));
	assert_false(pkg__files_match(RULES("/include/"), "include", false));
	assert_true(pkg__files_match(RULES("include"), "x/include/a.h", false));
	/* ** crosses directories; ? and classes match one character */
	assert_true(pkg__files_match(RULES("/share/**/*.txt"), "share/a/b/c.txt", false));
	assert_true(pkg__files_match(RULES("/share/**/*.txt"), "share/c.txt", false));
	assert_true(pkg__files_match(RULES("**/doc"), "a/b/doc/x", false));
	assert_true(pkg__files_match(RULES("/etc/**"), "etc/a/b", false));
	assert_true(pkg__files_match(RULES("lib?.so"), "lib1.so", false));
	assert_false(pkg__files_match(RULES("/a?b"), "a/b", false));
	assert_true(pkg__files_match(RULES("lib[0-9].so"), "lib7.so", false));
	assert_false(pkg__files_match(RULES("lib[!0-9].so"), "lib7.so", false));
	assert_true(pkg__files_match(RULES("lib[!0-9].so"), "libx.so", false));
	assert_true(pkg__files_match(RULES("x["), "x[", false)); /* unterminated: literal */
	assert_true(pkg__files_match(RULES("a*b*c"), "axxbyyc", false));
	assert_false(pkg__files_match(RULES("a*b*c"), "axxbyy", false));
	assert_true(pkg__files_match(RULES("*.tar.gz"), "x/y.tar.gz", false));
	assert_true(pkg__files_match(RULES("/a/**/b"), "a/b", false));
	/* a rule ending in a second double star: everything below, and
	 * nothing past the rule's end is read (fuzz_files_match: the answer
	 * changed from one call to the next with what lay beyond it) */
	assert_true(pkg__files_match(RULES("**/**"), "a/b/c", false));
	assert_true(pkg__files_match(RULES("/a/**/**"), "a/b/c", false));
	assert_false(pkg__files_match(RULES("/a/**/**"), "b/c", false));
	assert_true(pkg__files_match(RULES("/a/**/b"), "a/x/y/b", false));
	assert_false(pkg__files_match(RULES("/a/**/b"), "a/x/y/c", false));
	assert_true(pkg__files_match(RULES("/a/**/**/b"), "a/x/b", false));
	assert_false(pkg__files_match(RULES("/a*/b"), "ax/y/b", false)); /* * stops at '/' */
	assert_true(pkg__files_match(RULES("/x**y"), "xabcy", false));	 /* not a whole name: a * */
	/* hostile patterns end quickly */
	assert_false(pkg__files_match(
	    RULES("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b"),
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    false));
	assert_false(pkg__files_match(RULES("/**/a/**/a/**/a/**/a/**/a/**/a/**/a/**/b"),
				      "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/c",
				      false));
	/* a leading /spfs-relative slash in the path is ignored */
	assert_true(pkg__files_match(RULES("/bin/"), "/bin/tool", false));
	/* no rules, comments and empty rules match nothing */
	assert_false(pkg__files_match(NULL, 0, "bin/tool", false));
	assert_false(pkg__files_match(RULES("#bin", "", "/"), "bin", true));
	/* a rule of 64 stars in a row stays quick and sane */
	assert_false(pkg__files_match(
	    RULES("****************************************************************a"),
	    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", false));
}

static void test_negation(void **st)
{
	(void)st;
	/* SPI's recipes: everything under lib but pkgconfig */
	assert_true(pkg__files_match(RULES("/lib/", "!/lib/pkgconfig"), "lib/libz.so", false));
	assert_false(
	    pkg__files_match(RULES("/lib/", "!/lib/pkgconfig"), "lib/pkgconfig/z.pc", false));
	assert_false(pkg__files_match(RULES("/lib/", "!/lib/pkgconfig"), "lib/pkgconfig", true));
	assert_true(pkg__files_match(RULES("/lib/", "!/lib/pkgconfig"), "lib", true));
	/* the last matching rule wins: order matters */
	assert_true(pkg__files_match(RULES("!/lib/pkgconfig", "/lib/"), "lib/pkgconfig/z.pc",
				     false) == false);
	assert_true(pkg__files_match(RULES("*.a", "!lib/*.a", "lib/keep.a"), "lib/keep.a", false));
	assert_false(pkg__files_match(RULES("*.a", "!lib/*.a", "lib/keep.a"), "lib/drop.a", false));
	assert_true(pkg__files_match(RULES("*.a", "!lib/*.a", "lib/keep.a"), "other/x.a", false));
	/* a rule naming the path itself beats its parent's verdict */
	assert_true(pkg__files_match(RULES("!/lib/", "*.so"), "lib/x.so", false));
	assert_false(pkg__files_match(RULES("!/lib/", "*.so"), "lib/x.a", false));
	/* "\!" is a literal '!' */
	assert_true(pkg__files_match(RULES("\\!bang"), "!bang", false));
	/* only negations: nothing */
	assert_false(pkg__files_match(RULES("!*"), "a", false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain),
	    cmocka_unit_test(test_negation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
