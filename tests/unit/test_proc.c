/* SPDX-License-Identifier: ISC */
/*
 * test_proc.c: lib/proc.c against real /bin/sh children: outcomes, the
 * kill sequence reaching the whole process group, output capture and
 * its caps, exec failures, the child's clean signal state, environment,
 * cwd, stop requests, ticks and runas.
 *
 * The test process makes itself a child subreaper: on this machine PID 1
 * does not reap orphans, so without it a killed background process would
 * linger as a zombie and "is it gone" could not be answered with kill(2).
 */
#include "compat.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "errbuf.h"
#include "proc.h"

#include "banned.h"

#define MAXLINES	64
#define LINECOPY	256
#define LINE100		"01234567890123456789012345678901234567890123456789" \
			"01234567890123456789012345678901234567890123456789"

struct seen {
	int		 n;		/* lines seen, all kept or not */
	int		 stream[MAXLINES];
	size_t		 len[MAXLINES];
	char		 line[MAXLINES][LINECOPY];
	unsigned long long bytes;	/* sum of line lengths */
	size_t		 maxlen;
	int		 ticks;
	int		 stop_on_tick;	/* call proc_request_stop on tick N */
	const char	*stop_when;	/* ... once this file exists */
};

static char	 tmpdir[PATH_MAX];
static char	 env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
static char	 env_test[] = "HOOKD_TEST=yes";
static char *const test_env[] = { env_path, env_test, NULL };

static char *
unconst(const char *s)
{
	return (char *)(uintptr_t)s;
}

static int64_t
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_line(void *arg, int stream, const char *line, size_t len)
{
	struct seen	*s = arg;
	size_t		 copy;

	assert_int_equal(line[len], '\0');
	if (s->n < MAXLINES) {
		s->stream[s->n] = stream;
		s->len[s->n] = len;
		copy = len < LINECOPY ? len : LINECOPY - 1;
		memcpy(s->line[s->n], line, copy);
		s->line[s->n][copy] = '\0';
	}
	s->n++;
	s->bytes += len;
	if (len > s->maxlen)
		s->maxlen = len;
}

static void
on_tick(void *arg)
{
	struct seen	*s = arg;

	s->ticks++;
	if (s->stop_on_tick != 0 && s->ticks >= s->stop_on_tick &&
	    (s->stop_when == NULL || access(s->stop_when, F_OK) == 0))
		proc_request_stop();
}

/* A spec running 'sh -c script' in tmpdir, with short limits. */
static void
sh_spec(struct proc_spec *sp, char **argv, const char *script,
    struct seen *s)
{
	memset(sp, 0, sizeof(*sp));
	memset(s, 0, sizeof(*s));
	argv[0] = unconst("sh");
	argv[1] = unconst("-c");
	argv[2] = unconst(script);
	argv[3] = NULL;
	sp->path = "/bin/sh";
	sp->argv = argv;
	sp->envp = test_env;
	sp->cwd = tmpdir;
	sp->kill_grace_sec = 1;
	sp->drain_msec = 300;
	sp->on_line = on_line;
	sp->arg = s;
}

static void
run_ok(const struct proc_spec *sp, struct proc_result *res)
{
	struct errbuf	 eb = { 0 };

	if (proc_run(sp, res, &eb) != 0)
		fail_msg("proc_run: %s", eb.msg);
}

static void
tmpfile_path(char *buf, size_t len, const char *name)
{
	int	 n;

	n = snprintf(buf, len, "%s/%s", tmpdir, name);
	assert_true(n > 0 && (size_t)n < len);
}

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char	 path[PATH_MAX];
	int	 fd;

	tmpfile_path(path, sizeof(path), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static pid_t
read_pid(const char *name)
{
	char		 path[PATH_MAX], buf[32];
	uint64_t	 v;
	ssize_t		 n;
	int		 fd;

	tmpfile_path(path, sizeof(path), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd != -1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 1);
	buf[n - 1] = '\0';	/* the newline */
	assert_int_equal(parse_u64(buf, 2, INT_MAX, &v), 0);
	return (pid_t)v;
}

/*
 * Poll until pid no longer exists, reaping orphans handed to us as the
 * subreaper.  Returns whether it went within ms.
 */
static bool
pid_gone(pid_t pid, int ms)
{
	int64_t	 deadline;

	deadline = mono_ms() + ms;
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			continue;
		if (kill(pid, 0) == -1 && errno == ESRCH)
			return true;
		if (mono_ms() >= deadline)
			return false;
		(void)poll(NULL, 0, 20);
	}
}

