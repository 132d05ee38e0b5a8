/* SPDX-License-Identifier: ISC */
/*
 * proc.c: run one hook script and supervise it (STYLE.md B8).  The parent
 * prepares everything (argv, envp, credentials, pipes) before fork(); the
 * child makes only plain system calls: setsid, signal reset, dup2,
 * setrlimit, setgroups/setresgid/setresuid, chdir, execve.  A failure in the
 * child is sent back as (step, errno) over a CLOEXEC status pipe, so the
 * report says why instead of a bare 127.
 *
 * The parent waits in one poll() over the two output pipes (stdout and
 * stderr apart, so lines keep their stream), the status pipe, a signalfd
 * for SIGCHLD (blocked while proc_run runs) and a self-pipe that
 * proc_request_stop() writes to.  The poll timeout is the nearest of: the
 * hook's deadline, the end of the kill grace, the next on_tick, the end of
 * the drain.  Output memory is fixed: one read chunk, one line buffer per
 * stream and a HOOK_TAIL_MAX ring, whatever the child writes.
 *
 * This file does not decide what to run, does not log above debug, and
 * does not touch the daemon's own state; see proc.h for what happens to
 * the hook's process group in each case.
 */
#include "compat.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "clock.h"
#include "errbuf.h"
#include "log.h"
#include "proc.h"
#include "xalloc.h"

#include "banned.h"

/* How often the group is checked for leftovers during the kill grace. */
#define PROC_GROUP_POLL_MSEC	50
/* on_tick period when the spec gives none. */
#define PROC_TICK_MSEC		1000

static volatile sig_atomic_t	stop_requested;
static volatile sig_atomic_t	stop_wakefd = -1;

struct proc_stream {
	int		 fd;		/* read end; -1 once closed */
	int		 stream;	/* PROC_STDOUT, PROC_STDERR */
	size_t		 len;		/* bytes in line */
	char		 line[HOOK_LINE_MAX + 1];
};

enum proc_kill {
	PROC_KILL_NONE = 0,	/* we have not signalled the group */
	PROC_KILL_TERM,		/* SIGTERM sent, SIGKILL at t_kill */
	PROC_KILL_DONE,		/* SIGKILL sent, or the group emptied */
};

/* One running hook (smtpd's struct child, for a table of one). */
struct proc_child {
	const struct proc_spec *spec;
	pid_t		 pid;		/* also the pgid, after setsid */
	struct cg_hook	 cgh;		/* its cgroup, when there is one */
	int		 statusfd;	/* exec status pipe, read end */
	int		 sigfd;		/* signalfd for SIGCHLD */
	int		 wakefd;	/* stop self-pipe, read end */
	struct proc_stream out[2];
	char		*rbuf;		/* HOOK_READ_CHUNK bytes */
	char		 ring[HOOK_TAIL_MAX];
	unsigned long long total;	/* bytes ever put in ring */

	bool		 reaped;
	bool		 lost;		/* reaped by someone else */
	int		 wstatus;
	bool		 execfailed;
	int		 exec_step;
	int		 exec_errno;

	enum proc_outcome cause;	/* TIMEDOUT/STOPPED: we killed it */
	enum proc_kill	 killst;

	unsigned	 grace_ms, drain_ms, tick_ms;
	int64_t		 t_start;
	int64_t		 t_deadline;	/* 0: no timeout */
	int64_t		 t_kill;	/* SIGKILL due */
	int64_t		 t_killed;	/* SIGKILL sent */
	int64_t		 t_tick;	/* next on_tick */
	int64_t		 t_settled;	/* reaped and no kill pending */
};

