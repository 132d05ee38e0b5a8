/* SPDX-License-Identifier: ISC */
/*
 * bluegreen.c: the blue/green rollout (strategy: blue_green): a new Auto
 * Scaling group per release, traffic switched when it is healthy, the
 * old group kept for a fast rollback.
 *
 * The group's pointer, groups/APP/GROUP/blue_green.json, names the Auto
 * Scaling group that serves ("serving", with the deployment it runs)
 * and the one kept after the last cut-over ("standby", until when); the
 * first deployment starts from blue_green.auto_scaling_group.  Each
 * rollout keeps a journal, deployments/APP/GROUP/ID/blue_green.json:
 * blue, green, the phase, blue's target groups and CLBs, the processes
 * this rollout suspended.  It is written before each step that changes
 * AWS, so a deployer killed at any moment is finished or undone by
 * `deployer resume ID` from it.
 *
 * A rollout: (1) the bundle and target.json as for in-place, but no
 * message to blue's instances; (2) green = a copy of blue (launch
 * template or configuration, sizes, subnets, health check, tags, plus
 * hookd:group and hookd:deployment) created at size 0, blue's lifecycle
 * hooks put on it, then sized like blue, so no instance starts unheld;
 * (3) every green instance InService within ready_timeout (each one's
 * hookd caught up with target.json under the launch hook; an abandoned
 * one is replaced by Auto Scaling and shown); (4) wait_before_cutover
 * or `deployer continue ID`; (5) blue's Launch, Terminate,
 * ReplaceUnhealthy and AZRebalance suspended, blue's target groups and
 * CLBs attached to green, every green target healthy, then detached
 * from blue and blue's targets drained ("draining" is not done), the
 * processes resumed; (6) blue kept for keep_blue, then scaled to 0,
 * waited empty and deleted (never forced), with no other deployer
 * command: a one-time scheduled action on blue (hookd-retire-BLUE) has
 * Auto Scaling empty it at the deadline even if this machine is gone,
 * and a detached retirer (setsid, its log beside --no-wait's) waits
 * for the deadline and for any deployment of the group in progress,
 * claims blue in the pointer if it is still the standby, and retires
 * it; the next rollout, status or rollback after the deadline does the
 * same (the backstop); that retirement is standby.c's.  keep_blue 0: at once.
 * A failure before the cut-over deletes green (or keeps it with --keep-failed);
 * during it, blue is put back in traffic first; on every exit that leaves blue
 * serving, target.json is put back to exactly what it was before (journalled as
 * target_before before it was replaced), or removed when there was none.
 *
 * `deployer rollback GROUP` while the standby exists (and is not the
 * release a rollback swapped out) is a swap back whatever the history:
 * its scheduled action deleted first, then the cut-over the other way.
 * The pointer's "swapping" (the rollback's id, while its driver lives)
 * and "retiring" (a group being retired, with the process retiring it,
 * taken over once that process is gone) keep a retirer, a rollback and
 * a new rollout off each other's groups; "sequence" keeps the group's
 * counter going when target.json went back.
 */
#include "compat.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "aws/asg.h"
#include "aws/asg_bg.h"
#include "aws/client.h"
#include "aws/elb.h"
#include "bluegreen.h"
#include "config.h"
#include "deployer.h"
#include "errbuf.h"
#include "gates.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

#define BG_SCHEMA		"hookd.blue-green/1"
#define BG_DOC_MAX		(256 * 1024)
#define BG_POLL_MS		1000	/* AWS polls; HOOKD_BG_POLL_MS */

static const char *const bg_procs[] = { "Launch", "Terminate",
	"ReplaceUnhealthy", "AZRebalance" };

/* The rollout's journal (deployments/APP/GROUP/ID/blue_green.json). */
struct bgj {
	char		*blue;
	char		*green;
	char		*phase;		/* see the phases below */
	char		*blue_deployment;	/* what blue runs, or NULL */
	struct asg_strs	 tgs;		/* blue's target groups at start */
	struct asg_strs	 lbs;		/* blue's CLBs at start */
	struct asg_strs	 suspended;	/* processes we suspended on blue */
	bool		 cont;		/* deployer continue */
	bool		 keep_failed;
	unsigned	 wait_s;	/* healthy / drained: ready_timeout */
	bool		 tb_recorded;	/* target_before was read */
	char		*target_before;	/* target.json before, NULL: none */
	bool		 swap_back;	/* a rollback: serving to standby */
	bool		 swap_known;	/* its revision is known */
};

/*
 * Phases: "launching" (green created or being created), "ready" (every
 * green instance InService), "cutover" (blue's processes suspended,
 * traffic moving), "serving" (green serves, blue on standby), "failed"
 * (green cleaned or kept), "rolledback".
 */

unsigned
poll_ms(void)
{
	const char	*s;
	uint64_t	 v;

	if ((s = secure_getenv("HOOKD_BG_POLL_MS")) != NULL &&
	    parse_u64(s, 10, 60000, &v) == 0)
		return (unsigned)v;
	return BG_POLL_MS;
}

/*
 * The deployment being driven, for drive_tick() (the one driver:
 * the lease renewed, stop and Ctrl-C seen) at every poll.  A stop or a
 * leave asked during the cut-over waits until the swap is done.
 */
static struct {
	struct dctx		*c;
	struct deployment	*d;
	bool			 critical;	/* in the cut-over */
	int			 asked;		/* DRIVE_* seen, or 0 */
} T;

/* drive_tick() for the deployment being driven; also the gates' tick. */
static void
tick(void *arg)
{
	struct errbuf	 e2 = { 0 };
	int		 r;

	if (T.d == NULL)
		return;
	r = drive_tick(T.c, T.d, &e2);
	if (r == DRIVE_LOST || r == -1 || (r != 0 && T.asked == 0))
		T.asked = r == -1 ? DRIVE_LOST : r;
}

/* The gates' stopped(): a stop, a leave or a lost lease was seen. */
static bool
tick_asked(void *arg)
{
	return T.asked != 0;
}

/* A forked retirer drives no deployment: forget the one being driven. */
void
bg_untrack(void)
{
	memset(&T, 0, sizeof(T));
}

void
nap(void)
{
	(void)poll(NULL, 0, (int)poll_ms());
	tick(NULL);
}

/* Whether a poll loop must give up now (0: go on). */
static int
asked(struct errbuf *eb)
{
	if (T.asked == 0 || (T.critical && T.asked != DRIVE_LOST))
		return 0;
	return errbuf_set(eb, EK_FAILED, "%s", T.asked == DRIVE_LOST ?
	    "another deployer drives this deployment now (lease lost)" :
	    T.asked == DRIVE_LEAVE ? "interrupted" : "stopped by 'deployer "
	    "stop'");
}

static void
strs_free(struct asg_strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static void
strs_add(struct asg_strs *s, const char *v)
{
	s->v = xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = xstrdup(v);
}

static void
strs_copy(struct asg_strs *dst, const struct asg_strs *src)
{
	strs_free(dst);
	for (size_t i = 0; i < src->n; i++)
		strs_add(dst, src->v[i]);
}

static bool
strs_has(const struct asg_strs *s, const char *v)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], v) == 0)
			return true;
	return false;
}

static json_t *
strs_json(const struct asg_strs *s)
{
	json_t	*a = json_array();

	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(a, json_string(s->v[i]));
	return a;
}

static void
strs_from(struct asg_strs *s, json_t *a)
{
	size_t	 i;
	json_t	*v;

	json_array_foreach(a, i, v)
		if (json_is_string(v))
			strs_add(s, json_string_value(v));
}

static char *
jdup(json_t *o, const char *k)
{
	const char	*s = json_string_value(json_object_get(o, k));

	return s != NULL ? xstrdup(s) : NULL;
}

void
setstr(char **p, const char *v)
{
	free(*p);
	*p = v != NULL ? xstrdup(v) : NULL;
}

/* --- store documents ------------------------------------------------ */

static int
doc_read(struct dctx *c, const char *key, json_t **ret,
    char etag[STORE_ETAG_MAX], struct errbuf *eb)
{
	json_error_t	 je;
	char		*data = NULL;
	size_t		 len;

	if (store_get(c->store, key, BG_DOC_MAX, &data, &len, etag,
	    eb) == -1)
		return -1;
	*ret = json_loadb(data, len, 0, &je);
	free(data);
	if (*ret == NULL || !json_is_object(*ret)) {
		if (*ret != NULL)
			json_decref(*ret);
		return errbuf_set(eb, EK_DATA, "'%s': not a JSON object: %s",
		    key, je.text);
	}
	return 0;
}

/* Write o at key; with if_match, only if it still has that ETag. */
static int
doc_write(struct dctx *c, const char *key, json_t *o, const char *if_match,
    char ret_etag[STORE_ETAG_MAX], struct errbuf *eb)
{
	char	*text;
	int	 r;

	json_object_set_new(o, "schema", json_string(BG_SCHEMA));
	if ((text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL)
		return errbuf_set(eb, EK_BUG, "cannot serialise '%s'", key);
	if (if_match != NULL)
		r = store_put_if(c->store, key, text, strlen(text), if_match,
		    ret_etag, eb);
	else
		r = store_put(c->store, key, text, strlen(text), ret_etag, eb);
	free(text);
	return r;
}

static char *
journal_key(struct dctx *c, const struct deployment *d)
{
	return xasprintf("deployments/%s/%s/%s/blue_green.json",
	    c->cfg.application, d->group, d->id);
}

static char *
pointer_key(struct dctx *c, const char *group)
{
	return xasprintf("groups/%s/%s/blue_green.json", c->cfg.application,
	    group);
}

static void
bgj_release(struct bgj *j)
{
	free(j->blue);
	free(j->green);
	free(j->phase);
	free(j->blue_deployment);
	free(j->target_before);
	strs_free(&j->tgs);
	strs_free(&j->lbs);
	strs_free(&j->suspended);
	memset(j, 0, sizeof(*j));
}

static int
journal_save(struct dctx *c, const struct deployment *d,
    const struct bgj *j, struct errbuf *eb)
{
	json_t	*o;
	char	*key, now[32];
	int	 r;

	ts_now(now);
	o = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:o, s:o, s:o, s:b, "
	    "s:b, s:s}", "deployment", d->id, "blue", j->blue, "green",
	    j->green, "phase", j->phase, "blue_deployment",
	    j->blue_deployment, "target_groups", strs_json(&j->tgs),
	    "load_balancers", strs_json(&j->lbs), "suspended",
	    strs_json(&j->suspended), "continue", j->cont, "keep_failed",
	    j->keep_failed, "updated_at", now);
	if (j->tb_recorded)
		json_object_set_new(o, "target_before", j->target_before !=
		    NULL ? json_string(j->target_before) : json_null());
	if (j->swap_back) {
		json_object_set_new(o, "swap_back", json_true());
		json_object_set_new(o, "revision_known",
		    json_boolean(j->swap_known));
	}
	key = journal_key(c, d);
	r = doc_write(c, key, o, NULL, NULL, eb);
	json_decref(o);
	free(key);
	return r;
}

