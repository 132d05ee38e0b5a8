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

#include "config.h"
#include "deployer.h"
#include "errbuf.h"
#include "message.h"
#include "names.h"
#include "rollout.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

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
	if (gethostname(host, sizeof(host)) == -1)
		(void)strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	return xasprintf("%s@%s", user, host);
}

/* Free the contents of a revision; safe on a zeroed one. */
void
revision_release(struct revision *r)
{
	free(r->ref);
	free(r->location);
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
	json_t		*t = NULL;
	const char	*id = "d-?", *by = NULL;

	if (target_read(c, group, &t, NULL, eb) == 1) {
		id = json_string_value(json_object_get(t, "deployment_id"));
		by = json_string_value(json_object_get(t, "created_by"));
	}
	errbuf_set(eb, EK_TEMP, "deployment %s is in progress in group '%s'%s"
	    "%s; wait for it ('deployer status %s --watch') and try again",
	    id != NULL ? id : "d-?", group, by != NULL ? ", started by " : "",
	    by != NULL ? by : "", id != NULL ? id : "");
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

/* Fill d->inst and the batches: all instances, or those 'from' got. */
static int
plan_instances(struct dctx *c, const struct deployer_group *g,
    const struct deployment *from, struct deployment *d, struct errbuf *eb)
{
	struct deploy_config	 all = { .kind = DC_ALL_AT_ONCE };
	struct reginst		*ri = NULL;
	size_t			 nri = 0, *sizes = NULL, k = 0;

	if (from != NULL) {
		d->inst = xcalloc(from->ninst + 1, sizeof(*d->inst));
		for (size_t i = 0; i < from->ninst; i++) {
			if (from->batch_sent[from->inst[i].batch] == 0)
				continue;
			d->inst[d->ninst].name = xstrdup(from->inst[i].name);
			d->inst[d->ninst].queue = from->inst[i].queue != NULL ?
			    xstrdup(from->inst[i].queue) : NULL;
			d->ninst++;
		}
	} else {
		if (instances_find(c, g->name, false, &ri, &nri, eb) == -1)
			return -1;
		d->inst = xcalloc(nri + 1, sizeof(*d->inst));
		for (size_t i = 0; i < nri; i++) {
			d->inst[i].name = ri[i].name;
			d->inst[i].queue = ri[i].queue;
			ri[i].name = ri[i].queue = NULL;
		}
		d->ninst = nri;
		reginsts_free(ri, nri);
	}
	/* A rollback goes to instances that got the failed revision. */
	if (d->ninst == 0 && from != NULL)
		return errbuf_set(eb, EK_NOINPUT, "deployment %s was sent "
		    "to no instance: nothing to roll back", from->id);
	/* A rollback restores every instance at once. */
	if (rollout_plan(from != NULL ? &all : &g->dc, d->ninst, &sizes,
	    &d->nbatches, eb) == -1)
		return errbuf_prefix(eb, "group '%s': ", g->name);
	d->batch_sent = xcalloc(d->nbatches, sizeof(*d->batch_sent));
	for (size_t b = 0; b < d->nbatches; b++)
		for (size_t j = 0; j < sizes[b]; j++)
			d->inst[k++].batch = b;
	free(sizes);
	d->config_name = xstrdup(from != NULL ? "AllAtOnce (rollback)" :
	    deploy_config_name(&g->dc));
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
    const struct deployment *from, struct deployment *ret, struct errbuf *eb)
{
	struct deployment	 d = { 0 };
	struct message		 m;
	json_t			*target = NULL;
	char			 etag[STORE_ETAG_MAX] = "", now[32];
	char			*key = NULL, *text = NULL;
	uint64_t		 seq = 1;
	int			 r, ret_code = -1;

	message_init(&m);
	d.application = xstrdup(c->cfg.application);
	d.group = xstrdup(g->name);
	d.status = xstrdup("InProgress");
	d.timeout = g->timeout;
	if (plan_instances(c, g, from, &d, eb) == -1)
		goto out;

	if ((r = target_read(c, g->name, &target, etag, eb)) == -1)
		goto out;
	if (r == 1) {
		if ((r = target_active(c, g->name, target, eb)) == -1)
			goto out;
		if (r == 1) {
			in_progress_error(c, g->name, eb);
			goto out;
		}
		seq = (uint64_t)json_integer_value(json_object_get(target,
		    "sequence")) + 1;
	}
	if (deployment_id_new(d.id, eb) == -1)
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
	d.deadline = time(NULL) + (time_t)g->timeout * (time_t)d.nbatches +
	    DEPLOYER_DEADLINE_SLACK;

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
		if (plan_instances(c, g, from, &d, eb) == -1)
			goto out;
		d.deadline = time(NULL) + (time_t)g->timeout *
		    (time_t)d.nbatches + DEPLOYER_DEADLINE_SLACK;
	}
	if (deployment_save(c, &d, eb) == -1)
		goto out;
	*ret = d;
	memset(&d, 0, sizeof(d));
	ret_code = 0;
 out:
	deployment_release(&d);
	message_release(&m);
	if (target != NULL)
		json_decref(target);
	free(key);
	free(text);
	return ret_code;
}

