/* arena_fixture.h - one solver arena per test (cmocka setup/teardown),
 * shared by the solver unit tests. Include after cmocka.h. */
#ifndef SPAWN_TEST_SOLVER_ARENA_FIXTURE_H
#define SPAWN_TEST_SOLVER_ARENA_FIXTURE_H

#include "solver/solver.h"

static solver_arena *A;

static int setup(void **st)
{
	(void)st;
	sp_error e = {0};
	return solver_arena_new(&A, &e);
}

static int teardown(void **st)
{
	(void)st;
	solver_arena_free(A);
	return 0;
}

#endif
