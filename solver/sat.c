/* sat.c - a small CDCL engine for the solver (module-internal).
 *
 * Clauses over boolean variables (1..n); two watched literals; 1-UIP
 * conflict analysis with non-chronological backjumping; learned clauses are
 * kept (no deletion), which keeps the search complete. Decisions are not
 * free: only "requirement" clauses (a guard literal implying a choice among
 * candidates) drive them. When a guard becomes true, its clauses join an
 * agenda in activation order; the first agenda clause with no true literal
 * is satisfied by its first unassigned candidate literal, in the order the
 * caller gave (newest first). With no such clause left, every unassigned
 * variable is false and all clauses hold. Deterministic throughout.
 *
 * Each learned clause remembers the clauses it was derived from, so an
 * unsatisfiable run can list the original clauses ("facts") it used. */
#include "solver/sat.h"

#include <stdlib.h>
#include <string.h>

typedef struct clause {
	size_t off, n;	 /* literals in s->lits */
	size_t doff, dn; /* decision order (positive literals), requirement clauses */
	size_t aoff, an; /* antecedents (learned clauses) */
	int fact;	 /* caller's fact id, -1 for learned */
	int guard;	 /* guarding variable of a requirement clause, 0 = none */
	bool learned;
} clause;

typedef struct ivec {
	int *v;
	size_t n, cap;
} ivec;

struct solver__sat {
	size_t nvars;
	clause *cl;
	size_t ncl, capcl;
	ivec lits, dlits, ante;
	ivec *watch;   /* per literal: clauses watching it */
	ivec *guarded; /* per variable: requirement clauses it guards */
	int8_t *val;   /* per variable: 0, 1, -1 */
	int *level, *reason;
	ivec trail, trail_lim;
	size_t qhead;
	ivec agenda, agenda_lim; /* activated requirement clauses */
	ivec roots;		 /* requirement clauses without guard */
	ivec units;		 /* unit clauses, enqueued when solving starts */
	int8_t *seen;
	bool unsat;
	int final_conflict;
	uint64_t conflicts, decisions, props;
	sp_error *err;
};

static int push(ivec *v, int x, sp_error *err)
{
	if (v->n == v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 8;
		int rc = sp_realloc_array((void **)&v->v, nc, sizeof(int), err);
		if (rc)
			return rc;
		v->cap = nc;
	}
	v->v[v->n++] = x;
	return 0;
}

static inline int lit_var(int l)
{
	return l >> 1;
}

static inline int mklit(int x)
{
	return x > 0 ? 2 * x : 2 * -x + 1;
}

static inline int lit_val(const solver__sat *s, int l)
{
	int v = s->val[l >> 1];
	return (l & 1) ? -v : v;
}

int solver__sat_new(solver__sat **out, size_t nvars, sp_error *err)
{
	solver__sat *s = calloc(1, sizeof(*s));
	if (!s)
		return sp_error_set(err, SP_ENOMEM, "out of memory (sat)");
	s->nvars = nvars;
	s->err = err;
	s->final_conflict = -1;
	size_t nl = 2 * (nvars + 1);
	s->watch = calloc(nl, sizeof(ivec));
	s->guarded = calloc(nvars + 1, sizeof(ivec));
	s->val = calloc(nvars + 1, 1);
	s->seen = calloc(nvars + 1, 1);
	s->level = calloc(nvars + 1, sizeof(int));
	s->reason = malloc((nvars + 1) * sizeof(int));
	if (!s->watch || !s->guarded || !s->val || !s->seen || !s->level || !s->reason) {
		solver__sat_free(s);
		return sp_error_set(err, SP_ENOMEM, "out of memory (sat)");
	}
	for (size_t i = 0; i <= nvars; i++)
		s->reason[i] = -1;
	*out = s;
	return 0;
}

void solver__sat_free(solver__sat *s)
{
	if (!s)
		return;
	if (s->watch)
		for (size_t i = 0; i < 2 * (s->nvars + 1); i++)
			free(s->watch[i].v);
	if (s->guarded)
		for (size_t i = 0; i <= s->nvars; i++)
			free(s->guarded[i].v);
	free(s->watch);
	free(s->guarded);
	free(s->val);
	free(s->seen);
	free(s->level);
	free(s->reason);
	free(s->cl);
	free(s->lits.v);
	free(s->dlits.v);
	free(s->ante.v);
	free(s->trail.v);
	free(s->trail_lim.v);
	free(s->agenda.v);
	free(s->agenda_lim.v);
	free(s->roots.v);
	free(s->units.v);
	free(s);
}

