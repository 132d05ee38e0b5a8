/* SPDX-License-Identifier: ISC */
/*
 * cmd_setup.c: "deployer setup GROUP": create what a group needs before
 * its first hookd starts: the store (a file:// store's directory) and
 * the group's prefix, marked by groups/APP/GROUP/group.json (hookd.group/1,
 * written only if absent), and a spool queue's base directory.  Each
 * hookd creates its own queue PREFIX-GROUP-INSTANCE when it starts, so
 * there is no queue to create here.  With --auto-scaling-group, also
 * the Auto Scaling launch lifecycle hook (setup_asg.c).
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "deployer.h"
#include "errbuf.h"
#include "setup_asg.h"
#include "store.h"
#include "version.h"
#include "xalloc.h"

#include "banned.h"

static const char setup_usage[] = "usage: deployer setup "
    "[--auto-scaling-group NAME [--hook-name NAME] "
    "[--heartbeat-timeout SEC]] GROUP";

static void
setup_help(void)
{
	printf("%s\n\n"
	    "Create what GROUP needs in the store and the queue backend of\n"
	    "deployer.yml: the store itself (file://), the group's prefix\n"
	    "marker groups/APP/GROUP/group.json, and a spool queue's base\n"
	    "directory.  Each hookd creates its queue PREFIX-GROUP-INSTANCE\n"
	    "itself.  Running it again changes nothing.\n\n"
	    "options:\n"
	    "  --auto-scaling-group NAME  also create or update the launch "
	    "lifecycle\n"
	    "                 hook of that Auto Scaling group, and print the "
	    "instance\n"
	    "                 policy and launch template settings it needs\n"
	    "  --hook-name NAME  the hook's name (default %s)\n"
	    "  --heartbeat-timeout SEC  its HeartbeatTimeout, %d-%d "
	    "(default %d)\n"
	    "  -h, --help     show this help\n"
	    "      --version  show the version\n", setup_usage,
	    SETUP_ASG_HOOK_DEFAULT, SETUP_ASG_HEARTBEAT_MIN,
	    SETUP_ASG_HEARTBEAT_MAX, SETUP_ASG_HEARTBEAT_DEFAULT);
}

/* 'deployer setup'; returns the exit status. */
int
cmd_setup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "auto-scaling-group", required_argument, NULL, 'A' },
		{ "heartbeat-timeout", required_argument, NULL, 'T' },
		{ "help",	no_argument,	NULL, 'h' },
		{ "hook-name",	required_argument, NULL, 'H' },
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 }
	};
	const struct deployer_group	*g;
	struct dctx			 c = { 0 };
	struct errbuf			 eb = { 0 };
	json_t				*o = NULL;
	char				 now[32];
	char				*key = NULL, *text = NULL, *who = NULL;
	const char			*dir;
	int				 ch, r, ret = 0;
	struct setup_asg_opts		 asg = { NULL, SETUP_ASG_HOOK_DEFAULT,
					    SETUP_ASG_HEARTBEAT_DEFAULT };
	uint64_t			 hbt;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			setup_help();
			return 0;
		case 'V':
			printf("deployer %s\n", HOOKD_VERSION);
			return 0;
		case 'A':	/* the launch lifecycle hook (setup_asg.c) */
			asg.asg = optarg;
			break;
		case 'H':
			if (optarg[0] == '\0' || strlen(optarg) > 255)
				usage_error(setup_usage, "invalid --hook-name "
				    "'%s'", optarg);
			asg.hook = optarg;
			break;
		case 'T':
			if (parse_u64(optarg, SETUP_ASG_HEARTBEAT_MIN,
			    SETUP_ASG_HEARTBEAT_MAX, &hbt) == -1)
				usage_error(setup_usage, "invalid "
				    "--heartbeat-timeout '%s' (%d-%d)", optarg,
				    SETUP_ASG_HEARTBEAT_MIN,
				    SETUP_ASG_HEARTBEAT_MAX);
			asg.heartbeat_timeout = (unsigned long)hbt;
			break;
		default:
			bad_option(setup_usage, argc, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage_error(setup_usage, "no GROUP given");
	if (argc > 1)
		usage_error(setup_usage, "unexpected argument '%s'", argv[1]);
	if (dctx_open(&c, &eb) == -1)
		goto fail;
	if ((g = dctx_group(&c, argv[0], &eb)) == NULL) {
		dctx_release(&c);
		usage_error(setup_usage, "%s", eb.msg);
	}
	if (dctx_open_store(&c, true, &eb) == -1)
		goto fail;
	key = xasprintf("groups/%s/%s/group.json", c.cfg.application,
	    g->name);
	ts_now(now);
	who = who_am_i();
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "schema",
	    "hookd.group/1", "application", c.cfg.application, "group",
	    g->name, "queue", c.cfg.queue, "queue_prefix",
	    c.cfg.queue_prefix, "queue_pattern", "PREFIX-GROUP-INSTANCE",
	    "created_at", now, "created_by", who);
	text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	if ((r = store_put_if(c.store, key, text, strlen(text),
	    STORE_IF_NONE_MATCH, NULL, &eb)) == -1)
		goto fail;
	printf("%s '%s' in store '%s'\n", r == STORE_CONFLICT ?
	    "group marker already exists:" : "created group marker", key,
	    c.cfg.store);
	if (strncmp(c.cfg.queue, "file://", 7) == 0) {
		dir = c.cfg.queue + 7;
		if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
			errbuf_errno(&eb, EK_IO, "cannot create '%s'", dir);
			goto fail;
		}
		printf("spool queue directory '%s' is ready\n", dir);
	}
	printf("each hookd of group '%s' creates its queue '%s-%s-INSTANCE' "
	    "when it starts\n", g->name, c.cfg.queue_prefix, g->name);
	if (asg.asg != NULL && setup_asg(&c, g, &asg, &eb) == -1)
		goto fail;
	goto out;
 fail:
	fflush(stdout);
	fprintf(stderr, "deployer: setup: %s\n", eb.msg);
	ret = errbuf_exitcode(&eb);
 out:
	if (o != NULL)
		json_decref(o);
	free(text);
	free(key);
	free(who);
	dctx_release(&c);
	return ret;
}
