/* template.c - the subset of SPK's spec templates (Tera, a Jinja2 dialect)
 * that SPK documents, rendered before a spec file's YAML is read.
 *
 * Three passes, each bounded (pkg__template_limits):
 *   1. the text is cut into text, {{ expression }} and {% statement %}
 *      pieces ({# comments #} dropped, {% raw %} kept as text, "-" at a
 *      tag's edge trims the whitespace next to it);
 *   2. the pieces are parsed into a tree: set / set_global, if / elif /
 *      else, for ... in (with loop.index, break, continue), and expressions
 *      (literals, lists, variables with .attr and [index], filters with
 *      named arguments, `is` tests, functions, not/and/or, comparisons,
 *      in, + - * / %, ~);
 *   3. the tree is evaluated against `opt`, `env` and `spk` (filters,
 *      tests and functions are in template_filters.c).
 * Values live in one arena per render whose size is capped; strings are
 * never escaped (YAML, not HTML). What Tera has and this does not (macros,
 * include, extends, blocks, filter sections) is refused with the tag's
 * position, never ignored. */
#include "pkg/template_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const pkg__template_limits pkg__template_limits_default = {
    .max_output = (size_t)4 << 20,
    .max_depth = 64,
    .max_iters = 100000,
    .max_memory = (size_t)64 << 20,
};

bool pkg__template_is(const char *text, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++)
		if (text[i] == '{' &&
		    (text[i + 1] == '{' || text[i + 1] == '%' || text[i + 1] == '#'))
			return true;
	return false;
}

int pkg__tpl_fail(rnd *r, size_t line, size_t col, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sp_error_set(r->err, SP_EINVALID, "%s:%zu:%zu: template: %s", r->file, line, col,
			    msg);
}

void *pkg__tpl_alloc(rnd *r, size_t n)
{
	if (n > r->lim->max_memory || r->used > r->lim->max_memory - n) {
		pkg__tpl_fail(r, r->line, r->col, "more than %zu bytes of values (a runaway loop?)",
			      r->lim->max_memory);
		return NULL;
	}
	r->used += n;
	return solver_arena_alloc(r->a, n ? n : 1, r->err);
}

void *pkg__tpl_array(rnd *r, size_t count, size_t size)
{
	size_t n;
	if (__builtin_mul_overflow(count, size, &n)) {
		pkg__tpl_fail(r, r->line, r->col, "value too large");
		return NULL;
	}
	return pkg__tpl_alloc(r, n);
}

