/* ref.c - resolving references and flattening objects into trees. */
#include "store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Finds the single digest starting with `prefix` (8..63 hex chars) among
 * objects and payloads. */
static int resolve_prefix(sp_digest *out, spfs_store *s, const char *prefix, sp_error *err)
{
	size_t plen = strlen(prefix);
	char shard[3] = {prefix[0], prefix[1], '\0'};
	char found[SP_DIGEST_HEX_LEN + 1] = "";
	int matches = 0;
	int parents[2] = {s->objects_fd, s->payloads_fd};
	for (int k = 0; k < 2; k++) {
		int fd = openat(parents[k], shard, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		DIR *d = fdopendir(fd);
		if (!d) {
			close(fd);
			continue;
		}
		struct dirent *de;
		while ((de = readdir(d))) {
			size_t n = strlen(de->d_name);
			if (n != SP_DIGEST_HEX_LEN - 2 &&
			    !(n == SP_DIGEST_HEX_LEN && strcmp(de->d_name + n - 2, ".x") == 0))
				continue;
			if (strncmp(de->d_name, prefix + 2, plen - 2) != 0)
				continue;
			char full[SP_DIGEST_HEX_LEN + 1];
			snprintf(full, sizeof(full), "%s%.62s", shard, de->d_name);
			if (!sp_digest_is_hex(full, SP_DIGEST_HEX_LEN))
				continue;
			if (matches == 0 || strcmp(found, full) != 0) {
				if (matches && strcmp(found, full) != 0) {
					closedir(d);
					return sp_error_set(err, SPFS_EAMBIGUOUS,
							    "digest prefix '%s' is ambiguous "
							    "(%s..., %s...); give more characters",
							    prefix, found, full);
				}
				memcpy(found, full, sizeof(found));
				matches = 1;
			}
		}
		closedir(d);
	}
	if (!matches)
		return sp_error_set(err, SPFS_ENOTFOUND, "no object or tag matches '%s'", prefix);
	return sp_digest_from_hex(out, found, err);
}

static int kind_of(spfs_kind *kind, spfs_store *s, const sp_digest *d, sp_error *err)
{
	if (spfs_has_object(s, d)) {
		sp_buf b = {0};
		int rc = spfs_read_object(&b, kind, s, d, err);
		sp_buf_free(&b);
		return rc;
	}
	if (spfs_has_payload(s, d)) {
		*kind = SPFS_KIND_BLOB;
		return 0;
	}
	char hex[SP_DIGEST_HEX_LEN + 1];
	sp_digest_to_hex(d, hex);
	return sp_error_set(err, SPFS_ENOTFOUND, "%s is not in the store", hex);
}

int spfs_resolve(sp_digest *out, spfs_kind *kind, spfs_store *s, const char *ref, sp_error *err)
{
	size_t len = strlen(ref);
	spfs_kind k;
	int rc;
	if (len == SP_DIGEST_HEX_LEN && sp_digest_is_hex(ref, len)) {
		if ((rc = sp_digest_from_hex(out, ref, err)))
			return rc;
		return kind_of(kind ? kind : &k, s, out, err);
	}
	/* TAG~N: N versions back in the tag's history. */
	char name[SPFS_MAX_TAG_NAME + 1];
	unsigned long back = 0;
	const char *tilde = strrchr(ref, '~');
	if (tilde) {
		char *end = NULL;
		errno = 0;
		back = strtoul(tilde + 1, &end, 10);
		if (tilde[1] < '0' || tilde[1] > '9' || *end || errno ||
		    (size_t)(tilde - ref) > SPFS_MAX_TAG_NAME)
			return sp_error_set(err, SP_EINVALID,
					    "'%s': expected TAG~N with N a number", ref);
		snprintf(name, sizeof(name), "%.*s", (int)(tilde - ref), ref);
	} else {
		if (len > SPFS_MAX_TAG_NAME)
			return sp_error_set(err, SP_EINVALID, "reference too long");
		snprintf(name, sizeof(name), "%s", ref);
	}
	if (spfs_tag_name_valid(name)) {
		spfs_tag_history h = {0};
		rc = spfs_tag_read(&h, s, name, err);
		if (rc == 0) {
			if (back >= h.count) {
				size_t count = h.count;
				spfs_tag_history_free(&h);
				return sp_error_set(err, SPFS_ENOTFOUND,
						    "tag '%s' has only %zu version%s", name, count,
						    count == 1 ? "" : "s");
			}
			*out = h.records[h.count - 1 - back].target;
			spfs_tag_history_free(&h);
			return kind_of(kind ? kind : &k, s, out, err);
		}
		if (rc != SPFS_ENOTFOUND)
			return rc;
	}
	if (!tilde && len >= 8 && len < SP_DIGEST_HEX_LEN && sp_digest_is_hex(ref, len)) {
		if ((rc = resolve_prefix(out, s, ref, err)))
			return rc;
		return kind_of(kind ? kind : &k, s, out, err);
	}
	if (len < 8 && sp_digest_is_hex(ref, len) && !tilde)
		return sp_error_set(
		    err, SPFS_ENOTFOUND,
		    "no tag named '%s' (a digest prefix needs at least 8 characters)", ref);
	return sp_error_set(err, SPFS_ENOTFOUND, "no tag or object named '%s'", ref);
}

int spfs_flatten(spfs_manifest **out, spfs_store *s, const sp_digest *d, spfs_kind kind,
		 bool keep_masks, sp_error *err)
{
	int rc;
	char hex[SP_DIGEST_HEX_LEN + 1];
	sp_digest_to_hex(d, hex);
	switch (kind) {
	case SPFS_KIND_MANIFEST: return spfs_read_manifest(out, s, d, err);
	case SPFS_KIND_LAYER: {
		_cleanup_(spfs_layer_freep) spfs_layer *l = NULL;
		if ((rc = spfs_read_layer(&l, s, d, err)))
			return rc;
		if ((rc = spfs_read_manifest(out, s, &l->manifest, err)))
			return sp_error_prefix(err, "layer %s", hex);
		return 0;
	}
	case SPFS_KIND_PLATFORM: {
		_cleanup_(spfs_platform_freep) spfs_platform *p = NULL;
		if ((rc = spfs_read_platform(&p, s, d, err)))
			return rc;
		_cleanup_(spfs_manifest_freep) spfs_manifest *acc = calloc(1, sizeof(*acc));
		if (!acc)
			return sp_error_set(err, SP_ENOMEM, "out of memory");
		for (size_t i = 0; i < p->count; i++) {
			_cleanup_(spfs_manifest_freep) spfs_manifest *m = NULL;
			if ((rc = spfs_flatten(&m, s, &p->layers[i], SPFS_KIND_LAYER, true, err)))
				return sp_error_prefix(err, "platform %s", hex);
			if ((rc = spfs_manifest_overlay(acc, m, keep_masks, err)))
				return rc;
		}
		*out = steal_pointer(&acc);
		return 0;
	}
	case SPFS_KIND_BLOB: break;
	}
	return sp_error_set(err, SP_EINVALID, "%s is a blob, not a tree", hex);
}