static void
closefd(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * Move *fd above 2 if it is not, so that the child's dup2 onto 0, 1 and 2
 * cannot land on one of its own sources (a caller started with stdout
 * closed would otherwise lose the hook's output).
 */
static int
proc_fd_high(int *fd)
{
	int	 nfd;

	if (*fd > 2)
		return 0;
	if ((nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3)) == -1)
		return -1;
	close(*fd);
	*fd = nfd;
	return 0;
}

/*
 * The child, between fork() and execve().  Only system calls on data the
 * parent prepared; any failure goes back as (step, errno) on statusfd.
 */
static __dead void
proc_child_exec(const struct proc_spec *sp, char *const *argv,
    char *const *envp, const int fds[4], const struct cg_hook *cgh,
    pid_t parent)
{
	struct sigaction	 sa;
	struct rlimit		 rl;
	sigset_t		 none;
	unsigned long		 kzero[8];	/* a kernel struct sigaction */
	int			 msg[2];

	/* First of all, so that nothing the hook runs is ever outside. */
	msg[0] = PROC_STEP_CGROUP;
	if (cg_hook_enter(cgh) == -1)
		goto out;
	msg[0] = PROC_STEP_SETSID;
	if (setsid() == -1)
		goto out;

	/*
	 * Ignored signals (SIGPIPE, say) and the blocked mask (SIGCHLD, here)
	 * survive execve: give the hook a clean slate.  glibc refuses to
	 * touch the two real-time signals it reserves (32, 33), yet they can
	 * arrive ignored from whoever started us: reset those with the raw
	 * system call, whose all-zero struct means SIG_DFL, no flags, empty
	 * mask on every layout.  SIGKILL and SIGSTOP fail, which is fine.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	memset(kzero, 0, sizeof(kzero));
	for (int sig = 1; sig < NSIG; sig++)
		if (sigaction(sig, &sa, NULL) == -1 && errno == EINVAL)
			(void)syscall(SYS_rt_sigaction, sig, kzero, NULL,
			    (size_t)(NSIG / 8));
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);

	/* fds[] are all >= 3 (proc_fd_high), so no dup2 clobbers another. */
	msg[0] = PROC_STEP_STDIO;
	if (dup2(fds[0], 0) == -1 || dup2(fds[1], 1) == -1 ||
	    dup2(fds[2], 2) == -1)
		goto out;
	/* Belt and braces for fds someone opened without O_CLOEXEC. */
	(void)close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);

	/* Lower the limit while we may still; root ignores it anyway. */
	if (sp->max_procs != 0) {
		msg[0] = PROC_STEP_RLIMIT;
		rl.rlim_cur = rl.rlim_max = sp->max_procs;
		if (setrlimit(RLIMIT_NPROC, &rl) == -1)
			goto out;
	}
	if (sp->user != NULL) {
		msg[0] = PROC_STEP_SETGROUPS;
		if (setgroups(sp->user->ngroups, sp->user->groups) == -1)
			goto out;
		msg[0] = PROC_STEP_SETGID;
		if (setresgid(sp->user->gid, sp->user->gid,
		    sp->user->gid) == -1)
			goto out;
		msg[0] = PROC_STEP_SETUID;
		if (setresuid(sp->user->uid, sp->user->uid,
		    sp->user->uid) == -1)
			goto out;
	}
	/*
	 * If hookd dies (kill -9, OOM), its hook must not run on behind the
	 * next hookd's back.  Set after the credential change, which clears
	 * it; if the parent is already gone, give up now.
	 */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);

	/*
	 * chdir after dropping privileges: the directory must be reachable
	 * by the hook's user (as the script path must be, for execve), and
	 * a cwd it could not enter is an error rather than a way around
	 * the permissions of its parents.
	 */
	if (sp->cwd != NULL) {
		msg[0] = PROC_STEP_CHDIR;
		if (chdir(sp->cwd) == -1)
			goto out;
	}
	msg[0] = PROC_STEP_EXEC;
	execve(sp->path, argv, envp);
 out:
	msg[1] = errno;
	if (write(fds[3], msg, sizeof(msg)) == -1) {
		/* Nothing left to tell anyone; the exit status says 127. */
	}
	_exit(127);
}

/* Keep the last HOOK_TAIL_MAX bytes of output in the ring. */
static void
proc_tail_add(struct proc_child *c, const char *p, size_t n)
{
	size_t	 off, k;

	if (n > HOOK_TAIL_MAX) {
		c->total += n - HOOK_TAIL_MAX;
		p += n - HOOK_TAIL_MAX;
		n = HOOK_TAIL_MAX;
	}
	while (n > 0) {
		off = c->total % HOOK_TAIL_MAX;
		k = HOOK_TAIL_MAX - off;
		if (k > n)
			k = n;
		memcpy(c->ring + off, p, k);
		c->total += k;
		p += k;
		n -= k;
	}
}

static void
proc_emit(struct proc_child *c, struct proc_stream *s)
{
	s->line[s->len] = '\0';
	if (c->spec->on_line != NULL)
		c->spec->on_line(c->spec->arg, s->stream, s->line, s->len);
	s->len = 0;
}

