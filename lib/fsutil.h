/* SPDX-License-Identifier: ISC */
/*
 * fsutil.h: small file-system helpers shared by the engine, the stores and
 * the daemon, so each rule lives in one place: making directories,
 * removing a tree.
 */
#ifndef HOOKD_FSUTIL_H
#define HOOKD_FSUTIL_H

#include <sys/types.h>

#include "compat.h"

struct errbuf;

/*
 * mkdir -p: create 'path' and its missing parents with 'mode' (before the
 * umask); existing directories are fine.  Returns 0, or -1 with eb set
 * (EK_IO) naming the directory that could not be made.
 */
int	fs_mkdirs(const char *path, mode_t mode, struct errbuf *);

/*
 * Remove a directory tree (or a file) without following symlinks or
 * crossing mount points.  A missing path is not an error.  EK_IO names
 * the first entry that could not be removed.  Blocks for as long as the
 * tree takes.
 */
int	fs_rmtree(const char *path, struct errbuf *) HOOKD_WUR;

#endif /* HOOKD_FSUTIL_H */
