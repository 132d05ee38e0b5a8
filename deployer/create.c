/* SPDX-License-Identifier: ISC */
/*
 * create.c: create a deployment in the store, and the deploy-watch-
 * rollback sequence every deploying subcommand shares.
 *
 * Creating is one conditional write: target.json (the deployment
 * message itself, which hookd runs at boot when it is ahead) is replaced
 * only if it still has the ETag we read (or, for a group's first
 * deployment, only if it does not exist), so of two deployers racing,
 * exactly one gets the next sequence and the other is told which
 * deployment is in progress.  deployment.json follows; until it exists
 * (DEPLOYER_DEADLINE_SLACK seconds) a reader takes the target's
 * deployment as running.
 *
 * A group with no instances (an Auto Scaling group scaled to zero, a
 * group whose hosts are not up yet) still gets its target: the
 * deployment is recorded with no instances and succeeds at once, and
 * every instance that starts later catches up to it at boot.  Refusing
 * would leave target.json on the old revision, and the next scale-out
 * would put stale code in service.
 */
#include "compat.h"

#include <sys/types.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "aws/asg.h"
#include "config.h"
#include "deployer.h"
#include "errbuf.h"
#include "gates.h"
#include "message.h"
#include "names.h"
#include "rollout.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

void
deployer_host(char buf[256])
{
	if (gethostname(buf, 256) == -1)
		(void)strlcpy(buf, "localhost", 256);
	buf[255] = '\0';
}

/* "user@host", a new string. */
char *
who_am_i(void)
{
	struct passwd	 pw, *pwp = NULL;
	char		 pbuf[4096], host[256];
	const char	*user = NULL;

	if (getpwuid_r(geteuid(), &pw, pbuf, sizeof(pbuf), &pwp) == 0 &&
	    pwp != NULL)
		user = pw.pw_name;
	if (user == NULL && (user = secure_getenv("USER")) == NULL)
		user = "unknown";
	deployer_host(host);
	return xasprintf("%s@%s", user, host);
}

/* Free the contents of a revision; safe on a zeroed one. */
void
revision_release(struct revision *r)
{
	free(r->ref);
	free(r->location);
	free(r->source);
	memset(r, 0, sizeof(*r));
}

/*
 * The newest Succeeded deployment of the group below sequence 'before'
 * (and, when avoid_sha is set, of another content): its revision and id.
 * 0, or -1 with EK_NOINPUT when there is none.
 */
int
previous_success(struct dctx *c, const char *group, uint64_t before,
    const char *avoid_sha, struct revision *ret,
    char ret_id[DEPLOYMENT_ID_LEN + 1], struct errbuf *eb)
{
	struct deployment	*v = NULL;
	struct revision		 r = { 0 };
	size_t			 n = 0;
	int			 ret_code = -1;

	if (deployment_list(c, group, &v, &n, eb) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct deployment	*d = &v[i];

		if (d->sequence >= before || strcmp(d->status, "Succeeded") !=
		    0 || d->location == NULL || strlen(d->sha256) != 64)
			continue;
		if (avoid_sha != NULL && strcmp(d->sha256, avoid_sha) == 0)
			continue;
		memcpy(r.sha256, d->sha256, sizeof(r.sha256));
		memcpy(r.commit, d->commit, sizeof(r.commit));
		r.ref = d->ref != NULL ? xstrdup(d->ref) : NULL;
		r.location = xstrdup(d->location);
		memcpy(ret_id, d->id, DEPLOYMENT_ID_LEN + 1);
		*ret = r;
		ret_code = 0;
		break;
	}
	if (ret_code == -1)
		errbuf_set(eb, EK_NOINPUT, "group '%s' has no earlier "
		    "successful revision to roll back to", group);
	deployments_free(v, n);
	return ret_code;
}