/* 0 read, -1 eb (EK_NOINPUT: not a blue/green deployment). */
static int
journal_load(struct dctx *c, const struct deployment *d, struct bgj *j,
    struct errbuf *eb)
{
	json_t	*o;
	char	*key = journal_key(c, d);
	int	 r;

	memset(j, 0, sizeof(*j));
	r = doc_read(c, key, &o, NULL, eb);
	free(key);
	if (r == -1)
		return -1;
	j->tb_recorded = json_object_get(o, "target_before") != NULL;
	j->target_before = jdup(o, "target_before");
	j->blue = jdup(o, "blue");
	j->green = jdup(o, "green");
	j->phase = jdup(o, "phase");
	j->blue_deployment = jdup(o, "blue_deployment");
	strs_from(&j->tgs, json_object_get(o, "target_groups"));
	strs_from(&j->lbs, json_object_get(o, "load_balancers"));
	strs_from(&j->suspended, json_object_get(o, "suspended"));
	j->cont = json_is_true(json_object_get(o, "continue"));
	j->keep_failed = json_is_true(json_object_get(o, "keep_failed"));
	j->swap_back = json_is_true(json_object_get(o, "swap_back"));
	j->swap_known = json_is_true(json_object_get(o, "revision_known"));
	json_decref(o);
	if (j->blue == NULL || j->phase == NULL) {
		bgj_release(j);
		return errbuf_set(eb, EK_DATA, "blue/green journal of %s: no "
		    "blue group or phase", d->id);
	}
	return 0;
}

void
bgp_release(struct bgp *p)
{
	free(p->serving);
	free(p->serving_deployment);
	free(p->standby);
	free(p->standby_deployment);
	free(p->scheduled_action);
	free(p->retirer_host);
	free(p->retirer_log);
	free(p->retiring);
	free(p->retiring_host);
	free(p->swapping);
	memset(p, 0, sizeof(*p));
}

/* Forget how the standby group was to be retired. */
void
bgp_clear_standby(struct bgp *p)
{
	setstr(&p->standby, NULL);
	setstr(&p->standby_deployment, NULL);
	p->standby_rolled_back = false;
	setstr(&p->scheduled_action, NULL);
	setstr(&p->retirer_host, NULL);
	setstr(&p->retirer_log, NULL);
	p->retirer_pid = 0;
	p->standby_until = 0;
}

/* 1 read, 0 absent, -1 eb. */
int
pointer_read(struct dctx *c, const char *group, struct bgp *p,
    struct errbuf *eb)
{
	json_t	*o;
	char	*key = pointer_key(c, group);
	int	 r;

	memset(p, 0, sizeof(*p));
	r = doc_read(c, key, &o, p->etag, eb);
	free(key);
	if (r == -1)
		return eb->kind == EK_NOINPUT ? 0 : -1;
	p->exists = true;
	p->scheduled_action = jdup(o, "scheduled_action");
	p->retirer_pid = (long)json_integer_value(json_object_get(o,
	    "retirer_pid"));
	p->retirer_host = jdup(o, "retirer_host");
	p->retirer_log = jdup(o, "retirer_log");
	p->retiring = jdup(o, "retiring");
	p->retiring_pid = (long)json_integer_value(json_object_get(o,
	    "retiring_pid"));
	p->retiring_host = jdup(o, "retiring_host");
	p->retiring_start = (unsigned long long)json_integer_value(
	    json_object_get(o, "retiring_start"));
	p->retiring_at = ts_parse(json_string_value(json_object_get(o,
	    "retiring_at")));
	p->swapping = jdup(o, "swapping");
	p->standby_rolled_back = json_is_true(json_object_get(o,
	    "standby_rolled_back"));
	p->sequence = (uint64_t)json_integer_value(json_object_get(o,
	    "sequence"));
	p->serving = jdup(o, "serving");
	p->serving_deployment = jdup(o, "serving_deployment");
	p->standby = jdup(o, "standby");
	p->standby_deployment = jdup(o, "standby_deployment");
	p->standby_until = ts_parse(json_string_value(json_object_get(o,
	    "standby_until")));
	json_decref(o);
	return 1;
}

static int
pointer_write(struct dctx *c, const char *group, struct bgp *p,
    struct errbuf *eb)
{
	json_t	*o;
	char	*key, until[32] = "", now[32], at[32];
	int	 r;

	if (p->standby != NULL && p->standby_until != 0)
		ts_format(p->standby_until, until);
	ts_now(now);
	o = json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, "
	    "s:s?, s:s?, s:I, s:s}", "serving", p->serving,
	    "serving_deployment",
	    p->serving_deployment, "standby", p->standby,
	    "standby_deployment", p->standby_deployment, "standby_until",
	    until[0] != '\0' ? until : NULL, "scheduled_action",
	    p->scheduled_action, "retirer_host", p->retirer_host,
	    "retirer_log", p->retirer_log, "retiring", p->retiring,
	    "swapping", p->swapping, "sequence", (json_int_t)p->sequence,
	    "updated_at", now);
	if (p->standby_rolled_back)
		json_object_set_new(o, "standby_rolled_back", json_true());
	if (p->retirer_pid > 0)
		json_object_set_new(o, "retirer_pid",
		    json_integer(p->retirer_pid));
	if (p->retiring != NULL && p->retiring_pid > 0) {
		ts_format(p->retiring_at, at);
		json_object_set_new(o, "retiring_pid",
		    json_integer(p->retiring_pid));
		json_object_set_new(o, "retiring_host",
		    json_string(p->retiring_host != NULL ? p->retiring_host :
		    ""));
		json_object_set_new(o, "retiring_start",
		    json_integer((json_int_t)p->retiring_start));
		json_object_set_new(o, "retiring_at", json_string(at));
	}
	key = pointer_key(c, group);
	r = doc_write(c, key, o, p->exists ? p->etag : STORE_IF_NONE_MATCH,
	    p->etag, eb);
	if (r == 0)
		p->exists = true;
	json_decref(o);
	free(key);
	return r;
}

/*
 * Change the pointer with edit(p, arg) (1: write it, 0: leave it) and
 * write it if nobody wrote it meanwhile, else read it and edit again.
 * *ret (may be NULL) gets the pointer as left.  0, or -1 with eb.
 */
int
pointer_update(struct dctx *c, const char *group,
    int (*edit)(struct bgp *, void *), void *arg, struct bgp *ret,
    struct errbuf *eb)
{
	struct bgp	 p;
	int		 r;

	for (int i = 0; i < 20; i++) {
		if (pointer_read(c, group, &p, eb) == -1)
			return -1;
		r = edit(&p, arg) == 1 ? pointer_write(c, group, &p, eb) : 0;
		if (r == 0 && ret != NULL)
			*ret = p;
		else
			bgp_release(&p);
		if (r != STORE_CONFLICT)
			return r;
		if (i > 2)
			nap();
	}
	return errbuf_set(eb, EK_TEMP, "the blue/green pointer of group "
	    "'%s' changed at each of 20 tries", group);
}

/* --- Auto Scaling steps --------------------------------------------- */

static int
aws_ready(struct dctx *c, struct errbuf *eb)
{
	struct aws_client_config ac = { 0 };

	if (c->aws != NULL)
		return 0;
	ac.region = c->cfg.region;
	ac.sqs_protocol = c->cfg.sqs_protocol;
	if ((c->aws = aws_client_new(&ac, eb)) == NULL)
		return errbuf_prefix(eb, "blue/green needs AWS: ");
	return 0;
}

/* "<base>-<id>": base is the configured group, else blue's name. */
static char *
green_name(const struct deployer_group *g, const char *blue,
    const char *id)
{
	const char	*base = g->bg.auto_scaling_group;
	size_t		 n;

	if (base != NULL)
		return xasprintf("%s-%s", base, id);
	n = strlen(blue);
	/* web-d-XXXXXXXXX: strip the previous deployment's id */
	if (n > 12 && strncmp(blue + n - 12, "-d-", 3) == 0)
		n -= 12;
	return xasprintf("%.*s-%s", (int)n, blue, id);
}

/*
 * Create green from blue: at size 0, with blue's lifecycle hooks, then
 * sized like blue.  An existing green (a resumed rollout) is kept.
 */
