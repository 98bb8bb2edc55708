/* level.c - one catalog file (spawn.yaml) parsed and checked on its own:
 * its keys, their types, names and environment operations. Merging the
 * files of a context is catalog.c's job. Every error names
 * file:line:column and what was expected there. */
#include "catalog/catalog_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct ctx {
	catalog__arena *a;
	const char *file;
	sp_error *err;
} ctx;

static int fail(ctx *c, const sp_yaml_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(ctx *c, const sp_yaml_node *n, const char *fmt, ...)
{
	char what[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* an empty document's root has no position: its first line */
	bool pos = n && n->line;
	return sp_error_set(c->err, SP_EINVALID, "%s:%zu:%zu: %s", c->file, pos ? n->line : 1,
			    pos ? n->column : 1, what);
}

static catalog_origin at(ctx *c, const sp_yaml_node *n)
{
	return (catalog_origin){c->file, n->line, n->column};
}

static const char *kind_name(const sp_yaml_node *n)
{
	return n->kind == SP_YAML_MAP	? "a mapping"
	       : n->kind == SP_YAML_SEQ ? "a list"
					: "a string";
}

/* Every key of map n is one of `known`; else an error naming the key, the
 * place it was found and the keys that are allowed there. */
static int check_keys(ctx *c, const sp_yaml_node *n, const char *where, const char *const *known)
{
	for (size_t i = 0; i < n->count; i++) {
		const sp_yaml_node *k = &n->children[i];
		bool ok = false;
		for (size_t j = 0; known[j] && !ok; j++)
			ok = !strcmp(k->key, known[j]);
		if (ok)
			continue;
		char list[400] = "";
		size_t off = 0;
		for (size_t j = 0; known[j]; j++)
			off += snprintf(list + off, sizeof(list) > off ? sizeof(list) - off : 0,
					"%s%s", j ? ", " : "", known[j]);
		return fail(c, k, "%s: unknown key '%s' (expected one of: %s)", where, k->key,
			    list);
	}
	return 0;
}

static const sp_yaml_node *get(const sp_yaml_node *map, const char *key)
{
	for (size_t i = 0; i < map->count; i++)
		if (!strcmp(map->children[i].key, key))
			return &map->children[i];
	return NULL;
}

static int want(ctx *c, const sp_yaml_node *n, sp_yaml_kind kind, const char *what)
{
	if (n->kind == kind)
		return 0;
	static const char *const names[] = {"", "a string", "a mapping", "a list"};
	return fail(c, n, "%s: expected %s, got %s", what, names[kind], kind_name(n));
}

static int scalar(ctx *c, const sp_yaml_node *n, const char *what, catalog_str *out)
{
	int rc = want(c, n, SP_YAML_SCALAR, what);
	if (rc)
		return rc;
	if (!n->value[0])
		return fail(c, n, "%s: empty", what);
	if (!sp_utf8_valid(n->value, strlen(n->value)))
		return fail(c, n, "%s: not valid UTF-8", what);
	*out = (catalog_str){n->value, at(c, n)};
	return 0;
}

/* A list of non-empty strings. */
static int str_list(ctx *c, const sp_yaml_node *n, const char *what, catalog_str **out,
		    size_t *nout)
{
	int rc = want(c, n, SP_YAML_SEQ, what);
	if (rc)
		return rc;
	if (n->count > CATALOG__MAX_LIST)
		return fail(c, n, "%s: more than %d entries", what, CATALOG__MAX_LIST);
	catalog_str *v = catalog__alloc(c->a, n->count ? n->count : 1, sizeof(*v), c->err);
	if (!v)
		return c->err->code;
	for (size_t i = 0; i < n->count; i++) {
		char item[200];
		snprintf(item, sizeof(item), "%s[%zu]", what, i);
		if ((rc = scalar(c, &n->children[i], item, &v[i])))
			return rc;
	}
	*out = v;
	*nout = n->count;
	return 0;
}

/* Names of targets and levels: a letter or digit, then letters, digits,
 * '.', '_', '-', '+' (targets) or lowercase, digits and '_' (levels). */
static bool good_name(const char *s, size_t max, bool level)
{
	size_t n = strlen(s);
	if (!n || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
			     (!level && ch >= 'A' && ch <= 'Z');
		if (alnum)
			continue;
		if (i == 0)
			return false;
		if (level ? ch != '_' : !strchr("._-+", ch))
			return false;
	}
	return !(level && s[0] >= '0' && s[0] <= '9');
}

/* ------------------------------------------------- environment operations */

static const char *const env_kinds[] = {"set",	    "append",  "prepend", "unset",
					"priority", "comment", NULL};
static const char *const env_keys[] = {"set",	  "append", "prepend",	 "unset", "priority",
				       "comment", "value",  "separator", NULL};

static bool env_var_name(const char *s)
{
	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return strlen(s) <= 255;
}

static int env_ops(ctx *c, const sp_yaml_node *n, const char *what, catalog_env_op **out,
		   size_t *nout)
{
	int rc = want(c, n, SP_YAML_SEQ, what);
	if (rc)
		return rc;
	if (n->count > CATALOG__MAX_LIST)
		return fail(c, n, "%s: more than %d operations", what, CATALOG__MAX_LIST);
	catalog_env_op *v = catalog__alloc(c->a, n->count ? n->count : 1, sizeof(*v), c->err);
	if (!v)
		return c->err->code;
	for (size_t i = 0; i < n->count; i++) {
		const sp_yaml_node *e = &n->children[i];
		char item[200];
		snprintf(item, sizeof(item), "%s[%zu]", what, i);
		if ((rc = want(c, e, SP_YAML_MAP, item)) || (rc = check_keys(c, e, item, env_keys)))
			return rc;
		const sp_yaml_node *which = NULL;
		for (size_t k = 0; env_kinds[k]; k++) {
			const sp_yaml_node *x = get(e, env_kinds[k]);
			if (!x)
				continue;
			if (which)
				return fail(c, x, "%s: both '%s' and '%s' (one operation each)",
					    item, which->key, x->key);
			which = x;
		}
		if (!which)
			return fail(c, e,
				    "%s: expected one of set, append, prepend, unset, priority, "
				    "comment",
				    item);
		catalog_str var;
		if ((rc = scalar(c, which, item, &var)))
			return rc;
		catalog_env_op *op = &v[i];
		op->op = which->key;
		op->var = var.text;
		op->at = at(c, e);
		const sp_yaml_node *val = get(e, "value"), *sep = get(e, "separator");
		bool needs_value = !strcmp(op->op, "set") || !strcmp(op->op, "append") ||
				   !strcmp(op->op, "prepend");
		if (!strcmp(op->op, "priority")) {
			char *end;
			errno = 0;
			long p = strtol(op->var, &end, 10);
			if (errno || *end || p < 0 || p > 99)
				return fail(
				    c, which,
				    "%s: priority: expected a number from 0 to 99, got '%s'", item,
				    op->var);
		} else if (strcmp(op->op, "comment") && !env_var_name(op->var)) {
			return fail(c, which, "%s: '%s' is not a variable name", item, op->var);
		}
		if (needs_value && !val)
			return fail(c, e, "%s: %s %s: missing 'value'", item, op->op, op->var);
		if (!needs_value && (val || sep))
			return fail(c, val ? val : sep, "%s: %s takes no '%s'", item, op->op,
				    val ? "value" : "separator");
		if (val) {
			/* an empty value is a value ("set: X, value: ''") */
			if ((rc = want(c, val, SP_YAML_SCALAR, "value")))
				return rc;
			op->value = val->value;
		}
		if (sep) {
			if ((rc = want(c, sep, SP_YAML_SCALAR, "separator")))
				return rc;
			if (!strcmp(op->op, "set"))
				return fail(c, sep, "%s: set takes no 'separator'", item);
			op->separator = sep->value;
		}
	}
	*out = v;
	*nout = n->count;
	return 0;
}

/* ------------------------------------------------------------- targets */

static const char *const target_keys[] = {
    "title", "icon", "category", "command", "requests", "environment", "hidden", "frozen", NULL};

static int parse_bool(ctx *c, const sp_yaml_node *n, const char *what, bool *out)
{
	int rc = want(c, n, SP_YAML_SCALAR, what);
	if (rc)
		return rc;
	if (!strcmp(n->value, "true"))
		*out = true;
	else if (!strcmp(n->value, "false"))
		*out = false;
	else
		return fail(c, n, "%s: expected true or false, got '%s'", what, n->value);
	return 0;
}

static int parse_target(ctx *c, const sp_yaml_node *n, catalog__target_decl *t)
{
	char where[300];
	snprintf(where, sizeof(where), "target '%s'", n->key);
	if (!good_name(n->key, CATALOG__MAX_TARGET_NAME, false))
		return fail(c, n,
			    "target '%.200s': a target name is a letter or digit, then letters, "
			    "digits, '.', '_', '-' or '+' (at most %d)",
			    n->key, CATALOG__MAX_TARGET_NAME);
	t->name = n->key;
	t->at = at(c, n);
	int rc = want(c, n, SP_YAML_MAP, where);
	if (rc || (rc = check_keys(c, n, where, target_keys)))
		return rc;
	const sp_yaml_node *x;
	char what[400];
#define FIELD(key) (snprintf(what, sizeof(what), "%s: %s", where, key), what)
	if ((x = get(n, "title"))) {
		t->has_title = true;
		if ((rc = scalar(c, x, FIELD("title"), &t->title)))
			return rc;
	}
	if ((x = get(n, "icon"))) {
		t->has_icon = true;
		if ((rc = scalar(c, x, FIELD("icon"), &t->icon)))
			return rc;
	}
	if ((x = get(n, "category"))) {
		t->has_category = true;
		if ((rc = scalar(c, x, FIELD("category"), &t->category)))
			return rc;
	}
	if ((x = get(n, "command"))) {
		t->has_command = true;
		if (x->kind == SP_YAML_SCALAR)
			return fail(c, x,
				    "%s: command: expected a list of words, as argv ([dcc, "
				    "--batch]), got a string",
				    where);
		if ((rc = str_list(c, x, FIELD("command"), &t->command, &t->ncommand)))
			return rc;
		if (!t->ncommand)
			return fail(c, x, "%s: command: empty (at least the program)", where);
	}
	if ((x = get(n, "requests"))) {
		t->has_requests = true;
		if ((rc = str_list(c, x, FIELD("requests"), &t->requests, &t->nrequests)))
			return rc;
	}
	if ((x = get(n, "environment"))) {
		t->has_environment = true;
		if ((rc = env_ops(c, x, FIELD("environment"), &t->environment, &t->nenvironment)))
			return rc;
	}
	if ((x = get(n, "hidden"))) {
		t->has_hidden = true;
		t->hidden_at = at(c, x);
		if ((rc = parse_bool(c, x, FIELD("hidden"), &t->hidden)))
			return rc;
	}
	if ((x = get(n, "frozen"))) {
		t->has_frozen = true;
		static const char *const frozen_keys[] = {"platform", "environment", NULL};
		if ((rc = want(c, x, SP_YAML_MAP, FIELD("frozen"))) ||
		    (rc = check_keys(c, x, FIELD("frozen"), frozen_keys)))
			return rc;
		const sp_yaml_node *p = get(x, "platform");
		if (!p)
			return fail(c, x, "%s: frozen: missing 'platform' (a platform digest)",
				    where);
		if ((rc = scalar(c, p, FIELD("frozen: platform"), &t->frozen_platform)))
			return rc;
		const char *d = t->frozen_platform.text;
		if (strlen(d) != SP_DIGEST_HEX_LEN || !sp_digest_is_hex(d, SP_DIGEST_HEX_LEN))
			return fail(c, p,
				    "%s: frozen: platform: expected a digest of 64 lowercase hex "
				    "characters, got '%.80s'",
				    where, d);
		const sp_yaml_node *e = get(x, "environment");
		if (e && (rc = env_ops(c, e, FIELD("frozen: environment"), &t->frozen_environment,
				       &t->nfrozen_environment)))
			return rc;
	}
#undef FIELD
	return 0;
}

/* ------------------------------------------------------------ the file */

static const char *const facility_keys[] = {"api",	   "levels", "targets", "pins",
					    "environment", "remove", "plugins", NULL};
static const char *const level_keys[] = {"api",	   "targets", "pins", "environment",
					 "remove", "plugins", NULL};

static int parse_levels(ctx *c, const sp_yaml_node *x, catalog__level *lv)
{
	catalog_str *names;
	size_t n;
	int rc = str_list(c, x, "levels", &names, &n);
	if (rc)
		return rc;
	if (!n || n > 8)
		return fail(c, x, "levels: expected 1 to 8 level names, got %zu", n);
	const char **v = catalog__alloc(c->a, n, sizeof(*v), c->err);
	if (!v)
		return c->err->code;
	for (size_t i = 0; i < n; i++) {
		if (!good_name(names[i].text, CATALOG__MAX_LEVEL_NAME, true))
			return fail(c, &x->children[i],
				    "levels: '%.100s' is not a level name (lowercase letters, "
				    "digits and '_', starting with a letter, at most %d)",
				    names[i].text, CATALOG__MAX_LEVEL_NAME);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(v[j], names[i].text))
				return fail(c, &x->children[i], "levels: '%s' is named twice",
					    names[i].text);
		v[i] = names[i].text;
	}
	lv->levels = v;
	lv->nlevels = n;
	lv->levels_at = at(c, x);
	return 0;
}

int catalog__level_parse(catalog__level *lv, catalog__arena *a, const char *text, size_t len,
			 const char *file, bool facility, sp_error *err)
{
	memset(lv, 0, sizeof(*lv));
	lv->file = file;
	ctx cx = {a, file, err}, *c = &cx;
	int rc = sp_yaml_parse(&lv->tree, text, len, file, err);
	if (rc)
		return rc;
	const sp_yaml_node *root = lv->tree;
	if (root->kind != SP_YAML_MAP)
		return fail(c, root, "expected a mapping (api, targets, pins, ...), got %s",
			    kind_name(root));
	const char *where = facility ? "the facility file" : "a catalog file";
	if ((rc = check_keys(c, root, where, facility ? facility_keys : level_keys))) {
		if (!facility && get(root, "levels"))
			return fail(c, get(root, "levels"),
				    "levels: only the facility file (the catalog's top "
				    "spawn.yaml) names the levels");
		return rc;
	}
	const sp_yaml_node *x = get(root, "api");
	if (!x)
		return fail(c, root, "missing 'api: spawn/v1' (the format of this file)");
	if (x->kind != SP_YAML_SCALAR || strcmp(x->value, "spawn/v1") != 0)
		return fail(c, x, "api: expected spawn/v1, got '%.80s'",
			    x->kind == SP_YAML_SCALAR ? x->value : kind_name(x));
	if ((x = get(root, "levels")) && (rc = parse_levels(c, x, lv)))
		return rc;
	if ((x = get(root, "targets"))) {
		if ((rc = want(c, x, SP_YAML_MAP, "targets")))
			return rc;
		if (x->count > CATALOG__MAX_LIST)
			return fail(c, x, "targets: more than %d", CATALOG__MAX_LIST);
		lv->targets = catalog__alloc(a, x->count ? x->count : 1, sizeof(*lv->targets), err);
		if (!lv->targets)
			return err->code;
		for (size_t i = 0; i < x->count; i++)
			if ((rc = parse_target(c, &x->children[i], &lv->targets[i])))
				return rc;
		lv->ntargets = x->count;
	}
	if ((x = get(root, "pins")) && (rc = str_list(c, x, "pins", &lv->pins, &lv->npins)))
		return rc;
	if ((x = get(root, "environment")) &&
	    (rc = env_ops(c, x, "environment", &lv->environment, &lv->nenvironment)))
		return rc;
	if ((x = get(root, "remove"))) {
		if ((rc = str_list(c, x, "remove", &lv->remove, &lv->nremove)))
			return rc;
	}
	if ((x = get(root, "plugins"))) {
		if ((rc = str_list(c, x, "plugins", &lv->plugins, &lv->nplugins)))
			return rc;
		for (size_t i = 0; i < lv->nplugins; i++) {
			const char *p = lv->plugins[i].text;
			if (p[0] == '/' || !strcmp(p, "..") || !strncmp(p, "../", 3) ||
			    strstr(p, "/../") ||
			    (strlen(p) >= 3 && !strcmp(p + strlen(p) - 3, "/..")))
				return fail(c, &x->children[i],
					    "plugins: '%.200s' must be a path inside the catalog, "
					    "relative to this file's directory (no '..', not "
					    "absolute)",
					    p);
		}
	}
	return 0;
}

void catalog__level_free(catalog__level *lv)
{
	sp_yaml_free(lv->tree);
	lv->tree = NULL;
}

size_t catalog__distance(const char *a, const char *b, size_t cap)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 256 || lb > 256)
		return cap + 1;
	if ((la > lb ? la - lb : lb - la) > cap)
		return cap + 1;
	size_t row[257];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0], best;
		row[0] = i;
		best = row[0];
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t v = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
			if (v < best)
				best = v;
		}
		if (best > cap)
			return cap + 1;
	}
	return row[lb] > cap ? cap + 1 : row[lb];
}
