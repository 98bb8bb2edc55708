/* spfs.c - the `spfs` command: argument parsing and output only. */
#include "spfs/spfs.h"
#include "cli/help.h"
#include "cli/spfs_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_USAGE = 2, EXIT_BUSY = 75 };

static const char *store_path_opt;

const cli_cmd *spfs_cli_current;

void spfs_cli_usage_hint(void)
{
	if (!spfs_cli_current) {
		fputs("Try 'spfs --help'.\n", stderr);
		return;
	}
	cli_help_print_synopsis(stderr, &spfs_help, spfs_cli_current);
	fprintf(stderr, "Try 'spfs %s --help'.\n", spfs_cli_current->name);
}

static int usage_error(const char *fmt, const char *arg)
{
	sp_eprintf("spfs: ");
	sp_eprintf(fmt, arg);
	sp_eprintf("\n");
	spfs_cli_usage_hint();
	return EXIT_USAGE;
}

/* Prints the error; the exit status by docs/spfs.md's table. */
static int fail(const sp_error *err)
{
	sp_error_print(stderr, "spfs", err);
	return err->code == SP_ECONFIG ? EXIT_USAGE : EXIT_FAILURE;
}

static int open_store(spfs_store **out, bool create, sp_error *err)
{
	if (store_path_opt)
		return spfs_store_open(out, store_path_opt, create, err);
	_cleanup_free_ char *path = NULL;
	int rc = spfs_default_storage(&path, err);
	return rc ? rc : spfs_store_open(out, path, create, err);
}

/* Flags shared by the subcommands; each accepts the ones it documents. */
typedef struct flags {
	bool json, copy, no_verify, full_verify, dry_run, latest, long_fmt, recursive;
	const char *tag;
	const char *older_than;
	char **pos; /* the operands, in order: moved to the front of argv[1..] */
	int npos;
} flags;

/* Flags and operands in any order; "--" ends the flags. Every operand is
 * kept (argv holds them all). */
static int parse_flags(flags *f, int argc, char **argv, const char *allowed)
{
	static const struct option longopts[] = {
	    {"json", no_argument, 0, 'j'},	  {"copy", no_argument, 0, 'c'},
	    {"no-verify", no_argument, 0, 'V'},	  {"dry-run", no_argument, 0, 'n'},
	    {"full-verify", no_argument, 0, 'F'}, {"latest", no_argument, 0, 'L'},
	    {"tag", required_argument, 0, 't'},	  {"older-than", required_argument, 0, 'o'},
	    {"help", no_argument, 0, 'h'},	  {0, 0, 0, 0},
	};
	memset(f, 0, sizeof(*f));
	f->pos = argv + 1;
	optind = 0; /* re-initialise: the '-' ordering is read then */
	int c;
	/* '-': operands come back in order as option 1, so each is moved down
	 * into a slot getopt has already passed */
	while ((c = getopt_long(argc, argv, "-t:lRh", longopts, NULL)) != -1) {
		if (c == 1) {
			f->pos[f->npos++] = optarg;
			continue;
		}
		if (c == 'h' && spfs_cli_current) {
			cli_help_print(stdout, &spfs_help, spfs_cli_current);
			exit(0);
		}
		if (c == '?' || !strchr(allowed, c))
			return usage_error("%s: option not accepted here", argv[optind - 1]);
		switch (c) {
		case 'j': f->json = true; break;
		case 'c': f->copy = true; break;
		case 'V': f->no_verify = true; break;
		case 'F': f->full_verify = true; break;
		case 'n': f->dry_run = true; break;
		case 'L': f->latest = true; break;
		case 'l': f->long_fmt = true; break;
		case 'R': f->recursive = true; break;
		case 't': f->tag = optarg; break;
		case 'o': f->older_than = optarg; break;
		}
	}
	for (int i = optind; i < argc; i++) /* after "--" */
		f->pos[f->npos++] = argv[i];
	return 0;
}

static void hex_of(const sp_digest *d, char *hex)
{
	sp_digest_to_hex(d, hex);
}

/* ----------------------------------------------------------- commands */

static int cmd_init(int argc, char **argv)
{
	flags f;
	int rc = parse_flags(&f, argc, argv, "");
	if (rc)
		return rc;
	sp_error err = {0};
	_cleanup_free_ char *configured = NULL;
	if (f.npos > 1)
		return usage_error("%s", "init takes at most one PATH");
	const char *path = f.npos == 1 ? f.pos[0] : store_path_opt;
	if (!path && spfs_default_storage(&configured, &err))
		return fail(&err);
	if (!path)
		path = configured;
	if (spfs_store_init(path, &err))
		return fail(&err);
	printf("%s\n", path);
	return 0;
}