char *pkg__tpl_strndup(rnd *r, const char *s, size_t n)
{
	char *p = pkg__tpl_alloc(r, n + 1);
	if (p) {
		if (n)
			memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Appends one pointer to a growable arena list (doubling; the old array
 * stays in the arena). */
static int grow(rnd *r, void **v, size_t *n, size_t *cap, size_t size)
{
	if (*n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 8;
	void *nv = pkg__tpl_array(r, nc, size);
	if (!nv)
		return r->err->code;
	if (*n)
		memcpy(nv, *v, *n * size);
	*v = nv;
	*cap = nc;
	return 0;
}

static int nlist_add(rnd *r, nlist *l, node *x)
{
	int rc = grow(r, (void **)&l->v, &l->n, &l->cap, sizeof(*l->v));
	if (!rc)
		l->v[l->n++] = x;
	return rc;
}

/* ============================================================ pass 1 */

typedef enum { P_TEXT, P_EXPR, P_STMT } pkind;

typedef struct piece {
	pkind k;
	const char *s; /* content (for tags: between the delimiters and dashes) */
	size_t n;
	size_t line, col;
} piece;

typedef struct pieces {
	piece *v;
	size_t n, cap;
} pieces;

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Line and column of text[off] (1-based), counted from (line, col) at from. */
static void advance(const char *text, size_t from, size_t off, size_t *line, size_t *col)
{
	for (size_t i = from; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* End of a tag opened at text[open] (after its two opening characters):
 * the offset of the closing pair `c}`, skipping quoted strings; (size_t)-1
 * when the text ends first. */
static size_t tag_end(const char *t, size_t len, size_t from, char c)
{
	char q = 0;
	for (size_t i = from; i < len; i++) {
		if (q) {
			if (t[i] == q)
				q = 0;
			continue;
		}
		if (t[i] == '"' || t[i] == '\'' || t[i] == '`')
			q = t[i];
		else if (t[i] == c && i + 1 < len && t[i + 1] == '}')
			return i;
	}
	return (size_t)-1;
}

static int add_piece(rnd *r, pieces *p, pkind k, const char *s, size_t n, size_t line, size_t col)
{
	int rc = grow(r, (void **)&p->v, &p->n, &p->cap, sizeof(*p->v));
	if (!rc)
		p->v[p->n++] = (piece){k, s, n, line, col};
	return rc;
}

/* The statement word of a {% %} content ("endraw" for "- endraw -"). */
static bool stmt_is(const char *s, size_t n, const char *word)
{
	size_t i = 0;
	while (i < n && is_ws(s[i]))
		i++;
	size_t wl = strlen(word);
	if (n - i < wl || memcmp(s + i, word, wl))
		return false;
	i += wl;
	while (i < n && is_ws(s[i]))
		i++;
	return i == n;
}

static int split(rnd *r, pieces *p, const char *t, size_t len)
{
	size_t pos = 0, line = 1, col = 1;
	bool trim_next = false; /* the previous tag ended with "-" */
	while (pos < len) {
		size_t open = pos;
		while (open + 1 < len &&
		       !(t[open] == '{' &&
			 (t[open + 1] == '{' || t[open + 1] == '%' || t[open + 1] == '#')))
			open++;
		if (open + 1 >= len)
			open = len;
		/* the text before the tag */
		size_t ts = pos, te = open;
		if (trim_next)
			while (ts < te && is_ws(t[ts]))
				ts++;
		size_t tl = line, tc = col;
		advance(t, pos, ts, &tl, &tc);
		bool trim_prev = open < len && open + 2 < len && t[open + 2] == '-';
		if (trim_prev)
			while (te > ts && is_ws(t[te - 1]))
				te--;
		int rc;
		if (te > ts && (rc = add_piece(r, p, P_TEXT, t + ts, te - ts, tl, tc)))
			return rc;
		advance(t, pos, open, &line, &col);
		if (open >= len)
			break;
		char kind = t[open + 1];
		char closer = kind == '{' ? '}' : kind;
		size_t start = open + 2 + (trim_prev ? 1 : 0);
		size_t end = kind == '#' ? (size_t)-1 : tag_end(t, len, start, closer);
		if (kind == '#') {
			for (size_t i = start; i + 1 < len; i++)
				if (t[i] == '#' && t[i + 1] == '}') {
					end = i;
					break;
				}
		}
		if (end == (size_t)-1)
			return pkg__tpl_fail(r, line, col, "unterminated %s (no closing %c})",
					     kind == '{'   ? "{{ expression"
					     : kind == '%' ? "{% tag"
							   : "{# comment",
					     closer);
		size_t cs = start, ce = end;
		trim_next = ce > cs && t[ce - 1] == '-';
		if (trim_next)
			ce--;
		size_t after = end + 2;
		if (kind == '%' && stmt_is(t + cs, ce - cs, "raw")) {
			/* everything up to {% endraw %} is text */
			size_t k = after, rs = after;
			bool found = false;
			while (!found && k + 1 < len) {
				if (t[k] == '{' && t[k + 1] == '%') {
					size_t e2 = tag_end(t, len, k + 2, '%');
					if (e2 == (size_t)-1)
						break;
					size_t a = k + 2, b = e2;
					if (a < b && t[a] == '-')
						a++;
					if (b > a && t[b - 1] == '-')
						b--;
					if (stmt_is(t + a, b - a, "endraw")) {
						size_t rl = line, rcol = col;
						advance(t, open, rs, &rl, &rcol);
						if (k > rs && (rc = add_piece(r, p, P_TEXT, t + rs,
									      k - rs, rl, rcol)))
							return rc;
						trim_next = b < e2;
						after = e2 + 2;
						found = true;
						break;
					}
				}
				k++;
			}
			if (!found)
				return pkg__tpl_fail(
				    r, line, col, "unterminated {%% raw %%} (no {%% endraw %%})");
		} else if (kind != '#') {
			if ((rc = add_piece(r, p, kind == '{' ? P_EXPR : P_STMT, t + cs, ce - cs,
					    line, col)))
				return rc;
		}
		advance(t, open, after, &line, &col);
		pos = after;
	}
	return 0;
}

/* ============================================================ pass 2 */

typedef enum { T_END, T_NAME, T_STR, T_INT, T_FLOAT, T_PUNCT } tkind;

typedef struct tok {
	tkind k;
	const char *s;
	size_t n;
	int64_t i;
	double f;
	size_t line, col;
} tok;

typedef struct lex {
	rnd *r;
	const char *s;
	size_t n, pos;
	size_t line, col; /* at pos */
	tok cur;
	size_t depth; /* expression nesting */
} lex;

static int lex_next(lex *x)
{
	while (x->pos < x->n && is_ws(x->s[x->pos])) {
		advance(x->s, x->pos, x->pos + 1, &x->line, &x->col);
		x->pos++;
	}
	tok t = {.line = x->line, .col = x->col};
	size_t st = x->pos;
	const char *s = x->s;
	if (st >= x->n) {
		t.k = T_END;
	} else if (isalpha((unsigned char)s[st]) || s[st] == '_') {
		size_t e = st;
		while (e < x->n && (isalnum((unsigned char)s[e]) || s[e] == '_'))
			e++;
		t.k = T_NAME;
		t.s = s + st;
		t.n = e - st;
		x->pos = e;
	} else if (isdigit((unsigned char)s[st])) {
		size_t e = st;
		while (e < x->n && isdigit((unsigned char)s[e]))
			e++;
		bool fl = e + 1 < x->n && s[e] == '.' && isdigit((unsigned char)s[e + 1]);
		if (fl) {
			e++;
			while (e < x->n && isdigit((unsigned char)s[e]))
				e++;
		}
		char buf[64];
		t.s = s + st;
		t.n = e - st;
		if (e - st >= sizeof(buf))
			return pkg__tpl_fail(x->r, t.line, t.col, "number too long");
		memcpy(buf, s + st, e - st);
		buf[e - st] = '\0';
		errno = 0;
		if (fl) {
			t.k = T_FLOAT;
			t.f = strtod(buf, NULL);
		} else {
			t.k = T_INT;
			t.i = strtoll(buf, NULL, 10);
		}
		if (errno)
			return pkg__tpl_fail(x->r, t.line, t.col, "number out of range: %s", buf);
		x->pos = e;
	} else if (s[st] == '"' || s[st] == '\'' || s[st] == '`') {
		/* Tera strings have no escapes: the text up to the same quote */
		size_t e = st + 1;
		while (e < x->n && s[e] != s[st])
			e++;
		if (e >= x->n)
			return pkg__tpl_fail(x->r, t.line, t.col, "unterminated string");
		t.k = T_STR;
		t.s = s + st + 1;
		t.n = e - st - 1;
		x->pos = e + 1;
	} else {
		static const char *const two[] = {"==", "!=", "<=", ">=", NULL};
		t.k = T_PUNCT;
		t.s = s + st;
		t.n = 1;
		for (size_t k = 0; two[k]; k++)
			if (st + 1 < x->n && s[st] == two[k][0] && s[st + 1] == two[k][1])
				t.n = 2;
		if (t.n == 1 && !strchr("()[]{},.|=<>+-*/%~:", s[st]))
			return pkg__tpl_fail(x->r, t.line, t.col, "unexpected character '%c'",
					     s[st]);
		x->pos = st + t.n;
	}
	advance(x->s, st, x->pos, &x->line, &x->col);
	x->cur = t;
	return 0;
}

static bool is_p(const lex *x, const char *p)
{
	return x->cur.k == T_PUNCT && x->cur.n == strlen(p) && !memcmp(x->cur.s, p, x->cur.n);
}

static bool is_w(const lex *x, const char *w)
{
	return x->cur.k == T_NAME && x->cur.n == strlen(w) && !memcmp(x->cur.s, w, x->cur.n);
}

static int expect_p(lex *x, const char *p)
{
	if (!is_p(x, p))
		return pkg__tpl_fail(x->r, x->cur.line, x->cur.col, "expected '%s', got %s%.*s%s",
				     p, x->cur.k == T_END ? "the end of the tag" : "'",
				     x->cur.k == T_END ? 0 : (int)(x->cur.n > 40 ? 40 : x->cur.n),
				     x->cur.s ? x->cur.s : "", x->cur.k == T_END ? "" : "'");
	return lex_next(x);
}

static expr *new_expr(lex *x, ekind k)
{
	expr *e = pkg__tpl_alloc(x->r, sizeof(*e));
	if (e) {
		e->k = k;
		e->line = x->cur.line;
		e->col = x->cur.col;
	}
	return e;
}

static int parse_expr(lex *x, expr **out);

/* (name=value, ...) after a filter or function name; the opening
 * parenthesis is current. */
static int parse_kwargs(lex *x, expr *e)
{
	int rc = lex_next(x);
	size_t cap = 0, kcap = 0;
	while (!rc && !is_p(x, ")")) {
		if (x->cur.k != T_NAME)
			return pkg__tpl_fail(x->r, x->cur.line, x->cur.col,
					     "%s: expected name=value arguments", e->name);
		const char *nm = pkg__tpl_strndup(x->r, x->cur.s, x->cur.n);
		if (!nm)
			return x->r->err->code;
		expr *v = NULL;
		if ((rc = lex_next(x)) || (rc = expect_p(x, "=")) || (rc = parse_expr(x, &v)))
			return rc;
		size_t kn = e->nk;
		if ((rc = grow(x->r, (void **)&e->knames, &kn, &cap, sizeof(*e->knames))))
			return rc;
		kn = e->nk;
		if ((rc = grow(x->r, (void **)&e->kvals, &kn, &kcap, sizeof(*e->kvals))))
			return rc;
		e->knames[e->nk] = nm;
		e->kvals[e->nk++] = v;
		if (is_p(x, ","))
			rc = lex_next(x);
		else if (!is_p(x, ")"))
			return expect_p(x, ")");
	}
	return rc ? rc : lex_next(x);
}

static int parse_primary(lex *x, expr **out)
{
	int rc;
	expr *e;
	if (x->cur.k == T_STR || x->cur.k == T_INT || x->cur.k == T_FLOAT) {
		if (!(e = new_expr(x, E_LIT)))
			return x->r->err->code;
		if (x->cur.k == T_STR) {
			char *s = pkg__tpl_strndup(x->r, x->cur.s, x->cur.n);
			if (!s)
				return x->r->err->code;
			e->lit = vstr(s, x->cur.n);
		} else if (x->cur.k == T_INT) {
			e->lit = (tval){.k = V_INT, .i = x->cur.i};
		} else {
			e->lit = (tval){.k = V_FLOAT, .f = x->cur.f};
		}
		*out = e;
		return lex_next(x);
	}
	if (x->cur.k == T_NAME) {
		if (is_w(x, "true") || is_w(x, "True") || is_w(x, "false") || is_w(x, "False") ||
		    is_w(x, "none") || is_w(x, "None")) {
			if (!(e = new_expr(x, E_LIT)))
				return x->r->err->code;
			e->lit = x->cur.s[0] == 'n' || x->cur.s[0] == 'N'
				     ? (tval){.k = V_NULL}
				     : (tval){.k = V_BOOL,
					      .b = x->cur.s[0] == 't' || x->cur.s[0] == 'T'};
			*out = e;
			return lex_next(x);
		}
		if (!(e = new_expr(x, E_VAR)))
			return x->r->err->code;
		if (!(e->name = pkg__tpl_strndup(x->r, x->cur.s, x->cur.n)))
			return x->r->err->code;
		if ((rc = lex_next(x)))
			return rc;
		if (is_p(x, "(")) {
			e->k = E_CALL;
			if ((rc = parse_kwargs(x, e)))
				return rc;
		}
		*out = e;
		return 0;
	}
	if (is_p(x, "(")) {
		if ((rc = lex_next(x)) || (rc = parse_expr(x, out)))
			return rc;
		return expect_p(x, ")");
	}
	if (is_p(x, "[")) {
		if (!(e = new_expr(x, E_LIST)))
			return x->r->err->code;
		size_t cap = 0;
		rc = lex_next(x);
		while (!rc && !is_p(x, "]")) {
			expr *it = NULL;
			if ((rc = parse_expr(x, &it)))
				return rc;
			if ((rc = grow(x->r, (void **)&e->items, &e->nitems, &cap,
				       sizeof(*e->items))))
				return rc;
			e->items[e->nitems++] = it;
			if (is_p(x, ","))
				rc = lex_next(x);
			else if (!is_p(x, "]"))
				return expect_p(x, "]");
		}
		*out = e;
		return rc ? rc : lex_next(x);
	}
	if (x->cur.k == T_END)
		return pkg__tpl_fail(x->r, x->cur.line, x->cur.col,
				     "expected a value, got the end of the tag");
	return pkg__tpl_fail(x->r, x->cur.line, x->cur.col, "expected a value, got '%.*s'",
			     (int)x->cur.n, x->cur.s);
}

static int parse_postfix(lex *x, expr **out)
{
	int rc = parse_primary(x, out);
	while (!rc) {
		expr *e;
		if (is_p(x, ".")) {
			if (!(e = new_expr(x, E_ATTR)))
				return x->r->err->code;
			e->line = (*out)->line; /* messages point at the start */
			e->col = (*out)->col;
			if ((rc = lex_next(x)))
				return rc;
			if (x->cur.k != T_NAME && x->cur.k != T_INT)
				return pkg__tpl_fail(x->r, x->cur.line, x->cur.col,
						     "expected an attribute name after '.'");
			if (!(e->name = pkg__tpl_strndup(x->r, x->cur.s, x->cur.n)))
				return x->r->err->code;
			e->a = *out;
			*out = e;
			rc = lex_next(x);
		} else if (is_p(x, "[")) {
			if (!(e = new_expr(x, E_INDEX)))
				return x->r->err->code;
			e->line = (*out)->line; /* messages point at the start */
			e->col = (*out)->col;
			e->a = *out;
			if ((rc = lex_next(x)) || (rc = parse_expr(x, &e->b)) ||
			    (rc = expect_p(x, "]")))
				return rc;
			*out = e;
		} else if (is_p(x, "|")) {
			if (!(e = new_expr(x, E_FILTER)))
				return x->r->err->code;
			e->line = (*out)->line; /* messages point at the start */
			e->col = (*out)->col;
			if ((rc = lex_next(x)))
				return rc;
			if (x->cur.k != T_NAME)
				return pkg__tpl_fail(x->r, x->cur.line, x->cur.col,
						     "expected a filter name after '|'");
			if (!(e->name = pkg__tpl_strndup(x->r, x->cur.s, x->cur.n)))
				return x->r->err->code;
			e->a = *out;
			if ((rc = lex_next(x)))
				return rc;
			if (is_p(x, "(") && (rc = parse_kwargs(x, e)))
				return rc;
			*out = e;
		} else {
			break;
		}
	}
	return rc;
}

static int parse_unary(lex *x, expr **out)
{
	if (is_p(x, "-")) {
		expr *e = new_expr(x, E_NEG);
		if (!e)
			return x->r->err->code;
		int rc = lex_next(x);
		if (!rc && ++x->depth > x->r->lim->max_depth)
			return pkg__tpl_fail(x->r, e->line, e->col,
					     "expression nested deeper than %zu",
					     x->r->lim->max_depth);
		if (!rc)
			rc = parse_unary(x, &e->a);
		x->depth--;
		*out = e;
		return rc;
	}
	return parse_postfix(x, out);
}

typedef struct binop {
	const char *tok;
	int op;
	bool word;
} binop;

static const binop mul_ops[] = {{"*", OP_MUL, 0}, {"/", OP_DIV, 0}, {"%", OP_MOD, 0}, {0}};
static const binop add_ops[] = {{"+", OP_ADD, 0}, {"-", OP_SUB, 0}, {0}};
static const binop cat_ops[] = {{"~", OP_CAT, 0}, {0}};
static const binop cmp_ops[] = {
    {"==", OP_EQ, 0}, {"!=", OP_NE, 0}, {"<=", OP_LE, 0}, {">=", OP_GE, 0},
    {"<", OP_LT, 0},  {">", OP_GT, 0},	{"in", OP_IN, 1}, {0}};

typedef int (*parse_fn)(lex *x, expr **out);

static int parse_level(lex *x, expr **out, parse_fn sub, const binop *ops)
{
	int rc = sub(x, out);
	while (!rc) {
		int op = 0;
		for (size_t i = 0; ops[i].tok && !op; i++)
			if (ops[i].word ? is_w(x, ops[i].tok) : is_p(x, ops[i].tok))
				op = ops[i].op;
		/* `not in` */
		if (!op && ops == cmp_ops && is_w(x, "not")) {
			size_t save = x->pos, sl = x->line, sc = x->col;
			tok st = x->cur;
			if ((rc = lex_next(x)))
				return rc;
			if (is_w(x, "in")) {
				op = OP_NOTIN;
			} else {
				x->pos = save;
				x->line = sl;
				x->col = sc;
				x->cur = st;
			}
		}
		if (!op)
			break;
		expr *e = new_expr(x, E_BIN);
		if (!e)
			return x->r->err->code;
		e->op = op;
		e->a = *out;
		if ((rc = lex_next(x)) || (rc = sub(x, &e->b)))
			return rc;
		*out = e;
	}
	return rc;
}

static int parse_mul(lex *x, expr **out)
{
	return parse_level(x, out, parse_unary, mul_ops);
}
static int parse_add(lex *x, expr **out)
{
	return parse_level(x, out, parse_mul, add_ops);
}
static int parse_cat(lex *x, expr **out)
{
	return parse_level(x, out, parse_add, cat_ops);
}

/* comparisons, then `is [not] TEST[(arg)]` */
static int parse_cmp(lex *x, expr **out)
{
	int rc = parse_level(x, out, parse_cat, cmp_ops);
	if (rc || !is_w(x, "is"))
		return rc;
	expr *e = new_expr(x, E_TEST);
	if (!e)
		return x->r->err->code;
	e->a = *out;
	if ((rc = lex_next(x)))
		return rc;
	if (is_w(x, "not")) {
		e->negate = true;
		if ((rc = lex_next(x)))
			return rc;
	}
	if (x->cur.k != T_NAME)
		return pkg__tpl_fail(x->r, x->cur.line, x->cur.col,
				     "expected a test name after 'is'");
	if (!(e->name = pkg__tpl_strndup(x->r, x->cur.s, x->cur.n)))
		return x->r->err->code;
	if ((rc = lex_next(x)))
		return rc;
	if (is_p(x, "(")) {
		e->kvals = pkg__tpl_array(x->r, 1, sizeof(*e->kvals));
		if (!e->kvals)
			return x->r->err->code;
		if ((rc = lex_next(x)) || (rc = parse_expr(x, &e->kvals[0])) ||
		    (rc = expect_p(x, ")")))
			return rc;
		e->nk = 1;
	}
	*out = e;
	return 0;
}

static int parse_not(lex *x, expr **out)
{
	if (is_w(x, "not")) {
		expr *e = new_expr(x, E_NOT);
		if (!e)
			return x->r->err->code;
		int rc = lex_next(x);
		if (!rc && ++x->depth > x->r->lim->max_depth)
			return pkg__tpl_fail(x->r, e->line, e->col,
					     "expression nested deeper than %zu",
					     x->r->lim->max_depth);
		if (!rc)
			rc = parse_not(x, &e->a);
		x->depth--;
		*out = e;
		return rc;
	}
	return parse_cmp(x, out);
}

static const binop and_ops[] = {{"and", OP_AND, 1}, {0}};
static const binop or_ops[] = {{"or", OP_OR, 1}, {0}};

static int parse_and(lex *x, expr **out)
{
	return parse_level(x, out, parse_not, and_ops);
}

static int parse_expr(lex *x, expr **out)
{
	if (++x->depth > x->r->lim->max_depth)
		return pkg__tpl_fail(x->r, x->cur.line, x->cur.col,
				     "expression nested deeper than %zu", x->r->lim->max_depth);
	int rc = parse_level(x, out, parse_and, or_ops);
	x->depth--;
	return rc;
}

static int lex_init(lex *x, rnd *r, const piece *p)
{
	*x = (lex){.r = r, .s = p->s, .n = p->n, .line = p->line, .col = p->col + 2};
	return lex_next(x);
}

static int expect_end(lex *x, const char *what)
{
	if (x->cur.k == T_END)
		return 0;
	return pkg__tpl_fail(x->r, x->cur.line, x->cur.col, "unexpected '%.*s' after %s",
			     (int)(x->cur.n > 40 ? 40 : x->cur.n), x->cur.s, what);
}

/* A whole expression piece. */
static int parse_expr_piece(rnd *r, const piece *p, expr **out)
{
	lex x;
	int rc = lex_init(&x, r, p);
	if (!rc && x.cur.k == T_END)
		return pkg__tpl_fail(r, p->line, p->col, "empty {{ }}");
	if (!rc)
		rc = parse_expr(&x, out);
	return rc ? rc : expect_end(&x, "the expression");
}

typedef struct parser {
	rnd *r;
	const pieces *p;
	size_t i;
	size_t depth;
	size_t loops; /* enclosing for loops (break/continue) */
} parser;

/* Parses pieces into l until a statement whose word is one of `stops`
 * (NULL-terminated); *stop gets its index in p (or p->n at the end). */
static int parse_block(parser *ps, nlist *l, const char *const *stops, size_t *stop);

static node *new_node(rnd *r, nkind k, const piece *p)
{
	node *n = pkg__tpl_alloc(r, sizeof(*n));
	if (n) {
		n->k = k;
		n->line = p->line;
		n->col = p->col;
	}
	return n;
}

static const char *opener_name(const char *const *stops)
{
	return !strcmp(stops[0], "endif") || !strcmp(stops[0], "elif") ? "if" : "for";
}

static int parse_stmt(parser *ps, nlist *l, const piece *p, lex *x)
{
	rnd *r = ps->r;
	int rc;
	if (is_w(x, "set") || is_w(x, "set_global")) {
		node *n = new_node(r, N_SET, p);
		if (!n)
			return r->err->code;
		n->global = x->cur.n == 10;
		if ((rc = lex_next(x)))
			return rc;
		if (x->cur.k != T_NAME)
			return pkg__tpl_fail(r, x->cur.line, x->cur.col,
					     "set: expected a variable name");
		if (!(n->target = pkg__tpl_strndup(r, x->cur.s, x->cur.n)))
			return r->err->code;
		size_t cap = 0;
		if ((rc = lex_next(x)))
			return rc;
		while (is_p(x, ".")) {
			if ((rc = lex_next(x)))
				return rc;
			if (x->cur.k != T_NAME)
				return pkg__tpl_fail(r, x->cur.line, x->cur.col,
						     "set: expected an attribute name after '.'");
			if ((rc = grow(r, (void **)&n->path, &n->npath, &cap, sizeof(*n->path))))
				return rc;
			if (!(n->path[n->npath++] = pkg__tpl_strndup(r, x->cur.s, x->cur.n)))
				return r->err->code;
			if ((rc = lex_next(x)))
				return rc;
		}
		if ((rc = expect_p(x, "=")) || (rc = parse_expr(x, &n->e)) ||
		    (rc = expect_end(x, "set")))
			return rc;
		return nlist_add(r, l, n);
	}
	if (is_w(x, "if")) {
		node *n = new_node(r, N_IF, p);
		if (!n)
			return r->err->code;
		size_t cap = 0;
		static const char *const stops[] = {"elif", "else", "endif", NULL};
		expr *cond = NULL;
		if ((rc = lex_next(x)) || (rc = parse_expr(x, &cond)) ||
		    (rc = expect_end(x, "the condition")))
			return rc;
		for (;;) {
			if ((rc = grow(r, (void **)&n->conds, &n->nconds, &cap, sizeof(*n->conds))))
				return rc;
			nlist *nb = pkg__tpl_array(r, cap, sizeof(*nb));
			if (!nb)
				return r->err->code;
			if (n->nconds)
				memcpy(nb, n->bodies, n->nconds * sizeof(*nb));
			n->bodies = nb;
			n->conds[n->nconds] = cond;
			size_t stop;
			if ((rc = parse_block(ps, &n->bodies[n->nconds++], stops, &stop)))
				return rc;
			lex y;
			if ((rc = lex_init(&y, r, &ps->p->v[stop])))
				return rc;
			if (is_w(&y, "elif")) {
				if ((rc = lex_next(&y)) || (rc = parse_expr(&y, &cond)) ||
				    (rc = expect_end(&y, "the condition")))
					return rc;
				continue;
			}
			if (is_w(&y, "else")) {
				static const char *const end_only[] = {"endif", NULL};
				if ((rc = lex_next(&y)) || (rc = expect_end(&y, "else")) ||
				    (rc = parse_block(ps, &n->els, end_only, &stop)))
					return rc;
				if ((rc = lex_init(&y, r, &ps->p->v[stop])))
					return rc;
			}
			if ((rc = lex_next(&y)) || (rc = expect_end(&y, "endif")))
				return rc;
			break;
		}
		return nlist_add(r, l, n);
	}
	if (is_w(x, "for")) {
		node *n = new_node(r, N_FOR, p);
		if (!n)
			return r->err->code;
		if ((rc = lex_next(x)))
			return rc;
		if (x->cur.k != T_NAME)
			return pkg__tpl_fail(r, x->cur.line, x->cur.col,
					     "for: expected a variable name");
		if (!(n->vvar = pkg__tpl_strndup(r, x->cur.s, x->cur.n)) || (rc = lex_next(x)))
			return rc ? rc : r->err->code;
		if (is_p(x, ",")) {
			n->kvar = n->vvar;
			if ((rc = lex_next(x)))
				return rc;
			if (x->cur.k != T_NAME)
				return pkg__tpl_fail(r, x->cur.line, x->cur.col,
						     "for: expected a second variable name");
			if (!(n->vvar = pkg__tpl_strndup(r, x->cur.s, x->cur.n)) ||
			    (rc = lex_next(x)))
				return rc ? rc : r->err->code;
		}
		if (!is_w(x, "in"))
			return pkg__tpl_fail(r, x->cur.line, x->cur.col, "for: expected 'in'");
		if ((rc = lex_next(x)) || (rc = parse_expr(x, &n->e)) ||
		    (rc = expect_end(x, "the loop's list")))
			return rc;
		static const char *const stops[] = {"endfor", NULL};
		size_t stop;
		ps->loops++;
		rc = parse_block(ps, &n->body, stops, &stop);
		ps->loops--;
		if (rc)
			return rc;
		lex y;
		if ((rc = lex_init(&y, r, &ps->p->v[stop])) || (rc = lex_next(&y)) ||
		    (rc = expect_end(&y, "endfor")))
			return rc;
		return nlist_add(r, l, n);
	}
	if (is_w(x, "break") || is_w(x, "continue")) {
		if (!ps->loops)
			return pkg__tpl_fail(r, p->line, p->col, "%.*s outside a for loop",
					     (int)x->cur.n, x->cur.s);
		node *n = new_node(r, x->cur.n == 5 ? N_BREAK : N_CONTINUE, p);
		if (!n)
			return r->err->code;
		if ((rc = lex_next(x)) || (rc = expect_end(x, "break or continue")))
			return rc;
		return nlist_add(r, l, n);
	}
	if (x->cur.k == T_END)
		return pkg__tpl_fail(r, p->line, p->col, "empty {%% %%}");
	return pkg__tpl_fail(
	    r, p->line, p->col,
	    "'%.*s' is not a supported tag (set, set_global, if, elif, else, endif, "
	    "for, endfor, break, continue, raw)",
	    (int)(x->cur.n > 40 ? 40 : x->cur.n), x->cur.s);
}

static int parse_block(parser *ps, nlist *l, const char *const *stops, size_t *stop)
{
	rnd *r = ps->r;
	size_t open = ps->i ? ps->i - 1 : 0; /* the opening tag */
	if (stops && ++ps->depth > r->lim->max_depth)
		return pkg__tpl_fail(r, ps->p->v[open].line, ps->p->v[open].col,
				     "blocks nested deeper than %zu", r->lim->max_depth);
	int rc = 0;
	while (!rc && ps->i < ps->p->n) {
		const piece *p = &ps->p->v[ps->i++];
		if (p->k == P_TEXT) {
			node *n = new_node(r, N_TEXT, p);
			if (!n)
				return r->err->code;
			n->s = p->s;
			n->n = p->n;
			rc = nlist_add(r, l, n);
			continue;
		}
		if (p->k == P_EXPR) {
			node *n = new_node(r, N_EXPR, p);
			if (!n)
				return r->err->code;
			if (!(rc = parse_expr_piece(r, p, &n->e)))
				rc = nlist_add(r, l, n);
			continue;
		}
		lex x;
		if ((rc = lex_init(&x, r, p)))
			return rc;
		for (size_t k = 0; stops && stops[k]; k++)
			if (is_w(&x, stops[k])) {
				*stop = ps->i - 1;
				ps->depth--;
				return 0;
			}
		static const char *const closers[] = {"elif", "else", "endif", "endfor", NULL};
		for (size_t k = 0; closers[k]; k++)
			if (is_w(&x, closers[k]))
				return pkg__tpl_fail(r, p->line, p->col,
						     "{%% %s %%} without a matching %s", closers[k],
						     !strcmp(closers[k], "endfor") ? "{% for %}"
										   : "{% if %}");
		rc = parse_stmt(ps, l, p, &x);
	}
	if (!rc && stops)
		return pkg__tpl_fail(r, ps->p->v[open].line, ps->p->v[open].col,
				     "{%% %s %%} is never closed (no {%% %s %%})",
				     opener_name(stops),
				     !strcmp(opener_name(stops), "if") ? "endif" : "endfor");
	return rc;
}

/* ============================================================ pass 3 */

static bool truthy(const tval *v)
{
	switch (v->k) {
	case V_UNDEF:
	case V_NULL: return false;
	case V_BOOL: return v->b;
	case V_INT: return v->i != 0;
	case V_FLOAT: return v->f != 0;
	case V_STR:
	case V_ARR:
	case V_MAP: return v->n > 0;
	}
	return false;
}

const char *pkg__tpl_kind(vkind k)
{
	static const char *const names[] = {"undefined", "none",     "a boolean", "an integer",
					    "a number",	 "a string", "a list",	  "a map"};
	return names[k];
}

/* Shortest "%g" that reads back as the same double, with ".0" for whole
 * numbers as Tera prints them. */
static void fmt_float(char *buf, size_t n, double f)
{
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, n, "%.*g", p, f);
		if (strtod(buf, NULL) == f)
			break;
	}
	if (isfinite(f) && !strpbrk(buf, ".eE"))
		strncat(buf, ".0", n - strlen(buf) - 1);
}

int pkg__tpl_append(rnd *r, sp_buf *b, const char *s, size_t n)
{
	if (b->len + n > r->lim->max_output || b->len + n < b->len)
		return pkg__tpl_fail(r, r->line, r->col, "renders to more than %zu bytes",
				     r->lim->max_output);
	return sp_buf_append(b, s, n, r->err);
}

int pkg__tpl_text(rnd *r, const tval *v, sp_buf *b)
{
	char num[64];
	int rc = 0;
	switch (v->k) {
	case V_UNDEF:
		return pkg__tpl_fail(r, r->line, r->col, "'%s' is not defined",
				     v->s ? v->s : "value");
	case V_NULL: return 0;
	case V_BOOL: return pkg__tpl_append(r, b, v->b ? "true" : "false", v->b ? 4 : 5);
	case V_INT:
		snprintf(num, sizeof(num), "%lld", (long long)v->i);
		return pkg__tpl_append(r, b, num, strlen(num));
	case V_FLOAT:
		fmt_float(num, sizeof(num), v->f);
		return pkg__tpl_append(r, b, num, strlen(num));
	case V_STR: return pkg__tpl_append(r, b, v->s, v->n);
	case V_ARR:
		rc = pkg__tpl_append(r, b, "[", 1);
		for (size_t i = 0; !rc && i < v->n; i++) {
			if (i)
				rc = pkg__tpl_append(r, b, ", ", 2);
			if (!rc)
				rc = pkg__tpl_text(r, &v->items[i], b);
		}
		return rc ? rc : pkg__tpl_append(r, b, "]", 1);
	case V_MAP:
		rc = pkg__tpl_append(r, b, "{", 1);
		for (size_t i = 0; !rc && i < v->n; i++) {
			if (i)
				rc = pkg__tpl_append(r, b, ", ", 2);
			if (!rc)
				rc = pkg__tpl_append(r, b, v->keys[i], strlen(v->keys[i]));
			if (!rc)
				rc = pkg__tpl_append(r, b, ": ", 2);
			if (!rc)
				rc = pkg__tpl_text(r, &v->items[i], b);
		}
		return rc ? rc : pkg__tpl_append(r, b, "}", 1);
	}
	return 0;
}

/* v as a string in the arena (numbers and booleans as printed). */
int pkg__tpl_string(rnd *r, const tval *v, tval *out)
{
	if (v->k == V_STR) {
		*out = *v;
		return 0;
	}
	sp_buf b = {0};
	int rc = pkg__tpl_text(r, v, &b);
	char *s = rc ? NULL : pkg__tpl_strndup(r, b.data ? b.data : "", b.len);
	size_t n = b.len;
	sp_buf_free(&b);
	if (rc)
		return rc;
	if (!s)
		return r->err->code;
	*out = vstr(s, n);
	return 0;
}

const tval *pkg__tpl_map_get(const tval *m, const char *k)
{
	if (m->k != V_MAP)
		return NULL;
	for (size_t i = m->n; i-- > 0;)
		if (!strcmp(m->keys[i], k))
			return &m->items[i];
	return NULL;
}

/* A copy of map m with key k set to v (m may be undefined: a new map). */
int pkg__tpl_map_with(rnd *r, const tval *m, const char *k, const tval *v, tval *out)
{
	size_t n = m->k == V_MAP ? m->n : 0;
	tval nm = {.k = V_MAP};
	nm.items = pkg__tpl_array(r, n + 1, sizeof(*nm.items));
	nm.keys = pkg__tpl_array(r, n + 1, sizeof(*nm.keys));
	if (!nm.items || !nm.keys)
		return r->err->code;
	bool replaced = false;
	for (size_t i = 0; i < n; i++) {
		nm.keys[i] = m->keys[i];
		nm.items[i] = m->items[i];
		if (!strcmp(m->keys[i], k)) {
			nm.items[i] = *v;
			replaced = true;
		}
	}
	nm.n = n;
	if (!replaced) {
		nm.keys[n] = k;
		nm.items[n] = *v;
		nm.n = n + 1;
	}
	*out = nm;
	return 0;
}

bool pkg__tpl_equal(const tval *a, const tval *b)
{
	bool an = a->k == V_INT || a->k == V_FLOAT, bn = b->k == V_INT || b->k == V_FLOAT;
	if (an && bn) {
		if (a->k == V_INT && b->k == V_INT)
			return a->i == b->i;
		double x = a->k == V_INT ? (double)a->i : a->f,
		       y = b->k == V_INT ? (double)b->i : b->f;
		return x == y;
	}
	if (a->k != b->k)
		return false;
	switch (a->k) {
	case V_UNDEF:
	case V_NULL: return true;
	case V_BOOL: return a->b == b->b;
	case V_STR: return a->n == b->n && !memcmp(a->s, b->s, a->n);
	case V_ARR:
		if (a->n != b->n)
			return false;
		for (size_t i = 0; i < a->n; i++)
			if (!pkg__tpl_equal(&a->items[i], &b->items[i]))
				return false;
		return true;
	case V_MAP:
		if (a->n != b->n)
			return false;
		for (size_t i = 0; i < a->n; i++) {
			const tval *o = pkg__tpl_map_get(b, a->keys[i]);
			if (!o || !pkg__tpl_equal(&a->items[i], o))
				return false;
		}
		return true;
	default: return false;
	}
}

/* "a.b.c" for a variable and attribute chain (else false). */
static bool expr_path(const expr *e, sp_buf *b, sp_error *err)
{
	if (e->k == E_VAR)
		return !sp_buf_append(b, e->name, strlen(e->name), err);
	if (e->k == E_ATTR)
		return expr_path(e->a, b, err) && !sp_buf_printf(b, err, ".%s", e->name);
	return false;
}

int pkg__tpl_defined(rnd *r, const expr *e, const tval *v)
{
	if (v->k != V_UNDEF)
		return 0;
	sp_buf b = {0};
	sp_error ignore = {0};
	bool named = expr_path(e, &b, &ignore);
	int rc = pkg__tpl_fail(r, e->line, e->col, "'%s' is not defined",
			       named  ? b.data
			       : v->s ? v->s
				      : "value");
	sp_buf_free(&b);
	return rc;
}

int pkg__tpl_lookup(rnd *r, const char *name, tval *out)
{
	for (size_t s = r->nscopes; s-- > 0;) {
		const scope *sc = &r->scopes[s];
		for (size_t i = sc->n; i-- > 0;)
			if (!strcmp(sc->names[i], name)) {
				*out = sc->vals[i];
				return 0;
			}
	}
	*out = (tval){.k = V_UNDEF, .s = name};
	return 0;
}

static int scope_set(rnd *r, scope *sc, const char *name, const tval *v)
{
	for (size_t i = 0; i < sc->n; i++)
		if (!strcmp(sc->names[i], name)) {
			sc->vals[i] = *v;
			return 0;
		}
	if (sc->n == sc->cap) {
		size_t nc = sc->cap ? sc->cap * 2 : 16;
		const char **nn = pkg__tpl_array(r, nc, sizeof(*nn));
		tval *nv = pkg__tpl_array(r, nc, sizeof(*nv));
		if (!nn || !nv)
			return r->err->code;
		if (sc->n) {
			memcpy(nn, sc->names, sc->n * sizeof(*nn));
			memcpy(nv, sc->vals, sc->n * sizeof(*nv));
		}
		sc->names = nn;
		sc->vals = nv;
		sc->cap = nc;
	}
	sc->names[sc->n] = name;
	sc->vals[sc->n++] = *v;
	return 0;
}

/* The named argument `name` of a filter or function call (NULL when not
 * given), evaluated. */
int pkg__tpl_kwarg(rnd *r, const expr *e, const char *name, tval *out, bool *given)
{
	*given = false;
	for (size_t i = 0; i < e->nk; i++)
		if (!strcmp(e->knames[i], name)) {
			*given = true;
			int rc = pkg__tpl_eval(r, e->kvals[i], out);
			return rc ? rc : pkg__tpl_defined(r, e->kvals[i], out);
		}
	return 0;
}

int pkg__tpl_check_kwargs(rnd *r, const expr *e, const char *const *allowed)
{
	for (size_t i = 0; i < e->nk; i++) {
		bool ok = false;
		for (size_t k = 0; allowed[k] && !ok; k++)
			ok = !strcmp(allowed[k], e->knames[i]);
		if (!ok)
			return pkg__tpl_fail(r, e->line, e->col, "%s: unknown argument '%s'",
					     e->name, e->knames[i]);
	}
	return 0;
}

int pkg__tpl_str_kwarg(rnd *r, const expr *e, const char *name, bool required, tval *out)
{
	bool given;
	int rc = pkg__tpl_kwarg(r, e, name, out, &given);
	if (rc)
		return rc;
	if (!given) {
		if (required)
			return pkg__tpl_fail(r, e->line, e->col, "%s: missing argument '%s'",
					     e->name, name);
		*out = (tval){.k = V_UNDEF};
		return 0;
	}
	if (out->k != V_STR)
		return pkg__tpl_fail(r, e->line, e->col, "%s: '%s' must be a string, got %s",
				     e->name, name, pkg__tpl_kind(out->k));
	return 0;
}

static int arith(rnd *r, const expr *e, const tval *a, const tval *b, tval *out)
{
	if ((a->k != V_INT && a->k != V_FLOAT) || (b->k != V_INT && b->k != V_FLOAT))
		return pkg__tpl_fail(r, e->line, e->col, "arithmetic on %s and %s",
				     pkg__tpl_kind(a->k), pkg__tpl_kind(b->k));
	if (a->k == V_INT && b->k == V_INT && e->op != OP_DIV) {
		int64_t x = a->i, y = b->i, z = 0;
		bool ovf = false;
		switch (e->op) {
		case OP_ADD: ovf = __builtin_add_overflow(x, y, &z); break;
		case OP_SUB: ovf = __builtin_sub_overflow(x, y, &z); break;
		case OP_MUL: ovf = __builtin_mul_overflow(x, y, &z); break;
		case OP_MOD:
			if (y == 0 || (x == INT64_MIN && y == -1))
				return pkg__tpl_fail(r, e->line, e->col, "modulo by zero");
			z = x % y;
			break;
		}
		if (ovf)
			return pkg__tpl_fail(r, e->line, e->col, "integer overflow");
		*out = (tval){.k = V_INT, .i = z};
		return 0;
	}
	double x = a->k == V_INT ? (double)a->i : a->f, y = b->k == V_INT ? (double)b->i : b->f;
	double z = 0;
	switch (e->op) {
	case OP_ADD: z = x + y; break;
	case OP_SUB: z = x - y; break;
	case OP_MUL: z = x * y; break;
	case OP_DIV:
		if (y == 0)
			return pkg__tpl_fail(r, e->line, e->col, "division by zero");
		z = x / y;
		break;
	case OP_MOD:
		if (y == 0)
			return pkg__tpl_fail(r, e->line, e->col, "modulo by zero");
		z = fmod(x, y);
		break;
	}
	*out = (tval){.k = V_FLOAT, .f = z};
	return 0;
}

static int compare(rnd *r, const expr *e, const tval *a, const tval *b, int *c)
{
	bool an = a->k == V_INT || a->k == V_FLOAT, bn = b->k == V_INT || b->k == V_FLOAT;
	if (an && bn) {
		double x = a->k == V_INT ? (double)a->i : a->f,
		       y = b->k == V_INT ? (double)b->i : b->f;
		*c = x < y ? -1 : x > y ? 1 : 0;
		return 0;
	}
	if (a->k == V_STR && b->k == V_STR) {
		size_t n = a->n < b->n ? a->n : b->n;
		int k = memcmp(a->s, b->s, n);
		*c = k ? k : a->n < b->n ? -1 : a->n > b->n ? 1 : 0;
		return 0;
	}
	return pkg__tpl_fail(r, e->line, e->col, "cannot order %s and %s", pkg__tpl_kind(a->k),
			     pkg__tpl_kind(b->k));
}

static int eval_bin(rnd *r, const expr *e, tval *out)
{
	tval a, b;
	int rc = pkg__tpl_eval(r, e->a, &a);
	if (rc)
		return rc;
	if (e->op == OP_AND || e->op == OP_OR) {
		bool t = truthy(&a);
		if ((e->op == OP_AND && !t) || (e->op == OP_OR && t)) {
			*out = (tval){.k = V_BOOL, .b = t};
			return 0;
		}
		if ((rc = pkg__tpl_eval(r, e->b, &b)))
			return rc;
		*out = (tval){.k = V_BOOL, .b = truthy(&b)};
		return 0;
	}
	if ((rc = pkg__tpl_eval(r, e->b, &b)))
		return rc;
	if (e->op == OP_EQ || e->op == OP_NE) {
		*out = (tval){.k = V_BOOL, .b = pkg__tpl_equal(&a, &b) == (e->op == OP_EQ)};
		return 0;
	}
	if ((rc = pkg__tpl_defined(r, e->a, &a)) || (rc = pkg__tpl_defined(r, e->b, &b)))
		return rc;
	int c = 0;
	switch (e->op) {
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		if ((rc = compare(r, e, &a, &b, &c)))
			return rc;
		*out = (tval){.k = V_BOOL,
			      .b = e->op == OP_LT   ? c < 0
				   : e->op == OP_LE ? c <= 0
				   : e->op == OP_GT ? c > 0
						    : c >= 0};
		return 0;
	case OP_IN:
	case OP_NOTIN: {
		bool found = false;
		if (b.k == V_STR) {
			if (a.k != V_STR)
				return pkg__tpl_fail(r, e->line, e->col,
						     "'in' a string needs a string");
			found = memmem(b.s, b.n, a.s, a.n) != NULL || a.n == 0;
		} else if (b.k == V_ARR) {
			for (size_t i = 0; i < b.n && !found; i++)
				found = pkg__tpl_equal(&a, &b.items[i]);
		} else if (b.k == V_MAP) {
			found = a.k == V_STR && pkg__tpl_map_get(&b, a.s);
		} else {
			return pkg__tpl_fail(r, e->line, e->col,
					     "'in' needs a string, list or map, got %s",
					     pkg__tpl_kind(b.k));
		}
		*out = (tval){.k = V_BOOL, .b = found == (e->op == OP_IN)};
		return 0;
	}
	case OP_CAT: {
		tval x, y;
		if ((rc = pkg__tpl_string(r, &a, &x)) || (rc = pkg__tpl_string(r, &b, &y)))
			return rc;
		if (x.n + y.n > r->lim->max_output)
			return pkg__tpl_fail(r, e->line, e->col, "string longer than %zu bytes",
					     r->lim->max_output);
		char *s = pkg__tpl_alloc(r, x.n + y.n + 1);
		if (!s)
			return r->err->code;
		memcpy(s, x.s, x.n);
		memcpy(s + x.n, y.s, y.n);
		s[x.n + y.n] = '\0';
		*out = vstr(s, x.n + y.n);
		return 0;
	}
	default:
		if (e->op == OP_ADD && a.k == V_STR && b.k == V_STR)
			return pkg__tpl_fail(r, e->line, e->col,
					     "'+' on strings: use '~' to join them");
		return arith(r, e, &a, &b, out);
	}
}

int pkg__tpl_eval(rnd *r, const expr *e, tval *out)
{
	int rc;
	tval a, b;
	switch (e->k) {
	case E_LIT: *out = e->lit; return 0;
	case E_VAR: return pkg__tpl_lookup(r, e->name, out);
	case E_ATTR:
		if ((rc = pkg__tpl_eval(r, e->a, &a)))
			return rc;
		if (a.k == V_UNDEF) {
			*out = a; /* undefined stays undefined (for default / is defined) */
			return 0;
		}
		if (a.k == V_ARR && isdigit((unsigned char)e->name[0])) {
			size_t i = strtoul(e->name, NULL, 10);
			*out = i < a.n ? a.items[i] : (tval){.k = V_UNDEF, .s = e->name};
			return 0;
		}
		if (a.k != V_MAP)
			return pkg__tpl_fail(r, e->line, e->col, "'.%s' of %s", e->name,
					     pkg__tpl_kind(a.k));
		{
			const tval *v = pkg__tpl_map_get(&a, e->name);
			*out = v ? *v : (tval){.k = V_UNDEF, .s = e->name};
		}
		return 0;
	case E_INDEX:
		if ((rc = pkg__tpl_eval(r, e->a, &a)) || (rc = pkg__tpl_eval(r, e->b, &b)))
			return rc;
		if ((rc = pkg__tpl_defined(r, e->a, &a)) || (rc = pkg__tpl_defined(r, e->b, &b)))
			return rc;
		if (a.k == V_ARR && b.k == V_INT) {
			if (b.i < 0 || (uint64_t)b.i >= a.n)
				return pkg__tpl_fail(r, e->line, e->col,
						     "index %lld out of range (%zu items)",
						     (long long)b.i, a.n);
			*out = a.items[b.i];
			return 0;
		}
		if (a.k == V_MAP && b.k == V_STR) {
			const tval *v = pkg__tpl_map_get(&a, b.s);
			*out = v ? *v : (tval){.k = V_UNDEF, .s = b.s};
			return 0;
		}
		return pkg__tpl_fail(r, e->line, e->col, "cannot index %s with %s",
				     pkg__tpl_kind(a.k), pkg__tpl_kind(b.k));
	case E_FILTER:
		if ((rc = pkg__tpl_eval(r, e->a, out)))
			return rc;
		return pkg__tpl_filter(r, e, out);
	case E_CALL: return pkg__tpl_call(r, e, out);
	case E_TEST: {
		bool res = false;
		if ((rc = pkg__tpl_eval(r, e->a, &a)) || (rc = pkg__tpl_test(r, e, &a, &res)))
			return rc;
		*out = (tval){.k = V_BOOL, .b = res};
		return 0;
	}
	case E_BIN: return eval_bin(r, e, out);
	case E_NOT:
		if ((rc = pkg__tpl_eval(r, e->a, &a)))
			return rc;
		*out = (tval){.k = V_BOOL, .b = !truthy(&a)};
		return 0;
	case E_NEG:
		if ((rc = pkg__tpl_eval(r, e->a, &a)) || (rc = pkg__tpl_defined(r, e->a, &a)))
			return rc;
		if (a.k == V_INT && a.i != INT64_MIN)
			*out = (tval){.k = V_INT, .i = -a.i};
		else if (a.k == V_FLOAT)
			*out = (tval){.k = V_FLOAT, .f = -a.f};
		else
			return pkg__tpl_fail(r, e->line, e->col, "cannot negate %s",
					     pkg__tpl_kind(a.k));
		return 0;
	case E_LIST: {
		tval l = {.k = V_ARR, .n = e->nitems};
		if (!(l.items = pkg__tpl_array(r, e->nitems ? e->nitems : 1, sizeof(*l.items))))
			return r->err->code;
		for (size_t i = 0; i < e->nitems; i++)
			if ((rc = pkg__tpl_eval(r, e->items[i], &l.items[i])) ||
			    (rc = pkg__tpl_defined(r, e->items[i], &l.items[i])))
				return rc;
		*out = l;
		return 0;
	}
	}
	return pkg__tpl_fail(r, e->line, e->col, "bad expression");
}

enum { FLOW_NONE = 0, FLOW_BREAK = 1, FLOW_CONTINUE = 2 };

static int run(rnd *r, const nlist *l, int *flow);

static int push_scope(rnd *r)
{
	if (r->nscopes >= r->lim->max_depth + 2)
		return pkg__tpl_fail(r, r->line, r->col, "loops nested deeper than %zu",
				     r->lim->max_depth);
	scope *ns = pkg__tpl_array(r, r->nscopes + 1, sizeof(*ns));
	if (!ns)
		return r->err->code;
	if (r->nscopes)
		memcpy(ns, r->scopes, r->nscopes * sizeof(*ns));
	r->scopes = ns;
	r->scopes[r->nscopes++] = (scope){0};
	return 0;
}

static int run_set(rnd *r, const node *n)
{
	tval v;
	int rc = pkg__tpl_eval(r, n->e, &v);
	if (rc)
		return rc;
	scope *sc = &r->scopes[n->global ? 0 : r->nscopes - 1];
	if (n->npath) {
		/* set a.b.c = v: rebuild the maps from the inside out */
		tval *chain = pkg__tpl_array(r, n->npath + 1, sizeof(*chain));
		if (!chain)
			return r->err->code;
		pkg__tpl_lookup(r, n->target, &chain[0]);
		for (size_t i = 0; i < n->npath; i++) {
			if (chain[i].k != V_MAP && chain[i].k != V_UNDEF)
				return pkg__tpl_fail(
				    r, n->line, n->col, "set: '%s' is %s, not a map",
				    i ? n->path[i - 1] : n->target, pkg__tpl_kind(chain[i].k));
			const tval *x = pkg__tpl_map_get(&chain[i], n->path[i]);
			chain[i + 1] = x ? *x : (tval){.k = V_UNDEF};
		}
		for (size_t i = n->npath; i-- > 0;)
			if ((rc = pkg__tpl_map_with(r, &chain[i], n->path[i], &v, &v)))
				return rc;
	}
	return scope_set(r, sc, n->target, &v);
}

static int run_for(rnd *r, const node *n)
{
	tval it;
	int rc = pkg__tpl_eval(r, n->e, &it);
	if (!rc)
		rc = pkg__tpl_defined(r, n->e, &it);
	if (rc)
		return rc;
	if (it.k != V_ARR && it.k != V_MAP)
		return pkg__tpl_fail(r, n->line, n->col, "for: cannot loop over %s",
				     pkg__tpl_kind(it.k));
	if (n->kvar && it.k != V_MAP)
		return pkg__tpl_fail(r, n->line, n->col, "for %s, %s: needs a map, got %s", n->kvar,
				     n->vvar, pkg__tpl_kind(it.k));
	if ((rc = push_scope(r)))
		return rc;
	for (size_t i = 0; !rc && i < it.n; i++) {
		if (++r->iters > r->lim->max_iters) {
			rc = pkg__tpl_fail(r, n->line, n->col, "more than %zu loop iterations",
					   r->lim->max_iters);
			break;
		}
		scope *sc = &r->scopes[r->nscopes - 1];
		sc->n = 0; /* a fresh scope per iteration: sets do not leak */
		static const char *const lk[] = {"index", "index0", "first", "last"};
		tval loop = {.k = V_MAP, .n = 4};
		loop.keys = (const char **)lk;
		if (!(loop.items = pkg__tpl_array(r, 4, sizeof(*loop.items)))) {
			rc = r->err->code;
			break;
		}
		loop.items[0] = (tval){.k = V_INT, .i = (int64_t)i + 1};
		loop.items[1] = (tval){.k = V_INT, .i = (int64_t)i};
		loop.items[2] = (tval){.k = V_BOOL, .b = i == 0};
		loop.items[3] = (tval){.k = V_BOOL, .b = i + 1 == it.n};
		if ((rc = scope_set(r, sc, "loop", &loop)))
			break;
		if (n->kvar) {
			tval k = vstr(it.keys[i], strlen(it.keys[i]));
			if ((rc = scope_set(r, sc, n->kvar, &k)))
				break;
		}
		if ((rc = scope_set(r, sc, n->vvar, &it.items[i])))
			break;
		int flow = FLOW_NONE;
		rc = run(r, &n->body, &flow);
		if (flow == FLOW_BREAK)
			break;
	}
	r->nscopes--;
	return rc;
}

static int run(rnd *r, const nlist *l, int *flow)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < l->n && *flow == FLOW_NONE; i++) {
		const node *n = l->v[i];
		r->line = n->line;
		r->col = n->col;
		switch (n->k) {
		case N_TEXT: rc = pkg__tpl_append(r, r->out, n->s, n->n); break;
		case N_EXPR: {
			tval v;
			if (!(rc = pkg__tpl_eval(r, n->e, &v)) &&
			    !(rc = pkg__tpl_defined(r, n->e, &v)))
				rc = pkg__tpl_text(r, &v, r->out);
			break;
		}
		case N_SET: rc = run_set(r, n); break;
		case N_IF: {
			size_t k = 0;
			bool taken = false;
			for (; !rc && k < n->nconds && !taken; k++) {
				tval c;
				if ((rc = pkg__tpl_eval(r, n->conds[k], &c)))
					break;
				taken = truthy(&c);
				if (taken)
					rc = run(r, &n->bodies[k], flow);
			}
			if (!rc && !taken)
				rc = run(r, &n->els, flow);
			break;
		}
		case N_FOR: rc = run_for(r, n); break;
		case N_BREAK: *flow = FLOW_BREAK; break;
		case N_CONTINUE: *flow = FLOW_CONTINUE; break;
		}
	}
	return rc;
}

/* opt: "a.b" values become opt.a.b (a plain "a" given too wins) */
static int make_opt(rnd *r, const pkg__tvars *vars, tval *out)
{
	tval m = {.k = V_MAP};
	int rc = 0;
	for (size_t i = 0; !rc && vars && i < vars->nopts; i++) {
		const char *name = vars->opts[i].name, *val = vars->opts[i].value;
		tval v = vstr(val, strlen(val));
		const char *dot = strchr(name, '.');
		if (!dot) {
			rc = pkg__tpl_map_with(r, &m, name, &v, &m);
			continue;
		}
		char *head = pkg__tpl_strndup(r, name, (size_t)(dot - name));
		if (!head)
			return r->err->code;
		const tval *cur = pkg__tpl_map_get(&m, head);
		if (cur && cur->k == V_STR)
			continue;
		tval sub = cur ? *cur : (tval){.k = V_UNDEF};
		if (!(rc = pkg__tpl_map_with(r, &sub, dot + 1, &v, &sub)))
			rc = pkg__tpl_map_with(r, &m, head, &sub, &m);
	}
	*out = m;
	return rc;
}

static int make_env(rnd *r, const pkg__tvars *vars, tval *out)
{
	size_t n = 0;
	while (vars && vars->env && vars->env[n])
		n++;
	tval m = {.k = V_MAP};
	m.items = pkg__tpl_array(r, n ? n : 1, sizeof(*m.items));
	m.keys = pkg__tpl_array(r, n ? n : 1, sizeof(*m.keys));
	if (!m.items || !m.keys)
		return r->err->code;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(vars->env[i], '=');
		if (!eq)
			continue;
		char *k = pkg__tpl_strndup(r, vars->env[i], (size_t)(eq - vars->env[i]));
		if (!k)
			return r->err->code;
		m.keys[m.n] = k;
		m.items[m.n++] = vstr(eq + 1, strlen(eq + 1));
	}
	*out = m;
	return 0;
}

