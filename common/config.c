/* config.c - the configuration files (docs/config.md): read once per
 * process, checked against the settings Spawn knows, looked up by dotted
 * path.
 *
 * Files: $SPAWN_CONFIG alone when set; else /etc/spawn/config.yaml, then the
 * user's $XDG_CONFIG_HOME/spawn/config.yaml (~/.config/spawn/config.yaml when
 * XDG_CONFIG_HOME is unset or not absolute, as the XDG spec says); a setting
 * in a later file wins. A missing or unreadable file is no file. A file that
 * does not parse, or whose setting has the wrong shape (a list where a value
 * belongs), is SP_ECONFIG naming file:line:column; a key Spawn does not know
 * is a warning with its file:line:column (and the nearest known key), then
 * ignored, so a typo never passes silently.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Every setting, with the mappings that hold them. Add new ones here and
 * in docs/config.md. */
static const struct {
	const char *path;
	bool map;
} known[] = {
    {"storage", false},			/* the store (the documented form) */
    {"spfs", true},			/**/
    {"spfs.storage", false},		/* the store (also accepted) */
    {"spfs.runtime", true},		/**/
    {"spfs.runtime.tmpfs_size", false}, /**/
    {"spfs.runtime.max_layers", false}, /**/
    {"spfs.runtime.mode", false},	/**/
};

/* Settings with two spellings: the first wins when a file has both. */
static const struct {
	const char *path, *alias;
} aliases[] = {{"storage", "spfs.storage"}};

enum { MAX_FILES = 2 };

static struct {
	pthread_mutex_t lock;
	bool loaded;
	int rc;
	sp_error err; /* the load's error, when rc */
	size_t nfiles;
	char *file[MAX_FILES];
	sp_yaml_node *doc[MAX_FILES]; /* NULL: the file does not exist */
} cfg = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int known_index(const char *path)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(known[i].path, path))
			return (int)i;
	return -1;
}

/* Edit distance of two short strings (SIZE_MAX when too long to bother). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return (size_t)-1;
	size_t row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static void warn_unknown(const char *file, const sp_yaml_node *n, const char *path)
{
	const char *near = NULL;
	size_t best = 3; /* suggest within two edits */
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		size_t d = distance(path, known[i].path);
		if (d < best)
			best = d, near = known[i].path;
	}
	sp_warn("%s:%zu:%zu: unknown setting '%s'%s%s%s (ignored; see docs/config.md)", file,
		n->key_line, n->key_column, path, near ? " (did you mean '" : "", near ? near : "",
		near ? "'?)" : "");
}