static int cmd_commit(int argc, char **argv)
{
	for (int k = 1; k < argc; k++) /* `spfs commit layer|platform` inside a runtime */
		if (argv[k][0] != '-' && (k == 1 || strcmp(argv[k - 1], "-t") != 0)) {
			if (strcmp(argv[k], "layer") == 0 || strcmp(argv[k], "platform") == 0)
				return spfs_cli_commit_runtime(argc, argv, store_path_opt);
			break;
		}
	flags f;
	int rc = parse_flags(&f, argc, argv, "tj");
	if (rc)
		return rc;
	if (f.npos != 1)
		return usage_error("%s", "commit takes one DIR");
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	if (open_store(&s, false, &err)) /* only 'spfs init' makes a store */
		return fail(&err);
	spfs_commit_opts opts = {.tag = f.tag};
	spfs_commit_stats st;
	sp_digest layer, manifest;
	if (spfs_commit_dir(&layer, &manifest, s, f.pos[0], &opts, &st, &err))
		return fail(&err);
	char hex[SP_DIGEST_HEX_LEN + 1], mhex[SP_DIGEST_HEX_LEN + 1];
	hex_of(&layer, hex);
	hex_of(&manifest, mhex);
	if (f.json) {
		sp_json j;
		sp_json_init(&j, stdout, true);
		sp_json_begin_object(&j);
		sp_json_key(&j, "layer"), sp_json_string(&j, hex);
		sp_json_key(&j, "manifest"), sp_json_string(&j, mhex);
		if (f.tag)
			sp_json_key(&j, "tag"), sp_json_string(&j, f.tag);
		sp_json_key(&j, "files"), sp_json_uint(&j, st.files);
		sp_json_key(&j, "dirs"), sp_json_uint(&j, st.dirs);
		sp_json_key(&j, "symlinks"), sp_json_uint(&j, st.symlinks);
		sp_json_key(&j, "bytes"), sp_json_uint(&j, st.bytes);
		sp_json_key(&j, "new_blobs"), sp_json_uint(&j, st.new_blobs);
		sp_json_key(&j, "new_bytes"), sp_json_uint(&j, st.new_bytes);
		sp_json_key(&j, "reused_bytes"),
		    sp_json_uint(&j,
				 st.bytes - (st.new_bytes > st.bytes ? st.bytes : st.new_bytes));
		sp_json_end_object(&j);
		sp_json_finish(&j);
	} else {
		printf("%s\n", hex);
		char a[32], b[32];
		sp_format_bytes(a, sizeof(a), st.bytes);
		sp_format_bytes(b, sizeof(b), st.new_bytes);
		sp_info("committed %llu files (%s), %llu dirs, %llu symlinks; %llu new blobs (%s "
			"written)",
			(unsigned long long)st.files, a, (unsigned long long)st.dirs,
			(unsigned long long)st.symlinks, (unsigned long long)st.new_blobs, b);
	}
	return 0;
}

static int resolve_tree(spfs_manifest **out, spfs_store *s, const char *ref, sp_error *err)
{
	sp_digest d;
	spfs_kind kind;
	int rc = spfs_resolve(&d, &kind, s, ref, err);
	if (rc)
		return rc;
	return spfs_flatten(out, s, &d, kind, false, err);
}

/* Without DIR: the render(s) kept under storage, made once and reused; one
 * path per layer, bottom first (what a runtime stacks). */
static int render_stored(spfs_store *s, const sp_digest *d, spfs_kind kind)
{
	sp_error err = {0};
	_cleanup_(spfs_platform_freep) spfs_platform *p = NULL;
	sp_digest single = *d;
	const sp_digest *layers = &single;
	size_t count = 1;
	if (kind == SPFS_KIND_PLATFORM) {
		if (spfs_read_platform(&p, s, d, &err))
			return fail(&err);
		layers = p->layers;
		count = p->count;
	} else if (kind == SPFS_KIND_BLOB) {
		fprintf(stderr, "spfs: a blob is not a tree; use 'spfs cat'\n");
		return EXIT_FAILURE;
	}
	for (size_t i = 0; i < count; i++) {
		sp_digest manifest = layers[i];
		if (kind != SPFS_KIND_MANIFEST) {
			_cleanup_(spfs_layer_freep) spfs_layer *l = NULL;
			if (spfs_read_layer(&l, s, &layers[i], &err))
				return fail(&err);
			manifest = l->manifest;
		}
		_cleanup_free_ char *path = NULL;
		if (spfs_render_stored(&path, s, &manifest, &err))
			return fail(&err);
		printf("%s\n", path);
	}
	return 0;
}

static int cmd_render(int argc, char **argv)
{
	flags f;
	int rc = parse_flags(&f, argc, argv, "cVF");
	if (rc)
		return rc;
	if (f.npos != 2 && f.npos != 1)
		return usage_error("%s", "render takes REF and at most one DIR");
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	if (open_store(&s, false, &err))
		return fail(&err);
	sp_digest d;
	spfs_kind kind;
	if (spfs_resolve(&d, &kind, s, f.pos[0], &err))
		return fail(&err);
	if (f.npos == 1)
		return render_stored(s, &d, kind);
	spfs_render_opts opts = {.copy = f.copy,
				 .verify = f.no_verify	   ? SPFS_VERIFY_NONE
					   : f.full_verify ? SPFS_VERIFY_FULL
							   : SPFS_VERIFY_QUICK};
	if (spfs_render_to(s, &d, kind, f.pos[1], &opts, &err))
		return fail(&err);
	return 0;
}