static int
green_create(struct dctx *c, const struct deployment *d,
    const struct asg_group *blue, const char *green, struct errbuf *eb)
{
	struct asg_group	 spec, cur;
	struct asg_hooks	 hooks = { 0 };
	struct asg_hook		 h;
	struct asg_tag		*tags;
	char			*gtag;
	size_t			 nt = 0, launch = 0;
	int			 r, ret = -1;

	r = asg_describe_group(c->aws, green, &cur, eb);
	if (r == -1)
		return -1;
	if (r == 0) {
		asg_group_release(&cur);
		printf("green group '%s' exists already: kept\n", green);
		return 0;
	}
	if (asg_describe_lifecycle_hooks(c->aws, blue->name, &hooks,
	    eb) == -1)
		return errbuf_prefix(eb, "blue group '%s': ", blue->name);
	gtag = xasprintf("%s/%s", c->cfg.application, d->group);
	tags = xcalloc(blue->ntags + 2, sizeof(*tags));
	for (size_t i = 0; i < blue->ntags; i++) {
		if (strncmp(blue->tags[i].key, "aws:", 4) == 0 ||
		    strcmp(blue->tags[i].key, "hookd:group") == 0 ||
		    strcmp(blue->tags[i].key, "hookd:deployment") == 0)
			continue;
		tags[nt++] = blue->tags[i];
	}
	tags[nt].key = (char *)(uintptr_t)"hookd:group";
	tags[nt++].value = gtag;
	tags[nt].key = (char *)(uintptr_t)"hookd:deployment";
	tags[nt++].value = (char *)(uintptr_t)d->id;
	spec = *blue;
	spec.name = (char *)(uintptr_t)green;
	spec.min_size = spec.desired = 0;
	spec.tags = tags;
	spec.ntags = nt;
	memset(&spec.target_groups, 0, sizeof(spec.target_groups));
	memset(&spec.load_balancers, 0, sizeof(spec.load_balancers));
	/* The id names one template; its name would be a second lookup. */
	if (spec.lt_id != NULL)
		spec.lt_name = NULL;
	if (asg_create_group(c->aws, &spec, eb) == -1)
		goto out;
	for (size_t i = 0; i < hooks.n; i++) {
		h = hooks.v[i];
		h.group = (char *)(uintptr_t)green;
		if (h.transition != NULL && strcmp(h.transition,
		    "autoscaling:EC2_INSTANCE_LAUNCHING") == 0)
			launch++;
		if (asg_put_lifecycle_hook(c->aws, &h, eb) == -1) {
			errbuf_prefix(eb, "green group '%s': ", green);
			goto out;
		}
	}
	if (launch == 0)
		printf("warning: blue group '%s' has no launch lifecycle hook: "
		    "green instances go InService without waiting for hookd "
		    "(deployer setup %s --auto-scaling-group %s)\n", blue->name,
		    d->group, blue->name);
	if (asg_update_sizes(c->aws, green, blue->min_size, blue->max_size,
	    blue->desired, eb) == -1)
		goto out;
	printf("green group '%s' created from '%s' (%s %s, %ld..%ld, "
	    "desired %ld, %zu lifecycle hook%s)\n", green, blue->name,
	    blue->launch_configuration != NULL ? "launch configuration" :
	    "launch template", blue->launch_configuration != NULL ?
	    blue->launch_configuration : blue->lt_id != NULL ? blue->lt_id :
	    blue->lt_name, blue->min_size, blue->max_size, blue->desired,
	    hooks.n, hooks.n == 1 ? "" : "s");
	fflush(stdout);
	ret = 0;
 out:
	asg_hooks_release(&hooks);
	free(tags);
	free(gtag);
	return ret;
}

/* Add green's instances to d (as they appear) and read their progress. */
static void
track_instances(struct dctx *c, struct deployment *d,
    const struct asg_group *grp)
{
	struct errbuf	 e2 = { 0 };
	bool		 known;

	for (size_t i = 0; i < grp->ninstances; i++) {
		known = false;
		for (size_t k = 0; k < d->ninst && !known; k++)
			known = strcmp(d->inst[k].name,
			    grp->instances[i].instance_id) == 0;
		if (known)
			continue;
		d->inst = xreallocarray(d->inst, d->ninst + 1,
		    sizeof(*d->inst));
		memset(&d->inst[d->ninst], 0, sizeof(*d->inst));
		d->inst[d->ninst].name = xstrdup(grp->instances[i].instance_id);
		d->inst[d->ninst].state = IS_SENT;
		d->inst[d->ninst].started = time(NULL);
		d->ninst++;
		printf("green instance %s launched (%s)\n",
		    grp->instances[i].instance_id,
		    grp->instances[i].lifecycle_state != NULL ?
		    grp->instances[i].lifecycle_state : "?");
	}
	for (size_t k = 0; k < d->ninst; k++) {
		enum inst_state	 was = d->inst[k].state;
		bool		 present = false;

		if (inst_final(was))
			continue;
		for (size_t i = 0; i < grp->ninstances; i++)
			present = present || strcmp(d->inst[k].name,
			    grp->instances[i].instance_id) == 0;
		(void)progress_read(c, d, &d->inst[k], &e2);
		if (d->inst[k].state == IS_FAILED)
			printf("green instance %s: catch-up failed in %s%s%s: "
			    "%s; Auto Scaling replaces it\n", d->inst[k].name,
			    d->inst[k].event != NULL ? d->inst[k].event : "?",
			    d->inst[k].script != NULL ? ", " : "",
			    d->inst[k].script != NULL ? d->inst[k].script : "",
			    d->inst[k].message != NULL ? d->inst[k].message :
			    "no reason given");
		else if (!present) {
			d->inst[k].state = IS_FAILED;
			setstr(&d->inst[k].message, "left the group "
			    "(abandoned or terminated)");
			printf("green instance %s left the group before it "
			    "was InService; Auto Scaling replaces it\n",
			    d->inst[k].name);
		}
	}
	fflush(stdout);
}

/*
 * Wait until every instance of green is InService and there are as many
 * as desired.  0, 1 (ready_timeout passed: eb says what was missing),
 * -1 (eb).
 */
static int
wait_ready(struct dctx *c, const struct deployer_group *g,
    struct deployment *d, const char *green, struct errbuf *eb)
{
	struct asg_group	 grp;
	time_t			 deadline;
	size_t			 ins;

	deadline = time(NULL) + (time_t)g->bg.ready_timeout;
	for (;;) {
		if (asg_describe_group(c->aws, green, &grp, eb) != 0)
			return -1;
		track_instances(c, d, &grp);
		ins = asg_group_count(&grp, "InService");
		if (ins == grp.ninstances && (long)ins >= grp.desired) {
			printf("green group '%s': %zu of %ld instance%s "
			    "InService\n", green, ins, grp.desired,
			    grp.desired == 1 ? "" : "s");
			for (size_t k = 0; k < d->ninst; k++)
				if (d->inst[k].state != IS_FAILED)
					d->inst[k].state = IS_SUCCEEDED;
			asg_group_release(&grp);
			fflush(stdout);
			return 0;
		}
		if (time(NULL) >= deadline) {
			errbuf_set(eb, EK_FAILED, "green group '%s': %zu of "
			    "%ld instances InService after ready_timeout "
			    "%u s", green, ins, grp.desired,
			    g->bg.ready_timeout);
			asg_group_release(&grp);
			return 1;
		}
		asg_group_release(&grp);
		nap();
		if (asked(eb) != 0)
			return -1;
	}
}

/*
 * Wait for wait_before_cutover, or for deployer continue, with the
 * rollout gates (alarms, health_check) checked as in-place checks them
 * while a batch bakes: at once, every gate_interval and at the end of
 * wait_before_cutover (after a manual continue: once).  0 go, 1 a gate
 * failed (*gr, eb), -1 (eb).
 */
static int
gate(struct dctx *c, const struct deployer_group *g,
    const struct deployment *d, struct bgj *j, struct dgates *dg,
    struct gate_result *gr, struct errbuf *eb)
{
	struct bgj	 now;
	time_t		 until;
	unsigned	 secs;
	int		 r;

	if (g->bg.manual_cutover && !j->cont) {
		printf("green is ready; waiting for 'deployer continue %s' "
		    "to move traffic\n", d->id);
		fflush(stdout);
		for (;;) {
			if (journal_load(c, d, &now, eb) == -1)
				return -1;
			if (now.cont) {
				bgj_release(&now);
				j->cont = true;
				printf("continue: moving traffic\n");
				break;
			}
			bgj_release(&now);
			nap();
			if (asked(eb) != 0)
				return -1;
		}
	}
	if (dg->gates && gates_any(g)) {
		secs = g->bg.manual_cutover ? 0 : g->bg.wait_before_cutover;
		printf("checking the gates before the cut-over%s",
		    secs > 0 ? " for " : "\n");
		if (secs > 0)
			printf("%u s (wait_before_cutover)\n", secs);
		fflush(stdout);
		r = dgates_bake(dg, 0, secs, gr);
		if (r == GATES_STOPPED || T.asked != 0)
			return asked(eb) != 0 ? -1 : 0;
		if (r == GATES_FAILED) {
			errbuf_set(eb, EK_FAILED, "by the %s gate: %.*s",
			    gr->gate, dgates_reason_len(gr->reason),
			    gr->reason);
			return 1;
		}
	} else if (!g->bg.manual_cutover && g->bg.wait_before_cutover > 0) {
		printf("waiting %u s before the cut-over "
		    "(wait_before_cutover)\n", g->bg.wait_before_cutover);
		fflush(stdout);
		until = time(NULL) + (time_t)g->bg.wait_before_cutover;
		while (time(NULL) < until) {
			nap();
			if (asked(eb) != 0)
				return -1;
		}
	}
	return 0;
}

/* The instance ids of group name (new list), or -1. */
static int
group_ids(struct dctx *c, const char *name, struct asg_strs *ret,
    struct errbuf *eb)
{
	struct asg_group	 grp;
	int			 r;

	memset(ret, 0, sizeof(*ret));
	if ((r = asg_describe_group(c->aws, name, &grp, eb)) == ASG_NOT_FOUND)
		return 0;
	if (r == -1)
		return -1;
	for (size_t i = 0; i < grp.ninstances; i++)
		strs_add(ret, grp.instances[i].instance_id);
	asg_group_release(&grp);
	return 0;
}

