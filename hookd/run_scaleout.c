/* SPDX-License-Identifier: ISC */
/*
 * run_scaleout.c: the Auto Scaling launch hook in 'hookd run' (scale-out,
 * DESIGN.md boot step 5, scaleout.h): heartbeats during the catch-up,
 * the registry's catching-up mark, completing the action, and leaving
 * the group at a stop.
 */
#include "compat.h"

#include <stdbool.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "config.h"
#include "errbuf.h"
#include "log.h"
#include "queue.h"
#include "run.h"
#include "scaleout.h"
#include "state.h"
#include "store.h"

#include "banned.h"

#define SO_TRIES	8	/* begin/complete attempts, with backoff */

/* The lifecycle heartbeat timer (run_daemon.c's timers). */
long long
so_due(struct daemon *d)
{
	long long	 ms;

	if (d->so.state != SO_PENDING || (ms = scaleout_next_ms(&d->so)) < 0)
		return TIMER_OFF;
	return ms;
}

void
so_timer(struct daemon *d)
{
	struct errbuf	 eb = { 0 };
	int		 rc;

	if (d->so.state != SO_PENDING)
		return;
	rc = scaleout_tick(&d->so, false, &eb);
	if (rc == SCALEOUT_SENT)
		log_info("lifecycle hook '%s': heartbeat %u sent",
		    d->so.hook, d->so.heartbeats);
	else if (rc == SCALEOUT_GONE)
		log_warnx("lifecycle hook '%s': %s; the instance no longer "
		    "waits for it", d->so.hook, eb.msg);
	else if (rc == -1)
		log_warnx("lifecycle hook '%s': heartbeat failed: %s; "
		    "retrying", d->so.hook, eb.msg);
}

/*
 * Whether group g is behind although its target was not run: a newer
 * deployment than the live one was tried here and did not succeed
 * (hookd restarted after a failed catch-up).
 */
static bool
so_behind(struct run_group *g)
{
	struct state	 st;
	struct errbuf	 eb = { 0 };
	bool		 behind;

	state_init(&st);
	if (state_load(g->statepath, &st, &eb) == -1) {
		log_warnx("%s", eb.msg);
		return true;
	}
	behind = st.last_sequence > st.current.sequence;
	state_release(&st);
	return behind;
}

/*
 * Mark the registry entry as catching up under the launch hook (on), or
 * not any more (off), and write it at once, best effort: a failed write
 * is logged by register_instance(), and the next write (the catch-up's
 * progress, the periodic refresh) carries the mark.  A daemon that dies
 * while marked leaves a mark that readers trust only while the entry is
 * fresh; the next start registers without it.
 */
static void
so_mark(struct daemon *d, bool on)
{
	if (on)
		state_timestamp(d->catching_since);
	else if (d->catching_since[0] == '\0')
		return;
	else
		d->catching_since[0] = '\0';
	register_all(d);
}

/*
 * Catch every group up (boot step 4), one after the other; a group
 * postponed (its lock held) is tried again up to 'tries' times.
 * Returns OUT_SUCCEEDED or OUT_CURRENT when every group is current
 * (OUT_SUCCEEDED when one ran), OUT_KEPT when one was postponed or
 * stopped, else OUT_FAILED (a catch-up failed, or a group is behind).
 * Every group is tried even after one failed.
 */
static enum outcome
catch_up_all(struct daemon *d, int tries)
{
	struct run_group	*g;
	struct retry		 rt;
	enum outcome		 out, all = OUT_CURRENT;

	for (size_t i = 0; i < d->ngroups && !got_term; i++) {
		g = &d->groups[i];
		out = catch_up(g);
		retry_init(&rt, d, tries);
		while (out == OUT_KEPT && tries > 0 && retry_wait(&rt))
			out = catch_up(g);
		if (out == OUT_CURRENT && so_behind(g))
			out = OUT_FAILED;
		if (out == OUT_SUCCEEDED && all == OUT_CURRENT)
			all = OUT_SUCCEEDED;
		else if (out == OUT_KEPT && all != OUT_FAILED)
			all = OUT_KEPT;
		else if (out == OUT_FAILED || out == OUT_REJECTED)
			all = OUT_FAILED;
		if (d->ngroups > 1)
			log_info("catch-up of %s/%s: %s", g->app, g->group,
			    out == OUT_SUCCEEDED ? "caught up" :
			    out == OUT_CURRENT ? "current" :
			    out == OUT_KEPT ? "postponed" : "failed");
	}
	if (got_term && all != OUT_FAILED)
		all = OUT_KEPT;
	return all;
}

/*
 * Boot step 5 around step 4: learn whether the launch hook holds this
 * instance, catch up (heartbeats from so_timer), then complete the
 * action: CONTINUE when the host is current, ABANDON when the catch-up
 * failed.  Nothing is completed when hookd is stopping.
 */