static void
assert_describes(const struct proc_result *res, const char *script,
    const char *want)
{
	char	 buf[256];

	proc_result_describe(res, script, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void
proc_reports_the_exit_status(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct seen		 s;
	char			*argv[4];

	sh_spec(&sp, argv, "exit 3", &s);
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXITED);
	assert_int_equal(res.status, 3);
	assert_false(res.pipe_held);
	assert_int_equal(res.taillen, 0);
	assert_string_equal(res.tail, "");
	assert_describes(&res, "x.sh", "exited 3");

	sh_spec(&sp, argv, "true", &s);
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXITED);
	assert_int_equal(res.status, 0);
	assert_true(res.elapsed < 1.0);
}

static void
proc_reports_the_killing_signal(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct seen		 s;
	char			*argv[4];

	sh_spec(&sp, argv, "kill -9 $$", &s);
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_SIGNALED);
	assert_int_equal(res.status, SIGKILL);
	assert_describes(&res, "x.sh", "killed by signal 9 (SIGKILL)");
}

static void
proc_timeout_kills_the_whole_group(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct seen		 s;
	char			*argv[4];
	pid_t			 bg;

	sh_spec(&sp, argv, "sleep 1000 & echo $! > bg.pid; sleep 1000", &s);
	sp.timeout_sec = 1;
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_TIMEDOUT);
	assert_describes(&res, "x.sh", "timed out after 1 s");
	assert_true(res.elapsed >= 0.9);
	/* Everybody died of SIGTERM: no need to wait for the grace. */
	assert_true(res.elapsed < 1.9);
	bg = read_pid("bg.pid");
	assert_true(pid_gone(bg, 2000));
	assert_true(kill(-res.pgid, 0) == -1 && errno == ESRCH);
}

static void
proc_timeout_does_not_wait_the_grace_for_zombies(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct errbuf		 eb = { 0 };
	struct seen		 s;
	char			*argv[4];
	pid_t			 mid, bg;
	int			 st;

	/*
	 * proc_run in a child that is not a subreaper: the hook's orphan goes
	 * to us, and we do not reap it while that child waits, as a PID 1
	 * that never reaps would not.  The group must still count as empty
	 * once only zombies are left, well before the 3 s grace.
	 */
	sh_spec(&sp, argv, "sleep 1000 & echo $! > z.pid; sleep 1000", &s);
	sp.on_line = NULL;
	sp.timeout_sec = 1;
	sp.kill_grace_sec = 3;
	if ((mid = fork()) == 0) {
		if (proc_run(&sp, &res, &eb) != 0)
			_exit(2);
		_exit(res.outcome == PROC_TIMEDOUT && res.elapsed < 2.5 ? 0 :
		    1);
	}
	assert_true(mid > 0);
	assert_int_equal(waitpid(mid, &st, 0), mid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	bg = read_pid("z.pid");
	assert_true(pid_gone(bg, 2000));
}

static void
proc_sigkills_a_hook_that_ignores_sigterm(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct seen		 s;
	char			*argv[4];
	pid_t			 bg;

	/* The trap is inherited: both sleeps ignore SIGTERM too. */
	sh_spec(&sp, argv, "trap '' TERM; sleep 1000 & echo $! > stubborn.pid;"
	    " sleep 1000", &s);
	sp.timeout_sec = 1;
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_TIMEDOUT);
	assert_true(res.elapsed >= 1.9);
	assert_true(res.elapsed < 3.0);
	bg = read_pid("stubborn.pid");
	assert_true(pid_gone(bg, 2000));
}