/* The error for a lost race or a running deployment. */
static int
in_progress_error(struct dctx *c, const char *group, struct errbuf *eb)
{
	struct deployment	 d = { 0 };
	struct errbuf		 e2 = { 0 };
	json_t			*t = NULL;
	const char		*id = NULL, *by = NULL;
	char			 what[512] = "being created";

	if (target_read(c, group, &t, NULL, &e2) == 1) {
		id = json_string_value(json_object_get(t, "deployment_id"));
		by = json_string_value(json_object_get(t, "created_by"));
	}
	if (id != NULL && deployment_load(c, group, id, &d, &e2) == 0) {
		(void)driver_describe(c, &d, what, sizeof(what));
		deployment_release(&d);
	}
	if (id == NULL)
		id = "d-?";
	errbuf_set(eb, EK_TEMP, "deployment %s is in progress in group '%s'%s"
	    "%s (%s); watch it with 'deployer status %s --watch', continue "
	    "it with 'deployer resume %s' or stop it with 'deployer stop %s'",
	    id, group, by != NULL ? ", started by " : "", by != NULL ? by : "",
	    what, id, id, id);
	if (t != NULL)
		json_decref(t);
	return -1;
}

/* Forget d's instances and batches (a plan about to be made again). */
static void
plan_reset(struct deployment *d)
{
	for (size_t i = 0; i < d->ninst; i++) {
		free(d->inst[i].name);
		free(d->inst[i].queue);
	}
	free(d->inst);
	free(d->batch_sent);
	free(d->config_name);
	d->inst = NULL;
	d->batch_sent = NULL;
	d->config_name = NULL;
	d->ninst = d->nbatches = 0;
}

/*
 * The most the gates add to a rollout: each bake, and a health
 * check at each check, for every batch but the last.
 */
static time_t
gates_time(const struct deployer_group *g, const struct deployment *d)
{
	time_t	 per;

	if (d->rollback_of != NULL || d->nbatches < 2)
		return 0;
	per = (time_t)g->dc.bake + (g->health_check == NULL ? 0 :
	    GATE_HEALTH_TIMEOUT * (time_t)(g->dc.bake / g->gate_interval + 2));
	return per * (time_t)(d->nbatches - 1);
}

/* Whether name is an EC2 instance id (i- and 8 or 17 hex digits). */
static bool
ec2_id(const char *name)
{
	size_t	 n;

	if (strncmp(name, "i-", 2) != 0)
		return false;
	n = strspn(name + 2, "0123456789abcdef");
	return name[2 + n] == '\0' && (n == 8 || n == 17);
}

/*
 * Drop from d->inst the instances Auto Scaling says are leaving
 * (Terminating*, Terminated, Detaching, Detached), with a line each when
 * 'say': a terminated host whose entry is still fresh is not waited
 * on.  Only EC2 ids are asked about, with the fleet's AWS client; an
 * instance in no group stays.  When Auto Scaling cannot be asked (no
 * permission, no endpoint), everyone stays and one line says why.
 */
static void
drop_leaving(struct dctx *c, struct deployment *d, bool say)
{
	struct asg_instances	 res = { 0 };
	struct errbuf		 eb = { 0 };
	const char		**ids;
	size_t			 n = 0, k = 0;

	if (c->aws == NULL || d->ninst == 0)
		return;
	ids = xcalloc(d->ninst + 1, sizeof(*ids));
	for (size_t i = 0; i < d->ninst; i++)
		if (ec2_id(d->inst[i].name))
			ids[n++] = d->inst[i].name;
	if (n == 0 || asg_describe_instances(c->aws, ids, n, &res,
	    &eb) == -1) {
		if (n > 0 && say)
			printf("note: cannot ask Auto Scaling which instances "
			    "are leaving (%s); deploying to every live "
			    "instance\n", eb.msg);
		free(ids);
		return;
	}
	for (size_t i = 0; i < d->ninst; i++) {
		const struct asg_instance	*ai = NULL;
		const char			*ls;

		for (size_t j = 0; j < res.n; j++)
			if (strcmp(res.v[j].instance_id, d->inst[i].name) ==
			    0)
				ai = &res.v[j];
		ls = ai != NULL && ai->lifecycle_state != NULL ?
		    ai->lifecycle_state : "";
		if (strncmp(ls, "Terminat", 8) == 0 ||
		    strncmp(ls, "Detach", 6) == 0) {
			if (say)
				printf("skipping %s: Auto Scaling group '%s' "
				    "reports it %s\n", d->inst[i].name,
				    ai->group != NULL ? ai->group : "?", ls);
			free(d->inst[i].name);
			free(d->inst[i].queue);
			continue;
		}
		d->inst[k++] = d->inst[i];
	}
	d->ninst = k;
	asg_instances_release(&res);
	free(ids);
}

