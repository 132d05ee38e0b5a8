/* SPDX-License-Identifier: ISC */
/*
 * cmd_history.c: "deployer history [--json] [GROUP]": every deployment
 * of a group, newest first, one line each.
 */
#include "compat.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "deployer.h"
#include "errbuf.h"
#include "version.h"

#include "banned.h"

static const char history_usage[] =
    "usage: deployer history [--json] [-n N] [GROUP]";

static void
history_help(void)
{
	printf("%s\n\n"
	    "List the deployments of GROUP (the only group of deployer.yml\n"
	    "when not given), newest first.  A deployment in progress that\n"
	    "nobody drives is marked so ('deployer resume' or 'deployer\n"
	    "stop' it).\n\n"
	    "options:\n"
	    "      --json     print a JSON array of deployment.json documents\n"
	    "  -n N           only the N newest\n"
	    "  -h, --help     show this help\n"
	    "      --version  show the version\n", history_usage);
}

/* 'deployer history'; returns the exit status. */
int
cmd_history(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL, 'h' },
		{ "json",	no_argument,	NULL, 'j' },
		{ "number",	required_argument, NULL, 'n' },
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 }
	};
	struct deployment	*v = NULL;
	struct dctx		 c = { 0 };
	struct errbuf		 eb = { 0 };
	const char		*group;
	json_t			*a;
	size_t			 n = 0, max = SIZE_MAX;
	char			 what[512], *end;
	unsigned long long	 ull;
	bool			 json = false;
	int			 ch, ret = 0;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "hn:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			history_help();
			return 0;
		case 'j':
			json = true;
			break;
		case 'n':
			errno = 0;
			ull = strtoull(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    ull == 0 || optarg[0] == '-')
				usage_error(history_usage, "-n '%s': not a "
				    "count of deployments (1 or more)", optarg);
			max = ull > SIZE_MAX ? SIZE_MAX : (size_t)ull;
			break;
		case 'V':
			printf("deployer %s\n", HOOKD_VERSION);
			return 0;
		default:
			bad_option(history_usage, argc, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if ((group = dctx_open_for_group(&c, argc, argv, history_usage, &eb)) ==
	    NULL)
		goto fail;
	if (deployment_list(&c, group, &v, &n, &eb) == -1)
		goto fail;
	if (n > max) {
		for (size_t i = max; i < n; i++)
			deployment_release(&v[i]);
		n = max;
	}
	if (json) {
		a = json_array();
		for (size_t i = 0; i < n; i++)
			(void)json_array_append_new(a,
			    deployment_view_json(&v[i]));
		(void)json_dumpf(a, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
		json_decref(a);
		goto out;
	}
	if (n == 0) {
		printf("no deployments in group '%s'\n", group);
		goto out;
	}
	printf("%5s  %-11s  %-10s  %-24s  %-12s  %s\n", "SEQ", "ID", "STATUS",
	    "CREATED", "COMMIT", "BY / REF");
	for (size_t i = 0; i < n; i++) {
		const struct deployment	*d = &v[i];
		const char		*st = d->status;

		if (strcmp(st, "InProgress") == 0 &&
		    driver_describe(&c, d, what, sizeof(what)) == 0)
			st = "InProgress (no driver)";
		printf("%5llu  %-11s  %-10s  %-24.24s  %-12.12s  "
		    "%s %s%s%s%s%s\n",
		    (unsigned long long)d->sequence, d->id, st,
		    d->created_at != NULL ? d->created_at : "-",
		    d->commit[0] != '\0' ? d->commit : "-",
		    d->created_by != NULL ? d->created_by : "-",
		    /* A rollback's ref named its commit long ago. */
		    d->rollback_of != NULL ? "rollback" : d->ref != NULL ?
		    d->ref : "-",
		    d->rollback_of != NULL ? " of " : "",
		    d->rollback_of != NULL ? d->rollback_of : "",
		    d->description != NULL ? ": " : "",
		    d->description != NULL ? d->description : "");
	}
	goto out;
 fail:
	fflush(stdout);
	fprintf(stderr, "deployer: history: %s\n", eb.msg);
	ret = errbuf_exitcode(&eb);
 out:
	deployments_free(v, n);
	dctx_release(&c);
	return ret;
}
