/* SPDX-License-Identifier: ISC */
/*
 * cmd_instances.c: "deployer instances [--all] [--json] [GROUP]": the
 * group's registry (what each hookd wrote when it registered) merged
 * with the queues named after the group, with each instance's current
 * deployment and revision; entries not seen for DEPLOYER_STALE_SEC are
 * marked stale (and left out of deployments unless their queue exists).
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
#include "version.h"

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
	    "deployment and revision, and when it was last seen.\n\n"
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
	json_t			*a;
	size_t			 n = 0, nd = 0;
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
	if (instances_find(&c, group, true, &ri, &n, &eb) == -1 ||
	    deployment_list(&c, group, &v, &nd, &eb) == -1)
		goto fail;
	if (json) {
		a = json_array();
		for (size_t i = 0; i < n; i++) {
			if (!all && ri[i].stale && !ri[i].has_queue)
				continue;
			ts_format(ri[i].last_seen, seen);
			(void)json_array_append_new(a, json_pack(
			    "{s:s, s:s?, s:s?, s:b, s:b, s:s?, s:I, s:s, "
			    "s:s?}", "instance", ri[i].name, "queue",
			    ri[i].queue, "last_seen", ri[i].last_seen != 0 ?
			    seen : NULL, "stale", ri[i].stale, "has_queue",
			    ri[i].has_queue, "current_deployment",
			    ri[i].current_id, "current_sequence",
			    (json_int_t)ri[i].current_seq, "current_revision",
			    commit_of(v, nd, ri[i].current_id), "in_progress",
			    ri[i].in_progress));
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
	printf("%-24s  %-11s  %5s  %-12s  %-20s  %s\n", "INSTANCE",
	    "CURRENT", "SEQ", "REVISION", "LAST SEEN", "QUEUE");
	for (size_t i = 0; i < n; i++) {
		if (!all && ri[i].stale && !ri[i].has_queue)
			continue;
		ts_format(ri[i].last_seen, seen);
		printf("%-24.24s  %-11s  %5llu  %-12.12s  %-20s  %s%s%s\n",
		    ri[i].name, ri[i].current_id != NULL ? ri[i].current_id :
		    "-", (unsigned long long)ri[i].current_seq,
		    commit_of(v, nd, ri[i].current_id),
		    ri[i].last_seen != 0 ? seen : "never",
		    ri[i].queue != NULL ? ri[i].queue : "-",
		    ri[i].stale ? " (stale)" : "",
		    ri[i].has_queue || ri[i].queue == NULL ? "" :
		    " (no queue)");
	}
	goto out;
 fail:
	fflush(stdout);
	fprintf(stderr, "deployer: instances: %s\n", eb.msg);
	ret = errbuf_exitcode(&eb);
 out:
	reginsts_free(ri, n);
	deployments_free(v, nd);
	dctx_release(&c);
	return ret;
}
