/*
 * spfs.h - the SpFS content-addressed store (prefix spfs_).
 *
 * Objects are identified by the SHA-256 of their canonical encoding; a
 * blob's digest is the SHA-256 of its bytes. Kinds: blob (file content),
 * manifest (a directory tree), layer (a manifest plus annotations) and
 * platform (an ordered stack of layers, bottom first). Tags name objects and
 * keep an append-only history. See docs/store-format.md.
 *
 * Ownership: `**out` results belong to the caller and are freed with the
 * matching *_free function (all NULL-safe). Borrowed pointers are marked.
 */
#ifndef SPAWN_SPFS_H
#define SPAWN_SPFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* Expected failures of this module (others are SP_* codes). */
enum {
	SPFS_ENOTFOUND = SP_ENOTFOUND,
	SPFS_EAMBIGUOUS = SP_EAMBIGUOUS,
	SPFS_EMISMATCH = SP_EMISMATCH,
	SPFS_ELOCKED = SP_ELOCKED,
	SPFS_ECORRUPT = -100, /* an object or tag file that does not decode */
};

/* ------------------------------------------------------------ objects */

typedef enum spfs_kind {
	SPFS_KIND_BLOB = 1,
	SPFS_KIND_MANIFEST = 2,
	SPFS_KIND_LAYER = 3,
	SPFS_KIND_PLATFORM = 4,
} spfs_kind;

const char *spfs_kind_name(spfs_kind kind);

typedef enum spfs_entry_kind {
	SPFS_ENTRY_DIR = 1,
	SPFS_ENTRY_FILE = 2,
	SPFS_ENTRY_SYMLINK = 3,
	SPFS_ENTRY_MASK = 4, /* a deletion recorded by an upper layer */
} spfs_entry_kind;

const char *spfs_entry_kind_name(spfs_entry_kind kind);

/* One entry of a manifest. Modes are normalised: files 0644 or 0755, dirs
 * 0755, symlinks 0777, masks 0. */
typedef struct spfs_entry {
	char *path;	  /* relative, '/'-separated, no leading slash; owned */
	char *target;	  /* symlink target, verbatim; owned; NULL otherwise */
	uint64_t size;	  /* file size or target length */
	sp_digest digest; /* blob digest (files), SHA-256 of target (symlinks) */
	uint32_t mode;
	spfs_entry_kind kind;
} spfs_entry;

/* A whole tree. Entries are in canonical order: depth first, siblings
 * sorted by name bytewise, every parent before its children; the root
 * itself is implicit. */
typedef struct spfs_manifest {
	spfs_entry *entries; /* owned */
	size_t count;
	size_t cap;
} spfs_manifest;

typedef struct spfs_annotation {
	char *key;   /* owned */
	char *value; /* owned */
} spfs_annotation;

typedef struct spfs_layer {
	sp_digest manifest;
	spfs_annotation *annotations; /* owned, sorted by key, unique keys */
	size_t annotation_count;
} spfs_layer;

typedef struct spfs_platform {
	sp_digest *layers; /* owned, bottom first */
	size_t count;
} spfs_platform;

/* Limits applied when decoding untrusted objects. */
#define SPFS_MAX_OBJECT_SIZE ((size_t)1 << 30)
#define SPFS_MAX_ENTRIES     10000000u
#define SPFS_MAX_PATH	     4096u
#define SPFS_MAX_NAME	     255u
#define SPFS_MAX_DEPTH	     256u
#define SPFS_MAX_TARGET	     4096u
#define SPFS_MAX_LAYERS	     65536u
#define SPFS_MAX_ANNOTATIONS 4096u

void spfs_manifest_free(spfs_manifest *m);
void spfs_manifest_freep(spfs_manifest **m);
void spfs_layer_free(spfs_layer *l);
void spfs_layer_freep(spfs_layer **l);
void spfs_platform_free(spfs_platform *p);
void spfs_platform_freep(spfs_platform **p);

