/* SPDX-License-Identifier: ISC */
/*
 * proc.h: run one hook script and supervise it (STYLE.md B8): fork/exec
 * with no shell, its own session, an explicit environment, optional
 * runas, a timeout that kills the whole process group, and output read
 * line by line.  hooks.c/lifecycle.c decide what to run; this file only
 * runs it.
 */
#ifndef HOOKD_PROC_H
#define HOOKD_PROC_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "caps.h"
#include "compat.h"

struct errbuf;

/* Credentials for runas, resolved in the parent before fork. */
struct proc_user {
	char		*name;
	uid_t		 uid;
	gid_t		 gid;
	gid_t		*groups;
	int		 ngroups;
	char		*home;
	char		*shell;
};

/*
 * Resolve a user name with getpwnam_r/getgrouplist (returns new strings).
 * EK_DATA when the user does not exist (the name comes from an appspec).
 */
int	proc_user_lookup(const char *name, struct proc_user *ret_user,
	    struct errbuf *);
void	proc_user_release(struct proc_user *);

#define PROC_STDOUT	1
#define PROC_STDERR	2

struct proc_spec {
	const char	*path;		/* what to execve */
	char *const	*argv;
	char *const	*envp;		/* the whole environment */
	const char	*cwd;
	const struct proc_user *user;	/* NULL: stay who we are */
	unsigned	 timeout_sec;	/* 0: none */
	unsigned	 kill_grace_sec; /* SIGTERM -> SIGKILL; 0: default */
	unsigned	 drain_msec;	/* read after exit; 0: HOOK_DRAIN_MSEC */

	/* Called for every output line (without its newline). */
	void		(*on_line)(void *arg, int stream, const char *line,
			    size_t len);
	/* Called about every tick_msec while the child runs (may be 0). */
	void		(*on_tick)(void *arg);
	unsigned	 tick_msec;
	void		*arg;
};

enum proc_outcome {
	PROC_EXITED = 0,	/* status = exit code */
	PROC_SIGNALED,		/* status = signal number */
	PROC_TIMEDOUT,		/* killed by us after timeout_sec */
	PROC_EXECFAILED,	/* status = errno of execve/chdir/setuid */
	PROC_STOPPED,		/* proc_request_stop() ended it early */
};

struct proc_result {
	enum proc_outcome outcome;
	int		 status;
	bool		 pipe_held;	/* a leftover child kept output open */
	double		 elapsed;	/* seconds */
	char		 tail[HOOK_TAIL_MAX + 1];	/* last output, NUL-ended */
	size_t		 taillen;
};

/*
 * Run spec to completion.  Returns 0 when the child was started and its
 * outcome is in *ret (which may be a failure: exit status, signal,
 * timeout, exec failure); -1 with eb set (EK_OS) only when it could not
 * be started at all (pipe, fork).  Blocks until the child and its process
 * group are done, at most timeout + grace + drain.
 */
int	proc_run(const struct proc_spec *, struct proc_result *ret,
	    struct errbuf *);

/*
 * Ask a running proc_run() to stop its child (SIGTERM, then SIGKILL after
 * the grace).  Async-signal-safe: the daemon calls it from its SIGTERM
 * handler.
 */
void	proc_request_stop(void);

/* A one-line description: "exited 3", "killed by signal 9 (KILL)", ... */
void	proc_result_describe(const struct proc_result *, const char *script,
	    char *buf, size_t len);

#endif /* HOOKD_PROC_H */
