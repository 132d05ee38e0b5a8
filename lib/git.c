/* SPDX-License-Identifier: ISC */
/*
 * git.c: run git for the deployer.  Each call starts one git process
 * with posix_spawnp (argv array, no shell), reads its stdout and stderr
 * through two CLOEXEC pipes with poll(2) so neither can fill up and
 * stall git, and reaps it; git_start/git_finish split that in two so
 * the caller can work (or run another git) meanwhile.  What git prints
 * on failure becomes the error text.  This file does not log.
 */
#include "compat.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "errbuf.h"
#include "git.h"
#include "xalloc.h"

#include "banned.h"

extern char **environ;

#define GIT_ARGS_MAX	32

/* Read what is there; 0 at EOF, 1 when more may come, -1 on error. */
static int
drain(int fd, struct buf *b, bool *overflow)
{
	char	 chunk[8192];
	ssize_t	 n;

	n = read(fd, chunk, sizeof(chunk));
	if (n == -1)
		return errno == EINTR || errno == EAGAIN ? 1 : -1;
	if (n == 0)
		return 0;
	if (!*overflow && buf_add(b, chunk, (size_t)n) == -1) {
		*overflow = true;
		buf_init(b, 0);
	}
	return 1;
}

int
git_start(const char *dir, const char *const *args, struct git_proc *ret,
    struct errbuf *eb)
{
	posix_spawn_file_actions_t	 fa;
	const char			*argv[GIT_ARGS_MAX + 4];
	int				 op[2] = { -1, -1 }, ep[2] = { -1, -1 };
	int				 r, ret_ = -1;
	size_t				 argc = 0;
	pid_t				 pid = -1;

	argv[argc++] = "git";
	argv[argc++] = "-C";
	argv[argc++] = dir;
	for (size_t i = 0; args[i] != NULL; i++) {
		if (i >= GIT_ARGS_MAX)
			return errbuf_set(eb, EK_BUG,
			    "git: too many arguments");
		argv[argc++] = args[i];
	}
	argv[argc] = NULL;

	if (pipe2(op, O_CLOEXEC) == -1 || pipe2(ep, O_CLOEXEC) == -1) {
		errbuf_errno(eb, EK_OS, "git: pipe");
		goto out;
	}
	if (posix_spawn_file_actions_init(&fa) != 0) {
		errbuf_set(eb, EK_OS, "git: posix_spawn_file_actions_init");
		goto out;
	}
	/* dup2 clears FD_CLOEXEC on the copies; the originals close. */
	(void)posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
	    0);
	(void)posix_spawn_file_actions_adddup2(&fa, op[1], 1);
	(void)posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
	r = posix_spawnp(&pid, "git", &fa, NULL, (char *const *)(void *)argv,
	    environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		errbuf_errnum(eb, r == ENOENT ? EK_UNAVAIL : EK_OS, r,
		    "cannot run 'git'");
		goto out;
	}
	ret->pid = pid;
	ret->outfd = op[0];
	ret->errfd = ep[0];
	(void)strlcpy(ret->what, args[0], sizeof(ret->what));
	op[0] = ep[0] = -1;
	ret_ = 0;
 out:
	for (int i = 0; i < 2; i++) {
		if (op[i] != -1)
			close(op[i]);
		if (ep[i] != -1)
			close(ep[i]);
	}
	return ret_;
}