/*
 * Wait until every instance of group 'name' is healthy (want_in) in each
 * target group and CLB of j, or out of each (never "draining").  0, or
 * -1 with eb naming the instance, the load balancer, state and reason.
 */
static int
traffic_wait(struct dctx *c, const struct bgj *j, const char *name,
    bool want_in, struct errbuf *eb)
{
	struct asg_strs		 ids;
	struct elb_health	 h;
	time_t			 deadline;
	const char		*lb = NULL, *iid = NULL;
	bool			 done;

	deadline = time(NULL) + (time_t)j->wait_s;
	for (;;) {
		if (group_ids(c, name, &ids, eb) == -1)
			return -1;
		done = true;
		h.state[0] = h.reason[0] = '\0';
		for (size_t i = 0; i < ids.n && done; i++) {
			iid = ids.v[i];
			for (size_t t = 0; t < j->tgs.n && done; t++) {
				lb = j->tgs.v[t];
				if (elb_health(c->aws, ELB_V2_TARGET_GROUP, lb,
				    iid, &h, eb) == -1)
					goto fail;
				done = want_in ? strcmp(h.state,
				    "healthy") == 0 : strcmp(h.state,
				    "unused") == 0;
			}
			for (size_t t = 0; t < j->lbs.n && done; t++) {
				lb = j->lbs.v[t];
				if (elb_health(c->aws, ELB_CLASSIC, lb, iid, &h,
				    eb) == -1)
					goto fail;
				done = want_in ? strcmp(h.state,
				    "InService") == 0 : strcmp(h.state,
				    "InService") != 0;
			}
		}
		if (done) {
			strs_free(&ids);
			return 0;
		}
		if (time(NULL) >= deadline) {
			errbuf_set(eb, EK_FAILED, "group '%s': instance %s in "
			    "'%s' is %s%s%s after %u s", name, iid, lb,
			    h.state, h.reason[0] != '\0' ? ": " : "",
			    h.reason, j->wait_s);
			strs_free(&ids);
			return -1;
		}
		strs_free(&ids);
		nap();
		if (asked(eb) != 0)
			return -1;
	}
 fail:
	strs_free(&ids);
	return -1;
}

/*
 * Attach (or detach) j's target groups and CLBs to group name: only
 * those it does not have (has), so a resumed or undone step is a no-op.
 */
static int
traffic_move(struct dctx *c, const struct bgj *j, const char *name,
    bool attach, struct errbuf *eb)
{
	struct asg_group	 grp;
	struct asg_strs		 tgs = { 0 }, lbs = { 0 };
	int			 r, ret = -1;

	if ((r = asg_describe_group(c->aws, name, &grp, eb)) == ASG_NOT_FOUND)
		return 0;
	if (r == -1)
		return -1;
	for (size_t i = 0; i < j->tgs.n; i++)
		if (strs_has(&grp.target_groups, j->tgs.v[i]) != attach)
			strs_add(&tgs, j->tgs.v[i]);
	for (size_t i = 0; i < j->lbs.n; i++)
		if (strs_has(&grp.load_balancers, j->lbs.v[i]) != attach)
			strs_add(&lbs, j->lbs.v[i]);
	asg_group_release(&grp);
	for (size_t i = 0; i < tgs.n; i += ASG_ATTACH_MAX)
		if ((attach ? asg_attach_target_groups :
		    asg_detach_target_groups)(c->aws, name,
		    (const char *const *)tgs.v + i, tgs.n - i > ASG_ATTACH_MAX ?
		    ASG_ATTACH_MAX : tgs.n - i, eb) == -1)
			goto out;
	for (size_t i = 0; i < lbs.n; i += ASG_ATTACH_MAX)
		if ((attach ? asg_attach_load_balancers :
		    asg_detach_load_balancers)(c->aws, name,
		    (const char *const *)lbs.v + i, lbs.n - i > ASG_ATTACH_MAX ?
		    ASG_ATTACH_MAX : lbs.n - i, eb) == -1)
			goto out;
	ret = 0;
 out:
	strs_free(&tgs);
	strs_free(&lbs);
	return ret;
}

/* Resume what this rollout suspended on blue; journal it. */
static int
resume_blue(struct dctx *c, const struct deployment *d, struct bgj *j,
    struct errbuf *eb)
{
	if (j->suspended.n == 0)
		return 0;
	if (asg_resume_processes(c->aws, j->blue,
	    (const char *const *)j->suspended.v, j->suspended.n, eb) == -1 &&
	    eb->kind != EK_NOINPUT)
		return -1;
	printf("blue group '%s': processes resumed\n", j->blue);
	strs_free(&j->suspended);
	return journal_save(c, d, j, eb);
}

/*
 * Move traffic from j->blue to j->green.  On failure blue is put back in
 * traffic first (attached, healthy), green detached; processes resumed
 * either way.  0, or -1 with eb.
 */
static int
cutover(struct dctx *c, const struct deployment *d, struct bgj *j,
    struct errbuf *eb)
{
	struct asg_group	 blue;
	struct errbuf		 e2 = { 0 };
	time_t			 t0 = time(NULL);

	if (asg_describe_group(c->aws, j->blue, &blue, eb) != 0)
		return -1;
	/* Journal before changing AWS: resume knows what to resume. */
	for (size_t i = 0; i < nitems(bg_procs); i++)
		if (!strs_has(&blue.suspended, bg_procs[i]) &&
		    !strs_has(&j->suspended, bg_procs[i]))
			strs_add(&j->suspended, bg_procs[i]);
	asg_group_release(&blue);
	setstr(&j->phase, "cutover");
	if (journal_save(c, d, j, eb) == -1)
		return -1;
	T.critical = true;
	if (j->suspended.n > 0 && asg_suspend_processes(c->aws, j->blue,
	    (const char *const *)j->suspended.v, j->suspended.n, eb) == -1)
		goto undo;
	printf("cut-over: green '%s' into %zu target group%s and %zu "
	    "Classic Load Balancer%s\n", j->green, j->tgs.n,
	    j->tgs.n == 1 ? "" : "s", j->lbs.n, j->lbs.n == 1 ? "" : "s");
	fflush(stdout);
	if (traffic_move(c, j, j->green, true, eb) == -1 ||
	    traffic_wait(c, j, j->green, true, eb) == -1)
		goto undo;
	printf("green '%s' healthy after %lld s; draining blue '%s'\n",
	    j->green, (long long)(time(NULL) - t0), j->blue);
	fflush(stdout);
	if (traffic_move(c, j, j->blue, false, eb) == -1 ||
	    traffic_wait(c, j, j->blue, false, eb) == -1)
		goto undo;
	printf("traffic on green '%s' (%lld s for the cut-over)\n", j->green,
	    (long long)(time(NULL) - t0));
	T.critical = false;
	return resume_blue(c, d, j, eb);
 undo:
	T.critical = false;
	printf("cut-over failed: %s; putting blue '%s' back in traffic\n",
	    eb->msg, j->blue);
	fflush(stdout);
	if (traffic_move(c, j, j->blue, true, &e2) == -1 ||
	    traffic_wait(c, j, j->blue, true, &e2) == -1)
		printf("blue '%s' back in traffic FAILED: %s\n", j->blue,
		    e2.msg);
	else if (traffic_move(c, j, j->green, false, &e2) == -1)
		printf("detaching green '%s' FAILED: %s\n", j->green, e2.msg);
	if (resume_blue(c, d, j, &e2) == -1)
		printf("resuming blue's processes FAILED: %s\n", e2.msg);
	return -1;
}

/*
 * The deployment every instance of Auto Scaling group name runs, by
 * their registry entries: a new string, or NULL (none ran one, they
 * differ, or they cannot be read).
 */
static char *
group_deployment(struct dctx *c, const struct deployer_group *g,
    const char *name)
{
	struct errbuf	 e2 = { 0 };
	struct asg_strs	 ids;
	struct reginst	*ri = NULL;
	const char	*cur;
	char		*id = NULL;
	size_t		 n = 0, k;
	bool		 same = true;

	if (group_ids(c, name, &ids, &e2) == -1 || ids.n == 0 ||
	    instances_find(c, g->name, true, &ri, &n, &e2) == -1) {
		strs_free(&ids);
		return NULL;
	}
	for (size_t i = 0; i < ids.n && same; i++) {
		for (k = 0; k < n; k++)
			if (strcmp(ri[k].name, ids.v[i]) == 0)
				break;
		cur = k < n ? ri[k].current_id : NULL;
		if (cur == NULL || (id != NULL && strcmp(id, cur) != 0))
			same = false;
		else if (id == NULL)
			id = xstrdup(cur);
	}
	if (!same)
		setstr(&id, NULL);
	reginsts_free(ri, n);
	strs_free(&ids);
	return id;
}

/*
 * The deployment blue runs: the pointer's, else what blue's instances
 * say they run (registry entries), else NULL (not known).
 */
static char *
blue_deployment(struct dctx *c, const struct deployer_group *g,
    const struct bgp *p, const char *blue)
{
	if (p->serving_deployment != NULL)
		return xstrdup(p->serving_deployment);
	return group_deployment(c, g, blue);
}

/* target.json's text now: 1 (*ret new), 0 absent, -1 (eb). */
static int
target_text(struct dctx *c, const char *group, char **ret,
    struct errbuf *eb)
{
	char	*key, *data = NULL;
	size_t	 len;
	int	 r;

	*ret = NULL;
	if ((key = store_key_target(c->cfg.application, group, eb)) == NULL)
		return -1;
	r = store_get(c->store, key, STORE_OBJECT_MAX, &data, &len, NULL,
	    eb);
	free(key);
	if (r == -1)
		return eb->kind == EK_NOINPUT ? 0 : -1;
	*ret = xstrndup(data, len);
	free(data);
	return 1;
}

