/* SPDX-License-Identifier: ISC */
/* dl_archive.h: libarchive, loaded on first use (see dl.h). */
#ifndef HOOKD_DL_ARCHIVE_H
#define HOOKD_DL_ARCHIVE_H

#include <archive.h>
#include <archive_entry.h>

#include "dl.h"

#define DL_ARCHIVE_SYMS(X)						\
	X(archive_entry_copy_hardlink)                          \
	X(archive_entry_copy_pathname)                          \
	X(archive_entry_copy_stat)                              \
	X(archive_entry_copy_symlink)                           \
	X(archive_entry_filetype)                               \
	X(archive_entry_free)                                   \
	X(archive_entry_hardlink)                               \
	X(archive_entry_hardlink_utf8)                          \
	X(archive_entry_mode)                                   \
	X(archive_entry_mtime)                                  \
	X(archive_entry_new)                                    \
	X(archive_entry_pathname)                               \
	X(archive_entry_pathname_utf8)                          \
	X(archive_entry_perm)                                   \
	X(archive_entry_set_nlink)                              \
	X(archive_entry_set_perm)                               \
	X(archive_entry_size)                                   \
	X(archive_entry_size_is_set)                            \
	X(archive_entry_stat)                                   \
	X(archive_entry_symlink)                                \
	X(archive_entry_symlink_utf8)                           \
	X(archive_errno)                                        \
	X(archive_error_string)                                 \
	X(archive_read_data)                                    \
	X(archive_read_data_block)                              \
	X(archive_read_data_skip)                               \
	X(archive_read_free)                                    \
	X(archive_read_new)                                     \
	X(archive_read_next_header)                             \
	X(archive_read_open)                                    \
	X(archive_read_open1)                                   \
	X(archive_read_open_fd)                                 \
	X(archive_read_open_filename)                           \
	X(archive_read_set_callback_data)                       \
	X(archive_read_set_close_callback)                      \
	X(archive_read_set_open_callback)                       \
	X(archive_read_set_read_callback)                       \
	X(archive_read_set_seek_callback)                       \
	X(archive_read_set_skip_callback)                       \
	X(archive_read_support_filter_gzip)                     \
	X(archive_read_support_format_tar)                      \
	X(archive_read_support_format_zip_seekable)             \
	X(archive_write_add_filter_gzip)                        \
	X(archive_write_close)                                  \
	X(archive_write_data)                                   \
	X(archive_write_data_block)                             \
	X(archive_write_disk_new)                               \
	X(archive_write_disk_set_options)                       \
	X(archive_write_finish_entry)                           \
	X(archive_write_free)                                   \
	X(archive_write_header)                                 \
	X(archive_write_new)                                    \
	X(archive_write_open_filename)                          \
	X(archive_write_set_filter_option)                      \
	X(archive_write_set_format_pax_restricted)

DL_ARCHIVE_SYMS(DL_DECLARE)

#ifndef DL_NO_REDIRECT
#define DL_A(name)	DL_CALL(DL_ARCHIVE, name)
#define archive_entry_copy_hardlink	DL_A(archive_entry_copy_hardlink)
#define archive_entry_copy_pathname	DL_A(archive_entry_copy_pathname)
#define archive_entry_copy_stat	DL_A(archive_entry_copy_stat)
#define archive_entry_copy_symlink	DL_A(archive_entry_copy_symlink)
#define archive_entry_filetype	DL_A(archive_entry_filetype)
#define archive_entry_free	DL_A(archive_entry_free)
#define archive_entry_hardlink	DL_A(archive_entry_hardlink)
#define archive_entry_hardlink_utf8	DL_A(archive_entry_hardlink_utf8)
#define archive_entry_mode	DL_A(archive_entry_mode)
#define archive_entry_mtime	DL_A(archive_entry_mtime)
#define archive_entry_new	DL_A(archive_entry_new)
#define archive_entry_pathname	DL_A(archive_entry_pathname)
#define archive_entry_pathname_utf8	DL_A(archive_entry_pathname_utf8)
#define archive_entry_perm	DL_A(archive_entry_perm)
#define archive_entry_set_nlink	DL_A(archive_entry_set_nlink)
#define archive_entry_set_perm	DL_A(archive_entry_set_perm)
#define archive_entry_size	DL_A(archive_entry_size)
#define archive_entry_size_is_set	DL_A(archive_entry_size_is_set)
#define archive_entry_stat	DL_A(archive_entry_stat)
#define archive_entry_symlink	DL_A(archive_entry_symlink)
#define archive_entry_symlink_utf8	DL_A(archive_entry_symlink_utf8)
#define archive_errno	DL_A(archive_errno)
#define archive_error_string	DL_A(archive_error_string)
#define archive_read_data	DL_A(archive_read_data)
#define archive_read_data_block	DL_A(archive_read_data_block)
#define archive_read_data_skip	DL_A(archive_read_data_skip)
#define archive_read_free	DL_A(archive_read_free)
#define archive_read_new	DL_A(archive_read_new)
#define archive_read_next_header	DL_A(archive_read_next_header)
#define archive_read_open	DL_A(archive_read_open)
#define archive_read_open1	DL_A(archive_read_open1)
#define archive_read_open_fd	DL_A(archive_read_open_fd)
#define archive_read_open_filename	DL_A(archive_read_open_filename)
#define archive_read_set_callback_data	DL_A(archive_read_set_callback_data)
#define archive_read_set_close_callback	DL_A(archive_read_set_close_callback)
#define archive_read_set_open_callback	DL_A(archive_read_set_open_callback)
#define archive_read_set_read_callback	DL_A(archive_read_set_read_callback)
#define archive_read_set_seek_callback	DL_A(archive_read_set_seek_callback)
#define archive_read_set_skip_callback	DL_A(archive_read_set_skip_callback)
#define archive_read_support_filter_gzip \
	DL_A(archive_read_support_filter_gzip)
#define archive_read_support_format_tar	DL_A(archive_read_support_format_tar)
#define archive_read_support_format_zip_seekable \
	DL_A(archive_read_support_format_zip_seekable)
#define archive_write_add_filter_gzip	DL_A(archive_write_add_filter_gzip)
#define archive_write_close	DL_A(archive_write_close)
#define archive_write_data	DL_A(archive_write_data)
#define archive_write_data_block	DL_A(archive_write_data_block)
#define archive_write_disk_new	DL_A(archive_write_disk_new)
#define archive_write_disk_set_options	DL_A(archive_write_disk_set_options)
#define archive_write_finish_entry	DL_A(archive_write_finish_entry)
#define archive_write_free	DL_A(archive_write_free)
#define archive_write_header	DL_A(archive_write_header)
#define archive_write_new	DL_A(archive_write_new)
#define archive_write_open_filename	DL_A(archive_write_open_filename)
#define archive_write_set_filter_option	DL_A(archive_write_set_filter_option)
#define archive_write_set_format_pax_restricted \
	DL_A(archive_write_set_format_pax_restricted)
#endif

#endif /* HOOKD_DL_ARCHIVE_H */
