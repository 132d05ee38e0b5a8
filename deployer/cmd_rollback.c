/* SPDX-License-Identifier: ISC */
/*
 * cmd_rollback.c: "deployer rollback [--no-wait] GROUP": deploy the
 * previous successful revision of the group (the newest Succeeded
 * deployment below the current target with other content) to all its
 * instances, as a new deployment marked as a rollback of the
 * current target, in the group's batches.
 */
#include "compat.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "deployer.h"
#include "errbuf.h"
#include "version.h"
#include "xalloc.h"

#include "banned.h"

static const char rollback_usage[] =
    "usage: deployer rollback [--no-wait] GROUP";

static void
rollback_help(void)
{
	printf("%s\n\n"
	    "Deploy the previous successful revision of GROUP to all its\n"
	    "instances, as a new deployment marked as a rollback of the\n"
	    "group's current one.\n\n"
	    "options:\n"
	    "      --no-wait  return once the first batch is sent\n"
	    "  -h, --help     show this help\n"
	    "      --version  show the version\n", rollback_usage);
}

/* 'deployer rollback'; returns the exit status. */
int
cmd_rollback(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL, 'h' },
		{ "no-wait",	no_argument,	NULL, 'N' },
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 }
	};
	const struct deployer_group	*g;
	struct revision			 prev = { 0 };
	struct dctx			 c = { 0 };
	struct errbuf			 eb = { 0 };
	json_t				*target = NULL;
	char				 previd[DEPLOYMENT_ID_LEN + 1];
	const char			*id, *sha;
	char				*cur = NULL;
	bool				 nowait = false;
	int				 ch, r, ret = 0;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			rollback_help();
			return 0;
		case 'N':
			nowait = true;
			break;
		case 'V':
			printf("deployer %s\n", HOOKD_VERSION);
			return 0;
		default:
			bad_option(rollback_usage, argc, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage_error(rollback_usage, "no GROUP given");
	if (argc > 1)
		usage_error(rollback_usage, "unexpected argument '%s'",
		    argv[1]);
	if (dctx_open(&c, &eb) == -1)
		goto fail;
	if ((g = dctx_group(&c, argv[0], &eb)) == NULL) {
		dctx_release(&c);
		usage_error(rollback_usage, "%s", eb.msg);
	}
	if (dctx_open_store(&c, false, &eb) == -1)
		goto fail;
	if ((r = target_read(&c, g->name, &target, NULL, &eb)) == -1)
		goto fail;
	if (r == 0) {
		errbuf_set(&eb, EK_NOINPUT, "group '%s' has no deployment to "
		    "roll back", g->name);
		goto fail;
	}
	if ((id = json_string_value(json_object_get(target,
	    "deployment_id"))) != NULL)
		cur = xstrdup(id);
	sha = json_string_value(json_object_get(json_object_get(target,
	    "revision"), "sha256"));
	if (previous_success(&c, g->name, (uint64_t)json_integer_value(
	    json_object_get(target, "sequence")), sha, &prev, previd,
	    &eb) == -1)
		goto fail;
	printf("rolling back group '%s' from %s to %s (deployment %s)\n",
	    g->name, cur != NULL ? cur : "-", prev.commit[0] != '\0' ?
	    prev.commit : prev.sha256, previd);
	r = deploy_and_watch(&c, g, &prev, cur, nowait, &eb);
	if (r == -1)
		goto fail;
	if (r == 1) {
		fprintf(stderr, "deployer: rollback: %s\n", eb.msg);
		ret = 1;
	}
	goto out;
 fail:
	fflush(stdout);
	fprintf(stderr, "deployer: rollback: %s\n", eb.msg);
	ret = errbuf_exitcode(&eb);
 out:
	if (target != NULL)
		json_decref(target);
	revision_release(&prev);
	free(cur);
	dctx_release(&c);
	return ret;
}