enum outcome
so_catch_up(struct daemon *d)
{
	struct errbuf	 eb = { 0 };
	const char	*hook = d->cfg.lifecycle_hook;
	struct retry	 rt;
	enum outcome	 out;
	bool		 ok;
	int		 rc = -1;

	if (hook == NULL)
		return catch_up_all(d, 0);
	retry_init(&rt, d, SO_TRIES);
	while (!got_term) {
		rc = scaleout_begin(&d->so, d->aws, d->imds, d->cfg.region,
		    d->instance, hook, &eb);
		if (rc == 0 || !transient(&eb) || !retry_wait(&rt))
			break;
	}
	if (rc == -1) {
		log_warnx("lifecycle hook '%s': cannot tell whether this "
		    "instance waits for it: %s; not completing it", hook,
		    eb.msg);
		return catch_up_all(d, 0);
	}
	if (d->so.state != SO_PENDING) {
		if (d->so.group == NULL)
			log_info("lifecycle hook '%s': this instance is not "
			    "in an Auto Scaling group", hook);
		else
			log_info("lifecycle hook '%s': instance is %s in "
			    "Auto Scaling group '%s' (from %s); nothing to "
			    "complete", hook, d->so.lifecycle_state != NULL ?
			    d->so.lifecycle_state : "not held",
			    d->so.group, d->so.group_source);
		return catch_up_all(d, 0);
	}
	log_notice("Auto Scaling group '%s' (from %s) holds this instance "
	    "in %s for lifecycle hook '%s': catching up, heartbeat every "
	    "%.1f s (heartbeat timeout %lu s)", d->so.group,
	    d->so.group_source, d->so.lifecycle_state != NULL ?
	    d->so.lifecycle_state : "Pending:Wait", hook,
	    (double)d->so.heartbeat_every_ms / 1000, d->so.heartbeat_timeout);
	(void)sd_notifyf(0, "STATUS=catching up for lifecycle hook %s",
	    hook);
	so_timer(d);	/* the first heartbeat: the full timeout is ours */
	so_mark(d, true);	/* deployer instances: catching-up */
	/*
	 * Every group; one postponed (another deployment holds its lock)
	 * is tried again.
	 */
	out = catch_up_all(d, SO_TRIES + 1);
	if (got_term) {
		log_notice("lifecycle hook '%s': stopping before the catch-up "
		    "ended; the action is not completed", hook);
		so_mark(d, false);
		return out;
	}
	if (d->so.state != SO_PENDING) {
		/* A heartbeat found the action gone (so_timer logged it). */
		log_notice("lifecycle hook '%s': no action left to complete",
		    hook);
		so_mark(d, false);
		return out;
	}
	/*
	 * CONTINUE only when every group is current; OUT_KEPT here: still
	 * postponed after the retries, not current.
	 */
	ok = out == OUT_SUCCEEDED || out == OUT_CURRENT;
	retry_init(&rt, d, SO_TRIES);
	for (;;) {
		rc = scaleout_complete(&d->so, ok, &eb);
		if (rc != -1 || !transient(&eb) || got_term)
			break;
		/* A stop during the wait still gets one last try. */
		if (!retry_wait(&rt) && !got_term)
			break;
	}
	if (rc == 0)
		log_notice("lifecycle hook '%s': completed with %s (%s)", hook,
		    d->so.result, ok ? (out == OUT_CURRENT ? "already "
		    "current" : "caught up") : "catch-up failed");
	else if (rc == SCALEOUT_GONE)
		log_notice("lifecycle hook '%s': %s (completed already, or "
		    "timed out); not an error", hook, eb.msg);
	else
		log_warnx("lifecycle hook '%s': cannot complete with %s: %s",
		    hook, ok ? "CONTINUE" : "ABANDON", eb.msg);
	/*
	 * Cleared also when completing failed: the daemon stops waiting
	 * here, and the hook's DefaultResult decides (logged above).
	 */
	so_mark(d, false);
	return out;
}

/*
 * At a stop: when the instance is leaving (Auto Scaling terminates it,
 * or the system shuts down), remove its registry entry and, with
 * delete_queue_on_shutdown, its queue.  A plain restart keeps both.
 */
void
so_shutdown(struct daemon *d)
{
	struct errbuf	 eb = { 0 };
	bool		 leaving = false;

	if (!got_term || d->st == NULL || d->ngroups == 0 ||
	    d->groups[0].q == NULL ||
	    (d->cfg.lifecycle_hook == NULL &&
	    !d->cfg.delete_queue_on_shutdown))
		return;
	if (scaleout_leaving(&d->so, &leaving, &eb) == -1) {
		log_info("cannot tell whether this instance is leaving: %s; "
		    "keeping its registration", eb.msg);
		return;
	}
	if (!leaving)
		return;
	for (size_t i = 0; i < d->ngroups; i++) {
		struct run_group	*g = &d->groups[i];

		if (g->q == NULL)	/* stopped before it was opened */
			continue;
		if (store_delete(d->st, g->regkey, &eb) == -1)
			log_warnx("cannot deregister '%s': %s", g->regkey,
			    eb.msg);
		else
			log_notice("instance is leaving%s%s: %s/%s "
			    "deregistered from the store",
			    d->so.lifecycle_state != NULL ? " (" : "",
			    d->so.lifecycle_state != NULL ?
			    d->so.lifecycle_state : "", g->app, g->group);
		if (!d->cfg.delete_queue_on_shutdown)
			continue;
		if (queue_destroy(g->q, &eb) == -1)
			log_warnx("cannot delete queue '%s': %s", g->qname,
			    eb.msg);
		else
			log_notice("queue '%s' deleted "
			    "(delete_queue_on_shutdown)", g->qname);
	}
}
