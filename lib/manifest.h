/* SPDX-License-Identifier: ISC */
/*
 * manifest.h: what a release directory looked like when its bundle was
 * extracted, so that a later deployment of the same bundle (same sha256)
 * can tell whether the tree is still exactly that and may be reused (by
 * rename(2), zero copy) instead of extracted again.
 *
 *   GDIR/releases/.manifest-SEQ-ID    the manifest of releases/SEQ-ID
 *
 * It lives beside the release, not in it, so hooks never see it and it
 * does not change the tree it describes.  A manifest is a text file: a
 * header line "hookd.manifest/1 SHA256", then one line per entry of a
 * depth-first walk (names sorted bytewise within each directory):
 *
 *   TYPE MODE UID GID SIZE MTIME CTIME INO PATH[\tTARGET]
 *
 * TYPE is f, d, l or o (other); MODE octal; MTIME and CTIME as SEC.NSEC;
 * PATH relative ("." for the root) and TARGET (symlinks) with bytes below
 * 0x21, '\' and 0x7f written as \xNN.  The root's times are not recorded:
 * renaming the release changes its ctime.  The inode change time catches
 * what mode, size and mtime alone would miss (a file rewritten and its
 * mtime put back, an owner changed); nothing but the kernel sets it.
 *
 * A release is "pristine" when a new walk produces exactly the recorded
 * lines: any entry added, removed or changed (type, mode, owner, size,
 * times, inode, link target) makes it not.  Nothing here decides which
 * release may be reused; the lifecycle engine does (never a protected
 * one).  No fsync: a manifest lost or torn in a crash only costs a reuse.
 *
 * A manifest written from what an extraction made (manifest_write_tree,
 * no walk and no stat(2) per file) has the header
 * "hookd.manifest/2 SHA256 SEC.NSEC": a bound B on the entries' inode
 * change times, taken after the last change the engine made to the tree
 * and passed by the kernel's clock before the call returns.  Its lines
 * have the same fields, with "-" for what the extraction could not know
 * without a stat (MODE UID GID of entries, SIZE and MTIME of directories,
 * symlinks and hard-linked files, every CTIME and INO but the root's
 * INO); "-" matches anything.  Such a release is pristine when the walk
 * finds exactly the recorded paths, types, targets and known fields, and
 * no entry but the root changed after B (ctime <= B): a write, chmod,
 * chown, utimes, link or rename of an entry moves its ctime past B.  A
 * clock found behind B (it was stepped back) makes the release not
 * pristine.
 */
#ifndef HOOKD_MANIFEST_H
#define HOOKD_MANIFEST_H

#include <stddef.h>

#include "compat.h"

struct bundle_tree;
struct errbuf;

#define MANIFEST_PREFIX		".manifest-"	/* in GDIR/releases/ */
#define MANIFEST_TMP_PREFIX	".manifest.tmp-" /* being written */
#define MANIFEST_SCHEMA		"hookd.manifest/1"
#define MANIFEST_SCHEMA2	"hookd.manifest/2" /* see above */

/*
 * Walk GDIR/releases/NAME and write its manifest for a bundle whose hash
 * is sha256 (64 hex digits), atomically (temporary file + rename).
 * Returns 0, or -1 with eb set: EK_IO (the tree cannot be read, the file
 * cannot be written), EK_DATA (the tree passes BUNDLE_ENTRIES_MAX entries
 * or BUNDLE_PATH_MAX path bytes).  Blocks for one stat per entry.
 */
int	manifest_write(const char *gdir, const char *name, const char *sha256,
	    struct errbuf *) HOOKD_WUR;

/*
 * Write the hookd.manifest/2 manifest of GDIR/releases/NAME from the
 * tree an extraction made (bundle_extract_ex()): the entries below
 * 'prefix' ("" for all; the release root is the extraction directory's
 * PREFIX then), which must be what releases/NAME holds now, with no
 * change since but the engine's own (the exec bits of hook scripts).
 * Atomic (temporary file + rename).  Returns 0, or -1 with eb set: EK_IO
 * (the file cannot be written), EK_DATA (more than MANIFEST_ENTRIES_MAX
 * entries, a line over MANIFEST_LINE_MAX).  One fstat(2) and no walk;
 * before returning it sleeps until the kernel's coarse clock has passed
 * the manifest's bound (at most one clock tick, a few ms), so that any
 * later change to the tree is seen.
 */
int	manifest_write_tree(const char *gdir, const char *name,
	    const char *sha256, const struct bundle_tree *tree,
	    const char *prefix, struct errbuf *) HOOKD_WUR;

/*
 * Compare GDIR/releases/NAME with its manifest.  Returns 1 when the tree
 * is exactly as recorded; 0 when it is not, with *ret_why a new string
 * saying the first difference ("'config/app.conf' was modified",
 * "'x' was added", "'y' was removed", "the manifest is unreadable");
 * -1 with eb set (EK_IO) when the tree or manifest cannot be read.  A
 * missing release or manifest is 0.  Blocks for one stat per entry.
 */
int	manifest_check(const char *gdir, const char *name, char **ret_why,
	    struct errbuf *) HOOKD_WUR;

/*
 * The releases of GDIR whose manifest records sha256, newest (highest
 * sequence) first: *ret_names is a new array of new strings ("SEQ-ID"),
 * *ret_n its length (0: none); free with release_names_free().  Unreadable
 * manifests are skipped.  Returns 0, or -1 with eb set as release_list().
 */
int	manifest_find(const char *gdir, const char *sha256, char ***ret_names,
	    size_t *ret_n, struct errbuf *) HOOKD_WUR;

/*
 * Rename the manifest of release 'from' to that of release 'to' (after
 * the release itself was renamed).  EK_IO.
 */
int	manifest_rename(const char *gdir, const char *from, const char *to,
	    struct errbuf *) HOOKD_WUR;

/* Remove the manifest of release NAME; a missing one is fine. */
void	manifest_remove(const char *gdir, const char *name);

#endif /* HOOKD_MANIFEST_H */
