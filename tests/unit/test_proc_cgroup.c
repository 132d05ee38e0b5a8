/* SPDX-License-Identifier: ISC */
/*
 * test_proc_cgroup.c: lib/cgroup.c through proc_run(): a hook in a
 * cgroup of its own with pids.max, a timeout that also kills what left
 * the process group with setsid, a hook that exits leaving a server, and
 * the refusals of cgroup_hooks_setup().  The tests that need a cgroup make
 * a scratch one under the cgroup v2 root (when it offers pids) or the v1
 * pids hierarchy, and skip when neither is writable (not root).
 */
#include "compat.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
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

#include "cgroup.h"
#include "errbuf.h"
#include "proc.h"
#include "xalloc.h"

#include "banned.h"

static char	 base[512];	/* the scratch cgroup, "" when none */
static char	 tmpdir[64];

/* The first writable place for a scratch pids cgroup, or false. */
static bool
find_pids_root(char *buf, size_t len)
{
	char	 line[1024], mnt[256], fstype[32], opts[256], ctl[256];
	FILE	*fp;
	bool	 found = false;
	int	 fd;
	ssize_t	 n;

	if ((fp = fopen("/proc/self/mountinfo", "re")) == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), fp) != NULL) {
		char	*dash = strstr(line, " - ");

		if (dash == NULL || sscanf(line, "%*s %*s %*s %*s %255s",
		    mnt) != 1 || sscanf(dash + 3, "%31s %*s %255s", fstype,
		    opts) != 2)
			continue;
		if (strcmp(fstype, "cgroup2") == 0) {
			(void)snprintf(buf, len, "%s/cgroup.controllers", mnt);
			if ((fd = open(buf, O_RDONLY | O_CLOEXEC)) == -1)
				continue;
			n = read(fd, ctl, sizeof(ctl) - 1);
			close(fd);
			ctl[n > 0 ? n : 0] = '\0';
			if (strstr(ctl, "pids") == NULL)
				continue;
			(void)snprintf(buf, len, "%s/cgroup.subtree_control",
			    mnt);
			if ((fd = open(buf, O_WRONLY | O_CLOEXEC)) == -1)
				continue;
			n = write(fd, "+pids", 5);
			close(fd);
			if (n != 5)
				continue;
			(void)strlcpy(buf, mnt, len);
			found = true;
		} else if (strcmp(fstype, "cgroup") == 0 &&
		    (strstr(opts, ",pids") != NULL ||
		    strncmp(opts, "pids", 4) == 0)) {
			(void)strlcpy(buf, mnt, len);
			found = true;
		}
	}
	fclose(fp);
	return found;
}

static int
setup(void **state)
{
	char	 root[300];

	(void)state;
	(void)strlcpy(tmpdir, "/tmp/hookd-test-cg.XXXXXX", sizeof(tmpdir));
	assert_non_null(mkdtemp(tmpdir));
	/* Orphans of killed hooks come to us: see test_proc.c. */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	base[0] = '\0';
	if (geteuid() != 0 || !find_pids_root(root, sizeof(root)))
		return 0;
	(void)snprintf(base, sizeof(base), "%s/hookd-unit-%ld", root,
	    (long)getpid());
	if (mkdir(base, 0755) == -1 && errno != EEXIST)
		base[0] = '\0';
	return 0;
}

static int
teardown(void **state)
{
	char	 cmd[700];

	(void)state;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		continue;
	if (base[0] != '\0') {
		struct errbuf	 eb = { 0 };

		/* A setup sweeps the emptied hook-* cgroups first. */
		(void)cgroup_hooks_setup(base, 16, &eb);
		cgroup_hooks_reset();
		(void)rmdir(base);
	}
	cgroup_hooks_reset();
	(void)snprintf(cmd, sizeof(cmd), "%s/pid", tmpdir);
	(void)unlink(cmd);
	(void)rmdir(tmpdir);
	return 0;
}