/* Split a chunk into lines; a line reaching HOOK_LINE_MAX is passed on. */
static void
proc_lines(struct proc_child *c, struct proc_stream *s, const char *p,
    size_t n)
{
	const char	*nl;
	size_t		 k;

	while (n > 0) {
		/* A full line is emitted only once we know it goes on. */
		if (s->len == HOOK_LINE_MAX && *p != '\n')
			proc_emit(c, s);
		nl = memchr(p, '\n', n);
		k = nl != NULL ? (size_t)(nl - p) : n;
		if (k > HOOK_LINE_MAX - s->len)
			k = HOOK_LINE_MAX - s->len;
		memcpy(s->line + s->len, p, k);
		s->len += k;
		p += k;
		n -= k;
		if (n > 0 && *p == '\n') {
			proc_emit(c, s);
			p++;
			n--;
		}
	}
}

/* Stop reading a stream: pass on a partial last line, close our end. */
static void
proc_stream_close(struct proc_child *c, struct proc_stream *s)
{
	if (s->len > 0)
		proc_emit(c, s);
	closefd(&s->fd);
}

static void
proc_stream_read(struct proc_child *c, struct proc_stream *s)
{
	ssize_t	 n;

	n = read(s->fd, c->rbuf, HOOK_READ_CHUNK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (n == -1)
			log_debug("proc: read from pid %d: %s", (int)c->pid,
			    strerror(errno));
		proc_stream_close(c, s);
		return;
	}
	proc_tail_add(c, c->rbuf, (size_t)n);
	proc_lines(c, s, c->rbuf, (size_t)n);
}

/* The status pipe: EOF means execve worked, 8 bytes mean it did not. */
static void
proc_status_read(struct proc_child *c)
{
	int	 msg[2];
	ssize_t	 n;

	n = read(c->statusfd, msg, sizeof(msg));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == (ssize_t)sizeof(msg)) {
		c->execfailed = true;
		c->exec_step = msg[0];
		c->exec_errno = msg[1];
		return;		/* EOF comes next */
	}
	closefd(&c->statusfd);
}

static void
proc_drain(int fd)
{
	char	 buf[256];

	while (fd != -1 && read(fd, buf, sizeof(buf)) > 0)
		continue;
}

/*
 * Signal the hook's group.  Before the child's setsid() the group does
 * not exist yet: signal the child itself then.  With a cgroup, also
 * every member of it: what left the group (setsid) is still in there.
 */
static void
proc_signal(struct proc_child *c, int sig)
{
	if (kill(-c->pid, sig) == -1 && errno == ESRCH && !c->reaped)
		(void)kill(c->pid, sig);
	(void)cg_hook_signal(&c->cgh, sig);
}

int
proc_stat(pid_t pid, char *ret_state, long *ret_pgrp,
    unsigned long long *ret_start)
{
	char	 path[64], buf[1024], state;
	char	*p;
	ssize_t	 n;
	long	 ppid, pgrp;
	int	 fd, field;

	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/*
	 * The command name may hold anything, ')' too: the fields follow
	 * the last ')', "state ppid pgrp ...", starttime the 22nd.
	 */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %c %ld %ld", &state, &ppid, &pgrp) != 3)
		return -1;
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (ret_state != NULL)
		*ret_state = state;
	if (ret_pgrp != NULL)
		*ret_pgrp = pgrp;
	if (ret_start != NULL)
		*ret_start = p != NULL ? strtoull(p + 1, NULL, 10) : 0;
	return 0;
}

/*
 * Whether pid is alive (not a zombie) and, when pgid is not 0, in process
 * group pgid.
 */
bool
proc_pid_alive(pid_t pid, pid_t pgid)
{
	long	 pgrp;
	char	 state;

	if (proc_stat(pid, &state, &pgrp, NULL) == -1)
		return false;
	return (pgid == 0 || pgrp == (long)pgid) && state != 'Z' &&
	    state != 'X';
}

/*
 * Whether anything but zombies is left in the hook's group.  kill(-pgid,
 * 0) alone counts zombies, and where PID 1 does not reap (a container
 * without an init, this build machine) a killed group would look alive
 * until SIGKILL; so when kill() says yes, look in /proc.  Only called
 * during the kill grace, every PROC_GROUP_POLL_MSEC.
 */
