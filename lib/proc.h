/* SPDX-License-Identifier: ISC */
/*
 * proc.h: run one hook script and supervise it (STYLE.md B8): fork/exec
 * with no shell, its own session, an explicit environment, optional
 * runas, a timeout that kills the whole process group, and output read
 * line by line.  hooks.c/lifecycle.c decide what to run; this file only
 * runs it.
 *
 * What happens to the hook's process group (its session: the hook runs
 * setsid()):
 *  - the hook exits by itself (any status, or a signal it did not get
 *    from us): whatever it left running in its group is LEFT ALONE.  An
 *    ApplicationStart that starts a server with '&', nohup or setsid is
 *    legitimate (CodeDeploy semantics).  If such a leftover still holds
 *    the output pipes, proc reads them for drain_msec after the exit,
 *    then closes its ends and sets pipe_held (the caller warns; the hook
 *    does not fail).
 *  - timeout, or proc_request_stop(): the WHOLE group gets SIGTERM, and
 *    SIGKILL kill_grace_sec later if any member is still there, even
 *    after the hook itself has gone.  Without a hook cgroup, a process
 *    that left the group (setsid, its own setpgid) is out of reach;
 *    with one, it is killed too (what a hook starts outlives it only
 *    when the hook exits by itself).
 *  - hookd dies while the hook runs: the hook (not its group) gets
 *    SIGKILL (PR_SET_PDEATHSIG), so it cannot run on behind the back of
 *    the next hookd, which finishes or rolls back the deployment.
 * No process is reaped except the hook itself and, when the caller is a
 * child subreaper (prctl PR_SET_CHILD_SUBREAPER), orphans of the hook's
 * own group.  SIGCHLD is blocked during proc_run() and read through a
 * signalfd; the caller's signal mask and SIGCHLD disposition are put
 * back before it returns, and the SIGCHLDs that arrived meanwhile are
 * consumed (a caller with children of its own should waitpid(-1, WNOHANG)
 * after proc_run()).  hookd is single-threaded (PR_SET_PDEATHSIG follows
 * the forking thread); proc_run() is not reentrant.
 *
 * With a hook cgroup (cgroup.h: cgroup_hooks_setup() was called), each
 * hook runs in a cgroup of its own with pids.max, joined before setsid,
 * and the timeout/stop kill reaches every member of that cgroup too:
 * what left the group is then killed as well (a hook that exits by
 * itself still leaves its cgroup alone).
 *
 * The child, in order: join the cgroup (when there is one), setsid,
 * every signal to SIG_DFL and none blocked, /dev/null on 0 and the pipes
 * on 1 and 2, RLIMIT_NPROC, setgroups + setresgid + setresuid,
 * PR_SET_PDEATHSIG, chdir (as the hook's user, so a cwd it cannot enter
 * fails clearly), execve.  A failing step comes
 * back as PROC_EXECFAILED with exec_step and errno; the exit status 127
 * of such a child is never reported.
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
 * Resolve a user name with getpwnam_r/getgrouplist into *ret_user (new
 * strings and group list; release with proc_user_release).  Returns 0, or
 * -1 with EK_DATA when the user does not exist (the name comes from an
 * appspec) and EK_OS when the user database failed.  May block on NSS.
 */
int	proc_user_lookup(const char *name, struct proc_user *ret_user,
	    struct errbuf *);
/* Free the contents; safe on a zeroed struct. */
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
	unsigned	 drain_msec;	/* after exit; 0: HOOK_DRAIN_MSEC */

	/*
	 * Called for every output line, without its newline but NUL-ended
	 * (it may hold NULs: trust len).  Lines longer than HOOK_LINE_MAX
	 * are split; a final line without newline is passed at EOF.
	 */
	void		(*on_line)(void *arg, int stream, const char *line,
			    size_t len);
	/*
	 * Called about every tick_msec while proc_run waits, kill grace and
	 * drain included (may be NULL).  It may call proc_request_stop().
	 */
	void		(*on_tick)(void *arg);
	unsigned	 tick_msec;	/* 0 with on_tick: 1000 */
	void		*arg;

	/*
	 * RLIMIT_NPROC for the hook (fork bombs), 0: unchanged.  Counts every
	 * process of the hook's real uid, so it is only meaningful with a
	 * runas user; root ignores it.
	 */
	unsigned	 max_procs;
};