static int decision_level(const solver__sat *s)
{
	return (int)s->trail_lim.n;
}

static int enqueue(solver__sat *s, int lit, int reason)
{
	int v = lit_var(lit);
	s->val[v] = (lit & 1) ? -1 : 1;
	s->level[v] = decision_level(s);
	s->reason[v] = reason;
	int rc = push(&s->trail, lit, s->err);
	if (rc)
		return rc;
	if (!(lit & 1))
		for (size_t i = 0; i < s->guarded[v].n; i++)
			if ((rc = push(&s->agenda, s->guarded[v].v[i], s->err)))
				return rc;
	return 0;
}

static int new_clause(solver__sat *s, const int *lits, size_t n, int fact, int guard, bool learned,
		      int *id)
{
	if (s->ncl == s->capcl) {
		size_t nc = s->capcl ? s->capcl * 2 : 64;
		int rc = sp_realloc_array((void **)&s->cl, nc, sizeof(clause), s->err);
		if (rc)
			return rc;
		s->capcl = nc;
	}
	clause *c = &s->cl[s->ncl];
	memset(c, 0, sizeof(*c));
	c->off = s->lits.n;
	c->n = n;
	c->fact = fact;
	c->guard = guard;
	c->learned = learned;
	for (size_t i = 0; i < n; i++) {
		int rc = push(&s->lits, lits[i], s->err);
		if (rc)
			return rc;
	}
	*id = (int)s->ncl++;
	return 0;
}

static int watch_clause(solver__sat *s, int id)
{
	clause *c = &s->cl[id];
	int *l = s->lits.v + c->off;
	int rc = push(&s->watch[l[0]], id, s->err);
	if (!rc && c->n > 1)
		rc = push(&s->watch[l[1]], id, s->err);
	return rc;
}

int solver__sat_add(solver__sat *s, const int *in, size_t n, int fact, bool requirement)
{
	int *lits = calloc(n ? n : 1, sizeof(int));
	if (!lits)
		return sp_error_set(s->err, SP_ENOMEM, "out of memory (sat)");
	size_t k = 0;
	int guard = 0;
	bool taut = false;
	for (size_t i = 0; i < n; i++) {
		int l = mklit(in[i]);
		bool dup = false;
		for (size_t j = 0; j < k; j++) {
			dup = dup || lits[j] == l;
			taut = taut || lits[j] == (l ^ 1);
		}
		if (!dup)
			lits[k++] = l;
		if (in[i] < 0 && requirement)
			guard = -in[i];
	}
	int rc = 0, id;
	if (taut) {
		free(lits);
		return 0;
	}
	rc = new_clause(s, lits, k, fact, guard, false, &id);
	if (!rc && requirement) {
		clause *c = &s->cl[id];
		c->doff = s->dlits.n;
		for (size_t i = 0; i < n && !rc; i++)
			if (in[i] > 0)
				rc = push(&s->dlits, mklit(in[i]), s->err);
		c->dn = s->dlits.n - c->doff;
		if (!rc)
			rc = guard ? push(&s->guarded[guard], id, s->err)
				   : push(&s->roots, id, s->err);
	}
	free(lits);
	if (rc)
		return rc;
	if (s->unsat)
		return 0;
	if (k == 0) {
		s->unsat = true;
		s->final_conflict = id;
		return 0;
	}
	if (k == 1)
		return push(&s->units, id, s->err); /* enqueued when solving starts */
	return watch_clause(s, id);
}

