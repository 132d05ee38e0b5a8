/* SPDX-License-Identifier: ISC */
/*
 * test_lifecycle.c: the engine's API as its callers (deploy-local, the
 * daemon, bake) see it: the observer's events in order, the result of a
 * success and of a failure with its rollback, the lock, the sequence
 * rule, recovery with nothing to do, and deployment ids.  The end-to-end
 * behaviour on the host is covered by tests/integration.
 */
#include "compat.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <spawn.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "appspec.h"
#include "digest.h"
#include "errbuf.h"
#include "bundle.h"
#include "fsutil.h"
#include "lifecycle.h"
#include "manifest.h"
#include "names.h"
#include "proc.h"
#include "release.h"
#include "state.h"
#include "xalloc.h"

static char	 tmp[PATH_MAX];

struct seen {
	char	 ev[64][48];
	size_t	 n;
	int	 ticks;
	int	 early_ticks;	/* before the first event started */
};

static int
setup(void **state)
{
	(void)strlcpy(tmp, "/tmp/test_lifecycle.XXXXXX", sizeof(tmp));
	if (mkdtemp(tmp) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	struct errbuf	 eb;

	return fs_rmtree(tmp, &eb);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE	*fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

/* A directory bundle NAME whose ValidateService exits 'rc'. */
static char *
make_bundle(const char *name, int rc)
{
	char	*dir, *p, *text;

	dir = xasprintf("%s/%s", tmp, name);
	assert_int_equal(mkdir(dir, 0755), 0);
	p = xasprintf("%s/scripts", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/appspec.yml", dir);
	write_file(p, "version: 0.0\nos: linux\nhooks:\n"
	    "  ApplicationStart:\n    - location: scripts/ok.sh\n"
	    "  ValidateService:\n    - location: scripts/check.sh\n", 0644);
	free(p);
	p = xasprintf("%s/scripts/ok.sh", dir);
	write_file(p, "#!/bin/sh\nexit 0\n", 0755);
	free(p);
	p = xasprintf("%s/scripts/check.sh", dir);
	text = xasprintf("#!/bin/sh\necho checking %s\nexit %d\n", name, rc);
	write_file(p, text, 0644);	/* no exec bit: hooks.c adds it */
	free(text);
	free(p);
	return dir;
}

static void
on_start(void *arg, enum lc_event ev, bool rollback)
{
	struct seen	*s = arg;

	if (s->n < nitems(s->ev))
		(void)snprintf(s->ev[s->n++], sizeof(s->ev[0]), "start %s%s",
		    lc_event_name(ev), rollback ? " rollback" : "");
}

static void
on_end(void *arg, const struct deploy_event *de)
{
	struct seen	*s = arg;

	if (s->n < nitems(s->ev))
		(void)snprintf(s->ev[s->n++], sizeof(s->ev[0]), "%s %s%s",
		    lc_event_name(de->event),
		    deploy_event_status_name(de->status),
		    de->rollback ? " rollback" : "");
}

static void
on_tick(void *arg)
{
	struct seen	*s = arg;

	s->ticks++;
	if (s->n == 0)
		s->early_ticks++;
}

/* An observer recording into *s. */
static void
observe(struct deploy_observer *obs, struct seen *s)
{
	memset(obs, 0, sizeof(*obs));
	obs->on_event_start = on_start;
	obs->on_event_end = on_end;
	obs->on_tick = on_tick;
	obs->arg = s;
}

static void
spec_for(struct deploy_spec *sp, const char *bundle)
{
	deploy_spec_init(sp);
	sp->root = tmp;
	sp->application = "web";
	sp->group = "test";
	sp->bundle = bundle;
}

static void
lifecycle_reports_events_in_order_and_succeeds(void **unused)
{
	static const char *const want[] = {
		"start ApplicationStop", "ApplicationStop skipped",
		"start DownloadBundle", "DownloadBundle ok",
		"start BeforeInstall", "BeforeInstall skipped",
		"start Install", "Install ok",
		"start AfterInstall", "AfterInstall skipped",
		"start ApplicationStart", "ApplicationStart ok",
		"start ValidateService", "ValidateService ok",
	};
	struct deploy_observer	 obs = { 0 };
	struct deploy_result	 res;
	struct deploy_spec	 sp;
	struct errbuf		 eb = { 0 };
	struct seen		 seen = { 0 };
	char			*b, *cur;

	b = make_bundle("v1", 0);
	spec_for(&sp, b);
	observe(&obs, &seen);
	assert_int_equal(lifecycle_deploy(&sp, &obs, &res, &eb), 0);
	assert_int_equal(res.status, DEPLOY_SUCCEEDED);
	assert_int_equal(res.sequence, 1);
	assert_true(deployment_id_ok(res.deployment_id));
	assert_int_equal(strlen(res.deployment_id), DEPLOYMENT_ID_LEN);
	assert_int_equal(res.failed_event, -1);
	assert_int_equal(seen.n, nitems(want));
	for (size_t i = 0; i < nitems(want); i++)
		assert_string_equal(seen.ev[i], want[i]);
	cur = xasprintf("%s/web/test", tmp);
	{
		char	*t;

		assert_int_equal(release_current(cur, &t, &eb), 0);
		assert_string_equal(t, res.release);
		free(t);
	}
	free(cur);
	deploy_result_release(&res);
	free(b);
}

static void
lifecycle_failure_rolls_back_and_says_why(void **unused)
{
	struct deploy_observer	 obs = { 0 };
	struct deploy_result	 r1, r2;
	struct deploy_spec	 sp;
	struct errbuf		 eb = { 0 };
	struct seen		 seen = { 0 };
	char			*b1, *b2, *g, *t;
	bool			 restarted = false;

	b1 = make_bundle("v1", 0);
	b2 = make_bundle("v2", 3);
	spec_for(&sp, b1);
	assert_int_equal(lifecycle_deploy(&sp, NULL, &r1, &eb), 0);
	assert_int_equal(r1.status, DEPLOY_SUCCEEDED);

	spec_for(&sp, b2);
	sp.commit = "cafe";
	obs.on_event_start = on_start;
	obs.on_event_end = on_end;
	obs.arg = &seen;
	assert_int_equal(lifecycle_deploy(&sp, &obs, &r2, &eb), 0);
	assert_int_equal(r2.status, DEPLOY_FAILED);
	assert_int_equal(r2.sequence, 2);
	assert_int_equal(r2.failed_event, LC_VALIDATE_SERVICE);
	assert_string_equal(r2.script, "scripts/check.sh");
	assert_string_equal(r2.outcome, "exited 3");
	assert_non_null(r2.tail);
	assert_non_null(strstr(r2.tail, "checking v2"));
	assert_string_equal(r2.rolled_back_to, r1.deployment_id);
	assert_null(r2.rollback_error);
	for (size_t i = 0; i < seen.n; i++)
		if (strcmp(seen.ev[i], "ApplicationStart ok rollback") == 0)
			restarted = true;
	assert_true(restarted);
	g = xasprintf("%s/web/test", tmp);
	assert_int_equal(release_current(g, &t, &eb), 0);
	assert_string_equal(t, r1.release);
	free(t);
	free(g);
	deploy_result_release(&r1);
	deploy_result_release(&r2);
	free(b1);
	free(b2);
}

static void
lifecycle_busy_lock_is_a_temporary_error(void **unused)
{
	struct deploy_result	 res;
	struct deploy_spec	 sp;
	struct errbuf		 eb = { 0 };
	char			*b, *lock, *g;
	int			 fd;

	b = make_bundle("v1", 0);
	g = xasprintf("%s/web", tmp);
	assert_int_equal(mkdir(g, 0755), 0);
	free(g);
	g = xasprintf("%s/web/test", tmp);
	assert_int_equal(mkdir(g, 0755), 0);
	lock = xasprintf("%s/.lock", g);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd != -1);
	/* flock locks are per open file: a second open conflicts. */
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	spec_for(&sp, b);
	assert_int_equal(lifecycle_deploy(&sp, NULL, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_TEMP);
	assert_non_null(strstr(eb.msg, "web/test"));
	deploy_result_release(&res);
	assert_int_equal(lifecycle_recover(&sp, NULL, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_TEMP);
	deploy_result_release(&res);
	close(fd);
	free(lock);
	free(g);
	free(b);
}

static void
lifecycle_sequence_must_go_up(void **unused)
{
	struct deploy_result	 res;
	struct deploy_spec	 sp;
	struct errbuf		 eb = { 0 };
	char			*b;

	b = make_bundle("v1", 0);
	spec_for(&sp, b);
	sp.sequence = 5;
	assert_int_equal(lifecycle_deploy(&sp, NULL, &res, &eb), 0);
	assert_int_equal(res.sequence, 5);
	deploy_result_release(&res);
	sp.sequence = 5;	/* a repeat delivery */
	assert_int_equal(lifecycle_deploy(&sp, NULL, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, "already run"));
	deploy_result_release(&res);
	sp.sequence = 4;
	assert_int_equal(lifecycle_deploy(&sp, NULL, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	deploy_result_release(&res);
	sp.sequence = 0;	/* next: 6 */
	assert_int_equal(lifecycle_deploy(&sp, NULL, &res, &eb), 0);
	assert_int_equal(res.sequence, 6);
	deploy_result_release(&res);
	free(b);
}

static void
lifecycle_recover_with_nothing_in_progress(void **unused)
{
	struct deploy_result	 res;
	struct deploy_spec	 sp;
	struct errbuf		 eb = { 0 };

	spec_for(&sp, NULL);
	assert_int_equal(lifecycle_recover(&sp, NULL, &res, &eb), 0);
	assert_int_equal(res.status, DEPLOY_NOTHING);
	assert_null(res.deployment_id);
	deploy_result_release(&res);
}

static void
lifecycle_bad_names_are_refused(void **unused)
{
	struct deploy_result	 res;
	struct deploy_spec	 sp;
	struct errbuf		 eb = { 0 };

	spec_for(&sp, "/nonexistent");
	sp.application = "../etc";
	assert_int_equal(lifecycle_deploy(&sp, NULL, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_USAGE);
	deploy_result_release(&res);
	/* The name and id rules themselves: test_names.c. */
	spec_for(&sp, "/nonexistent");
	sp.group = "-x";
	assert_int_equal(lifecycle_deploy(&sp, NULL, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_USAGE);
	assert_non_null(strstr(eb.msg, "'-x'"));
	deploy_result_release(&res);
}

/*
 * Stop at the first tick once ApplicationStart has begun: on a loaded
 * machine the events before it can outlast a tick.
 */
static void
on_start_arm(void *arg, enum lc_event ev, bool rollback)
{
	if (ev == LC_APPLICATION_START)
		*(bool *)arg = true;
}

static void
on_tick_stop(void *arg)
{
	if (*(bool *)arg)
		proc_request_stop();
}

static void
lifecycle_stop_leaves_it_for_recovery(void **unused)
{
	struct deploy_observer	 obs = { 0 };
	struct deploy_result	 r1, r2, r3;
	struct deploy_spec	 sp;
	struct errbuf		 eb = { 0 };
	char			*b1, *b2, *p, *g, *t;
	bool			 armed = false;

	b1 = make_bundle("v1", 0);
	b2 = make_bundle("v2", 0);
	p = xasprintf("%s/scripts/ok.sh", b2);	/* ApplicationStart */
	write_file(p, "#!/bin/sh\nexec sleep 30\n", 0755);
	free(p);
	spec_for(&sp, b1);
	assert_int_equal(lifecycle_deploy(&sp, NULL, &r1, &eb), 0);
	spec_for(&sp, b2);
	obs.on_event_start = on_start_arm;
	obs.on_tick = on_tick_stop;	/* the daemon's SIGTERM, in effect */
	obs.arg = &armed;
	obs.tick_msec = 20;
	assert_int_equal(lifecycle_deploy(&sp, &obs, &r2, &eb), 0);
	assert_int_equal(r2.status, DEPLOY_INTERRUPTED);
	assert_int_equal(r2.failed_event, LC_APPLICATION_START);
	proc_stop_clear();

	spec_for(&sp, NULL);
	assert_int_equal(lifecycle_recover(&sp, NULL, &r3, &eb), 0);
	assert_int_equal(r3.status, DEPLOY_RECOVERED);
	assert_string_equal(r3.deployment_id, r2.deployment_id);
	assert_string_equal(r3.rolled_back_to, r1.deployment_id);
	g = xasprintf("%s/web/test", tmp);
	assert_int_equal(release_current(g, &t, &eb), 0);
	assert_string_equal(t, r1.release);
	free(t);
	free(g);
	deploy_result_release(&r1);
	deploy_result_release(&r2);
	deploy_result_release(&r3);
	free(b1);
	free(b2);
}

static void
lifecycle_ticks_while_the_bundle_is_extracted(void **unused)
{
	struct deploy_observer	 obs = { 0 };
	struct deploy_result	 res;
	struct deploy_spec	 sp;
	struct errbuf		 eb = { 0 };
	struct seen		 seen = { 0 };
	char			*b, *p;

	/*
	 * Extraction (prepare) runs before the first event: ticks counted
	 * before any on_event_start come from it.  2000 files take far
	 * longer than the 1 ms period.
	 */
	b = make_bundle("big", 0);
	p = xasprintf("%s/data", b);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	for (int i = 0; i < 2000; i++) {
		p = xasprintf("%s/data/%04d", b, i);
		write_file(p, "x\n", 0644);
		free(p);
	}
	spec_for(&sp, b);
	observe(&obs, &seen);
	obs.tick_msec = 1;
	assert_int_equal(lifecycle_deploy(&sp, &obs, &res, &eb), 0);
	assert_int_equal(res.status, DEPLOY_SUCCEEDED);
	assert_true(seen.early_ticks > 0);
	assert_null(res.reused);	/* a directory bundle has no sha256 */
	deploy_result_release(&res);
	free(b);
}

extern char	**environ;

/* tar(1) the directory bundle at dir into dir.tar (new string). */
static char *
make_tar(const char *dir)
{
	char	 tar[] = "tar", c[] = "-C", cf[] = "-cf", dot[] = ".";
	char	*out, *d, *argv[7];
	pid_t	 pid;
	int	 st;

	out = xasprintf("%s.tar", dir);
	d = xstrdup(dir);
	argv[0] = tar;
	argv[1] = c;
	argv[2] = d;
	argv[3] = cf;
	argv[4] = out;
	argv[5] = dot;
	argv[6] = NULL;
	assert_int_equal(posix_spawnp(&pid, "tar", NULL, NULL, argv, environ),
	    0);
	free(d);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return out;
}

/* The names in GDIR/releases (hidden ones too), as one string. */
static char *
releases_listing(void)
{
	struct dirent	*de;
	DIR		*d;
	char		*dir, *out = xstrdup(""), *t;

	dir = xasprintf("%s/web/test/releases", tmp);
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		t = xasprintf("%s%s ", out, de->d_name);
		free(out);
		out = t;
	}
	closedir(d);
	free(dir);
	return out;
}

static void
load_state(struct state *st)
{
	struct errbuf	 eb = { 0 };
	char		*p = xasprintf("%s/web/test/state.json", tmp);

	state_init(st);
	if (state_load(p, st, &eb) == -1)
		fail_msg("%s", eb.msg);
	free(p);
}

/*
 * The bundle is hashed as it is extracted: the wrong one is refused in
 * DownloadBundle with nothing left behind and nothing recorded (the
 * state is as before, its sequence too); the right one deploys and
 * leaves a manifest for reuse.
 */
static void
lifecycle_verifies_the_digest_in_the_extraction(void **unused)
{
	static const char wrong[] = "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef";
	struct deploy_result	 res;
	struct deploy_spec	 sp;
	struct errbuf		 eb = { 0 };
	struct state		 st;
	char			*b, *tar, hex[65], *l;

	b = make_bundle("v1", 0);
	tar = make_tar(b);
	assert_int_equal(digest_sha256_file(tar, hex, &eb), 0);
	spec_for(&sp, tar);
	sp.sha256 = wrong;
	assert_int_equal(lifecycle_deploy(&sp, NULL, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, "has sha256"));
	assert_int_equal(res.failed_event, LC_DOWNLOAD_BUNDLE);
	deploy_result_release(&res);
	l = releases_listing();
	assert_string_equal(l, "");
	free(l);
	load_state(&st);
	assert_int_equal(st.in_progress.rev.sequence, 0);
	assert_int_equal(st.last_sequence, 0);
	assert_int_equal(st.nhistory, 0);
	state_release(&st);

	sp.sha256 = hex;
	assert_int_equal(lifecycle_deploy(&sp, NULL, &res, &eb), 0);
	assert_int_equal(res.status, DEPLOY_SUCCEEDED);
	assert_int_equal(res.sequence, 1);
	l = releases_listing();
	assert_non_null(strstr(l, MANIFEST_PREFIX));
	free(l);
	load_state(&st);
	assert_string_equal(st.current.sha256, hex);
	state_release(&st);
	deploy_result_release(&res);
	free(tar);
	free(b);
}

static void
on_tick_die(void *arg)
{
	_exit(9);
}

/*
 * A deployment killed in DownloadBundle has its in_progress recorded
 * before its release could appear: the next run records it Interrupted
 * and removes what it left (its release, had the kill come after the
 * rename, and the manifest).
 */
static void
lifecycle_recovers_a_kill_in_download_bundle(void **unused)
{
	struct deploy_observer	 obs = { 0 };
	struct deploy_result	 r1, r3;
	struct deploy_spec	 sp;
	struct errbuf		 eb = { 0 };
	struct state		 st;
	char			*b1, *b2, *p, *rel, *l, *orphan;
	pid_t			 pid;
	int			 status;

	b1 = make_bundle("v1", 0);
	b2 = make_bundle("v2", 0);
	p = xasprintf("%s/data", b2);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	for (int i = 0; i < 500; i++) {
		p = xasprintf("%s/data/%04d", b2, i);
		write_file(p, "x\n", 0644);
		free(p);
	}
	spec_for(&sp, b1);
	assert_int_equal(lifecycle_deploy(&sp, NULL, &r1, &eb), 0);

	/* The kill -9, in effect: the process ends during the extraction. */
	if ((pid = fork()) == 0) {
		struct deploy_result	 r2;

		spec_for(&sp, b2);
		obs.on_tick = on_tick_die;
		obs.tick_msec = 1;
		(void)lifecycle_deploy(&sp, &obs, &r2, &eb);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 9);
	load_state(&st);
	assert_string_equal(st.in_progress.phase, "DownloadBundle");
	assert_int_equal(st.in_progress.rev.sequence, 2);
	assert_int_equal(st.last_sequence, 2);
	/* As if the kill had come just after the rename into place. */
	rel = xasprintf("%s/web/test/%s", tmp, st.in_progress.rev.release);
	assert_int_equal(mkdir(rel, 0755), 0);
	orphan = xstrdup(strrchr(rel, '/') + 1);
	p = xasprintf("%s/web/test/releases/%s%s", tmp, MANIFEST_PREFIX,
	    orphan);
	write_file(p, "", 0644);
	free(p);
	state_release(&st);

	spec_for(&sp, NULL);
	assert_int_equal(lifecycle_recover(&sp, NULL, &r3, &eb), 0);
	assert_int_equal(r3.status, DEPLOY_RECOVERED);
	assert_int_equal(access(rel, F_OK), -1);
	l = releases_listing();
	assert_null(strstr(l, orphan));
	assert_null(strstr(l, ".tmp-"));
	free(l);
	load_state(&st);
	assert_int_equal(st.in_progress.rev.sequence, 0);
	assert_int_equal(st.nhistory, 2);
	assert_string_equal(st.history[0].deployment_id, r3.deployment_id);
	assert_string_equal(st.history[0].status, "Interrupted");
	assert_string_equal(st.history[0].event, "DownloadBundle");
	assert_string_equal(st.current.deployment_id, r1.deployment_id);
	state_release(&st);
	deploy_result_release(&r1);
	deploy_result_release(&r3);
	free(rel);
	free(orphan);
	free(b1);
	free(b2);
}

/* A load balancer the engine drives through struct deploy_traffic. */
struct fake_lb {
	bool	 in;		/* taking traffic */
	int	 blocks, allows;
	bool	 fail_allow;	/* the next allow fails (never healthy) */
	char	 lines[8][64];
	size_t	 nlines;
};

static int
fake_block(void *arg, void (*say)(void *, const char *), void *sarg,
    struct errbuf *eb)
{
	struct fake_lb	*lb = arg;

	lb->blocks++;
	lb->in = false;
	say(sarg, "HAProxy web/web1: DRAIN, 0 sessions");
	return 0;
}

static int
fake_allow(void *arg, void (*say)(void *, const char *), void *sarg,
    struct errbuf *eb)
{
	struct fake_lb	*lb = arg;

	lb->allows++;
	say(sarg, "HAProxy web/web1: UP");
	if (lb->fail_allow) {
		lb->fail_allow = false;
		return errbuf_set(eb, EK_TEMP, "AllowTraffic: HAProxy "
		    "web/web1: still DOWN after 2 s (check L7STS: HTTP status "
		    "500)");
	}
	lb->in = true;
	return 0;
}

static void
on_traffic(void *arg, enum lc_event ev, const char *line)
{
	struct fake_lb	*lb = arg;

	if (lb->nlines < nitems(lb->lines))
		(void)snprintf(lb->lines[lb->nlines++], sizeof(lb->lines[0]),
		    "%s %s", lc_event_name(ev), line);
}

static size_t
seen_index(const struct seen *s, const char *what)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->ev[i], what) == 0)
			return i;
	fail_msg("no '%s' among the events", what);
	return 0;
}

static void
lifecycle_blocks_and_allows_traffic_around_the_deployment(void **unused)
{
	struct fake_lb		 lb = { .in = true };
	struct deploy_traffic	 dt = { fake_block, fake_allow, &lb };
	struct deploy_observer	 obs = { 0 };
	struct deploy_result	 r1, r2;
	struct deploy_spec	 sp;
	struct errbuf		 eb = { 0 };
	struct seen		 seen = { 0 };
	char			*b1, *b2;

	b1 = make_bundle("v1", 0);
	b2 = make_bundle("v2", 0);
	spec_for(&sp, b1);
	sp.traffic = &dt;
	observe(&obs, &seen);
	/* First install: nothing to block; allowed once healthy. */
	assert_int_equal(lifecycle_deploy(&sp, &obs, &r1, &eb), 0);
	assert_int_equal(r1.status, DEPLOY_SUCCEEDED);
	assert_int_equal(lb.blocks, 0);
	assert_int_equal(lb.allows, 1);
	assert_true(seen_index(&seen, "BlockTraffic skipped") <
	    seen_index(&seen, "ApplicationStop skipped"));
	assert_true(seen_index(&seen, "ValidateService ok") <
	    seen_index(&seen, "AllowTraffic ok"));

	memset(&seen, 0, sizeof(seen));
	spec_for(&sp, b2);
	sp.traffic = &dt;
	obs.on_traffic = on_traffic;
	obs.arg = &seen;
	/* on_traffic gets the LB's lines; the other callbacks 'seen'. */
	{
		struct deploy_observer	 o2 = obs;

		o2.on_traffic = NULL;
		assert_int_equal(lifecycle_deploy(&sp, &o2, &r2, &eb), 0);
	}
	assert_int_equal(r2.status, DEPLOY_SUCCEEDED);
	assert_int_equal(lb.blocks, 1);
	assert_int_equal(lb.allows, 2);
	assert_true(lb.in);
	/* CodeDeploy's 13 events, in order. */
	assert_true(seen_index(&seen, "BeforeBlockTraffic skipped") <
	    seen_index(&seen, "BlockTraffic ok"));
	assert_true(seen_index(&seen, "BlockTraffic ok") <
	    seen_index(&seen, "AfterBlockTraffic skipped"));
	assert_true(seen_index(&seen, "AfterBlockTraffic skipped") <
	    seen_index(&seen, "start ApplicationStop"));
	assert_true(seen_index(&seen, "ValidateService ok") <
	    seen_index(&seen, "BeforeAllowTraffic skipped"));
	assert_true(seen_index(&seen, "BeforeAllowTraffic skipped") <
	    seen_index(&seen, "AllowTraffic ok"));
	assert_true(seen_index(&seen, "AllowTraffic ok") <
	    seen_index(&seen, "AfterAllowTraffic skipped"));
	deploy_result_release(&r1);
	deploy_result_release(&r2);
	free(b1);
	free(b2);
}

static void
lifecycle_failure_puts_the_old_release_back_in_traffic(void **unused)
{
	struct fake_lb		 lb = { .in = true };
	struct deploy_traffic	 dt = { fake_block, fake_allow, &lb };
	struct deploy_observer	 obs = { 0 };
	struct deploy_result	 r1, r2, r3;
	struct deploy_spec	 sp;
	struct errbuf		 eb = { 0 };
	struct seen		 seen = { 0 };
	struct state		 st;
	char			*b1, *b2, *b3, *path;

	b1 = make_bundle("v1", 0);
	b2 = make_bundle("v2", 3);
	b3 = make_bundle("v3", 0);
	spec_for(&sp, b1);
	sp.traffic = &dt;
	assert_int_equal(lifecycle_deploy(&sp, NULL, &r1, &eb), 0);

	/* ValidateService fails: restarted, then back in traffic. */
	spec_for(&sp, b2);
	sp.traffic = &dt;
	observe(&obs, &seen);
	assert_int_equal(lifecycle_deploy(&sp, &obs, &r2, &eb), 0);
	assert_int_equal(r2.status, DEPLOY_FAILED);
	assert_int_equal(r2.failed_event, LC_VALIDATE_SERVICE);
	assert_null(r2.rollback_error);
	assert_int_equal(lb.blocks, 1);
	assert_int_equal(lb.allows, 2);
	assert_true(lb.in);
	assert_true(seen_index(&seen, "ApplicationStart ok rollback") <
	    seen_index(&seen, "AllowTraffic ok rollback"));

	/* AllowTraffic fails: the old release is put back, and in. */
	spec_for(&sp, b3);
	sp.traffic = &dt;
	lb.fail_allow = true;
	assert_int_equal(lifecycle_deploy(&sp, NULL, &r3, &eb), 0);
	assert_int_equal(r3.status, DEPLOY_FAILED);
	assert_int_equal(r3.failed_event, LC_ALLOW_TRAFFIC);
	assert_non_null(strstr(r3.outcome, "still DOWN after 2 s (check "
	    "L7STS: HTTP status 500)"));
	assert_string_equal(r3.rolled_back_to, r1.deployment_id);
	assert_int_equal(lb.allows, 4);
	assert_true(lb.in);
	path = xasprintf("%s/web/test/state.json", tmp);
	state_init(&st);
	assert_int_equal(state_load(path, &st, &eb), 0);
	assert_string_equal(st.history[0].event, "AllowTraffic");
	assert_null(st.in_progress.traffic);
	state_release(&st);
	free(path);
	deploy_result_release(&r1);
	deploy_result_release(&r2);
	deploy_result_release(&r3);
	free(b1);
	free(b2);
	free(b3);
}

static void
lifecycle_recovery_puts_a_drained_host_back(void **unused)
{
	struct fake_lb		 lb = { .in = false };
	struct deploy_traffic	 dt = { fake_block, fake_allow, &lb };
	struct deploy_observer	 obs = { 0 };
	struct deploy_result	 r1, r2;
	struct deploy_spec	 sp;
	struct errbuf		 eb = { 0 };
	struct state		 st;
	char			*b1, *path;

	b1 = make_bundle("v1", 0);
	spec_for(&sp, b1);
	assert_int_equal(lifecycle_deploy(&sp, NULL, &r1, &eb), 0);
	/* As a kill -9 during BlockTraffic of deployment 2 leaves it. */
	path = xasprintf("%s/web/test/state.json", tmp);
	state_init(&st);
	assert_int_equal(state_load(path, &st, &eb), 0);
	st.in_progress.rev.sequence = 2;
	st.in_progress.rev.deployment_id = xstrdup("d-BBBBBBBBB");
	st.in_progress.rev.release = xstrdup("releases/2-d-BBBBBBBBB");
	st.in_progress.phase = xstrdup("BlockTraffic");
	st.in_progress.traffic = xstrdup("out");
	st.last_sequence = 2;
	assert_int_equal(state_save(&st, path, true, &eb), 0);
	state_release(&st);

	spec_for(&sp, NULL);
	sp.traffic = &dt;
	obs.on_traffic = on_traffic;
	obs.arg = &lb;
	assert_int_equal(lifecycle_recover(&sp, &obs, &r2, &eb), 0);
	assert_int_equal(r2.status, DEPLOY_RECOVERED);
	assert_null(r2.rollback_error);
	assert_int_equal(lb.allows, 1);
	assert_true(lb.in);
	assert_string_equal(lb.lines[0], "AllowTraffic HAProxy web/web1: UP");
	state_init(&st);
	assert_int_equal(state_load(path, &st, &eb), 0);
	assert_int_equal(st.in_progress.rev.sequence, 0);
	assert_string_equal(st.history[0].status, "Interrupted");
	state_release(&st);

	/* Without traffic control, the record says it may still be out. */
	state_init(&st);
	assert_int_equal(state_load(path, &st, &eb), 0);
	st.in_progress.rev.sequence = 3;
	st.in_progress.rev.deployment_id = xstrdup("d-CCCCCCCCC");
	st.in_progress.rev.release = xstrdup("releases/3-d-CCCCCCCCC");
	st.in_progress.traffic = xstrdup("out");
	st.last_sequence = 3;
	assert_int_equal(state_save(&st, path, true, &eb), 0);
	state_release(&st);
	deploy_result_release(&r2);
	spec_for(&sp, NULL);
	assert_int_equal(lifecycle_recover(&sp, NULL, &r2, &eb), 0);
	assert_non_null(r2.rollback_error);
	assert_non_null(strstr(r2.rollback_error, "out of its load "
	    "balancers"));
	free(path);
	deploy_result_release(&r1);
	deploy_result_release(&r2);
	free(b1);
}

/* The warnings DownloadBundle's end carries, counted into *arg. */
static void
on_end_warnings(void *arg, const struct deploy_event *de)
{
	size_t	*n = arg;

	if (de->event == LC_DOWNLOAD_BUNDLE) {
		*n += de->nwarnings;
		if (de->nwarnings > 0)
			assert_non_null(strstr(de->warnings[0],
			    "hooks.AfterInstal: unknown lifecycle event"));
	} else
		assert_int_equal(de->nwarnings, 0);
}

/*
 * A bundle with appspec warnings deploys (CodeDeploy would run it); each
 * warning is in its log and reaches the observer; strict refuses it
 * before anything changes.
 */
static void
lifecycle_runs_a_bundle_with_warnings_and_says_so(void **unused)
{
	struct deploy_observer	 obs = { 0 };
	struct deploy_result	 res;
	struct deploy_spec	 sp;
	struct errbuf		 eb = { 0 };
	size_t			 nwarn = 0;
	char			*b, *p, *log, *text;

	b = make_bundle("warned", 0);
	p = xasprintf("%s/appspec.yml", b);
	write_file(p, "version: 0.0\nos: linux\nhooks:\n"
	    "  ApplicationStart:\n    - location: scripts/ok.sh\n"
	    "  AfterInstal:\n    - location: scripts/ok.sh\n", 0644);
	free(p);

	spec_for(&sp, b);
	sp.strict = true;
	deploy_result_init(&res);
	assert_int_equal(lifecycle_deploy(&sp, &obs, &res, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, "strict"));
	assert_non_null(strstr(eb.msg, "AfterInstal"));
	assert_int_equal(res.failed_event, LC_DOWNLOAD_BUNDLE);
	p = xasprintf("%s/web/test/current", tmp);
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	deploy_result_release(&res);

	spec_for(&sp, b);
	obs.on_event_end = on_end_warnings;
	obs.arg = &nwarn;
	assert_int_equal(lifecycle_deploy(&sp, &obs, &res, &eb), 0);
	assert_int_equal(res.status, DEPLOY_SUCCEEDED);
	assert_int_equal(nwarn, 1);
	log = xasprintf("%s/logs/%s.log", tmp, res.deployment_id);
	{
		FILE	*fp = fopen(log, "r");
		char	 buf[8192];
		size_t	 n;

		assert_non_null(fp);
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		buf[n] = '\0';
		fclose(fp);
		text = strstr(buf, "warning: appspec.yml:6:3: "
		    "hooks.AfterInstal: unknown lifecycle event");
		assert_non_null(text);
	}
	free(log);
	deploy_result_release(&res);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    lifecycle_reports_events_in_order_and_succeeds, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    lifecycle_failure_rolls_back_and_says_why, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    lifecycle_busy_lock_is_a_temporary_error, setup, teardown),
		cmocka_unit_test_setup_teardown(lifecycle_sequence_must_go_up,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    lifecycle_stop_leaves_it_for_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    lifecycle_recover_with_nothing_in_progress, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(lifecycle_bad_names_are_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    lifecycle_ticks_while_the_bundle_is_extracted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    lifecycle_verifies_the_digest_in_the_extraction, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    lifecycle_recovers_a_kill_in_download_bundle, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    lifecycle_blocks_and_allows_traffic_around_the_deployment,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    lifecycle_failure_puts_the_old_release_back_in_traffic,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    lifecycle_recovery_puts_a_drained_host_back, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    lifecycle_runs_a_bundle_with_warnings_and_says_so, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