static void json_entry(sp_json *j, const spfs_entry *e)
{
	char hex[SP_DIGEST_HEX_LEN + 1];
	sp_json_begin_object(j);
	sp_json_key(j, "path"), sp_json_string(j, e->path);
	sp_json_key(j, "kind"), sp_json_string(j, spfs_entry_kind_name(e->kind));
	char mode[8];
	snprintf(mode, sizeof(mode), "%04o", e->mode);
	sp_json_key(j, "mode"), sp_json_string(j, mode);
	if (e->kind == SPFS_ENTRY_FILE || e->kind == SPFS_ENTRY_SYMLINK) {
		sp_json_key(j, "size"), sp_json_uint(j, e->size);
		hex_of(&e->digest, hex);
		sp_json_key(j, "digest"), sp_json_string(j, hex);
	}
	if (e->target)
		sp_json_key(j, "target"), sp_json_string(j, e->target);
	sp_json_end_object(j);
}

static int cmd_ls(int argc, char **argv)
{
	flags f;
	int rc = parse_flags(&f, argc, argv, "jlR");
	if (rc)
		return rc;
	if (f.npos < 1 || f.npos > 2)
		return usage_error("%s", "ls takes REF and at most one PATH");
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	_cleanup_(spfs_manifest_freep) spfs_manifest *m = NULL;
	if (open_store(&s, false, &err) || resolve_tree(&m, s, f.pos[0], &err))
		return fail(&err);
	char dir[SPFS_MAX_PATH + 1] = "";
	if (f.npos == 2) {
		const char *p = f.pos[1];
		while (*p == '/')
			p++;
		if (strlen(p) >= sizeof(dir)) { /* longer than any path in a tree */
			sp_eprintf("spfs: %s: no such file or directory in %s\n", p, f.pos[0]);
			return EXIT_FAILURE;
		}
		snprintf(dir, sizeof(dir), "%s", p);
		size_t n = strlen(dir);
		while (n && dir[n - 1] == '/')
			dir[--n] = '\0';
		if (n) {
			const spfs_entry *e = spfs_manifest_find(m, dir);
			if (!e) {
				sp_eprintf("spfs: %s: no such file or directory in %s\n", dir,
					   f.pos[0]);
				return EXIT_FAILURE;
			}
			if (e->kind != SPFS_ENTRY_DIR) {
				printf("%s\n", e->path);
				return 0;
			}
		}
	}
	size_t dlen = strlen(dir);
	sp_json j;
	if (f.json) {
		sp_json_init(&j, stdout, false);
		sp_json_begin_array(&j);
	}
	for (size_t i = 0; i < m->count; i++) {
		const spfs_entry *e = &m->entries[i];
		const char *rel = e->path;
		if (dlen) {
			if (strncmp(e->path, dir, dlen) != 0 || e->path[dlen] != '/')
				continue;
			rel = e->path + dlen + 1;
		}
		if (!f.recursive && strchr(rel, '/'))
			continue;
		if (f.json) {
			json_entry(&j, e);
		} else if (f.long_fmt) {
			char hex[SP_DIGEST_HEX_LEN + 1] = "-";
			if (e->kind == SPFS_ENTRY_FILE)
				hex_of(&e->digest, hex);
			printf("%-7s %04o %10llu %.12s %s%s%s\n", spfs_entry_kind_name(e->kind),
			       e->mode, (unsigned long long)e->size, hex,
			       f.recursive ? e->path : rel, e->target ? " -> " : "",
			       e->target ? e->target : "");
		} else {
			printf("%s%s\n", f.recursive ? e->path : rel,
			       e->kind == SPFS_ENTRY_DIR ? "/" : "");
		}
	}
	if (f.json) {
		sp_json_end_array(&j);
		sp_json_finish(&j);
	}
	return 0;
}

static int print_store_info(spfs_store *s, bool json)
{
	sp_error err = {0};
	spfs_check_stats st;
	if (spfs_store_usage(&st, s, &err))
		return fail(&err);
	char b[32];
	sp_format_bytes(b, sizeof(b), st.bytes);
	if (json) {
		sp_json j;
		sp_json_init(&j, stdout, true);
		sp_json_begin_object(&j);
		sp_json_key(&j, "store"), sp_json_string(&j, spfs_store_path(s));
		sp_json_key(&j, "objects"), sp_json_uint(&j, st.objects);
		sp_json_key(&j, "payloads"), sp_json_uint(&j, st.payloads);
		sp_json_key(&j, "tags"), sp_json_uint(&j, st.tags);
		sp_json_key(&j, "bytes"), sp_json_uint(&j, st.bytes);
		sp_json_end_object(&j);
		sp_json_finish(&j);
	} else {
		printf("store:    %s\nobjects:  %llu\npayloads: %llu\ntags:     %llu\nsize:     %s "
		       "(%llu bytes)\n",
		       spfs_store_path(s), (unsigned long long)st.objects,
		       (unsigned long long)st.payloads, (unsigned long long)st.tags, b,
		       (unsigned long long)st.bytes);
	}
	return 0;
}

