/* SPDX-License-Identifier: ISC */
/*
 * run_engine.c: one deployment's work in 'hookd run' (in its deployment
 * process, run_deploy.c): the checks, the bundle fetch, the lifecycle
 * engine with the daemon's observer (progress, watchdog, visibility,
 * the stop grace), the outcome, and recovery of an interrupted one.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "admission.h"
#include "config.h"
#include "errbuf.h"
#include "hookd.h"
#include "lifecycle.h"
#include "log.h"
#include "message.h"
#include "proc.h"
#include "progress.h"
#include "queue.h"
#include "run.h"
#include "state.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

static void
check_stop(struct run_deployment *r)
{
	struct daemon	*d = r->d;

	if (!got_term)
		return;
	if (!d->term_seen) {
		d->term_seen = true;
		mono_now(&d->term_at);
		log_notice("stopping: deployment %s gets up to %u s to finish "
		    "its running hook", r->id, d->grace);
		(void)sd_notify(0, "STOPPING=1");
	}
	if (!proc_stop_requested() &&
	    mono_ms_since(&d->term_at) >= (long long)d->grace * 1000) {
		log_warnx("stopping: grace of %u s is over, stopping the "
		    "hook of deployment %s", d->grace, r->id);
		proc_request_stop();
	}
}

static void
ob_event_start(void *arg, enum lc_event ev, bool rollback)
{
	struct run_deployment	*r = arg;

	log_setevent(lc_event_name(ev), NULL);
	(void)sd_notifyf(0, "STATUS=deploying %s %s%s", r->id,
	    lc_event_name(ev), rollback ? " (rollback)" : "");
	progress_event_start(&r->prog, lc_event_name(ev), rollback);
	(void)write_progress(r, false);
	/* After SIGTERM, the next event does not start: stop here. */
	if (got_term && !rollback) {
		check_stop(r);
		proc_request_stop();
	}
	timers_run(r->d);
}

/*
 * A deployment that failed before its events ran (the bundle could not
 * be fetched, or was refused: limits, digest, appspec) failed in the
 * work of DownloadBundle: progress names that event, as CodeDeploy does.
 */
static void
progress_bundle_failed(struct run_deployment *r, const struct timespec *t0,
    const char *msg)
{
	struct deploy_event	 de;

	memset(&de, 0, sizeof(de));
	de.event = LC_DOWNLOAD_BUNDLE;
	de.status = DEPLOY_EVENT_FAILED;
	de.duration = (double)mono_ms_since(t0) / 1e3;
	de.outcome = msg;
	de.tail = "";
	progress_event_start(&r->prog, lc_event_name(LC_DOWNLOAD_BUNDLE),
	    false);
	progress_event_end(&r->prog, &de);
	progress_set(&r->prog, "Failed", msg);
}

static void
ob_script(void *arg, enum lc_event ev, const char *script)
{
	log_setevent(lc_event_name(ev), script);
	log_info("%s: running '%s'", lc_event_name(ev), script);
}

static void
ob_event_end(void *arg, const struct deploy_event *de)
{
	struct run_deployment	*r = arg;
	const char		*name = lc_event_name(de->event);

	if (de->status == DEPLOY_EVENT_FAILED)
		log_warnx("%s%s failed: %s%s%s", name, de->rollback ?
		    " (rollback)" : "", de->script != NULL ? de->script : "",
		    de->script != NULL ? ": " : "",
		    de->outcome != NULL ? de->outcome : "");
	else
		log_info("%s%s %s (%.2f s)", name, de->rollback ?
		    " (rollback)" : "", deploy_event_status_name(de->status),
		    de->duration);
	progress_event_end(&r->prog, de);
	(void)write_progress(r, false);
	log_setevent(NULL, NULL);
	timers_run(r->d);
}

static void
ob_tick(void *arg)
{
	struct run_deployment	*r = arg;
	struct daemon		*d = r->d;

	timers_run(d);
	check_stop(r);
	drain_sigpipe(d);
}

static void
ob_recover(void *arg, const char *id, const char *phase)
{
	log_notice("recovering interrupted deployment %s (it was in %s)", id,
	    phase != NULL ? phase : "an unknown phase");
}

/*
 * A poll of Block/AllowTraffic (every 100 ms on HAProxy): the journal
 * and the progress document when it says something new, the document
 * also every TRAFFIC_PROGRESS_MS (S3 is not written ten times a second).
 */
