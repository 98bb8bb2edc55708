/* spfs_help.c - the usage of spfs and of each of its commands (help.h):
 * what `spfs --help` and `spfs COMMAND --help` print and what the man page
 * spfs(1) and the shell completions are generated from. */
#include "cli/help.h"

#include "spfs/spfs.h"

/* clang-format off */
#define JSON_OPT {"--json", "print JSON on stdout"}
#define END_OPT {0, 0}
/* clang-format on */

#define IN_RUNTIME                                                                                 \
	"Works inside a runtime (where $SPFS_RUNTIME is set): in a shell of\n"                     \
	"'spfs shell' or a command of 'spfs run'.\n"

static const cli_opt global_opts[] = {
    {"--store PATH", "the store (also --root PATH)"},
    {"-v, --verbose", "say more on stderr (repeatable)"},
    {"-q, --quiet", "say less on stderr"},
    {"-h, --help", "print this help (after a command: its help)"},
    {"--version", "print the version"},
    END_OPT,
};

static const cli_opt run_opts[] = {
    {"-e, --edit", "writable /spfs: changes go to a tmpfs upper directory"},
    {"--durable NAME", "writable, the changes kept under the store for --rerun NAME"},
    {"--rerun NAME", "run again over durable runtime NAME's stack and changes"},
    {"--no-startup", "do not source /spfs/etc/spfs/startup.d/*.sh"},
    END_OPT,
};

static const cli_opt shell_opts[] = {
    {"-e, --edit", "writable /spfs: changes go to a tmpfs upper directory"},
    {"--durable NAME", "writable, the changes kept under the store for --rerun NAME"},
    {"--rerun NAME", "a shell in durable runtime NAME again"},
    {"--no-startup", "do not source /spfs/etc/spfs/startup.d/*.sh"},
    END_OPT,
};

static const cli_opt commit_opts[] = {
    {"-t, --tag TAG", "also point TAG at the new layer"},
    JSON_OPT,
    END_OPT,
};

static const cli_opt json_opts[] = {JSON_OPT, END_OPT};

#define COMMIT_RUNTIME_TEXT(what)                                                                  \
	"Commits the changes of the current runtime (its writable upper directory)\n"              \
	"as " what "; prints its digest. Deleted files become masks that\n"                        \
	"hide the lower layers' files.\n" IN_RUNTIME

#define RUN_EXIT                                                                                   \
	"the command's; 128+N when it died of signal N; 125 when the runtime could\n"              \
	"not be set up; 126 when CMD cannot be executed, 127 when it is not found;\n"              \
	"2 usage error."