/*
 * Fill d->inst and the batches: the group's live instances, or those
 * 'from' got.  With 'say', print a line for each instance skipped (a
 * queue with no live registry entry) and each duplicate instance id
 * (the entries a daemon marked: a listing, nearly always empty).  With
 * 'read_all' (a group with no target.json: its first deployment, or a
 * store that lost its records), every registry entry is read and
 * *ret_maxseq is the highest sequence any ran (even a stale one), for
 * the reset check; else *ret_maxseq is 0 and no entry is read for it:
 * a host's sequence comes from this store's messages and target.json.
 */
static int
plan_instances(struct dctx *c, const struct deployer_group *g,
    const struct deployment *from, struct deployment *d, bool say,
    bool read_all, uint64_t *ret_maxseq, struct errbuf *eb)
{
	struct deploy_config	 all = { .kind = DC_ALL_AT_ONCE };
	struct reginst		*ri = NULL;
	char			 seen[32];
	size_t			 nri = 0, *sizes = NULL, k = 0, refused = 0;
	char			 desc[128];

	*ret_maxseq = 0;
	if (from == NULL || say) {
		if (instances_find(c, g->name, REG_EVERY | (read_all ?
		    REG_READ : 0) | (say ? REG_DUPS : 0), &ri, &nri,
		    eb) == -1)
			return -1;
		for (size_t i = 0; i < nri; i++)
			if (ri[i].last_seq > *ret_maxseq)
				*ret_maxseq = ri[i].last_seq;
	}
	if (from != NULL) {
		d->inst = xcalloc(from->ninst + 1, sizeof(*d->inst));
		for (size_t i = 0; i < from->ninst; i++) {
			if (from->batch_sent[from->inst[i].batch] == 0 ||
			    from->inst[i].state == IS_PENDING)
				continue;
			/* It refused the message: it changed nothing. */
			if (from->inst[i].refused) {
				refused++;
				continue;
			}
			d->inst[d->ninst].name = xstrdup(from->inst[i].name);
			d->inst[d->ninst].queue = from->inst[i].queue != NULL ?
			    xstrdup(from->inst[i].queue) : NULL;
			d->ninst++;
		}
	} else if (g->strategy == STRATEGY_BLUE_GREEN) {
		/* Nothing is sent: green's instances catch up at boot. */
		d->inst = xcalloc(1, sizeof(*d->inst));
	} else {
		d->inst = xcalloc(nri + 1, sizeof(*d->inst));
		for (size_t i = 0; i < nri; i++) {
			if (!REGINST_LIVE(&ri[i])) {
				if (!say || !ri[i].has_queue)
					continue;
				if (ri[i].last_seen == 0)
					printf("skipping %s: queue '%s' has no "
					    "registry entry (a host that is "
					    "gone left it, or a host of "
					    "another application with this "
					    "queue_prefix and group name; "
					    "'deployer instances' lists "
					    "it)\n", ri[i].name, ri[i].queue);
				else {
					ts_format(ri[i].last_seen, seen);
					printf("skipping %s: its registry "
					    "entry was last seen %s, more "
					    "than %d minutes ago\n",
					    ri[i].name, seen,
					    DEPLOYER_STALE_SEC / 60);
				}
				continue;
			}
			if (say && ri[i].dup != NULL)
				printf("warning: instance id '%s' is used by "
				    "two daemons (the other: %s); one of them "
				    "may not get this deployment\n",
				    ri[i].name, ri[i].dup);
			d->inst[d->ninst].name = ri[i].name;
			d->inst[d->ninst].queue = ri[i].queue;
			ri[i].name = ri[i].queue = NULL;
			d->ninst++;
		}
		drop_leaving(c, d, say);
	}
	reginsts_free(ri, nri);
	fflush(stdout);
	/* A rollback goes to instances that got the failed revision. */
	if (d->ninst == 0 && from != NULL && refused > 0)
		return errbuf_set(eb, EK_NOINPUT, "every instance sent "
		    "deployment %s refused it (Rejected or Skipped) and "
		    "changed nothing: nothing to roll back", from->id);
	if (d->ninst == 0 && from != NULL)
		return errbuf_set(eb, EK_NOINPUT, "deployment %s was sent "
		    "to no instance: nothing to roll back", from->id);
	/* A rollback restores every instance at once. */
	if (rollout_plan(from != NULL ? &all : &g->dc, d->ninst, &sizes,
	    &d->nbatches, eb) == -1)
		return errbuf_prefix(eb, "group '%s': ", g->name);
	d->batch_sent = xcalloc(d->nbatches + 1, sizeof(*d->batch_sent));
	for (size_t b = 0; b < d->nbatches; b++)
		for (size_t j = 0; j < sizes[b]; j++)
			d->inst[k++].batch = b;
	free(sizes);
	if (from != NULL)
		d->config_name = xstrdup("AllAtOnce (rollback)");
	else if (d->rollback_of != NULL) {
		/* deployer rollback: the group's batches, never its bake. */
		struct deploy_config	 dc = g->dc;

		dc.bake = 0;
		d->config_name = xstrdup(deploy_config_describe(&dc, desc,
		    sizeof(desc)));
	} else
		d->config_name = xstrdup(deploy_config_describe(&g->dc, desc,
		    sizeof(desc)));
	return 0;
}