static pid_t
read_pid(void)
{
	char	 path[128], buf[32];
	ssize_t	 n;
	int	 fd;

	(void)snprintf(path, sizeof(path), "%s/pid", tmpdir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return (pid_t)strtol(buf, NULL, 10);
}

/* bash: it retries a failed fork where dash gives up and exits. */
static void
run_sh(const char *script, unsigned timeout, struct proc_result *res)
{
	struct proc_spec	 sp = { 0 };
	struct errbuf		 eb = { 0 };
	char			*argv[4];

	argv[0] = (char *)(uintptr_t)"/bin/bash";
	argv[1] = (char *)(uintptr_t)"-c";
	argv[2] = (char *)(uintptr_t)script;
	argv[3] = NULL;
	sp.path = "/bin/bash";
	sp.argv = argv;
	sp.cwd = tmpdir;
	sp.timeout_sec = timeout;
	sp.kill_grace_sec = 1;
	sp.drain_msec = 200;
	assert_int_equal(proc_run(&sp, res, &eb), 0);
}

/* Wait up to 5 s for pid to be gone (reaping our orphans). */
static bool
gone_soon(pid_t pid)
{
	for (int i = 0; i < 100; i++) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			continue;
		if (!proc_pid_alive(pid, 0))
			return true;
		(void)poll(NULL, 0, 50);
	}
	return false;
}

static void
setup_refuses_what_is_not_a_cgroup(void **state)
{
	struct errbuf	 eb = { 0 };

	(void)state;
	assert_int_equal(cgroup_hooks_setup(tmpdir, 64, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_non_null(strstr(eb.msg, "is not a cgroup directory"));
	assert_false(cgroup_hooks_enabled());
	assert_int_equal(cgroup_hooks_setup("/nonexistent/x", 64, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_int_equal(cgroup_hooks_setup(NULL, 0, &eb), -1);
	assert_int_equal(eb.kind, EK_BUG);
}

static void
hook_is_bounded_and_its_escapees_killed(void **state)
{
	struct proc_result	 res;
	struct errbuf		 eb = { 0 };
	char			*script;
	pid_t			 esc;

	(void)state;
	if (base[0] == '\0')
		skip();
	assert_int_equal(cgroup_hooks_setup(base, 16, &eb), 0);
	assert_true(cgroup_hooks_enabled());
	assert_non_null(strstr(cgroup_hooks_describe(), "pids.max 16"));
	/*
	 * 40 background sleeps against a limit of 16: bash's forks fail
	 * and it retries until the timeout; one child left the group.
	 */
	script = xasprintf("setsid sleep 300 </dev/null >/dev/null 2>&1 & "
	    "echo $! > %s/pid; i=0; while [ $i -lt 40 ]; do sleep 300 & "
	    "i=$((i+1)); done; sleep 300", tmpdir);
	run_sh(script, 2, &res);
	free(script);
	assert_int_equal(res.outcome, PROC_TIMEDOUT);
	assert_non_null(strstr(res.tail, "fork"));
	assert_true((esc = read_pid()) > 0);
	assert_true(gone_soon(esc));
}

static void
hook_that_exits_leaves_its_server_running(void **state)
{
	struct proc_result	 res;
	struct errbuf		 eb = { 0 };
	char			*script;
	pid_t			 srv;

	(void)state;
	if (base[0] == '\0')
		skip();
	assert_int_equal(cgroup_hooks_setup(base, 16, &eb), 0);
	script = xasprintf("setsid sleep 300 </dev/null >/dev/null 2>&1 & "
	    "echo $! > %s/pid", tmpdir);
	run_sh(script, 10, &res);
	free(script);
	assert_int_equal(res.outcome, PROC_EXITED);
	assert_int_equal(res.status, 0);
	assert_true((srv = read_pid()) > 0);
	assert_true(proc_pid_alive(srv, 0));
	(void)kill(srv, SIGKILL);
	assert_true(gone_soon(srv));
	/* Its emptied cgroup goes at the next setup. */
	assert_int_equal(cgroup_hooks_setup(base, 16, &eb), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(setup_refuses_what_is_not_a_cgroup),
		T(hook_is_bounded_and_its_escapees_killed),
		T(hook_that_exits_leaves_its_server_running),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