/*
 * Blue serves again after d: target.json, if it still names d, goes
 * back to exactly what it was before d (j->target_before), or is
 * removed when there was none, so a new instance of blue boots with
 * what blue runs (or its image has), never d's revision.
 */
static void
target_put_back(struct dctx *c, const struct deployment *d,
    const struct bgj *j)
{
	struct errbuf	 e2 = { 0 };
	json_t		*t = NULL;
	const char	*tid;
	char		 etag[STORE_ETAG_MAX], *key = NULL;
	int		 r;

	if (!j->tb_recorded || target_read(c, d->group, &t, etag, &e2) != 1)
		goto out;
	tid = json_string_value(json_object_get(t, "deployment_id"));
	if (tid == NULL || strcmp(tid, d->id) != 0)
		goto out;
	if ((key = store_key_target(c->cfg.application, d->group,
	    &e2)) == NULL)
		goto out;
	if (j->target_before != NULL) {
		r = store_put_if(c->store, key, j->target_before,
		    strlen(j->target_before), etag, NULL, &e2);
		if (r == 0)
			printf("target.json is again what it was before %s: "
			    "new instances install what blue serves\n", d->id);
	} else if (store_delete(c->store, key, &e2) == 0)
		printf("target.json removed (there was none before %s): new "
		    "instances boot with what their image has\n", d->id);
 out:
	if (e2.kind != EK_NONE)
		printf("warning: target.json not put back: %s\n", e2.msg);
	fflush(stdout);
	free(key);
	if (t != NULL)
		json_decref(t);
}

/* After a failure before the cut-over: green goes unless kept. */
static void
green_fail(struct dctx *c, const struct deployment *d, struct bgj *j)
{
	struct errbuf	 e2 = { 0 };

	setstr(&j->phase, "failed");
	(void)journal_save(c, d, j, &e2);
	if (j->green == NULL)
		return;
	if (j->keep_failed) {
		printf("green group '%s' kept (--keep-failed): it has no "
		    "traffic; delete it with 'aws autoscaling "
		    "delete-auto-scaling-group' once it is at 0\n", j->green);
		return;
	}
	if (retire(c, j->green, "the rollout failed", NULL, &e2) == -1)
		printf("green group '%s' NOT deleted: %s\n", j->green, e2.msg);
}

static int
finish(struct dctx *c, struct deployment *d, const char *status,
    struct errbuf *eb)
{
	char	 now[32];

	ts_now(now);
	setstr(&d->status, status);
	setstr(&d->finished_at, now);
	return deployment_save(c, d, eb);
}

/* What a cut-over or a swap back leaves in the pointer. */
struct swap {
	const char	*serving;
	const char	*serving_deployment;
	const char	*standby;
	const char	*standby_deployment;
	time_t		 until;
	bool		 rolled_back;	/* standby: the release rolled back */
	const char	*swapping;	/* the rollback that ends, or NULL */
};

/* pointer_update(): serving and standby after a swap. */
static int
swap_edit(struct bgp *p, void *arg)
{
	struct swap	*sw = arg;

	bgp_clear_standby(p);
	setstr(&p->serving, sw->serving);
	setstr(&p->serving_deployment, sw->serving_deployment);
	setstr(&p->standby, sw->standby);
	setstr(&p->standby_deployment, sw->standby_deployment);
	p->standby_rolled_back = sw->rolled_back;
	p->standby_until = sw->until;
	if (sw->swapping != NULL && p->swapping != NULL &&
	    strcmp(p->swapping, sw->swapping) == 0)
		setstr(&p->swapping, NULL);
	return 1;
}

/*
 * The rollout from its journal's phase on (a new one starts at
 * "launching").  0 succeeded, 1 failed (eb EK_FAILED), -1 (eb).
 */
static int
bg_drive(struct dctx *c, const struct deployer_group *g,
    struct deployment *d, struct bgj *j, struct dgates *dg,
    struct errbuf *eb)
{
	struct asg_group	 blue;
	struct swap		 sw = { 0 };
	struct gate_result	 gr;
	char			 msg[ERRBUF_MSG_MAX];
	bool			 gated = false;
	int			 r;

	if (strcmp(j->phase, "launching") == 0) {
		if (asg_describe_group(c->aws, j->blue, &blue, eb) != 0)
			goto failed;
		r = green_create(c, d, &blue, j->green, eb);
		asg_group_release(&blue);
		if (r == -1)
			goto failed;
		if (wait_ready(c, g, d, j->green, eb) != 0)
			goto failed;
		setstr(&j->phase, "ready");
		if (journal_save(c, d, j, eb) == -1 ||
		    deployment_save(c, d, eb) == -1)
			goto failed;
	}
	if (strcmp(j->phase, "ready") == 0) {
		if ((r = gate(c, g, d, j, dg, &gr, eb)) != 0) {
			gated = r == 1;
			goto failed;
		}
		if (cutover(c, d, j, eb) == -1)
			goto failed;
	} else if (strcmp(j->phase, "cutover") == 0) {
		/* A driver died mid-swap: finish it, or put blue back. */
		printf("resuming the cut-over from '%s' to '%s'\n", j->blue,
		    j->green);
		if (cutover(c, d, j, eb) == -1)
			goto failed;
	}
	sw.serving = j->green;
	sw.serving_deployment = d->id;
	sw.standby = j->blue;
	sw.standby_deployment = j->blue_deployment;
	sw.until = time(NULL) + (time_t)g->bg.keep_blue;
	setstr(&j->phase, "serving");
	if (pointer_update(c, g->name, swap_edit, &sw, NULL, eb) == -1 ||
	    journal_save(c, d, j, eb) == -1 ||
	    finish(c, d, "Succeeded", eb) == -1)
		return -1;
	if (g->bg.keep_blue == 0) {
		if (standby_retire(c, g, j->blue, true, eb) == -1)
			printf("warning: %s\n", eb->msg);
	} else {
		char	 until[32];

		ts_format(sw.until, until);
		printf("blue group '%s' kept without traffic until %s "
		    "(keep_blue): 'deployer rollback %s' swaps back\n",
		    j->blue, until, g->name);
		standby_plan(c, g, j->blue, sw.until);
	}
	printf("deployment %s succeeded: green '%s' serves\n", d->id,
	    j->green);
	fflush(stdout);
	return 0;
 failed:
	(void)strlcpy(msg, eb->msg, sizeof(msg));
	if (T.asked == DRIVE_LEAVE || T.asked == DRIVE_LOST) {
		/* Left as it is: 'deployer resume' goes on from the journal. */
		printf("blue/green %s: %s; phase %s kept for 'deployer resume "
		    "%s'\n", d->id, msg, j->phase, d->id);
		fflush(stdout);
		return T.asked == DRIVE_LEAVE ? DRIVE_LEAVE : -1;
	}
	printf("blue/green %s %s%s%s\n", d->id, T.asked != 0 || gated ?
	    "stopped" : "failed", gated ? " " : ": ", msg);
	if (gated)
		dgates_failed(d, &gr);
	else if (d->reason == NULL)
		setstr(&d->reason, msg);
	if (strcmp(j->phase, "serving") != 0)
		green_fail(c, d, j);
	(void)finish(c, d, T.asked != 0 || gated ? "Stopped" : "Failed", eb);
	/* Blue serves: new instances of it must not get d's revision. */
	target_put_back(c, d, j);
	errbuf_set(eb, EK_FAILED, "deployment %s %s%s%s; blue '%s' still "
	    "serves", d->id, T.asked != 0 || gated ? "was stopped" : "failed",
	    gated ? " " : ": ", msg, j->blue);
	return 1;
}

/* pointer_update(): the group's last sequence. */
static int
seq_edit(struct bgp *p, void *arg)
{
	const uint64_t	*seq = arg;

	if (p->sequence >= *seq)
		return 0;
	p->sequence = *seq;
	return 1;
}

/*
 * `deployer GROUP REF` (or a rollback to a revision) for a blue_green
 * group: create the deployment and its journal, then drive() it (which
 * runs bluegreen_run()).  Returns like deploy_and_watch().
 */
int
bluegreen_deploy(struct dctx *c, const struct deployer_group *g,
    const struct revision *rev, const char *rollback_of,
    struct deploy_opts *o, struct errbuf *eb)
{
	struct deploy_opts	 bo = *o;
	struct deployment	 d = { 0 }, pre = { 0 };
	struct asg_group	 blue;
	struct bgp		 p;
	struct bgj		 j = { 0 };
	struct errbuf		 e2 = { 0 };
	char			 id[DEPLOYMENT_ID_LEN + 1], *key;
	int			 ret = -1;

