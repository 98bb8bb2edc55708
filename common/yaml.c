/* yaml.c - a bounded YAML document tree over libyaml. */
#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct builder {
	yaml_parser_t parser;
	const char *name;
	size_t nodes;
	sp_error *err;
} builder;

static void node_clear(sp_yaml_node *n)
{
	for (size_t i = 0; i < n->count; i++)
		node_clear(&n->children[i]);
	free(n->children);
	free(n->key);
	free(n->value);
	memset(n, 0, sizeof(*n));
}

void sp_yaml_free(sp_yaml_node *node)
{
	if (!node)
		return;
	node_clear(node);
	free(node);
}

void sp_yaml_freep(sp_yaml_node **node)
{
	sp_yaml_free(*node);
}

static int parse_error(builder *b)
{
	yaml_parser_t *p = &b->parser;
	const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->mark;
	return sp_error_set(b->err, SP_EINVALID, "%s:%zu:%zu: %s%s%s", b->name, m->line + 1,
			    m->column + 1, p->problem ? p->problem : "invalid YAML",
			    p->context ? " " : "", p->context ? p->context : "");
}

static int next_event(builder *b, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&b->parser, ev))
		return parse_error(b);
	if (ev->type == YAML_ALIAS_EVENT) {
		size_t line = ev->start_mark.line + 1, col = ev->start_mark.column + 1;
		yaml_event_delete(ev);
		return sp_error_set(b->err, SP_EINVALID,
				    "%s:%zu:%zu: aliases (*name) are not supported", b->name, line,
				    col);
	}
	return 0;
}

static int push_child(sp_yaml_node *parent, sp_yaml_node *child, sp_error *err)
{
	int rc =
	    sp_realloc_array((void **)&parent->children, parent->count + 1, sizeof(*child), err);
	if (rc)
		return rc;
	parent->children[parent->count++] = *child;
	return 0;
}

/* Builds the node that starts with `ev` (consumed). */
static int build(builder *b, yaml_event_t *ev, sp_yaml_node *out, int depth)
{
	memset(out, 0, sizeof(*out));
	out->line = ev->start_mark.line + 1;
	out->column = ev->start_mark.column + 1;
	if (++b->nodes > SP_YAML_MAX_NODES) {
		yaml_event_delete(ev);
		return sp_error_set(b->err, SP_EINVALID, "%s:%zu:%zu: more than %d nodes", b->name,
				    out->line, out->column, SP_YAML_MAX_NODES);
	}
	if (depth > SP_YAML_MAX_DEPTH) {
		yaml_event_delete(ev);
		return sp_error_set(b->err, SP_EINVALID, "%s:%zu:%zu: nested deeper than %d levels",
				    b->name, out->line, out->column, SP_YAML_MAX_DEPTH);
	}
	int rc = 0;
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		size_t len = ev->data.scalar.length;
		out->kind = SP_YAML_SCALAR;
		out->value = strndup((const char *)ev->data.scalar.value, len);
		yaml_event_delete(ev);
		if (!out->value)
			return sp_error_set(b->err, SP_ENOMEM, "out of memory");
		if (strlen(out->value) != len)
			return sp_error_set(b->err, SP_EINVALID,
					    "%s:%zu:%zu: value contains a NUL character", b->name,
					    out->line, out->column);
		return 0;
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool map = ev->type == YAML_MAPPING_START_EVENT;
		out->kind = map ? SP_YAML_MAP : SP_YAML_SEQ;
		yaml_event_delete(ev);
		_cleanup_free_ sp_yaml_key *keys = NULL; /* the map's keys, for the check */
		for (;;) {
			yaml_event_t e;
			if ((rc = next_event(b, &e)))
				return rc;
			if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&e);
				return map ? sp_yaml_check_keys(keys, out->count, b->name, b->err)
					   : 0;
			}
			char *key = NULL;
			size_t kline = e.start_mark.line + 1, kcol = e.start_mark.column + 1;
			if (map) {
				/* Refused before anything is built from it: a key is text. */
				if (e.type != YAML_SCALAR_EVENT) {
					bool seq = e.type == YAML_SEQUENCE_START_EVENT;
					yaml_event_delete(&e);
					return sp_error_set(b->err, SP_EINVALID,
							    "%s:%zu:%zu: a mapping key must be a "
							    "plain value, not %s",
							    b->name, kline, kcol,
							    seq ? "a list" : "a mapping");
				}
				sp_yaml_node k;
				if ((rc = build(b, &e, &k, depth + 1))) {
					node_clear(&k);
					return rc;
				}
				key = steal_pointer(&k.value);
				node_clear(&k);
				if ((rc = sp_realloc_array((void **)&keys, out->count + 1,
							   sizeof(*keys), b->err)) ||
				    (rc = next_event(b, &e))) {
					free(key);
					return rc;
				}
			}
			sp_yaml_node child;
			if ((rc = build(b, &e, &child, depth + 1))) {
				free(key);
				node_clear(&child);
				return rc;
			}
			child.key = key;
			if (map)
				child.key_line = kline, child.key_column = kcol;
			if ((rc = push_child(out, &child, b->err))) {
				node_clear(&child);
				return rc;
			}
			if (map)
				keys[out->count - 1] = (sp_yaml_key){key, kline, kcol};
		}
	}
	default: {
		size_t line = out->line, col = out->column;
		yaml_event_delete(ev);
		return sp_error_set(b->err, SP_EINVALID, "%s:%zu:%zu: unexpected YAML structure",
				    b->name, line, col);
	}
	}
}

