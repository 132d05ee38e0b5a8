/* SPDX-License-Identifier: ISC */
/*
 * records.c: the store documents the deployer owns or reads, in memory.
 *
 * Written by the deployer (schemas in docs/man/deployer.1 and the
 * report):
 *   groups/APP/GROUP/target.json   the deployment message (message.h)
 *   deployments/APP/GROUP/ID/deployment.json hookd.deployment-record/1
 * Read (written by hookd, lib/progress.h):
 *   deployments/APP/GROUP/ID/instances/INSTANCE.json  hookd.progress/1
 *   groups/APP/GROUP/instances/INSTANCE.json          hookd.instance/1
 * Readers are tolerant: a member that is missing or of another type is
 * taken as absent, so a newer daemon can add fields.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "backends.h"
#include "caps.h"
#include "config.h"
#include "deployer.h"
#include "errbuf.h"
#include "progress.h"
#include "queue.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static char *
jdup(json_t *o, const char *key)
{
	const char	*s;

	s = jstr(o, key);
	return s != NULL ? xstrdup(s) : NULL;
}

static json_t *
str_or_null(const char *s)
{
	json_t	*v;

	if (s == NULL || (v = json_string(s)) == NULL)
		return json_null();
	return v;
}

static json_t *
time_or_null(time_t t)
{
	char	 b[32];

	if (t == 0)
		return json_null();
	ts_format(t, b);
	return json_string(b);
}

/* The name of a state as deployment.json and the tables show it. */
const char *
inst_state_name(enum inst_state s)
{
	switch (s) {
	case IS_PENDING:
		return "Pending";
	case IS_SENT:
		return "Sent";
	case IS_RUNNING:
		return "InProgress";
	case IS_SUCCEEDED:
		return "Succeeded";
	case IS_FAILED:
		return "Failed";
	case IS_TIMEDOUT:
		return "TimedOut";
	}
	return "Unknown";
}

/* Whether an instance is done with the deployment (either way). */
bool
inst_final(enum inst_state s)
{
	return s == IS_SUCCEEDED || s == IS_FAILED || s == IS_TIMEDOUT;
}

static void
dinst_release(struct dinst *di)
{
	free(di->name);
	free(di->queue);
	free(di->event);
	free(di->script);
	free(di->message);
	free(di->tail);
}

/* Free the contents; safe on a zeroed or half-filled deployment. */
void
deployment_release(struct deployment *d)
{
	free(d->application);
	free(d->group);
	free(d->status);
	free(d->rollback_of);
	free(d->rolled_back_by);
	free(d->created_at);
	free(d->created_by);
	free(d->ref);
	free(d->location);
	free(d->config_name);
	free(d->finished_at);
	free(d->description);
	free(d->stopped_by);
	free(d->superseded_by);
	free(d->source);
	if (d->message != NULL)
		json_decref(d->message);
	for (size_t i = 0; i < d->ninst; i++)
		dinst_release(&d->inst[i]);
	free(d->inst);
	free(d->batch_sent);
	dgates_record_release(d);
	memset(d, 0, sizeof(*d));
}