static int cmd_info(int argc, char **argv)
{
	flags f;
	int rc = parse_flags(&f, argc, argv, "j");
	if (rc)
		return rc;
	if (f.npos > 1)
		return usage_error("%s", "info takes at most one REF");
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	if (open_store(&s, false, &err))
		return fail(&err);
	if (f.npos == 0)
		return print_store_info(s, f.json);
	sp_digest d;
	spfs_kind kind;
	if (spfs_resolve(&d, &kind, s, f.pos[0], &err))
		return fail(&err);
	char hex[SP_DIGEST_HEX_LEN + 1];
	hex_of(&d, hex);
	sp_json j;
	sp_json_init(&j, stdout, true);
	if (f.json) {
		sp_json_begin_object(&j);
		sp_json_key(&j, "digest"), sp_json_string(&j, hex);
		sp_json_key(&j, "kind"), sp_json_string(&j, spfs_kind_name(kind));
	} else {
		printf("%s %s\n", spfs_kind_name(kind), hex);
	}
	if (kind == SPFS_KIND_BLOB) {
		_cleanup_close_ int fd = -1;
		if (spfs_open_payload(&fd, s, &d, &err))
			return fail(&err);
		off_t size = lseek(fd, 0, SEEK_END);
		if (f.json)
			sp_json_key(&j, "size"), sp_json_int(&j, (int64_t)size);
		else
			printf("size: %lld bytes\n", (long long)size);
	} else if (kind == SPFS_KIND_LAYER) {
		_cleanup_(spfs_layer_freep) spfs_layer *l = NULL;
		if (spfs_read_layer(&l, s, &d, &err))
			return fail(&err);
		char mhex[SP_DIGEST_HEX_LEN + 1];
		hex_of(&l->manifest, mhex);
		if (f.json) {
			sp_json_key(&j, "manifest"), sp_json_string(&j, mhex);
			sp_json_key(&j, "annotations"), sp_json_begin_object(&j);
			for (size_t i = 0; i < l->annotation_count; i++)
				sp_json_key(&j, l->annotations[i].key),
				    sp_json_string(&j, l->annotations[i].value);
			sp_json_end_object(&j);
		} else {
			printf("manifest: %s\n", mhex);
			for (size_t i = 0; i < l->annotation_count; i++)
				printf("annotation: %s=%s\n", l->annotations[i].key,
				       l->annotations[i].value);
		}
	} else if (kind == SPFS_KIND_PLATFORM) {
		_cleanup_(spfs_platform_freep) spfs_platform *p = NULL;
		if (spfs_read_platform(&p, s, &d, &err))
			return fail(&err);
		if (f.json)
			sp_json_key(&j, "layers"), sp_json_begin_array(&j);
		for (size_t i = 0; i < p->count; i++) {
			char lhex[SP_DIGEST_HEX_LEN + 1];
			hex_of(&p->layers[i], lhex);
			if (f.json)
				sp_json_string(&j, lhex);
			else
				printf("layer %zu: %s\n", i, lhex);
		}
		if (f.json)
			sp_json_end_array(&j);
	}
	if (kind != SPFS_KIND_BLOB) {
		_cleanup_(spfs_manifest_freep) spfs_manifest *m = NULL;
		if (spfs_flatten(&m, s, &d, kind, false, &err))
			return fail(&err);
		uint64_t files = 0, dirs = 0, links = 0, bytes = 0;
		for (size_t i = 0; i < m->count; i++) {
			const spfs_entry *e = &m->entries[i];
			files += e->kind == SPFS_ENTRY_FILE;
			dirs += e->kind == SPFS_ENTRY_DIR;
			links += e->kind == SPFS_ENTRY_SYMLINK;
			if (e->kind == SPFS_ENTRY_FILE)
				bytes += e->size;
		}
		if (f.json) {
			sp_json_key(&j, "files"), sp_json_uint(&j, files);
			sp_json_key(&j, "dirs"), sp_json_uint(&j, dirs);
			sp_json_key(&j, "symlinks"), sp_json_uint(&j, links);
			sp_json_key(&j, "bytes"), sp_json_uint(&j, bytes);
		} else {
			char b[32];
			sp_format_bytes(b, sizeof(b), bytes);
			printf("tree: %llu files, %llu dirs, %llu symlinks, %s\n",
			       (unsigned long long)files, (unsigned long long)dirs,
			       (unsigned long long)links, b);
		}
	}
	if (f.json) {
		sp_json_end_object(&j);
		sp_json_finish(&j);
	}
	return 0;
}

/* Streams a payload to stdout, verifying its digest on the way. */
static int cat_payload(spfs_store *s, const sp_digest *d, sp_error *err)
{
	return spfs_write_payload_to(STDOUT_FILENO, s, d, err);
}

