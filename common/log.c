/* log.c - leveled logging to stderr. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

static sp_log_level current = SP_LOG_WARN;

int sp_log_init(int verbosity_delta, sp_error *err)
{
	static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
	int level = SP_LOG_WARN, rc = 0;
	const char *env = getenv("SPAWN_LOG");
	if (env && *env) {
		int found = -1;
		for (int i = 0; i < 5; i++)
			if (strcmp(env, names[i]) == 0)
				found = i;
		if (found >= 0)
			level = found;
		else
			rc = sp_error_set(err, SP_EINVALID,
					  "SPAWN_LOG=%.100s is not a log level (error, warn, info, "
					  "debug or trace)",
					  env);
	}
	level += verbosity_delta;
	if (level < SP_LOG_ERROR)
		level = SP_LOG_ERROR;
	if (level > SP_LOG_TRACE)
		level = SP_LOG_TRACE;
	current = (sp_log_level)level;
	return rc;
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
	fputs(prefix[level], stderr);
	va_list ap;
	va_start(ap, fmt);
	sp_vfprintf_quoted(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
