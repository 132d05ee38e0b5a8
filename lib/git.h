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

#include <sys/types.h>

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
 * The same in two steps, for running git beside other work: git_start()
 * starts "git -C dir ARGS..." (returns 0, or -1 as git_run), filling *p;
 * git_finish() reads its output, reaps it and returns as git_run.
 * Every started process must be finished or aborted: git_abort() closes
 * the pipes, sends SIGTERM and reaps it (safe after git_finish).  Until
 * finished, git may block writing more than a pipe's worth of output.
 */
struct git_proc {
	pid_t	 pid;
	int	 outfd;
	int	 errfd;
	char	 what[32];	/* the subcommand, for messages */
};

int	git_start(const char *dir, const char *const *args,
	    struct git_proc *p, struct errbuf *);
int	git_finish(struct git_proc *p, int *ret_status, char **ret_out,
	    char **ret_err, struct errbuf *);
void	git_abort(struct git_proc *p);

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
 * The gzip level of bundles.  Bundles of this repository's kind are text
 * that compresses little past level 1, and the deployer waits for all of
 * it: -1 is about a quarter faster than git's default -6 on the B8
 * repository for 2 % more bytes.  Changing it changes every bundle's
 * bytes (and so its sha256): it is part of GIT_ARCHIVE_RECIPE.
 */
#define GIT_ARCHIVE_LEVEL	"-1"
#define GIT_ARCHIVE_RECIPE	"git archive --format=tar.gz -1 (in subdir)"

/*
 * Write the tree of 'commit' (restricted to 'subdir', a prefix as
 * git_prefix returns, relative to the top of dir's work tree; may be ""
 * or NULL) as a gzip'ed tar to 'out' ("git archive --format=tar.gz",
 * level GIT_ARCHIVE_LEVEL, run in that subdirectory so that paths are
 * relative to it).  The same commit and git version give the same bytes,
 * subdir or not: entries carry the commit's time.  The subdirectory must
 * exist in the work tree.  EK_IO when git fails.  Blocks until git exits.
 */
int	git_archive(const char *dir, const char *commit, const char *subdir,
	    const char *out, struct errbuf *);
/*
 * git_archive() in two steps (see git_start): git_archive_start() starts
 * git (-1 as git_start, or EK_NOINPUT when the top of the work tree
 * cannot be found) and git_archive_finish() waits for it (0, or -1 with
 * EK_IO and git's message).
 */
int	git_archive_start(const char *dir, const char *commit,
	    const char *subdir, const char *out, struct git_proc *p,
	    struct errbuf *);
int	git_archive_finish(struct git_proc *p, struct errbuf *);

/*
 * The absolute path of the git directory shared by all work trees of
 * dir's repository ("git rev-parse --git-common-dir"), a new string.
 * EK_NOINPUT when dir is not in a git repository.  Blocks on git.
 */
int	git_common_dir(const char *dir, char **ret_path, struct errbuf *);

/*
 * git's version line ("git version 2.39.5"), a new string.  EK_UNAVAIL
 * when git cannot be run or fails.  Blocks on git.
 */
int	git_version(const char *dir, char **ret_version, struct errbuf *);

#endif /* HOOKD_GIT_H */