static void
proc_captures_and_tags_stdout_and_stderr(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct seen		 s;
	char			*argv[4];
	bool			 out = false, err = false, part = false;

	sh_spec(&sp, argv, "echo out1; echo err1 >&2; printf partial", &s);
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXITED);
	assert_int_equal(s.n, 3);
	for (int i = 0; i < s.n; i++) {
		if (strcmp(s.line[i], "out1") == 0) {
			assert_int_equal(s.stream[i], PROC_STDOUT);
			out = true;
		} else if (strcmp(s.line[i], "err1") == 0) {
			assert_int_equal(s.stream[i], PROC_STDERR);
			err = true;
		} else if (strcmp(s.line[i], "partial") == 0) {
			assert_int_equal(s.stream[i], PROC_STDOUT);
			part = true;
		}
	}
	assert_true(out && err && part);
	assert_int_equal(res.taillen, strlen("out1\nerr1\npartial"));
	assert_non_null(strstr(res.tail, "out1\n"));
	assert_non_null(strstr(res.tail, "err1\n"));
	assert_int_equal(res.outbytes, res.taillen);
}

static void
proc_splits_overlong_lines(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct seen		 s;
	char			*argv[4];

	sh_spec(&sp, argv, "head -c 4096 /dev/zero | tr '\\0' a; echo;"
	    " head -c 10000 /dev/zero | tr '\\0' b; echo; echo next", &s);
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXITED);
	assert_int_equal(s.n, 5);
	/* No empty line after. */
	assert_int_equal(s.len[0], HOOK_LINE_MAX);
	assert_int_equal(s.line[0][0], 'a');
	assert_int_equal(s.len[1], HOOK_LINE_MAX);
	assert_int_equal(s.line[1][0], 'b');
	assert_int_equal(s.len[2], HOOK_LINE_MAX);
	assert_int_equal(s.len[3], 10000 - 2 * HOOK_LINE_MAX);
	assert_string_equal(s.line[4], "next");
}

/* The byte at offset p of the 100 MB test stream, then the marker. */
static char
stream_byte(unsigned long long p, const char *end)
{
	if (p >= 100000000ULL)
		return end[p - 100000000ULL];
	return p % 101 == 100 ? '\n' : (char)('0' + p % 101 % 10);
}

static void
proc_keeps_memory_flat_and_the_tail_right(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct rusage		 ru0, ru1;
	struct seen		 s;
	char			*argv[4], want[HOOK_TAIL_MAX];
	const char		*end = "\nTHE-END\n";
	unsigned long long	 total;

	/* 100 MB of 101-byte lines (the last one cut), then a marker. */
	sh_spec(&sp, argv, "yes " LINE100 " | head -c 100000000;"
	    " printf '\\nTHE-END\\n'", &s);
	assert_int_equal(getrusage(RUSAGE_SELF, &ru0), 0);
	run_ok(&sp, &res);
	assert_int_equal(getrusage(RUSAGE_SELF, &ru1), 0);
	assert_int_equal(res.outcome, PROC_EXITED);
	assert_int_equal(res.status, 0);
	total = 100000000ULL + strlen(end);
	assert_int_equal(res.outbytes, total);
	assert_int_equal(res.taillen, HOOK_TAIL_MAX);
	assert_int_equal(strlen(res.tail), HOOK_TAIL_MAX);
	for (size_t i = 0; i < HOOK_TAIL_MAX; i++)
		want[i] = stream_byte(total - HOOK_TAIL_MAX + i, end);
	assert_memory_equal(res.tail, want, HOOK_TAIL_MAX);
	/* Every byte but the newlines went through on_line. */
	assert_int_equal(s.bytes + (unsigned long long)s.n, total);
	assert_int_equal(s.maxlen, 100);
	assert_string_equal(s.line[MAXLINES - 1], LINE100);
	/* ru_maxrss is in KiB: the 100 MB went through a fixed buffer. */
	print_message("100 MB: maxrss %ld -> %ld KiB, %.2f s\n",
	    ru0.ru_maxrss, ru1.ru_maxrss, res.elapsed);
	assert_true(ru1.ru_maxrss - ru0.ru_maxrss < 8 * 1024);
}