/* Checks the settings below map `n` (whose dotted path is `prefix`). */
static int check_map(const char *file, const sp_yaml_node *n, const char *prefix, sp_error *err)
{
	for (size_t i = 0; i < n->count; i++) {
		const sp_yaml_node *c = &n->children[i];
		char path[256];
		int len =
		    snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", c->key);
		int k = len > 0 && (size_t)len < sizeof(path) ? known_index(path) : -1;
		if (k < 0) {
			warn_unknown(file, c,
				     len > 0 && (size_t)len < sizeof(path) ? path : c->key);
			continue;
		}
		/* `spfs:` with nothing under it is an empty mapping */
		bool empty = c->kind == SP_YAML_SCALAR && !c->value[0];
		if (known[k].map && c->kind != SP_YAML_MAP && !empty)
			return sp_error_set(err, SP_ECONFIG,
					    "%s:%zu:%zu: '%s' must be a mapping of settings", file,
					    c->key_line, c->key_column, path);
		if (!known[k].map && c->kind != SP_YAML_SCALAR)
			return sp_error_set(err, SP_ECONFIG,
					    "%s:%zu:%zu: '%s' must be a single value", file,
					    c->key_line, c->key_column, path);
		if (known[k].map && c->kind == SP_YAML_MAP) {
			int rc = check_map(file, c, path, err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* Reads and checks one file into *out (NULL when it does not exist). */
static int load_file(sp_yaml_node **out, const char *file, sp_error *err)
{
	*out = NULL;
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int rc = sp_read_file_at(&data, &len, AT_FDCWD, file, SP_YAML_MAX_INPUT, err);
	if (rc == SP_ENOTFOUND || (rc && (err->sys_errno == EACCES || err->sys_errno == ENOTDIR))) {
		sp_error_clear(err);
		return 0;
	}
	if (rc)
		return sp_error_prefix(err, "cannot read configuration");
	_cleanup_(sp_yaml_freep) sp_yaml_node *doc = NULL;
	if ((rc = sp_yaml_parse(&doc, data, len, file, err)))
		return rc == SP_ENOMEM ? rc : (err->code = SP_ECONFIG);
	if (doc->kind != SP_YAML_MAP)
		return sp_error_set(err, SP_ECONFIG, "%s:%zu:%zu: expected a mapping of settings",
				    file, doc->line, doc->column);
	if ((rc = check_map(file, doc, "", err)))
		return rc;
	*out = steal_pointer(&doc);
	return 0;
}

/* The files to read, in order (caller frees each). */
static int file_list(char **files, size_t *n, sp_error *err)
{
	*n = 0;
	const char *only = getenv("SPAWN_CONFIG");
	if (only && *only) {
		if (!(files[(*n)++] = strdup(only)))
			return sp_error_set(err, SP_ENOMEM, "out of memory");
		return 0;
	}
	if (!(files[(*n)++] = strdup("/etc/spawn/config.yaml")))
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	const char *base = xdg && xdg[0] == '/' ? xdg : home && *home ? home : NULL;
	if (!base)
		return 0;
	const char *rest = base == xdg ? "/spawn/config.yaml" : "/.config/spawn/config.yaml";
	size_t len = strlen(base) + strlen(rest) + 1;
	char *p = malloc(len);
	if (!p)
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	snprintf(p, len, "%s%s", base, rest);
	files[(*n)++] = p;
	return 0;
}

static void unload(void)
{
	for (size_t i = 0; i < cfg.nfiles; i++) {
		free(cfg.file[i]);
		sp_yaml_free(cfg.doc[i]);
		cfg.file[i] = NULL;
		cfg.doc[i] = NULL;
	}
	cfg.nfiles = 0;
	cfg.loaded = false;
	cfg.rc = 0;
	sp_error_clear(&cfg.err);
}

/* With cfg.lock held. */
static int load_locked(sp_error *err)
{
	if (!cfg.loaded) {
		cfg.loaded = true;
		int rc = file_list(cfg.file, &cfg.nfiles, &cfg.err);
		for (size_t i = 0; !rc && i < cfg.nfiles; i++)
			rc = load_file(&cfg.doc[i], cfg.file[i], &cfg.err);
		cfg.rc = rc;
	}
	if (cfg.rc) {
		sp_error_set(err, cfg.rc, "%s", cfg.err.msg);
		err->sys_errno = cfg.err.sys_errno;
	}
	return cfg.rc;
}

int sp_config_load(sp_error *err)
{
	pthread_mutex_lock(&cfg.lock);
	int rc = load_locked(err);
	pthread_mutex_unlock(&cfg.lock);
	return rc;
}

void sp_config_reset(void)
{
	pthread_mutex_lock(&cfg.lock);
	unload();
	pthread_mutex_unlock(&cfg.lock);
}

/* The node for path in one document, trying its aliases. */
static const sp_yaml_node *find(const sp_yaml_node *doc, const char *path)
{
	const sp_yaml_node *n = sp_yaml_lookup(doc, path);
	for (size_t i = 0; !n && i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(aliases[i].path, path))
			n = sp_yaml_lookup(doc, aliases[i].alias);
	return n;
}

int sp_config_get(char **out, const char *path, sp_error *err)
{
	*out = NULL;
	pthread_mutex_lock(&cfg.lock);
	int rc = load_locked(err);
	const sp_yaml_node *hit = NULL;
	const char *file = NULL;
	for (size_t i = 0; !rc && i < cfg.nfiles; i++) {
		const sp_yaml_node *n = cfg.doc[i] ? find(cfg.doc[i], path) : NULL;
		if (n)
			hit = n, file = cfg.file[i];
	}
	if (!rc && hit && hit->kind != SP_YAML_SCALAR)
		rc = sp_error_set(err, SP_ECONFIG, "%s:%zu:%zu: '%s' must be a single value", file,
				  hit->line, hit->column, path);
	if (!rc && hit && !(*out = strdup(hit->value)))
		rc = sp_error_set(err, SP_ENOMEM, "out of memory");
	pthread_mutex_unlock(&cfg.lock);
	return rc;
}