/* Appends a copy of *e (path and target are duplicated). */
int spfs_manifest_push(spfs_manifest *m, const spfs_entry *e, sp_error *err);
/* Sorts into canonical order (entries built in any order). */
void spfs_manifest_sort(spfs_manifest *m);
/* Compares two relative paths in canonical (component-wise) order. */
int spfs_path_cmp(const char *a, const char *b);
/* Binary search; returns a borrowed entry or NULL. */
const spfs_entry *spfs_manifest_find(const spfs_manifest *m, const char *path);
/* Checks one path component: not empty, not . or .., no '/' or NUL,
 * at most SPFS_MAX_NAME bytes. */
bool spfs_name_valid(const char *name, size_t len);

/* Canonical encodings. Each begins with "spfs:<kind>:<version>\n". The
 * decoders validate everything (names, order, modes, limits) and never
 * trust the input. */
int spfs_manifest_encode(const spfs_manifest *m, sp_buf *out, sp_error *err);
int spfs_manifest_decode(spfs_manifest **out, const void *data, size_t n, sp_error *err);
int spfs_layer_encode(const spfs_layer *l, sp_buf *out, sp_error *err);
int spfs_layer_decode(spfs_layer **out, const void *data, size_t n, sp_error *err);
int spfs_platform_encode(const spfs_platform *p, sp_buf *out, sp_error *err);
int spfs_platform_decode(spfs_platform **out, const void *data, size_t n, sp_error *err);
/* Kind named by an encoded object's header. */
int spfs_object_kind(spfs_kind *out, const void *data, size_t n, sp_error *err);

/* ------------------------------------------------------------- store */

typedef struct spfs_store spfs_store;

/* Storage path: $SPFS_STORAGE, else `storage:` from /etc/spawn/config.yaml
 * or ~/.config/spawn/config.yaml (the user's wins), else /var/lib/spfs for
 * root and $XDG_DATA_HOME/spfs (~/.local/share/spfs) for others. */
int spfs_default_storage(char **out, sp_error *err);
/* Creates the layout at path (idempotent). */
int spfs_store_init(const char *path, sp_error *err);
/* Opens an existing store; creates it first when `create` is set. */
int spfs_store_open(spfs_store **out, const char *path, bool create, sp_error *err);
void spfs_store_free(spfs_store *s);
void spfs_store_freep(spfs_store **s);
const char *spfs_store_path(const spfs_store *s); /* borrowed */
int spfs_store_dirfd(const spfs_store *s);	  /* borrowed */

/* Shared lock for commit/render/tag; exclusive (non-blocking) for clean. */
int spfs_store_lock_shared(spfs_store *s, sp_error *err);
void spfs_store_unlock(spfs_store *s);

/* Presence and reading. Objects are verified against their digest when
 * read; a mismatch is SPFS_EMISMATCH naming both digests. */
bool spfs_has_payload(spfs_store *s, const sp_digest *d);
bool spfs_has_object(spfs_store *s, const sp_digest *d);
int spfs_read_object(sp_buf *out, spfs_kind *kind, spfs_store *s, const sp_digest *d,
		     sp_error *err);
int spfs_read_manifest(spfs_manifest **out, spfs_store *s, const sp_digest *d, sp_error *err);
int spfs_read_layer(spfs_layer **out, spfs_store *s, const sp_digest *d, sp_error *err);
int spfs_read_platform(spfs_platform **out, spfs_store *s, const sp_digest *d, sp_error *err);
/* Opens a payload read-only; the caller closes the fd. */
int spfs_open_payload(int *out_fd, spfs_store *s, const sp_digest *d, sp_error *err);
/* Writes an encoded object atomically (idempotent); *out gets its digest. */
int spfs_write_object(sp_digest *out, spfs_store *s, const sp_buf *encoded, sp_error *err);
/* Stores a blob from memory (idempotent). */
int spfs_write_blob(sp_digest *out, spfs_store *s, const void *data, size_t n, sp_error *err);
/* Writes payload d to fd, verifying it on the way: SPFS_EMISMATCH at the
 * end when it does not hash to d (what was written is then bad). */
