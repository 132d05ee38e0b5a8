/* SPDX-License-Identifier: ISC */
/*
 * state.c: load and save ROOT/APP/GROUP/state.json with jansson.  A save
 * writes a temporary file beside the real one and renames it over, so a
 * reader (or a hookd restarted after kill -9) sees the old document or the
 * new one, never half of either.  Nothing here knows what a deployment
 * does; see lifecycle.c.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "caps.h"
#include "errbuf.h"
#include "fsutil.h"
#include "state.h"
#include "xalloc.h"

#include "banned.h"

void
state_init(struct state *st)
{
	memset(st, 0, sizeof(*st));
}

void
state_rev_release(struct state_rev *r)
{
	free(r->deployment_id);
	free(r->release);
	free(r->sha256);
	free(r->commit);
	memset(r, 0, sizeof(*r));
}

static char *
xstrdup_null(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

bool
state_rev_is(const struct state_rev *rev, const char *id)
{
	return rev->sequence != 0 && rev->deployment_id != NULL &&
	    strcmp(rev->deployment_id, id) == 0;
}

void
state_rev_copy(struct state_rev *dst, const struct state_rev *src)
{
	struct state_rev	 r;

	r.sequence = src->sequence;
	r.deployment_id = xstrdup_null(src->deployment_id);
	r.release = xstrdup_null(src->release);
	r.sha256 = xstrdup_null(src->sha256);
	r.commit = xstrdup_null(src->commit);
	state_rev_release(dst);
	*dst = r;
}

void
state_hist_release(struct state_hist *h)
{
	free(h->deployment_id);
	free(h->status);
	free(h->event);
	free(h->script);
	free(h->message);
	free(h->started_at);
	free(h->finished_at);
	free(h->rolled_back_to);
	memset(h, 0, sizeof(*h));
}

void
state_progress_clear(struct state_progress *p)
{
	state_rev_release(&p->rev);
	free(p->phase);
	free(p->traffic);
	free(p->started_at);
	for (size_t i = 0; i < p->nlinks; i++) {
		free(p->links[i].path);
		free(p->links[i].old_target);
		free(p->links[i].backup);
	}
	free(p->links);
	memset(p, 0, sizeof(*p));
}

void
state_release(struct state *st)
{
	free(st->application);
	free(st->group);
	state_rev_release(&st->current);
	state_rev_release(&st->previous);
	state_rev_release(&st->last_good);
	state_progress_clear(&st->in_progress);
	for (size_t i = 0; i < st->nhistory; i++)
		state_hist_release(&st->history[i]);
	free(st->history);
	memset(st, 0, sizeof(*st));
}

void
state_push_history(struct state *st, struct state_hist *h)
{
	if (st->nhistory == STATE_HISTORY_MAX) {
		state_hist_release(&st->history[st->nhistory - 1]);
		st->nhistory--;
	}
	if (st->history == NULL)
		st->history = xcalloc(STATE_HISTORY_MAX,
		    sizeof(*st->history));
	memmove(&st->history[1], &st->history[0],
	    st->nhistory * sizeof(*st->history));
	st->history[0] = *h;
	st->nhistory++;
	memset(h, 0, sizeof(*h));
}

void
state_timestamp(char buf[STATE_TIME_LEN])
{
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, STATE_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	(void)snprintf(buf + n, STATE_TIME_LEN - n, ".%03ldZ",
	    ts.tv_nsec / 1000000);
}

/* --- decoding --- */

/*
 * Fetch an optional string member; a wrong type is an error naming
 * 'what'.  *ret is a new string or NULL.
 */
static int
get_str(json_t *obj, const char *key, const char *what, char **ret,
    const char *path, struct errbuf *eb)
{
	json_t	*v;

	*ret = NULL;
	v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return errbuf_set(eb, EK_DATA, "'%s': %s%s must be a string",
		    path, what, key);
	*ret = xstrdup(json_string_value(v));
	return 0;
}

