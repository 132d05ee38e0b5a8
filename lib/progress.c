/* SPDX-License-Identifier: ISC */
/*
 * progress.c: the per-instance progress document and the registry entry
 * of progress.h, as jansson objects: built and dumped for the daemon,
 * parsed for the deployer.  No I/O; the callers decide where.
 */
#include "compat.h"

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "appspec.h"
#include "errbuf.h"
#include "lifecycle.h"
#include "progress.h"
#include "state.h"
#include "version.h"
#include "xalloc.h"

#include "banned.h"

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static void
setstr(json_t *o, const char *key, const char *s)
{
	json_t	*v;

	/* json_string() refuses invalid UTF-8: store null then. */
	if ((v = str_or_null(s)) == NULL)
		v = json_null();
	(void)json_object_set_new(o, key, v);
}

static void
setnow(json_t *o, const char *key)
{
	char	 ts[STATE_TIME_LEN];

	state_timestamp(ts);
	setstr(o, key, ts);
}

void
progress_init(struct progress *p, const char *application, const char *group,
    const char *instance, const char *id, uint64_t sequence,
    const char *commit, const char *sha256)
{
	json_t	*d;

	if ((d = json_object()) == NULL)
		abort();
	setstr(d, "schema", PROGRESS_SCHEMA);
	setstr(d, "deployment_id", id);
	setstr(d, "application", application);
	setstr(d, "group", group);
	setstr(d, "instance", instance);
	(void)json_object_set_new(d, "sequence",
	    json_integer((json_int_t)sequence));
	setstr(d, "commit", commit != NULL && *commit != '\0' ? commit : NULL);
	setstr(d, "sha256", sha256);
	setstr(d, "status", "InProgress");
	setstr(d, "event", NULL);
	setstr(d, "message", NULL);
	setstr(d, "script", NULL);
	setstr(d, "tail", NULL);
	setstr(d, "rolled_back_to", NULL);
	setnow(d, "started_at");
	setnow(d, "updated_at");
	setstr(d, "finished_at", NULL);
	(void)json_object_set_new(d, "events", json_array());
	p->doc = d;
}

void
progress_release(struct progress *p)
{
	if (p->doc != NULL)
		json_decref(p->doc);
	p->doc = NULL;
}

void
progress_event_start(struct progress *p, const char *event, bool rollback)
{
	json_t	*evs, *e;

	if (p->doc == NULL)
		return;
	setstr(p->doc, "event", event);
	(void)json_object_del(p->doc, "traffic");
	evs = json_object_get(p->doc, "events");
	if (evs == NULL || json_array_size(evs) >= PROGRESS_EVENTS_MAX)
		return;
	if ((e = json_object()) == NULL)
		abort();
	setstr(e, "event", event);
	setstr(e, "status", "Running");
	(void)json_object_set_new(e, "rollback", json_boolean(rollback));
	setnow(e, "started_at");
	setstr(e, "finished_at", NULL);
	(void)json_array_append_new(evs, e);
}

static const char *
event_status(enum deploy_event_status st)
{
	switch (st) {
	case DEPLOY_EVENT_OK:
		return "Succeeded";
	case DEPLOY_EVENT_FAILED:
		return "Failed";
	case DEPLOY_EVENT_SKIPPED:
		return "Skipped";
	}
	return "Unknown";
}

void
progress_event_end(struct progress *p, const struct deploy_event *de)
{
	const char	*name = lc_event_name(de->event);
	json_t		*evs, *e = NULL, *v;
	size_t		 i;

	if (p->doc == NULL)
		return;
	(void)json_object_del(p->doc, "traffic");
	evs = json_object_get(p->doc, "events");
	for (i = json_array_size(evs); i > 0; i--) {
		v = json_array_get(evs, i - 1);
		if (strcmp(json_string_value(json_object_get(v, "event")),
		    name) == 0) {
			e = v;
			break;
		}
	}
	if (e == NULL) {
		/* An event that never started (skipped), or past the cap. */
		if (json_array_size(evs) >= PROGRESS_EVENTS_MAX)
			return;
		if ((e = json_object()) == NULL)
			abort();
		setstr(e, "event", name);
		(void)json_object_set_new(e, "rollback",
		    json_boolean(de->rollback));
		setstr(e, "started_at", NULL);
		(void)json_array_append_new(evs, e);
	}
	setstr(e, "status", event_status(de->status));
	setnow(e, "finished_at");
	(void)json_object_set_new(e, "duration", json_real(de->duration));
	setstr(e, "script", de->script);
	setstr(e, "outcome", de->outcome);
	if (de->nwarnings > 0) {
		/* The appspec's warnings: what CodeDeploy would ignore. */
		json_t	*w = json_array();

		if (w == NULL)
			abort();
		for (i = 0; i < de->nwarnings; i++)
			(void)json_array_append_new(w,
			    json_string(de->warnings[i]));
		(void)json_object_set_new(p->doc, "warnings", w);
	}
}