static void
proc_does_not_hang_on_a_pipe_held_by_a_leftover(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct seen		 s;
	char			*argv[4];
	pid_t			 bg;

	sh_spec(&sp, argv, "sleep 1000 & echo $! > held.pid; echo started",
	    &s);
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXITED);
	assert_int_equal(res.status, 0);
	assert_true(res.pipe_held);
	assert_true(res.elapsed >= 0.25);
	assert_true(res.elapsed < 0.3 + 1.0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.line[0], "started");
	/* A successful hook's leftovers are left alone... */
	bg = read_pid("held.pid");
	assert_int_equal(kill(bg, 0), 0);
	/* ...so clean up after it here. */
	assert_int_equal(kill(bg, SIGKILL), 0);
	assert_true(pid_gone(bg, 2000));
}

static void
proc_reports_exec_failures_with_errno(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct seen		 s;
	char			*argv[4];
	char			 path[PATH_MAX];

	sh_spec(&sp, argv, "", &s);
	sp.argv = NULL;

	sp.path = "/nonexistent/hookd/x.sh";
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXECFAILED);
	assert_int_equal(res.status, ENOENT);
	assert_int_equal(res.exec_step, PROC_STEP_EXEC);
	assert_describes(&res, "scripts/x.sh",
	    "cannot execute 'scripts/x.sh': No such file or directory");

	write_file("noexec.sh", "#!/bin/sh\necho hi\n", 0644);
	tmpfile_path(path, sizeof(path), "noexec.sh");
	sp.path = path;
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXECFAILED);
	assert_int_equal(res.status, EACCES);
	assert_describes(&res, "scripts/x.sh",
	    "cannot execute 'scripts/x.sh': Permission denied");

	write_file("noshebang.sh", "echo hi\n", 0755);
	tmpfile_path(path, sizeof(path), "noshebang.sh");
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXECFAILED);
	assert_int_equal(res.status, ENOEXEC);
	assert_describes(&res, "scripts/x.sh", "cannot execute "
	    "'scripts/x.sh': Exec format error (no #! line?)");
	assert_int_equal(s.n, 0);

	/* A failure before execve names its step. */
	sp.path = "/bin/true";
	sp.cwd = "/nonexistent/hookd";
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXECFAILED);
	assert_int_equal(res.status, ENOENT);
	assert_int_equal(res.exec_step, PROC_STEP_CHDIR);
	assert_describes(&res, "x.sh", "cannot execute 'x.sh': cannot change "
	    "to the working directory: No such file or directory");
}

static void
proc_child_starts_with_default_signals(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct sigaction	 ign, old;
	struct seen		 s;
	sigset_t		 usr1, oldmask;
	char			*argv[4];

	/* What a daemon typically has: SIGPIPE ignored, a signal blocked. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	assert_int_equal(sigprocmask(SIG_BLOCK, &usr1, &oldmask), 0);

	sh_spec(&sp, argv, "grep -E '^Sig(Blk|Ign):' /proc/self/status;"
	    " kill -PIPE $$; echo survived", &s);
	run_ok(&sp, &res);

	assert_int_equal(sigprocmask(SIG_SETMASK, &oldmask, NULL), 0);
	assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);

	assert_int_equal(res.outcome, PROC_SIGNALED);
	assert_int_equal(res.status, SIGPIPE);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.line[0], "SigBlk:\t0000000000000000");
	assert_string_equal(s.line[1], "SigIgn:\t0000000000000000");
}

static volatile sig_atomic_t	 got_sigchld;

static void
count_sigchld(int sig)
{
	got_sigchld++;
}

static void
proc_restores_the_callers_signal_state(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct sigaction	 sa, old, now;
	struct seen		 s;
	sigset_t		 chld, oldmask, mask;
	char			*argv[4];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_sigchld;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGCHLD, &sa, &old), 0);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	assert_int_equal(sigprocmask(SIG_UNBLOCK, &chld, &oldmask), 0);
	got_sigchld = 0;

	sh_spec(&sp, argv, "exit 0", &s);
	run_ok(&sp, &res);

	assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &mask), 0);
	assert_int_equal(sigaction(SIGCHLD, NULL, &now), 0);
	assert_int_equal(sigprocmask(SIG_SETMASK, &oldmask, NULL), 0);
	assert_int_equal(sigaction(SIGCHLD, &old, NULL), 0);

	assert_int_equal(res.outcome, PROC_EXITED);
	assert_false(sigismember(&mask, SIGCHLD));
	assert_ptr_equal(now.sa_handler, count_sigchld);
	/* Our child's SIGCHLD was consumed; the caller never saw it. */
	assert_int_equal(got_sigchld, 0);
}