/*
 * Create a deployment of rev to group g: to the instances found now in
 * the group's batches, or (from != NULL, a rollback) to the instances
 * 'from' was sent to, all at once.  rollback_of (may be NULL) is the id
 * it rolls back.  Writes target.json conditionally, then
 * deployment.json.  *ret is filled (caller releases) on success; with
 * no instances found, ret->ninst and ret->nbatches are 0 (the target is
 * recorded all the same; rollout_run() then marks it Succeeded).  -1
 * with eb: EK_TEMP when another deployment of the group is in progress
 * or won the race, EK_NOINPUT for a rollback whose deployment reached
 * no instance, EK_CONFIG for a minimum_healthy that cannot be met,
 * store errors.
 * Blocks on the store.
 */
int
deployment_create(struct dctx *c, const struct deployer_group *g,
    const struct revision *rev, const char *rollback_of,
    const struct deployment *from, const struct deploy_opts *o,
    struct deployment *ret, struct errbuf *eb)
{
	static const struct deploy_opts	 none;
	struct deployment	 d = { 0 }, old = { 0 };
	struct message		 m;
	struct errbuf		 e2 = { 0 };
	json_t			*target = NULL;
	char			 etag[STORE_ETAG_MAX] = "", now[32];
	char			*key = NULL, *text = NULL, *oldid = NULL;
	uint64_t		 seq = 1, maxseq = 0, tseq = 0;
	int			 r, tr, ret_code = -1;