void
progress_finish(struct progress *p, const struct deploy_result *r)
{
	const char	*st;

	if (p->doc == NULL)
		return;
	switch (r->status) {
	case DEPLOY_SUCCEEDED:
		st = "Succeeded";
		break;
	case DEPLOY_FAILED:
		st = "Failed";
		break;
	default:
		st = "Interrupted";
		break;
	}
	setstr(p->doc, "status", st);
	setstr(p->doc, "event", r->failed_event >= 0 ?
	    lc_event_name((enum lc_event)r->failed_event) : NULL);
	setstr(p->doc, "message", r->outcome);
	setstr(p->doc, "script", r->script);
	setstr(p->doc, "tail", r->tail);
	setstr(p->doc, "rolled_back_to", r->rolled_back_to);
	setnow(p->doc, "finished_at");
}

void
progress_set(struct progress *p, const char *status, const char *message)
{
	if (p->doc == NULL)
		return;
	setstr(p->doc, "status", status);
	setstr(p->doc, "message", message);
	if (strcmp(status, "InProgress") != 0)
		setnow(p->doc, "finished_at");
}

void
progress_traffic(struct progress *p, const char *step, const char *detail)
{
	json_t	*t;

	if (p->doc == NULL)
		return;
	if ((t = json_object()) == NULL)
		abort();
	setstr(t, "step", step);
	setstr(t, "detail", detail);
	(void)json_object_set_new(p->doc, "traffic", t);
}

const char *
progress_status(const struct progress *p)
{
	const char	*s;

	if (p->doc == NULL)
		return "InProgress";
	s = json_string_value(json_object_get(p->doc, "status"));
	return s != NULL ? s : "InProgress";
}

static char *
dump(json_t *d, size_t *ret_len)
{
	char	*text;

	if ((text = json_dumps(d, JSON_INDENT(1) | JSON_PRESERVE_ORDER)) ==
	    NULL)
		abort();
	*ret_len = strlen(text);
	return text;
}

char *
progress_dump(struct progress *p, size_t *ret_len)
{
	setnow(p->doc, "updated_at");
	return dump(p->doc, ret_len);
}

const char *
registry_boot_id(void)
{
	static char	 id[REGISTRY_BOOT_ID_LEN + 1];
	unsigned char	 r[REGISTRY_BOOT_ID_LEN / 2];

	if (id[0] != '\0')
		return id;
	if (getentropy(r, sizeof(r)) == -1) {
		unsigned long long	 v;

		v = (unsigned long long)time(NULL) * 65599ULL ^
		    (unsigned long long)getpid();
		for (size_t i = 0; i < sizeof(r); i++, v >>= 4)
			r[i] = (unsigned char)(v * 31 + i);
	}
	for (size_t i = 0; i < sizeof(r); i++)
		(void)snprintf(id + 2 * i, 3, "%02x", r[i]);
	return id;
}

char *
registry_dump(const struct registry_info *ri, size_t *ret_len)
{
	json_t	*d, *cur, *cu, *dup;
	char	*text, host[256];

	if ((d = json_object()) == NULL)
		abort();
	setstr(d, "schema", REGISTRY_SCHEMA);
	setstr(d, "instance", ri->instance);
	setstr(d, "application", ri->application);
	setstr(d, "group", ri->group);
	setstr(d, "queue", ri->queue);
	setstr(d, "queue_backend", ri->queue_backend);
	setstr(d, "started_at", ri->started_at);
	setnow(d, "last_seen");
	(void)json_object_set_new(d, "pid", json_integer((json_int_t)getpid()));
	setstr(d, "version", HOOKD_VERSION);
	if (ri->current_id != NULL) {
		cur = json_object();
		if (cur == NULL)
			abort();
		setstr(cur, "deployment_id", ri->current_id);
		(void)json_object_set_new(cur, "sequence",
		    json_integer((json_int_t)ri->current_sequence));
		(void)json_object_set_new(d, "current", cur);
	} else
		(void)json_object_set_new(d, "current", json_null());
	setstr(d, "in_progress", ri->in_progress_id);
	if (ri->catching_up_since != NULL) {
		if ((cu = json_object()) == NULL)
			abort();
		setstr(cu, "since", ri->catching_up_since);
		setstr(cu, "lifecycle_hook", ri->lifecycle_hook);
		setstr(cu, "auto_scaling_group", ri->auto_scaling_group);
		(void)json_object_set_new(cu, "heartbeat_timeout",
		    json_integer((json_int_t)ri->heartbeat_timeout));
		(void)json_object_set_new(d, "catching_up", cu);
	} else
		(void)json_object_set_new(d, "catching_up", json_null());
	setstr(d, "boot_id", ri->boot_id != NULL ? ri->boot_id :
	    registry_boot_id());
	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	setstr(d, "hostname", host[0] != '\0' ? host : NULL);
	(void)json_object_set_new(d, "last_sequence",
	    json_integer((json_int_t)ri->last_sequence));
	if (ri->dup_boot_id != NULL) {
		if ((dup = json_object()) == NULL)
			abort();
		setstr(dup, "boot_id", ri->dup_boot_id);
		setstr(dup, "hostname", ri->dup_hostname);
		(void)json_object_set_new(dup, "pid",
		    json_integer((json_int_t)ri->dup_pid));
		setstr(dup, "last_seen", ri->dup_last_seen);
		(void)json_object_set_new(d, "duplicate", dup);
	} else
		(void)json_object_set_new(d, "duplicate", json_null());
	text = dump(d, ret_len);
	json_decref(d);
	return text;
}

