/* SPDX-License-Identifier: ISC */
/*
 * hooks.c: turn an appspec's scripts for one event into proc_run() calls.
 * Each script is executed directly (no shell), with cwd the release
 * directory of its revision and a clean environment:
 *
 *   PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
 *   HOME USER LOGNAME SHELL   of the user it runs as
 *   LANG=C.UTF-8
 *   LIFECYCLE_EVENT DEPLOYMENT_ID APPLICATION_NAME DEPLOYMENT_GROUP_NAME
 *   DEPLOYMENT_GROUP_ID BUNDLE_COMMIT HOOKD_RELEASE_DIR
 *   HOOKD_PREVIOUS_RELEASE_DIR
 *
 * Output lines go to the deployment log as they arrive; proc.c keeps the
 * tail for the failure report.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploylog.h"
#include "errbuf.h"
#include "hooks.h"
#include "proc.h"
#include "xalloc.h"

#include "banned.h"

#define HOOK_PATH_ENV	\
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define HOOK_ENV_MAX	16

struct hook_run {
	const struct hook_ctx	*hc;
	const char		*event;
};

static void
hook_on_line(void *arg, int stream, const char *line, size_t len)
{
	struct hook_run	*hr = arg;

	deploylog_output(hr->hc->log, hr->event,
	    stream == PROC_STDERR ? "stderr" : "stdout", line, len);
}

static void
hook_on_tick(void *arg)
{
	struct hook_run	*hr = arg;

	if (hr->hc->on_tick != NULL)
		hr->hc->on_tick(hr->hc->arg);
}

/* Our own user's name, home and shell, for the environment. */
static void
self_user(char **name, char **home, char **shell)
{
	struct passwd	 pw, *pwp = NULL;
	char		 buf[16384];

	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &pwp) == 0 &&
	    pwp != NULL) {
		*name = xstrdup(pw.pw_name);
		*home = xstrdup(pw.pw_dir);
		*shell = xstrdup(pw.pw_shell[0] != '\0' ? pw.pw_shell :
		    "/bin/sh");
	} else {
		*name = xasprintf("%lu", (unsigned long)geteuid());
		*home = xstrdup("/");
		*shell = xstrdup("/bin/sh");
	}
}

/*
 * Decide who the script runs as.  *ret_user stays zeroed (and *ret_use
 * false) when it runs as hookd's own user.
 */
static int
hook_user(const struct appspec_hook *h, struct proc_user *ret_user,
    bool *ret_use, struct errbuf *eb)
{
	char	*self, *home, *shell;
	int	 same;

	*ret_use = false;
	if (h->sudo || h->runas == NULL) {
		if (h->sudo && geteuid() != 0)
			return errbuf_set(eb, EK_FAILED, "'%s' has sudo: true, "
			    "which needs hookd to run as root", h->location);
		return 0;
	}
	self_user(&self, &home, &shell);
	same = strcmp(self, h->runas) == 0;
	free(self);
	free(home);
	free(shell);
	if (same)
		return 0;
	if (geteuid() != 0)
		return errbuf_set(eb, EK_FAILED, "'%s' has runas '%s', which "
		    "needs hookd to run as root", h->location, h->runas);
	if (proc_user_lookup(h->runas, ret_user, eb) == -1)
		return errbuf_prefix(eb, "'%s': runas: ", h->location);
	*ret_use = true;
	return 0;
}

static int
run_one(const struct hook_ctx *hc, const struct hook_rev *rev,
    enum lc_event ev, const struct appspec_hook *h, struct hook_report *rep,
    struct errbuf *eb)
{
	struct proc_user	 user = { 0 };
	struct proc_spec	 sp = { 0 };
	struct proc_result	*res = NULL;
	struct hook_run		 hr;
	const char		*evname = lc_event_name(ev);
	char			*env[HOOK_ENV_MAX], *path, *uname = NULL;
	char			*home = NULL, *shell = NULL;
	char			*argv[2];
	bool			 use_user;
	size_t			 ne = 0;
	int			 ret = -1;

	memset(env, 0, sizeof(env));
	(void)strlcpy(rep->script, h->location, sizeof(rep->script));
	rep->outcome[0] = rep->tail[0] = '\0';
	path = xasprintf("%s/%s", rev->release_dir, h->location);
	if (hooks_make_executable(path, h->location, eb) == -1)
		goto fail;
	if (hook_user(h, &user, &use_user, eb) == -1)
		goto fail;
	if (use_user) {
		uname = xstrdup(user.name);
		home = xstrdup(user.home != NULL ? user.home : "/");
		shell = xstrdup(user.shell != NULL ? user.shell : "/bin/sh");
	} else
		self_user(&uname, &home, &shell);

