/* SPDX-License-Identifier: ISC */
/*
 * run_registry.c: what 'hookd run' keeps in the store and the queue while
 * it runs: the registry entry, progress documents, the message's
 * visibility, acknowledging and rejecting messages, and the queue's
 * creation; each service's availability is logged once per change.
 */
#include "compat.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errbuf.h"
#include "log.h"
#include "message.h"
#include "progress.h"
#include "queue.h"
#include "registry.h"
#include "run.h"
#include "state.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

/* --- retries --- */

void
retry_init(struct retry *rt, struct daemon *d, int tries)
{
	memset(rt, 0, sizeof(*rt));
	rt->d = d;
	rt->tries = tries;
}

void
retry_reset(struct retry *rt)
{
	rt->delay = 0;
	rt->made = 0;
}

/* ms hookd may still wait for the queue and store at start (starting). */
static long long
start_left(const struct daemon *d)
{
	return (long long)d->cfg.start_timeout * 1000 -
	    mono_ms_since(&d->start_t0);
}

/* The next wait of rt: the backoff, and at start no later than the end. */
static long long
next_delay(const struct retry *rt)
{
	long long	 delay, left;

	delay = rt->delay == 0 ? BACKOFF_MIN_MS : rt->delay * 2;
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	if (rt->d->starting && delay > (left = start_left(rt->d)))
		delay = left;
	return delay;
}

bool
retry_wait(struct retry *rt)
{
	if (rt->tries > 0 && ++rt->made >= rt->tries)
		return false;
	if (rt->d->starting && start_left(rt->d) <= 0)
		return false;
	rt->delay = next_delay(rt);
	if (rt->ride_stop) {
		/* The deadline: the backoff at its maximum after a stop. */
		if (got_term && rt->delay >= BACKOFF_MAX_MS)
			return false;
		(void)nap(rt->d, got_term ? RETRY_STOPPING_MS : rt->delay);
		return true;
	}
	return nap(rt->d, rt->delay) == 0;
}

/*
 * A failed try of 'what' (the queue, the store) before hookd could reach
 * both at start: logged each time with its reason (the backoff keeps that
 * to a few lines a minute) and retried until start_timeout.  Returns
 * false when that time is up or a stop was asked for.
 */
bool
start_retry(struct retry *rt, enum svc_state *s, const char *what,
    const struct errbuf *eb)
{
	struct daemon	*d = rt->d;
	long long	 left;

	*s = SVC_DOWN;
	if ((left = start_left(d)) <= 0 || got_term)
		return false;
	log_warnx("%s unavailable: %s; trying again in %lld s (gives up "
	    "%lld s from now, start_timeout)", what, eb->msg,
	    (next_delay(rt) + 999) / 1000, (left + 999) / 1000);
	return retry_wait(rt);
}

/* Log a service's availability once per change. */
void
svc_result(enum svc_state *s, const char *what, int rc,
    const struct errbuf *eb)
{
	if (rc == -1 && *s != SVC_DOWN) {
		log_warnx("%s unavailable: %s; retrying", what, eb->msg);
		*s = SVC_DOWN;
	} else if (rc != -1 && *s == SVC_DOWN) {
		log_notice("%s available again", what);
		*s = SVC_UP;
	} else if (rc != -1)
		*s = SVC_UP;
}

/* An outage worth waiting out (5xx, throttling, unreachable). */
bool
transient(const struct errbuf *eb)
{
	return eb->kind == EK_TEMP || eb->kind == EK_UNAVAIL;
}

/* --- store writes --- */

/*
 * Only what must outlive a crash of this host is written 'durable': the
 * outcome of a deployment and the registry entry at start.  What comes
 * between is replaced by a later write, or rewritten at the restart
 * (store_put_volatile: on a file:// store, two fsyncs fewer per write,
 * the file's and its directory's).
 */
static int
store_put_logged(struct daemon *d, const char *key, const char *text,
    size_t len, bool durable, struct errbuf *eb)
{
	int	 rc;

	rc = durable ? store_put(d->st, key, text, len, NULL, eb) :
	    store_put_volatile(d->st, key, text, len, eb);
	/* At start each failed try is logged by start_retry(). */
	if (rc == 0 || !d->starting || !durable)
		svc_result(&d->store_state, "store", rc, eb);
	return rc;
}