/* Returns the conflicting clause id, or -1. */
static int propagate(solver__sat *s)
{
	while (s->qhead < s->trail.n) {
		int p = s->trail.v[s->qhead++];
		int fl = p ^ 1; /* this literal just became false */
		ivec *ws = &s->watch[fl];
		size_t i = 0, j = 0;
		s->props++;
		while (i < ws->n) {
			int id = ws->v[i++];
			clause *c = &s->cl[id];
			int *l = s->lits.v + c->off;
			if (l[0] == fl) {
				l[0] = l[1];
				l[1] = fl;
			}
			if (lit_val(s, l[0]) == 1) {
				ws->v[j++] = id;
				continue;
			}
			bool moved = false;
			for (size_t k = 2; k < c->n; k++) {
				if (lit_val(s, l[k]) != -1) {
					l[1] = l[k];
					l[k] = fl;
					if (push(&s->watch[l[1]], id, s->err))
						return -2;
					moved = true;
					break;
				}
			}
			if (moved)
				continue;
			ws->v[j++] = id;
			if (lit_val(s, l[0]) == -1) {
				while (i < ws->n)
					ws->v[j++] = ws->v[i++];
				ws->n = j;
				return id;
			}
			if (enqueue(s, l[0], id))
				return -2;
		}
		ws->n = j;
	}
	return -1;
}

static void backjump(solver__sat *s, int lvl)
{
	if (decision_level(s) <= lvl)
		return;
	size_t to = (size_t)s->trail_lim.v[lvl];
	for (size_t i = s->trail.n; i > to; i--) {
		int v = lit_var(s->trail.v[i - 1]);
		s->val[v] = 0;
		s->reason[v] = -1;
	}
	s->trail.n = to;
	s->qhead = to;
	s->trail_lim.n = (size_t)lvl;
	s->agenda.n = (size_t)s->agenda_lim.v[lvl];
	s->agenda_lim.n = (size_t)lvl;
}

static int analyze(solver__sat *s, int confl, ivec *learnt, ivec *ante, int *bt)
{
	learnt->n = 0;
	ante->n = 0;
	int rc = push(learnt, 0, s->err); /* slot for the UIP */
	if (rc)
		return rc;
	int pathc = 0, p = -1;
	size_t idx = s->trail.n;
	int lvl = decision_level(s);
	do {
		if ((rc = push(ante, confl, s->err)))
			return rc;
		clause *c = &s->cl[confl];
		int *l = s->lits.v + c->off;
		for (size_t k = 0; k < c->n; k++) {
			int q = l[k];
			if (p >= 0 && q == p)
				continue;
			int v = lit_var(q);
			if (s->seen[v])
				continue;
			if (s->level[v] == 0) {
				/* remembered for the core through its reason */
				if (s->reason[v] >= 0) {
					s->seen[v] = 2;
					if ((rc = push(ante, s->reason[v], s->err)))
						return rc;
				}
				continue;
			}
			s->seen[v] = 1;
			if (s->level[v] == lvl)
				pathc++;
			else if ((rc = push(learnt, q, s->err)))
				return rc;
		}
		while (!s->seen[lit_var(s->trail.v[idx - 1])] ||
		       s->seen[lit_var(s->trail.v[idx - 1])] == 2)
			idx--;
		p = s->trail.v[--idx];
		confl = s->reason[lit_var(p)];
		s->seen[lit_var(p)] = 0;
		pathc--;
	} while (pathc > 0);
	learnt->v[0] = p ^ 1;
	int max = 0;
	size_t maxi = 1;
	for (size_t k = 1; k < learnt->n; k++) {
		int lv = s->level[lit_var(learnt->v[k])];
		if (lv > max) {
			max = lv;
			maxi = k;
		}
	}
	if (learnt->n > 1) {
		int t = learnt->v[1];
		learnt->v[1] = learnt->v[maxi];
		learnt->v[maxi] = t;
	}
	*bt = max;
	for (size_t k = 0; k < learnt->n; k++)
		s->seen[lit_var(learnt->v[k])] = 0;
	for (size_t k = 0; k < s->trail.n; k++)
		s->seen[lit_var(s->trail.v[k])] = 0;
	return 0;
}

/* The first activated requirement clause with no true literal. */
static int pick(solver__sat *s, int *lit)
{
	for (int pass = 0; pass < 2; pass++) {
		const ivec *list = pass == 0 ? &s->roots : &s->agenda;
		for (size_t i = 0; i < list->n; i++) {
			const clause *c = &s->cl[list->v[i]];
			const int *l = s->lits.v + c->off;
			bool sat = false;
			for (size_t k = 0; k < c->n && !sat; k++)
				sat = lit_val(s, l[k]) == 1;
			if (sat)
				continue;
			for (size_t k = 0; k < c->dn; k++) {
				int d = s->dlits.v[c->doff + k];
				if (lit_val(s, d) == 0) {
					*lit = d;
					return 1;
				}
			}
		}
	}
	return 0;
}