	if (o == NULL)
		o = &none;
	message_init(&m);
	d.application = xstrdup(c->cfg.application);
	d.group = xstrdup(g->name);
	d.status = xstrdup("InProgress");
	d.timeout = g->timeout;
	/* The store's records first: without them, the hosts' sequences. */
	if ((tr = target_read(c, g->name, &target, etag, eb)) == -1)
		goto out;
	if (plan_instances(c, g, from, &d, false, tr == 0, &maxseq,
	    eb) == -1)
		goto out;
	if (d.ninst == 0 && from == NULL && !o->allow_empty) {
		errbuf_set(eb, EK_FAILED, "group '%s' has no live instance "
		    "(no registry entry under 'groups/%s/%s/instances/' seen "
		    "in the last %d minutes): nothing deployed; start its "
		    "hosts, check that their hookd.yml names application "
		    "'%s' and group '%s', or, for an Auto Scaling group at "
		    "zero, record the target with --allow-empty",
		    g->name, c->cfg.application, g->name,
		    DEPLOYER_STALE_SEC / 60, c->cfg.application, g->name);
		goto out;
	}

	if (tr == 1) {
		if ((r = target_active(c, g->name, target, eb)) == -1)
			goto out;
		if (r == 1) {
			in_progress_error(c, g->name, eb);
			goto out;
		}
		tseq = (uint64_t)json_integer_value(json_object_get(target,
		    "sequence"));
		seq = tseq + 1;
		if (json_string_value(json_object_get(target,
		    "deployment_id")) != NULL)
			oldid = xstrdup(json_string_value(json_object_get(
			    target, "deployment_id")));
	}
	if (maxseq >= seq) {
		printf("warning: the store's last sequence in group '%s' is "
		    "%llu but an instance has run sequence %llu: the store "
		    "lost its records (a new bucket or prefix?); this "
		    "deployment gets sequence %llu\n", g->name,
		    (unsigned long long)tseq, (unsigned long long)maxseq,
		    (unsigned long long)(maxseq + 1));
		seq = maxseq + 1;
	}
	/* blue/green: the group's counter when target.json went back. */
	if (o->min_sequence > seq)
		seq = o->min_sequence;
	if (o->id != NULL) {
		if (deployment_id_check("id", o->id, eb) == -1)
			goto out;
		(void)strlcpy(d.id, o->id, sizeof(d.id));
	} else if (deployment_id_new(d.id, eb) == -1)
		goto out;
	d.sequence = seq;
	ts_now(now);
	d.created_at = xstrdup(now);
	d.created_by = who_am_i();
	d.ref = rev->ref != NULL ? xstrdup(rev->ref) : NULL;
	memcpy(d.commit, rev->commit, sizeof(d.commit));
	memcpy(d.sha256, rev->sha256, sizeof(d.sha256));
	d.location = xstrdup(rev->location);
	d.rollback_of = rollback_of != NULL ? xstrdup(rollback_of) : NULL;
	d.description = o->description != NULL ? xstrdup(o->description) :
	    NULL;
	d.source = rev->source != NULL ? xstrdup(rev->source) : NULL;
	d.ignore_stop_failures = o->ignore_stop_failures;
	d.deadline = time(NULL) + (time_t)g->timeout * (time_t)d.nbatches +
	    DEPLOYER_DEADLINE_SLACK + gates_time(g, &d);

	m.deployment_id = xstrdup(d.id);
	m.application = xstrdup(d.application);
	m.group = xstrdup(d.group);
	m.sequence = seq;
	m.location = xstrdup(d.location);
	memcpy(m.sha256, d.sha256, sizeof(m.sha256));
	memcpy(m.commit, d.commit, sizeof(m.commit));
	m.ref = d.ref != NULL ? xstrdup(d.ref) : NULL;
	m.format = BUNDLE_TGZ;
	m.created_at = xstrdup(now);
	m.created_by = xstrdup(d.created_by);
	m.ignore_stop_failures = o->ignore_stop_failures;
	m.no_traffic_control = rev->no_traffic_control;
	if (message_sign(&m, c->cfg.message_key, c->cfg.message_key_len,
	    eb) == -1 || (d.message = message_to_json(&m, eb)) == NULL)
		goto out;