/*
 * Another daemon writing g's registry entry (the same instance id
 * twice): say so in the log and in the entry (ri's dup_* from *peer).
 * The first registration of g is the start (a restart is no duplicate).
 */
static void
registry_peer(struct run_group *g, struct registry_info *ri,
    struct registry_peer *peer)
{
	struct errbuf	 eb = { 0 };
	bool		 at_start;

	at_start = g->hb_last.tv_sec == 0 && g->hb_last.tv_nsec == 0;
	if (registry_peer_check(g->d->st, g->regkey, at_start, peer,
	    &eb) == 1) {
		log_warnx("another hookd (boot id %s, host %s, pid %ld) "
		    "writes the registry entry of instance '%s' in %s/%s: two "
		    "hosts have the same instance id", peer->boot_id,
		    peer->hostname, peer->pid, g->d->instance, g->app,
		    g->group);
		ri->dup_boot_id = peer->boot_id;
		ri->dup_hostname = peer->hostname;
		ri->dup_pid = peer->pid;
		ri->dup_last_seen = peer->last_seen;
	}
}

/* Tell the deployer at once why m is not run here (registry.h). */
void
refusal(struct run_group *g, const struct message *m, const char *status,
    const char *why)
{
	struct errbuf	 eb = { 0 };
	char		*reason;

	reason = xasprintf("%s: %s", status, why);
	if (progress_write_refusal(g->d->st, m, g->d->instance, status,
	    reason, &eb) == -1)
		log_warnx("deployment %s: cannot say why it is not run: %s",
		    m->deployment_id, eb.msg);
	free(reason);
}

/*
 * Write group g's registry entry; best effort unless 'must' (then
 * retried, at start until start_timeout).  Returns -1 with the reason in
 * *eb when it was not written.
 */
static int
register_eb(struct run_group *g, bool must, struct errbuf *eb)
{
	struct daemon		*d = g->d;
	struct registry_peer	 peer;
	struct registry_info	 ri;
	struct state		 st;
	struct retry		 rt;
	char			*text;
	size_t			 len;
	int			 rc;

	memset(&ri, 0, sizeof(ri));
	state_init(&st);
	if (state_load(g->statepath, &st, eb) == -1) {
		log_warnx("%s, ignoring", eb->msg);
		state_init(&st);
	}
	ri.instance = d->instance;
	ri.application = g->app;
	ri.group = g->group;
	ri.queue = g->qname;
	ri.queue_backend = g->q->ops->scheme;
	ri.started_at = d->started_at;
	ri.current_id = st.current.deployment_id;
	ri.current_sequence = st.current.sequence;
	ri.in_progress_id = d->dep != NULL && d->dep->g == g ? d->dep->id :
	    NULL;
	if (d->catching_since[0] != '\0') {
		ri.catching_up_since = d->catching_since;
		ri.lifecycle_hook = d->so.hook;
		ri.auto_scaling_group = d->so.group;
		ri.heartbeat_timeout = d->so.heartbeat_timeout;
	}
	ri.last_sequence = st.last_sequence;
	registry_peer(g, &ri, &peer);
	text = registry_dump(&ri, &len);
	retry_init(&rt, d, 0);
	do {
		rc = store_put_logged(d, g->regkey, text, len, must, eb);
		if (rc == 0 || !must || !transient(eb))
			break;
	} while (d->starting ? start_retry(&rt, &d->store_state, "store",
	    eb) : retry_wait(&rt));
	/* At start the caller says it, or ends the start. */
	if (rc == -1 && !transient(eb) && !d->starting)
		log_warnx("cannot register %s/%s in the store: %s", g->app,
		    g->group, eb->msg);
	free(text);
	state_release(&st);
	mono_now(&g->hb_last);
	return rc;
}

int
register_instance(struct run_group *g, bool must)
{
	struct errbuf	 eb = { 0 };

	return register_eb(g, must, &eb);
}