/* deployment.json for d: a new reference. */
json_t *
deployment_to_json(const struct deployment *d)
{
	json_t	*o, *rev, *insts, *batches, *b;
	size_t	 counts[IS_TIMEDOUT + 1] = { 0 };

	o = json_object();
	(void)json_object_set_new(o, "schema", json_string(DEPLOYMENT_SCHEMA));
	(void)json_object_set_new(o, "deployment_id", json_string(d->id));
	(void)json_object_set_new(o, "application",
	    str_or_null(d->application));
	(void)json_object_set_new(o, "group", str_or_null(d->group));
	(void)json_object_set_new(o, "sequence",
	    json_integer((json_int_t)d->sequence));
	(void)json_object_set_new(o, "status", str_or_null(d->status));
	(void)json_object_set_new(o, "rollback_of",
	    str_or_null(d->rollback_of));
	(void)json_object_set_new(o, "rolled_back_by",
	    str_or_null(d->rolled_back_by));
	(void)json_object_set_new(o, "created_at", str_or_null(d->created_at));
	(void)json_object_set_new(o, "created_by", str_or_null(d->created_by));
	(void)json_object_set_new(o, "ref", str_or_null(d->ref));
	(void)json_object_set_new(o, "commit",
	    str_or_null(d->commit[0] != '\0' ? d->commit : NULL));
	rev = json_object();
	(void)json_object_set_new(rev, "location", str_or_null(d->location));
	(void)json_object_set_new(rev, "sha256", json_string(d->sha256));
	(void)json_object_set_new(rev, "commit",
	    str_or_null(d->commit[0] != '\0' ? d->commit : NULL));
	(void)json_object_set_new(rev, "ref", str_or_null(d->ref));
	(void)json_object_set_new(rev, "format", json_string("tgz"));
	(void)json_object_set_new(o, "revision", rev);
	(void)json_object_set_new(o, "deployment_config",
	    str_or_null(d->config_name));
	(void)json_object_set_new(o, "timeout", json_integer(d->timeout));
	(void)json_object_set_new(o, "deadline", time_or_null(d->deadline));
	insts = json_array();
	for (size_t i = 0; i < d->ninst; i++) {
		json_t	*e;

		e = json_object();
		(void)json_object_set_new(e, "instance",
		    json_string(d->inst[i].name));
		(void)json_object_set_new(e, "queue",
		    str_or_null(d->inst[i].queue));
		(void)json_object_set_new(e, "batch",
		    json_integer((json_int_t)d->inst[i].batch));
		(void)json_object_set_new(e, "status", json_string(
		    inst_state_name(d->inst[i].state)));
		(void)json_object_set_new(e, "event",
		    str_or_null(d->inst[i].event));
		(void)json_object_set_new(e, "script",
		    str_or_null(d->inst[i].script));
		(void)json_object_set_new(e, "message",
		    str_or_null(d->inst[i].message));
		(void)json_object_set_new(e, "tail",
		    str_or_null(d->inst[i].tail));
		(void)json_object_set_new(e, "started_at",
		    time_or_null(d->inst[i].started));
		(void)json_object_set_new(e, "finished_at",
		    time_or_null(d->inst[i].finished));
		(void)json_array_append_new(insts, e);
		counts[d->inst[i].state]++;
	}
	(void)json_object_set_new(o, "instances", insts);
	batches = json_array();
	for (size_t i = 0; i < d->nbatches; i++) {
		b = json_object();
		(void)json_object_set_new(b, "sent_at",
		    time_or_null(d->batch_sent[i]));
		(void)json_array_append_new(batches, b);
	}
	(void)json_object_set_new(o, "batches", batches);
	(void)json_object_set_new(o, "counts", json_pack("{s:I,s:I,s:I,s:I}",
	    "succeeded", (json_int_t)counts[IS_SUCCEEDED],
	    "failed", (json_int_t)(counts[IS_FAILED] + counts[IS_TIMEDOUT]),
	    "in_progress", (json_int_t)(counts[IS_SENT] + counts[IS_RUNNING]),
	    "pending", (json_int_t)counts[IS_PENDING]));
	(void)json_object_set_new(o, "finished_at",
	    str_or_null(d->finished_at));
	(void)json_object_set_new(o, "description",
	    str_or_null(d->description));
	(void)json_object_set_new(o, "ignore_application_stop_failures",
	    json_boolean(d->ignore_stop_failures));
	(void)json_object_set_new(o, "stopped_by", str_or_null(d->stopped_by));
	(void)json_object_set_new(o, "superseded_by",
	    str_or_null(d->superseded_by));
	(void)json_object_set_new(o, "source", str_or_null(d->source));
	(void)json_object_set(o, "message", d->message != NULL ? d->message :
	    json_null());
	dgates_record_to_json(d, o);
	return o;
}

/* o's "batch" plus one, when it has one. */
static void
batch_from_1(json_t *o)
{
	json_t	*b;

	if (json_is_object(o) && json_is_integer(b = json_object_get(o,
	    "batch")))
		(void)json_object_set_new(o, "batch",
		    json_integer(json_integer_value(b) + 1));
}

/* batch_from_1() on each element of array a. */
static void
batches_from_1(json_t *a)
{
	for (size_t i = 0; i < json_array_size(a); i++)
		batch_from_1(json_array_get(a, i));
}

json_t *
deployment_view_json(const struct deployment *d)
{
	json_t	*o, *a;

	o = deployment_to_json(d);
	batches_from_1(json_object_get(o, "instances"));
	/* The gates are the record's own array: change a copy. */
	if ((a = json_object_get(o, "gates")) != NULL) {
		a = json_deep_copy(a);
		batches_from_1(a);
		(void)json_object_set_new(o, "gates", a);
	}
	batch_from_1(json_object_get(o, "bake"));
	return o;
}

static enum inst_state
state_from_name(const char *s)
{
	static const enum inst_state all[] = { IS_PENDING, IS_SENT,
	    IS_RUNNING, IS_SUCCEEDED, IS_FAILED, IS_TIMEDOUT };

	for (size_t i = 0; s != NULL && i < nitems(all); i++)
		if (strcmp(s, inst_state_name(all[i])) == 0)
			return all[i];
	return IS_PENDING;
}

