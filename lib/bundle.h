/* SPDX-License-Identifier: ISC */
/*
 * bundle.h: revision bundles (a directory, .tar, .tar.gz/.tgz or .zip):
 * detect the format, hash, and extract safely into a release directory
 * with libarchive's secure-extract flags and our own limits.
 */
#ifndef HOOKD_BUNDLE_H
#define HOOKD_BUNDLE_H

#include <stdint.h>

#include "compat.h"

struct errbuf;

enum bundle_format {
	BUNDLE_DIR = 0,
	BUNDLE_TAR,
	BUNDLE_TGZ,
	BUNDLE_ZIP,
};

struct bundle_limits {
	uint64_t	 max_bytes;	/* total extracted bytes */
	uint64_t	 max_entries;	/* archive entries */
};

/* Defaults: BUNDLE_BYTES_MAX, BUNDLE_ENTRIES_MAX (caps.h). */
void	bundle_limits_default(struct bundle_limits *);

/*
 * Detect a bundle's format from its contents (magic bytes), not its
 * name.  EK_NOINPUT when it does not exist, EK_DATA when it is none of
 * the formats.
 */
int	bundle_detect(const char *path, enum bundle_format *ret_format,
	    struct errbuf *);

/* SHA-256 of a file as 64 lowercase hex digits plus NUL. */
int	bundle_sha256(const char *path, char ret_hex[65], struct errbuf *);

/*
 * Extract (or, for a directory, copy) the bundle at 'path' into 'destdir',
 * which must exist and be empty.  Refuses absolute paths, '..', entries
 * that would pass through a symlink, symlinks or hard links pointing out
 * of destdir, device nodes and FIFOs; strips setuid/setgid bits; enforces
 * the limits.  On failure (EK_DATA for a bad bundle, EK_IO for a local
 * failure) destdir is left empty.  May block for as long as the copy
 * takes.
 */
int	bundle_extract(const char *path, const char *destdir,
	    const struct bundle_limits *, struct errbuf *);

/*
 * Find the appspec in an extracted tree: DIR/appspec.yml (or .yaml), else
 * the same inside DIR's single top-level directory.  Returns new strings:
 * the bundle root and the appspec path.  EK_DATA when there is none.
 */
int	bundle_find_appspec(const char *dir, char **ret_root,
	    char **ret_appspec, struct errbuf *);

#endif /* HOOKD_BUNDLE_H */
