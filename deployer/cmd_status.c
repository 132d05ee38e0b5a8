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
#include "version.h"

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
	    "      --watch    resume and follow a deployment in progress;\n"
	    "                 exit 1 if it fails\n"
	    "  -h, --help     show this help\n"
	    "      --version  show the version\n", status_usage);
}

/*
 * Find the deployment 'what' names (an ID in any group, or a group's
 * latest) and the group it belongs to.
 */
static int
find_deployment(struct dctx *c, const char *what, struct deployment *ret,
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
	    d->ref != NULL ? d->ref : "-", d->sha256);
	printf("  created %s by %s, %s\n", d->created_at != NULL ?
	    d->created_at : "-", d->created_by != NULL ? d->created_by : "-",
	    d->config_name != NULL ? d->config_name : "-");
	if (d->rollback_of != NULL)
		printf("  rollback of %s\n", d->rollback_of);
	if (d->rolled_back_by != NULL)
		printf("  rolled back by %s\n", d->rolled_back_by);
	printf("%-24s %5s  %-10s %-22s %7s\n", "INSTANCE", "BATCH", "STATUS",
	    "EVENT", "ELAPSED");
	for (size_t i = 0; i < d->ninst; i++) {
		const struct dinst	*di = &d->inst[i];
		long			 el = 0;

		if (di->started != 0)
			el = (long)((di->finished != 0 ? di->finished : now) -
			    di->started);
		printf("%-24.24s %5zu  %-10s %-22.22s %6lds\n", di->name,
		    di->batch + 1, inst_state_name(di->state),
		    di->event != NULL ? di->event : "-", el);
	}
	deployment_print(d, true);
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
	    dctx_group(&c, what, &eb) == NULL) {
		dctx_release(&c);
		usage_error(status_usage, "%s", eb.msg);
	}
	if (dctx_open_store(&c, false, &eb) == -1)
		goto fail;
	if (find_deployment(&c, what, &d, &g, &eb) == -1) {
		if (eb.kind == EK_USAGE) {
			dctx_release(&c);
			usage_error(status_usage, "%s", eb.msg);
		}
		goto fail;
	}
	if (watch && strcmp(d.status, "InProgress") == 0) {
		if ((r = rollout_run(&c, g, &d, false, &eb)) == -1)
			goto fail;
		ret = r;
		if (!json)
			goto out;
	} else {
		struct fanout	*f;
		int		 pr;

		/* Sent and not final: one listing, their documents at once. */
		if ((f = fanout_new(&d, &eb)) == NULL)
			goto fail;
		pr = fanout_poll(&c, f, &d, FANOUT_ALL, NULL, &eb);
		fanout_free(f);
		if (pr == -1)
			goto fail;
	}
	if (json) {
		o = deployment_to_json(&d);
		(void)json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
		json_decref(o);
	} else
		print_human(&d);
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
