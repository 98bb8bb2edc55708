/* template.h - spec files as templates (pkg-internal; see pkg/template.c
 * and docs/spec.md "Templates"). */
#ifndef SPAWN_PKG_TEMPLATE_H
#define SPAWN_PKG_TEMPLATE_H

#include "pkg/pkg.h"

/* What a template sees: `opt` (the option values; "a.b" becomes opt.a.b),
 * `env` ("NAME=VALUE" strings, NULL-ended; NULL: none) and `spk.version`. */
typedef struct pkg__tvars {
	const solver_opt *opts;
	size_t nopts;
	const char *const *env;
} pkg__tvars;

typedef struct pkg__template_limits {
	size_t max_output; /* bytes rendered */
	size_t max_depth;  /* nested blocks, and nested expressions */
	size_t max_iters;  /* loop iterations in one render, all loops together */
	size_t max_memory; /* bytes of values made while rendering */
} pkg__template_limits;

/* 4 MiB output, depth 64, 100000 iterations, 64 MiB of values. */
extern const pkg__template_limits pkg__template_limits_default;

/* True when text holds a template tag ({{, {% or {#}; a text without one
 * renders to itself. */
bool pkg__template_is(const char *text, size_t len);

/* Renders text[0..len) (named file in messages) into out. Errors name
 * file:line:column of the tag and what is wrong. */
int pkg__template_render(sp_buf *out, const char *text, size_t len, const char *file,
			 const pkg__tvars *vars, const pkg__template_limits *lim, sp_error *err);

#endif