static int
get_u64(json_t *obj, const char *key, const char *what, uint64_t *ret,
    const char *path, struct errbuf *eb)
{
	json_t	*v;

	*ret = 0;
	v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return errbuf_set(eb, EK_DATA,
		    "'%s': %s%s must be a non-negative integer", path, what,
		    key);
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

static int
get_bool(json_t *obj, const char *key, const char *what, bool *ret,
    const char *path, struct errbuf *eb)
{
	json_t	*v;

	*ret = false;
	v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return errbuf_set(eb, EK_DATA, "'%s': %s%s must be a boolean",
		    path, what, key);
	*ret = json_is_true(v);
	return 0;
}

/* Decode a revision object (or null) named 'key' into *r. */
static int
decode_rev(json_t *root, const char *key, struct state_rev *r,
    json_t **ret_obj, const char *path, struct errbuf *eb)
{
	json_t	*o;
	char	 what[64];

	o = json_object_get(root, key);
	if (ret_obj != NULL)
		*ret_obj = NULL;
	if (o == NULL || json_is_null(o))
		return 0;
	if (!json_is_object(o))
		return errbuf_set(eb, EK_DATA,
		    "'%s': %s must be an object or null", path, key);
	(void)snprintf(what, sizeof(what), "%s.", key);
	if (get_u64(o, "sequence", what, &r->sequence, path, eb) == -1 ||
	    get_str(o, "deployment_id", what, &r->deployment_id, path,
	    eb) == -1 ||
	    get_str(o, "release", what, &r->release, path, eb) == -1 ||
	    get_str(o, "sha256", what, &r->sha256, path, eb) == -1 ||
	    get_str(o, "commit", what, &r->commit, path, eb) == -1)
		return -1;
	if (r->sequence == 0 || r->deployment_id == NULL ||
	    r->release == NULL)
		return errbuf_set(eb, EK_DATA, "'%s': %s needs sequence, "
		    "deployment_id and release", path, key);
	if (ret_obj != NULL)
		*ret_obj = o;
	return 0;
}

static int
decode_history(json_t *root, struct state *st, const char *path,
    struct errbuf *eb)
{
	json_t		*arr, *o;
	size_t		 i;
	struct state_hist h;

	arr = json_object_get(root, "history");
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return errbuf_set(eb, EK_DATA, "'%s': history must be an array",
		    path);
	/* Newest first: keep the first STATE_HISTORY_MAX. */
	for (i = json_array_size(arr); i > 0; i--) {
		o = json_array_get(arr, i - 1);
		if (i > STATE_HISTORY_MAX)
			continue;
		if (!json_is_object(o))
			return errbuf_set(eb, EK_DATA, "'%s': history[%zu] "
			    "must be an object", path, i - 1);
		memset(&h, 0, sizeof(h));
		if (get_str(o, "deployment_id", "history[].", &h.deployment_id,
		    path, eb) == -1 ||
		    get_u64(o, "sequence", "history[].", &h.sequence, path,
		    eb) == -1 ||
		    get_str(o, "status", "history[].", &h.status, path,
		    eb) == -1 ||
		    get_str(o, "event", "history[].", &h.event, path,
		    eb) == -1 ||
		    get_str(o, "script", "history[].", &h.script, path,
		    eb) == -1 ||
		    get_str(o, "message", "history[].", &h.message, path,
		    eb) == -1 ||
		    get_str(o, "started_at", "history[].", &h.started_at, path,
		    eb) == -1 ||
		    get_str(o, "finished_at", "history[].", &h.finished_at,
		    path, eb) == -1 ||
		    get_str(o, "rolled_back_to", "history[].",
		    &h.rolled_back_to, path, eb) == -1) {
			state_hist_release(&h);
			return -1;
		}
		state_push_history(st, &h);
	}
	return 0;
}

static int
decode_links(json_t *ip, struct state_progress *p, const char *path,
    struct errbuf *eb)
{
	json_t		*arr, *o;
	struct state_link *l;

	arr = json_object_get(ip, "links");
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > STATE_LINKS_MAX)
		return errbuf_set(eb, EK_DATA, "'%s': in_progress.links must "
		    "be an array of at most %d", path, STATE_LINKS_MAX);
	p->links = xcalloc(json_array_size(arr) + 1, sizeof(*p->links));
	for (size_t i = 0; i < json_array_size(arr); i++) {
		o = json_array_get(arr, i);
		l = &p->links[p->nlinks++];
		if (!json_is_object(o))
			return errbuf_set(eb, EK_DATA, "'%s': "
			    "in_progress.links[%zu] must be an object", path,
			    i);
		if (get_str(o, "path", "in_progress.links[].", &l->path, path,
		    eb) == -1 ||
		    get_str(o, "old_target", "in_progress.links[].",
		    &l->old_target, path, eb) == -1 ||
		    get_str(o, "backup", "in_progress.links[].", &l->backup,
		    path, eb) == -1)
			return -1;
		if (l->path == NULL)
			return errbuf_set(eb, EK_DATA, "'%s': "
			    "in_progress.links[%zu] has no path", path, i);
	}
	return 0;
}

static int
decode_state(json_t *root, struct state *st, const char *path,
    struct errbuf *eb)
{
	json_t		*v, *ip;