	if ((key = store_key_target(d.application, d.group, eb)) == NULL)
		goto out;
	/* target.json is the message itself: hookd runs it at boot. */
	if (message_serialize(&m, &text, NULL, eb) == -1)
		goto out;
	r = store_put_if(c->store, key, text, strlen(text),
	    etag[0] != '\0' && target != NULL ? etag : STORE_IF_NONE_MATCH,
	    NULL, eb);
	if (r == -1)
		goto out;
	if (r == STORE_CONFLICT) {
		in_progress_error(c, g->name, eb);
		goto out;
	}
	/*
	 * Look for the instances again now that target.json names this
	 * deployment.  An instance that registered after the first look
	 * read the old target at boot: only a message reaches it.  DESIGN's
	 * boot order (queue, then target) closes the scale-out race only if
	 * the deployer lists instances after writing the target.
	 */
	if (from == NULL) {
		plan_reset(&d);
		if (plan_instances(c, g, from, &d, true, tr == 0, &maxseq,
		    eb) == -1)
			goto out;
		d.deadline = time(NULL) + (time_t)g->timeout *
		    (time_t)d.nbatches + DEPLOYER_DEADLINE_SLACK +
		    gates_time(g, &d);
	}
	/* This process drives it until it hands it over (drive.c). */
	if (lease_take(c, &d, eb) == -1 || deployment_save(c, &d, eb) == -1) {
		lease_drop();
		goto out;
	}
	/* The deployment this one replaced, if nobody ended it. */
	if (oldid != NULL && deployment_load(c, g->name, oldid, &old,
	    &e2) == 0 && strcmp(old.status, "InProgress") == 0) {
		free(old.status);
		old.status = xstrdup("Superseded");
		old.superseded_by = xstrdup(d.id);
		ts_now(now);
		old.finished_at = xstrdup(now);
		if (deployment_save(c, &old, &e2) == 0)
			printf("deployment %s, left in progress, is superseded "
			    "by %s\n", old.id, d.id);
	}
	*ret = d;
	memset(&d, 0, sizeof(d));
	ret_code = 0;
 out:
	deployment_release(&d);
	deployment_release(&old);
	message_release(&m);
	if (target != NULL)
		json_decref(target);
	free(key);
	free(text);
	free(oldid);
	return ret_code;
}

/*
 * After a deployment that did not succeed (d, Failed or Stopped) and was
 * not rolled back: point target.json at the last successful revision, so
 * an instance that starts now installs that and not the revision that
 * just failed (CodeDeploy gives new instances the last successful
 * revision).  The message is that deployment's, with d's sequence (the
 * group's counter never goes back) and signed again.  Nothing is changed
 * when target.json no longer names d or there was never a success.
 */
int
target_restore_good(struct dctx *c, const struct deployer_group *g,
    const struct deployment *d, struct errbuf *eb)
{
	struct deployment	*v = NULL;
	struct message		 m;
	json_t			*target = NULL;
	const struct deployment	*good = NULL;
	char			 etag[STORE_ETAG_MAX], *text = NULL;
	char			*key = NULL, *body = NULL;
	const char		*tid;
	size_t			 n = 0;
	int			 r, ret = -1;

	message_init(&m);
	if ((r = target_read(c, g->name, &target, etag, eb)) != 1) {
		ret = r == 0 ? 0 : -1;
		goto out;
	}
	tid = json_string_value(json_object_get(target, "deployment_id"));
	if (tid == NULL || strcmp(tid, d->id) != 0) {
		ret = 0;
		goto out;
	}
	if (deployment_list(c, g->name, &v, &n, eb) == -1)
		goto out;
	for (size_t i = 0; i < n && good == NULL; i++)
		if (v[i].sequence < d->sequence &&
		    strcmp(v[i].status, "Succeeded") == 0 &&
		    v[i].message != NULL)
			good = &v[i];
	if (good == NULL) {
		ret = 0;
		goto out;
	}
	body = json_dumps(good->message, JSON_COMPACT);
	if (body == NULL || message_parse(body, strlen(body), &m, eb) == -1)
		goto out;
	m.sequence = d->sequence;
	free(m.signature);
	m.signature = NULL;
	if (message_sign(&m, c->cfg.message_key, c->cfg.message_key_len,
	    eb) == -1 || message_serialize(&m, &text, NULL, eb) == -1)
		goto out;
	if ((key = store_key_target(c->cfg.application, g->name, eb)) == NULL)
		goto out;
	if ((r = store_put_if(c->store, key, text, strlen(text), etag, NULL,
	    eb)) == -1)
		goto out;
	if (r == 0)
		printf("new instances of group '%s' will install %s, the last "
		    "successful revision (deployment %s)\n", g->name,
		    good->commit[0] != '\0' ? good->commit : good->sha256,
		    good->id);
	ret = 0;
 out:
	message_release(&m);
	deployments_free(v, n);
	if (target != NULL)
		json_decref(target);
	free(body);
	free(text);
	free(key);
	return ret;
}