int sp_yaml_parse(sp_yaml_node **out, const char *data, size_t n, const char *name, sp_error *err)
{
	if (n > SP_YAML_MAX_INPUT)
		return sp_error_set(err, SP_EINVALID, "%s: larger than %zu bytes", name,
				    SP_YAML_MAX_INPUT);
	builder b = {.name = name, .err = err};
	if (!yaml_parser_initialize(&b.parser))
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&b.parser, (const unsigned char *)data, n);
	_cleanup_(sp_yaml_freep) sp_yaml_node *root = calloc(1, sizeof(*root));
	int rc = root ? 0 : sp_error_set(err, SP_ENOMEM, "out of memory");
	yaml_event_t ev;
	/* STREAM-START, then DOCUMENT-START or STREAM-END (empty input). */
	if (!rc && !(rc = next_event(&b, &ev)))
		yaml_event_delete(&ev);
	if (!rc && !(rc = next_event(&b, &ev))) {
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			root->kind = SP_YAML_MAP;
		} else {
			yaml_event_delete(&ev);
			if (!(rc = next_event(&b, &ev)))
				rc = build(&b, &ev, root, 0);
		}
	}
	yaml_parser_delete(&b.parser);
	if (rc)
		return rc;
	*out = steal_pointer(&root);
	return 0;
}

static int key_cmp(const void *pa, const void *pb)
{
	const sp_yaml_key *a = pa, *b = pb;
	int c = strcmp(a->text, b->text);
	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->column < b->column ? -1 : a->column > b->column;
}

static bool key_before(const sp_yaml_key *a, const sp_yaml_key *b)
{
	return a->line < b->line || (a->line == b->line && a->column < b->column);
}

int sp_yaml_check_keys(sp_yaml_key *keys, size_t n, const char *file, sp_error *err)
{
	if (n < 2)
		return 0;
	/* Sorted by text then position: each run of equal keys starts with the
	 * first occurrence, then the second. O(n log n) for huge mappings. */
	qsort(keys, n, sizeof(*keys), key_cmp);
	const sp_yaml_key *first = NULL, *again = NULL;
	for (size_t i = 1; i < n; i++) {
		bool run_start = i == 1 || strcmp(keys[i - 2].text, keys[i - 1].text) != 0;
		if (run_start && strcmp(keys[i - 1].text, keys[i].text) == 0 &&
		    (!again || key_before(&keys[i], again))) {
			first = &keys[i - 1];
			again = &keys[i];
		}
	}
	if (!again)
		return 0;
	return sp_error_set(err, SP_EINVALID,
			    "%s:%zu:%zu: key '%.100s' appears twice (lines %zu and %zu)", file,
			    again->line, again->column, again->text, first->line, again->line);
}

const sp_yaml_node *sp_yaml_lookup(const sp_yaml_node *root, const char *path)
{
	const sp_yaml_node *n = root;
	const char *p = path;
	while (n && *p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		const sp_yaml_node *next = NULL;
		if (n->kind == SP_YAML_MAP)
			for (size_t i = 0; i < n->count; i++)
				if (strlen(n->children[i].key) == len &&
				    memcmp(n->children[i].key, p, len) == 0)
					next = &n->children[i];
		n = next;
		p = dot ? dot + 1 : p + len;
	}
	return n;
}
