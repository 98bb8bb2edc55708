/* sat.h - the CDCL engine behind the solver (module-internal, see sat.c). */
#ifndef SPAWN_SOLVER_SAT_H
#define SPAWN_SOLVER_SAT_H

#include "solver/solver.h"

typedef struct solver__sat solver__sat;

int solver__sat_new(solver__sat **out, size_t nvars, sp_error *err);
void solver__sat_free(solver__sat *s);
/* Adds a clause of literals (+v / -v, v in 1..nvars). `fact` names it for
 * the unsat core. A requirement clause has at most one negative literal
 * (its guard) and positive literals in preference order. */
int solver__sat_add(solver__sat *s, const int *lits, size_t n, int fact, bool requirement);
/* 1 satisfiable, 0 unsatisfiable, <0 error (SOLVER_ELIMIT past max_conflicts). */
int solver__sat_solve(solver__sat *s, uint64_t max_conflicts);
bool solver__sat_value(const solver__sat *s, int var);
void solver__sat_stats(const solver__sat *s, uint64_t *conflicts, uint64_t *decisions);
/* Fact ids of the original clauses an unsatisfiable result rests on;
 * caller frees *facts. */
int solver__sat_core(solver__sat *s, int **facts, size_t *nfacts);

#endif
