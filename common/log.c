/* log.c - leveled logging to stderr. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

static sp_log_level current = SP_LOG_WARN;

void sp_log_init(int verbosity_delta)
{
	static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
	int level = SP_LOG_WARN;
	const char *env = getenv("SPAWN_LOG");
	if (env)
		for (int i = 0; i < 5; i++)
			if (strcmp(env, names[i]) == 0)
				level = i;
	level += verbosity_delta;
	if (level < SP_LOG_ERROR)
		level = SP_LOG_ERROR;
	if (level > SP_LOG_TRACE)
		level = SP_LOG_TRACE;
	current = (sp_log_level)level;
}

void sp_log_set_level(sp_log_level level)
{
	current = level;
}

sp_log_level sp_log_get_level(void)
{
	return current;
}

void sp_log(sp_log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = {"error: ", "warning: ", "", "debug: ", "trace: "};
	if (level > current)
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s%s\n", prefix[level], line);
}