static bool
proc_group_alive(struct proc_child *c)
{
	struct dirent	*de;
	DIR		*d;
	bool		 alive = false;

	if (cg_hook_alive(&c->cgh))
		return true;
	if (kill(-c->pid, 0) == -1 && errno == ESRCH)
		return false;
	if ((d = opendir("/proc")) == NULL)
		return true;
	while (!alive && (de = readdir(d)) != NULL)
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9')
			alive = proc_pid_alive((pid_t)strtol(de->d_name,
			    NULL, 10), c->pid);
	closedir(d);
	return alive;
}

/* Start the kill sequence: SIGTERM (and SIGCONT) now, SIGKILL later. */
static void
proc_kill(struct proc_child *c, enum proc_outcome cause, int64_t now)
{
	log_debug("proc: %s pid %d, SIGTERM to its group",
	    cause == PROC_TIMEDOUT ? "timeout of" : "stopping", (int)c->pid);
	c->cause = cause;
	proc_signal(c, SIGTERM);
	/* A stopped process acts on SIGTERM only once continued (s6). */
	proc_signal(c, SIGCONT);
	c->killst = PROC_KILL_TERM;
	c->t_kill = now + c->grace_ms;
}

static void
proc_reap(struct proc_child *c)
{
	pid_t	 r;
	int	 st;

	if (!c->reaped) {
		r = waitpid(c->pid, &st, WNOHANG);
		if (r == c->pid) {
			c->reaped = true;
			c->wstatus = st;
		} else if (r == -1 && errno == ECHILD) {
			log_debug("proc: pid %d was reaped elsewhere",
			    (int)c->pid);
			c->reaped = true;
			c->lost = true;
		}
	}
	/*
	 * When the caller is a child subreaper, orphans of the hook's group
	 * come to us: reap those, and only those.
	 */
	if (c->reaped)
		while (waitpid(-c->pid, &st, WNOHANG) > 0)
			continue;
}