static void
proc_passes_exactly_the_given_environment(void **state)
{
	static char		 a[] = "A=1", b[] = "B=two words";
	char *const		 env[] = { a, b, NULL };
	char			*argv[2] = { unconst("env"), NULL };
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct seen		 s;
	char			*shargv[4];

	sh_spec(&sp, shargv, "", &s);
	sp.path = "/usr/bin/env";
	sp.argv = argv;
	sp.envp = env;
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXITED);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.line[0], "A=1");
	assert_string_equal(s.line[1], "B=two words");

	/* NULL envp: nothing at all, not hookd's environment. */
	sh_spec(&sp, shargv, "", &s);
	sp.path = "/usr/bin/env";
	sp.argv = argv;
	sp.envp = NULL;
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXITED);
	assert_int_equal(s.n, 0);
}

static void
proc_runs_in_the_given_directory(void **state)
{
	char			*argv[3] = { unconst("pwd"), unconst("-P"),
				    NULL };
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct seen		 s;
	char			*shargv[4], real[PATH_MAX];

	assert_non_null(realpath(tmpdir, real));
	sh_spec(&sp, shargv, "", &s);
	sp.path = "/bin/pwd";
	sp.argv = argv;
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXITED);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.line[0], real);
}

static void
proc_stop_request_kills_the_group(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct seen		 s;
	char			*argv[4], pidpath[PATH_MAX], marker[PATH_MAX];
	pid_t			 bg;

	tmpfile_path(pidpath, sizeof(pidpath), "stop.pid");
	sh_spec(&sp, argv, "sleep 1000 & echo $! > stop.pid; sleep 1000", &s);
	sp.on_tick = on_tick;
	sp.tick_msec = 50;
	s.stop_on_tick = 2;
	s.stop_when = pidpath;
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_STOPPED);
	assert_describes(&res, "x.sh", "stopped by hookd shutdown");
	assert_true(res.elapsed < 1.9);
	bg = read_pid("stop.pid");
	assert_true(pid_gone(bg, 2000));

	/* The request is sticky: nothing new starts until it is cleared. */
	assert_true(proc_stop_requested());
	tmpfile_path(marker, sizeof(marker), "ran");
	sh_spec(&sp, argv, "touch ran", &s);
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_STOPPED);
	assert_int_equal(access(marker, F_OK), -1);

	proc_stop_clear();
	assert_false(proc_stop_requested());
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXITED);
	assert_int_equal(access(marker, F_OK), 0);
}

static void
proc_stop_after_the_hook_exited_only_ends_the_drain(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct seen		 s;
	char			*argv[4];
	pid_t			 bg;

	sh_spec(&sp, argv, "sleep 1000 & echo $! > app.pid; exit 0", &s);
	sp.drain_msec = 5000;
	sp.on_tick = on_tick;
	sp.tick_msec = 50;
	s.stop_on_tick = 4;
	run_ok(&sp, &res);
	proc_stop_clear();
	/* The hook's own outcome, and its started app is left running. */
	assert_int_equal(res.outcome, PROC_EXITED);
	assert_int_equal(res.status, 0);
	assert_true(res.pipe_held);
	assert_true(res.elapsed < 2.0);
	bg = read_pid("app.pid");
	assert_int_equal(kill(bg, 0), 0);
	assert_int_equal(kill(bg, SIGKILL), 0);
	assert_true(pid_gone(bg, 2000));
}

