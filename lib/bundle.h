/* SPDX-License-Identifier: ISC */
/*
 * bundle.h: revision bundles (a directory, .tar, .tar.gz/.tgz or .zip):
 * detect the format, hash, and extract safely into a release directory
 * with libarchive's secure-extract flags and our own limits.
 */
#ifndef HOOKD_BUNDLE_H
#define HOOKD_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"

struct errbuf;

enum bundle_format {
	BUNDLE_DIR = 0,
	BUNDLE_TAR,
	BUNDLE_TGZ,
	BUNDLE_ZIP,
};

/*
 * max_bytes bounds both the sum of the entries' stated sizes and the bytes
 * actually decompressed, so a lying header or a decompression bomb stops
 * at the limit.  max_entries bounds the paths created: files, directories
 * and links, including parent directories an entry implies.
 */
struct bundle_limits {
	uint64_t	 max_bytes;	/* total extracted bytes */
	uint64_t	 max_entries;	/* paths created */
};

/* Defaults: BUNDLE_BYTES_MAX, BUNDLE_ENTRIES_MAX (caps.h).  Cannot fail. */
void	bundle_limits_default(struct bundle_limits *);

/*
 * Detect a bundle's format from its contents (magic bytes), not its
 * name: a directory, gzip (taken as .tar.gz), "ustar" or a valid tar
 * header checksum, "PK\3\4" (or an empty zip's "PK\5\6").  Returns 0 and
 * sets *ret_format, or -1: EK_NOINPUT when it does not exist, EK_DATA when
 * it is none of the formats ("'x.bin' is not a bundle: expected a
 * directory, .tar, .tar.gz or .zip"), EK_IO when it cannot be read.
 * Reads 512 bytes.
 */
int	bundle_detect(const char *path, enum bundle_format *ret_format,
	    struct errbuf *);

/*
 * Extract (or, for a directory, copy) the bundle at 'path' into 'destdir',
 * which must exist and be empty.  Returns 0, or -1 with eb set and destdir
 * emptied again; nothing is ever written outside destdir.
 *
 * Refuses, with EK_DATA and a message "entry 'NAME': why" (NAME quoted,
 * quote.h: \xNN ...): absolute paths and '..' components; names that are not
 * UTF-8, hold control characters, or pass BUNDLE_PATH_MAX bytes (or 255
 * per component); device nodes, FIFOs and sockets; entries under a
 * symlink; duplicate entries (a repeated directory is fine); symlinks with
 * an absolute target, with more leading '..' than their depth, or with a
 * '..' after a named component; hard links to anything but a regular file
 * earlier in the bundle; zips whose entries overlap; more than
 * lim->max_entries paths or lim->max_bytes bytes (NULL lim: defaults);
 * truncated or corrupt archives (libarchive's message).  Clears setuid,
 * setgid and sticky bits; keeps directories owner-rwx; keeps modes and
 * mtimes, not owners.  No fsync: the caller syncs what it must.
 *
 * EK_NOINPUT when 'path' does not exist, EK_IO for a local failure
 * (destdir missing or not empty -- then it is left alone --, disk full).
 * Changes the process's working directory to destdir during the call and
 * restores it before returning (not thread-safe; hookd has one thread).
 * Blocks for as long as the copy takes.
 */
int	bundle_extract(const char *path, const char *destdir,
	    const struct bundle_limits *, struct errbuf *);

/*
 * bundle_extract() that also calls tick(arg) from the extraction loop
 * whenever tick_msec (0: HOOK_TICK_MSEC) have passed since the start or
 * the last call, so a caller can show progress or extend a lease (SQS
 * visibility) during a long extraction.  It is called between writes,
 * never after the function returned; it must not call into bundle.c.
 * It runs while the working directory is destdir (see bundle_extract),
 * so it must not use relative paths.
 * tick NULL: exactly bundle_extract().  Same returns and errors.
 */