static bool
proc_streams_open(const struct proc_child *c)
{
	return c->out[0].fd != -1 || c->out[1].fd != -1;
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Advance timers and the kill sequence; false once we are done. */
static bool
proc_step(struct proc_child *c, int64_t now)
{
	const struct proc_spec	*sp = c->spec;

	proc_reap(c);
	if (!c->reaped && c->cause == PROC_EXITED) {
		if (stop_requested)
			proc_kill(c, PROC_STOPPED, now);
		else if (c->t_deadline != 0 && now >= c->t_deadline)
			proc_kill(c, PROC_TIMEDOUT, now);
	}
	if (c->killst == PROC_KILL_TERM) {
		if (now >= c->t_kill) {
			log_debug("proc: SIGKILL to group %d", (int)c->pid);
			proc_signal(c, SIGKILL);
			c->killst = PROC_KILL_DONE;
			c->t_killed = now;
		} else if (c->reaped && !proc_group_alive(c))
			c->killst = PROC_KILL_DONE;
	}
	if (sp->on_tick != NULL && now >= c->t_tick) {
		sp->on_tick(sp->arg);
		c->t_tick = now + c->tick_ms;
	}

	if (c->t_settled == 0) {
		if (c->reaped && c->killst != PROC_KILL_TERM)
			c->t_settled = now;
		else if (!c->reaped && c->killst == PROC_KILL_DONE &&
		    now >= c->t_killed + c->drain_ms) {
			/* In D state past SIGKILL: do not hang on it. */
			log_debug("proc: pid %d survives SIGKILL, leaving it",
			    (int)c->pid);
			return false;
		}
	}
	if (c->t_settled != 0) {
		if (!proc_streams_open(c) && c->statusfd == -1)
			return false;
		if (stop_requested)
			return false;	/* shutting down: no drain */
		if (now >= c->t_settled + c->drain_ms)
			return false;
	}
	return true;
}

/* Milliseconds until proc_step has something to do; -1: wait for I/O. */
static int
proc_timeout(const struct proc_child *c, int64_t now)
{
	int64_t	 wake = INT64_MAX;

	if (!c->reaped && c->cause == PROC_EXITED && c->t_deadline != 0)
		wake = min64(wake, c->t_deadline);
	if (c->killst == PROC_KILL_TERM) {
		wake = min64(wake, c->t_kill);
		if (c->reaped)
			wake = min64(wake, now + PROC_GROUP_POLL_MSEC);
	}
	if (c->killst == PROC_KILL_DONE && !c->reaped)
		wake = min64(wake, c->t_killed + c->drain_ms);
	if (c->spec->on_tick != NULL)
		wake = min64(wake, c->t_tick);
	if (c->t_settled != 0)
		wake = min64(wake, c->t_settled + c->drain_ms);
	if (wake == INT64_MAX)
		return -1;
	if (wake <= now)
		return 0;
	return wake - now > INT_MAX ? INT_MAX : (int)(wake - now);
}

static void
proc_loop(struct proc_child *c)
{
	struct pollfd	 pfd[5];
	nfds_t		 n;
	int64_t		 now;

	for (;;) {
		now = mono_ms();
		if (!proc_step(c, now))
			break;

		n = 0;
		pfd[n].fd = c->wakefd;
		pfd[n++].events = POLLIN;
		pfd[n].fd = c->sigfd;
		pfd[n++].events = POLLIN;
		pfd[n].fd = c->statusfd;	/* poll ignores -1 */
		pfd[n++].events = POLLIN;
		for (size_t i = 0; i < nitems(c->out); i++) {
			pfd[n].fd = c->out[i].fd;
			pfd[n++].events = POLLIN;
		}
		if (poll(pfd, n, proc_timeout(c, mono_ms())) == -1) {
			if (errno != EINTR) {
				log_debug("proc: poll: %s", strerror(errno));
				(void)poll(NULL, 0, PROC_GROUP_POLL_MSEC);
			}
			continue;
		}
		if (pfd[0].revents != 0)
			proc_drain(c->wakefd);
		if (pfd[1].revents != 0)
			proc_drain(c->sigfd);
		if (pfd[2].revents != 0)
			proc_status_read(c);
		for (size_t i = 0; i < nitems(c->out); i++)
			if (pfd[3 + i].revents != 0)
				proc_stream_read(c, &c->out[i]);
	}
}

/* Fill *r from the finished child. */
static void
proc_result_fill(struct proc_child *c, struct proc_result *r)
{
	size_t	 off;

	memset(r, 0, sizeof(*r));
	/* The status bytes are written before the child exits. */
	if (c->statusfd != -1)
		proc_status_read(c);
	if (c->execfailed) {
		r->outcome = PROC_EXECFAILED;
		r->status = c->exec_errno;
		r->exec_step = c->exec_step;
	} else if (c->cause != PROC_EXITED) {
		r->outcome = c->cause;
		if (c->cause == PROC_TIMEDOUT)
			r->timeout_sec = c->spec->timeout_sec;
	} else if (c->lost) {
		r->outcome = PROC_EXITED;
		r->status = -1;
	} else if (WIFSIGNALED(c->wstatus)) {
		r->outcome = PROC_SIGNALED;
		r->status = WTERMSIG(c->wstatus);
	} else {
		r->outcome = PROC_EXITED;
		r->status = WEXITSTATUS(c->wstatus);
	}
	r->pipe_held = proc_streams_open(c);
	r->elapsed = (double)(mono_ms() - c->t_start) / 1000.0;
	r->pgid = c->pid;
	r->outbytes = c->total;

	if (c->total <= HOOK_TAIL_MAX) {
		memcpy(r->tail, c->ring, c->total);
		r->taillen = c->total;
	} else {
		off = c->total % HOOK_TAIL_MAX;
		memcpy(r->tail, c->ring + off, HOOK_TAIL_MAX - off);
		memcpy(r->tail + HOOK_TAIL_MAX - off, c->ring, off);
		r->taillen = HOOK_TAIL_MAX;
	}
	r->tail[r->taillen] = '\0';
}

/* The pipes and /dev/null made before fork(); -1 once closed or moved. */
struct proc_fds {
	int	 out[2][2];	/* stdout, stderr: [0] ours, [1] the hook's */
	int	 status[2];	/* exec status */
	int	 wake[2];	/* stop self-pipe */
	int	 null;		/* the hook's stdin */
};

static void
proc_fds_close(struct proc_fds *f)
{
	for (size_t i = 0; i < 2; i++) {
		closefd(&f->out[i][0]);
		closefd(&f->out[i][1]);
		closefd(&f->status[i]);
		closefd(&f->wake[i]);
	}
	closefd(&f->null);
}

static int
proc_fds_open(struct proc_fds *f, struct errbuf *eb)
{
	f->out[0][0] = f->out[0][1] = f->out[1][0] = f->out[1][1] = -1;
	f->status[0] = f->status[1] = f->wake[0] = f->wake[1] = -1;
	f->null = -1;
	if (pipe2(f->out[0], O_CLOEXEC) == -1 ||
	    pipe2(f->out[1], O_CLOEXEC) == -1 ||
	    pipe2(f->status, O_CLOEXEC) == -1 ||
	    pipe2(f->wake, O_CLOEXEC | O_NONBLOCK) == -1)
		return errbuf_errno(eb, EK_OS, "cannot create pipe");
	/* Only our read ends are non-blocking; the hook's stay blocking. */
	if (fcntl(f->out[0][0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(f->out[1][0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(f->status[0], F_SETFL, O_NONBLOCK) == -1)
		return errbuf_errno(eb, EK_OS, "cannot make pipe non-blocking");
	if ((f->null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		return errbuf_errno(eb, EK_OS, "cannot open '/dev/null'");
	if (proc_fd_high(&f->null) == -1 || proc_fd_high(&f->out[0][1]) == -1 ||
	    proc_fd_high(&f->out[1][1]) == -1 ||
	    proc_fd_high(&f->status[1]) == -1)
		return errbuf_errno(eb, EK_OS, "cannot move a pipe above fd 2");
	return 0;
}

/* The caller's SIGCHLD state, put back by proc_sigchld_restore. */
struct proc_sigsave {
	struct sigaction oldsa;
	sigset_t	 oldmask;
	bool		 masked, saved;
};

/*
 * Block SIGCHLD (before fork(), so the child's exit cannot be missed) and
 * make it SIG_DFL: SIG_IGN would have the kernel reap the hook before we
 * can.  Returns a signalfd for it, or -1 with eb set.
 */
static int
proc_sigchld_hold(struct proc_sigsave *ss, struct errbuf *eb)
{
	struct sigaction	 sa;
	sigset_t		 chld;
	int			 fd;

	ss->masked = ss->saved = false;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, &ss->oldmask) == -1)
		return errbuf_errno(eb, EK_OS, "cannot block SIGCHLD");
	ss->masked = true;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, &ss->oldsa) == -1)
		return errbuf_errno(eb, EK_OS, "cannot reset SIGCHLD");
	ss->saved = true;
	if ((fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		return errbuf_errno(eb, EK_OS, "cannot create signalfd");
	return fd;
}

static void
proc_sigchld_restore(struct proc_sigsave *ss)
{
	sigset_t	 chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (ss->saved)
		(void)sigaction(SIGCHLD, &ss->oldsa, NULL);
	if (ss->masked && !sigismember(&ss->oldmask, SIGCHLD))
		(void)sigprocmask(SIG_UNBLOCK, &chld, NULL);
}

static struct proc_child *
proc_child_new(const struct proc_spec *sp)
{
	struct proc_child	*c;

	c = xcalloc(1, sizeof(*c));
	c->spec = sp;
	cg_hook_init(&c->cgh);
	c->statusfd = c->sigfd = c->wakefd = -1;
	c->out[0].fd = c->out[1].fd = -1;
	c->out[0].stream = PROC_STDOUT;
	c->out[1].stream = PROC_STDERR;
	c->cause = PROC_EXITED;
	c->grace_ms = (sp->kill_grace_sec != 0 ? sp->kill_grace_sec :
	    HOOK_KILL_GRACE_SEC) * 1000;
	c->drain_ms = sp->drain_msec != 0 ? sp->drain_msec : HOOK_DRAIN_MSEC;
	c->tick_ms = sp->tick_msec != 0 ? sp->tick_msec : PROC_TICK_MSEC;
	c->rbuf = xmalloc(HOOK_READ_CHUNK);
	return c;
}

static void
proc_child_free(struct proc_child *c)
{
	closefd(&c->out[0].fd);
	closefd(&c->out[1].fd);
	closefd(&c->statusfd);
	closefd(&c->wakefd);
	/* Consume our SIGCHLDs so the caller's handler sees none. */
	proc_drain(c->sigfd);
	closefd(&c->sigfd);
	cg_hook_release(&c->cgh);
	free(c->rbuf);
	free(c);
}

/*
 * See proc.h.  Everything the child needs (argv, envp, fds, credentials)
 * is made before fork(); the caller's SIGCHLD state is restored on every
 * path.
 */
int
proc_run(const struct proc_spec *sp, struct proc_result *ret,
    struct errbuf *eb)
{
	struct proc_child	*c = NULL;
	struct proc_result	*res = NULL;
	struct proc_sigsave	 ss = { 0 };
	struct proc_fds		 f;
	char			*defargv[2];
	char *const		 noenv[] = { NULL };
	char *const		*argv, *const *envp;
	int			 fds[4], rv = -1;
	pid_t			 pid, self;

	if (sp->path == NULL)
		return errbuf_set(eb, EK_BUG, "proc_run: no path to run");
	res = xcalloc(1, sizeof(*res));
	if (stop_requested) {
		/* Shutting down: start nothing. */
		res->outcome = PROC_STOPPED;
		*ret = *res;
		free(res);
		return 0;
	}

	defargv[0] = (char *)(uintptr_t)sp->path;
	defargv[1] = NULL;
	argv = sp->argv != NULL ? sp->argv : defargv;
	envp = sp->envp != NULL ? sp->envp : noenv;
	c = proc_child_new(sp);
	if (proc_fds_open(&f, eb) == -1)
		goto out;
	if ((c->sigfd = proc_sigchld_hold(&ss, eb)) == -1)
		goto out;
	if (cg_hook_create(&c->cgh, eb) == -1)
		goto out;

	fds[0] = f.null;
	fds[1] = f.out[0][1];
	fds[2] = f.out[1][1];
	fds[3] = f.status[1];
	self = getpid();
	c->t_start = mono_ms();
	if ((pid = fork()) == -1) {
		errbuf_errno(eb, EK_OS, "cannot fork");
		goto out;
	}
	if (pid == 0)
		proc_child_exec(sp, argv, envp, fds, &c->cgh, self);
	/* NOTREACHED in the child */

	c->pid = pid;
	log_debug("proc: started '%s' as pid %d", sp->path, (int)pid);
	closefd(&f.out[0][1]);
	closefd(&f.out[1][1]);
	closefd(&f.status[1]);
	closefd(&f.null);
	c->out[0].fd = f.out[0][0];
	c->out[1].fd = f.out[1][0];
	c->statusfd = f.status[0];
	c->wakefd = f.wake[0];
	f.out[0][0] = f.out[1][0] = f.status[0] = f.wake[0] = -1;
	if (sp->timeout_sec != 0)
		c->t_deadline = c->t_start + (int64_t)sp->timeout_sec * 1000;
	c->t_tick = c->t_start + c->tick_ms;

	stop_wakefd = f.wake[1];
	proc_loop(c);
	stop_wakefd = -1;

	proc_result_fill(c, res);
	log_debug("proc: pid %d done: outcome %d status %d%s", (int)pid,
	    (int)res->outcome, res->status,
	    res->pipe_held ? ", pipe held" : "");
	*ret = *res;
	rv = 0;
 out:
	stop_wakefd = -1;	/* before its pipe closes (signal handler) */
	proc_fds_close(&f);
	proc_child_free(c);
	proc_sigchld_restore(&ss);
	free(res);
	return rv;
}

/* See proc.h.  Async-signal-safe: a flag and one write(2). */
void
proc_request_stop(void)
{
	int	 saved = errno;
	int	 fd = stop_wakefd;

	stop_requested = 1;
	if (fd != -1 && write(fd, "s", 1) == -1) {
		/* Full pipe: a wake-up is already pending. */
	}
	errno = saved;
}

/* See proc.h. */
void
proc_stop_clear(void)
{
	stop_requested = 0;
}

/* See proc.h. */
bool
proc_stop_requested(void)
{
	return stop_requested != 0;
}

static const char *
proc_step_name(int step)
{
	switch (step) {
	case PROC_STEP_SETSID:
		return "cannot start a session (setsid)";
	case PROC_STEP_STDIO:
		return "cannot set up stdin/stdout/stderr";
	case PROC_STEP_CHDIR:
		return "cannot change to the working directory";
	case PROC_STEP_SETGROUPS:
		return "setgroups";
	case PROC_STEP_SETGID:
		return "setresgid";
	case PROC_STEP_SETUID:
		return "setresuid";
	case PROC_STEP_RLIMIT:
		return "setrlimit(RLIMIT_NPROC)";
	case PROC_STEP_CGROUP:
		return "cannot join the hook's cgroup";
	default:
		return "unknown step";
	}
}

/* See proc.h. */
void
proc_result_describe(const struct proc_result *r, const char *script,
    char *buf, size_t len)
{
	const char	*abbrev;

	if (script == NULL)
		script = "hook";
	switch (r->outcome) {
	case PROC_EXITED:
		(void)snprintf(buf, len, "exited %d", r->status);
		break;
	case PROC_SIGNALED:
		if ((abbrev = sigabbrev_np(r->status)) != NULL)
			(void)snprintf(buf, len, "killed by signal %d (SIG%s)",
			    r->status, abbrev);
		else
			(void)snprintf(buf, len, "killed by signal %d",
			    r->status);
		break;
	case PROC_TIMEDOUT:
		(void)snprintf(buf, len, "timed out after %u s",
		    r->timeout_sec);
		break;
	case PROC_EXECFAILED:
		if (r->exec_step == PROC_STEP_EXEC)
			(void)snprintf(buf, len, "cannot execute '%s': %s%s",
			    script, strerror(r->status),
			    r->status == ENOEXEC ? " (no #! line?)" : "");
		else
			(void)snprintf(buf, len, "cannot execute '%s': %s: %s",
			    script, proc_step_name(r->exec_step),
			    strerror(r->status));
		break;
	case PROC_STOPPED:
		(void)snprintf(buf, len, "stopped by hookd shutdown");
		break;
	default:
		(void)snprintf(buf, len, "unknown outcome %d",
		    (int)r->outcome);
		break;
	}
}

/* See proc.h. */
int
proc_user_lookup(const char *name, struct proc_user *ret_user,
    struct errbuf *eb)
{
	struct proc_user	 u = { 0 };
	struct passwd		 pw, *res = NULL;
	char			*buf = NULL;
	size_t			 bufsz = 1024;
	int			 rc, n, ret = -1;

	if (name == NULL || *name == '\0')
		return errbuf_set(eb, EK_DATA, "empty user name");
	for (;;) {
		buf = xmalloc(bufsz);
		rc = getpwnam_r(name, &pw, buf, bufsz, &res);
		if (rc != ERANGE)
			break;
		free(buf);
		buf = NULL;
		if (bufsz >= USER_PWBUF_MAX) {
			errbuf_set(eb, EK_OS, "cannot look up user '%s': "
			    "entry larger than %d bytes", name,
			    USER_PWBUF_MAX);
			goto out;
		}
		bufsz *= 2;
	}
	/* Some NSS modules say "not found" with an errno (getpwnam(3)). */
	if (res == NULL && (rc == 0 || rc == ENOENT || rc == ESRCH ||
	    rc == EBADF || rc == EPERM)) {
		errbuf_set(eb, EK_DATA, "unknown user '%s'", name);
		goto out;
	}
	if (rc != 0 || res == NULL) {
		errbuf_errnum(eb, EK_OS, rc, "cannot look up user '%s'", name);
		goto out;
	}

	n = 16;
	for (;;) {
		u.groups = xreallocarray(u.groups, n, sizeof(*u.groups));
		u.ngroups = n;
		if (getgrouplist(pw.pw_name, pw.pw_gid, u.groups,
		    &u.ngroups) != -1)
			break;
		/* glibc sets ngroups to the number needed. */
		n = u.ngroups > n ? u.ngroups : n * 2;
		if (n > USER_GROUPS_MAX) {
			errbuf_set(eb, EK_OS, "user '%s' is in more than %d "
			    "groups", name, USER_GROUPS_MAX);
			goto out;
		}
	}
	u.name = xstrdup(pw.pw_name);
	u.uid = pw.pw_uid;
	u.gid = pw.pw_gid;
	u.home = xstrdup(pw.pw_dir != NULL ? pw.pw_dir : "/");
	u.shell = xstrdup(pw.pw_shell != NULL && *pw.pw_shell != '\0' ?
	    pw.pw_shell : "/bin/sh");
	*ret_user = u;
	memset(&u, 0, sizeof(u));
	ret = 0;
 out:
	proc_user_release(&u);
	free(buf);
	return ret;
}

/* See proc.h. */
void
proc_user_release(struct proc_user *u)
{
	free(u->name);
	free(u->groups);
	free(u->home);
	free(u->shell);
	memset(u, 0, sizeof(*u));
}