static const cli_cmd cmds[] = {
    {.name = "init",
     .synopsis = "[PATH]",
     .summary = "create a store (default: the configured one)",
     .text = "Creates the store layout at PATH (default: --store, else the configured\n"
	     "store) and prints its path. Running it again is harmless.\n"},
    {.name = "commit",
     .synopsis = "DIR [-t TAG] [--json]\nlayer|platform [-t TAG] [--json]",
     .summary = "commit DIR as a layer; in a runtime, its changes",
     .text = "Commits the directory DIR as a layer and prints the layer's digest.\n"
	     "Regular files keep their exec bit, symlinks their target (dangling ones\n"
	     "too), empty directories are kept; owners and times are normalised;\n"
	     "devices, sockets and FIFOs are refused with their path. Content already\n"
	     "in the store is not written again.\n"
	     "\n"
	     "Inside a runtime, 'spfs commit layer' and 'spfs commit platform' commit\n"
	     "its changes (see their own --help).\n",
     .opts = commit_opts},
    {.name = "commit layer",
     .synopsis = "[-t TAG] [--json]",
     .summary = "(in a runtime) commit the changes as a layer",
     .text = COMMIT_RUNTIME_TEXT("one layer"),
     .opts = commit_opts},
    {.name = "commit platform",
     .synopsis = "[-t TAG] [--json]",
     .summary = "(in a runtime) commit the layers and changes as a platform",
     .text = COMMIT_RUNTIME_TEXT("a platform: the runtime's layers with the changes\n"
				 "on top as one more layer"),
     .opts = commit_opts},
    {.name = "render",
     .synopsis = "REF [DIR] [--copy] [--full-verify|--no-verify]",
     .summary = "materialise a tree as hardlinks to the store",
     .text = "Materialises the tree of a manifest, layer or platform into DIR (which\n"
	     "must not exist or be empty) as hardlinks to the store's payloads, or\n"
	     "copies across file systems. Payloads written to since they were stored\n"
	     "are re-hashed; a bad one stops the render, which is then removed.\n"
	     "Without DIR, renders each layer once under the store (reused and kept\n"
	     "while a tag reaches it) and prints their paths, bottom first.\n",
     .opts = (const cli_opt[]){{"--copy", "copy the files instead of hardlinking them"},
			       {"--full-verify", "re-hash every payload"},
			       {"--no-verify", "do not check the payloads"},
			       END_OPT}},
    {.name = "ls",
     .synopsis = "REF [PATH] [-l] [-R] [--json]",
     .summary = "list a tree",
     .text = "Lists the entries of REF's tree below PATH (default: the root).\n",
     .opts = (const cli_opt[]){{"-l", "long: kind, mode, size and digest"},
			       {"-R", "recurse into directories"},
			       JSON_OPT,
			       END_OPT}},
    {.name = "info",
     .synopsis = "[REF] [--json]",
     .summary = "describe an object, a blob, or the store",
     .text = "Describes an object: its kind, a layer's manifest and annotations, a\n"
	     "platform's layers, the tree's counts; for a blob, its size. Without REF,\n"
	     "summarises the store.\n",
     .opts = json_opts},
    {.name = "cat",
     .synopsis = "REF [PATH]",
     .summary = "print a file of a tree (or a blob)",
     .text = "Writes the file PATH of REF's tree (or the blob REF) to stdout, verifying\n"
	     "its digest; for a symlink, prints its target.\n"},
    {.name = "diff",
     .synopsis = "REF REF [--json]\n[--json]",
     .summary = "compare two trees; in a runtime, show its changes",
     .text = "Compares two trees: '+' added, '-' removed, '~' changed. Without REF,\n"
	     "inside a runtime, shows the runtime's changes to its layers.\n",
     .opts = json_opts},
    {.name = "tag",
     .synopsis = "REF NAME",
     .summary = "point a tag at an object (keeps history)",
     .text = "Points the tag NAME at REF, appending to its history (nothing happens\n"
	     "when it already points there).\n"},
    {.name = "untag",
     .synopsis = "NAME [--latest]",
     .summary = "remove a tag (or only its newest version)",
     .text = "Removes the tag NAME with its history, or with --latest only its\n"
	     "newest version.\n",
     .opts = (const cli_opt[]){{"--latest", "remove only the newest version"}, END_OPT}},
    {.name = "tags",
     .synopsis = "[PREFIX] [--json]",
     .summary = "list tags",
     .text = "Lists the tags (below PREFIX) and their current targets.\n",
     .opts = json_opts},
    {.name = "log",
     .synopsis = "TAG [--json]",
     .summary = "show a tag's history (TAG~N is N back)",
     .text = "Shows the history of TAG, newest first, as TAG~N, target and time.\n",
     .opts = json_opts},
    {.name = "merge",
     .synopsis = "REF... -t TAG",
     .summary = "make a platform: layers stacked bottom first",
     .text = "Writes a platform of the given layers (platforms are expanded into\n"
	     "their layers), bottom first, tags it TAG and prints its digest.\n",
     .opts = (const cli_opt[]){{"-t, --tag TAG", "the platform's tag (required)"}, END_OPT}},
    {.name = "check",
     .synopsis = "[--json]",
     .summary = "verify every object, payload and tag",
     .text = "Re-hashes every object and payload, decodes every object and tag file,\n"
	     "and verifies that every version of every tag resolves to a complete,\n"
	     "intact closure. Each problem is printed as KIND NAME: DETAIL.\n",
     .opts = json_opts,
     .exit = "0 the store is intact, 1 damage found (or the check failed),\n"
	     "2 usage error."},
    {.name = "clean",
     .synopsis = "[--dry-run] [--older-than DURATION] [--json]",
     .summary = "remove what no tag reaches (grace: 15m)",
     .text = "Removes objects, payloads and renders that no version of any tag\n"
	     "reaches, leftovers of dead transactions, and runtime caches no live\n"
	     "runtime uses. Nothing younger than the grace period is removed. Clean\n"
	     "never waits for running commits: when the store is busy it says so.\n",
     .opts = (const cli_opt[]){{"-n, --dry-run", "only print what would be removed"},
			       {"--older-than DURATION", "the grace period (default 15m; units "
							 "s, m, h, d, w)"},
			       JSON_OPT,
			       END_OPT},
     .exit = "0 success, 1 failure, 2 usage error, 75 store busy (clean skipped)."},
    {.name = "run",
     .synopsis = "[--edit] [--durable NAME] [--no-startup] REF[+REF...] [REF...] -- CMD [ARGS...]\n"
		 "--rerun NAME [--no-startup] -- CMD [ARGS...]",
     .summary = "run a command with /spfs showing a stack of layers",
     .text = "Runs CMD with /spfs showing the stack of REFs (platforms, layers or\n"
	     "manifests; later ones on top) in a private mount namespace; the rest of\n"
	     "the host is as it is. For a user who is not root it goes through the\n"
	     "spfs-enter helper or a user namespace (spfs.runtime.mode: auto, helper,\n"
	     "rootless). The tmpfs of --edit has the size spfs.runtime.tmpfs_size of\n"
	     "the config (default " SPFS_RUNTIME_DEFAULT_TMPFS ").\n"
	     "\n"
	     "Inside, $SPFS_RUNTIME names the runtime; 'spfs edit', 'spfs commit\n"
	     "layer|platform', 'spfs reset' and 'spfs diff' work on it.\n",
     .opts = run_opts,
     .exit = RUN_EXIT,
     .cmd_operands = true},
    {.name = "shell",
     .synopsis = "[--edit] [--durable NAME | --rerun NAME] [--no-startup] REF[+REF...]",
     .summary = "the user's shell in a runtime",
     .text = "Starts $SHELL (else /bin/sh) with /spfs showing the stack of REFs, as\n"
	     "'spfs run' does for a command.\n",
     .opts = shell_opts,
     .exit = RUN_EXIT},
    {.name = "edit",
     .synopsis = "",
     .summary = "(in a runtime) make /spfs writable",
     .text = "Makes the current runtime's /spfs writable: later changes go to a tmpfs\n"
	     "upper directory. Shells that were inside /spfs must cd into it again.\n" IN_RUNTIME},
    {.name = "reset",
     .synopsis = "[PATH...]",
     .summary = "(in a runtime) discard changes",
     .text = "Discards the current runtime's changes below each PATH (relative to\n"
	     "/spfs), or all of them.\n" IN_RUNTIME},
    {.name = "runtime",
     .synopsis = "ls|info|rm|prune [ARGS...]",
     .summary = "list, inspect and remove runtime records",
     .text = "Each runtime leaves a record under the store while it lives; a durable\n"
	     "runtime keeps its changes there until removed.\n"},
    {.name = "runtime ls",
     .synopsis = "[--json]",
     .summary = "list runtimes and durable runtimes",
     .text = "Lists the runtimes: id, state (live, dead, stopped), pid, start time,\n"
	     "editable or not, layer count and durable name.\n",
     .opts = json_opts},
    {.name = "runtime info",
     .synopsis = "ID|NAME [--json]",
     .summary = "describe a runtime",
     .text = "Describes the runtime ID (or the durable runtime NAME): state, pid,\n"
	     "layers, the lowers it stacks and its upper directory.\n",
     .opts = json_opts},
    {.name = "runtime rm",
     .synopsis = "ID|NAME...",
     .summary = "remove records (or a durable runtime's changes)",
     .text = "Removes the record of each runtime ID, or durable runtime NAME with its\n"
	     "changes. A live runtime is refused.\n"},
    {.name = "runtime prune",
     .synopsis = "",
     .summary = "remove records whose processes are gone",
     .text = "Removes the records of runtimes whose processes are gone.\n"},
    {.name = "help",
     .synopsis = "[COMMAND [SUBCOMMAND]]",
     .summary = "print the help of spfs or of a command",
     .text = "Prints the help of spfs, or of COMMAND (the same as COMMAND --help).\n"},
};