static int cmd_cat(int argc, char **argv)
{
	flags f;
	int rc = parse_flags(&f, argc, argv, "");
	if (rc)
		return rc;
	if (f.npos < 1 || f.npos > 2)
		return usage_error("%s", "cat takes REF and at most one PATH");
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	if (open_store(&s, false, &err))
		return fail(&err);
	sp_digest d;
	spfs_kind kind;
	if (spfs_resolve(&d, &kind, s, f.pos[0], &err))
		return fail(&err);
	if (kind == SPFS_KIND_BLOB) {
		if (f.npos == 2)
			return usage_error("%s", "a blob has no PATH inside it");
		return cat_payload(s, &d, &err) ? fail(&err) : 0;
	}
	if (f.npos != 2)
		return usage_error("%s", "cat of a tree needs a PATH");
	_cleanup_(spfs_manifest_freep) spfs_manifest *m = NULL;
	if (spfs_flatten(&m, s, &d, kind, false, &err))
		return fail(&err);
	const char *p = f.pos[1];
	while (*p == '/')
		p++;
	const spfs_entry *e = spfs_manifest_find(m, p);
	if (!e) {
		sp_eprintf("spfs: %s: no such file in %s\n", p, f.pos[0]);
		return EXIT_FAILURE;
	}
	if (e->kind == SPFS_ENTRY_SYMLINK) {
		printf("%s\n", e->target);
		return 0;
	}
	if (e->kind != SPFS_ENTRY_FILE) {
		sp_eprintf("spfs: %s is a %s, not a file\n", p, spfs_entry_kind_name(e->kind));
		return EXIT_FAILURE;
	}
	return cat_payload(s, &e->digest, &err) ? fail(&err) : 0;
}

void spfs_cli_print_diff(spfs_diff_op op, const spfs_entry *a, const spfs_entry *b, void *ud)
{
	spfs_cli_diff_out *o = ud;
	const spfs_entry *e = b ? b : a;
	o->changes++;
	if (o->j) {
		sp_json_begin_object(o->j);
		char ops[2] = {(char)op, 0};
		sp_json_key(o->j, "op"), sp_json_string(o->j, ops);
		sp_json_key(o->j, "path"), sp_json_string(o->j, e->path);
		sp_json_key(o->j, "kind"), sp_json_string(o->j, spfs_entry_kind_name(e->kind));
		sp_json_end_object(o->j);
		return;
	}
	printf("%c %s%s\n", op, e->path, e->kind == SPFS_ENTRY_DIR ? "/" : "");
}

static int cmd_diff(int argc, char **argv)
{
	bool operands = false; /* no operand inside a runtime: its changes */
	for (int k = 1; k < argc; k++)
		operands |= argv[k][0] != '-';
	if (!operands && getenv("SPFS_RUNTIME"))
		return spfs_cli_diff_runtime(argc, argv, store_path_opt);
	flags f;
	int rc = parse_flags(&f, argc, argv, "j");
	if (rc)
		return rc;
	if (f.npos != 2)
		return usage_error("%s", "diff takes two REFs (none inside a runtime)");
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	_cleanup_(spfs_manifest_freep) spfs_manifest *a = NULL;
	_cleanup_(spfs_manifest_freep) spfs_manifest *b = NULL;
	if (open_store(&s, false, &err) || resolve_tree(&a, s, f.pos[0], &err) ||
	    resolve_tree(&b, s, f.pos[1], &err))
		return fail(&err);
	sp_json j;
	spfs_cli_diff_out o = {0};
	if (f.json) {
		sp_json_init(&j, stdout, false);
		sp_json_begin_array(&j);
		o.j = &j;
	}
	spfs_manifest_diff(a, b, spfs_cli_print_diff, &o);
	if (f.json) {
		sp_json_end_array(&j);
		sp_json_finish(&j);
	}
	return 0;
}

static int cmd_tag(int argc, char **argv)
{
	flags f;
	int rc = parse_flags(&f, argc, argv, "");
	if (rc)
		return rc;
	if (f.npos != 2)
		return usage_error("%s", "tag takes REF and NAME");
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	if (open_store(&s, false, &err))
		return fail(&err);
	sp_digest d;
	/* Hold the shared lock so clean cannot remove the target between
	 * resolving it and tagging it. */
	if (spfs_store_lock_shared(s, &err))
		return fail(&err);
	rc = spfs_resolve(&d, NULL, s, f.pos[0], &err);
	if (!rc)
		rc = spfs_tag_set(s, f.pos[1], &d, &err);
	spfs_store_unlock(s);
	return rc ? fail(&err) : 0;
}

static int cmd_untag(int argc, char **argv)
{
	flags f;
	int rc = parse_flags(&f, argc, argv, "L");
	if (rc)
		return rc;
	if (f.npos != 1)
		return usage_error("%s", "untag takes one NAME");
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	if (open_store(&s, false, &err) || spfs_tag_remove(s, f.pos[0], f.latest, &err))
		return fail(&err);
	return 0;
}

