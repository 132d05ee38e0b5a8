/* SPDX-License-Identifier: ISC */
/*
 * release.h: the release directories of one deployment group on this
 * host and everything that points into them.
 *
 *   GDIR/releases/SEQ-ID            one directory per deployment
 *   GDIR/current -> releases/SEQ-ID relative symlink, switched atomically
 *   DEST -> GDIR/current/SOURCE     each appspec files: destination
 *
 * GDIR is always an absolute path.  Nothing here runs a process: chmod,
 * chown, links and removals are done with system calls.
 */
#ifndef HOOKD_RELEASE_H
#define HOOKD_RELEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "appspec.h"
#include "compat.h"

struct errbuf;

#define RELEASE_CURRENT		"current"
#define RELEASE_DIR		"releases"
#define RELEASE_TMP_PREFIX	".tmp-"		/* half-built release dirs */
#define RELEASE_BAK_INFIX	".hookd-bak-"	/* DEST.hookd-bak-ID */

/*
 * Point GDIR/current at 'release' ("releases/SEQ-ID") with a new relative
 * symlink renamed over the old one, so a reader sees the old target or
 * the new, never none.  'release' NULL removes 'current'.  EK_IO.
 */
int	release_switch(const char *gdir, const char *release, struct errbuf *)
	    HOOKD_WUR;

/*
 * The target of GDIR/current as a new string, or NULL (*ret) when there
 * is no 'current'.  EK_IO when it cannot be read.
 */
int	release_current(const char *gdir, char **ret, struct errbuf *)
	    HOOKD_WUR;

/*
 * Remove release directories beyond the newest 'keep' (by sequence),
 * never one named in protect[] ("SEQ-ID" or "releases/SEQ-ID"), nor
 * anything that is not a release, with the manifest of each (manifest.h).
 * Also does release_clean_tmp().  Returns the number removed, or -1
 * with eb naming the first failure (the others are still tried).
 */
int	release_prune(const char *gdir, unsigned keep,
	    const char *const *protect, size_t nprotect, struct errbuf *);

/*
 * The names of GDIR's release directories ("SEQ-ID"; hidden and other
 * entries skipped), newest (highest sequence) first: *ret_names is a new
 * array of new strings (release_names_free()), *ret_n its length.
 * Returns 0, or -1 with eb set (EK_IO: unreadable, or more than
 * RELEASE_LIST_MAX releases).
 */
int	release_list(const char *gdir, char ***ret_names, size_t *ret_n,
	    struct errbuf *) HOOKD_WUR;

/* Free n strings and the array; NULL-safe. */
void	release_names_free(char **names, size_t n);

/*
 * The sequence number of a release name "SEQ-ID" (SEQ decimal, 1 or
 * more; ID not empty), or 0 when 'name' is not one.
 */
uint64_t release_seq(const char *name);

/*
 * Remove leftovers of a crash: half-built release dirs, manifests being
 * written, and manifests whose release is gone (manifest.h).  Best effort.
 */
void	release_clean_tmp(const char *gdir);

/* One destination link made by release_link_files, for undoing it. */
struct release_link {
	char		*path;		/* the destination link */
	char		*old_target;	/* our earlier link's target, or NULL */
	char		*backup;	/* where the original went, or NULL */
};

struct release_links {
	struct release_link *v;
	size_t		 n;
};

void	release_links_init(struct release_links *);
void	release_links_release(struct release_links *);

/*
 * Make each files: destination of 'as' a symlink into GDIR/current.  A
 * directory source (or "/") makes DEST itself the link; a file source
 * makes DEST/BASENAME the link, DEST being a directory (created as
 * needed), as CodeDeploy copies it there.  An existing link into
 * GDIR/current is replaced; anything else follows 'feb': DISALLOW fails,
 * OVERWRITE renames it to PATH.hookd-bak-ID, RETAIN leaves it and makes
 * no link.  'release_dir' (absolute) is the new release, used to tell
 * files from directories.  Every change is appended to *undo, also on
 * failure.  EK_FAILED for a DISALLOW conflict, EK_IO otherwise.
 */
int	release_link_files(const struct appspec *as, const char *gdir,
	    const char *release_dir, enum file_exists_behavior feb,
	    const char *deployment_id, struct release_links *undo,
	    struct errbuf *) HOOKD_WUR;

/* Undo what release_link_files did, newest first; best effort. */
void	release_unlink_files(struct release_links *undo);

/*
 * Apply the permissions: section of 'as' to the new release: an object
 * under a files: destination is mapped to the matching path inside
 * 'release_dir' (the links do not point there yet); any other object is
 * used as it is on the host.  Sets owner, group, mode, ACLs (libacl) and
 * the SELinux context (only when SELinux is enabled).  EK_FAILED for a
 * missing object or unknown user/group, EK_IO for a failed call.
 */
int	release_apply_permissions(const struct appspec *as,
	    const char *release_dir, struct errbuf *) HOOKD_WUR;

#endif /* HOOKD_RELEASE_H */