enum proc_outcome {
	PROC_EXITED = 0,	/* status = exit code */
	PROC_SIGNALED,		/* status = signal number */
	PROC_TIMEDOUT,		/* killed by us after timeout_sec */
	PROC_EXECFAILED,	/* status = errno of execve/chdir/setuid */
	PROC_STOPPED,		/* proc_request_stop() ended it early */
};

/* Which step of the child failed, for PROC_EXECFAILED. */
enum proc_step {
	PROC_STEP_EXEC = 0,	/* execve itself */
	PROC_STEP_SETSID,
	PROC_STEP_STDIO,	/* dup2 onto 0, 1, 2 */
	PROC_STEP_CHDIR,
	PROC_STEP_SETGROUPS,
	PROC_STEP_SETGID,
	PROC_STEP_SETUID,
	PROC_STEP_RLIMIT,
	PROC_STEP_CGROUP,	/* joining the hook's cgroup (cgroup.h) */
};

struct proc_result {
	enum proc_outcome outcome;
	int		 status;
	bool		 pipe_held;	/* a leftover child kept output open */
	double		 elapsed;	/* seconds */
	/* The last raw bytes of stdout and stderr as read, NUL-ended. */
	char		 tail[HOOK_TAIL_MAX + 1];
	size_t		 taillen;
	/* Extensions (after the original fields). */
	enum proc_step	 exec_step;	/* PROC_EXECFAILED: what failed */
	unsigned	 timeout_sec;	/* PROC_TIMEDOUT: the limit hit */
	pid_t		 pgid;		/* the hook's process group */
	unsigned long long outbytes;	/* all output read, both streams */
};

/*
 * Run spec to completion.  Returns 0 when the child was started and its
 * outcome is in *ret (which may be a failure: exit status, signal,
 * timeout, exec failure, stop); -1 with eb set (EK_OS) only when it could
 * not be started at all (pipe, fork, signalfd), EK_BUG for a spec without
 * a path.  *ret is written only when 0 is returned.  Borrows spec and
 * everything it points to.  Blocks until the child and its process group
 * are done, at most timeout + grace + drain (plus one more drain if a
 * SIGKILLed child cannot be reaped, which is then left behind).
 */
int	proc_run(const struct proc_spec *, struct proc_result *ret,
	    struct errbuf *);

/*
 * Ask a running proc_run() to stop its child (SIGTERM to the group, then
 * SIGKILL after the grace); it returns PROC_STOPPED.  Async-signal-safe:
 * the daemon calls it from its SIGTERM handler; it may also be called
 * from on_tick or on_line.  The request is sticky: until
 * proc_stop_clear(), every later proc_run() returns PROC_STOPPED at once
 * without starting anything (a daemon that is shutting down starts no
 * new hook).  A request that arrives after the hook exited by itself
 * only cuts the drain short; the outcome stays the hook's own.
 */
void	proc_request_stop(void);
/* Forget a stop request (tests; a caller that chooses to carry on). */
void	proc_stop_clear(void);
/* Whether a stop request is pending. */
bool	proc_stop_requested(void);

/*
 * A one-line description, without a final full stop, written to buf
 * (always NUL-ended, truncated to len): "exited 3", "killed by signal 9
 * (SIGKILL)", "timed out after 5 s", "cannot execute 'x': Permission
 * denied", "stopped by hookd shutdown".  script names the hook in the
 * exec failure message; NULL means "hook".
 */
void	proc_result_describe(const struct proc_result *, const char *script,
	    char *buf, size_t len);

/*
 * Whether process pid exists and is not a zombie (/proc/PID/stat), and,
 * when pgid is not 0, is in process group pgid.  Where PID 1 does not
 * reap, kill(pid, 0) alone counts zombies as alive.
 */
bool	proc_pid_alive(pid_t pid, pid_t pgid);
/*
 * Process pid's state letter, process group and start time (clock ticks
 * after boot) from /proc/PID/stat (proc(5)); each may be NULL.  0, or -1
 * when it cannot be read (no such process).
 */
int	proc_stat(pid_t pid, char *ret_state, long *ret_pgrp,
	    unsigned long long *ret_start);

#endif /* HOOKD_PROC_H */
