/* SPDX-License-Identifier: ISC */
/*
 * cmd_bake.c: 'hookd bake', for image builders such as Packer: install
 * the deployment group's current target (target.json in the store) into
 * the image being built, with the same lifecycle engine as the daemon.
 * An instance launched from the image then finds itself current at boot
 * and completes its Auto Scaling launch hook at once, without a
 * download; one launched from an older image catches up as usual.
 *
 * With hookd.yml's groups: every group listed is baked, one after the
 * other, each refused if its files: destinations overlap another's.
 *
 * Not here: registration in the store, a queue, a lifecycle action, or
 * progress documents: the image builder is not a member of the group.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admission.h"
#include "aws/client.h"
#include "caps.h"
#include "config.h"
#include "errbuf.h"
#include "hookd.h"
#include "lifecycle.h"
#include "log.h"
#include "message.h"
#include "proc.h"
#include "registry.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

static const char bake_usage[] =
    "usage: hookd bake [-h] [-c file] [-g group] [-r dir]";

static void
bake_help(void)
{
	printf("%s\n\n"
	    "Install the deployment group's current target (target.json in "
	    "the store)\ninto this host, as an image builder's provisioner "
	    "step: the same lifecycle\nengine as 'hookd run', without "
	    "registration, queue or lifecycle action.\n\n"
	    "options:\n"
	    "  -g, --group GROUP   the deployment group (default: hookd.yml's"
	    "\n                      deployment_group, then "
	    "$DEPLOYMENT_GROUP_NAME;\n                      with groups: "
	    "every group listed)\n"
	    "  -c, --config FILE   hookd.yml (default %s)\n"
	    "  -r, --root DIR      install under DIR instead of the "
	    "config's root\n"
	    "  -h, --help          show this help\n\n"
	    "exit status: 0 installed (or already current, or no target "
	    "yet), 1 the\ndeployment failed, 65 bad target.json, 69/75 store "
	    "unavailable, 77 access\ndenied, 78 bad configuration\n",
	    bake_usage, CONFIG_DEFAULT_PATH);
}

static void
bake_on_event_end(void *arg, const struct deploy_event *de)
{
	printf("%-20s %-7s %7.2f s", lc_event_name(de->event),
	    deploy_event_status_name(de->status), de->duration);
	if (de->status == DEPLOY_EVENT_FAILED && de->outcome != NULL)
		printf("  %s%s%s", de->script != NULL ? de->script : "",
		    de->script != NULL ? ": " : "", de->outcome);
	printf("%s\n", de->rollback ? " (rollback)" : "");
	fflush(stdout);
}

static void
bake_sighandler(int sig)
{
	proc_request_stop();
}

/*
 * Only a target whose deployment succeeded is baked: not one still in
 * progress (its batches may fail yet) nor one that failed.  A target
 * with no deployment record (an older deployer) is baked.
 */
static int
bake_succeeded(struct store *st, const char *app, const char *group,
    const struct message *m, struct errbuf *eb)
{
	char	 status[32];
	int	 r;

	if ((r = deployment_status_read(st, app, group, m->deployment_id,
	    status, sizeof(status), eb)) != 1)
		return r;
	if (strcmp(status, "Succeeded") == 0)
		return 0;
	if (strcmp(status, "InProgress") == 0)
		return errbuf_set(eb, EK_TEMP, "the target of %s/%s, "
		    "deployment %s, is still in progress: bake it once it "
		    "succeeded", app, group, m->deployment_id);
	return errbuf_set(eb, EK_DATA, "the target of %s/%s, deployment %s, "
	    "ended %s: only a deployment that succeeded is baked", app,
	    group, m->deployment_id, status);
}

/*
 * Bake one group's target into 'root'.  Returns the exit status: 0
 * installed, current or no target; 1 failed; else the error's.
 */