const cli_prog spfs_help = {
    .name = "spfs",
    .synopsis = "[--store PATH] [-v|-q] COMMAND [ARGS...]",
    .summary = "The SpFS content-addressed store of file system layers, and runtimes over them.",
    .text = "REF is a digest, a unique digest prefix (8+ hex characters), a tag, or\n"
	    "TAG~N (N versions back).\n"
	    "\n"
	    "The store is --store, else $SPFS_STORAGE, else `storage:` in\n"
	    "$XDG_CONFIG_HOME/spawn/config.yaml (~/.config/spawn/config.yaml) or\n"
	    "/etc/spawn/config.yaml, else /var/lib/spfs (root) or $XDG_DATA_HOME/spfs;\n"
	    "only `spfs init` creates it. $SPAWN_LOG (error, warn, info, debug,\n"
	    "trace) sets how much is said on stderr; SPAWN_NO_PROGRESS=1 turns off\n"
	    "the progress line.\n",
    .opts = global_opts,
    .cmds = cmds,
    .ncmds = sizeof(cmds) / sizeof(cmds[0]),
    .exit = "0 success, 1 failure (also: no store), 2 usage error (also: a malformed\n"
	    "configuration file, a bad SPAWN_LOG); check: 1 also when it finds damage;\n"
	    "clean: 75 store busy; run and shell: the command's (see their --help).",
    .see_also = "spk(1)",
};