	if (!json_is_object(root))
		return errbuf_set(eb, EK_DATA, "'%s': not a JSON object", path);
	v = json_object_get(root, "schema");
	if (!json_is_string(v) ||
	    strcmp(json_string_value(v), STATE_SCHEMA) != 0)
		return errbuf_set(eb, EK_DATA, "'%s': schema is not '%s'",
		    path, STATE_SCHEMA);
	if (get_str(root, "application", "", &st->application, path,
	    eb) == -1 ||
	    get_str(root, "group", "", &st->group, path, eb) == -1 ||
	    get_u64(root, "last_sequence", "", &st->last_sequence, path,
	    eb) == -1 ||
	    decode_rev(root, "current", &st->current, NULL, path, eb) == -1 ||
	    decode_rev(root, "previous", &st->previous, NULL, path,
	    eb) == -1 ||
	    decode_rev(root, "last_good", &st->last_good, NULL, path,
	    eb) == -1 ||
	    decode_rev(root, "in_progress", &st->in_progress.rev, &ip, path,
	    eb) == -1)
		return -1;
	if (ip != NULL &&
	    (get_str(ip, "phase", "in_progress.", &st->in_progress.phase,
	    path, eb) == -1 ||
	    get_bool(ip, "stopped", "in_progress.", &st->in_progress.stopped,
	    path, eb) == -1 ||
	    get_bool(ip, "switched", "in_progress.",
	    &st->in_progress.switched, path, eb) == -1 ||
	    get_str(ip, "traffic", "in_progress.", &st->in_progress.traffic,
	    path, eb) == -1 ||
	    get_str(ip, "started_at", "in_progress.",
	    &st->in_progress.started_at, path, eb) == -1 ||
	    decode_links(ip, &st->in_progress, path, eb) == -1))
		return -1;
	return decode_history(root, st, path, eb);
}

/* Read at most STATE_MAX bytes; ENOENT leaves *ret_data NULL. */
static int
read_capped(const char *path, char **ret_data, size_t *ret_len,
    struct errbuf *eb)
{
	struct stat	 sb;
	char		*data = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, ret = -1;