int spfs_write_payload_to(int fd, spfs_store *s, const sp_digest *d, sp_error *err);
/* Copies payload d from src into dst (idempotent), streamed and verified
 * while copied: SPFS_EMISMATCH, nothing written, when src's copy is bad. */
int spfs_copy_payload(spfs_store *dst, spfs_store *src, const sp_digest *d, sp_error *err);

/* --------------------------------------------------------------- refs */

/* Resolves a digest, a unique digest prefix (8+ hex), a tag or TAG~N to a
 * digest and its kind (blobs included). */
int spfs_resolve(sp_digest *out, spfs_kind *kind, spfs_store *s, const char *ref, sp_error *err);
/* The tree a ref stands for: a manifest itself, a layer's manifest, or the
 * layers of a platform merged bottom first (masks applied, then dropped
 * unless keep_masks). */
int spfs_flatten(spfs_manifest **out, spfs_store *s, const sp_digest *d, spfs_kind kind,
		 bool keep_masks, sp_error *err);
/* Merges `upper` onto `lower` in place, overlayfs rules. */
int spfs_manifest_overlay(spfs_manifest *lower, const spfs_manifest *upper, bool keep_masks,
			  sp_error *err);

/* -------------------------------------------------------------- commit */

typedef struct spfs_commit_stats {
	uint64_t files, dirs, symlinks;
	uint64_t bytes;	    /* all file bytes in the tree */
	uint64_t new_blobs; /* payloads written by this commit */
	uint64_t new_bytes; /* bytes of those payloads */
} spfs_commit_stats;

typedef struct spfs_commit_opts {
	const char *tag; /* optional tag to point at the new layer */
	const spfs_annotation *annotations;
	size_t annotation_count;
} spfs_commit_opts;

/* Commits a directory as a layer. Writes payloads and objects as one
 * transaction (see commit.c), then moves the tag. */
int spfs_commit_dir(sp_digest *out_layer, sp_digest *out_manifest, spfs_store *s, const char *dir,
		    const spfs_commit_opts *opts, spfs_commit_stats *stats, sp_error *err);
/* Writes a platform of the given layers (bottom first) and tags it. */
int spfs_commit_platform(sp_digest *out, spfs_store *s, const sp_digest *layers, size_t count,
			 const char *tag, sp_error *err);
/* Writes an already-built manifest and a layer over it. */
int spfs_commit_manifest(sp_digest *out_layer, spfs_store *s, const spfs_manifest *m,
			 const spfs_annotation *annotations, size_t count, const char *tag,
			 sp_error *err);

/* -------------------------------------------------------------- render */

typedef enum spfs_verify {
	SPFS_VERIFY_QUICK = 0, /* re-hash payloads written to since they were stored */
	SPFS_VERIFY_FULL = 1,  /* re-hash every payload */
	SPFS_VERIFY_NONE = 2,
} spfs_verify;

typedef struct spfs_render_opts {
	bool copy; /* copy files instead of hardlinking payloads */
	spfs_verify verify;
} spfs_render_opts;

/* Renders the tree of (d, kind) into `target`, which must not exist or be
 * an empty directory. */
int spfs_render_to(spfs_store *s, const sp_digest *d, spfs_kind kind, const char *target,
		   const spfs_render_opts *opts, sp_error *err);
/* Renders a manifest under storage once (renders/xx/<digest>) and returns
 * its path (caller frees). Reused when present. */
int spfs_render_stored(char **out_path, spfs_store *s, const sp_digest *manifest, sp_error *err);

/* ---------------------------------------------------------------- tags */

/* One limit for tag names, shared by validation and every walk of tags/: a
 * name the walk would not reach cannot be set. A part is one directory or
 * file name on disk, and the last one gets ".tag": 251 + 4 = NAME_MAX. */
#define SPFS_MAX_TAG_NAME  1024u /* bytes */
#define SPFS_MAX_TAG_DEPTH 64u	 /* parts separated by '/' */
#define SPFS_MAX_TAG_PART  251u	 /* bytes of one part */