#define TRAFFIC_PROGRESS_MS	5000

static void
ob_traffic(void *arg, enum lc_event ev, const char *line)
{
	static char		 last[256];
	static struct timespec	 written;
	struct run_deployment	*r = arg;
	const char		*step = ev == LC_BLOCK_TRAFFIC ? "draining" :
				    "waiting for healthy";
	bool			 changed;

	changed = strncmp(last, line, sizeof(last) - 1) != 0;
	if (changed)
		log_info("%s: %s", lc_event_name(ev), line);
	(void)strlcpy(last, line, sizeof(last));
	if (!changed && mono_ms_since(&written) < TRAFFIC_PROGRESS_MS)
		return;
	progress_traffic(&r->prog, step, line);
	(void)write_progress(r, false);
	mono_now(&written);
}

static void
observer(struct run_deployment *r, struct deploy_observer *o)
{
	memset(o, 0, sizeof(*o));
	o->on_event_start = ob_event_start;
	o->on_script = ob_script;
	o->on_event_end = ob_event_end;
	o->on_tick = ob_tick;
	o->on_recover = ob_recover;
	o->on_traffic = ob_traffic;
	o->arg = r;
}

/* Fetch the bundle into ROOT/cache; *ret_path new.  Retries outages. */
static int
fetch_bundle(struct run_deployment *r, const struct message *m,
    const char *key, char **ret_path, struct errbuf *eb)
{
	struct daemon	*d = r->d;
	struct retry	 rt;
	int		 rc;

	retry_init(&rt, d, 0);
	for (;;) {
		rc = admission_fetch(&r->g->adm, d->st, m, key, ret_path, eb);
		if (rc == -1 && eb->kind == EK_IO)
			break;		/* ROOT/cache, not the store */
		svc_result(&d->store_state, "store", rc, eb);
		if (rc == 0 || !transient(eb))
			break;
		if (!retry_wait(&rt))	/* the visibility timer runs */
			break;
	}
	return rc;
}

/*
 * Run one checked message: the deployment process's work (see
 * deploy()).  Returns OUT_KEPT when the message must stay in the queue
 * (stopped, or the engine was busy), else OUT_SUCCEEDED or OUT_FAILED
 * with the outcome written to the store.
 */
