/* SPDX-License-Identifier: ISC */
/*
 * progress.c: the per-instance progress document and the registry entry
 * of progress.h, as jansson objects.  Building and dumping only; the
 * daemon decides when to write them and where.
 */
#include "compat.h"

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "appspec.h"
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

char *
registry_dump(const struct registry_info *ri, size_t *ret_len)
{
	json_t	*d, *cur, *cu;
	char	*text;

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
	text = dump(d, ret_len);
	json_decref(d);
	return text;
}