	if (aws_ready(c, eb) == -1)
		return -1;
	/* Gates that cannot run refuse it before anything is created. */
	if (rollback_of == NULL && dgates_ready(c, g, eb) == -1)
		return -1;
	if (pointer_read(c, g->name, &p, eb) == -1)
		return -1;
	if (p.serving == NULL && g->bg.auto_scaling_group == NULL) {
		bgp_release(&p);
		return errbuf_set(eb, EK_CONFIG, "group '%s': strategy "
		    "blue_green needs blue_green.auto_scaling_group (the "
		    "group's Auto Scaling group)", g->name);
	}
	if (p.swapping != NULL && swap_live(c, g, p.swapping)) {
		errbuf_set(eb, EK_TEMP, "rollback %s of group '%s' is swapping "
		    "traffic back; watch it with 'deployer status %s --watch'",
		    p.swapping, g->name, p.swapping);
		goto out;
	}
	j.blue = xstrdup(p.serving != NULL ? p.serving :
	    g->bg.auto_scaling_group);
	j.blue_deployment = blue_deployment(c, g, &p, j.blue);
	j.keep_failed = o->keep_failed;
	if (asg_describe_group(c->aws, j.blue, &blue, eb) != 0) {
		errbuf_prefix(eb, "the blue group of '%s': ", g->name);
		goto out;
	}
	strs_copy(&j.tgs, &blue.target_groups);
	strs_copy(&j.lbs, &blue.load_balancers);
	asg_group_release(&blue);
	/*
	 * What target.json was, journalled before it is replaced: put back
	 * on every exit that leaves blue serving.
	 */
	if (target_text(c, g->name, &j.target_before, eb) == -1)
		goto out;
	j.tb_recorded = true;
	if (deployment_id_new(id, eb) == -1)
		goto out;
	memcpy(pre.id, id, sizeof(pre.id));
	pre.group = (char *)(uintptr_t)g->name;
	j.green = green_name(g, j.blue, id);
	j.phase = xstrdup("launching");
	if (journal_save(c, &pre, &j, eb) == -1)
		goto out;
	/* No instance is sent anything: an empty plan is the point. */
	bo.allow_empty = true;
	bo.id = id;
	bo.min_sequence = p.sequence + 1;
	if (deployment_create(c, g, rev, rollback_of, NULL, &bo, &d,
	    eb) == -1) {
		key = journal_key(c, &pre);
		(void)store_delete(c->store, key, &e2);
		free(key);
		goto out;
	}
	if (pointer_update(c, g->name, seq_edit, &d.sequence, NULL,
	    eb) == -1) {
		(void)finish(c, &d, "Failed", &e2);
		target_put_back(c, &d, &j);
		lease_drop();
		goto out;
	}
	free(d.config_name);
	d.config_name = xstrdup("BlueGreen");
	/* One batch: green's instances, "sent" when green is created. */
	free(d.batch_sent);
	d.batch_sent = xcalloc(2, sizeof(*d.batch_sent));
	d.batch_sent[0] = time(NULL);
	d.nbatches = 1;
	d.deadline = time(NULL) + (time_t)g->bg.ready_timeout +
	    (time_t)g->timeout + DEPLOYER_DEADLINE_SLACK;
	if (journal_save(c, &d, &j, eb) == -1 ||
	    deployment_save(c, &d, eb) == -1)
		goto out;
	printf("deployment %s (sequence %llu) of %s to %s: blue/green, blue "
	    "'%s' (%zu target group%s, %zu CLB%s), green '%s'\n", d.id,
	    (unsigned long long)d.sequence, rev->commit[0] != '\0' ?
	    rev->commit : rev->sha256, g->name, j.blue, j.tgs.n,
	    j.tgs.n == 1 ? "" : "s", j.lbs.n, j.lbs.n == 1 ? "" : "s",
	    j.green);
	fflush(stdout);
	ret = deploy_drive(c, g, &d, o, eb);
 out:
	bgp_release(&p);
	bgj_release(&j);
	deployment_release(&d);
	return ret;
}

/*
 * What drive() runs for a blue_green deployment, new or resumed (kill
 * -9, Ctrl-C, a closed laptop): on from its journal's phase; a cut-over
 * in progress is finished (or undone), processes suspended are resumed
 * on every exit.  0 succeeded, 1 failed or stopped (eb), DRIVE_LEAVE,
 * -1 (eb).
 */
static int	swap_resume(struct dctx *, const struct deployer_group *,
		    struct deployment *, struct bgj *, struct errbuf *);

int
bluegreen_run(struct dctx *c, const struct deployer_group *g,
    struct deployment *d, struct errbuf *eb)
{
	struct dgates	 dg;
	struct bgp	 p;
	struct bgj	 j;
	int		 ret;

	if (aws_ready(c, eb) == -1 || journal_load(c, d, &j, eb) == -1)
		return -1;
	/* The gates of an in-place rollout; a rollback only notifies. */
	if (dgates_init(&dg, c, g, d, d->rollback_of == NULL, eb) == -1) {
		bgj_release(&j);
		dgates_release(&dg);
		return -1;
	}
	dg.stopped = tick_asked;
	dg.tick = tick;
	j.wait_s = g->bg.ready_timeout;
	if (j.swap_back) {
		/* A swap back whose driver died (resume, stop). */
		T.c = c;
		T.d = d;
		T.critical = false;
		T.asked = 0;
		ret = swap_resume(c, g, d, &j, eb);
		memset(&T, 0, sizeof(T));
		goto out;
	}
	if (strcmp(j.phase, "serving") == 0 || strcmp(j.phase, "failed") ==
	    0 || strcmp(j.phase, "rolledback") == 0) {
		/* The driver died after the last step but before the end. */
		ret = resume_blue(c, d, &j, eb);
		if (ret == 0)
			ret = finish(c, d, strcmp(j.phase, "failed") == 0 ?
			    "Failed" : "Succeeded", eb);
		if (ret == 0)
			ret = strcmp(d->status, "Succeeded") == 0 ? 0 : 1;
		goto out;
	}
	if (strcmp(j.phase, "launching") == 0) {
		dgates_notify(&dg, "start", -1, "InProgress", NULL);
		if (pointer_read(c, g->name, &p, eb) == 1) {
			/*
			 * One standby at most: the previous release's goes
			 * first, now that this deployment holds the group.
			 */
			ret = p.standby != NULL && strcmp(p.standby,
			    j.green) != 0 ? standby_retire(c, g, p.standby,
			    true, eb) : 0;
			bgp_release(&p);
			if (ret == -1) {
				setstr(&d->reason, eb->msg);
				(void)finish(c, d, "Failed", eb);
				ret = 1;
				goto out;
			}
		}
	}
	T.c = c;
	T.d = d;
	T.critical = false;
	T.asked = 0;
	ret = bg_drive(c, g, d, &j, &dg, eb);
	memset(&T, 0, sizeof(T));
 out:
	if ((ret == 0 || ret == 1) && strcmp(d->status, "InProgress") != 0)
		dgates_notify(&dg, "outcome", -1, d->status, d->reason);
	dgates_release(&dg);
	bgj_release(&j);
	return ret;
}

/* `deployer continue ID`: let a manual cut-over go.  0 or -1. */
int
bluegreen_continue(struct dctx *c, const struct deployment *d,
    struct errbuf *eb)
{
	struct bgj	 j;
	int		 r;

	if (journal_load(c, d, &j, eb) == -1)
		return -1;
	if (strcmp(j.phase, "launching") != 0 &&
	    strcmp(j.phase, "ready") != 0) {
		r = errbuf_set(eb, EK_USAGE, "deployment %s is past its "
		    "cut-over gate (phase %s)", d->id, j.phase);
		bgj_release(&j);
		return r;
	}
	j.cont = true;
	r = journal_save(c, d, &j, eb);
	bgj_release(&j);
	if (r == 0)
		printf("deployment %s: cut-over allowed\n", d->id);
	return r;
}

struct swapclaim {
	struct dctx			*c;
	const struct deployer_group	*g;
	const char			*standby;
	const char			*serving;
	const char			*id;
	bool				 ok;
};

/* pointer_update(): rollback id swaps back to the standby. */
static int
swapclaim_edit(struct bgp *p, void *arg)
{
	struct swapclaim	*sc = arg;

	sc->ok = false;
	if (p->standby == NULL || strcmp(p->standby, sc->standby) != 0 ||
	    p->serving == NULL || strcmp(p->serving, sc->serving) != 0)
		return 0;
	if (p->swapping != NULL && strcmp(p->swapping, sc->id) == 0) {
		sc->ok = true;
		return 0;
	}
	if (p->swapping != NULL && swap_live(sc->c, sc->g, p->swapping))
		return 0;
	setstr(&p->swapping, sc->id);
	sc->ok = true;
	return 1;
}

/* pointer_update(): rollback arg swaps no more. */
static int
unswap_edit(struct bgp *p, void *arg)
{
	if (p->swapping == NULL || strcmp(p->swapping, arg) != 0)
		return 0;
	setstr(&p->swapping, NULL);
	return 1;
}

/*
 * The record of a swap back whose revision is not known (the standby's
 * instances ran no deployment of the group: their image's): made here,
 * as deployment_create() would, without touching target.json.
 */
static int
rollback_record(struct dctx *c, const struct deployer_group *g,
    const char *id, const char *rollback_of, uint64_t min_seq,
    const char *standby, struct deployment *rb, struct errbuf *eb)
{
	struct errbuf	 e2 = { 0 };
	json_t		*t = NULL;
	char		 now[32];
	uint64_t	 seq = min_seq;

	if (target_read(c, g->name, &t, NULL, &e2) == 1) {
		if ((uint64_t)json_integer_value(json_object_get(t,
		    "sequence")) + 1 > seq)
			seq = (uint64_t)json_integer_value(json_object_get(t,
			    "sequence")) + 1;
		json_decref(t);
	}
	memset(rb, 0, sizeof(*rb));
	memcpy(rb->id, id, sizeof(rb->id));
	rb->application = xstrdup(c->cfg.application);
	rb->group = xstrdup(g->name);
	rb->sequence = seq;
	rb->status = xstrdup("InProgress");
	rb->rollback_of = rollback_of != NULL ? xstrdup(rollback_of) : NULL;
	ts_now(now);
	rb->created_at = xstrdup(now);
	rb->created_by = who_am_i();
	rb->timeout = g->timeout;
	rb->deadline = time(NULL) + (time_t)g->bg.ready_timeout +
	    DEPLOYER_DEADLINE_SLACK;
	rb->description = xasprintf("swap back to '%s', whose revision is "
	    "not known (its instances ran no deployment of group '%s')",
	    standby, g->name);
	if (deployment_save(c, rb, eb) == -1)
		return -1;
	return lease_take(c, rb, eb);
}

/*
 * Swap rollback rb back from j->blue (serving) to j->green (the standby)
 * from the journal's phase, then record it: by bluegreen_rollback(), or
 * by `deployer resume`/`stop` after its driver died (swap_resume()).
 * The standby's scheduled action is deleted first (Auto Scaling must not
 * empty a group that serves again); a failed cut-over puts j->blue back.
 * 0 (rb Succeeded), or -1 with eb (rb Failed unless the store failed).
 */
