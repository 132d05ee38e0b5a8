/* SPDX-License-Identifier: ISC */
/*
 * git.h: the few git operations the deployer needs, each one a git
 * process started with posix_spawnp and an argv array (never a shell):
 * resolve a ref to a commit, fetch, list what is not committed, and
 * write a .tar.gz of a commit with git archive.  Nothing here parses git's
 * object store; git does that.
 */
#ifndef HOOKD_GIT_H
#define HOOKD_GIT_H

#include <stddef.h>

#include "compat.h"

struct errbuf;

#define GIT_OUT_MAX		(1024 * 1024)	/* stdout bytes kept */
#define GIT_ERR_MAX		4096		/* stderr bytes kept */
#define GIT_DIRTY_SHOWN		10		/* paths named in errors */

/*
 * Run "git -C dir ARGS..." (args NULL-terminated, without "git").
 * Returns 0 when git ran, with *ret_status its exit status (or 128 +
 * signal), *ret_out a new NUL-terminated string of its stdout (at most
 * GIT_OUT_MAX bytes; EK_DATA past it) and *ret_err of its stderr (cut
 * at GIT_ERR_MAX); either out pointer may be NULL.  -1 when git could
 * not be run: EK_UNAVAIL when it is not installed, EK_OS otherwise.
 * Blocks until git exits.
 */
int	git_run(const char *dir, const char *const *args, int *ret_status,
	    char **ret_out, char **ret_err, struct errbuf *);

/*
 * The commit 'ref' names ("git rev-parse --verify REF^{commit}") as 40
 * hex digits.  EK_NOINPUT when it names no commit, EK_DATA for a ref
 * that starts with '-'.
 */
int	git_resolve(const char *dir, const char *ref, char ret_commit[41],
	    struct errbuf *);

/* "git fetch --quiet"; EK_UNAVAIL with git's first line on failure. */
int	git_fetch(const char *dir, struct errbuf *);

/*
 * What is not committed in the work tree ("git status --porcelain"):
 * *ret_desc is NULL when it is clean, else a new string naming the
 * number of paths and the first GIT_DIRTY_SHOWN ("3 paths: M a.txt,
 * ?? b").  EK_NOINPUT when dir is not in a git work tree.
 */
int	git_dirty(const char *dir, char **ret_desc, struct errbuf *);

/*
 * The path of dir inside its work tree ("git rev-parse --show-prefix",
 * "" at the top, else ending in '/'), a new string.
 */
int	git_prefix(const char *dir, char **ret_prefix, struct errbuf *);

/*
 * Write the tree of 'commit' (restricted to 'subdir', a prefix as
 * git_prefix returns, may be "" or NULL) as a gzip'ed tar to 'out'
 * ("git archive --format=tar.gz").  The same commit gives the same bytes.
 */
int	git_archive(const char *dir, const char *commit, const char *subdir,
	    const char *out, struct errbuf *);

#endif /* HOOKD_GIT_H */
