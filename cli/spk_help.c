/* spk_help.c - the usage of spk and of each of its commands (help.h):
 * what `spk --help` and `spk COMMAND --help` print and what the man page
 * spk(1) and the shell completions are generated from. */
#include "cli/help.h"

/* clang-format off */
#define STORE_OPT {"-s, --store PATH", "the SpFS store (also --repo PATH); default: " \
				       "$SPFS_STORAGE, else the configured one"}
#define LOG_OPTS {"-v, --verbose", "say more on stderr"}, {"-q, --quiet", "say less on stderr"}
#define JSON_OPT {"--json", "print JSON on stdout"}
#define FORCE_OPT {"-f, --force", "go ahead where it would refuse (see above)"}
#define OFFLINE_OPT {"--offline", "never use the network: remote sources come from the " \
				  "source cache only, a missing one is an error (also SPK_OFFLINE=1)"}
#define TEMPLATE_OPT {"-o, --opt NAME=VALUE", "the `opt` of spec templates " \
				       "(-o version=1.2.3; repeatable)"}
#define END_OPT {0, 0}
/* clang-format on */

static const cli_opt store_opts[] = {STORE_OPT, LOG_OPTS, END_OPT};
static const cli_opt store_json_opts[] = {STORE_OPT, JSON_OPT, LOG_OPTS, END_OPT};
static const cli_opt store_force_opts[] = {STORE_OPT, FORCE_OPT, LOG_OPTS, END_OPT};

#define SOLVE_EXIT "0 solved, 1 no solution exists, 2 bad usage or bad input."

