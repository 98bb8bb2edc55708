/* spfs_enter.c - main of spfs-enter, the setcap helper of non-root
 * runtimes; all of it is in spfs/enter.c (linked alone: libc, the error
 * chain and the cleanup helpers, nothing else). */
#include "spfs/enter.h"

int main(int argc, char **argv)
{
	spfs_enter__main(argc, argv);
}