/* Fill *ret from a deployment.json document (borrowed).  EK_DATA. */
int
deployment_from_json(json_t *o, struct deployment *ret, struct errbuf *eb)
{
	struct deployment	 d = { 0 };
	json_t			*rev, *insts, *batches, *v;
	const char		*s;
	size_t			 i;

	s = jstr(o, "deployment_id");
	if (!deployment_id_ok(s))
		return errbuf_set(eb, EK_DATA, "deployment.json: no valid "
		    "deployment_id");
	memcpy(d.id, s, DEPLOYMENT_ID_LEN + 1);
	d.application = jdup(o, "application");
	d.group = jdup(o, "group");
	d.sequence = (uint64_t)json_integer_value(json_object_get(o,
	    "sequence"));
	d.status = jdup(o, "status");
	if (d.status == NULL)
		d.status = xstrdup("InProgress");
	d.rollback_of = jdup(o, "rollback_of");
	d.rolled_back_by = jdup(o, "rolled_back_by");
	d.created_at = jdup(o, "created_at");
	d.created_by = jdup(o, "created_by");
	d.ref = jdup(o, "ref");
	rev = json_object_get(o, "revision");
	if ((s = jstr(rev, "commit")) != NULL)
		(void)strlcpy(d.commit, s, sizeof(d.commit));
	if ((s = jstr(rev, "sha256")) != NULL)
		(void)strlcpy(d.sha256, s, sizeof(d.sha256));
	d.location = jdup(rev, "location");
	d.config_name = jdup(o, "deployment_config");
	d.timeout = (unsigned)json_integer_value(json_object_get(o,
	    "timeout"));
	d.deadline = ts_parse(jstr(o, "deadline"));
	d.finished_at = jdup(o, "finished_at");
	d.description = jdup(o, "description");
	d.ignore_stop_failures = json_is_true(json_object_get(o,
	    "ignore_application_stop_failures"));
	d.stopped_by = jdup(o, "stopped_by");
	d.superseded_by = jdup(o, "superseded_by");
	d.source = jdup(o, "source");
	if ((v = json_object_get(o, "message")) != NULL && json_is_object(v))
		d.message = json_incref(v);
	dgates_record_from_json(o, &d);
	insts = json_object_get(o, "instances");
	if (json_is_array(insts) && json_array_size(insts) > 0) {
		d.inst = xcalloc(json_array_size(insts), sizeof(*d.inst));
		json_array_foreach(insts, i, v) {
			struct dinst	*di = &d.inst[d.ninst];

			if ((s = jstr(v, "instance")) == NULL)
				continue;
			di->name = xstrdup(s);
			di->queue = jdup(v, "queue");
			di->batch = (size_t)json_integer_value(
			    json_object_get(v, "batch"));
			di->state = state_from_name(jstr(v, "status"));
			di->event = jdup(v, "event");
			di->script = jdup(v, "script");
			di->message = jdup(v, "message");
			di->tail = jdup(v, "tail");
			di->started = ts_parse(jstr(v, "started_at"));
			di->finished = ts_parse(jstr(v, "finished_at"));
			d.ninst++;
		}
	}
	batches = json_object_get(o, "batches");
	if (json_is_array(batches) && json_array_size(batches) > 0) {
		d.nbatches = json_array_size(batches);
		d.batch_sent = xcalloc(d.nbatches, sizeof(*d.batch_sent));
		json_array_foreach(batches, i, v)
			d.batch_sent[i] = ts_parse(jstr(v, "sent_at"));
	}
	for (i = 0; i < d.ninst; i++)
		if (d.inst[i].batch >= d.nbatches) {
			/* Before the release, which frees d.inst. */
			errbuf_set(eb, EK_DATA, "deployment.json: instance "
			    "'%s' in batch %zu of %zu", d.inst[i].name,
			    d.inst[i].batch, d.nbatches);
			deployment_release(&d);
			return -1;
		}
	*ret = d;
	return 0;
}

/* Read and parse one JSON object of the store; 0, or -1 (EK_NOINPUT). */
static int
get_json(struct dctx *c, const char *key, json_t **ret,
    char ret_etag[STORE_ETAG_MAX], struct errbuf *eb)
{
	json_error_t	 je;
	json_t		*o;
	char		*data = NULL;
	size_t		 len;

	if (store_get(c->store, key, STORE_OBJECT_MAX, &data, &len, ret_etag,
	    eb) == -1)
		return -1;
	o = json_loadb(data, len, 0, &je);
	free(data);
	if (o == NULL || !json_is_object(o)) {
		if (o != NULL)
			json_decref(o);
		return errbuf_set(eb, EK_DATA, "'%s': not a JSON object%s%s",
		    key, o == NULL ? ": " : "", o == NULL ? je.text : "");
	}
	*ret = o;
	return 0;
}

/*
 * Read deployment.json of 'id' in 'group' into *ret (caller releases).
 * -1 with EK_NOINPUT when there is none, EK_DATA when it is not one.
 */
int
deployment_load(struct dctx *c, const char *group, const char *id,
    struct deployment *ret, struct errbuf *eb)
{
	json_t	*o = NULL;
	char	*key;
	int	 r;

	if ((key = store_key_deployment(c->cfg.application, group, id,
	    eb)) == NULL)
		return -1;
	if (get_json(c, key, &o, NULL, eb) == -1) {
		if (eb->kind == EK_NOINPUT)
			errbuf_set(eb, EK_NOINPUT, "no deployment '%s' in "
			    "group '%s'", id, group);
		r = -1;
	} else {
		r = deployment_from_json(o, ret, eb) == -1 ? -1 : 0;
		json_decref(o);
	}
	free(key);
	return r;
}

