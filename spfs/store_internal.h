/* store_internal.h - shared between the files of spfs/ only. */
#ifndef SPAWN_SPFS_STORE_INTERNAL_H
#define SPAWN_SPFS_STORE_INTERNAL_H

#include "spfs.h"

#include <pthread.h>

struct spfs_store {
	char *path;
	int dirfd;	/* the store root */
	int objects_fd; /* objects/ */
	int payloads_fd;
	int tags_fd;
	int renders_fd;
	int tmp_fd;
	int lock_fd;	/* locks/store, flock()ed */
	int lock_depth; /* nested shared locks taken by this handle */
	/* shard directory fds (xx/), opened on first use; -1 = not yet */
	int object_shards[256];
	int payload_shards[256];
	pthread_mutex_t shard_lock;
	/* Counts of files given final names by this handle, and the count at
	 * the last syncfs: a commit that wrote nothing does not sync. */
	uint64_t published, synced;
};

/* Name of an object/payload inside its shard: the 62 hex chars after the
 * first two, plus ".x" for the executable payload variant. */
void spfs_store__shard_name(const sp_digest *d, bool exec, char *name /* >= 65 */);
/* Opens (creating when `create`) the shard directory of d. Borrowed fd. */
int spfs_store__shard_fd(int *out, spfs_store *s, bool payload, const sp_digest *d, bool create,
			 sp_error *err);
/* A fresh staging directory under tmp/; returns its fd and name. */
int spfs_store__stage_dir(int *out_fd, char *name /* >= 32 */, spfs_store *s, sp_error *err);
/* Makes sure the payload variant (exec or not) exists; copies from the
 * other variant when needed. */
int spfs_store__payload_variant(spfs_store *s, const sp_digest *d, bool exec, sp_error *err);
/* Copies the rest of src into fd while hashing it: SPFS_EMISMATCH when it
 * does not hash to d (what is written is exactly what was verified). */
int spfs_store__copy_hashed(int fd, int src, const sp_digest *d, sp_error *err);
/* Sizes libuv's thread pool (before its first use): twice the cores, at
 * least 4, unless UV_THREADPOOL_SIZE is set. */
void spfs_store__threadpool_size(void);
/* Takes the exclusive lock without waiting. */
int spfs_store__lock_exclusive(spfs_store *s, sp_error *err);

/* A growable hash set of digests (open addressing). */
typedef struct spfs_dset {
	sp_digest *slots; /* zero digest = empty slot */
	size_t count, mask;
} spfs_dset;
/* Returns 1 when added, 0 when already present, <0 on error. */
int spfs_dset__add(spfs_dset *s, const sp_digest *d, sp_error *err);
bool spfs_dset__has(const spfs_dset *s, const sp_digest *d);
void spfs_dset__free(spfs_dset *s);
/* Adds d and everything it references (tolerates missing objects; when
 * `missing_cb` is set it is told of each missing or unreadable one). */
typedef void (*spfs_missing_cb)(const sp_digest *d, const char *why, void *ud);
/* With `entry_cb`, it also sees every file and symlink entry of every
 * manifest walked (duplicates included: a payload's mode variant matters
 * to `spfs check`). Both callbacks take `ud`. */
typedef void (*spfs_entry_cb)(const spfs_entry *e, void *ud);
int spfs_store__mark(spfs_store *s, spfs_dset *set, const sp_digest *d, spfs_missing_cb cb,
		     spfs_entry_cb entry_cb, void *ud, sp_error *err);
/* Calls cb for each tag record of every tag; odd (or a warning when NULL)
 * for each entry of tags/ that is not a tag (spfs_tag_walk). */
typedef int (*spfs_record_cb)(const char *tag, size_t back, const spfs_tag_record *r,
			      size_t dropped, void *ud);
int spfs_store__each_record(spfs_store *s, spfs_record_cb cb, spfs_tag_odd_cb odd, void *ud,
			    sp_error *err);
#endif