typedef struct tags_out {
	spfs_store *s;
	sp_json *j;
} tags_out;

static int on_tag(const char *name, void *ud)
{
	tags_out *o = ud;
	sp_error err = {0};
	sp_digest d;
	char hex[SP_DIGEST_HEX_LEN + 1] = "";
	if (spfs_resolve(&d, NULL, o->s, name, &err) == 0)
		hex_of(&d, hex);
	if (o->j) {
		sp_json_begin_object(o->j);
		sp_json_key(o->j, "name"), sp_json_string(o->j, name);
		sp_json_key(o->j, "target");
		if (hex[0])
			sp_json_string(o->j, hex);
		else
			sp_json_null(o->j);
		sp_json_end_object(o->j);
	} else {
		printf("%s\t%s\n", name, hex[0] ? hex : "(damaged)");
	}
	return 0;
}

static int cmd_tags(int argc, char **argv)
{
	flags f;
	int rc = parse_flags(&f, argc, argv, "j");
	if (rc)
		return rc;
	if (f.npos > 1)
		return usage_error("%s", "tags takes at most one PREFIX");
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	if (open_store(&s, false, &err))
		return fail(&err);
	sp_json j;
	tags_out o = {.s = s};
	if (f.json) {
		sp_json_init(&j, stdout, false);
		sp_json_begin_array(&j);
		o.j = &j;
	}
	if (spfs_tag_list(s, f.npos ? f.pos[0] : "", on_tag, &o, &err))
		return fail(&err);
	if (f.json) {
		sp_json_end_array(&j);
		sp_json_finish(&j);
	}
	return 0;
}

static int cmd_log(int argc, char **argv)
{
	flags f;
	int rc = parse_flags(&f, argc, argv, "j");
	if (rc)
		return rc;
	if (f.npos != 1)
		return usage_error("%s", "log takes one TAG");
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	spfs_tag_history h = {0};
	if (open_store(&s, false, &err) || spfs_tag_read(&h, s, f.pos[0], &err))
		return fail(&err);
	sp_json j;
	if (f.json) {
		sp_json_init(&j, stdout, false);
		sp_json_begin_array(&j);
	}
	for (size_t i = h.count; i-- > 0;) {
		char hex[SP_DIGEST_HEX_LEN + 1], when[32];
		hex_of(&h.records[i].target, hex);
		time_t t = (time_t)h.records[i].time;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (f.json) {
			sp_json_begin_object(&j);
			sp_json_key(&j, "version"), sp_json_uint(&j, h.count - 1 - i);
			sp_json_key(&j, "target"), sp_json_string(&j, hex);
			sp_json_key(&j, "time"), sp_json_string(&j, when);
			sp_json_end_object(&j);
		} else {
			printf("%s~%zu\t%s\t%s\n", f.pos[0], h.count - 1 - i, hex, when);
		}
	}
	if (f.json) {
		sp_json_end_array(&j);
		sp_json_finish(&j);
	}
	if (h.dropped)
		sp_warn("%zu damaged record%s skipped in tag '%s' (run 'spfs check')", h.dropped,
			h.dropped == 1 ? "" : "s", f.pos[0]);
	spfs_tag_history_free(&h);
	return 0;
}

static int cmd_merge(int argc, char **argv)
{
	flags f;
	int rc = parse_flags(&f, argc, argv, "t");
	if (rc)
		return rc;
	if (f.npos < 1 || !f.tag)
		return usage_error("%s", "merge needs at least one REF and -t TAG");
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	if (open_store(&s, false, &err))
		return fail(&err);
	_cleanup_free_ sp_digest *layers = NULL;
	size_t count = 0, cap = 0;
	if (spfs_store_lock_shared(s, &err))
		return fail(&err);
	for (int i = 0; i < f.npos && !rc; i++) {
		sp_digest d;
		spfs_kind kind;
		if ((rc = spfs_resolve(&d, &kind, s, f.pos[i], &err)))
			break;
		_cleanup_(spfs_platform_freep) spfs_platform *p = NULL;
		size_t add = 1;
		if (kind == SPFS_KIND_PLATFORM) {
			if ((rc = spfs_read_platform(&p, s, &d, &err)))
				break;
			add = p->count;
		} else if (kind != SPFS_KIND_LAYER) {
			rc = sp_error_set(&err, SP_EINVALID,
					  "%s is a %s; merge takes layers and platforms", f.pos[i],
					  spfs_kind_name(kind));
			break;
		}
		if (count + add > cap) {
			cap = (count + add) * 2;
			if ((rc = sp_realloc_array((void **)&layers, cap, sizeof(*layers), &err)))
				break;
		}
		if (p) {
			memcpy(layers + count, p->layers, p->count * sizeof(*layers));
			count += p->count;
		} else {
			layers[count++] = d;
		}
	}
	sp_digest out;
	if (!rc)
		rc = spfs_commit_platform(&out, s, layers, count, f.tag, &err);
	spfs_store_unlock(s);
	if (rc)
		return fail(&err);
	char hex[SP_DIGEST_HEX_LEN + 1];
	hex_of(&out, hex);
	printf("%s\n", hex);
	return 0;
}

