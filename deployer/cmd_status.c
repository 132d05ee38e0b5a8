/* SPDX-License-Identifier: ISC */
/*
 * cmd_status.c: "deployer status [--json] [--watch] [GROUP | ID]": one
 * deployment (the group's latest when no ID) with a row per instance,
 * refreshed from the instances' progress documents.  --watch resumes
 * the rollout of a deployment still in progress (after --no-wait) and
 * waits for it.
 */
#include "compat.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "deployer.h"
#include "errbuf.h"
#include "message.h"
#include "names.h"
#include "store.h"
#include "version.h"
#include "xalloc.h"

#include "banned.h"

static const char status_usage[] =
    "usage: deployer status [--json] [--watch] [GROUP | ID]";

static void
status_help(void)
{
	printf("%s\n\n"
	    "Show a deployment: ID, or the latest of GROUP (the only group\n"
	    "of deployer.yml when neither is given), one row per instance.\n\n"
	    "options:\n"
	    "      --json     print the deployment as JSON\n"
	    "      --watch    follow a deployment until it ends (its driver\n"
	    "                 sends the batches); exit 1 if it failed, was\n"
	    "                 stopped or superseded, 75 if nobody drives it\n"
	    "                 (without it: 0 succeeded, 1 failed, stopped or\n"
	    "                 superseded, 75 still in progress)\n"
	    "  -h, --help     show this help\n"
	    "      --version  show the version\n", status_usage);
}

static void
print_human(const struct deployment *d)
{
	time_t	 now;

	now = time(NULL);
	printf("deployment %s (sequence %llu) of %s to %s: %s\n", d->id,
	    (unsigned long long)d->sequence, d->application, d->group,
	    d->status);
	printf("  revision %s (%s), sha256 %.12s\n",
	    d->commit[0] != '\0' ? d->commit : "-",
	    d->rollback_of == NULL && d->ref != NULL ? d->ref : "-",
	    d->sha256);
	printf("  created %s by %s, %s\n", d->created_at != NULL ?
	    d->created_at : "-", d->created_by != NULL ? d->created_by : "-",
	    d->config_name != NULL ? d->config_name : "-");
	if (d->rollback_of != NULL)
		printf("  rollback of %s\n", d->rollback_of);
	if (d->rolled_back_by != NULL)
		printf("  rolled back by %s\n", d->rolled_back_by);
	dgates_print(d);
	printf("%-24s %5s  %-10s %-22s %7s\n", "INSTANCE", "BATCH", "STATUS",
	    "EVENT", "ELAPSED");
	for (size_t i = 0; i < d->ninst; i++) {
		const struct dinst	*di = &d->inst[i];
		char			 el[16];

		elapsed_cell(di, now, el);
		printf("%-24.24s %5zu  %-10s %-22.22s %7s\n", di->name,
		    di->batch + 1, inst_state_name(di->state),
		    di->event != NULL ? di->event : "-", el);
	}
	deployment_print(d, true);
}

/*
 * The instances that ran d without being sent it: new instances that
 * caught up to it from target.json at boot (and hosts of a store that
 * lost its records).  Their progress documents, as a JSON array.
 */
static json_t *
catch_ups(struct dctx *c, const struct deployment *d)
{
	struct errbuf	 eb = { 0 };
	struct dinst	 di;
	json_t		*a;
	char		**keys = NULL, *prefix, *name;
	size_t		 n = 0, pl, kl, j;

	a = json_array();
	prefix = xasprintf("deployments/%s/%s/%s/instances/", d->application,
	    d->group, d->id);
	if (store_list(c->store, prefix, &keys, &n, &eb) == -1) {
		free(prefix);
		return a;
	}
	pl = strlen(prefix);
	for (size_t i = 0; i < n; i++) {
		kl = strlen(keys[i]);
		if (kl <= pl + 5 || strcmp(keys[i] + kl - 5, ".json") != 0)
			continue;
		name = xstrndup(keys[i] + pl, kl - pl - 5);
		for (j = 0; j < d->ninst; j++)
			if (strcmp(d->inst[j].name, name) == 0)
				break;
		if (j < d->ninst) {
			free(name);
			continue;
		}
		memset(&di, 0, sizeof(di));
		di.name = name;
		di.state = IS_SENT;
		if (progress_read(c, d, &di, &eb) == 0)
			(void)json_array_append_new(a, json_pack("{s:s, s:s, "
			    "s:s?, s:s?}", "instance", di.name, "status",
			    inst_state_name(di.state), "event", di.event,
			    "message", di.message));
		free(di.name);
		free(di.event);
		free(di.script);
		free(di.message);
		free(di.tail);
	}
	store_keys_free(keys, n);
	free(prefix);
	return a;
}