/*
 * After d failed (or was stopped with rollback): roll the instances
 * that got it back to the previous successful revision when the group
 * (or 'force') says so.  Returns 1 (d failed; eb says how the rollback
 * went: the last line the operator reads).
 */
int
rollback_after(struct dctx *c, const struct deployer_group *g,
    struct deployment *d, bool force, struct errbuf *eb)
{
	struct deployment	 rb = { 0 };
	struct revision		 prev = { 0 };
	char			 previd[DEPLOYMENT_ID_LEN + 1];
	char			*how = NULL;
	size_t			 bad = 0;
	int			 r;

	if (!g->rollback_on_failure && !force) {
		printf("rollback_on_failure is off for group '%s': the group "
		    "is not rolled back; each failed host went back to its "
		    "previous release\n", g->name);
		how = xstrdup("; not rolled back (rollback_on_failure is off)");
		goto out;
	}
	if (previous_success(c, g->name, d->sequence, NULL, &prev, previd,
	    eb) == -1) {
		printf("no rollback: %s\n", eb->msg);
		how = xstrdup("; nothing to roll back to");
		goto out;
	}
	printf("rolling back %s to %s (deployment %s, %s)\n", d->id,
	    prev.commit[0] != '\0' ? prev.commit : prev.sha256, previd,
	    "the previous successful revision");
	fflush(stdout);
	if (deployment_create(c, g, &prev, d->id, d, NULL, &rb, eb) == -1) {
		printf("rollback not started: %s\n", eb->msg);
		how = xasprintf("; rollback not started: %s", eb->msg);
		goto out;
	}
	free(d->rolled_back_by);
	d->rolled_back_by = xstrdup(rb.id);
	(void)deployment_save(c, d, eb);
	printf("rollback deployment %s (sequence %llu) to %zu instance%s\n",
	    rb.id, (unsigned long long)rb.sequence, rb.ninst,
	    rb.ninst == 1 ? "" : "s");
	fflush(stdout);
	/* deployment_create() took the rollback's lease: we drive it. */
	r = rollout_run(c, g, &rb, eb);
	for (size_t i = 0; i < rb.ninst; i++)
		if (rb.inst[i].state != IS_SUCCEEDED)
			bad++;
	if (r == 0)
		how = xasprintf("; rolled back by %s", rb.id);
	else if (r == 1)
		how = xasprintf("; rollback %s FAILED on %zu of %zu "
		    "instance%s", rb.id, bad, rb.ninst, rb.ninst == 1 ? "" :
		    "s");
	else if (r == DRIVE_LEAVE)
		how = xasprintf("; rollback %s interrupted: continue it with "
		    "'deployer resume %s'", rb.id, rb.id);
	else
		how = xasprintf("; rollback %s: %s", rb.id, eb->msg);
 out:
	if (d->rolled_back_by == NULL && target_restore_good(c, g, d,
	    eb) == -1)
		printf("target.json not restored: %s\n", eb->msg);
	if (strcmp(d->status, "Stopped") == 0 && d->reason != NULL)
		/* By a rollout gate: its reason's first line. */
		errbuf_set(eb, EK_FAILED, "deployment %s was stopped by %s: "
		    "%.*s%s", d->id, d->stopped_by != NULL ? d->stopped_by :
		    "a gate", dgates_reason_len(d->reason), d->reason,
		    how != NULL ? how : "");
	else
		errbuf_set(eb, EK_FAILED, "deployment %s %s%s", d->id,
		    strcmp(d->status, "Stopped") == 0 ? "was stopped" :
		    "failed", how != NULL ? how : "");
	revision_release(&prev);
	deployment_release(&rb);
	free(how);
	return 1;
}