typedef struct spfs_tag_record {
	sp_digest target;
	int64_t time; /* seconds since the epoch when the tag was set */
} spfs_tag_record;

/* A tag's history, oldest first. */
typedef struct spfs_tag_history {
	spfs_tag_record *records; /* owned */
	size_t count;
	size_t dropped; /* torn or damaged records skipped when reading */
} spfs_tag_history;

void spfs_tag_history_free(spfs_tag_history *h);
bool spfs_tag_name_valid(const char *name);
/* The same rule as spfs_tag_name_valid, with an error that says which part
 * of the rule `name` breaks. */
int spfs_tag_name_check(const char *name, sp_error *err);
/* Appends a record (no-op when the tag already points at d). */
int spfs_tag_set(spfs_store *s, const char *name, const sp_digest *d, sp_error *err);
/* Removes a tag, or only its newest record when latest_only. */
int spfs_tag_remove(spfs_store *s, const char *name, bool latest_only, sp_error *err);
int spfs_tag_read(spfs_tag_history *out, spfs_store *s, const char *name, sp_error *err);
/* Parses a tag file's bytes (fuzzed). */
int spfs_tag_parse(spfs_tag_history *out, const char *data, size_t n, sp_error *err);
/* Calls cb for every tag name under prefix ("" for all), sorted. An entry
 * of tags/ that cannot be a tag (nested deeper than SPFS_MAX_TAG_DEPTH, an
 * invalid or too long name, not a file or directory) never stops the walk:
 * it is passed to `odd` (path relative to tags/, what is wrong) or, when
 * odd is NULL (spfs_tag_list), logged as a warning. */
typedef int (*spfs_tag_cb)(const char *name, void *ud);
typedef void (*spfs_tag_odd_cb)(const char *path, const char *why, void *ud);
int spfs_tag_list(spfs_store *s, const char *prefix, spfs_tag_cb cb, void *ud, sp_error *err);
int spfs_tag_walk(spfs_store *s, const char *prefix, spfs_tag_cb cb, spfs_tag_odd_cb odd, void *ud,
		  sp_error *err);

/* --------------------------------------------------------- check/clean */

typedef struct spfs_problem {
	const char *what;   /* "payload", "object", "tag", "temp", "closure" */
	const char *name;   /* digest or tag name */
	const char *detail; /* what is wrong */
} spfs_problem;

typedef void (*spfs_problem_cb)(const spfs_problem *p, void *ud);

typedef struct spfs_check_stats {
	uint64_t objects, payloads, tags, bytes, problems;
} spfs_check_stats;

/* Re-hashes every object and payload, decodes every object and tag file
 * and verifies every tag's closure. Returns 0 when the walk finished;
 * stats->problems says whether anything was wrong. */
int spfs_check(spfs_store *s, spfs_problem_cb cb, void *ud, spfs_check_stats *stats, sp_error *err);

/* Counts objects, payloads, tags and their bytes without re-hashing. */
int spfs_store_usage(spfs_check_stats *out, spfs_store *s, sp_error *err);

typedef struct spfs_clean_opts {
	uint64_t grace_seconds; /* never remove anything younger */
	bool dry_run;
} spfs_clean_opts;

typedef struct spfs_clean_stats {
	uint64_t objects, payloads, renders, temps, bytes, kept_young;
	uint64_t runtime_caches; /* mount plans, mask lowers, flattening notes */
} spfs_clean_stats;

typedef void (*spfs_clean_cb)(const char *what, const char *name, void *ud);

/* Removes what no tag record reaches. Takes the exclusive lock without
 * waiting: SPFS_ELOCKED when the store is busy. */
int spfs_clean(spfs_store *s, const spfs_clean_opts *opts, spfs_clean_cb cb, void *ud,
	       spfs_clean_stats *stats, sp_error *err);

/* ---------------------------------------------------------------- diff */