enum outcome
deploy_run(struct run_group *g, const struct message *m, const char *key,
    const struct queue_msg *qm)
{
	struct daemon		*d = g->d;
	struct run_deployment	 r;
	struct deploy_observer	 obs;
	struct deploy_result	 res, rres;
	struct deploy_spec	 spec;
	struct errbuf		 eb = { 0 };
	struct timespec		 t0;
	char			*bundle = NULL;
	enum outcome		 rv = OUT_FAILED;

	memset(&r, 0, sizeof(r));
	r.d = d;
	r.g = g;
	r.msg = qm;
	r.id = m->deployment_id;
	mono_now(&r.ext_last);
	d->dep = &r;
	log_setctx(m->deployment_id, g->app, g->group);
	log_notice("deployment %s of %s/%s (sequence %llu, revision %s%s%s) "
	    "started", m->deployment_id, g->app, g->group,
	    (unsigned long long)m->sequence, m->sha256,
	    m->commit[0] != '\0' ? ", commit " : "", m->commit);
	(void)sd_notifyf(0, "STATUS=deploying %s DownloadBundle",
	    m->deployment_id);
	r.progkey = store_key_deployment_instance(g->app, g->group,
	    m->deployment_id, d->instance, &eb);
	if (r.progkey == NULL)
		fatalx("%s: %s", __func__, eb.msg);	/* names were checked */
	progress_init(&r.prog, g->app, g->group, d->instance,
	    m->deployment_id, m->sequence, m->commit, m->sha256);
	(void)write_progress(&r, false);
	(void)register_instance(g, false);

	deploy_result_init(&res);
	mono_now(&t0);
	if (fetch_bundle(&r, m, key, &bundle, &eb) == -1) {
		if (got_term) {
			rv = OUT_KEPT;
			goto out;
		}
		log_warnx("deployment %s failed: cannot fetch the bundle: %s",
		    m->deployment_id, eb.msg);
		progress_bundle_failed(&r, &t0, eb.msg);
		goto done;
	}
	admission_spec(&g->adm, m, bundle, &spec);
	/*
	 * Block/AllowTraffic unless the deployment says no, or the launch
	 * hook holds a new instance (Auto Scaling registers it).
	 */
	if (!m->no_traffic_control && d->catching_since[0] == '\0')
		spec.traffic = hookd_traffic_ops(d->traffic);
	observer(&r, &obs);
	if (lifecycle_deploy(&spec, &obs, &res, &eb) == -1) {
		if (eb.kind == EK_TEMP) {
			log_warnx("deployment %s postponed: %s",
			    m->deployment_id, eb.msg);
			rv = OUT_KEPT;
			goto out;
		}
		log_warnx("deployment %s failed: %s", m->deployment_id,
		    eb.msg);
		if (res.failed_event == LC_DOWNLOAD_BUNDLE)
			progress_bundle_failed(&r, &t0, eb.msg);
		else
			progress_set(&r.prog, "Failed", eb.msg);
		goto done;
	}
	progress_finish(&r.prog, &res);
	switch (res.status) {
	case DEPLOY_SUCCEEDED:
		log_notice("deployment %s succeeded", m->deployment_id);
		rv = OUT_SUCCEEDED;
		break;
	case DEPLOY_FAILED:
		log_warnx("deployment %s failed: %s%s%s%s%s%s",
		    m->deployment_id, res.failed_event >= 0 ?
		    lc_event_name((enum lc_event)res.failed_event) : "",
		    res.failed_event >= 0 ? ": " : "",
		    res.script != NULL ? res.script : "",
		    res.script != NULL ? ": " : "",
		    res.outcome != NULL ? res.outcome : "unknown error",
		    res.rolled_back_to != NULL ? "; rolled back" : "");
		break;
	default:
		/* Stopped by SIGTERM: put the host back now, keep the msg. */
		log_warnx("deployment %s interrupted; putting the previous "
		    "release back", m->deployment_id);
		proc_stop_clear();
		if (lifecycle_recover(&spec, &obs, &rres, &eb) == -1)
			log_warnx("cannot recover deployment %s: %s",
			    m->deployment_id, eb.msg);
		deploy_result_release(&rres);
		progress_set(&r.prog, "Interrupted", "hookd stopped during "
		    "the deployment; it runs again when its message is "
		    "delivered again");
		rv = OUT_KEPT;
		break;
	}
 done:
	(void)write_progress(&r, true);
 out:
	if (bundle != NULL) {
		(void)unlink(bundle);
		free(bundle);
	}
	deploy_result_release(&res);
	d->dep = NULL;
	progress_release(&r.prog);
	free(r.progkey);
	log_setctx(NULL, g->app, g->group);
	return rv;
}

/*
 * Recover a deployment left in progress and write its outcome (note).
 * When nothing was in progress and m is given (its deployment process
 * died before it began), m's outcome is written Interrupted instead.
 */
int
recover(struct run_group *g, const char *note, const struct message *m,
    struct errbuf *eb)
{
	struct daemon		*d = g->d;
	struct run_deployment	 r;
	struct deploy_observer	 obs;
	struct deploy_result	 res;
	struct deploy_spec	 spec;

	admission_spec(&g->adm, NULL, NULL, &spec);
	/* Recovery puts a host it finds out of traffic back. */
	spec.traffic = hookd_traffic_ops(d->traffic);
	/* No deployment of ours: no progress document, no message. */
	memset(&r, 0, sizeof(r));
	r.d = d;
	r.g = g;
	observer(&r, &obs);
	if (lifecycle_recover(&spec, &obs, &res, eb) == -1) {
		deploy_result_release(&res);
		return -1;
	}
	if (res.status == DEPLOY_RECOVERED) {
		log_notice("deployment %s (sequence %llu) was interrupted; "
		    "%s", res.deployment_id,
		    (unsigned long long)res.sequence,
		    res.rolled_back_to != NULL ? "rolled back" :
		    "nothing to undo");
		progress_interrupted(g, res.deployment_id, res.sequence,
		    NULL, NULL, note);
	} else if (m != NULL)
		progress_interrupted(g, m->deployment_id, m->sequence,
		    m->commit[0] != '\0' ? m->commit : NULL, m->sha256, note);
	deploy_result_release(&res);
	return 0;
}