static void
stop_from_handler(int sig)
{
	proc_request_stop();
}

static void
proc_stop_works_from_a_signal_handler(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct sigaction	 sa, old;
	struct seen		 s;
	sigset_t		 usr1, oldmask;
	char			*argv[4];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = stop_from_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	assert_int_equal(sigprocmask(SIG_UNBLOCK, &usr1, &oldmask), 0);

	/* The hook asks its parent, the test, to stop it. */
	sh_spec(&sp, argv, "kill -USR1 $PPID; sleep 1000", &s);
	sp.timeout_sec = 30;
	run_ok(&sp, &res);

	assert_int_equal(sigprocmask(SIG_SETMASK, &oldmask, NULL), 0);
	assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
	proc_stop_clear();
	assert_int_equal(res.outcome, PROC_STOPPED);
	assert_true(res.elapsed < 1.9);
	/* Killed; a member orphaned to us (the subreaper) may await reaping. */
	assert_true(pid_gone(-res.pgid, 2000));
}

static void
proc_waits_for_a_hook_that_closed_its_output(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct seen		 s;
	char			*argv[4];

	sh_spec(&sp, argv, "echo bye; exec >&- 2>&-; sleep 0.4; exit 4", &s);
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXITED);
	assert_int_equal(res.status, 4);
	assert_false(res.pipe_held);
	assert_true(res.elapsed >= 0.35);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.line[0], "bye");
}

static void
proc_timeout_also_ends_a_stopped_hook(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct seen		 s;
	char			*argv[4];

	/* SIGTERM alone would wait until SIGKILL; SIGCONT lets it act. */
	sh_spec(&sp, argv, "kill -STOP $$; sleep 1000", &s);
	sp.timeout_sec = 1;
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_TIMEDOUT);
	assert_true(res.elapsed < 1.9);
	/* Killed; a member orphaned to us (the subreaper) may await reaping. */
	assert_true(pid_gone(-res.pgid, 2000));
}

static void
proc_hook_dies_with_its_supervisor(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct errbuf		 eb = { 0 };
	struct seen		 s;
	char			*argv[4], path[PATH_MAX];
	pid_t			 sup, victim;
	int64_t			 deadline;

	tmpfile_path(path, sizeof(path), "victim.pid");
	sh_spec(&sp, argv, "echo $$ > victim.tmp; mv victim.tmp victim.pid;"
	    " exec sleep 1000", &s);
	sp.on_line = NULL;
	sp.timeout_sec = 30;
	/* A stand-in hookd, killed -9 while its hook runs. */
	if ((sup = fork()) == 0) {
		(void)proc_run(&sp, &res, &eb);
		_exit(0);
	}
	assert_true(sup > 0);
	deadline = mono_ms() + 2000;
	while (access(path, F_OK) == -1 && mono_ms() < deadline)
		(void)poll(NULL, 0, 10);
	assert_int_equal(access(path, F_OK), 0);
	victim = read_pid("victim.pid");
	assert_int_equal(kill(sup, SIGKILL), 0);
	assert_int_equal(waitpid(sup, NULL, 0), sup);
	assert_true(pid_gone(victim, 2000));
}

static void
proc_calls_on_tick_while_waiting(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct seen		 s;
	char			*argv[4];

	sh_spec(&sp, argv, "sleep 0.5", &s);
	sp.on_tick = on_tick;
	sp.tick_msec = 50;
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXITED);
	print_message("%d ticks in %.2f s\n", s.ticks, res.elapsed);
	assert_true(s.ticks >= 5);
	assert_true(s.ticks <= (int)(res.elapsed * 20) + 2);
}

