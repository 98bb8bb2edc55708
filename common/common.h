/*
 * common.h - the shared foundation of every Spawn module (prefix sp_).
 *
 * Errors:   sp_error, a fixed-size message chain; functions return 0 or a
 *           negative SP_E* code and fill the caller's sp_error.
 * Digests:  SHA-256 (OpenSSL EVP), hex form is 64 lowercase characters.
 * Files:    *at() helpers, atomic writes (temp + fsync + rename), a thin
 *           syscall layer (sp_sys_*) that tests can make fail on the Nth call.
 * Output:   logging (-v/-q/SPAWN_LOG), a JSON writer, a progress line.
 *
 * Ownership: a function that returns memory through `**out` hands it to the
 * caller, who frees it with free() unless the header says otherwise.
 */
#ifndef SPAWN_COMMON_H
#define SPAWN_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* ---------------------------------------------------------------- errors */

/* Generic error codes shared by every module. Module-specific expected
 * failures live in the module header and start at -100 * module. */
enum {
	SP_OK = 0,
	SP_ERROR = -1, /* anything unexpected; the message says what */
	SP_ENOTFOUND = -2,
	SP_EEXISTS = -3,
	SP_EINVALID = -4, /* bad input: a file, a name, an argument */
	SP_ENOMEM = -5,
	SP_EIO = -6, /* a system call failed; errno is in the message */
	SP_ELOCKED = -7,
	SP_EMISMATCH = -8, /* content does not match its digest */
	SP_EAMBIGUOUS = -9,
	SP_ECONFIG = -10, /* a configuration file is malformed */
};

#define SP_ERROR_MSG_MAX 1024

/* One error with a context chain. The one-line chain is a fixed-size
 * buffer: reporting an out-of-memory error never allocates. A long,
 * multi-line account of the failure (a solver's explanation) goes into
 * `detail`, which has no size limit and is printed whole after the chain.
 * Zero-initialise (`sp_error err = {0};`); an error that may hold a detail
 * is released with sp_error_clear (`_cleanup_error_ sp_error err = {0};`). */
typedef struct sp_error {
	int code;
	int sys_errno; /* errno of the leaf, 0 when none */
	char *detail;  /* owned; NULL when none (see sp_error_set_detail) */
	char msg[SP_ERROR_MSG_MAX];
} sp_error;

/* Sets the leaf message (replacing any earlier one, and its detail) and
 * returns `code`. */
