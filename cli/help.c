/* help.c - printing the usage tables of help.h. */
#include "cli/help.h"

#include <string.h>

const cli_cmd *cli_help_find(const cli_prog *p, const char *name)
{
	for (size_t i = 0; i < p->ncmds; i++)
		if (strcmp(p->cmds[i].name, name) == 0)
			return &p->cmds[i];
	return NULL;
}

const cli_cmd *cli_help_lookup(const cli_prog *p, int argc, char *const *argv, int *words)
{
	*words = 0;
	if (argc < 1 || strchr(argv[0], ' '))
		return NULL;
	const cli_cmd *c = cli_help_find(p, argv[0]);
	if (!c)
		return NULL;
	*words = 1;
	if (argc > 1 && argv[1][0] != '-' && !strchr(argv[1], ' ')) {
		char two[128];
		int n = snprintf(two, sizeof(two), "%s %s", argv[0], argv[1]);
		const cli_cmd *sub =
		    n > 0 && (size_t)n < sizeof(two) ? cli_help_find(p, two) : NULL;
		if (sub) {
			*words = 2;
			return sub;
		}
	}
	return c;
}

bool cli_help_asked(const cli_cmd *c, int argc, char *const *argv, int words)
{
	for (int i = words; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
		if (c->cmd_operands && argv[i][0] != '-')
			return false;
	}
	return false;
}

bool cli_help_is_group(const cli_prog *p, const cli_cmd *c)
{
	size_t n = strlen(c->name);
	for (size_t i = 0; i < p->ncmds; i++)
		if (strncmp(p->cmds[i].name, c->name, n) == 0 && p->cmds[i].name[n] == ' ')
			return true;
	return false;
}

/* Each line of text, prefixed by `indent`. */
static void put_indented(FILE *f, const char *indent, const char *text)
{
	while (*text) {
		size_t n = strcspn(text, "\n");
		fprintf(f, "%s%.*s\n", n ? indent : "", (int)n, text);
		text += n + (text[n] == '\n');
	}
}

static void put_synopsis(FILE *f, const char *prog, const char *name, const char *syn)
{
	const char *lead = "usage: ";
	do {
		size_t n = strcspn(syn, "\n");
		fprintf(f, "%s%s%s%s%s%.*s\n", lead, prog, name ? " " : "", name ? name : "",
			n ? " " : "", (int)n, syn);
		syn += n + (syn[n] == '\n');
		lead = "       ";
	} while (*syn);
}

/* `text` filled into lines of at most 79 columns from column `col`, the
 * first line already started there. */
static void put_filled(FILE *f, const char *text, int col)
{
	int at = col;
	while (*text) {
		int n = (int)strcspn(text, " ");
		if (at > col && at + 1 + n > 79) {
			fprintf(f, "\n%*s", col, "");
			at = col;
		}
		if (at > col)
			fputc(' ', f), at++;
		fprintf(f, "%.*s", n, text);
		at += n;
		text += n;
		text += strspn(text, " ");
	}
	fputc('\n', f);
}

static void put_opts(FILE *f, const cli_opt *o)
{
	if (!o || !o->flags)
		return;
	fputs("\nOptions:\n", f);
	for (; o->flags; o++) {
		if (strlen(o->flags) < 22)
			fprintf(f, "  %-22s ", o->flags);
		else
			fprintf(f, "  %s\n  %-22s ", o->flags, "");
		put_filled(f, o->help, 25);
	}
}

/* The entries starting with `prefix` ("" for all), name and summary. */
static void put_cmds(FILE *f, const cli_prog *p, const char *prefix)
{
	size_t n = strlen(prefix);
	for (size_t i = 0; i < p->ncmds; i++) {
		const cli_cmd *c = &p->cmds[i];
		if (strncmp(c->name, prefix, n) != 0)
			continue;
		if (strlen(c->name) < 16)
			fprintf(f, "  %-16s %s\n", c->name, c->summary);
		else
			fprintf(f, "  %s\n  %-16s %s\n", c->name, "", c->summary);
	}
}

void cli_help_print_synopsis(FILE *f, const cli_prog *p, const cli_cmd *c)
{
	if (c)
		put_synopsis(f, p->name, c->name, c->synopsis);
	else
		put_synopsis(f, p->name, NULL, p->synopsis);
}

void cli_help_print(FILE *f, const cli_prog *p, const cli_cmd *c)
{
	put_synopsis(f, p->name, c->name, c->synopsis);
	fputs("\n", f);
	fputs(c->text, f);
	put_opts(f, c->opts);
	if (cli_help_is_group(p, c)) {
		char prefix[64];
		snprintf(prefix, sizeof(prefix), "%s ", c->name);
		fputs("\nCommands:\n", f);
		put_cmds(f, p, prefix);
	}
	fputs("\nExit status:\n", f);
	put_indented(f, "  ", c->exit ? c->exit : p->exit);
}

void cli_help_print_prog(FILE *f, const cli_prog *p)
{
	put_synopsis(f, p->name, NULL, p->synopsis);
	fprintf(f, "\n%s\n", p->summary);
	if (p->text[0])
		fprintf(f, "\n%s", p->text);
	put_opts(f, p->opts);
	fputs("\nCommands:\n", f);
	put_cmds(f, p, "");
	fprintf(f, "\nRun '%s COMMAND --help' for a command's usage and options.\n", p->name);
	fputs("\nExit status:\n", f);
	put_indented(f, "  ", p->exit);
}