int
register_start(struct run_group *g, struct errbuf *eb)
{
	return register_eb(g, true, eb);
}

/*
 * Whether this process keeps g's registry entry fresh: the daemon for a
 * group without a deployment process; a deployment process for its own
 * group, and for all while groups are serialized (the daemon waits).
 */
static bool
keeps_entry(const struct daemon *d, const struct run_group *g)
{
	if (d->child_group != NULL)
		return !d->cfg.parallel_groups || d->child_group == g;
	return g->job == NULL;
}

/* Write every group's registry entry now (best effort). */
void
register_all(struct daemon *d)
{
	for (size_t i = 0; i < d->ngroups; i++)
		if (keeps_entry(d, &d->groups[i]))
			(void)register_instance(&d->groups[i], false);
}

/* Write the progress document; with 'must', retry until it is stored. */
int
write_progress(struct run_deployment *r, bool must)
{
	struct daemon	*d = r->d;
	struct errbuf	 eb = { 0 };
	struct retry	 rt;
	char		*text;
	size_t		 len;
	int		 rc;

	if (r->progkey == NULL)
		return 0;
	text = progress_dump(&r->prog, &len);
	retry_init(&rt, d, 0);
	rt.ride_stop = true;	/* the outcome must be written */
	do {
		rc = store_put_logged(d, r->progkey, text, len, must, &eb);
		if (rc == 0 || !must || !transient(&eb))
			break;
	} while (retry_wait(&rt));
	if (rc == -1 && !transient(&eb))
		log_warnx("cannot write '%s': %s", r->progkey, eb.msg);
	r->prog_failed = rc == -1;
	free(text);
	return rc;
}
/* The registry heartbeat: sooner while catching up under the hook. */
long long
registry_due(struct daemon *d)
{
	long long	 every = (long long)REGISTRY_HEARTBEAT_SEC * 1000;
	long long	 due = TIMER_OFF, t;

	/* At start the first entry is written once the queue is there. */
	if (d->starting)
		return TIMER_OFF;
	/*
	 * Keep the entry that says "catching up" fresh (progress.h): with
	 * each lifecycle heartbeat, so a reader can trust the mark only
	 * while last_seen is within the hook's heartbeat timeout.
	 */
	if (d->so.state == SO_PENDING && d->catching_since[0] != '\0' &&
	    d->so.heartbeat_every_ms > 0 && d->so.heartbeat_every_ms < every)
		every = d->so.heartbeat_every_ms;
	for (size_t i = 0; i < d->ngroups; i++) {
		if (!keeps_entry(d, &d->groups[i]))
			continue;
		if ((t = every - mono_ms_since(&d->groups[i].hb_last)) < due)
			due = t;
	}
	return due;
}

void
registry_heartbeat(struct daemon *d)
{
	struct run_group	*g;
	long long		 due;

	/* Each group whose entry is due (registry_due() chose the min). */
	for (size_t i = 0; i < d->ngroups; i++) {
		g = &d->groups[i];
		if (!keeps_entry(d, g))
			continue;
		due = (long long)REGISTRY_HEARTBEAT_SEC * 1000;
		if (d->so.state == SO_PENDING &&
		    d->catching_since[0] != '\0' &&
		    d->so.heartbeat_every_ms > 0 &&
		    d->so.heartbeat_every_ms < due)
			due = d->so.heartbeat_every_ms;
		if (due - mono_ms_since(&g->hb_last) <= 0)
			(void)register_instance(g, false);
	}
}

/* The visibility of the running deployment's message: every third. */
long long
visibility_due(struct daemon *d)
{
	unsigned	 every;

	if (d->dep == NULL || d->dep->msg == NULL)
		return TIMER_OFF;
	every = d->dep->g->q->visibility / 3;
	if (every == 0)
		every = 1;
	return (long long)every * 1000 - mono_ms_since(&d->dep->ext_last);
}

void
visibility_extend(struct daemon *d)
{
	extend_visibility(d->dep, false);
}

