/* SPDX-License-Identifier: ISC */
/*
 * registry.c: the duplicate-instance check on the registry entry and
 * the refusal document of registry.h.
 */
#include "compat.h"

#include <sys/types.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "caps.h"
#include "errbuf.h"
#include "message.h"
#include "progress.h"
#include "registry.h"
#include "state.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

/* Seconds since an RFC 3339 UTC time, or -1 when it is not one. */
static long long
age_of(const char *ts)
{
	struct tm	 tm;
	time_t		 t;

	if (ts == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return -1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	return (long long)(time(NULL) - t);
}

/* Whether pid is a running hookd of this host. */
static bool
hookd_alive(long pid)
{
	char	 path[64], comm[64];
	FILE	*fp;
	bool	 yes = false;

	if (pid <= 0 || (kill((pid_t)pid, 0) == -1 && errno != EPERM))
		return false;
	(void)snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if ((fp = fopen(path, "re")) == NULL)
		return true;	/* no /proc: believe kill(2) */
	if (fgets(comm, sizeof(comm), fp) != NULL)
		yes = strncmp(comm, "hookd", 5) == 0;
	(void)fclose(fp);
	return yes;
}

int
registry_peer_check(struct store *st, const char *key, bool at_start,
    struct registry_peer *ret, struct errbuf *eb)
{
	json_t		*o;
	const char	*boot, *host, *seen;
	char		*data = NULL, me[256];
	size_t		 len;
	long long	 age;
	long		 pid;
	int		 r = 0;

	memset(ret, 0, sizeof(*ret));
	if (store_get(st, key, STORE_OBJECT_MAX, &data, &len, NULL,
	    eb) == -1)
		return eb->kind == EK_NOINPUT ? 0 : -1;
	o = json_loadb(data, len, 0, NULL);
	free(data);
	if (o == NULL || !json_is_object(o)) {
		if (o != NULL)
			json_decref(o);
		return 0;
	}
	boot = json_string_value(json_object_get(o, "boot_id"));
	host = json_string_value(json_object_get(o, "hostname"));
	seen = json_string_value(json_object_get(o, "last_seen"));
	pid = (long)json_integer_value(json_object_get(o, "pid"));
	if (boot != NULL && strcmp(boot, registry_boot_id()) == 0)
		goto out;
	if (at_start) {
		/* A live entry, not left by a dead daemon of this host. */
		if (boot == NULL || (age = age_of(seen)) < 0 ||
		    age > REGISTRY_FRESH_SEC)
			goto out;
		if (gethostname(me, sizeof(me)) == -1)
			me[0] = '\0';
		me[sizeof(me) - 1] = '\0';
		if (host != NULL && strcmp(host, me) == 0 &&
		    !hookd_alive(pid))
			goto out;
	}
	(void)strlcpy(ret->boot_id, boot != NULL ? boot : "unknown",
	    sizeof(ret->boot_id));
	(void)strlcpy(ret->hostname, host != NULL ? host : "?",
	    sizeof(ret->hostname));
	(void)strlcpy(ret->last_seen, seen != NULL ? seen : "?",
	    sizeof(ret->last_seen));
	ret->pid = pid;
	r = 1;
 out:
	json_decref(o);
	return r;
}

int
registry_mark_duplicate(struct store *st, const char *key,
    const struct registry_peer *peer, struct errbuf *eb)
{
	const char	*seg = "/instances/";
	const char	*at;
	json_t		*o;
	char		*mkey, *text;
	int		 r;

	if ((at = strstr(key, seg)) == NULL)
		return errbuf_set(eb, EK_BUG, "'%s' is not a registry entry's "
		    "key", key);
	mkey = xasprintf("%.*s/duplicates/%s", (int)(at - key), key,
	    at + strlen(seg));
	o = json_pack("{s:s, s:s, s:s, s:I, s:s}", "schema",
	    "hookd.duplicate/1", "boot_id", peer->boot_id, "hostname",
	    peer->hostname, "pid", (json_int_t)peer->pid, "last_seen",
	    peer->last_seen);
	text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) :
	    NULL;
	json_decref(o);
	if (text == NULL) {
		free(mkey);
		return errbuf_set(eb, EK_BUG, "cannot serialise '%s'", key);
	}
	r = store_put_volatile(st, mkey, text, strlen(text), eb);
	free(text);
	free(mkey);
	return r;
}

int
progress_write_refusal(struct store *st, const struct message *m,
    const char *instance, const char *status, const char *reason,
    struct errbuf *eb)
{
	struct progress	 p = { 0 };
	char		*key, *text;
	size_t		 len;
	int		 r;

	if ((key = store_key_deployment_instance(m->application, m->group,
	    m->deployment_id, instance, eb)) == NULL)
		return -1;
	progress_init(&p, m->application, m->group, instance,
	    m->deployment_id, m->sequence, m->commit, m->sha256);
	progress_set(&p, status, reason);
	text = progress_dump(&p, &len);
	progress_release(&p);
	r = store_put_if(st, key, text, len, STORE_IF_NONE_MATCH, NULL, eb);
	free(text);
	free(key);
	return r;
}

int
deployment_status_read(struct store *st, const char *app, const char *group,
    const char *id, char *buf, size_t bufsz, struct errbuf *eb)
{
	json_t		*o;
	const char	*s;
	char		*key, *data = NULL;
	size_t		 len;
	int		 r;

	if ((key = store_key_deployment(app, group, id, eb)) == NULL)
		return -1;
	r = store_get(st, key, STORE_OBJECT_MAX, &data, &len, NULL, eb);
	free(key);
	if (r == -1)
		return eb->kind == EK_NOINPUT ? 0 : -1;
	o = json_loadb(data, len, 0, NULL);
	free(data);
	s = json_string_value(json_object_get(o, "status"));
	(void)strlcpy(buf, s != NULL ? s : "InProgress", bufsz);
	if (o != NULL)
		json_decref(o);
	return 1;
}