int solver__sat_solve(solver__sat *s, uint64_t max_conflicts)
{
	if (s->unsat)
		return 0;
	/* Units go in only now, when every clause and every guard list
	 * exists: a clause added after its literals were assigned would never
	 * be watched or put on the agenda. */
	for (size_t i = 0; i < s->units.n; i++) {
		int id = s->units.v[i];
		int l = s->lits.v[s->cl[id].off];
		int v = lit_val(s, l);
		if (v == -1) {
			s->unsat = true;
			s->final_conflict = id;
			return 0;
		}
		if (v == 0) {
			int rc = enqueue(s, l, id);
			if (rc)
				return rc;
		}
	}
	s->units.n = 0;
	ivec learnt = {0}, ante = {0};
	int rc = 0;
	for (;;) {
		int confl = propagate(s);
		if (confl == -2) {
			rc = s->err->code ? s->err->code : SP_ENOMEM;
			break;
		}
		if (confl >= 0) {
			s->conflicts++;
			if (decision_level(s) == 0) {
				s->unsat = true;
				s->final_conflict = confl;
				rc = 0;
				break;
			}
			if (max_conflicts && s->conflicts > max_conflicts) {
				rc = sp_error_set(s->err, SOLVER_ELIMIT,
						  "the search gave up after %llu conflicts",
						  (unsigned long long)max_conflicts);
				break;
			}
			int bt;
			if ((rc = analyze(s, confl, &learnt, &ante, &bt)))
				break;
			backjump(s, bt);
			int id;
			if ((rc = new_clause(s, learnt.v, learnt.n, -1, 0, true, &id)))
				break;
			clause *c = &s->cl[id];
			c->aoff = s->ante.n;
			for (size_t k = 0; k < ante.n && !rc; k++)
				rc = push(&s->ante, ante.v[k], s->err);
			c->an = ante.n;
			if (!rc && learnt.n > 1)
				rc = watch_clause(s, id);
			if (!rc)
				rc = enqueue(s, learnt.v[0], id);
			if (rc)
				break;
			continue;
		}
		int lit;
		if (!pick(s, &lit)) {
			rc = 1;
			break;
		}
		s->decisions++;
		if ((rc = push(&s->trail_lim, (int)s->trail.n, s->err)) ||
		    (rc = push(&s->agenda_lim, (int)s->agenda.n, s->err)) ||
		    (rc = enqueue(s, lit, -1)))
			break;
	}
	free(learnt.v);
	free(ante.v);
	return rc;
}

bool solver__sat_value(const solver__sat *s, int var)
{
	return var > 0 && (size_t)var <= s->nvars && s->val[var] == 1;
}

void solver__sat_stats(const solver__sat *s, uint64_t *conflicts, uint64_t *decisions)
{
	*conflicts = s->conflicts;
	*decisions = s->decisions;
}

int solver__sat_core(solver__sat *s, int **facts, size_t *nfacts)
{
	*facts = NULL;
	*nfacts = 0;
	if (!s->unsat || s->final_conflict < 0)
		return 0;
	int8_t *done = calloc(s->ncl ? s->ncl : 1, 1);
	ivec q = {0}, out = {0};
	int rc = done ? push(&q, s->final_conflict, s->err) : SP_ENOMEM;
	for (size_t i = 0; !rc && i < q.n; i++) {
		int id = q.v[i];
		if (done[id])
			continue;
		done[id] = 1;
		const clause *c = &s->cl[id];
		if (c->learned) {
			for (size_t k = 0; k < c->an && !rc; k++)
				rc = push(&q, s->ante.v[c->aoff + k], s->err);
		} else if (c->fact >= 0) {
			rc = push(&out, c->fact, s->err);
		}
		for (size_t k = 0; k < c->n && !rc; k++) {
			int v = lit_var(s->lits.v[c->off + k]);
			if (s->val[v] && s->level[v] == 0 && s->reason[v] >= 0 &&
			    s->reason[v] != id)
				rc = push(&q, s->reason[v], s->err);
		}
	}
	free(done);
	free(q.v);
	if (rc) {
		free(out.v);
		return rc ? rc : sp_error_set(s->err, SP_ENOMEM, "out of memory");
	}
	*facts = out.v;
	*nfacts = out.n;
	return 0;
}
