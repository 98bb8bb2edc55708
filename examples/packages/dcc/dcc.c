/* dcc.c - the demo DCC: prints its version, then loads every plugin (*.so
 * with a plugin_name function) in the directories of $DCC_PLUGIN_PATH. */
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
	printf("dcc %s\n", VERSION);
	char *path = getenv("DCC_PLUGIN_PATH");
	if (!path)
		return 0;
	path = strdup(path);
	char *save = NULL;
	for (char *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d))) {
			size_t n = strlen(e->d_name);
			if (n < 4 || strcmp(e->d_name + n - 3, ".so"))
				continue;
			char p[4096];
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			void *h = dlopen(p, RTLD_NOW);
			const char *(*name)(void) =
			    h ? (const char *(*)(void))dlsym(h, "plugin_name") : NULL;
			if (name)
				printf("loaded plugin: %s\n", name());
			else
				printf("cannot load %s: %s\n", p, dlerror());
		}
		closedir(d);
	}
	return 0;
}