int
git_finish(struct git_proc *p, int *ret_status, char **ret_out,
    char **ret_err, struct errbuf *eb)
{
	struct pollfd			 pfd[2];
	struct buf			 out, err;
	bool				 oflow = false, eflow = false;
	int				 st, r, ret = -1, nopen;

	buf_init(&out, GIT_OUT_MAX);
	buf_init(&err, GIT_ERR_MAX);
	nopen = 2;
	while (nopen > 0) {
		pfd[0].fd = p->outfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = p->errfd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			errbuf_errno(eb, EK_OS, "git: poll");
			goto out;
		}
		for (int i = 0; i < 2; i++) {
			int	*fdp = i == 0 ? &p->outfd : &p->errfd;

			if (*fdp == -1 || pfd[i].revents == 0)
				continue;
			r = drain(*fdp, i == 0 ? &out : &err,
			    i == 0 ? &oflow : &eflow);
			if (r <= 0) {
				close(*fdp);
				*fdp = -1;
				nopen--;
			}
		}
	}
	while (waitpid(p->pid, &st, 0) == -1) {
		if (errno != EINTR) {
			errbuf_errno(eb, EK_OS, "git: waitpid");
			p->pid = -1;
			goto out;
		}
	}
	p->pid = -1;
	if (oflow) {
		errbuf_set(eb, EK_DATA, "git %s: output larger than %d bytes",
		    p->what, GIT_OUT_MAX);
		goto out;
	}
	if (ret_status != NULL)
		*ret_status = WIFEXITED(st) ? WEXITSTATUS(st) :
		    128 + WTERMSIG(st);
	if (ret_out != NULL)
		*ret_out = xstrdup(buf_str(&out));
	if (ret_err != NULL)
		*ret_err = xstrdup(buf_str(&err));
	ret = 0;
 out:
	git_abort(p);
	buf_release(&out);
	buf_release(&err);
	return ret;
}

void
git_abort(struct git_proc *p)
{
	int	 st;

	if (p->outfd != -1)
		close(p->outfd);
	if (p->errfd != -1)
		close(p->errfd);
	p->outfd = p->errfd = -1;
	if (p->pid > 0) {
		(void)kill(p->pid, SIGTERM);
		while (waitpid(p->pid, &st, 0) == -1 && errno == EINTR)
			;
	}
	p->pid = -1;
}

int
git_run(const char *dir, const char *const *args, int *ret_status,
    char **ret_out, char **ret_err, struct errbuf *eb)
{
	struct git_proc	 p;

	if (git_start(dir, args, &p, eb) == -1)
		return -1;
	return git_finish(&p, ret_status, ret_out, ret_err, eb);
}

/* The first line of git's stderr, without "fatal: ", for messages. */
static const char *
first_line(char *s)
{
	char	*nl;

	if (s == NULL || *s == '\0')
		return "no message";
	if ((nl = strchr(s, '\n')) != NULL)
		*nl = '\0';
	if (strncmp(s, "fatal: ", 7) == 0)
		return s + 7;
	if (strncmp(s, "error: ", 7) == 0)
		return s + 7;
	return s;
}

/* Reap git and require exit 0; kind is the errkind for a failure. */
static int
git_ok_finish(struct git_proc *p, const char *what, enum errkind kind,
    char **ret_out, struct errbuf *eb)
{
	char	*out = NULL, *err = NULL;
	int	 st, ret = -1;

	if (git_finish(p, &st, &out, &err, eb) == -1)
		return -1;
	if (st != 0) {
		errbuf_set(eb, kind, "git %s: %s", what, first_line(err));
		goto out;
	}
	if (ret_out != NULL) {
		*ret_out = out;
		out = NULL;
	}
	ret = 0;
 out:
	free(out);
	free(err);
	return ret;
}

/* Run git and require exit 0; kind is the errkind for a failure. */
static int
git_ok(const char *dir, const char *const *args, enum errkind kind,
    char **ret_out, struct errbuf *eb)
{
	struct git_proc	 p;

	if (git_start(dir, args, &p, eb) == -1)
		return -1;
	return git_ok_finish(&p, args[0], kind, ret_out, eb);
}

int
git_resolve(const char *dir, const char *ref, char ret_commit[41],
    struct errbuf *eb)
{
	const char	*args[] = { "rev-parse", "--verify", "--quiet", NULL,
			    NULL };
	char		*spec, *out = NULL;
	int		 st, ret = -1;
	size_t		 n;

	if (*ref == '-' || *ref == '\0')
		return errbuf_set(eb, EK_DATA, "ref '%s' is not a revision",
		    ref);
	spec = xasprintf("%s^{commit}", ref);
	args[3] = spec;
	if (git_run(dir, args, &st, &out, NULL, eb) == -1)
		goto out;
	n = strcspn(out, "\n");
	if (st != 0 || n != 40) {
		errbuf_set(eb, EK_NOINPUT, "ref '%s' names no commit in '%s'",
		    ref, dir);
		goto out;
	}
	memcpy(ret_commit, out, 40);
	ret_commit[40] = '\0';
	ret = 0;
 out:
	free(spec);
	free(out);
	return ret;
}

