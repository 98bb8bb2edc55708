/* yamltree.c - builds a YAML node tree from libyaml's event stream with an
 * explicit stack, so depth, node count and scalar sizes are bounded and deep
 * nesting never recurses. Aliases are refused (no "billion laughs"). */
#include "pkg/yamltree.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct frame {
	pkg__ynode *node;
	size_t cap;
} frame;

static int add_child(pkg__ynode *parent, size_t *cap, pkg__ynode *child, solver_arena *a,
		     sp_error *err)
{
	if (parent->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		pkg__ynode **it = solver_arena_array(a, nc, sizeof(*it), err);
		if (!it)
			return err->code;
		if (parent->n)
			memcpy(it, parent->items, parent->n * sizeof(*it));
		parent->items = it;
		*cap = nc;
	}
	parent->items[parent->n++] = child;
	return 0;
}

/* The keys of a finished mapping differ (common's rule and message). */
static int unique_keys(const pkg__ynode *m, const char *file, sp_error *err)
{
	size_t n = m->n / 2;
	if (n < 2)
		return 0;
	_cleanup_free_ sp_yaml_key *keys = NULL;
	int rc = sp_calloc((void **)&keys, n, sizeof(*keys), err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const pkg__ynode *k = m->items[2 * i];
		keys[i] = (sp_yaml_key){k->s, k->line, k->col};
	}
	return sp_yaml_check_keys(keys, n, file, err);
}

int pkg__yaml_load(pkg__ynode ***docs, size_t *ndocs, solver_arena *a, const char *text, size_t len,
		   const char *file, const pkg_limits *lim, sp_error *err)
{
	*docs = NULL;
	*ndocs = 0;
	if (len > lim->max_file)
		return sp_error_set(err, SP_EINVALID, "%s: larger than %zu bytes", file,
				    lim->max_file);
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return sp_error_set(err, SP_ENOMEM, "%s: cannot start the YAML parser", file);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	frame *stack = calloc(lim->max_depth + 1, sizeof(*stack));
	pkg__ynode **out = NULL;
	size_t nout = 0, capout = 0, depth = 0, nodes = 0;
	int rc = 0;
	if (!stack) {
		yaml_parser_delete(&p);
		return sp_error_set(err, SP_ENOMEM, "out of memory");
	}
	bool done = false;
	while (!done && !rc) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			rc = sp_error_set(err, SP_EINVALID, "%s:%zu:%zu: invalid YAML: %s%s%s",
					  file, p.problem_mark.line + 1, p.problem_mark.column + 1,
					  p.problem ? p.problem : "syntax error",
					  p.context ? " " : "", p.context ? p.context : "");
			break;
		}
		size_t line = ev.start_mark.line + 1, col = ev.start_mark.column + 1;
		pkg__ynode *node = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT: done = true; break;
		case YAML_DOCUMENT_START_EVENT:
			if (nout >= lim->max_docs)
				rc = sp_error_set(err, SP_EINVALID,
						  "%s:%zu:%zu: more than %zu documents", file, line,
						  col, lim->max_docs);
			break;
		case YAML_ALIAS_EVENT:
			rc = sp_error_set(err, SP_EINVALID,
					  "%s:%zu:%zu: YAML aliases are not supported in specs",
					  file, line, col);
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++nodes > lim->max_nodes) {
				rc = sp_error_set(err, SP_EINVALID,
						  "%s:%zu:%zu: more than %zu YAML nodes", file,
						  line, col, lim->max_nodes);
				break;
			}
			node = solver_arena_alloc(a, sizeof(*node), err);
			if (!node) {
				rc = err->code;
				break;
			}
			node->line = line;
			node->col = col;
			if (ev.type == YAML_SCALAR_EVENT) {
				if (ev.data.scalar.length > lim->max_scalar) {
					rc = sp_error_set(err, SP_EINVALID,
							  "%s:%zu:%zu: value longer than %zu bytes",
							  file, line, col, lim->max_scalar);
					break;
				}
				node->type = PKG__Y_SCALAR;
				node->s =
				    solver_arena_strndup(a, (const char *)ev.data.scalar.value,
							 ev.data.scalar.length, err);
				node->len = ev.data.scalar.length;
				node->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
				if (!node->s) {
					rc = err->code;
					break;
				}
				if (memchr(node->s, '\0', node->len)) {
					rc = sp_error_set(err, SP_EINVALID,
							  "%s:%zu:%zu: NUL byte in a value", file,
							  line, col);
					break;
				}
			} else {
				node->type =
				    ev.type == YAML_SEQUENCE_START_EVENT ? PKG__Y_SEQ : PKG__Y_MAP;
			}
			if (depth == 0) {
				if (nout == capout) {
					size_t nc = capout ? capout * 2 : 4;
					pkg__ynode **o2 =
					    solver_arena_array(a, nc, sizeof(*o2), err);
					if (!o2) {
						rc = err->code;
						break;
					}
					if (nout)
						memcpy(o2, out, nout * sizeof(*o2));
					out = o2;
					capout = nc;
				}
				out[nout++] = node;
			} else {
				frame *f = &stack[depth - 1];
				if (f->node->type == PKG__Y_MAP && f->node->n % 2 == 0 &&
				    node->type != PKG__Y_SCALAR) {
					rc = sp_error_set(err, SP_EINVALID,
							  "%s:%zu:%zu: a mapping key must be a "
							  "plain value, not %s",
							  file, line, col,
							  node->type == PKG__Y_SEQ ? "a list"
										   : "a mapping");
					break;
				}
				rc = add_child(f->node, &f->cap, node, a, err);
				if (rc)
					break;
			}
			if (node->type != PKG__Y_SCALAR) {
				if (depth >= lim->max_depth) {
					rc = sp_error_set(
					    err, SP_EINVALID,
					    "%s:%zu:%zu: nested deeper than %zu levels", file, line,
					    col, lim->max_depth);
					break;
				}
				stack[depth].node = node;
				stack[depth].cap = 0;
				depth++;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0) {
				depth--;
				if (ev.type == YAML_MAPPING_END_EVENT)
					rc = unique_keys(stack[depth].node, file, err);
			}
			break;
		default: break;
		}
		yaml_event_delete(&ev);
	}
	free(stack);
	yaml_parser_delete(&p);
	if (rc)
		return rc;
	*docs = out;
	*ndocs = nout;
	return 0;
}

long pkg__ymap_key(const pkg__ynode *m, const char *key)
{
	if (!m || m->type != PKG__Y_MAP)
		return -1;
	for (size_t i = 0; i + 1 < m->n; i += 2)
		if (m->items[i]->type == PKG__Y_SCALAR && !strcmp(m->items[i]->s, key))
			return (long)i;
	return -1;
}

const pkg__ynode *pkg__ymap_get(const pkg__ynode *m, const char *key)
{
	long i = pkg__ymap_key(m, key);
	return i < 0 ? NULL : m->items[i + 1];
}