typedef struct check_out {
	sp_json *j;
} check_out;

static void on_problem(const spfs_problem *p, void *ud)
{
	check_out *o = ud;
	if (o->j) {
		sp_json_begin_object(o->j);
		sp_json_key(o->j, "what"), sp_json_string(o->j, p->what);
		sp_json_key(o->j, "name"), sp_json_string(o->j, p->name);
		sp_json_key(o->j, "detail"), sp_json_string(o->j, p->detail);
		sp_json_end_object(o->j);
		return;
	}
	printf("%s %s: %s\n", p->what, p->name, p->detail);
}

static int cmd_check(int argc, char **argv)
{
	flags f;
	int rc = parse_flags(&f, argc, argv, "j");
	if (rc)
		return rc;
	if (f.npos)
		return usage_error("%s", "check takes no operand");
	sp_error err = {0};
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	if (open_store(&s, false, &err))
		return fail(&err);
	sp_json j;
	check_out o = {0};
	if (f.json) {
		sp_json_init(&j, stdout, true);
		sp_json_begin_object(&j);
		sp_json_key(&j, "problems");
		sp_json_begin_array(&j);
		o.j = &j;
	}
	spfs_check_stats st;
	if (spfs_check(s, on_problem, &o, &st, &err))
		return fail(&err);
	if (f.json) {
		sp_json_end_array(&j);
		sp_json_key(&j, "objects"), sp_json_uint(&j, st.objects);
		sp_json_key(&j, "payloads"), sp_json_uint(&j, st.payloads);
		sp_json_key(&j, "tags"), sp_json_uint(&j, st.tags);
		sp_json_key(&j, "bytes"), sp_json_uint(&j, st.bytes);
		sp_json_key(&j, "ok"), sp_json_bool(&j, st.problems == 0);
		sp_json_end_object(&j);
		sp_json_finish(&j);
	} else {
		char b[32];
		sp_format_bytes(b, sizeof(b), st.bytes);
		fflush(stdout); /* the problems first, when both streams go to one pipe */
		fprintf(st.problems ? stderr : stdout,
			"checked %llu objects, %llu payloads (%s), %llu tags: %llu problem%s\n",
			(unsigned long long)st.objects, (unsigned long long)st.payloads, b,
			(unsigned long long)st.tags, (unsigned long long)st.problems,
			st.problems == 1 ? "" : "s");
	}
	return st.problems ? EXIT_FAILURE : 0;
}

typedef struct clean_out {
	sp_json *j;
	bool dry;
} clean_out;

static void on_clean(const char *what, const char *name, void *ud)
{
	clean_out *o = ud;
	if (o->j) {
		sp_json_begin_object(o->j);
		sp_json_key(o->j, "what"), sp_json_string(o->j, what);
		sp_json_key(o->j, "name"), sp_json_string(o->j, name);
		sp_json_end_object(o->j);
	} else if (o->dry || sp_log_get_level() >= SP_LOG_INFO) {
		printf("%s %s %s\n", o->dry ? "would remove" : "removed", what, name);
	}
}

static int cmd_clean(int argc, char **argv)
{
	flags f;
	int rc = parse_flags(&f, argc, argv, "njo");
	if (rc)
		return rc;
	if (f.npos)
		return usage_error("%s", "clean takes no operand");
	sp_error err = {0};
	spfs_clean_opts opts = {.grace_seconds = 15 * 60, .dry_run = f.dry_run};
	if (f.older_than && sp_parse_duration(&opts.grace_seconds, f.older_than, &err))
		return usage_error("%s", err.msg);
	_cleanup_(spfs_store_freep) spfs_store *s = NULL;
	if (open_store(&s, false, &err))
		return fail(&err);
	sp_json j;
	clean_out o = {.dry = f.dry_run};
	if (f.json) {
		sp_json_init(&j, stdout, true);
		sp_json_begin_object(&j);
		sp_json_key(&j, "removed");
		sp_json_begin_array(&j);
		o.j = &j;
	}
	spfs_clean_stats st;
	rc = spfs_clean(s, &opts, on_clean, &o, &st, &err);
	if (rc == SPFS_ELOCKED) {
		if (f.json) {
			sp_json_end_array(&j);
			sp_json_key(&j, "skipped"), sp_json_string(&j, err.msg);
			sp_json_end_object(&j);
			sp_json_finish(&j);
		}
		sp_eprintf("spfs: clean skipped: %s; try again later\n", err.msg);
		return EXIT_BUSY;
	}
	if (rc)
		return fail(&err);
	char b[32];
	sp_format_bytes(b, sizeof(b), st.bytes);
	if (f.json) {
		sp_json_end_array(&j);
		sp_json_key(&j, "dry_run"), sp_json_bool(&j, f.dry_run);
		sp_json_key(&j, "objects"), sp_json_uint(&j, st.objects);
		sp_json_key(&j, "payloads"), sp_json_uint(&j, st.payloads);
		sp_json_key(&j, "renders"), sp_json_uint(&j, st.renders);
		sp_json_key(&j, "temps"), sp_json_uint(&j, st.temps);
		sp_json_key(&j, "bytes"), sp_json_uint(&j, st.bytes);
		sp_json_key(&j, "runtime_caches"), sp_json_uint(&j, st.runtime_caches);
		sp_json_key(&j, "kept_young"), sp_json_uint(&j, st.kept_young);
		sp_json_end_object(&j);
		sp_json_finish(&j);
	} else {
		fprintf(stderr,
			"%s %llu objects, %llu payloads, %llu renders, %llu temporary files (%s), "
			"%llu runtime cache entries; kept %llu younger than the grace period\n",
			f.dry_run ? "would remove" : "removed", (unsigned long long)st.objects,
			(unsigned long long)st.payloads, (unsigned long long)st.renders,
			(unsigned long long)st.temps, b, (unsigned long long)st.runtime_caches,
			(unsigned long long)st.kept_young);
	}
	return 0;
}