int	bundle_extract_cb(const char *path, const char *destdir,
	    const struct bundle_limits *, void (*tick)(void *), void *arg,
	    unsigned tick_msec, struct errbuf *);

/* What bundle_extract_ex() is asked to do beyond bundle_extract(). */
struct bundle_opts {
	const struct bundle_limits *limits;	/* NULL: the defaults */
	void		(*tick)(void *);	/* see bundle_extract_cb() */
	void		*tick_arg;
	unsigned	 tick_msec;
	const char	*sha256;	/* the bundle's expected SHA-256 (hex),
					   or NULL */
};

/*
 * One path an extraction created, relative to destdir and normalised
 * ("a/b", no "." or empty components): an entry of the bundle or a
 * parent directory it implied.  What the extraction made of it, as far
 * as it is certain without a stat(2): a regular file's size and mtime
 * (not for hard-linked files, which a later entry may rewrite), a
 * symlink's target.  release manifests are built from these
 * (manifest_write_tree()).
 */
struct bundle_entry {
	char		*path;
	char		*target;	/* symlinks, else NULL */
	char		*hardlink;	/* hard links: the normalised path of
					   the file linked to, else NULL */
	int64_t		 size;		/* regular files; -1: not known */
	int64_t		 mtime;		/* seconds, when mtime_set */
	long		 mtime_nsec;
	bool		 mtime_set;
	char		 type;		/* 'f' file, 'd' dir, 'l' symlink */
};

/* Every path an extraction created, in the order it made them. */
struct bundle_tree {
	struct bundle_entry *v;
	size_t		 n;
};

/* An empty tree; cannot fail. */
void	bundle_tree_init(struct bundle_tree *);
/* Free the entries; safe on an initialised or released tree. */
void	bundle_tree_release(struct bundle_tree *);

/*
 * bundle_extract_cb() with the options in o (limits, tick), that also
 * hashes the bundle and says what it created.
 *
 * Hashing happens when o->sha256 or ret_sha256 is given.  A tar or
 * .tar.gz is read once, through mmap(2) windows of BUNDLE_MAP_WINDOW
 * bytes (read(2) where mmap fails): every byte is hashed on its way to
 * the decoder, and what libarchive leaves unread (padding) after the end
 * of the archive is hashed too.  The file must not be truncated meanwhile
 * (the process would get SIGBUS, which the engine recovers from like any
 * kill).  A zip is hashed first, in a pass of its own
 * (libarchive reads it by seeking).  With o->sha256, a bundle whose
 * digest differs fails with EK_DATA "bundle 'PATH' has sha256 X,
 * expected Y" and destdir emptied, also when its contents failed to
 * extract first (the mismatch is the error reported): the caller never
 * sees a tree whose bytes did not match.  A directory bundle has no
 * digest: EK_DATA with o->sha256, "" in ret_sha256.
 *
 * On success, ret_sha256 (NULL or 65 bytes) gets the digest in lowercase
 * hex, and ret_tree (NULL, or an empty tree) every path created; free it
 * with bundle_tree_release().  Both are written only on success.  Same
 * other returns and errors as bundle_extract(); EK_BUG when OpenSSL
 * fails.
 */
int	bundle_extract_ex(const char *path, const char *destdir,
	    const struct bundle_opts *o, char ret_sha256[65],
	    struct bundle_tree *ret_tree, struct errbuf *);

/*
 * An appspec candidate's contents as bundle_scan() read them: what the
 * file at 'path' would hold once extracted, cut after APPSPEC_MAX + 1
 * bytes (appspec_parse() refuses anything longer).
 */
struct bundle_blob {
	char		*path;		/* normalised, as in the listing */
	char		*data;		/* NUL-terminated */
	size_t		 len;
};

/*
 * What an archive holds, found by bundle_scan() without writing anything:
 * every path its extraction would create (tree: the same entries, in
 * the same order, with the same fields as bundle_extract_ex() gives),
 * and the contents of the regular files named appspec.yml or
 * appspec.yaml at the top level or one directory down (the only ones
 * bundle_find_appspec() can choose; the blobs may hold a few more).
 * Owns everything it points to.
 */