int pkg__template_render(sp_buf *out, const char *text, size_t len, const char *file,
			 const pkg__tvars *vars, const pkg__template_limits *lim, sp_error *err)
{
	if (!lim)
		lim = &pkg__template_limits_default;
	_cleanup_(solver_arena_freep) solver_arena *a = NULL;
	int rc = solver_arena_new(&a, err);
	if (rc)
		return rc;
	rnd r = {.a = a, .file = file, .lim = lim, .err = err, .out = out, .line = 1, .col = 1};
	pieces p = {0};
	if ((rc = split(&r, &p, text, len)))
		return rc;
	nlist top = {0};
	parser ps = {.r = &r, .p = &p};
	if ((rc = parse_block(&ps, &top, NULL, NULL)))
		return rc;
	if ((rc = push_scope(&r)))
		return rc;
	tval opt, env, spk, ver = vstr(SPAWN_VERSION, strlen(SPAWN_VERSION));
	if ((rc = make_opt(&r, vars, &opt)) || (rc = make_env(&r, vars, &env)) ||
	    (rc = pkg__tpl_map_with(&r, &(tval){.k = V_UNDEF}, "version", &ver, &spk)))
		return rc;
	if ((rc = scope_set(&r, &r.scopes[0], "opt", &opt)) ||
	    (rc = scope_set(&r, &r.scopes[0], "env", &env)) ||
	    (rc = scope_set(&r, &r.scopes[0], "spk", &spk)))
		return rc;
	int flow = FLOW_NONE;
	return run(&r, &top, &flow);
}
