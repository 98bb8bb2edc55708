/* test_help.c - the usage tables and their printing (cli/help.c,
 * cli/spfs_help.c, cli/spk_help.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cli/help.h"

static const cli_prog *const progs[] = {&spfs_help, &spk_help};

/* Every line of s is at most `max` columns; s ends with '\n' when `nl`. */
static void assert_lines_fit(const char *what, const char *s, size_t max)
{
	while (*s) {
		size_t n = strcspn(s, "\n");
		if (n > max)
			fail_msg("%s: line of %zu columns: %.*s", what, n, (int)n, s);
		s += n + (s[n] == '\n');
	}
}

static void assert_one_line(const char *what, const char *s)
{
	if (!s || !*s || strchr(s, '\n'))
		fail_msg("%s: not one line: '%s'", what, s ? s : "(null)");
}

/* The tables hold what --help, the man page and the completions need: unique
 * names, a group for every "group sub", one-line summaries, texts that end
 * with a newline and fit 78 columns, option flags that start with '-'. */
static void test_tables_are_complete(void **state)
{
	for (size_t k = 0; k < 2; k++) {
		const cli_prog *p = progs[k];
		assert_true(p->ncmds >= 12);
		assert_one_line(p->name, p->summary);
		assert_lines_fit(p->name, p->text, 78);
		for (size_t i = 0; i < p->ncmds; i++) {
			const cli_cmd *c = &p->cmds[i];
			assert_non_null(c->synopsis);
			assert_one_line(c->name, c->summary);
			/* the command list has it after 19 columns */
			if (strlen(c->summary) > 60)
				fail_msg("%s: summary longer than 60 columns", c->name);
			assert_true(c->text[0] && c->text[strlen(c->text) - 1] == '\n');
			assert_lines_fit(c->name, c->text, 78);
			if (c->exit)
				assert_lines_fit(c->name, c->exit, 78);
			for (const cli_opt *o = c->opts; o && o->flags; o++) {
				assert_int_equal(o->flags[0], '-');
				assert_one_line(o->flags, o->help);
			}
			for (size_t j = 0; j < i; j++)
				if (!strcmp(p->cmds[j].name, c->name))
					fail_msg("%s %s is listed twice", p->name, c->name);
			const char *sp = strchr(c->name, ' ');
			if (sp) {
				char group[64];
				snprintf(group, sizeof(group), "%.*s", (int)(sp - c->name),
					 c->name);
				const cli_cmd *g = cli_help_find(p, group);
				if (!g)
					fail_msg("%s %s has no group %s", p->name, c->name, group);
				assert_true(cli_help_is_group(p, g));
				assert_null(strchr(sp + 1, ' '));
			}
		}
	}
}

static void test_lookup(void **state)
{
	int words = -1;
	char *a1[] = {"runtime", "ls", "--json"};
	const cli_cmd *c = cli_help_lookup(&spfs_help, 3, a1, &words);
	assert_non_null(c);
	assert_string_equal(c->name, "runtime ls");
	assert_int_equal(words, 2);
	/* an operand that is no subcommand: the command itself */
	char *a2[] = {"commit", "somedir", "-t", "x"};
	c = cli_help_lookup(&spfs_help, 4, a2, &words);
	assert_string_equal(c->name, "commit");
	assert_int_equal(words, 1);
	char *a3[] = {"no-such"};
	assert_null(cli_help_lookup(&spfs_help, 1, a3, &words));
	assert_int_equal(words, 0);
	/* one word holding two is no command */
	char *a4[] = {"runtime ls"};
	assert_null(cli_help_lookup(&spfs_help, 1, a4, &words));
	assert_null(cli_help_lookup(&spfs_help, 0, a4, &words));
	assert_null(cli_help_find(&spk_help, "runtime"));
	assert_non_null(cli_help_find(&spk_help, "make-source"));
}

static void test_asked(void **state)
{
	const cli_cmd *ls = cli_help_find(&spfs_help, "ls");
	const cli_cmd *run = cli_help_find(&spfs_help, "run");
	char *a1[] = {"ls", "REF", "-l", "--help"};
	assert_true(cli_help_asked(ls, 4, a1, 1));
	char *a2[] = {"ls", "REF", "-h"};
	assert_true(cli_help_asked(ls, 3, a2, 1));
	char *a3[] = {"ls", "REF", "--", "--help"};
	assert_false(cli_help_asked(ls, 4, a3, 1));
	char *a4[] = {"ls", "--helpx", "-hh"};
	assert_false(cli_help_asked(ls, 3, a4, 1));
	/* spfs run REF CMD --help: the --help is CMD's */
	char *a5[] = {"run", "REF", "CMD", "--help"};
	assert_false(cli_help_asked(run, 4, a5, 1));
	char *a6[] = {"run", "--edit", "--help", "REF"};
	assert_true(cli_help_asked(run, 4, a6, 1));
}

static char *print_to_string(void (*fn)(FILE *, const cli_prog *, const cli_cmd *),
			     const cli_prog *p, const cli_cmd *c)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	assert_non_null(f);
	fn(f, p, c);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_print(void **state)
{
	const cli_cmd *rt = cli_help_find(&spfs_help, "runtime");
	char *s = print_to_string(cli_help_print, &spfs_help, rt);
	/* a group lists its subcommands */
	assert_non_null(strstr(s, "usage: spfs runtime ls|info|rm|prune"));
	assert_non_null(strstr(s, "\nCommands:\n  runtime ls "));
	assert_non_null(strstr(s, "\nExit status:\n  0 success"));
	free(s);
	/* two forms: two usage lines, the second aligned under the first */
	const cli_cmd *run = cli_help_find(&spfs_help, "run");
	s = print_to_string(cli_help_print_synopsis, &spfs_help, run);
	assert_non_null(strstr(s, "usage: spfs run [--edit]"));
	assert_non_null(strstr(s, "\n       spfs run --rerun NAME"));
	free(s);
	/* long option help is wrapped at 79 columns; every line fits */
	const cli_cmd *solve = cli_help_find(&spk_help, "solve");
	s = print_to_string(cli_help_print, &spk_help, solve);
	assert_non_null(strstr(s, "\n  -r, --repo DIR         a directory"));
	assert_lines_fit("spk solve --help", s, 79);
	free(s);
	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < progs[k]->ncmds; i++) {
			s = print_to_string(cli_help_print, progs[k], &progs[k]->cmds[i]);
			/* synopsis lines may be long; the rest fits */
			const char *body = strstr(s, "\n\n");
			assert_non_null(body);
			assert_lines_fit(progs[k]->cmds[i].name, body, 79);
			free(s);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tables_are_complete),
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_asked),
	    cmocka_unit_test(test_print),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
