/* archive_dl.c - loading libarchive on first use (archive_dl.h). */
#define PKG__ARCHIVE_DL_IMPL
#include "pkg/archive_dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

pkg__archive_fns pkg__archive;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char failure[300];

/* The soname of libarchive 3 (Debian's libarchive13). */
static const char *const sonames[] = {"libarchive.so.13", "libarchive.so"};

static void load(void)
{
	void *lib = NULL;
	for (size_t i = 0; i < sizeof(sonames) / sizeof(sonames[0]) && !lib; i++)
		lib = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *why = dlerror();
		snprintf(failure, sizeof(failure), "%s", why ? why : "libarchive.so.13 not found");
		return;
	}
	/* never closed: it stays for the life of the process */
#define PKG__ARCHIVE_SYM(f)                                                                        \
	if (!failure[0] && !(pkg__archive.f = (__typeof__(&f))dlsym(lib, #f)))                     \
		snprintf(failure, sizeof(failure), "libarchive has no %s", #f);
	PKG__ARCHIVE_FUNCS(PKG__ARCHIVE_SYM)
#undef PKG__ARCHIVE_SYM
}

int pkg__archive_load(sp_error *err)
{
	pthread_once(&once, load);
	if (failure[0])
		return sp_error_set(
		    err, SP_ERROR,
		    "cannot load libarchive for tar sources: %s (install libarchive13)", failure);
	return 0;
}