/* --- readers --- */

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static uint64_t
juint(json_t *o, const char *key)
{
	json_int_t	 v;

	v = json_integer_value(json_object_get(o, key));
	return v > 0 ? (uint64_t)v : 0;
}

static json_t *
load_object(const char *buf, size_t len, const char *what,
    struct errbuf *eb)
{
	json_error_t	 je;
	json_t		*o;

	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		errbuf_set(eb, EK_DATA, "%s: not JSON: %s", what, je.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		errbuf_set(eb, EK_DATA, "%s: not a JSON object", what);
		return NULL;
	}
	return o;
}

int
progress_parse(const char *buf, size_t len, struct progress_view *ret,
    struct errbuf *eb)
{
	json_t	*o;

	memset(ret, 0, sizeof(*ret));
	if ((o = load_object(buf, len, "progress document", eb)) == NULL)
		return -1;
	if (jstr(o, "status") == NULL) {
		json_decref(o);
		return errbuf_set(eb, EK_DATA, "progress document: no "
		    "\"status\"");
	}
	ret->doc = o;
	ret->deployment_id = jstr(o, "deployment_id");
	ret->instance = jstr(o, "instance");
	ret->sequence = juint(o, "sequence");
	ret->status = jstr(o, "status");
	ret->event = jstr(o, "event");
	ret->message = jstr(o, "message");
	ret->script = jstr(o, "script");
	ret->tail = jstr(o, "tail");
	ret->started_at = jstr(o, "started_at");
	ret->finished_at = jstr(o, "finished_at");
	return 0;
}

void
progress_view_release(struct progress_view *v)
{
	if (v->doc != NULL)
		json_decref(v->doc);
	memset(v, 0, sizeof(*v));
}

int
registry_parse(const char *buf, size_t len, struct registry_view *ret,
    struct errbuf *eb)
{
	json_t	*o, *cur, *dup;

	memset(ret, 0, sizeof(*ret));
	if ((o = load_object(buf, len, "registry entry", eb)) == NULL)
		return -1;
	if (jstr(o, "instance") == NULL) {
		json_decref(o);
		return errbuf_set(eb, EK_DATA, "registry entry: no "
		    "\"instance\"");
	}
	ret->doc = o;
	ret->instance = jstr(o, "instance");
	ret->queue = jstr(o, "queue");
	ret->last_seen = jstr(o, "last_seen");
	cur = json_object_get(o, "current");
	ret->current_id = jstr(cur, "deployment_id");
	ret->current_sequence = juint(cur, "sequence");
	ret->last_sequence = juint(o, "last_sequence");
	ret->in_progress_id = jstr(o, "in_progress");
	ret->boot_id = jstr(o, "boot_id");
	ret->hostname = jstr(o, "hostname");
	ret->catching_up = json_object_get(o, "catching_up");
	if (!json_is_object(ret->catching_up))
		ret->catching_up = NULL;
	dup = json_object_get(o, "duplicate");
	if ((ret->dup_boot_id = jstr(dup, "boot_id")) != NULL) {
		ret->dup_hostname = jstr(dup, "hostname");
		ret->dup_last_seen = jstr(dup, "last_seen");
	}
	return 0;
}

void
registry_view_release(struct registry_view *v)
{
	if (v->doc != NULL)
		json_decref(v->doc);
	memset(v, 0, sizeof(*v));
}

bool
progress_status_final(const char *s)
{
	return s != NULL && (strcmp(s, PROGRESS_SUCCEEDED) == 0 ||
	    progress_status_failed(s));
}

bool
progress_status_failed(const char *s)
{
	return s != NULL && (strcmp(s, PROGRESS_FAILED) == 0 ||
	    strcmp(s, PROGRESS_REJECTED) == 0 ||
	    strcmp(s, PROGRESS_SKIPPED) == 0);
}