void
extend_visibility(struct run_deployment *r, bool force)
{
	struct run_group *g = r->g;
	struct errbuf	 eb = { 0 };
	unsigned	 every = g->q->visibility / 3;
	int		 rc;

	if (r->msg == NULL)
		return;
	if (every == 0)
		every = 1;
	if (!force && mono_ms_since(&r->ext_last) < (long long)every * 1000)
		return;
	rc = queue_extend(g->q, r->msg->receipt, g->q->visibility, &eb);
	if (rc == -1 && eb.kind == EK_NOINPUT)
		log_warnx("message of deployment %s: %s", r->id, eb.msg);
	else
		svc_result(&g->queue_state, "queue", rc, &eb);
	if (rc == 0)
		log_debug("visibility of %s extended by %u s", r->id,
		    g->q->visibility);
	mono_now(&r->ext_last);
}

/* Acknowledge the message, retrying outages. */
void
ack(struct run_group *g, const struct queue_msg *qm)
{
	struct daemon	*d = g->d;
	struct errbuf	 eb = { 0 };
	struct retry	 rt;
	int		 rc;

	if (qm == NULL)
		return;
	retry_init(&rt, d, 0);
	for (;;) {
		rc = queue_delete(g->q, qm->receipt, &eb);
		if (rc == 0)
			break;
		if (eb.kind == EK_NOINPUT) {
			/* Redelivered already: the sequence rule acks it. */
			log_warnx("cannot delete message %s: %s", qm->id,
			    eb.msg);
			return;
		}
		svc_result(&g->queue_state, "queue", rc, &eb);
		if (!retry_wait(&rt))
			return;
	}
	svc_result(&g->queue_state, "queue", 0, &eb);
	log_debug("message %s deleted", qm->id);
}

/*
 * The queue set a message aside without delivering it (spool: too big,
 * delivered too often, not a spool file name): the only place the
 * operator hears of it.  The strings come quoted from lib/queue.
 */
void
on_aside(void *arg, const char *file, const char *moved_to,
    const char *reason)
{
	struct run_group *g = arg;

	log_warnx("queue '%s': message file '%s' set aside as failed/%s: %s",
	    g->qname, file, moved_to, reason);
}

void
reject(struct run_group *g, const struct queue_msg *qm, const char *reason)
{
	struct errbuf	 eb = { 0 };

	if (qm == NULL) {
		log_warnx("target.json of %s/%s rejected: %s", g->app,
		    g->group, reason);
		return;
	}
	log_warnx("message %s rejected (delivery %u): %s", qm->id,
	    qm->receive_count, reason);
	if (queue_reject(g->q, qm, reason, &eb) == -1)
		log_warnx("cannot reject message %s: %s", qm->id, eb.msg);
}

/* Create the queue, retrying outages until it exists or we stop. */
int
ensure_queue(struct run_group *g, struct errbuf *eb)
{
	struct retry	 rt;
	int		 rc;

	retry_init(&rt, g->d, 0);
	for (;;) {
		rc = queue_ensure(g->q, eb);
		if (rc == 0 || !transient(eb))
			break;
		if (g->d->starting) {
			if (!start_retry(&rt, &g->queue_state, "queue", eb))
				return -1;
			continue;
		}
		svc_result(&g->queue_state, "queue", rc, eb);
		if (!retry_wait(&rt))
			return -1;
	}
	if (rc == 0)
		svc_result(&g->queue_state, "queue", rc, eb);
	return rc;
}

/* Write the progress document of an interrupted deployment. */
void
progress_interrupted(struct run_group *g, const char *id, uint64_t seq,
    const char *commit, const char *sha256, const char *note)
{
	struct daemon		*d = g->d;
	struct run_deployment	 r;
	struct errbuf		 eb = { 0 };

	memset(&r, 0, sizeof(r));
	r.d = d;
	r.g = g;
	r.progkey = store_key_deployment_instance(g->app, g->group, id,
	    d->instance, &eb);
	if (r.progkey == NULL)
		return;
	progress_init(&r.prog, g->app, g->group, d->instance,
	    id, seq, commit, sha256);
	progress_set(&r.prog, "Interrupted", note);
	(void)write_progress(&r, true);
	progress_release(&r.prog);
	free(r.progkey);
}
