/* SPDX-License-Identifier: ISC */
/*
 * cmd_instances.c: "deployer instances [--all] [--json] [GROUP]": the
 * group's registry (what each hookd wrote when it registered) merged
 * with the queues named after the group, with each instance's current
 * deployment and revision; entries not seen for DEPLOYER_STALE_SEC are
 * marked stale (and left out of deployments unless their queue exists).
 *
 * The STATE column: catching-up (the entry's "catching_up" is set: an
 * Auto Scaling launch hook holds the instance while hookd catches up to
 * target.json, progress.h), deploying (in_progress set), idle, stale
 * (not seen for DEPLOYER_STALE_SEC, or marked catching up but not
 * rewritten within the hook's heartbeat timeout, as hookd does with
 * every heartbeat: a daemon that died while catching up is not shown as
 * catching up once Auto Scaling has given up on it), or unregistered (a
 * queue without a registry entry).
 */
#include "compat.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "caps.h"
#include "deployer.h"
#include "errbuf.h"
#include "store.h"
#include "version.h"
#include "xalloc.h"

#include "banned.h"

static const char instances_usage[] =
    "usage: deployer instances [--all] [--json] [GROUP]";

static void
instances_help(void)
{
	printf("%s\n\n"
	    "List the instances of GROUP (the only group of deployer.yml\n"
	    "when not given): the registry entries hookd writes and the\n"
	    "queues named PREFIX-GROUP-*, with each one's current\n"
	    "deployment and revision, when it was last seen, and its\n"
	    "state: catching-up (held by an Auto Scaling launch hook while\n"
	    "hookd catches up), deploying, idle, empty (nothing installed\n"
	    "yet, or its first install failed), duplicate (two daemons\n"
	    "write this instance's entry), stale (not seen for 15\n"
	    "minutes, or for the hook's heartbeat timeout while catching\n"
	    "up) or unregistered (a queue only).  Stale and unregistered\n"
	    "instances are not deployed to.\n\n"
	    "options:\n"
	    "      --all      also list stale entries that have no queue\n"
	    "      --json     print a JSON array\n"
	    "  -h, --help     show this help\n"
	    "      --version  show the version\n", instances_usage);
}

/* The commit of deployment 'id' among v, or "-". */
static const char *
commit_of(const struct deployment *v, size_t n, const char *id)
{
	for (size_t i = 0; id != NULL && i < n; i++)
		if (strcmp(v[i].id, id) == 0)
			return v[i].commit[0] != '\0' ? v[i].commit :
			    v[i].sha256;
	return "-";
}

/*
 * The "catching_up" object of instance name's registry entry: new (the
 * caller decrefs), or NULL when it is null, absent, or the entry cannot
 * be read now (it may have been removed since it was listed).
 */
static json_t *
catching_up_read(struct dctx *c, const char *group, const char *name)
{
	struct errbuf	 eb = { 0 };
	json_t		*o, *cu = NULL;
	char		*key, *data = NULL;
	size_t		 len;

	if ((key = store_key_instance(c->cfg.application, group, name,
	    &eb)) == NULL)
		return NULL;
	if (store_get(c->store, key, STORE_OBJECT_MAX, &data, &len, NULL,
	    &eb) == 0 && (o = json_loadb(data, len, 0, NULL)) != NULL) {
		cu = json_object_get(o, "catching_up");
		if (json_is_object(cu))
			json_incref(cu);
		else
			cu = NULL;
		json_decref(o);
	}
	free(data);
	free(key);
	return cu;
}

/*
 * Whether a catching_up mark is to be believed: the entry was rewritten
 * within the hook's heartbeat timeout (0: unknown, DEPLOYER_STALE_SEC).
 */
static bool
catching_up_live(const struct reginst *ri, const json_t *cu, time_t now)
{
	json_int_t	 hb;

	if (cu == NULL || ri->last_seen == 0 || ri->stale)
		return false;
	hb = json_integer_value(json_object_get(cu, "heartbeat_timeout"));
	return hb <= 0 || now - ri->last_seen <= (time_t)hb;
}

/* The STATE of an instance (see the top of this file). */
static const char *
inst_state(const struct reginst *ri, const json_t *cu, time_t now)
{
	if (ri->last_seen == 0)
		return "unregistered";
	if (ri->stale || (cu != NULL && !catching_up_live(ri, cu, now)))
		return "stale";
	if (ri->dup != NULL)
		return "duplicate";
	if (cu != NULL)
		return "catching-up";
	if (ri->in_progress != NULL)
		return "deploying";
	if (ri->current_id == NULL)
		return "empty";	/* nothing installed: not "idle" */
	return "idle";
}

/* A string member of o, or "?". */
static const char *
str_of(const json_t *o, const char *key)
{
	const char	*s;

	s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "?";
}