typedef enum spfs_diff_op {
	SPFS_DIFF_ADDED = '+',
	SPFS_DIFF_REMOVED = '-',
	SPFS_DIFF_CHANGED = '~'
} spfs_diff_op;
typedef void (*spfs_diff_cb)(spfs_diff_op op, const spfs_entry *a, const spfs_entry *b, void *ud);
/* Walks two canonical manifests in step. */
void spfs_manifest_diff(const spfs_manifest *a, const spfs_manifest *b, spfs_diff_cb cb, void *ud);

/* ============================================================ runtime
 * (spfs/runtime*.c; see docs/runtime.md)
 *
 * A runtime is a process tree with its own mount namespace in which /spfs is
 * an overlayfs of stored renders (bottom first), read-only or with a
 * writable upper directory (tmpfs, or on disk for a durable runtime). Each
 * live runtime has a record under STORE/runtimes/<id>/ so that `spfs clean`
 * keeps its layers and `spfs runtime ls|info|rm|prune` can see it. */

#define SPFS_RUNTIME_ID_LEN	   16u /* lowercase hex */
#define SPFS_RUNTIME_NAME_MAX	   64u /* durable names: [A-Za-z0-9._-], not starting with '.' */
#define SPFS_RUNTIME_MOUNTPOINT	   "/spfs"
#define SPFS_RUNTIME_DEFAULT_TMPFS "10%"
#define SPFS_RUNTIME_MAX_LOWERS	   500u /* overlayfs' stack limit (OVL_MAX_STACK) */

/* Exit codes of `spfs run` itself (otherwise the command's status, or
 * 128+N when it died of signal N). */
enum { SPFS_RUN_ESETUP = 125, SPFS_RUN_ENOEXEC = 126, SPFS_RUN_ENOENT = 127 };

/* One lower directory of the overlay, bottom first. */
typedef enum spfs_lower_kind {
	SPFS_LOWER_RENDER = 'r', /* STORE/renders/xx/<manifest> */
	SPFS_LOWER_MASKS = 'w',	 /* STORE/runtimes/masks/xx/<manifest>: whiteouts of its masks */
	SPFS_LOWER_EMPTY = 'e',	 /* STORE/runtimes/empty: an empty stack */
} spfs_lower_kind;

typedef struct spfs_runtime_lower {
	spfs_lower_kind kind;
	sp_digest manifest;
} spfs_runtime_lower;

/* A runtime record (STORE/runtimes/<id>/record). */
typedef struct spfs_runtime {
	char id[SPFS_RUNTIME_ID_LEN + 1];
	int pid;	      /* the process that runs the command */
	uint64_t start_ticks; /* its start time (/proc/PID/stat), against pid reuse */
	uint64_t mntns;	      /* inode of its mount namespace */
	int64_t started;      /* seconds since the epoch */
	bool editable;
	bool live;	   /* filled by spfs_runtime_read/list */
	char *durable;	   /* owned; NULL unless durable */
	sp_digest *layers; /* owned; the stack, bottom first (layers or manifests) */
	size_t layer_count;
	spfs_runtime_lower *lowers; /* owned; what is mounted, bottom first */
	size_t lower_count;
	char *upper, *work; /* owned; NULL while read-only */
	char *scratch;	    /* owned; the tmpfs mountpoint, NULL when none */
} spfs_runtime;

void spfs_runtime_free(spfs_runtime *rt);
void spfs_runtime_freep(spfs_runtime **rt);

typedef struct spfs_run_opts {
	bool editable;
	const char *durable; /* keep the upper under STORE/runtimes/durable/NAME */
	bool rerun;	     /* reuse durable NAME's stack (no refs) */
	bool shell;	     /* argv empty: start $SHELL */
	bool no_startup;     /* do not source /spfs/etc/spfs/startup.d */
} spfs_run_opts;