/*
 * Create a deployment of rev to the group, roll it out and, when it
 * fails and the group says so, roll the instances that got it back to
 * the previous successful revision.  With o->nowait a detached driver
 * (drive.c) does the rollout.  Returns 0 (succeeded, or handed over),
 * 1 (failed or stopped; eb holds EK_FAILED), -1 (eb set).
 */
/* drive() the new deployment d, and fill o's out_ fields. */
int
deploy_drive(struct dctx *c, const struct deployer_group *g,
    struct deployment *d, struct deploy_opts *o, struct errbuf *eb)
{
	int	 ret;

	memcpy(o->out_id, d->id, sizeof(o->out_id));
	o->out_sequence = d->sequence;
	ret = drive(c, g, d, o, eb);
	(void)strlcpy(o->out_status, o->nowait && ret == 0 ? "InProgress" :
	    d->status, sizeof(o->out_status));
	return ret;
}

int
deploy_and_watch(struct dctx *c, const struct deployer_group *g,
    const struct revision *rev, const char *rollback_of,
    struct deploy_opts *o, struct errbuf *eb)
{
	struct deployment	 d = { 0 };
	int			 ret = -1;

	/* Gates that cannot run refuse it before anything is created. */
	if (rollback_of == NULL && dgates_ready(c, g, eb) == -1)
		goto out;
	if (deployment_create(c, g, rev, rollback_of, NULL, o, &d, eb) == -1)
		goto out;
	printf("deployment %s (sequence %llu) of %s to %s: %zu instance%s, "
	    "%s, %zu batch%s\n", d.id, (unsigned long long)d.sequence,
	    rev->commit[0] != '\0' ? rev->commit : rev->sha256, g->name,
	    d.ninst, d.ninst == 1 ? "" : "s", d.config_name, d.nbatches,
	    d.nbatches == 1 ? "" : "es");
	if (d.ninst == 0)
		printf("no live instance in group '%s': target recorded "
		    "(--allow-empty), new instances will deploy it when they "
		    "start\n", g->name);
	if (arg_verbose > 0) {
		/* -v: the plan and where everything is. */
		printf("  store %s: groups/%s/%s/target.json, "
		    "deployments/%s/%s/%s/\n", c->cfg.store, d.application,
		    d.group, d.application, d.group, d.id);
		printf("  revision %s\n", d.location);
		for (size_t i = 0; i < d.ninst; i++)
			printf("  batch %zu: %s (queue %s)\n",
			    d.inst[i].batch + 1, d.inst[i].name,
			    d.inst[i].queue != NULL ? d.inst[i].queue : "-");
	}
	fflush(stdout);
	ret = deploy_drive(c, g, &d, o, eb);
 out:
	deployment_release(&d);
	return ret;
}

char *
deploy_json(const struct deploy_opts *o, int exitcode,
    const struct errbuf *eb)
{
	json_t	*j;
	char	*text;

	j = json_pack("{s:s?, s:I, s:s?, s:i, s:s?}", "deployment_id",
	    o->out_id[0] != '\0' ? o->out_id : NULL, "sequence",
	    (json_int_t)o->out_sequence, "status", o->out_status[0] != '\0' ?
	    o->out_status : NULL, "exit_status", exitcode, "message",
	    exitcode != 0 ? eb->msg : NULL);
	if (j == NULL || (text = json_dumps(j, JSON_INDENT(2) |
	    JSON_SORT_KEYS)) == NULL)
		abort();
	json_decref(j);
	return text;
}