/* 'deployer instances'; returns the exit status. */
int
cmd_instances(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all",	no_argument,	NULL, 'a' },
		{ "help",	no_argument,	NULL, 'h' },
		{ "json",	no_argument,	NULL, 'j' },
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 }
	};
	struct reginst		*ri = NULL;
	struct deployment	*v = NULL;
	struct dctx		 c = { 0 };
	struct errbuf		 eb = { 0 };
	const char		*group;
	char			 seen[32];
	json_t			*a, *o, **cu = NULL;
	time_t			 now;
	size_t			 n = 0, nd = 0, ncu = 0;
	bool			 json = false, all = false;
	int			 ch, ret = 0;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			all = true;
			break;
		case 'h':
			instances_help();
			return 0;
		case 'j':
			json = true;
			break;
		case 'V':
			printf("deployer %s\n", HOOKD_VERSION);
			return 0;
		default:
			bad_option(instances_usage, argc, argv);
		}
	}
	argc -= optind;
	argv += optind;
	group = dctx_open_for_group(&c, argc, argv, instances_usage, &eb);
	if (group == NULL)
		goto fail;
	if (instances_find(&c, group, REG_EVERY | REG_READ | REG_DUPS,
	    &ri, &n, &eb) == -1 ||
	    deployment_list(&c, group, &v, &nd, &eb) == -1)
		goto fail;
	/* A fresh entry's catch-up mark (instances_find does not keep it). */
	cu = xcalloc(n + 1, sizeof(*cu));
	ncu = n;
	now = time(NULL);
	for (size_t i = 0; i < n; i++)
		if (ri[i].last_seen != 0 && !ri[i].stale)
			cu[i] = catching_up_read(&c, group, ri[i].name);
	if (json) {
		a = json_array();
		for (size_t i = 0; i < n; i++) {
			if (!all && ri[i].stale && !ri[i].has_queue)
				continue;
			ts_format(ri[i].last_seen, seen);
			o = json_pack("{s:s, s:s?, s:s?, s:b, s:b, s:s?, s:I, "
			    "s:s, s:s?, s:s}", "instance", ri[i].name, "queue",
			    ri[i].queue, "last_seen", ri[i].last_seen != 0 ?
			    seen : NULL, "stale", ri[i].stale, "has_queue",
			    ri[i].has_queue, "current_deployment",
			    ri[i].current_id, "current_sequence",
			    (json_int_t)ri[i].current_seq, "current_revision",
			    commit_of(v, nd, ri[i].current_id), "in_progress",
			    ri[i].in_progress, "state",
			    inst_state(&ri[i], cu[i], now));
			if (o == NULL)
				abort();
			(void)json_object_set_new(o, "duplicate",
			    ri[i].dup != NULL ? json_string(ri[i].dup) :
			    json_null());
			(void)json_object_set_new(o, "last_sequence",
			    json_integer((json_int_t)ri[i].last_seq));
			(void)json_object_set(o, "catching_up",
			    catching_up_live(&ri[i], cu[i], now) ? cu[i] :
			    json_null());
			(void)json_array_append_new(a, o);
		}
		(void)json_dumpf(a, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
		json_decref(a);
		goto out;
	}
	if (n == 0) {
		printf("no instances in group '%s'\n", group);
		goto out;
	}
	printf("%-24s  %-11s  %5s  %-12s  %-20s  %-12s  %s\n", "INSTANCE",
	    "CURRENT", "SEQ", "REVISION", "LAST SEEN", "STATE", "QUEUE");
	for (size_t i = 0; i < n; i++) {
		if (!all && ri[i].stale && !ri[i].has_queue)
			continue;
		ts_format(ri[i].last_seen, seen);
		printf("%-24.24s  %-11s  %5llu  %-12.12s  %-20s  %-12s  %s%s\n",
		    ri[i].name, ri[i].current_id != NULL ? ri[i].current_id :
		    "-", (unsigned long long)ri[i].current_seq,
		    commit_of(v, nd, ri[i].current_id),
		    ri[i].last_seen != 0 ? seen : "never",
		    inst_state(&ri[i], cu[i], now),
		    ri[i].queue != NULL ? ri[i].queue : "-",
		    ri[i].has_queue || ri[i].queue == NULL ? "" :
		    " (no queue)");
	}
	/* Who holds the ones catching up, since when, running what. */
	for (size_t i = 0; i < n; i++) {
		if (!catching_up_live(&ri[i], cu[i], now))
			continue;
		printf("%s: catching up since %s for lifecycle hook '%s' of "
		    "Auto Scaling group '%s'%s%s\n", ri[i].name,
		    str_of(cu[i], "since"), str_of(cu[i], "lifecycle_hook"),
		    str_of(cu[i], "auto_scaling_group"),
		    ri[i].in_progress != NULL ? ", running " : "",
		    ri[i].in_progress != NULL ? ri[i].in_progress : "");
	}
	goto out;
 fail:
	fflush(stdout);
	fprintf(stderr, "deployer: instances: %s\n", eb.msg);
	ret = errbuf_exitcode(&eb);
 out:
	for (size_t i = 0; i < ncu; i++)
		if (cu[i] != NULL)
			json_decref(cu[i]);
	free(cu);
	reginsts_free(ri, n);
	deployments_free(v, nd);
	dctx_release(&c);
	return ret;
}