int sp_error_set(sp_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like sp_error_set with ": strerror(errno)" appended; code SP_EIO unless
 * errno is ENOENT (SP_ENOTFOUND), EEXIST (SP_EEXISTS) or ENOMEM. */
int sp_error_errno(sp_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the existing message with "what: " and returns err->code. */
int sp_error_prefix(sp_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Attaches a copy of `text` (any length, may span lines) as the error's
 * detail, replacing an earlier one. Out of memory keeps the chain and says
 * in it that the detail was lost. Returns err->code. */
int sp_error_set_detail(sp_error *err, const char *text);
/* Moves `src` (code, errno, chain, detail) into `dst`, replacing what dst
 * held; src is left cleared. Returns the code (SP_ERROR when src had none):
 * how a caller hands on the error of a call it made with a local sp_error. */
int sp_error_move(sp_error *dst, sp_error *src);
/* Empties the error and frees its detail. */
void sp_error_clear(sp_error *err);
#define _cleanup_error_ __attribute__((cleanup(sp_error_clear)))

/* Writes "who: CHAIN" and, on the next lines, the detail to `f`, every
 * control character quoted (sp_fputs_quoted). */
void sp_error_print(FILE *f, const char *who, const sp_error *err);
/* Writes s to f with every control character but newline and tab (C0,
 * DEL, C1) and every byte that is not valid UTF-8 written as \xHH: text
 * a user gave (an argument, a name from a file) cannot move the cursor,
 * recolour or rewrite the terminal. */
void sp_fputs_quoted(FILE *f, const char *s);
/* printf to stderr through sp_fputs_quoted: the one way the commands print
 * a message that quotes user input. */
void sp_eprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* vfprintf through sp_fputs_quoted, any length (sp_eprintf and sp_log). */
void sp_vfprintf_quoted(FILE *f, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* ------------------------------------------------------------- cleanup */

#define _cleanup_(f) __attribute__((cleanup(f)))
void sp_freep(void *p);
void sp_closep(int *fd);
void sp_fclosep(FILE **f);
#define _cleanup_free_	 _cleanup_(sp_freep)
#define _cleanup_close_	 _cleanup_(sp_closep)
#define _cleanup_fclose_ _cleanup_(sp_fclosep)

static inline void *sp_steal_pointer(void *pp)
{
	void **p = (void **)pp;
	void *v = *p;
	*p = NULL;
	return v;
}
#define steal_pointer(pp) sp_steal_pointer(pp)

static inline int sp_steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

/* ------------------------------------------------------------- memory */

/* Allocation that reports through sp_error instead of returning NULL
 * silently. Sizes are overflow-checked. */
int sp_malloc(void **out, size_t n, sp_error *err);
int sp_calloc(void **out, size_t count, size_t size, sp_error *err);
int sp_realloc_array(void **ptr, size_t count, size_t size, sp_error *err);
char *sp_strdup_or_null(const char *s);

/* Growable byte buffer with a hard cap. */
typedef struct sp_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* 0 = SP_BUF_DEFAULT_MAX */
} sp_buf;
#define SP_BUF_DEFAULT_MAX ((size_t)1 << 30)
int sp_buf_append(sp_buf *b, const void *data, size_t n, sp_error *err);
int sp_buf_printf(sp_buf *b, sp_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sp_buf_free(sp_buf *b);

/* ------------------------------------------------------------- digests */

#define SP_DIGEST_LEN	  32
#define SP_DIGEST_HEX_LEN 64

typedef struct sp_digest {
	uint8_t bytes[SP_DIGEST_LEN];
} sp_digest;

typedef struct sp_hasher sp_hasher; /* wraps an EVP_MD_CTX */

int sp_hasher_new(sp_hasher **out, sp_error *err);
int sp_hasher_update(sp_hasher *h, const void *data, size_t n, sp_error *err);
/* Finishes and resets the hasher for reuse. */
int sp_hasher_final(sp_hasher *h, sp_digest *out, sp_error *err);
void sp_hasher_free(sp_hasher *h);
void sp_hasher_freep(sp_hasher **h);

int sp_digest_buf(sp_digest *out, const void *data, size_t n, sp_error *err);
/* Hashes the rest of an open file; *size_out gets the byte count. */
int sp_digest_fd(sp_digest *out, uint64_t *size_out, int fd, sp_error *err);

/* hex must have room for SP_DIGEST_HEX_LEN + 1 bytes. */
void sp_digest_to_hex(const sp_digest *d, char *hex);
/* Parses exactly 64 lowercase hex characters. */
int sp_digest_from_hex(sp_digest *out, const char *hex, sp_error *err);
bool sp_digest_is_hex(const char *s, size_t len);
int sp_digest_cmp(const sp_digest *a, const sp_digest *b);
bool sp_digest_is_zero(const sp_digest *d);

/* --------------------------------------------------- syscall layer */

/* Every syscall whose failure matters for durability goes through these
 * wrappers, so a test can make the Nth call fail. SPAWN_FAULT in the
 * environment arms them: "OP:N:ERRNO[,OP:N:ERRNO...]" where OP is write,
 * fsync, rename, link, open, mkdir, syncfs; N counts calls from 1 and ERRNO
 * is a name such as EIO or ENOSPC, or KILL to die by SIGKILL right there
 * (crash tests). Only read when the process starts. */
ssize_t sp_sys_write(int fd, const void *buf, size_t n);
int sp_sys_fsync(int fd);
int sp_sys_syncfs(int fd);
int sp_sys_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
		    unsigned int flags);
int sp_sys_linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags);
int sp_sys_openat(int dirfd, const char *path, int flags, mode_t mode);
int sp_sys_mkdirat(int dirfd, const char *path, mode_t mode);
/* Arms one fault programmatically (unit tests); op as in SPAWN_FAULT. */
int sp_sys_fault_set(const char *spec, sp_error *err);
void sp_sys_fault_reset(void);

/* --------------------------------------------------- file helpers */

/* Writes all of buf, retrying short writes and EINTR. */
int sp_write_all(int fd, const void *buf, size_t n, sp_error *err);
/* Reads a whole file below dirfd (O_NOFOLLOW) of at most max bytes into
 * *out (NUL-terminated, caller frees). */
int sp_read_file_at(char **out, size_t *len, int dirfd, const char *path, size_t max,
		    sp_error *err);
/* mkdir -p relative to dirfd; components must not be symlinks. */
int sp_mkdir_p_at(int dirfd, const char *path, mode_t mode, sp_error *err);
/* Opens a directory below dirfd with O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC. */
int sp_open_dir_at(int *out_fd, int dirfd, const char *path, sp_error *err);
/* Atomically replaces dirfd/name with data: temp file in the same
 * directory, write, fchmod(mode), fsync, rename, fsync the directory.
 * Readers see the old or the new content, never a mix. */
int sp_atomic_write_at(int dirfd, const char *name, const void *data, size_t n, mode_t mode,
		       sp_error *err);
/* Payloads are stored with mtime 0 (the epoch): any later write to the
 * file moves its mtime, which is how a render notices a payload modified
 * in place (through a hardlink) without re-hashing every untouched one. */
int sp_mark_pristine(int fd, sp_error *err);
/* Random lowercase hex name of `len` chars (len+1 bytes in out). */
void sp_random_name(char *out, size_t len);
/* Removes a tree below dirfd without following symlinks. */
int sp_rm_rf_at(int dirfd, const char *name, sp_error *err);
/* Expands a leading "~/" with $HOME; caller frees. */
char *sp_expand_home(const char *path);

/* -------------------------------------------------------- logging */

typedef enum {
	SP_LOG_ERROR = 0,
	SP_LOG_WARN = 1,
	SP_LOG_INFO = 2,
	SP_LOG_DEBUG = 3,
	SP_LOG_TRACE = 4,
} sp_log_level;

/* Level from SPAWN_LOG (error|warn|info|debug|trace), adjusted by -v/-q.
 * Another SPAWN_LOG value is SP_EINVALID naming the valid ones (the level
 * is then the default, adjusted). */
int sp_log_init(int verbosity_delta, sp_error *err);
void sp_log_set_level(sp_log_level level);
sp_log_level sp_log_get_level(void);
/* One line on stderr, control characters quoted (sp_fputs_quoted). */
void sp_log(sp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define sp_warn(...)  sp_log(SP_LOG_WARN, __VA_ARGS__)
#define sp_info(...)  sp_log(SP_LOG_INFO, __VA_ARGS__)
#define sp_debug(...) sp_log(SP_LOG_DEBUG, __VA_ARGS__)

/* ------------------------------------------------------- JSON writer */

/* Streaming JSON writer with correct string escaping (invalid UTF-8 is
 * written as U+FFFD). Commas and nesting are tracked for the caller. */
#define SP_JSON_MAX_DEPTH 32
typedef struct sp_json {
	FILE *out;
	int depth;
	bool need_comma[SP_JSON_MAX_DEPTH];
	bool after_key;
	bool pretty;
} sp_json;

void sp_json_init(sp_json *j, FILE *out, bool pretty);
void sp_json_begin_object(sp_json *j);
void sp_json_end_object(sp_json *j);
void sp_json_begin_array(sp_json *j);
void sp_json_end_array(sp_json *j);
void sp_json_key(sp_json *j, const char *key);
void sp_json_string(sp_json *j, const char *s);
void sp_json_string_n(sp_json *j, const char *s, size_t n);
void sp_json_int(sp_json *j, int64_t v);
void sp_json_uint(sp_json *j, uint64_t v);
void sp_json_bool(sp_json *j, bool v);
void sp_json_null(sp_json *j);
/* Ends the document with a newline. */
void sp_json_finish(sp_json *j);

/* -------------------------------------------------------- progress */

/* A one-line progress display on stderr, drawn only when stderr is a
 * terminal and the log level is at least info; redrawn at most every
 * 100 ms; without escape sequences when NO_COLOR is set. Cheap to call per
 * item. */
typedef struct sp_progress {
	const char *label;
	uint64_t done, total;
	uint64_t bytes;
	uint64_t last_draw_ms;
	bool enabled;
	bool drawn;
	bool plain; /* NO_COLOR: no escape sequences */
	int width;  /* of the line drawn last */
} sp_progress;

void sp_progress_start(sp_progress *p, const char *label, uint64_t total);
void sp_progress_add(sp_progress *p, uint64_t items, uint64_t bytes);
void sp_progress_done(sp_progress *p);

/* ---------------------------------------------------------- YAML */

/* A small YAML document tree (first document only) for configuration
 * files. Aliases are refused (no expansion bombs); input, depth and node
 * count are bounded. Scalars keep their text; mapping children carry the
 * key. Every node remembers its line and column (1-based) for errors. */
typedef enum sp_yaml_kind {
	SP_YAML_SCALAR = 1,
	SP_YAML_MAP = 2,
	SP_YAML_SEQ = 3,
} sp_yaml_kind;

typedef struct sp_yaml_node {
	sp_yaml_kind kind;
	char *key;		       /* set on the children of a mapping; owned */
	char *value;		       /* set on scalars; owned */
	struct sp_yaml_node *children; /* owned array */
	size_t count;
	size_t line, column;
	size_t key_line, key_column; /* where the key is (children of a mapping) */
} sp_yaml_node;

#define SP_YAML_MAX_INPUT ((size_t)4 << 20)
#define SP_YAML_MAX_DEPTH 64
#define SP_YAML_MAX_NODES 200000

/* Parses `data`; `name` (a file name) prefixes every error as
 * "name:line:column: what". An empty document gives an empty mapping. */
int sp_yaml_parse(sp_yaml_node **out, const char *data, size_t n, const char *name, sp_error *err);
void sp_yaml_free(sp_yaml_node *node);
void sp_yaml_freep(sp_yaml_node **node);
/* A mapping key and where it is (1-based), for sp_yaml_check_keys. */
typedef struct sp_yaml_key {
	const char *text;
	size_t line, column;
} sp_yaml_key;
/* The one rule every YAML tree of the project applies (config, specs): the
 * keys of a mapping differ. keys[0..n) are one mapping's keys (reordered:
 * scratch); a repeat is SP_EINVALID "file:L:C: key 'k' appears twice (lines
 * A and B)", placed at the second occurrence of the earliest repeat. */
int sp_yaml_check_keys(sp_yaml_key *keys, size_t n, const char *file, sp_error *err);
/* Follows a dotted path of mapping keys ("spfs.runtime.tmpfs_size");
 * returns a borrowed node or NULL. */
const sp_yaml_node *sp_yaml_lookup(const sp_yaml_node *root, const char *path);

/* ---------------------------------------------------------- config */

/* Reads a scalar setting ("storage", "spfs.runtime.mode") from
 * /etc/spawn/config.yaml then $XDG_CONFIG_HOME/spawn/config.yaml (or
 * ~/.config/spawn/config.yaml; the user's wins); $SPAWN_CONFIG names a
 * single file instead of both. The files are read once per process (see
 * common/config.c). *out is NULL when unset (not an error). A malformed
 * file or a setting of the wrong shape is SP_ECONFIG naming
 * file:line:column; unknown keys are warned about once, when read. */
int sp_config_get(char **out, const char *path, sp_error *err);
/* Reads and checks the files now (the commands do it first thing, so a bad
 * file is a usage error before any work). */
int sp_config_load(sp_error *err);
/* Forgets what was read (tests that rewrite a file). */
void sp_config_reset(void);

/* ----------------------------------------------------- environments */

/* An environment as a value: ordered NAME=VALUE pairs (insertion order;
 * setting an existing name keeps its place). The env owns its strings;
 * returned strings are borrowed until the next change of that name. */
typedef struct sp_env sp_env;

int sp_env_new(sp_env **out, sp_error *err);
/* From NAME=VALUE strings (entries without '=' are skipped). */
int sp_env_from_envp(sp_env **out, char *const *envp, sp_error *err);
void sp_env_free(sp_env *e);
void sp_env_freep(sp_env **e);
/* Non-empty, no '=', at most 4096 bytes. */
bool sp_env_name_valid(const char *name);
const char *sp_env_get(const sp_env *e, const char *name);
int sp_env_set(sp_env *e, const char *name, const char *value, sp_error *err);
int sp_env_unset(sp_env *e, const char *name, sp_error *err);
/* SPK's prepend/append: value SEP old, or just value when the variable is
 * unset or empty; sep NULL means ":". */
int sp_env_prepend(sp_env *e, const char *name, const char *value, const char *sep, sp_error *err);
int sp_env_append(sp_env *e, const char *name, const char *value, const char *sep, sp_error *err);
/* Expands $NAME and ${NAME} from e (unset: empty); anything else, a lone
 * '$' included, is kept as written. *out is malloc'd (caller frees). */
int sp_env_expand(char **out, const sp_env *e, const char *s, sp_error *err);
/* The same expansion with names looked up by lookup(ud, name) (NULL:
 * unset), e.g. getenv for the process's own environment. */
int sp_expand_vars(char **out, const char *s, const char *(*lookup)(void *ud, const char *name),
		   void *ud, sp_error *err);
size_t sp_env_count(const sp_env *e);
const char *sp_env_name_at(const sp_env *e, size_t i);
const char *sp_env_value_at(const sp_env *e, size_t i);
/* A NULL-terminated NAME=VALUE array in one allocation (free() it). */
int sp_env_to_envp(char ***out, const sp_env *e, sp_error *err);
/* SHA-256 of the pairs sorted by name: equal environments, equal digests. */
int sp_env_digest(sp_digest *out, const sp_env *e, sp_error *err);

/* ---------------------------------------------------------- HTTP */

/* True for an http:// or https:// URL. */
bool sp_http_is_url(const char *s);
/* Downloads url (http or https; redirects are followed, on http(s) only)
 * and appends its bytes to fd, hashing them on the way: *digest and *size
 * describe exactly what was written. An HTTP error status, a stalled or
 * refused connection and a body over max bytes are errors (what was
 * written so far stays in fd: the caller writes to a temporary file).
 * libcurl is loaded on the first call. Progress is drawn on a terminal. */
int sp_http_download(const char *url, int fd, sp_digest *digest, uint64_t *size, uint64_t max,
		     sp_error *err);

/* ----------------------------------------------------------- misc */

uint64_t sp_now_ms(void);
/* Parses "90s", "15m", "2h", "7d", "0s", a bare number of seconds. */
int sp_parse_duration(uint64_t *out_seconds, const char *s, sp_error *err);
/* Formats a byte count as "1.5 MiB" into buf. */
void sp_format_bytes(char *buf, size_t n, uint64_t bytes);
/* True when s is valid UTF-8 of n bytes. */
bool sp_utf8_valid(const char *s, size_t n);

#endif /* SPAWN_COMMON_H */