static int
bake_one(const struct config *cfg, struct store *st, const char *app,
    const char *group, const char *root, const struct deploy_peer *peers,
    size_t npeers)
{
	struct admission	 adm;
	struct admission_verdict v;
	struct deploy_observer	 obs = { 0 };
	struct deploy_result	 res;
	struct deploy_spec	 spec;
	struct message		 m;
	struct errbuf		 eb = { 0 };
	char			*tkey = NULL, *data = NULL;
	char			*key = NULL, *bundle = NULL;
	size_t			 len;
	int			 rc = 0;

	message_init(&m);
	deploy_result_init(&res);
	if ((tkey = store_key_target(app, group, &eb)) == NULL)
		goto fail;
	if (store_get(st, tkey, STORE_OBJECT_MAX, &data, &len, NULL,
	    &eb) == -1) {
		if (eb.kind != EK_NOINPUT)
			goto fail;
		printf("group %s/%s has no target yet: nothing to bake\n",
		    app, group);
		goto out;
	}
	memset(&adm, 0, sizeof(adm));
	adm.cfg = cfg;
	adm.application = app;
	adm.group = group;
	adm.root = root;
	adm.peers = peers;
	adm.npeers = npeers;
	if (admission_parse(&adm, data, len, &m, &key, &eb) == -1 ||
	    admission_check(&adm, &m, &eb) == -1) {
		errbuf_prefix(&eb, "target.json of %s/%s: ", app, group);
		goto fail;
	}
	if (bake_succeeded(st, app, group, &m, &eb) == -1)
		goto fail;
	/*
	 * Only the live deployment is skipped; any other verdict but
	 * SEQ_RUN is the engine's to refuse, in its words (exit 65).
	 */
	if (admission_sequence(&adm, &m, &v, &eb) == -1)
		goto fail;
	if (v.live) {
		printf("deployment %s (sequence %llu) of %s/%s is already "
		    "installed under '%s'\n", m.deployment_id,
		    (unsigned long long)m.sequence, app, group, root);
		goto out;
	}
	printf("baking deployment %s (sequence %llu, revision %s) of %s/%s "
	    "into '%s'\n", m.deployment_id, (unsigned long long)m.sequence,
	    m.sha256, app, group, root);
	fflush(stdout);
	if (mkdir(root, 0755) == -1 && errno != EEXIST) {
		errbuf_errno(&eb, EK_IO, "cannot create '%s'", root);
		goto fail;
	}
	if (admission_fetch(&adm, st, &m, key, &bundle, &eb) == -1)
		goto fail;

	admission_spec(&adm, &m, bundle, &spec);
	obs.on_event_end = bake_on_event_end;
	log_setctx(m.deployment_id, app, group);
	if (lifecycle_deploy(&spec, &obs, &res, &eb) == -1)
		goto fail;
	if (res.status == DEPLOY_SUCCEEDED) {
		printf("baked deployment %s (sequence %llu) of %s/%s\n",
		    m.deployment_id, (unsigned long long)m.sequence, app,
		    group);
		goto out;
	}
	printf("deployment %s %s: %s%s%s%s%s\n", m.deployment_id,
	    res.status == DEPLOY_INTERRUPTED ? "interrupted" : "failed",
	    res.failed_event >= 0 ?
	    lc_event_name((enum lc_event)res.failed_event) : "",
	    res.failed_event >= 0 ? ": " : "",
	    res.script != NULL ? res.script : "",
	    res.script != NULL ? ": " : "",
	    res.outcome != NULL ? res.outcome : "unknown error");
	if (res.tail != NULL && res.tail[0] != '\0')
		printf("%s%s", res.tail, res.tail[strlen(res.tail) - 1] ==
		    '\n' ? "" : "\n");
	rc = 1;
	goto out;
 fail:
	fflush(stdout);
	fprintf(stderr, "hookd: bake: %s\n", eb.msg);
	rc = errbuf_exitcode(&eb);
 out:
	fflush(stdout);
	if (bundle != NULL) {
		(void)unlink(bundle);
		free(bundle);
	}
	deploy_result_release(&res);
	message_release(&m);
	free(key);
	free(data);
	free(tkey);
	return rc;
}