static const cli_cmd cmds[] = {
    {.name = "solve",
     .synopsis = "REQUEST... [--repo DIR]... [--workspace PATH] [OPTIONS]",
     .summary = "resolve package requests and print one line per package",
     .text = "Resolves package requests against spec repositories (directories of\n"
	     "spec files, or the local SpFS store's packages when no --repo is given)\n"
	     "and prints one line per package; on failure explains why in plain words.\n"
	     "\n"
	     "REQUEST is a package request such as python/3.9, python/>=3.7,<4,\n"
	     "maya:{run,docs}/~2024.2, repo/name/1.0/BUILD, or a var request such as\n"
	     "python.abi/cp39 or debug=on. Requests default to API compatibility and\n"
	     "the run component.\n",
     .opts =
	 (const cli_opt[]){{"-r, --repo DIR", "a directory of spec files (repeatable; the "
					      "first wins for identical builds)"},
			   {"--workspace PATH", "the recipes an SPK workspace lists "
						"(workspace.spk.yaml, or its directory; a --repo "
						"DIR holding one is read the same way)"},
			   {"-o, --opt NAME=VALUE", "a build option value, and the `opt` of "
						    "spec templates (repeatable)"},
			   {"--allow-builds", "also consider building recipes from source"},
			   JSON_OPT,
			   {"--trace", "print each decision, conflict and backtrack on stderr"},
			   {"--dot FILE", "write a Graphviz graph of the solution or conflict"},
			   {"--max-steps N", "give up after N candidate tries (default 5000000)"},
			   LOG_OPTS,
			   END_OPT},
     .exit = SOLVE_EXIT},
    {.name = "publish",
     .synopsis = "SPEC.yaml... [--opt NAME=VALUE]... [--store PATH] [--force]\n"
		 "NAME[/VERSION[/BUILD]]... --to PATH [--store PATH]",
     .summary = "publish spec files, or copy packages to another store",
     .text = "The first form publishes every spec of the files into the package\n"
	     "repository of the local SpFS store as spec-only recipes and builds (a\n"
	     "recipe also gets its default build). All files are checked first: a bad\n"
	     "spec publishes nothing. An existing spec with other content is refused\n"
	     "unless --force.\n"
	     "\n"
	     "The second form copies packages (spec tags, layer tags, and the objects\n"
	     "and payloads they reach) into the store at PATH (or file://PATH).\n",
     .opts = (const cli_opt[]){STORE_OPT,
			       FORCE_OPT,
			       TEMPLATE_OPT,
			       {"-t, --to PATH", "copy the packages into the store at PATH"},
			       LOG_OPTS,
			       END_OPT}},
    {.name = "ls",
     .synopsis = "[NAME[/VERSION]] [--store PATH] [--json]",
     .summary = "list the store's packages, versions or builds",
     .text = "Lists package names, the versions of NAME (newest first), or the recipe\n"
	     "and builds of NAME/VERSION.\n",
     .opts = store_json_opts},
    {.name = "info",
     .synopsis = "NAME/VERSION[/BUILD] [--store PATH] [--json]",
     .summary = "show a recipe or a build",
     .text = "Shows a recipe (NAME/VERSION) or a build: its tag, spec digest,\n"
	     "deprecation, options, component layers, then the spec itself.\n",
     .opts = store_json_opts},
    {.name = "deprecate",
     .synopsis = "NAME/VERSION[/BUILD]... [--store PATH]",
     .summary = "mark builds deprecated",
     .text = "Marks a build (or a version's recipe and every build) deprecated: the\n"
	     "spec is rewritten with `deprecated: true` and its tag moved (the old\n"
	     "spec stays in the tag's history). Solves skip deprecated builds unless\n"
	     "a request names the exact build, so pinned solves keep working.\n",
     .opts = store_opts},
    {.name = "undeprecate",
     .synopsis = "NAME/VERSION[/BUILD]... [--store PATH]",
     .summary = "reverse spk deprecate",
     .text = "Reverses spk deprecate.\n",
     .opts = store_opts},
    {.name = "remove",
     .synopsis = "NAME/VERSION[/BUILD]... [--store PATH] [--force]",
     .summary = "remove builds or versions from the store",
     .text = "Removes a build (or a version: recipe, builds and layer tags). Refused\n"
	     "while a tagged SpFS platform or a live runtime contains one of its\n"
	     "layers, unless --force. Objects go at the next `spfs clean`.\n",
     .opts = store_force_opts},
    {.name = "build",
     .synopsis = "SPEC.yaml [--variant N] [--opt NAME=VALUE]... [--no-host] [--force] "
		 "[--offline] [--store PATH]",
     .summary = "build a recipe in an SpFS runtime",
     .text = "Builds each recipe of the file: solves its build environment (its pkg\n"
	     "options), runs build.script in an SpFS runtime over that environment with\n"
	     "/spfs writable (PREFIX=/spfs, SPK_PKG_*, SPK_OPT_* set; in the recipe's\n"
	     "sources), commits what the script added under /spfs as one layer per\n"
	     "component (split by the components' files globs) and publishes the build\n"
	     "with its spec and its source package NAME/VERSION/src. An existing build\n"
	     "is kept unless --force. A failing script publishes nothing and shows the\n"
	     "end of its log. A recipe with build.variants is built once per variant.\n"
	     "The script runs with bash -ex. The host's os, arch, distro and distro\n"
	     "version are option values (build.auto_host_vars says which a recipe\n"
	     "gains). build.validation rules judge what the build did.\n"
	     "Needs root (or the spfs-enter helper, or rootless runtimes).\n",
     .opts = (const cli_opt[]){{"--variant N", "build only the N-th variant (from 0)"},
			       {"-o, --opt NAME=VALUE", "an option value, on top of the variant's; "
							"and the `opt` of spec templates"},
			       {"--no-host", "no host options (os, arch, distro)"},
			       {"-f, --force", "build again when the build exists"},
			       OFFLINE_OPT,
			       STORE_OPT,
			       LOG_OPTS,
			       END_OPT}},
    {.name = "test",
     .synopsis = "SPEC.yaml[@STAGE]... [--variant N] [--opt NAME=VALUE]... [OPTIONS]\n"
		 "NAME/VERSION[@STAGE]... [OPTIONS]",
     .summary = "run a recipe's tests",
     .text = "Runs the `tests` of the recipes of a file (or of the recipe NAME/VERSION\n"
	     "in the store) with bash -ex, in an SpFS runtime whose changes are\n"
	     "discarded, stage by stage (sources, build, install; @STAGE: only that\n"
	     "one), for every variant their selectors match. sources runs over the\n"
	     "published source package, in it; build over the build environment and\n"
	     "the source package, in the sources; install over the variant's build\n"
	     "(spk build it first), in the current directory. A test's requirements\n"
	     "join its environment. Stops at the first failing test.\n",
     .opts = (const cli_opt[]){{"--variant N", "test only the N-th variant (from 0)"},
			       {"-o, --opt NAME=VALUE", "an option value, on top of the variant's"},
			       {"--no-host", "no host options (os, arch, distro)"},
			       {"--here", "run every test in the current directory"},
			       STORE_OPT,
			       LOG_OPTS,
			       END_OPT},
     .exit = "0 all passed, 1 a test failed or cannot be solved, 2 bad usage or input."},
    {.name = "make-source",
     .synopsis = "SPEC.yaml [--opt NAME=VALUE]... [--offline] [--store PATH]",
     .summary = "collect a recipe's sources into its source package",
     .text = "Collects each recipe's sources (path, git, tar and script entries of\n"
	     "`sources`, in order; without them the spec's directory) into one layer\n"
	     "and publishes the source package NAME/VERSION/src: the files are at\n"
	     "/spfs/spk/pkg/NAME/VERSION/src in a runtime. Path, tar and local git\n"
	     "sources are relative to the spec's directory (or absolute); a relative\n"
	     "path source must stay inside it, tar members and symbolic links must\n"
	     "stay inside the sources.\n"
	     "A tar source may be an http(s) URL and a git source a remote URL: they\n"
	     "are fetched once into the source cache ($SPK_SOURCE_CACHE, else\n"
	     "~/.cache/spk/sources) and used from there; a tar entry's `sha256:` pins\n"
	     "its content (a download that differs is refused before extraction).\n"
	     "Does not need root.\n",
     .opts = (const cli_opt[]){TEMPLATE_OPT, OFFLINE_OPT, STORE_OPT, LOG_OPTS, END_OPT}},
    {.name = "env",
     .synopsis = "REQUEST... [--opt NAME=VALUE]... [--allow-builds [--make-missing]] "
		 "[--store PATH]\n"
		 "REQUEST... [OPTIONS] -- CMD [ARGS...]",
     .summary = "run a command in a solved environment",
     .text = "Solves the requests over the store's packages, stacks the resolved\n"
	     "components' layers at /spfs, applies the packages' install.environment\n"
	     "operations and SPK_PKG_* variables, and runs CMD (default: $SHELL) there.\n"
	     "--opt NAME=VALUE sets an option value for the solve, as in spk solve.\n"
	     "With --allow-builds the solve may pick recipes with other option values;\n"
	     "--make-missing then builds those from their stored recipes first.\n",
     .opts = (const cli_opt[]){{"-o, --opt NAME=VALUE", "an option value for the solve "
							"(repeatable)"},
			       {"--allow-builds", "also consider building recipes from source"},
			       {"--make-missing", "build what the solve picked from source"},
			       OFFLINE_OPT,
			       STORE_OPT,
			       LOG_OPTS,
			       END_OPT},
     .exit = "CMD's (128+N when it died of signal N; 125 when the runtime could not\n"
	     "be set up, 126 when CMD cannot be executed, 127 when it is not found);\n"
	     "1 when the requests cannot be solved, 2 on bad usage or input."},
    {.name = "explain",
     .synopsis = "REQUEST... [--opt NAME=VALUE]... [--allow-builds] [--store PATH]",
     .summary = "a solve over the store with its trace",
     .text = "Solves the requests over the store's packages with the full trace: each\n"
	     "decision, conflict and backtrack on stdout, then the solution (one line\n"
	     "per package) or why there is none.\n",
     .opts = (const cli_opt[]){{"-o, --opt NAME=VALUE", "an option value for the solve "
							"(repeatable)"},
			       {"--allow-builds", "also consider building recipes from source"},
			       STORE_OPT,
			       LOG_OPTS,
			       END_OPT},
     .exit = SOLVE_EXIT},
    {.name = "lint",
     .synopsis = "SPEC.yaml... [--opt NAME=VALUE]...",
     .summary = "check spec files",
     .text = "Checks spec files as spk publish and spk build read them: errors name\n"
	     "file:line:column, unknown fields are warned about; prints one line per\n"
	     "spec (what it is, its build id, what spk build needs). A spec file is\n"
	     "rendered as a template first; --opt gives the template's opt values.\n",
     .opts = (const cli_opt[]){TEMPLATE_OPT, LOG_OPTS, END_OPT}},
    {.name = "help",
     .synopsis = "[COMMAND]",
     .summary = "print the help of spk or of a command",
     .text = "Prints the help of spk, or of COMMAND (the same as COMMAND --help).\n"},
};

const cli_prog spk_help = {
    .name = "spk",
    .synopsis = "COMMAND [ARGS...]\n--help | --version",
    .summary = "Packages in SpFS: publish, solve, build and run environments of them.",
    .text = "Packages are spec files (recipes and builds) whose payloads are SpFS\n"
	    "layers; spk keeps them in the package repository of an SpFS store.\n",
    .opts = (const cli_opt[]){{"-h, --help", "print this help (after a command: its help)"},
			      {"--version", "print the version"},
			      END_OPT},
    .cmds = cmds,
    .ncmds = sizeof(cmds) / sizeof(cmds[0]),
    .exit = "0 done, 1 not found, refused or failed (no solution, no store), 2 bad\n"
	    "usage or bad input (including the configuration and SPAWN_LOG).",
    .see_also = "spfs(1)",
};