/* Write d as its deployment.json (unconditionally).  0 or -1. */
int
deployment_save(struct dctx *c, const struct deployment *d,
    struct errbuf *eb)
{
	json_t	*o;
	char	*key, *text;
	int	 r;

	if ((key = store_key_deployment(d->application, d->group, d->id,
	    eb)) == NULL)
		return -1;
	o = deployment_to_json(d);
	text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	if (text == NULL) {
		errbuf_set(eb, EK_BUG, "cannot serialise '%s'", key);
		free(key);
		return -1;
	}
	r = store_put(c->store, key, text, strlen(text), NULL, eb);
	free(text);
	free(key);
	return r;
}

static int
cmp_seq_desc(const void *a, const void *b)
{
	const struct deployment	*x = a, *y = b;

	return x->sequence < y->sequence ? 1 : x->sequence > y->sequence ?
	    -1 : 0;
}

/* Release and free what deployment_list returned; NULL-safe. */
void
deployments_free(struct deployment *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		deployment_release(&v[i]);
	free(v);
}

/*
 * Every readable deployment.json of the group, newest (highest
 * sequence) first: *ret is a new array (deployments_free).  Unreadable
 * documents are skipped.  -1 only when the store cannot be listed.
 */
int
deployment_list(struct dctx *c, const char *group, struct deployment **ret,
    size_t *ret_n, struct errbuf *eb)
{
	struct deployment	*v = NULL;
	struct errbuf		 e2 = { 0 };
	char			**keys = NULL, *prefix;
	size_t			 nkeys = 0, n = 0, ll;
	json_t			*o;

	prefix = xasprintf("deployments/%s/%s/", c->cfg.application, group);
	if (store_list(c->store, prefix, &keys, &nkeys, eb) == -1) {
		free(prefix);
		return -1;
	}
	v = xcalloc(nkeys + 1, sizeof(*v));
	for (size_t i = 0; i < nkeys; i++) {
		ll = strlen(keys[i]);
		/* Only PREFIX/ID/deployment.json, not the instances. */
		if (ll != strlen(prefix) + DEPLOYMENT_ID_LEN + 16 ||
		    strcmp(keys[i] + ll - 16, "/deployment.json") != 0)
			continue;
		if (get_json(c, keys[i], &o, NULL, &e2) == -1)
			continue;
		if (deployment_from_json(o, &v[n], &e2) == 0)
			n++;
		json_decref(o);
	}
	store_keys_free(keys, nkeys);
	free(prefix);
	qsort(v, n, sizeof(*v), cmp_seq_desc);
	*ret = v;
	*ret_n = n;
	return 0;
}

/*
 * Read the group's target.json (the last deployment message): 1 with
 * *ret_doc a new reference and ret_etag (may be NULL) its ETag, 0 when
 * there is none, -1 on a store error.
 */
int
target_read(struct dctx *c, const char *group, json_t **ret_doc,
    char ret_etag[STORE_ETAG_MAX], struct errbuf *eb)
{
	char	*key;
	int	 r;

	if ((key = store_key_target(c->cfg.application, group, eb)) == NULL)
		return -1;
	r = get_json(c, key, ret_doc, ret_etag, eb);
	free(key);
	if (r == -1 && eb->kind == EK_NOINPUT)
		return 0;
	return r == 0 ? 1 : -1;
}

/*
 * Whether the target's deployment still runs: its deployment.json says
 * InProgress, and a driver holds its lease (drive.c), or its deadline
 * has not passed and not every instance has answered after every batch
 * was sent (a driver that died: resume or stop it); or it has no
 * deployment.json yet
 * and was created less than DEPLOYER_DEADLINE_SLACK seconds ago.
 * Returns 1 or 0 (unreadable documents count as not running).
 */
int
target_active(struct dctx *c, const char *group, json_t *target,
    struct errbuf *eb)
{
	struct deployment	 d;
	struct errbuf		 e2 = { 0 };
	const char		*id;
	char			 what[512];
	time_t			 created;
	int			 active = 1;

	id = jstr(target, "deployment_id");
	created = ts_parse(jstr(target, "created_at"));
	if (id == NULL)
		return 0;
	if (deployment_load(c, group, id, &d, &e2) == -1)
		/* Being created: running for a short while. */
		return e2.kind == EK_NOINPUT && created != 0 &&
		    time(NULL) < created + DEPLOYER_DEADLINE_SLACK ? 1 : 0;
	if (strcmp(d.status, "InProgress") != 0)
		active = 0;
	else if (driver_describe(c, &d, what, sizeof(what)) == 1)
		active = 1;	/* a live driver */
	else if (d.deadline == 0 || time(NULL) >= d.deadline)
		active = 0;
	else {
		/* A --no-wait run nobody watches ends when all answered. */
		bool	 all = true;

		for (size_t i = 0; i < d.nbatches; i++)
			all = all && d.batch_sent[i] != 0;
		for (size_t i = 0; all && i < d.ninst; i++) {
			if (progress_read(c, &d, &d.inst[i], &e2) == -1 ||
			    !inst_final(d.inst[i].state))
				all = false;
		}
		if (all)
			active = 0;
	}
	deployment_release(&d);
	return active;
}

