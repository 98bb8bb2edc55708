/* help.h - the usage texts of spfs and spk as data. --help prints them
 * (help.c); cli/gendoc.c writes the man pages and the bash and zsh
 * completions from the same tables, so none of them can drift from --help.
 * The tables are in cli/spfs_help.c and cli/spk_help.c. */
#ifndef SPAWN_CLI_HELP_H
#define SPAWN_CLI_HELP_H

#include <stdbool.h>
#include <stdio.h>

/* One option: "-t, --tag TAG" (its names, then its argument's name in
 * capitals when it takes one) and one line of help. */
typedef struct cli_opt {
	const char *flags;
	const char *help;
} cli_opt;

/* One (sub)command. Texts are pre-wrapped at 78 columns: '\n' ends a
 * line, an empty line a paragraph, and a line indented by two spaces is
 * kept as is (no filling) in the man page. */
typedef struct cli_cmd {
	const char *name;     /* "ls", or "runtime ls" for a group's subcommand */
	const char *synopsis; /* one line per form: what follows "PROG NAME " */
	const char *summary;  /* one line for the command list */
	const char *text;     /* what it does */
	const cli_opt *opts;  /* ends with {0}; NULL: none */
	const char *exit;     /* exit status; NULL: the program's */
	/* After its first operand come another command's arguments (spfs
	 * run REF CMD ARGS...): a --help there is the command's, not ours. */
	bool cmd_operands;
} cli_cmd;

typedef struct cli_prog {
	const char *name;     /* "spfs" */
	const char *synopsis; /* what follows "PROG " */
	const char *summary;  /* one line: the man page's NAME */
	const char *text;     /* what it does, and where it looks for things */
	const cli_opt *opts;  /* options before COMMAND; ends with {0} */
	const cli_cmd *cmds;
	size_t ncmds;
	const char *exit;     /* exit status of the commands without their own */
	const char *see_also; /* "spk(1)", for the man page */
} cli_prog;

extern const cli_prog spfs_help;
extern const cli_prog spk_help;

/* The entry of "runtime ls" (one or two words). NULL when there is none. */
const cli_cmd *cli_help_find(const cli_prog *p, const char *name);

/* The entry of the command line argv (argv[0] is the command; when it is
 * a group and argv[1] one of its subcommands, that one); *words is set to
 * how many of argv name it (1 or 2). NULL when argv[0] is no command. */
const cli_cmd *cli_help_lookup(const cli_prog *p, int argc, char *const *argv, int *words);

/* True when argv[words...] asks for help: a --help or -h before "--"
 * (before the first operand for cmd_operands commands). */
bool cli_help_asked(const cli_cmd *c, int argc, char *const *argv, int words);

/* The program's help: synopsis, what it does, its options, every command
 * (subcommands as "group sub") with its summary, exit status. */
void cli_help_print_prog(FILE *f, const cli_prog *p);

/* A command's help: synopsis, what it does, options, exit status. */
void cli_help_print(FILE *f, const cli_prog *p, const cli_cmd *c);

/* "usage: PROG NAME ..." lines only (for usage errors, on stderr). */
void cli_help_print_synopsis(FILE *f, const cli_prog *p, const cli_cmd *c);

/* The subcommands of the group c ("runtime"): entries "c->name SUB". */
bool cli_help_is_group(const cli_prog *p, const cli_cmd *c);

#endif