static void
print_catch_ups(json_t *a)
{
	size_t	 i;
	json_t	*o;

	json_array_foreach(a, i, o) {
		const char	*m;

		m = json_string_value(json_object_get(o, "message"));
		printf("  caught up at boot: %s %s%s%s\n",
		    json_string_value(json_object_get(o, "instance")),
		    json_string_value(json_object_get(o, "status")),
		    m != NULL ? ": " : "", m != NULL ? m : "");
	}
}

/* 'deployer status'; returns the exit status. */
int
cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL, 'h' },
		{ "json",	no_argument,	NULL, 'j' },
		{ "version",	no_argument,	NULL, 'V' },
		{ "watch",	no_argument,	NULL, 'w' },
		{ NULL,		0,		NULL, 0 }
	};
	const struct deployer_group	*g = NULL;
	struct deployment		 d = { 0 };
	struct dctx			 c = { 0 };
	struct errbuf			 eb = { 0 };
	const char			*what;
	json_t				*o;
	bool				 json = false, watch = false;
	int				 ch, r, ret = 0;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "hw", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			status_help();
			return 0;
		case 'j':
			json = true;
			break;
		case 'V':
			printf("deployer %s\n", HOOKD_VERSION);
			return 0;
		case 'w':
			watch = true;
			break;
		default:
			bad_option(status_usage, argc, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage_error(status_usage, "unexpected argument '%s'", argv[1]);
	if (dctx_open(&c, &eb) == -1)
		goto fail;
	if ((what = argc == 1 ? argv[0] : dctx_default_group(&c)) == NULL) {
		dctx_release(&c);
		usage_error(status_usage, "deployer.yml has several groups: "
		    "name a GROUP or an ID");
	}
	if (deployment_id_check("ID", what, &eb) == -1 &&
	    dctx_group_or_id(&c, what, &eb) == NULL) {
		dctx_release(&c);
		usage_error(status_usage, "%s", eb.msg);
	}
	if (dctx_open_store(&c, false, &eb) == -1)
		goto fail;
	if (deployment_find(&c, what, &d, &g, &eb) == -1) {
		if (eb.kind == EK_USAGE) {
			dctx_release(&c);
			usage_error(status_usage, "%s", eb.msg);
		}
		goto fail;
	}
	if (watch) {
		/* Watch only: the deployment's driver sends the batches. */
		if (strcmp(d.status, "InProgress") == 0) {
			if ((r = g->strategy == STRATEGY_BLUE_GREEN ?
			    bluegreen_watch(&c, &d, &eb) :
			    watch_only(&c, &d, &eb)) == -1)
				goto fail;
		} else {
			r = strcmp(d.status, "Succeeded") == 0 ? 0 : 1;
			if (!json)
				print_human(&d);
			if (r == 1) {
				char	 line[1024];

				outcome_line(&c, &d, line, sizeof(line));
				errbuf_set(&eb, EK_FAILED, "%s", line);
			}
		}
		ret = r;
		if (r == 1) {
			fflush(stdout);
			fprintf(stderr, "deployer: %s\n", eb.msg);
		}
		if (!json)
			goto out;
	} else {
		struct fanout	*f;
		int		 pr;

		/*
		 * Sent and not final, or timed out (a host that was down
		 * may have answered since): one listing, the changed
		 * documents at once.
		 */
		if ((f = fanout_new(&d, &eb)) == NULL)
			goto fail;
		pr = fanout_poll(&c, f, &d, FANOUT_ALL, NULL, &eb);
		fanout_free(f);
		if (pr == -1)
			goto fail;
		/* As --watch at the end; in progress: try again later. */
		if (strcmp(d.status, "Succeeded") == 0)
			ret = 0;
		else if (strcmp(d.status, "InProgress") == 0)
			ret = errkind_exitcode(EK_TEMP);
		else
			ret = 1;
	}
	if (json) {
		o = deployment_view_json(&d);
		(void)json_object_set_new(o, "caught_up", catch_ups(&c, &d));
		if (g->strategy == STRATEGY_BLUE_GREEN)
			(void)json_object_set_new(o, "blue_green",
			    bluegreen_json(&c, g, &d));
		(void)json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
		json_decref(o);
	} else {
		json_t	*cu;

		print_human(&d);
		cu = catch_ups(&c, &d);
		print_catch_ups(cu);
		json_decref(cu);
		if (g->strategy == STRATEGY_BLUE_GREEN &&
		    bluegreen_status(&c, g, &eb) == -1)
			goto fail;
	}
	goto out;
 fail:
	fflush(stdout);
	fprintf(stderr, "deployer: status: %s\n", eb.msg);
	ret = errbuf_exitcode(&eb);
 out:
	deployment_release(&d);
	dctx_release(&c);
	return ret;
}
