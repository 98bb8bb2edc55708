/* spfs_cli.h - output helpers shared by the files of the spfs command. */
#ifndef SPAWN_CLI_SPFS_CLI_H
#define SPAWN_CLI_SPFS_CLI_H

#include "cli/help.h"
#include "spfs/spfs.h"

/* The command being run (set by main), for usage errors. */
extern const cli_cmd *spfs_cli_current;

/* After a usage error's message: the current command's synopsis and
 * where to read more, on stderr. */
void spfs_cli_usage_hint(void);

/* Where spfs_cli_print_diff writes: JSON objects into `j`, else lines
 * "OP PATH" on stdout; `changes` counts the entries. */
typedef struct spfs_cli_diff_out {
	sp_json *j;
	size_t changes;
} spfs_cli_diff_out;

/* An spfs_diff_cb; ud is a spfs_cli_diff_out. */
void spfs_cli_print_diff(spfs_diff_op op, const spfs_entry *a, const spfs_entry *b, void *ud);

/* The runtime subcommands (cli/spfs_runtime.c); `store` is --store or NULL. */
int spfs_cli_run(int argc, char **argv, const char *store);
int spfs_cli_shell(int argc, char **argv, const char *store);
int spfs_cli_edit(int argc, char **argv, const char *store);
int spfs_cli_commit_runtime(int argc, char **argv, const char *store);
int spfs_cli_reset(int argc, char **argv, const char *store);
int spfs_cli_diff_runtime(int argc, char **argv, const char *store);
int spfs_cli_runtime(int argc, char **argv, const char *store);

#endif