/* Runs argv (argv[0] looked up in PATH) in a new runtime over the stack of
 * refs (each a platform, layer or manifest; "A+B" joins, later on top) and
 * waits for it. *exit_status gets the command's status (128+N for signal
 * N, SPFS_RUN_* when the runtime could not be set up); <0 with err set
 * when the runtime could not be set up or the command not executed. As
 * root it mounts directly; otherwise through the setcap helper spfs-enter
 * or in a user namespace of its own, by spfs.runtime.mode
 * (docs/runtime.md). */
int spfs_runtime_run(int *exit_status, spfs_store *s, const char *const *refs, size_t nrefs,
		     char *const *argv, const spfs_run_opts *opts, sp_error *err);
/* The last stage of a non-root runtime started through the helper, inside
 * the namespace (`spfs runtime __startup`): sources the startup scripts
 * and execs argv (or $SHELL). Returns only on failure (sys_errno set). */
int spfs_runtime_startup_exec(char *const *argv, bool shell, sp_error *err);

/* Reads a runtime record by id (or durable name, for a durable one). */
int spfs_runtime_read(spfs_runtime **out, spfs_store *s, const char *id, sp_error *err);
/* The runtime this process is in ($SPFS_RUNTIME), checked against the
 * process's mount namespace: SPFS_ENOTFOUND outside a runtime. */
int spfs_runtime_current(spfs_runtime **out, spfs_store *s, sp_error *err);
/* Calls cb for each runtime record (sorted by id); then for each durable
 * runtime with no live record (id "", durable set). */
typedef int (*spfs_runtime_cb)(const spfs_runtime *rt, void *ud);
int spfs_runtime_list(spfs_store *s, spfs_runtime_cb cb, void *ud, sp_error *err);
/* Removes a record that is not live (or a durable runtime's upper by
 * name): SP_EINVALID when it is live. */
int spfs_runtime_remove(spfs_store *s, const char *id, sp_error *err);
/* Removes every record whose process is gone; cb names each. */
int spfs_runtime_prune(spfs_store *s, spfs_runtime_cb cb, void *ud, size_t *removed, sp_error *err);

/* Inside a runtime (as root): */
/* Remounts /spfs with a writable tmpfs upper (no-op when editable). */
int spfs_runtime_edit(spfs_store *s, sp_error *err);
/* Commits the upper directory as a layer: files, dirs and symlinks as
 * entries, whiteouts and opaque directories as masks. SPFS_ENOTFOUND
 * when there is nothing to commit. */
int spfs_runtime_commit_layer(sp_digest *out, spfs_store *s, const char *tag, sp_error *err);
/* The runtime's stack plus its changes as a new layer, as a platform. */
int spfs_runtime_commit_platform(sp_digest *out, spfs_store *s, const char *tag, sp_error *err);
/* Discards changes (all, or below the given paths, relative to /spfs)
 * and remounts /spfs. */
int spfs_runtime_reset(spfs_store *s, const char *const *paths, size_t n, sp_error *err);
/* Reports the changes in the upper directory against the stack: a is the
 * stack's entry (or NULL), b the upper's (or NULL for a deletion). */
int spfs_runtime_diff(spfs_store *s, spfs_diff_cb cb, void *ud, sp_error *err);
/* Confines this process for a build or a source script (spfs/confine.c):
 * a mount namespace of its own (inside a user namespace of its own that
 * keeps the caller's ids, when the caller may not make a mount namespace
 * directly) in which every mount but /spfs, /proc, /sys, /dev and `keep`
 * is read-only, optionally with a fresh tmpfs on /tmp. The working
 * directory is kept (go to a directory below /tmp before the call). */
typedef struct spfs_confine_opts {
	const char *keep; /* a directory left writable (a clean absolute path), or NULL */
	bool private_tmp; /* a fresh tmpfs (mode 1777, nosuid, nodev) on /tmp */
} spfs_confine_opts;
/* *no_namespace is set when the failure is that no namespace could be
 * made at all (user namespaces disabled or used up): nothing was changed
 * then, and the caller decides whether to run unconfined. */
int spfs_confine(const spfs_confine_opts *o, bool *no_namespace, sp_error *err);
/* ========================================================= end runtime */

#endif /* SPAWN_SPFS_H */