struct bundle_listing {
	struct bundle_tree tree;
	struct bundle_blob *blobs;
	size_t		 nblobs;
	struct bundle_entry **byname;	/* tree.v sorted by path */
};

/* An empty listing; cannot fail. */
void	bundle_listing_init(struct bundle_listing *);
/* Free everything; safe on an initialised or released listing. */
void	bundle_listing_release(struct bundle_listing *);

/*
 * Read the bundle at 'path' (a .tar, .tar.gz or .zip; a directory is
 * read too) and apply every rule bundle_extract() applies, through the
 * same code, without creating anything: an archive bundle_extract()
 * refuses is refused with the same kind and message ("entry 'NAME':
 * why", a corrupt archive, a limit: see bundle_extract), one it accepts
 * is accepted.  The disk writer's own refusal of data past an entry's
 * stated size is applied too, in its words; only what a disk causes (no
 * space, permissions) has no counterpart.  Data is decompressed (and
 * counted against lim->max_bytes) but only the appspec candidates' is
 * kept; an archive whose appspec is a hard link to a file read before
 * is read twice.  NULL lim: the defaults.
 *
 * On success fills *ret (an initialised listing, released by the caller
 * with bundle_listing_release()); on failure it is left empty.  Returns
 * 0, or -1 with eb: EK_DATA for a bad bundle, EK_NOINPUT when 'path' does
 * not exist, EK_IO when it cannot be read.  Blocks for as long as reading
 * the archive takes; neither changes the working directory nor writes.
 */
int	bundle_scan(const char *path, const struct bundle_limits *,
	    struct bundle_listing *ret, struct errbuf *);

/* The entry of the normalised path 'path' ("" is never one), or NULL. */
const struct bundle_entry *bundle_listing_find(const struct bundle_listing *,
	    const char *path);

/*
 * Resolve 'path' (relative to the listing's root; empty and "."
 * components ignored) the way realpath(3) resolves it inside the
 * extracted tree: symlinks followed wherever they appear, ".." taken
 * after the link is followed.  Returns 0 with the resolved path (""
 * for the root) in ret (size bytes) and its type in *ret_type ('d', 'f',
 * 'l' never), or -1 with errno: ENOENT when a component does not exist,
 * ENOTDIR when a non-directory has components after it, ELOOP after 40
 * links, ENAMETOOLONG when the resolved path does not fit, EXDEV when
 * a ".." climbs above the root.  Does not block.
 */
int	bundle_listing_resolve(const struct bundle_listing *,
	    const char *path, char *ret, size_t size, char *ret_type);

/*
 * bundle_find_appspec() on a listing: the same rules, with paths
 * relative to the listing's root.  Sets *ret_root to "" or the single
 * top-level directory, and *ret_blob to the appspec's contents (both
 * borrowed from the listing).  EK_DATA with the same messages (the
 * path in "'P' is not a regular file" is relative).
 */
int	bundle_listing_appspec(const struct bundle_listing *,
	    const char **ret_root, const struct bundle_blob **ret_blob,
	    struct errbuf *);

/*
 * Find the appspec in an extracted tree: DIR/appspec.yml (or .yaml), else
 * the same inside DIR's single top-level directory (when DIR holds exactly
 * one entry and it is a directory).  The appspec must be a regular file,
 * not a symlink.  Sets new strings (caller frees): *ret_root, the bundle
 * root (DIR or DIR/TOP), and *ret_appspec, the appspec's path.  EK_DATA
 * "no appspec.yml at the bundle root or in its single top-level folder"
 * when there is none, EK_IO when DIR cannot be read.
 */
int	bundle_find_appspec(const char *dir, char **ret_root,
	    char **ret_appspec, struct errbuf *);

#endif /* HOOKD_BUNDLE_H */
