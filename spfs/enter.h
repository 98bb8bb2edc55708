/* enter.h - spfs-enter, the setcap helper that mounts a runtime for a user
 * who is not root (docs/runtime.md, "Non-root users"). Internal to spfs/
 * and cli/spfs_enter.c.
 *
 * Arguments (all before "--"; the command always follows it):
 *
 *   spfs-enter [--status-fd N] [--env-fd M] --store ABSPATH --id RUNTIME_ID
 *              [--edit SIZE | --durable NAME]
 *              (--render DIGEST | --masks DIGEST | --empty)...
 *              -- CMD [ARGS...]
 *
 * Lowers are given bottom first: --render D is STORE/renders/xx/<rest of D>,
 * --masks D is STORE/runtimes/masks/xx/<rest of D>, --empty is
 * STORE/runtimes/empty. DIGEST is exactly 64 lowercase hex characters,
 * RUNTIME_ID exactly 16; never a path or a mount option. --edit puts a
 * fresh tmpfs of SIZE (N, N[kmg] or N%) at STORE/runtimes/<id>.scratch with
 * upper/ and work/ in it; --durable uses STORE/runtimes/durable/NAME/upper
 * and work/ (made when missing). --status-fd names a pipe that receives
 * the error message, if any, and is closed by the exec of CMD. --env-fd
 * names a descriptor (a memfd or a pipe) holding CMD's environment as
 * NAME=VALUE strings each ended by a NUL; the helper reads it only after
 * it has dropped every privilege (without it, CMD gets an allowlist of the
 * helper's own environment and a fixed PATH).
 */
#ifndef SPAWN_SPFS_ENTER_H
#define SPAWN_SPFS_ENTER_H

#include "common/common.h"

#define SPFS_ENTER_MAX_LOWERS 500u /* SPFS_RUNTIME_MAX_LOWERS */
#define SPFS_ENTER_MAX_ARGS   100000
#define SPFS_ENTER_SETUP_EXIT 125 /* SPFS_RUN_ESETUP */
/* Its file capabilities, as setcap takes them (docs/runtime.md). */
#define SPFS_ENTER_CAPS "cap_dac_override,cap_setpcap,cap_sys_admin+ep"

typedef struct spfs_enter_lower {
	char kind;    /* 'r' render, 'w' masks, 'e' empty (spfs_lower_kind) */
	char hex[65]; /* "" for 'e' */
} spfs_enter_lower;

typedef struct spfs_enter_args {
	int status_fd;		  /* -1: none */
	int env_fd;		  /* -1: none */
	const char *store;	  /* absolute path; borrowed from argv */
	const char *id;		  /* 16 lowercase hex; borrowed */
	const char *tmpfs_size;	  /* --edit SIZE, or NULL; borrowed */
	const char *durable;	  /* --durable NAME, or NULL; borrowed */
	spfs_enter_lower *lowers; /* owned: spfs_enter__args_free */
	size_t lower_count;	  /* 1 .. SPFS_ENTER_MAX_LOWERS */
	char **argv;		  /* the command (after "--"), NULL-terminated; borrowed */
} spfs_enter_args;

/* Parses and validates the whole command line (argv[0] is the program).
 * Pure: no system call, no environment. */
int spfs_enter__parse(spfs_enter_args *out, int argc, char **argv, sp_error *err);
void spfs_enter__args_free(spfs_enter_args *a);

/* True when s is a valid --edit size ("N", "N[kKmMgG]" or "N%"). */
bool spfs_enter__size_ok(const char *s);
/* True when name is a valid durable runtime name (the rule of
 * spfs_runtime__name_valid). */
bool spfs_enter__name_ok(const char *name);
/* Reads an fsopen() context's message log into buf ("; " between
 * messages, the "e "/"w " prefixes dropped). Used by spfs_mount too. */
void spfs_enter__fs_log(int fsfd, char *buf, size_t n);

/* The helper itself (spfs/enter.c): never returns. */
_Noreturn void spfs_enter__main(int argc, char **argv);

#endif