int
cmd_bake(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "group",	required_argument,	NULL, 'g' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "root",	required_argument,	NULL, 'r' },
		{ NULL,		0,			NULL, 0 }
	};
	struct config		 cfg;
	struct aws_client_config cc;
	struct deploy_peer	*peers = NULL;
	struct sigaction	 sa;
	struct errbuf		 eb = { 0 };
	struct aws_client	*aws = NULL;
	struct store		*st = NULL;
	const char		*cfgpath = CONFIG_DEFAULT_PATH;
	const char		*arg_group = NULL;
	const char		*root = NULL, *gsrc;
	char			*group = NULL;
	int			 ch, rc = 0, r;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:g:hr:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'g':
			arg_group = optarg;
			break;
		case 'h':
			bake_help();
			return 0;
		case 'r':
			if (optarg[0] != '/')
				usage_error(bake_usage, "--root must be an "
				    "absolute path: '%s'", optarg);
			root = optarg;
			break;
		default:
			if (optopt != 0 && optopt != '?')
				usage_error(bake_usage, "option '-%c' %s",
				    optopt, strchr("cgr", optopt) != NULL ?
				    "needs an argument" : "is unknown");
			usage_error(bake_usage, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error(bake_usage, "unexpected argument '%s'",
		    argv[optind]);

	config_init(&cfg);
	if (config_load(&cfg, cfgpath, NULL, &eb) == -1) {
		for (size_t i = 0; i < cfg.nerrors; i++)
			fprintf(stderr, "hookd: %s\n", cfg.errors[i]);
		if (cfg.nerrors == 0)
			fprintf(stderr, "hookd: %s\n", eb.msg);
		rc = errbuf_exitcode(&eb);
		goto out;
	}
	if (cfg.ngroups > 0 && arg_group != NULL)
		usage_error(bake_usage, "--group '%s': '%s' lists groups:, "
		    "and every one is baked", arg_group, cfgpath);
	/* No EC2 tag lookup: an image builder is not a group member. */
	if (cfg.ngroups == 0 && config_resolve_group(&cfg, arg_group, NULL,
	    NULL, &group, &gsrc, &eb) == -1)
		goto fail;
	if (root == NULL)
		root = cfg.root;
	/* The image's hooks run as root too: bound them where we can. */
	if (hookd_hook_cgroup(&cfg, &eb) == -1)
		goto fail;
	if (strncmp(cfg.store, "s3://", 5) == 0) {
		memset(&cc, 0, sizeof(cc));
		cc.region = cfg.region;
		if ((aws = aws_client_new(&cc, &eb)) == NULL)
			goto fail;
	}
	if (store_open(cfg.store, false, aws, &st, &eb) == -1)
		goto fail;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bake_sighandler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);

	if (cfg.ngroups == 0) {
		rc = bake_one(&cfg, st, cfg.application, group, root, NULL, 0);
		goto out;
	}
	/* groups: every group, one after the other; the first failure's. */
	peers = xcalloc(cfg.ngroups, sizeof(*peers));
	for (size_t i = 0; i < cfg.ngroups; i++) {
		peers[i].application = cfg.groups[i].application;
		peers[i].group = cfg.groups[i].deployment_group;
	}
	for (size_t i = 0; i < cfg.ngroups && !proc_stop_requested(); i++) {
		r = bake_one(&cfg, st, cfg.groups[i].application,
		    cfg.groups[i].deployment_group, root, peers, cfg.ngroups);
		if (rc == 0)
			rc = r;
	}
	goto out;
 fail:
	fflush(stdout);
	fprintf(stderr, "hookd: bake: %s\n", eb.msg);
	rc = errbuf_exitcode(&eb);
 out:
	fflush(stdout);
	store_free(st);
	aws_client_free(aws);
	free(peers);
	free(group);
	config_release(&cfg);
	return rc;
}