/* The runtime subcommands (cli/spfs_runtime.c) take the --store value. */
static int cmd_run(int argc, char **argv)
{
	return spfs_cli_run(argc, argv, store_path_opt);
}
static int cmd_shell(int argc, char **argv)
{
	return spfs_cli_shell(argc, argv, store_path_opt);
}
static int cmd_edit(int argc, char **argv)
{
	return spfs_cli_edit(argc, argv, store_path_opt);
}
static int cmd_reset(int argc, char **argv)
{
	return spfs_cli_reset(argc, argv, store_path_opt);
}
static int cmd_runtime(int argc, char **argv)
{
	return spfs_cli_runtime(argc, argv, store_path_opt);
}

static const struct {
	const char *name;
	int (*fn)(int, char **);
} commands[] = {
    {"init", cmd_init},	  {"commit", cmd_commit}, {"render", cmd_render},   {"ls", cmd_ls},
    {"info", cmd_info},	  {"cat", cmd_cat},	  {"diff", cmd_diff},	    {"tag", cmd_tag},
    {"untag", cmd_untag}, {"tags", cmd_tags},	  {"log", cmd_log},	    {"merge", cmd_merge},
    {"check", cmd_check}, {"clean", cmd_clean},	  {"run", cmd_run},	    {"shell", cmd_shell},
    {"edit", cmd_edit},	  {"reset", cmd_reset},	  {"runtime", cmd_runtime},
};

/* `spfs help [COMMAND [SUBCOMMAND]]` */
static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		cli_help_print_prog(stdout, &spfs_help);
		return 0;
	}
	int words;
	const cli_cmd *c = cli_help_lookup(&spfs_help, argc - 1, argv + 1, &words);
	if (!c || words < argc - 1)
		return usage_error("help: no command '%s'", argv[1]);
	cli_help_print(stdout, &spfs_help, c);
	return 0;
}

int main(int argc, char **argv)
{
	int verbosity = 0;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			cli_help_print_prog(stdout, &spfs_help);
			return 0;
		} else if (strcmp(a, "--version") == 0) {
			printf("spfs %s\n", SPAWN_VERSION);
			return 0;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			verbosity++;
		} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			verbosity--;
		} else if ((strcmp(a, "--store") == 0 || strcmp(a, "--root") == 0) &&
			   i + 1 < argc) {
			store_path_opt = argv[++i];
		} else if (strncmp(a, "--store=", 8) == 0) {
			store_path_opt = a + 8;
		} else {
			return usage_error("unknown option %s", a);
		}
	}
	/* the configuration is checked first (a bad file is a usage error);
	 * not by the last stage of a runtime, which the caller's run checked */
	bool startup =
	    i + 1 < argc && !strcmp(argv[i], "runtime") && !strcmp(argv[i + 1], "__startup");
	sp_error err = {0};
	if (sp_log_init(verbosity, &err) || (!startup && sp_config_load(&err))) {
		sp_error_print(stderr, "spfs", &err);
		return err.code == SP_ENOMEM ? EXIT_FAILURE : EXIT_USAGE;
	}
	if (i >= argc) {
		cli_help_print_prog(stderr, &spfs_help);
		return EXIT_USAGE;
	}
	/* Only commands with a usage in cli/spfs_help.c exist: --help, the
	 * man page and the completions know every one. */
	int words;
	spfs_cli_current = cli_help_lookup(&spfs_help, argc - i, argv + i, &words);
	if (!spfs_cli_current)
		return usage_error("unknown command '%s'", argv[i]);
	if (cli_help_asked(spfs_cli_current, argc - i, argv + i, words)) {
		cli_help_print(stdout, &spfs_help, spfs_cli_current);
		return 0;
	}
	if (strcmp(argv[i], "help") == 0)
		return cmd_help(argc - i, argv + i);
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(argv[i], commands[k].name) == 0)
			return commands[k].fn(argc - i, argv + i);
	return usage_error("unknown command '%s'", argv[i]);
}