static void
proc_runs_as_another_user(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct proc_user	 u;
	struct errbuf		 eb = { 0 };
	struct seen		 s;
	char			*argv[4], want[32];

	if (geteuid() != 0) {
		print_message("not root: runas not tested\n");
		skip();
	}
#ifdef HOOKD_COVERAGE
	/*
	 * libgcov writes its counters before execve(), here as nobody, who
	 * cannot: its complaints would be lines of the hook's output.
	 */
	print_message("gcov build: runas not tested\n");
	skip();
#endif
	assert_int_equal(proc_user_lookup("nobody", &u, &eb), 0);
	assert_string_equal(u.name, "nobody");
	assert_true(u.ngroups >= 1);

	sh_spec(&sp, argv, "id -u; id -g; id -G", &s);
	sp.cwd = "/";
	sp.user = &u;
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXITED);
	assert_int_equal(res.status, 0);
	assert_int_equal(s.n, 3);
	snprintf(want, sizeof(want), "%u", (unsigned)u.uid);
	assert_string_equal(s.line[0], want);
	snprintf(want, sizeof(want), "%u", (unsigned)u.gid);
	assert_string_equal(s.line[1], want);
	/* root's supplementary groups are gone. */
	assert_null(strstr(s.line[2], " 0"));
	assert_true(strncmp(s.line[2], "0", 1) != 0);

	/* A cwd the user cannot enter is a clear chdir failure. */
	sh_spec(&sp, argv, "true", &s);
	assert_int_equal(chmod(tmpdir, 0700), 0);
	sp.user = &u;
	run_ok(&sp, &res);
	assert_int_equal(res.outcome, PROC_EXECFAILED);
	assert_int_equal(res.exec_step, PROC_STEP_CHDIR);
	assert_int_equal(res.status, EACCES);
	proc_user_release(&u);
	proc_user_release(&u);	/* safe twice: zeroed */
}

static void
proc_limits_processes_of_a_runas_user(void **state)
{
	struct proc_spec	 sp;
	struct proc_result	 res;
	struct proc_user	 u;
	struct errbuf		 eb = { 0 };
	struct seen		 s;
	char			*argv[4];
	bool			 all = false;

	if (geteuid() != 0) {
		print_message("not root: max_procs not tested\n");
		skip();
	}
	assert_int_equal(proc_user_lookup("nobody", &u, &eb), 0);
	sh_spec(&sp, argv, "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do"
	    " sleep 5 & done; echo all-started", &s);
	sp.cwd = "/";
	sp.user = &u;
	sp.max_procs = 5;
	run_ok(&sp, &res);
	for (int i = 0; i < s.n && i < MAXLINES; i++)
		if (strcmp(s.line[i], "all-started") == 0)
			all = true;
	print_message("fork bomb: %s\n", res.tail);
	assert_false(all);
	/* Other processes of nobody's may make execve itself fail. */
	if (res.outcome == PROC_EXECFAILED)
		assert_int_equal(res.status, EAGAIN);
	else {
		assert_int_equal(res.outcome, PROC_EXITED);
		assert_int_not_equal(res.status, 0);
	}
	/* The sleeps that did start are a leftover of a failed hook. */
	(void)kill(-res.pgid, SIGKILL);
	for (int64_t t = mono_ms() + 2000; mono_ms() < t;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			continue;
		if (kill(-res.pgid, 0) == -1 && errno == ESRCH)
			break;
		(void)poll(NULL, 0, 20);
	}
	assert_true(kill(-res.pgid, 0) == -1 && errno == ESRCH);
	proc_user_release(&u);
}