int
git_fetch(const char *dir, struct errbuf *eb)
{
	const char	*args[] = { "fetch", "--quiet", NULL };

	return git_ok(dir, args, EK_UNAVAIL, NULL, eb);
}

int
git_dirty(const char *dir, char **ret_desc, struct errbuf *eb)
{
	const char	*args[] = { "status", "--porcelain=v1",
			    "--untracked-files=normal", NULL };
	char		 desc[2048], item[512];
	char		*out = NULL, *p, *nl;
	size_t		 n = 0;

	if (git_ok(dir, args, EK_NOINPUT, &out, eb) == -1)
		return -1;
	desc[0] = '\0';
	for (p = out; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		if (nl == p)
			break;
		if (n < GIT_DIRTY_SHOWN) {
			(void)snprintf(item, sizeof(item), "%s%.*s",
			    n > 0 ? ", " : "", (int)(nl - p), p);
			(void)strlcat(desc, item, sizeof(desc));
		} else if (n == GIT_DIRTY_SHOWN)
			(void)strlcat(desc, ", ...", sizeof(desc));
		n++;
		if (*nl == '\0')
			break;
	}
	free(out);
	if (n == 0) {
		*ret_desc = NULL;
		return 0;
	}
	*ret_desc = xasprintf("%zu path%s: %s", n, n == 1 ? "" : "s", desc);
	return 0;
}

int
git_prefix(const char *dir, char **ret_prefix, struct errbuf *eb)
{
	const char	*args[] = { "rev-parse", "--show-prefix", NULL };
	char		*out = NULL;

	if (git_ok(dir, args, EK_NOINPUT, &out, eb) == -1)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	*ret_prefix = out;
	return 0;
}

int
git_archive_start(const char *dir, const char *commit, const char *subdir,
    const char *out, struct git_proc *ret, struct errbuf *eb)
{
	const char	*args[] = { "archive", "--format=tar.gz",
			    GIT_ARCHIVE_LEVEL, "-o", out, commit, NULL };
	const char	*top_args[] = { "rev-parse", "--show-toplevel", NULL };
	char		*top = NULL, *where = NULL;
	size_t		 n;
	int		 r = -1;

	/*
	 * "git archive COMMIT:subdir" would archive a tree, stamped with
	 * the current time; run in the subdirectory instead, git archives
	 * the same tree with the commit's time and id (so the same bytes
	 * every time).
	 */
	if (subdir != NULL && *subdir != '\0') {
		if (git_ok(dir, top_args, EK_NOINPUT, &top, eb) == -1)
			goto out;
		top[strcspn(top, "\n")] = '\0';
		n = strlen(subdir);
		while (n > 0 && subdir[n - 1] == '/')
			n--;
		where = xasprintf("%s/%.*s", top, (int)n, subdir);
	}
	r = git_start(where != NULL ? where : dir, args, ret, eb);
 out:
	free(top);
	free(where);
	return r;
}

int
git_archive_finish(struct git_proc *p, struct errbuf *eb)
{
	return git_ok_finish(p, "archive", EK_IO, NULL, eb);
}

int
git_archive(const char *dir, const char *commit, const char *subdir,
    const char *out, struct errbuf *eb)
{
	struct git_proc	 p;

	if (git_archive_start(dir, commit, subdir, out, &p, eb) == -1)
		return -1;
	return git_archive_finish(&p, eb);
}

int
git_common_dir(const char *dir, char **ret_path, struct errbuf *eb)
{
	const char	*args[] = { "rev-parse", "--path-format=absolute",
			    "--git-common-dir", NULL };
	char		*out = NULL;

	if (git_ok(dir, args, EK_NOINPUT, &out, eb) == -1)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	if (out[0] != '/') {
		free(out);
		return errbuf_set(eb, EK_NOINPUT, "git rev-parse: no git "
		    "directory for '%s'", dir);
	}
	*ret_path = out;
	return 0;
}

int
git_version(const char *dir, char **ret_version, struct errbuf *eb)
{
	const char	*args[] = { "--version", NULL };
	char		*out = NULL;

	if (git_ok(dir, args, EK_UNAVAIL, &out, eb) == -1)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	*ret_version = out;
	return 0;
}
