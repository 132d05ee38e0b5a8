/* SPDX-License-Identifier: ISC */
/*
 * fsutil.h: small file-system helpers shared by the engine, the stores and
 * the daemon, so each rule lives in one place: making directories,
 * replacing a file or a symlink atomically, removing a tree.
 */
#ifndef HOOKD_FSUTIL_H
#define HOOKD_FSUTIL_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "compat.h"

struct errbuf;

/*
 * mkdir -p: create 'path' and its missing parents with 'mode' (before the
 * umask); existing directories are fine.  Returns 0, or -1 with eb set
 * (EK_IO) naming the directory that could not be made.
 */
int	fs_mkdirs(const char *path, mode_t mode, struct errbuf *);

/*
 * Atomic file replacement: write a temporary file beside the target, then
 * (fsync,) close, rename it over the target (and fsync the directory).  A
 * reader sees the old file or the new one, never a part; with 'durable'
 * the new one survives a crash once commit returns.
 *
 *	struct fs_atomic a = { .fd = -1 };	(ready for fs_atomic_abort())
 *	if (fs_atomic_begin(&a, path, NULL, 0644, eb) == -1) ...
 *	write to a.fd ...
 *	if (fs_atomic_commit(&a, durable, eb) == -1) ...
 *	fs_atomic_abort(&a);	(always: frees, and removes an uncommitted tmp)
 */
struct fs_atomic {
	char	*path;		/* the file replaced */
	char	*tmp;		/* the temporary file, NULL once renamed */
	int	 fd;		/* open on tmp for writing, or -1 */
};

/*
 * Create the temporary file for replacing 'path' with 'mode': from
 * 'tmpl', a mkostemp(3) template ending in XXXXXX, or "PATH.tmp-XXXXXX"
 * when tmpl is NULL.  Returns 0, or -1 with eb set (EK_IO) naming the
 * file that could not be made; a is ready for fs_atomic_abort() either way.
 */
int	fs_atomic_begin(struct fs_atomic *a, const char *path,
	    const char *tmpl, mode_t mode, struct errbuf *) HOOKD_WUR;

/*
 * fsync the temporary file when 'durable', close it, rename it over the
 * target, then fsync the directory when 'durable'.  A caller that closed
 * a->fd itself (fclose() of an fdopen() stream) sets it to -1 first, and
 * has done its own fsync if it wants one.  Returns 0, or -1 with eb set
 * (EK_IO) naming the step and the file.
 */
int	fs_atomic_commit(struct fs_atomic *a, bool durable, struct errbuf *)
	    HOOKD_WUR;

/* Close and remove the temporary file unless committed; free a's names. */
void	fs_atomic_abort(struct fs_atomic *a);

/* Replace 'path' with the 'len' bytes of 'data' (fs_atomic_*). */
int	fs_replace(const char *path, const void *data, size_t len, mode_t mode,
	    bool durable, struct errbuf *) HOOKD_WUR;

/*
 * Replace (or create) 'path' as a symlink to 'target' atomically: make it
 * as 'tmp' (removed first if left over) and rename it over path.  No
 * fsync.  Returns 0, or -1 with eb set (EK_IO) naming the link.
 */
int	fs_symlink_replace(const char *path, const char *target,
	    const char *tmp, struct errbuf *) HOOKD_WUR;

/*
 * fsync the directory holding 'path', so a rename or an unlink in it is
 * durable.  A file system that cannot sync a directory (EINVAL) is fine.
 */
int	fs_sync_parent(const char *path, struct errbuf *) HOOKD_WUR;

/*
 * Remove a directory tree (or a file) without following symlinks or
 * crossing mount points; a directory nobody may enter is made 0700 first.
 * A missing path is not an error.  EK_IO names the first entry that could
 * not be removed.  Blocks for as long as the tree takes.
 */
int	fs_rmtree(const char *path, struct errbuf *) HOOKD_WUR;

/*
 * Remove everything inside the directory open at fd (named 'path' in
 * messages) as fs_rmtree() does, leaving the directory itself.
 */
int	fs_empty_dirfd(int fd, const char *path, struct errbuf *) HOOKD_WUR;

#endif /* HOOKD_FSUTIL_H */