static void
proc_user_lookup_rejects_an_unknown_user(void **state)
{
	struct proc_user	 u;
	struct errbuf		 eb = { 0 };

	memset(&u, 0xa5, sizeof(u));
	assert_int_equal(proc_user_lookup("no-such-user-hookd", &u, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_string_equal(eb.msg, "unknown user 'no-such-user-hookd'");
	/* Not written on failure. */
	assert_int_equal(u.ngroups, (int)0xa5a5a5a5);

	errbuf_clear(&eb);
	assert_int_equal(proc_user_lookup("", &u, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
}

static void
proc_run_without_a_path_is_a_bug(void **state)
{
	struct proc_spec	 sp = { 0 };
	struct proc_result	 res;
	struct errbuf		 eb = { 0 };

	assert_int_equal(proc_run(&sp, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_BUG);
}

static void
proc_describes_each_outcome(void **state)
{
	struct proc_result	 r;
	char			 small[8];

	memset(&r, 0, sizeof(r));
	r.outcome = PROC_EXITED;
	r.status = 3;
	assert_describes(&r, NULL, "exited 3");
	r.outcome = PROC_SIGNALED;
	r.status = SIGTERM;
	assert_describes(&r, NULL, "killed by signal 15 (SIGTERM)");
	r.outcome = PROC_TIMEDOUT;
	r.timeout_sec = 5;
	assert_describes(&r, NULL, "timed out after 5 s");
	r.outcome = PROC_EXECFAILED;
	r.status = EACCES;
	r.exec_step = PROC_STEP_EXEC;
	assert_describes(&r, "scripts/x.sh",
	    "cannot execute 'scripts/x.sh': Permission denied");
	assert_describes(&r, NULL, "cannot execute 'hook': Permission denied");
	r.exec_step = PROC_STEP_SETUID;
	r.status = EPERM;
	assert_describes(&r, "x", "cannot execute 'x': setresuid: "
	    "Operation not permitted");
	r.outcome = PROC_STOPPED;
	assert_describes(&r, NULL, "stopped by hookd shutdown");
	/* Truncated, still NUL-ended. */
	proc_result_describe(&r, NULL, small, sizeof(small));
	assert_string_equal(small, "stopped");
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
setup(void **state)
{
	const char	*t;
	int		 n;

	if ((t = secure_getenv("TMPDIR")) == NULL || *t == '\0')
		t = "/tmp";
	n = snprintf(tmpdir, sizeof(tmpdir), "%s/test_proc.XXXXXX", t);
	if (n < 0 || (size_t)n >= sizeof(tmpdir) || mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	return nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(proc_reports_the_exit_status),
		cmocka_unit_test(proc_reports_the_killing_signal),
		cmocka_unit_test(proc_timeout_kills_the_whole_group),
		cmocka_unit_test(
		    proc_timeout_does_not_wait_the_grace_for_zombies),
		cmocka_unit_test(proc_sigkills_a_hook_that_ignores_sigterm),
		cmocka_unit_test(proc_captures_and_tags_stdout_and_stderr),
		cmocka_unit_test(proc_splits_overlong_lines),
		cmocka_unit_test(proc_keeps_memory_flat_and_the_tail_right),
		cmocka_unit_test(
		    proc_does_not_hang_on_a_pipe_held_by_a_leftover),
		cmocka_unit_test(proc_reports_exec_failures_with_errno),
		cmocka_unit_test(proc_child_starts_with_default_signals),
		cmocka_unit_test(proc_restores_the_callers_signal_state),
		cmocka_unit_test(proc_passes_exactly_the_given_environment),
		cmocka_unit_test(proc_runs_in_the_given_directory),
		cmocka_unit_test(proc_stop_request_kills_the_group),
		cmocka_unit_test(
		    proc_stop_after_the_hook_exited_only_ends_the_drain),
		cmocka_unit_test(proc_stop_works_from_a_signal_handler),
		cmocka_unit_test(proc_waits_for_a_hook_that_closed_its_output),
		cmocka_unit_test(proc_timeout_also_ends_a_stopped_hook),
		cmocka_unit_test(proc_hook_dies_with_its_supervisor),
		cmocka_unit_test(proc_calls_on_tick_while_waiting),
		cmocka_unit_test(proc_runs_as_another_user),
		cmocka_unit_test(proc_limits_processes_of_a_runas_user),
		cmocka_unit_test(proc_user_lookup_rejects_an_unknown_user),
		cmocka_unit_test(proc_run_without_a_path_is_a_bug),
		cmocka_unit_test(proc_describes_each_outcome),
	};

	/*
	 * Orphans of the hooks come to us, so "is it gone" can be checked
	 * with kill(2) even where PID 1 does not reap.
	 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