/*
 * Create a deployment of rev to the group, roll it out and, when it
 * fails and the group says so, roll the instances that got it back to
 * the previous successful revision.  Returns 0 (succeeded, or sent with
 * nowait), 1 (failed; eb holds EK_FAILED), -1 (eb set).
 */
int
deploy_and_watch(struct dctx *c, const struct deployer_group *g,
    const struct revision *rev, const char *rollback_of, bool nowait,
    struct errbuf *eb)
{
	struct deployment	 d = { 0 }, rb = { 0 };
	struct revision		 prev = { 0 };
	char			 previd[DEPLOYMENT_ID_LEN + 1];
	int			 r, ret = -1;

	if (deployment_create(c, g, rev, rollback_of, NULL, &d, eb) == -1)
		goto out;
	printf("deployment %s (sequence %llu) of %s to %s: %zu instance%s, "
	    "%s, %zu batch%s\n", d.id, (unsigned long long)d.sequence,
	    rev->commit[0] != '\0' ? rev->commit : rev->sha256, g->name,
	    d.ninst, d.ninst == 1 ? "" : "s", d.config_name, d.nbatches,
	    d.nbatches == 1 ? "" : "es");
	if (d.ninst == 0)
		printf("no instances registered in group '%s' (no registry "
		    "entry under 'groups/%s/%s/instances/', no queue named "
		    "'%s-%s-*'): target recorded, new instances will deploy "
		    "it when they start\n", g->name, c->cfg.application,
		    g->name, c->cfg.queue_prefix, g->name);
	fflush(stdout);
	if ((r = rollout_run(c, g, &d, nowait, eb)) != 1) {
		ret = r;
		goto out;
	}
	ret = 1;
	if (!g->rollback_on_failure) {
		printf("rollback_on_failure is off for group '%s': nothing "
		    "rolled back\n", g->name);
		goto out;
	}
	if (previous_success(c, g->name, d.sequence, NULL, &prev, previd,
	    eb) == -1) {
		printf("no rollback: %s\n", eb->msg);
		goto out;
	}
	printf("rolling back %s to %s (deployment %s, %s)\n", d.id,
	    prev.commit[0] != '\0' ? prev.commit : prev.sha256, previd,
	    "the previous successful revision");
	fflush(stdout);
	if (deployment_create(c, g, &prev, d.id, &d, &rb, eb) == -1) {
		printf("rollback not started: %s\n", eb->msg);
		goto out;
	}
	free(d.rolled_back_by);
	d.rolled_back_by = xstrdup(rb.id);
	(void)deployment_save(c, &d, eb);
	printf("rollback deployment %s (sequence %llu) to %zu instance%s\n",
	    rb.id, (unsigned long long)rb.sequence, rb.ninst,
	    rb.ninst == 1 ? "" : "s");
	fflush(stdout);
	if (rollout_run(c, g, &rb, false, eb) == -1)
		printf("rollback %s: %s\n", rb.id, eb->msg);
 out:
	if (ret == 1)
		errbuf_set(eb, EK_FAILED, "deployment %s failed%s%s", d.id,
		    rb.id[0] != '\0' ? "; rolled back by " : "", rb.id);
	revision_release(&prev);
	deployment_release(&d);
	deployment_release(&rb);
	return ret;
}