static int
swap_back(struct dctx *c, const struct deployer_group *g,
    struct deployment *rb, struct bgj *j, time_t t0, struct errbuf *eb)
{
	struct deployment	 sd = { 0 };
	struct bgj		 back = { 0 };
	struct swap		 sw = { 0 };
	struct errbuf		 e2 = { 0 };
	char			*act = NULL;
	int			 r, ret = -1;

	if (strcmp(j->phase, "rolledback") != 0) {
		act = action_name(j->green);
		if ((r = asg_delete_scheduled_action(c->aws, j->green, act,
		    eb)) == -1) {
			errbuf_prefix(eb, "not swapping back to a group Auto "
			    "Scaling would empty: ");
			goto failed;
		}
		if (r == 0)
			printf("group '%s': scheduled action '%s' deleted\n",
			    j->green, act);
		fflush(stdout);
		if (cutover(c, rb, j, eb) == -1)
			goto failed;
		setstr(&j->phase, "rolledback");
		(void)journal_save(c, rb, j, eb);
	}
	/* The swapped-out group stays until keep_blue, not to swap to. */
	sw.serving = j->green;
	sw.serving_deployment = rb->id;
	sw.standby = j->blue;
	sw.standby_deployment = j->blue_deployment;
	sw.rolled_back = true;
	sw.until = time(NULL) + (time_t)g->bg.keep_blue;
	sw.swapping = rb->id;
	if (pointer_update(c, g->name, swap_edit, &sw, NULL, eb) == -1)
		goto failed;
	/*
	 * target.json: the standby's revision (rb's message), or, not
	 * known, exactly what it was before the rollout rolled back.
	 */
	if (!j->swap_known && j->blue_deployment != NULL) {
		memcpy(sd.id, j->blue_deployment, strnlen(j->blue_deployment,
		    DEPLOYMENT_ID_LEN));
		sd.group = (char *)(uintptr_t)g->name;
		if (journal_load(c, &sd, &back, &e2) == 0)
			target_put_back(c, &sd, &back);
	}
	if (finish(c, rb, "Succeeded", eb) == -1)
		goto out;
	if (g->bg.keep_blue == 0) {
		if (standby_retire(c, g, j->blue, true, &e2) == -1)
			printf("warning: %s\n", e2.msg);
	} else
		standby_plan(c, g, j->blue, sw.until);
	printf("rollback %s succeeded in %lld s: '%s' serves again\n",
	    rb->id, (long long)(time(NULL) - t0), j->green);
	fflush(stdout);
	ret = 0;
	goto out;
 failed:
	(void)finish(c, rb, "Failed", &e2);
	target_put_back(c, rb, j);
	if (pointer_update(c, g->name, unswap_edit, rb->id, NULL, &e2) == -1)
		printf("warning: %s\n", e2.msg);
 out:
	free(act);
	bgj_release(&back);
	return ret;
}

/*
 * bluegreen_run() for a swap back whose driver died: `deployer resume`
 * finishes it (a cut-over in progress is finished, or the serving group
 * put back), `deployer stop` ends it Stopped if the cut-over had not
 * begun (else it is finished first).  0, 1 (ended otherwise, eb), -1.
 */
static int
swap_resume(struct dctx *c, const struct deployer_group *g,
    struct deployment *d, struct bgj *j, struct errbuf *eb)
{
	struct swapclaim	 sc;
	struct bgp		 p;
	struct errbuf		 e2 = { 0 };
	bool			 swapped;

	if (pointer_read(c, g->name, &p, eb) == -1)
		return -1;
	swapped = p.serving != NULL && strcmp(p.serving, j->green) == 0;
	bgp_release(&p);
	printf("resuming the swap back of rollback %s from '%s' to '%s' "
	    "(phase %s)\n", d->id, j->blue, j->green, j->phase);
	fflush(stdout);
	if (!(strcmp(j->phase, "rolledback") == 0 && swapped)) {
		/* The pointer must still name both groups, for us. */
		sc.c = c;
		sc.g = g;
		sc.standby = j->green;
		sc.serving = j->blue;
		sc.id = d->id;
		if (pointer_update(c, g->name, swapclaim_edit, &sc, NULL,
		    eb) == -1)
			return -1;
		if (!sc.ok) {
			errbuf_set(eb, EK_FAILED, "rollback %s: group '%s' no "
			    "longer has '%s' serving and '%s' on standby; not "
			    "swapped", d->id, g->name, j->blue, j->green);
			if (resume_blue(c, d, j, &e2) == -1)
				printf("resuming blue's processes FAILED: "
				    "%s\n", e2.msg);
			setstr(&d->reason, eb->msg);
			(void)finish(c, d, "Failed", &e2);
			return 1;
		}
	}
	tick(NULL);
	if (strcmp(j->phase, "ready") == 0 && T.asked != 0) {
		/* Stopped before its cut-over began: nothing moved. */
		errbuf_set(eb, EK_FAILED, "rollback %s was stopped before its "
		    "swap; '%s' still serves", d->id, j->blue);
		(void)finish(c, d, "Stopped", &e2);
		target_put_back(c, d, j);
		if (pointer_update(c, g->name, unswap_edit, d->id, NULL,
		    &e2) == -1)
			printf("warning: %s\n", e2.msg);
		return 1;
	}
	if (swap_back(c, g, d, j, time(NULL), eb) == -1)
		return strcmp(d->status, "InProgress") == 0 ? -1 : 1;
	return 0;
}

/*
 * `deployer rollback GROUP` while the standby group exists (kept after
 * the last cut-over, not one a rollback swapped out): swap traffic back
 * (its scheduled retirement deleted, attached, healthy, the serving one
 * detached and drained), recorded as a rollback deployment of the
 * revision the standby serves (the pointer's, else its instances'
 * registry entries; when neither knows, the record says so and names
 * none) with no instance sent.  target.json names that revision again
 * (or, unknown, is put back to what it was before the rolled-back
 * rollout).  1 when there is no standby to swap to (the caller rolls
 * back by deployment), 0 swapped, -1 (eb).
 */
int
bluegreen_rollback(struct dctx *c, const struct deployer_group *g,
    struct deploy_opts *o, struct errbuf *eb)
{
	struct deploy_opts	 bo = *o;
	struct deployment	 prev = { 0 }, rb = { 0 };
	struct revision		 rev = { 0 };
	struct asg_group	 grp;
	struct bgp		 p, now;
	struct bgj		 j = { 0 };
	struct swapclaim	 sc;
	struct errbuf		 e2 = { 0 };
	char			 id[DEPLOYMENT_ID_LEN + 1], *bid = NULL;
	time_t			 t0 = time(NULL);
	size_t			 ins;
	bool			 known = false, claimed = false, ok;
	int			 r, ret = -1;

	if (aws_ready(c, eb) == -1)
		return -1;
	/* keep_blue is over: the standby is retired first. */
	if (standby_retire(c, g, NULL, false, eb) == -1 ||
	    pointer_read(c, g->name, &p, eb) == -1)
		return -1;
	if (p.standby == NULL || p.serving == NULL || p.standby_rolled_back) {
		bgp_release(&p);
		return 1;
	}
	if ((r = asg_describe_group(c->aws, p.standby, &grp, eb)) ==
	    ASG_NOT_FOUND) {
		bgp_release(&p);
		return 1;
	}
	if (r == -1)
		goto out;
	ins = asg_group_count(&grp, "InService");
	asg_group_release(&grp);
	if (ins == 0) {
		printf("standby group '%s' has no instance InService: rolling "
		    "back by a deployment\n", p.standby);
		bgp_release(&p);
		return 1;
	}
	if (asg_describe_group(c->aws, p.serving, &grp, eb) != 0)
		goto out;
	strs_copy(&j.tgs, &grp.target_groups);
	strs_copy(&j.lbs, &grp.load_balancers);
	asg_group_release(&grp);
	/* The revision the standby serves, when anyone knows it. */
	bid = p.standby_deployment != NULL ? xstrdup(p.standby_deployment) :
	    group_deployment(c, g, p.standby);
	known = bid != NULL && deployment_load(c, g->name, bid, &prev,
	    &e2) == 0 && prev.location != NULL && strlen(prev.sha256) == 64;
	if (deployment_id_new(id, eb) == -1)
		goto out;
	/* The group is ours to swap: no retirer, no other rollback. */
	sc.c = c;
	sc.g = g;
	sc.standby = p.standby;
	sc.serving = p.serving;
	sc.id = id;
	if (pointer_update(c, g->name, swapclaim_edit, &sc, NULL, eb) == -1)
		goto out;
	if (!sc.ok) {
		errbuf_set(eb, EK_TEMP, "group '%s': its standby group '%s' "
		    "is being retired or swapped to by another deployer; try "
		    "again", g->name, p.standby);
		goto out;
	}
	claimed = true;
	if (target_text(c, g->name, &j.target_before, eb) == -1)
		goto out;
	j.tb_recorded = true;
	bo.allow_empty = true;
	bo.id = id;
	bo.min_sequence = p.sequence + 1;
	if (known) {
		memcpy(rev.commit, prev.commit, sizeof(rev.commit));
		memcpy(rev.sha256, prev.sha256, sizeof(rev.sha256));
		rev.ref = prev.ref != NULL ? xstrdup(prev.ref) : NULL;
		rev.location = xstrdup(prev.location);
		r = deployment_create(c, g, &rev, p.serving_deployment, NULL,
		    &bo, &rb, eb);
	} else
		r = rollback_record(c, g, id, p.serving_deployment,
		    bo.min_sequence, p.standby, &rb, eb);
	if (r == -1)
		goto out;
	memcpy(o->out_id, rb.id, sizeof(o->out_id));
	o->out_sequence = rb.sequence;
	if (lease_take(c, &rb, eb) == -1) {
		(void)finish(c, &rb, "Failed", eb);
		goto out;
	}
	free(rb.config_name);
	rb.config_name = xstrdup("BlueGreen (swap back)");
	/* The swap is a cut-over from serving ("blue") to standby. */
	j.blue = xstrdup(p.serving);
	j.green = xstrdup(p.standby);
	j.blue_deployment = p.serving_deployment != NULL ?
	    xstrdup(p.serving_deployment) : NULL;
	j.phase = xstrdup("ready");
	j.cont = true;
	j.wait_s = g->bg.ready_timeout;
	j.swap_back = true;
	j.swap_known = known;
	if (journal_save(c, &rb, &j, eb) == -1 ||
	    pointer_update(c, g->name, seq_edit, &rb.sequence, NULL,
	    eb) == -1 || pointer_read(c, g->name, &now, eb) == -1)
		goto failed;
	/* Still ours now that a live driver holds rb (see claim_edit()). */
	ok = now.swapping != NULL && strcmp(now.swapping, id) == 0 &&
	    now.standby != NULL && strcmp(now.standby, p.standby) == 0;
	bgp_release(&now);
	if (!ok) {
		errbuf_set(eb, EK_TEMP, "group '%s': its standby group '%s' "
		    "was claimed by a retirer meanwhile", g->name, p.standby);
		goto failed;
	}
	if (known)
		printf("rollback %s: swapping traffic back from '%s' to '%s' "
		    "(revision of %s, nothing deployed)\n", rb.id, p.serving,
		    p.standby, bid);
	else
		printf("rollback %s: swapping traffic back from '%s' to '%s' "
		    "(the revision it serves is not known: its instances ran "
		    "no deployment of group '%s'; nothing deployed)\n", rb.id,
		    p.serving, p.standby, g->name);
	fflush(stdout);
	/* From here on swap_back() ends the claim either way. */
	claimed = false;
	ret = swap_back(c, g, &rb, &j, t0, eb) == 0 ? 0 : -1;
	goto out;
 failed:
	(void)finish(c, &rb, "Failed", &e2);
	target_put_back(c, &rb, &j);
 out:
	if (claimed && pointer_update(c, g->name, unswap_edit, id, NULL,
	    &e2) == -1)
		printf("warning: %s\n", e2.msg);
	lease_drop();
	if (rb.status != NULL)
		(void)strlcpy(o->out_status, rb.status,
		    sizeof(o->out_status));
	free(bid);
	bgp_release(&p);
	bgj_release(&j);
	revision_release(&rev);
	deployment_release(&prev);
	deployment_release(&rb);
	return ret;
}