	env[ne++] = xstrdup(HOOK_PATH_ENV);
	env[ne++] = xasprintf("HOME=%s", home);
	env[ne++] = xasprintf("USER=%s", uname);
	env[ne++] = xasprintf("LOGNAME=%s", uname);
	env[ne++] = xasprintf("SHELL=%s", shell);
	env[ne++] = xstrdup("LANG=C.UTF-8");
	env[ne++] = xasprintf("LIFECYCLE_EVENT=%s", evname);
	env[ne++] = xasprintf("DEPLOYMENT_ID=%s", hc->deployment_id);
	env[ne++] = xasprintf("APPLICATION_NAME=%s", hc->application);
	env[ne++] = xasprintf("DEPLOYMENT_GROUP_NAME=%s", hc->group);
	env[ne++] = xasprintf("DEPLOYMENT_GROUP_ID=%s",
	    hc->group_id != NULL ? hc->group_id : "");
	env[ne++] = xasprintf("BUNDLE_COMMIT=%s",
	    rev->commit != NULL ? rev->commit : "");
	env[ne++] = xasprintf("HOOKD_RELEASE_DIR=%s", rev->release_dir);
	env[ne++] = xasprintf("HOOKD_PREVIOUS_RELEASE_DIR=%s",
	    rev->previous_dir != NULL ? rev->previous_dir : "");
	env[ne] = NULL;

	argv[0] = path;
	argv[1] = NULL;
	hr.hc = hc;
	hr.event = evname;
	sp.path = path;
	sp.argv = argv;
	sp.envp = env;
	sp.cwd = rev->release_dir;
	sp.user = use_user ? &user : NULL;
	/*
	 * A hook running as an unprivileged user gets a process limit, so a
	 * fork bomb cannot take the host down (root ignores RLIMIT_NPROC).
	 * It counts every process and thread of that user and is inherited
	 * by what the hook starts, hence a generous HOOK_PROCS_MAX.  Root
	 * hooks are bounded by the cgroup proc_run() puts every hook in
	 * when the daemon set one up (cgroup.h, hook_max_procs).
	 */
	if (use_user && user.uid != 0)
		sp.max_procs = HOOK_PROCS_MAX;
	sp.timeout_sec = h->timeout != 0 ? h->timeout : HOOK_TIMEOUT_DEFAULT;
	sp.on_line = hook_on_line;
	sp.on_tick = hook_on_tick;
	sp.tick_msec = hc->tick_msec;
	sp.arg = &hr;

	if (hc->on_script != NULL)
		hc->on_script(hc->arg, ev, h->location);
	deploylog_printf(hc->log, evname, "running '%s' as %s (timeout %u s)",
	    h->location, uname, sp.timeout_sec);
	res = xcalloc(1, sizeof(*res));
	rep->nrun++;
	if (proc_run(&sp, res, eb) == -1) {
		errbuf_prefix(eb, "'%s': ", h->location);
		goto fail;
	}
	proc_result_describe(res, h->location, rep->outcome,
	    sizeof(rep->outcome));
	(void)strlcpy(rep->tail, res->tail, sizeof(rep->tail));
	if (res->pipe_held)
		deploylog_printf(hc->log, evname, "'%s' exited but a process "
		    "it started still holds its output; stopped reading",
		    h->location);
	deploylog_printf(hc->log, evname, "'%s': %s after %.3f s",
	    h->location, rep->outcome, res->elapsed);
	if (res->outcome == PROC_STOPPED)
		rep->stopped = true;
	if (res->outcome != PROC_EXITED || res->status != 0) {
		errbuf_set(eb, EK_FAILED, "%s", rep->outcome);
		goto out;
	}
	ret = 0;
	goto out;
 fail:
	(void)strlcpy(rep->outcome, eb->msg, sizeof(rep->outcome));
	deploylog_printf(hc->log, evname, "%s", eb->msg);
 out:
	for (size_t i = 0; i < ne; i++)
		free(env[i]);
	free(res);
	free(path);
	free(uname);
	free(home);
	free(shell);
	proc_user_release(&user);
	return ret;
}

int
hooks_make_executable(const char *path, const char *name, struct errbuf *eb)
{
	struct stat	 sb;

	if (stat(path, &sb) == -1 || !S_ISREG(sb.st_mode))
		return errbuf_set(eb, EK_FAILED, "'%s' is not a file in the "
		    "release", name);
	/* Execute for whoever may read it: u+x, and g/o+x where g/o+r. */
	if ((sb.st_mode & S_IXUSR) == 0 && chmod(path, (sb.st_mode & 07777) |
	    S_IXUSR | ((sb.st_mode & 0044) >> 2)) == -1)
		return errbuf_errno(eb, EK_FAILED, "cannot make '%s' "
		    "executable", name);
	return 0;
}

int
hooks_run_event(const struct hook_ctx *hc, const struct hook_rev *rev,
    enum lc_event ev, struct hook_report *rep, struct errbuf *eb)
{
	const struct appspec	*as = rev->as;

	memset(rep, 0, sizeof(*rep));
	if (as == NULL)
		return 0;
	for (size_t i = 0; i < as->nhooks[ev]; i++) {
		if (run_one(hc, rev, ev, &as->hooks[ev][i], rep, eb) == -1)
			return -1;
	}
	return 0;
}