static void
setdup(char **p, const char *s)
{
	free(*p);
	*p = s != NULL ? xstrdup(s) : NULL;
}

/* Read one document of the store as text; -1 with eb (EK_NOINPUT). */
static int
get_text(struct dctx *c, const char *key, char **ret, size_t *ret_len,
    struct errbuf *eb)
{
	return store_get(c->store, key, STORE_OBJECT_MAX, ret, ret_len, NULL,
	    eb);
}

/*
 * Apply one progress document (lib/progress.h) to di: -1 (di as it is)
 * when it cannot be parsed.  A host that refused the message (Rejected,
 * Skipped) failed; its reason is the message.
 */
int
progress_apply(struct dinst *di, const char *data, size_t len)
{
	struct progress_view	 pv;
	struct errbuf		 e2 = { 0 };
	time_t			 t;

	if (progress_parse(data, len, &pv, &e2) == -1)
		return -1;
	if (strcmp(pv.status, PROGRESS_SUCCEEDED) == 0)
		di->state = IS_SUCCEEDED;
	else if (progress_status_failed(pv.status))
		di->state = IS_FAILED;
	else if (di->state != IS_TIMEDOUT)
		di->state = IS_RUNNING;	/* InProgress, Interrupted */
	setdup(&di->event, pv.event);
	/*
	 * Out of traffic while BlockTraffic / AllowTraffic waits: running,
	 * never healthy, and shown as "BlockTraffic: draining".
	 */
	if (di->state == IS_RUNNING && di->event != NULL &&
	    jstr(json_object_get(pv.doc, "traffic"), "step") != NULL) {
		char	*e;

		e = xasprintf("%s: %s", di->event,
		    jstr(json_object_get(pv.doc, "traffic"), "step"));
		free(di->event);
		di->event = e;
	}
	setdup(&di->script, pv.script);
	setdup(&di->message, pv.message);
	setdup(&di->tail, pv.tail);
	if ((t = ts_parse(pv.started_at)) != 0)
		di->started = t;
	if ((t = ts_parse(pv.finished_at)) != 0)
		di->finished = t;
	progress_view_release(&pv);
	return 0;
}

/*
 * Refresh di from its progress document.  A missing or unreadable
 * document leaves di as it is.  0, or -1 on a store error (not
 * EK_NOINPUT).
 */
int
progress_read(struct dctx *c, const struct deployment *d, struct dinst *di,
    struct errbuf *eb)
{
	char		*key, *data = NULL;
	size_t		 len = 0;
	int		 r;

	if ((key = store_key_deployment_instance(d->application, d->group,
	    d->id, di->name, eb)) == NULL)
		return -1;
	r = get_text(c, key, &data, &len, eb);
	free(key);
	if (r == -1)
		return eb->kind == EK_NOINPUT ? 0 : -1;
	(void)progress_apply(di, data, len);
	free(data);
	return 0;
}

/* Free what instances_find returned; NULL-safe. */
void
reginsts_free(struct reginst *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].queue);
		free(v[i].current_id);
		free(v[i].in_progress);
		free(v[i].dup);
	}
	free(v);
}

static int
cmp_reginst(const void *a, const void *b)
{
	const struct reginst	*x = a, *y = b;

	return strcmp(x->name, y->name);
}

/*
 * Whether queue 'qname' (found by PREFIX-GROUP-) really belongs to
 * another configured group whose name extends 'group' ("prod-eu").
 */
