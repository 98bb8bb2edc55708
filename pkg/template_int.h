/* template_int.h - what template.c (tags, parser, evaluator) and
 * template_filters.c (filters, tests, functions) share (pkg-internal). */
#ifndef SPAWN_PKG_TEMPLATE_INT_H
#define SPAWN_PKG_TEMPLATE_INT_H

#include "pkg/template.h"

#include <stdint.h>

/* ------------------------------------------------------------- values */

typedef enum { V_UNDEF = 0, V_NULL, V_BOOL, V_INT, V_FLOAT, V_STR, V_ARR, V_MAP } vkind;

typedef struct tval {
	vkind k;
	bool b;
	int64_t i;
	double f;
	const char *s; /* V_STR (NUL-terminated), and the missing name for V_UNDEF */
	size_t n;      /* string length, items, or entries */
	struct tval *items;
	const char **keys; /* V_MAP: keys parallel to items */
} tval;

/* ------------------------------------------------------------ the tree */

typedef enum {
	E_LIT,
	E_VAR,
	E_ATTR,
	E_INDEX,
	E_FILTER,
	E_CALL,
	E_TEST,
	E_BIN,
	E_NOT,
	E_NEG,
	E_LIST,
} ekind;

enum {
	OP_OR = 1,
	OP_AND,
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_LE,
	OP_GT,
	OP_GE,
	OP_IN,
	OP_NOTIN,
	OP_CAT,
	OP_ADD,
	OP_SUB,
	OP_MUL,
	OP_DIV,
	OP_MOD,
};

typedef struct expr {
	ekind k;
	size_t line, col;
	tval lit;
	const char *name; /* variable, attribute, filter, function or test */
	struct expr *a, *b;
	int op;
	bool negate; /* `is not` */
	const char **knames;
	struct expr **kvals; /* named arguments; for a test, kvals[0] is its argument */
	size_t nk;
	struct expr **items; /* E_LIST */
	size_t nitems;
} expr;

typedef enum { N_TEXT, N_EXPR, N_SET, N_IF, N_FOR, N_BREAK, N_CONTINUE } nkind;

typedef struct node node;
typedef struct nlist {
	node **v;
	size_t n, cap;
} nlist;

struct node {
	nkind k;
	size_t line, col;
	const char *s; /* N_TEXT */
	size_t n;
	expr *e; /* N_EXPR, N_SET value, N_FOR iterable */
	/* N_SET */
	const char *target;
	const char **path; /* .attr after the target */
	size_t npath;
	bool global;
	/* N_IF: conds[i] guards bodies[i]; els when none holds */
	expr **conds;
	nlist *bodies;
	size_t nconds;
	nlist els;
	/* N_FOR */
	const char *kvar, *vvar; /* kvar NULL: one variable */
	nlist body;
};

/* ---------------------------------------------------------- the render */

typedef struct scope {
	const char **names;
	tval *vals;
	size_t n, cap;
} scope;

typedef struct rnd {
	solver_arena *a;
	const char *file;
	const pkg__template_limits *lim;
	sp_error *err;
	size_t used;  /* bytes of values allocated */
	size_t iters; /* loop iterations so far */
	scope *scopes;
	size_t nscopes;
	sp_buf *out;
	size_t line, col; /* of the tag being worked on, for messages */
} rnd;

static inline tval vstr(const char *s, size_t n)
{
	return (tval){.k = V_STR, .s = s, .n = n};
}

/* Sets err to "FILE:LINE:COL: template: ..." and returns its code. */
int pkg__tpl_fail(rnd *r, size_t line, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Zeroed memory in the render's arena, counted against max_memory. */
void *pkg__tpl_alloc(rnd *r, size_t n);
void *pkg__tpl_array(rnd *r, size_t count, size_t size);
char *pkg__tpl_strndup(rnd *r, const char *s, size_t n);
/* "a string", "a list"...: a value's kind in messages. */
const char *pkg__tpl_kind(vkind k);
/* Appends to b, refusing to grow past max_output. */
int pkg__tpl_append(rnd *r, sp_buf *b, const char *s, size_t n);
/* A value as the template prints it (undefined is an error). */
int pkg__tpl_text(rnd *r, const tval *v, sp_buf *b);
/* A value as a string value (numbers and booleans as printed). */
int pkg__tpl_string(rnd *r, const tval *v, tval *out);
/* The value of key k in map m, or NULL. */
const tval *pkg__tpl_map_get(const tval *m, const char *k);
/* A copy of map m (undefined: a new map) with k set to v. */
int pkg__tpl_map_with(rnd *r, const tval *m, const char *k, const tval *v, tval *out);
bool pkg__tpl_equal(const tval *a, const tval *b);
/* 0, or an error naming the expression (a.b.c) when v is undefined. */
int pkg__tpl_defined(rnd *r, const expr *e, const tval *v);
int pkg__tpl_lookup(rnd *r, const char *name, tval *out);
/* A filter's or function's named argument, evaluated; *given false when absent. */
int pkg__tpl_kwarg(rnd *r, const expr *e, const char *name, tval *out, bool *given);
/* Refuses named arguments not in allowed (NULL-terminated). */
int pkg__tpl_check_kwargs(rnd *r, const expr *e, const char *const *allowed);
/* A named string argument (V_UNDEF when absent and not required). */
int pkg__tpl_str_kwarg(rnd *r, const expr *e, const char *name, bool required, tval *out);
/* Evaluates an expression. */
int pkg__tpl_eval(rnd *r, const expr *e, tval *out);
/* Applies filter e->name (with e's arguments) to *v in place (template_filters.c). */
int pkg__tpl_filter(rnd *r, const expr *e, tval *v);
/* `is TEST`: *res (template_filters.c). */
int pkg__tpl_test(rnd *r, const expr *e, const tval *v, bool *res);
/* A function call: range(), get_env() (template_filters.c). */
int pkg__tpl_call(rnd *r, const expr *e, tval *out);

#endif