	*ret_data = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		return errbuf_errno(eb, EK_IO, "cannot open '%s'", path);
	}
	if (fstat(fd, &sb) == -1) {
		errbuf_errno(eb, EK_IO, "cannot stat '%s'", path);
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > STATE_MAX) {
		errbuf_set(eb, EK_IO, "'%s': not a regular file of at most "
		    "%d bytes", path, STATE_MAX);
		goto out;
	}
	data = xmalloc((size_t)sb.st_size + 1);
	while (len < (size_t)sb.st_size) {
		n = read(fd, data + len, (size_t)sb.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			errbuf_errno(eb, EK_IO, "cannot read '%s'", path);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	data[len] = '\0';
	*ret_data = data;
	*ret_len = len;
	data = NULL;
	ret = 0;
 out:
	free(data);
	close(fd);
	return ret;
}

int
state_load(const char *path, struct state *ret_state, struct errbuf *eb)
{
	struct state	 st;
	json_error_t	 jerr;
	json_t		*root = NULL;
	char		*data = NULL;
	size_t		 len = 0;
	int		 ret = -1;

	state_init(&st);
	if (read_capped(path, &data, &len, eb) == -1)
		goto out;
	if (data != NULL) {
		root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
		if (root == NULL) {
			errbuf_set(eb, EK_DATA, "'%s': line %d:%d: %s", path,
			    jerr.line, jerr.column, jerr.text);
			goto out;
		}
		if (decode_state(root, &st, path, eb) == -1)
			goto out;
	}
	ret = 0;
 out:
	if (root != NULL)
		json_decref(root);
	free(data);
	if (ret == 0)
		*ret_state = st;
	else
		state_release(&st);
	return ret;
}

/* --- encoding --- */

static json_t *
str_or_null(const char *s)
{
	return s == NULL ? json_null() : json_string(s);
}

static json_t *
encode_rev(const struct state_rev *r)
{
	json_t	*o;

	if (r->sequence == 0)
		return json_null();
	o = json_object();
	json_object_set_new(o, "sequence", json_integer((json_int_t)
	    r->sequence));
	json_object_set_new(o, "deployment_id", str_or_null(r->deployment_id));
	json_object_set_new(o, "release", str_or_null(r->release));
	json_object_set_new(o, "sha256", str_or_null(r->sha256));
	json_object_set_new(o, "commit", str_or_null(r->commit));
	return o;
}

static json_t *
encode_state(const struct state *st)
{
	json_t				*root, *ip, *hist, *o, *arr;
	const struct state_progress	*p = &st->in_progress;

	root = json_object();
	json_object_set_new(root, "schema", json_string(STATE_SCHEMA));
	json_object_set_new(root, "application", str_or_null(st->application));
	json_object_set_new(root, "group", str_or_null(st->group));
	json_object_set_new(root, "last_sequence",
	    json_integer((json_int_t)st->last_sequence));
	json_object_set_new(root, "current", encode_rev(&st->current));
	json_object_set_new(root, "previous", encode_rev(&st->previous));
	json_object_set_new(root, "last_good", encode_rev(&st->last_good));
	ip = encode_rev(&p->rev);
	if (json_is_object(ip)) {
		json_object_set_new(ip, "phase", str_or_null(p->phase));
		json_object_set_new(ip, "stopped", json_boolean(p->stopped));
		json_object_set_new(ip, "switched", json_boolean(p->switched));
		if (p->traffic != NULL)
			json_object_set_new(ip, "traffic",
			    json_string(p->traffic));
		json_object_set_new(ip, "started_at",
		    str_or_null(p->started_at));
		if (p->nlinks > 0) {
			arr = json_array();
			for (size_t i = 0; i < p->nlinks; i++) {
				o = json_object();
				json_object_set_new(o, "path",
				    str_or_null(p->links[i].path));
				json_object_set_new(o, "old_target",
				    str_or_null(p->links[i].old_target));
				json_object_set_new(o, "backup",
				    str_or_null(p->links[i].backup));
				json_array_append_new(arr, o);
			}
			json_object_set_new(ip, "links", arr);
		}
	}
	json_object_set_new(root, "in_progress", ip);
	hist = json_array();
	for (size_t i = 0; i < st->nhistory; i++) {
		const struct state_hist *h = &st->history[i];

		o = json_object();
		json_object_set_new(o, "deployment_id",
		    str_or_null(h->deployment_id));
		json_object_set_new(o, "sequence",
		    json_integer((json_int_t)h->sequence));
		json_object_set_new(o, "status", str_or_null(h->status));
		json_object_set_new(o, "event", str_or_null(h->event));
		json_object_set_new(o, "script", str_or_null(h->script));
		json_object_set_new(o, "message", str_or_null(h->message));
		json_object_set_new(o, "started_at",
		    str_or_null(h->started_at));
		json_object_set_new(o, "finished_at",
		    str_or_null(h->finished_at));
		json_object_set_new(o, "rolled_back_to",
		    str_or_null(h->rolled_back_to));
		json_array_append_new(hist, o);
	}
	json_object_set_new(root, "history", hist);
	return root;
}

int
state_save(const struct state *st, const char *path, bool durable,
    struct errbuf *eb)
{
	json_t	*root;
	char	*text = NULL;
	size_t	 len;
	int	 ret = -1;

	root = encode_state(st);
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (text == NULL) {
		errbuf_set(eb, EK_BUG, "cannot encode '%s'", path);
		goto out;
	}
	len = strlen(text);
	if (len + 1 > STATE_MAX) {
		errbuf_set(eb, EK_IO, "'%s': state would exceed %d bytes",
		    path, STATE_MAX);
		goto out;
	}
	text[len++] = '\n';
	ret = fs_replace(path, text, len, 0644, durable, eb);
 out:
	free(text);
	return ret;
}

/* --- the sequence rule --- */

static bool
interrupted_head(const struct state *st, const char **ret_id,
    uint64_t *ret_seq)
{
	const struct state_hist	*h = st->nhistory > 0 ? &st->history[0] :
	    NULL;

	/* A deployment in progress is the Interrupted head once recovered. */
	if (st->in_progress.rev.sequence != 0) {
		*ret_id = st->in_progress.rev.deployment_id;
		*ret_seq = st->in_progress.rev.sequence;
		return true;
	}
	if (h == NULL || h->status == NULL ||
	    strcmp(h->status, "Interrupted") != 0)
		return false;
	*ret_id = h->deployment_id;
	*ret_seq = h->sequence;
	return true;
}

static bool
same_id(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

enum seq_verdict
state_seq_verdict(const struct state *st, const char *id, uint64_t seq,
    const struct state_hist **ret_hist)
{
	const char	*hid = NULL;
	uint64_t	 hseq = 0;
	bool		 resume;

	if (ret_hist != NULL)
		*ret_hist = NULL;
	resume = interrupted_head(st, &hid, &hseq) &&
	    hseq == st->last_sequence && seq == st->last_sequence &&
	    (id == NULL || same_id(hid, id));
	if (id != NULL && !resume) {
		if (st->in_progress.rev.sequence != 0 &&
		    same_id(st->in_progress.rev.deployment_id, id))
			return SEQ_ALREADY;
		for (size_t i = 0; i < st->nhistory; i++) {
			if (!same_id(st->history[i].deployment_id, id))
				continue;
			if (ret_hist != NULL)
				*ret_hist = &st->history[i];
			return SEQ_ALREADY;
		}
		if (same_id(st->current.deployment_id, id))
			return SEQ_ALREADY;
	}
	if (seq > st->last_sequence || resume)
		return SEQ_RUN;
	return SEQ_STALE;
}