static bool
other_group_queue(const struct dctx *c, const char *group, const char *qname)
{
	size_t	 pl, gl;

	pl = strlen(c->cfg.queue_prefix) + 1;
	for (size_t i = 0; i < c->cfg.ngroups; i++) {
		const char	*g = c->cfg.groups[i].name;

		gl = strlen(g);
		if (gl <= strlen(group) || strncmp(g, group, strlen(group)) !=
		    0)
			continue;
		if (strncmp(qname + pl, g, gl) == 0 && qname[pl + gl] == '-')
			return true;
	}
	return false;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Whether name is in qs, whose first nq1 names (one queue name form)
 * and the rest (the other) are each sorted.
 */
static bool
has_queue(char **qs, size_t nq1, size_t nq, const char *name)
{
	if (name == NULL)
		return false;
	if (nq1 > 0 && bsearch(&name, qs, nq1, sizeof(*qs), cmp_str) != NULL)
		return true;
	return nq > nq1 && bsearch(&name, qs + nq1, nq - nq1, sizeof(*qs),
	    cmp_str) != NULL;
}

/* Whether qs[i] is NAME-dlq, the dead-letter queue of NAME in qs. */
static bool
is_dlq(char **qs, size_t nq1, size_t nq, size_t i)
{
	size_t	 n, sl;
	char	*base;
	bool	 r;

	n = strlen(qs[i]);
	sl = strlen(SQS_DLQ_SUFFIX);
	if (n <= sl || strcmp(qs[i] + n - sl, SQS_DLQ_SUFFIX) != 0)
		return false;
	base = xstrndup(qs[i], n - sl);
	r = has_queue(qs, nq1, nq, base);
	free(base);
	return r;
}

/* Registry entries being read at once: where each goes in v. */
struct regread {
	struct dctx	*c;
	const char	*group;
	struct reginst	*v;
	size_t		*idx;		/* read i -> v[idx[i]] */
	time_t		 now;
};

static void
on_registry_entry(void *arg, size_t i, const char *data, size_t len,
    const char *etag, const struct errbuf *eb)
{
	struct regread		*r = arg;
	struct reginst		*ri = &r->v[r->idx[i]];
	struct registry_view	 rv;
	struct errbuf		 e2 = { 0 };
	time_t			 t;

	/* Unreadable: keep what the listing said. */
	if (data == NULL || registry_parse(data, len, &rv, &e2) == -1)
		return;
	free(ri->name);
	ri->name = xstrdup(rv.instance);
	free(ri->queue);
	ri->queue = rv.queue != NULL ? xstrdup(rv.queue) : NULL;
	if (ri->queue == NULL)
		ri->queue = queue_name(r->c->cfg.queue_prefix, r->group,
		    rv.instance, &e2);
	if ((t = ts_parse(rv.last_seen)) != 0)
		ri->last_seen = t;
	ri->stale = ri->last_seen == 0 ||
	    r->now - ri->last_seen > DEPLOYER_STALE_SEC;
	ri->current_id = rv.current_id != NULL ? xstrdup(rv.current_id) :
	    NULL;
	ri->current_seq = rv.current_sequence;
	ri->last_seq = rv.last_sequence > rv.current_sequence ?
	    rv.last_sequence : rv.current_sequence;
	ri->in_progress = rv.in_progress_id != NULL ?
	    xstrdup(rv.in_progress_id) : NULL;
	if (rv.dup_boot_id != NULL && !ri->stale)
		ri->dup = xasprintf("boot id %s on host %s, seen %s",
		    rv.dup_boot_id, rv.dup_hostname != NULL ? rv.dup_hostname :
		    "?", rv.dup_last_seen != NULL ? rv.dup_last_seen : "?");
	registry_view_release(&rv);
}

/*
 * The registry entries instances_find read, by key, with the tag they
 * had: a later call in the same process (the second look after
 * target.json) reads only those that changed since.
 */
struct regcache_ent {
	char		*key;
	char		*tag;
	struct reginst	 ri;
};

struct regcache {
	struct regcache_ent	*v;		/* sorted by key */
	size_t			 n;
};

static void
reginst_copy(struct reginst *to, const struct reginst *from)
{
	to->name = from->name != NULL ? xstrdup(from->name) : NULL;
	to->queue = from->queue != NULL ? xstrdup(from->queue) : NULL;
	to->last_seen = from->last_seen;
	to->stale = from->stale;
	to->current_id = from->current_id != NULL ?
	    xstrdup(from->current_id) : NULL;
	to->current_seq = from->current_seq;
	to->last_seq = from->last_seq;
	to->in_progress = from->in_progress != NULL ?
	    xstrdup(from->in_progress) : NULL;
	to->dup = from->dup != NULL ? xstrdup(from->dup) : NULL;
}

static void
reginst_clear(struct reginst *ri)
{
	free(ri->name);
	free(ri->queue);
	free(ri->current_id);
	free(ri->in_progress);
	free(ri->dup);
	memset(ri, 0, sizeof(*ri));
}

void
regcache_free(struct regcache *rc)
{
	if (rc == NULL)
		return;
	for (size_t i = 0; i < rc->n; i++) {
		free(rc->v[i].key);
		free(rc->v[i].tag);
		reginst_clear(&rc->v[i].ri);
	}
	free(rc->v);
	free(rc);
}

static int
cmp_regcache(const void *a, const void *b)
{
	return strcmp(((const struct regcache_ent *)a)->key,
	    ((const struct regcache_ent *)b)->key);
}

/* The cached entry of key with this tag, or NULL. */
static const struct reginst *
regcache_get(const struct regcache *rc, const char *key, const char *tag)
{
	struct regcache_ent	 k, *f;

	if (rc == NULL || rc->n == 0)
		return NULL;
	memset(&k, 0, sizeof(k));
	k.key = (char *)(uintptr_t)key;
	f = bsearch(&k, rc->v, rc->n, sizeof(*rc->v), cmp_regcache);
	return f != NULL && strcmp(f->tag, tag) == 0 ? &f->ri : NULL;
}

static int
cmp_reginst_queue(const void *a, const void *b)
{
	const struct reginst	*x = *(struct reginst *const *)a;
	const struct reginst	*y = *(struct reginst *const *)b;

	return strcmp(x->queue != NULL ? x->queue : "",
	    y->queue != NULL ? y->queue : "");
}

/*
 * The group's instances: registry entries (all when 'all', else those
 * seen within DEPLOYER_STALE_SEC or with a queue), merged with the queues
 * named PREFIX-GROUP-*.  Sorted by name.
 *
 * Cost (issue 19): the registry is listed (one request per 1,000 entries
 * on S3), and an entry's LastModified is its last_seen.  An entry is read
 * only when 'all' (`deployer instances` shows what it holds) or when its
 * instance's queue is not the usual PREFIX-GROUP-INSTANCE among the
 * listed queues (the entry names it); those reads go at once
 * (store_get_many).
 */
int
instances_find(struct dctx *c, const char *group, bool all,
    struct reginst **ret, size_t *ret_n, struct errbuf *eb)
{
	struct store_listing	 l = { NULL, 0 };
	struct reginst		*v = NULL, **byq = NULL;
	struct regread		 rr;
	struct errbuf		 e2 = { 0 };
	const char		**keys = NULL, **tags = NULL;
	struct regcache_ent	*ent = NULL;
	char			**qs = NULL, *prefix = NULL, *qprefix;
	char			**qs2 = NULL, *qprefix2, *alt;
	size_t			 nent = 0;
	size_t			 nq = 0, n = 0, cap, nread = 0, pl, nq1;
	size_t			 nq2 = 0;
	time_t			 now;
	int			 ret_code = -1;

	memset(&rr, 0, sizeof(rr));
	now = time(NULL);
	qprefix = xasprintf("%s-%s-", c->cfg.queue_prefix, group);
	/* hookd.yml groups: form: PREFIX-APP-GROUP-INSTANCE. */
	qprefix2 = xasprintf("%s-%s-%s-", c->cfg.queue_prefix,
	    c->cfg.application, group);
	prefix = xasprintf("groups/%s/%s/instances/", c->cfg.application,
	    group);
	pl = strlen(prefix);
	if (store_list_entries(c->store, prefix, &l, eb) == -1)
		goto out;
	if (dctx_queue_list(c, qprefix, &qs, &nq, &e2) == -1) {
		/* A spool that does not exist yet has no queues. */
		if (e2.kind != EK_NOINPUT) {
			*eb = e2;
			goto out;
		}
		nq = 0;
		qs = NULL;
	}
	nq1 = nq;
	if (dctx_queue_list(c, qprefix2, &qs2, &nq2, &e2) == 0 && nq2 > 0) {
		qs = xreallocarray(qs, nq + nq2, sizeof(*qs));
		memcpy(qs + nq, qs2, nq2 * sizeof(*qs));
		nq += nq2;
	}
	free(qs2);
	/* Each form's queues sorted on their own (nq1 tells them apart). */
	if (nq1 > 0)
		qsort(qs, nq1, sizeof(*qs), cmp_str);
	if (nq > nq1)
		qsort(qs + nq1, nq - nq1, sizeof(*qs), cmp_str);
	cap = l.n + nq + 1;
	v = xcalloc(cap, sizeof(*v));
	keys = xcalloc(l.n + 1, sizeof(*keys));
	tags = xcalloc(l.n + 1, sizeof(*tags));
	ent = xcalloc(l.n + 1, sizeof(*ent));
	rr.c = c;
	rr.group = group;
	rr.v = v;
	rr.idx = xcalloc(l.n + 1, sizeof(*rr.idx));
	rr.now = now;
	for (size_t i = 0; i < l.n; i++) {
		const char	*k = l.v[i].key;
		size_t		 kl = strlen(k);

		if (kl < pl + 6 || strcmp(k + kl - 5, ".json") != 0)
			continue;
		v[n].name = xstrndup(k + pl, kl - pl - 5);
		v[n].queue = queue_name(c->cfg.queue_prefix, group,
		    v[n].name, &e2);
		v[n].last_seen = (time_t)l.v[i].mtime;
		v[n].stale = v[n].last_seen == 0 ||
		    now - v[n].last_seen > DEPLOYER_STALE_SEC;
		/* The groups: form's name, PREFIX-APP-GROUP-INSTANCE. */
		alt = xasprintf("%s%s", qprefix2, v[n].name);
		if (!has_queue(qs, nq1, nq, v[n].queue) &&
		    has_queue(qs, nq1, nq, alt)) {
			free(v[n].queue);
			v[n].queue = alt;
			alt = NULL;
		}
		free(alt);
		if (all || v[n].queue == NULL ||
		    !has_queue(qs, nq1, nq, v[n].queue)) {
			const struct reginst	*cached;

			/* Read earlier in this process and unchanged. */
			cached = regcache_get(c->regcache, k, l.v[i].tag);
			if (cached != NULL) {
				reginst_clear(&v[n]);
				reginst_copy(&v[n], cached);
				ent[nent].key = xstrdup(k);
				ent[nent].tag = xstrdup(l.v[i].tag);
				reginst_copy(&ent[nent++].ri, cached);
				n++;
				continue;
			}
			keys[nread] = k;
			tags[nread] = l.v[i].tag;
			rr.idx[nread++] = n;
		}
		n++;
	}
	if (nread > 0 && store_get_many(c->store, keys, nread,
	    STORE_OBJECT_MAX, on_registry_entry, &rr, eb) == -1)
		goto out;
	/* What was read (or reused) is the cache for the next call. */
	for (size_t i = 0; i < nread; i++) {
		ent[nent].key = xstrdup(keys[i]);
		ent[nent].tag = xstrdup(tags[i]);
		reginst_copy(&ent[nent++].ri, &v[rr.idx[i]]);
	}
	regcache_free(c->regcache);
	c->regcache = xcalloc(1, sizeof(*c->regcache));
	c->regcache->v = ent;
	c->regcache->n = nent;
	ent = NULL;
	qsort(c->regcache->v, c->regcache->n, sizeof(*c->regcache->v),
	    cmp_regcache);
	/* Each queue to its entry, by queue name. */
	byq = xcalloc(n + 1, sizeof(*byq));
	for (size_t i = 0; i < n; i++)
		byq[i] = &v[i];
	qsort(byq, n, sizeof(*byq), cmp_reginst_queue);
	for (size_t i = 0, nn = n; i < nq; i++) {
		struct reginst	 key, *kp = &key, **hit;

		if (other_group_queue(c, group, qs[i] + (i < nq1 ? 0 :
		    strlen(c->cfg.application) + 1)) ||
		    is_dlq(qs, nq1, nq, i))
			continue;
		memset(&key, 0, sizeof(key));
		key.queue = qs[i];
		hit = nn == 0 ? NULL : bsearch(&kp, byq, nn, sizeof(*byq),
		    cmp_reginst_queue);
		if (hit != NULL) {
			(*hit)->has_queue = true;
			continue;
		}
		v[n].name = xstrdup(qs[i] + strlen(i < nq1 ? qprefix :
		    qprefix2));
		v[n].queue = xstrdup(qs[i]);
		v[n].has_queue = true;
		v[n].stale = true;	/* no registry entry: not live */
		n++;
	}
	if (!all) {
		size_t	 k = 0;

		for (size_t i = 0; i < n; i++) {
			if (v[i].queue != NULL &&
			    (!v[i].stale || v[i].has_queue)) {
				v[k++] = v[i];
				continue;
			}
			free(v[i].name);
			free(v[i].queue);
			free(v[i].current_id);
			free(v[i].in_progress);
			free(v[i].dup);
		}
		n = k;
	}
	qsort(v, n, sizeof(*v), cmp_reginst);
	*ret = v;
	*ret_n = n;
	v = NULL;
	ret_code = 0;
 out:
	if (v != NULL)
		reginsts_free(v, n);
	free(byq);
	free(keys);
	free(tags);
	if (ent != NULL) {
		struct regcache	 tmp = { ent, nent };

		for (size_t i = 0; i < tmp.n; i++) {
			free(tmp.v[i].key);
			free(tmp.v[i].tag);
			reginst_clear(&tmp.v[i].ri);
		}
		free(ent);
	}
	free(rr.idx);
	store_listing_release(&l);
	if (qs != NULL) {
		for (size_t i = 0; i < nq; i++)
			free(qs[i]);
		free(qs);
	}
	free(prefix);
	free(qprefix);
	free(qprefix2);
	return ret_code;
}

/*
 * Find the deployment 'what' names (an ID in any group, or a group's
 * latest) and the group it belongs to.  -1 with EK_NOINPUT when there
 * is none, EK_USAGE when 'what' is neither.
 */
int
deployment_find(struct dctx *c, const char *what, struct deployment *ret,
    const struct deployer_group **ret_g, struct errbuf *eb)
{
	struct deployment	*v = NULL;
	struct errbuf		 e2 = { 0 };
	size_t			 n = 0;

	if (deployment_id_check("ID", what, &e2) == 0) {
		for (size_t i = 0; i < c->cfg.ngroups; i++) {
			if (deployment_load(c, c->cfg.groups[i].name, what,
			    ret, &e2) == 0) {
				*ret_g = &c->cfg.groups[i];
				return 0;
			}
			if (e2.kind != EK_NOINPUT) {
				*eb = e2;
				return -1;
			}
		}
		return errbuf_set(eb, EK_NOINPUT, "no deployment '%s' in any "
		    "group of '%s'", what, c->cfgpath);
	}
	if ((*ret_g = dctx_group(c, what, eb)) == NULL)
		return -1;
	if (deployment_list(c, what, &v, &n, eb) == -1)
		return -1;
	if (n == 0) {
		deployments_free(v, n);
		return errbuf_set(eb, EK_NOINPUT, "group '%s' has no "
		    "deployments yet", what);
	}
	*ret = v[0];
	memset(&v[0], 0, sizeof(v[0]));
	deployments_free(v, n);
	return 0;
}