/* `deployer status GROUP` for a blue_green group: both groups. */
int
bluegreen_status(struct dctx *c, const struct deployer_group *g,
    struct errbuf *eb)
{
	struct asg_group	 grp;
	struct bgp		 p;
	const char		*names[2], *roles[2];
	char			 until[32];
	int			 r;

	if (aws_ready(c, eb) == -1)
		return -1;
	/* When keep_blue is over and nobody retired it yet: here. */
	if (standby_retire(c, g, NULL, false, eb) == -1)
		printf("warning: %s\n", eb->msg);
	if ((r = pointer_read(c, g->name, &p, eb)) == -1)
		return -1;
	names[0] = p.serving != NULL ? p.serving : g->bg.auto_scaling_group;
	roles[0] = "serving";
	names[1] = p.standby;
	roles[1] = "standby";
	for (size_t k = 0; k < 2; k++) {
		if (names[k] == NULL)
			continue;
		if ((r = asg_describe_group(c->aws, names[k], &grp, eb)) ==
		    ASG_NOT_FOUND) {
			printf("%s group '%s': gone\n", roles[k], names[k]);
			continue;
		}
		if (r == -1)
			break;
		until[0] = '\0';
		if (k == 1 && p.standby_until != 0)
			ts_format(p.standby_until, until);
		printf("%s group '%s': %zu instance%s, %s%s%s\n", roles[k],
		    names[k], grp.ninstances, grp.ninstances == 1 ? "" : "s",
		    grp.target_groups.n + grp.load_balancers.n > 0 ?
		    "in traffic" : "no traffic", until[0] != '\0' ?
		    ", kept until " : "", until);
		for (size_t i = 0; i < grp.ninstances; i++)
			printf("  %s %s\n", grp.instances[i].instance_id,
			    grp.instances[i].lifecycle_state);
		asg_group_release(&grp);
		if (k == 1)
			status_plan(c, g, &p);
	}
	if (r != -1 && p.retiring != NULL)
		printf("group '%s': being retired (scaled to 0, deleted once "
		    "empty) by pid %ld on %s\n", p.retiring, p.retiring_pid,
		    p.retiring_host != NULL ? p.retiring_host : "?");
	bgp_release(&p);
	return r == -1 ? -1 : 0;
}

static const char continue_usage[] = "usage: deployer continue ID";

/* 'deployer continue ID': let a manual cut-over go; the exit status. */
int
cmd_continue(int argc, char **argv)
{
	struct deployment	 d = { 0 };
	struct dctx		 c = { 0 };
	struct errbuf		 eb = { 0 }, e2 = { 0 };
	int			 ret = 0;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		printf("%s\n\nLet the blue/green deployment ID, waiting "
		    "with wait_before_cutover: manual,\nmove traffic to its "
		    "green group.\n", continue_usage);
		return 0;
	}
	if (argc < 2)
		usage_error(continue_usage, "no ID given");
	if (argc > 2)
		usage_error(continue_usage, "unexpected argument '%s'",
		    argv[2]);
	if (dctx_open(&c, &eb) == -1 || dctx_open_store(&c, false, &eb) == -1)
		goto fail;
	for (size_t i = 0; i < c.cfg.ngroups; i++) {
		if (deployment_load(&c, c.cfg.groups[i].name, argv[1], &d,
		    &e2) == 0)
			break;
		if (e2.kind != EK_NOINPUT) {
			eb = e2;
			goto fail;
		}
	}
	if (d.group == NULL) {
		errbuf_set(&eb, EK_NOINPUT, "no deployment '%s' in any group "
		    "of '%s'", argv[1], c.cfgpath);
		goto fail;
	}
	if (strcmp(d.status, "InProgress") != 0) {
		errbuf_set(&eb, EK_USAGE, "deployment %s is %s, not in "
		    "progress", d.id, d.status);
		goto fail;
	}
	if (bluegreen_continue(&c, &d, &eb) == -1) {
		if (eb.kind == EK_NOINPUT)
			errbuf_set(&eb, EK_USAGE, "deployment %s is not a "
			    "blue/green deployment", d.id);
		goto fail;
	}
	goto out;
 fail:
	fflush(stdout);
	fprintf(stderr, "deployer: continue: %s\n", eb.msg);
	ret = errbuf_exitcode(&eb);
 out:
	deployment_release(&d);
	dctx_release(&c);
	return ret;
}

/*
 * For `deployer status --json`: {"serving": ..., "standby": ...,
 * "standby_until": ..., "journal": {...}} from the group's pointer and
 * d's journal (each null when absent).  A new reference.
 */
json_t *
bluegreen_json(struct dctx *c, const struct deployer_group *g,
    const struct deployment *d)
{
	struct errbuf	 e2 = { 0 };
	json_t		*o, *doc;
	char		*key;

	static const char *const keys[] = { "serving", "serving_deployment",
		"standby", "standby_deployment", "standby_until",
		"standby_rolled_back", "scheduled_action", "retirer_pid",
		"retirer_host", "retirer_log", "retiring", "retiring_pid",
		"retiring_host", "retiring_at", "swapping" };

	key = pointer_key(c, g->name);
	if (doc_read(c, key, &doc, NULL, &e2) == -1)
		doc = json_object();
	free(key);
	o = json_object();
	for (size_t i = 0; i < nitems(keys); i++)
		json_object_set(o, keys[i], json_object_get(doc, keys[i]) !=
		    NULL ? json_object_get(doc, keys[i]) : json_null());
	json_decref(doc);
	key = journal_key(c, d);
	if (doc_read(c, key, &doc, NULL, &e2) == -1)
		doc = json_null();
	free(key);
	json_object_set_new(o, "journal", doc);
	return o;
}

/*
 * `deployer status ID --watch` of a blue/green deployment: only watch
 * (its driver moves it): each phase of the journal as it changes, until
 * the deployment ends.  d is reloaded.  0 Succeeded, 1 another end (eb
 * EK_FAILED), -1 (eb).
 */
int
bluegreen_watch(struct dctx *c, struct deployment *d, struct errbuf *eb)
{
	struct deployment	 now;
	struct bgj		 j;
	char			*phase = NULL;

	printf("watching blue/green deployment %s (sequence %llu) of %s to "
	    "%s\n", d->id, (unsigned long long)d->sequence, d->application,
	    d->group);
	fflush(stdout);
	for (;;) {
		if (journal_load(c, d, &j, eb) == 0) {
			if (phase == NULL || strcmp(phase, j.phase) != 0) {
				printf("phase %s (blue '%s', green '%s')\n",
				    j.phase, j.blue, j.green != NULL ?
				    j.green : "-");
				fflush(stdout);
				setstr(&phase, j.phase);
			}
			bgj_release(&j);
		}
		memset(&now, 0, sizeof(now));
		if (deployment_load(c, d->group, d->id, &now, eb) == -1) {
			free(phase);
			return -1;
		}
		deployment_release(d);
		*d = now;
		if (strcmp(d->status, "InProgress") != 0)
			break;
		nap();
	}
	free(phase);
	printf("deployment %s: %s\n", d->id, d->status);
	if (strcmp(d->status, "Succeeded") == 0)
		return 0;
	errbuf_set(eb, EK_FAILED, "deployment %s %s", d->id, d->status);
	return 1;
}
