/* archive_dl.h - libarchive, loaded with dlopen() on first use (pkg/).
 *
 * libarchive brings libxml2, ICU and libstdc++ with it: linked, every spk
 * process paid about 1.8 ms to load them, spk env included, while only tar
 * sources use it. Include this instead of <archive.h>: each libarchive
 * function used is a pointer typed from libarchive's own declaration
 * (a signature mismatch is a compile error), and pkg__archive_load() must
 * succeed before the first call. */
#ifndef SPAWN_PKG_ARCHIVE_DL_H
#define SPAWN_PKG_ARCHIVE_DL_H

#include "common/common.h"

#include <archive.h>
#include <archive_entry.h>

#define PKG__ARCHIVE_FUNCS(X)                                                                      \
	X(archive_entry_filetype)                                                                  \
	X(archive_entry_hardlink)                                                                  \
	X(archive_entry_pathname)                                                                  \
	X(archive_entry_perm)                                                                      \
	X(archive_entry_set_hardlink)                                                              \
	X(archive_entry_set_pathname)                                                              \
	X(archive_entry_set_perm)                                                                  \
	X(archive_entry_size)                                                                      \
	X(archive_entry_size_is_set)                                                               \
	X(archive_entry_symlink)                                                                   \
	X(archive_error_string)                                                                    \
	X(archive_read_data_block)                                                                 \
	X(archive_read_data_skip)                                                                  \
	X(archive_read_free)                                                                       \
	X(archive_read_new)                                                                        \
	X(archive_read_next_header)                                                                \
	X(archive_read_open_fd)                                                                    \
	X(archive_read_open_memory)                                                                \
	X(archive_read_support_filter_all)                                                         \
	X(archive_read_support_format_gnutar)                                                      \
	X(archive_read_support_format_tar)                                                         \
	X(archive_write_close)                                                                     \
	X(archive_write_data_block)                                                                \
	X(archive_write_disk_new)                                                                  \
	X(archive_write_disk_set_options)                                                          \
	X(archive_write_finish_entry)                                                              \
	X(archive_write_free)                                                                      \
	X(archive_write_header)

typedef struct pkg__archive_fns {
#define PKG__ARCHIVE_FIELD(f) __typeof__(&f) f;
	PKG__ARCHIVE_FUNCS(PKG__ARCHIVE_FIELD)
#undef PKG__ARCHIVE_FIELD
} pkg__archive_fns;

extern pkg__archive_fns pkg__archive;

/* Loads libarchive once (thread-safe); an error says what to install. */
int pkg__archive_load(sp_error *err);

#ifndef PKG__ARCHIVE_DL_IMPL
#define archive_entry_filetype		   (pkg__archive.archive_entry_filetype)
#define archive_entry_hardlink		   (pkg__archive.archive_entry_hardlink)
#define archive_entry_pathname		   (pkg__archive.archive_entry_pathname)
#define archive_entry_perm		   (pkg__archive.archive_entry_perm)
#define archive_entry_set_hardlink	   (pkg__archive.archive_entry_set_hardlink)
#define archive_entry_set_pathname	   (pkg__archive.archive_entry_set_pathname)
#define archive_entry_set_perm		   (pkg__archive.archive_entry_set_perm)
#define archive_entry_size		   (pkg__archive.archive_entry_size)
#define archive_entry_size_is_set	   (pkg__archive.archive_entry_size_is_set)
#define archive_entry_symlink		   (pkg__archive.archive_entry_symlink)
#define archive_error_string		   (pkg__archive.archive_error_string)
#define archive_read_data_block		   (pkg__archive.archive_read_data_block)
#define archive_read_data_skip		   (pkg__archive.archive_read_data_skip)
#define archive_read_free		   (pkg__archive.archive_read_free)
#define archive_read_new		   (pkg__archive.archive_read_new)
#define archive_read_next_header	   (pkg__archive.archive_read_next_header)
#define archive_read_open_fd		   (pkg__archive.archive_read_open_fd)
#define archive_read_open_memory	   (pkg__archive.archive_read_open_memory)
#define archive_read_support_filter_all	   (pkg__archive.archive_read_support_filter_all)
#define archive_read_support_format_gnutar (pkg__archive.archive_read_support_format_gnutar)
#define archive_read_support_format_tar	   (pkg__archive.archive_read_support_format_tar)
#define archive_write_close		   (pkg__archive.archive_write_close)
#define archive_write_data_block	   (pkg__archive.archive_write_data_block)
#define archive_write_disk_new		   (pkg__archive.archive_write_disk_new)
#define archive_write_disk_set_options	   (pkg__archive.archive_write_disk_set_options)
#define archive_write_finish_entry	   (pkg__archive.archive_write_finish_entry)
#define archive_write_free		   (pkg__archive.archive_write_free)
#define archive_write_header		   (pkg__archive.archive_write_header)
#endif

#endif
