/* SPDX-License-Identifier: ISC */
/*
 * run_start.c: 'hookd run' from its options to the loop: the command
 * line, the configuration, logging, the group and the instance's
 * identity, the run lock, the store and queue, registration, recovery,
 * the catch-up (DESIGN.md boot steps 1-6), READY=1; and the stop.
 */
#include "compat.h"

#include <sys/file.h>

#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "aws/client.h"
#include "aws/creds.h"
#include "aws/imds.h"
#include "caps.h"
#include "config.h"
#include "errbuf.h"
#include "fsutil.h"
#include "hookd.h"
#include "http.h"
#include "log.h"
#include "message.h"
#include "names.h"
#include "queue.h"
#include "run.h"
#include "scaleout.h"
#include "state.h"
#include "store.h"
#include "xalloc.h"

#include "banned.h"

#define AWS_CALL_TIMEOUT_MS	20000	/* per try, except long polls */

static const char run_usage[] =
    "usage: hookd run [-dhn] [-c file] [-g group] [-t grace]";

/* --- start-up --- */

static int
tag_fn(void *arg, const char *tag, char **ret_value, struct errbuf *eb)
{
	struct daemon	*d = arg;
	struct errbuf	 e2 = { 0 };

	*ret_value = NULL;
	if (!imds_enabled(d->imds))
		return 0;
	if (imds_tag(d->imds, tag, ret_value, &e2) == -1) {
		*ret_value = NULL;
		log_debug("EC2 tag '%s': %s", tag, e2.msg);
	}
	return 0;
}

/* This host's name in the group, and where it came from (*ret_src). */
static int
identity(struct daemon *d, const char **ret_src, struct errbuf *eb)
{
	char		 host[HOST_NAME_MAX + 1];
	char		*id = NULL;
	const char	*src;
	struct errbuf	 e2 = { 0 };

	if (d->cfg.instance_id != NULL) {
		id = xstrdup(d->cfg.instance_id);
		src = "hookd.yml instance_id";
	} else if (imds_enabled(d->imds) &&
	    imds_instance_id(d->imds, &id, &e2) == 0) {
		src = "instance metadata";
	} else {
		if (imds_enabled(d->imds))
			log_info("no instance id from instance metadata (%s); "
			    "using the host name", e2.msg);
		if (gethostname(host, sizeof(host)) == -1)
			return errbuf_errno(eb, EK_OS,
			    "cannot read the host name (gethostname)");
		host[sizeof(host) - 1] = '\0';
		id = xstrdup(host);
		src = "host name";
	}
	if (name_check("instance id", id, eb) == -1) {
		free(id);
		eb->kind = EK_CONFIG;
		return -1;
	}
	d->instance = id;
	if (!d->checking)
		log_info("instance '%s' (from %s)", id, src);
	*ret_src = src;
	return 0;
}

static int
take_lock(struct run_group *g, struct errbuf *eb)
{
	char	*path, pid[32];
	int	 fd;

	path = xasprintf("%s/.hookd-run.%s.%s.lock", g->d->cfg.root, g->app,
	    g->group);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		errbuf_errno(eb, EK_IO, "cannot open '%s'", path);
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		errbuf_set(eb, EK_TEMP, "another 'hookd run' serves %s/%s "
		    "('%s' is locked)", g->app, g->group, path);
		close(fd);
		free(path);
		return -1;
	}
	(void)snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, pid, strlen(pid)) == -1)
		log_warn("cannot write '%s', ignoring", path);
	free(path);
	g->lockfd = fd;
	return 0;
}

/*
 * The groups to serve: hookd.yml's groups: list, or the one group of
 * the single form (--group, deployment_group, $DEPLOYMENT_GROUP_NAME,
 * the EC2 tag).  Fills d->groups (each with its directories, names and
 * admission) and d->peers.
 */
static int
groups_setup(struct daemon *d, const char *arg_group, struct errbuf *eb)
{
	struct run_group	*g;
	size_t			 n;

	n = d->cfg.ngroups > 0 ? d->cfg.ngroups : 1;
	if (d->cfg.ngroups > 0 && arg_group != NULL)
		return errbuf_set(eb, EK_USAGE, "--group '%s': '%s' lists "
		    "groups:, every group this daemon serves", arg_group,
		    d->cfgpath);
	d->groups = xcalloc(n, sizeof(*d->groups));
	d->peers = xcalloc(n, sizeof(*d->peers));
	d->ngroups = n;
	for (size_t i = 0; i < n; i++) {
		g = &d->groups[i];
		g->d = d;
		g->lockfd = -1;
		if (d->cfg.ngroups == 0) {
			if (config_resolve_group(&d->cfg, arg_group, tag_fn, d,
			    &g->group, &g->group_source, eb) == -1)
				return -1;
			g->app = xstrdup(d->cfg.application);
		} else {
			g->app = xstrdup(d->cfg.groups[i].application);
			g->group = xstrdup(d->cfg.groups[i].deployment_group);
			g->group_source = "hookd.yml groups:";
		}
		if (!d->checking)
			log_notice("serving deployment group '%s' of "
			    "application '%s' (group from %s)", g->group,
			    g->app, g->group_source);
		g->gdir = xasprintf("%s/%s/%s", d->cfg.root, g->app, g->group);
		g->statepath = xasprintf("%s/state.json", g->gdir);
		d->peers[i].application = g->app;
		d->peers[i].group = g->group;
	}
	for (size_t i = 0; i < n; i++) {
		g = &d->groups[i];
		g->adm.cfg = &d->cfg;
		g->adm.application = g->app;
		g->adm.group = g->group;
		g->adm.peers = d->peers;
		g->adm.npeers = n;
	}
	if (n > 1)
		log_notice("%zu groups; deployments of different groups %s", n,
		    d->cfg.parallel_groups ? "may run at the same time "
		    "(parallel_groups)" : "run one at a time");
	if (n == 1)
		log_setctx(NULL, d->groups[0].app, d->groups[0].group);
	return 0;
}

static void
groups_release(struct daemon *d)
{
	struct run_group	*g;

	for (size_t i = 0; i < d->ngroups; i++) {
		g = &d->groups[i];
		queue_free(g->q);
		if (g->lockfd != -1)
			close(g->lockfd);
		free(g->gdir);
		free(g->statepath);
		free(g->regkey);
		free(g->qname);
		free(g->app);
		free(g->group);
	}
	free(d->groups);
	free(d->peers);
	d->groups = NULL;
	d->peers = NULL;
	d->ngroups = 0;
}

/*
 * `hookd run -n`: the file's syntax, then what the start would resolve:
 * the groups, the instance id and, for S3 or SQS, the region and the
 * credentials.  Nothing is contacted but instance metadata.  Returns the
 * exit status (78 for what the start would refuse).
 */
static int
check_resolve(struct daemon *d, const char *arg_group)
{
	struct aws_credprov	*cp = NULL;
	const struct aws_creds	*cr;
	struct errbuf		 eb = { 0 };
	const char		*what = "group", *src;
	int			 ret = 0;

	log_init("hookd", LOG_TO_STDERR, 0);
	d->imds = imds_new(NULL);
	d->checking = true;	/* what it resolves is printed, not logged */
	if (groups_setup(d, arg_group, &eb) == -1)
		goto fail;
	for (size_t i = 0; i < d->ngroups; i++)
		printf("deployment group '%s' of application '%s' (from %s)\n",
		    d->groups[i].group, d->groups[i].app,
		    d->groups[i].group_source);
	what = "instance";
	if (identity(d, &src, &eb) == -1)
		goto fail;
	printf("instance '%s' (from %s)\n", d->instance, src);
	if (strcmp(d->cfg.queue, "sqs") == 0 ||
	    strncmp(d->cfg.store, "s3://", 5) == 0) {
		struct aws_client_config	 cc;

		memset(&cc, 0, sizeof(cc));
		cc.region = d->cfg.region;
		cc.imds = d->imds;
		cc.sqs_protocol = d->cfg.sqs_protocol;
		what = "region";
		if ((d->aws = aws_client_new(&cc, &eb)) == NULL)
			goto fail;
		printf("region %s\n", aws_client_region(d->aws));
		what = "credentials";
		cp = aws_credprov_new(NULL, d->imds);
		if (aws_credprov_get(cp, &cr, &eb) == -1)
			goto fail;
		printf("AWS credentials from the %s\n",
		    aws_creds_source_name(cr->source));
	}
	printf("configuration OK (the queue '%s' and the store '%s' were not "
	    "contacted)\n", d->cfg.queue, d->cfg.store);
	goto out;
 fail:
	fflush(stdout);
	fprintf(stderr, "hookd: %s: %s\n", what, eb.msg);
	ret = errbuf_exitcode(&eb);
 out:
	aws_credprov_free(cp);
	groups_release(d);
	aws_client_free(d->aws);
	imds_free(d->imds);
	free(d->instance);
	config_release(&d->cfg);
	return ret;
}

/*
 * A fatal error at start: logged once.  The log is stderr (-d, or not
 * under systemd) or the journal, where systemd also puts stderr, so a
 * second line on stderr would only repeat it.
 */
static __dead void
start_error(struct daemon *d, const struct errbuf *eb)
{
	log_warnx("%s", eb->msg);
	exit(errbuf_exitcode(eb));
}

/*
 * The queue or the store could not be reached at start: after
 * start_timeout an outage exits 69, other errors (78: the store's
 * bucket does not exist) with their own status.
 */
static __dead void
start_unavailable(struct daemon *d, const char *what, const char *name,
    struct errbuf *eb)
{
	if (!transient(eb))
		start_error(d, eb);
	errbuf_prefix(eb, "%s '%s' still unavailable after %u s "
	    "(start_timeout), giving up: ", what, name,
	    d->cfg.start_timeout);
	eb->kind = EK_UNAVAIL;
	start_error(d, eb);
}

static void
run_help(void)
{
	printf("%s\n\n"
	    "Run the deployment agent: take deployments from this host's "
	    "queue and run them.\n\n"
	    "options:\n"
	    "  -c, --config FILE   hookd.yml (default %s)\n"
	    "  -d, --foreground    stay in the foreground, log to stderr\n"
	    "  -g, --group GROUP   the deployment group to serve (not with "
	    "groups:)\n"
	    "  -n, --check         check the configuration and exit\n"
	    "  -t, --grace SEC     time a running hook gets after SIGTERM "
	    "(default:\n"
	    "                      shutdown_grace of hookd.yml, else %d)\n"
	    "  -h, --help          show this help\n\n"
	    "exit status: 0 stopped by a signal, 69 queue or store "
	    "unavailable at start\n(for start_timeout), 75 another hookd "
	    "serves the group, "
	    "78 bad configuration\n", run_usage, CONFIG_DEFAULT_PATH,
	    CONFIG_GRACE_DEFAULT);
}

int
cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "check",	no_argument,		NULL, 'n' },
		{ "config",	required_argument,	NULL, 'c' },
		{ "foreground",	no_argument,		NULL, 'd' },
		{ "grace",	required_argument,	NULL, 't' },
		{ "group",	required_argument,	NULL, 'g' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct daemon	 d;
	struct run_group *g;
	struct errbuf	 eb = { 0 };
	const char	*arg_group = NULL, *src;
	uint64_t	 grace = CONFIG_GRACE_DEFAULT;
	bool		 check = false, fg = false;
	int		 ch;

	memset(&d, 0, sizeof(d));
	d.cfgpath = CONFIG_DEFAULT_PATH;
	d.sigpipe_r = -1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:dg:hnt:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.cfgpath = optarg;
			break;
		case 'd':
			fg = true;
			break;
		case 'g':
			arg_group = optarg;
			break;
		case 'h':
			run_help();
			return 0;
		case 'n':
			check = true;
			break;
		case 't':
			if (parse_u64(optarg, 0, CONFIG_GRACE_MAX, &grace) ==
			    -1)
				usage_error(run_usage, "invalid --grace '%s' "
				    "(0-%d)", optarg, CONFIG_GRACE_MAX);
			d.grace_flag = true;
			break;
		default:
			if (optopt != 0 && optopt != '?')
				usage_error(run_usage, "option '-%c' %s",
				    optopt, strchr("cgt", optopt) != NULL ?
				    "needs an argument" : "is unknown");
			usage_error(run_usage, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error(run_usage, "unexpected argument '%s'",
		    argv[optind]);

	/* 1. The configuration; errors go to stderr, exit 78. */
	config_init(&d.cfg);
	if (config_load(&d.cfg, d.cfgpath, NULL, &eb) == -1) {
		for (size_t i = 0; i < d.cfg.nerrors; i++)
			fprintf(stderr, "hookd: %s\n", d.cfg.errors[i]);
		if (d.cfg.nerrors == 0)
			fprintf(stderr, "hookd: %s\n", eb.msg);
		config_release(&d.cfg);
		return errbuf_exitcode(&eb);
	}
	d.grace = d.grace_flag ? (unsigned)grace : d.cfg.shutdown_grace;
	if (check)
		return check_resolve(&d, arg_group);

	/* 2. Logging: the journal under systemd, else stderr. */
	log_init("hookd", fg ? LOG_TO_STDERR : LOG_TO_AUTO,
	    d.cfg.log_level >= LOG_DEBUG || arg_verbose > 1);
	state_timestamp(d.started_at);

	/* 3. Signals, and the watchdog (pinged during the boot too). */
	if (setup_signals(&d, &eb) == -1)
		start_error(&d, &eb);
	http_set_abort_flag(&abort_http);
	/* An idle long poll sleeps until the network or a signal. */
	http_set_wake_fd(d.sigpipe_r);
	if (sd_watchdog_enabled(0, &d.wd_usec) <= 0)
		d.wd_usec = 0;
	mono_now(&d.wd_last);
	mono_now(&d.extend_last);
	mono_now(&d.start_t0);

	/* The groups and the identity. */
	d.imds = imds_new(NULL);
	if (groups_setup(&d, arg_group, &eb) == -1)
		start_error(&d, &eb);
	if (identity(&d, &src, &eb) == -1)
		start_error(&d, &eb);

	/* 4. Directories and the run locks. */
	if (fs_mkdirs(d.cfg.root, 0755, &eb) == -1)
		start_error(&d, &eb);
	for (size_t i = 0; i < d.ngroups; i++)
		if (take_lock(&d.groups[i], &eb) == -1)
			start_error(&d, &eb);
	/* Each hook in a cgroup with a process limit, when we may. */
	if (hookd_hook_cgroup(&d.cfg, &eb) == -1)
		start_error(&d, &eb);
	for (size_t i = 0; i < d.ngroups; i++) {
		g = &d.groups[i];
		if ((g->regkey = store_key_instance(g->app, g->group,
		    d.instance, &eb)) == NULL) {
			eb.kind = EK_CONFIG;
			start_error(&d, &eb);
		}
		/* groups: PREFIX-APP-GROUP-INSTANCE; else PREFIX-GROUP-... */
		if ((g->qname = queue_name_app(d.cfg.queue_prefix,
		    d.cfg.ngroups > 0 ? g->app : NULL, g->group, d.instance,
		    &eb)) == NULL)
			start_error(&d, &eb);
	}

	/*
	 * 5. Boot: queue, registration, recovery, catch-up.  The queue and
	 * the store are retried for start_timeout, then the start fails
	 * (69), for systemd to try again.
	 */
	d.starting = true;
	if (strcmp(d.cfg.queue, "sqs") == 0 ||
	    strncmp(d.cfg.store, "s3://", 5) == 0 ||
	    d.cfg.traffic.ntarget_groups > 0 ||
	    d.cfg.traffic.nload_balancers > 0 ||
	    d.cfg.traffic.from_auto_scaling_group) {
		struct aws_client_config	 cc;

		memset(&cc, 0, sizeof(cc));
		cc.region = d.cfg.region;
		cc.imds = d.imds;
		cc.timeout_ms = AWS_CALL_TIMEOUT_MS;
		cc.sqs_protocol = d.cfg.sqs_protocol;
		if ((d.aws = aws_client_new(&cc, &eb)) == NULL)
			start_error(&d, &eb);
	}
	if (d.cfg.traffic.enabled && (d.traffic = hookd_traffic_new(&d.cfg,
	    d.aws, d.instance, &eb)) == NULL)
		start_error(&d, &eb);
	if (store_open(d.cfg.store, true, d.aws, &d.st, &eb) == -1)
		start_error(&d, &eb);
	for (size_t i = 0; i < d.ngroups; i++) {
		g = &d.groups[i];
		if (queue_open(d.cfg.queue, g->qname,
		    d.cfg.visibility_timeout, d.aws, &g->q, &eb) == -1)
			start_error(&d, &eb);
		log_info("queue '%s' (%s), store '%s'", g->qname,
		    g->q->ops->scheme, d.cfg.store);
		queue_on_aside(g->q, on_aside, g);
		if (ensure_queue(g, &eb) == -1) {
			if (got_term)
				goto out;
			start_unavailable(&d, "queue", g->qname, &eb);
		}
	}
	for (size_t i = 0; i < d.ngroups; i++)
		if (register_start(&d.groups[i], &eb) == -1) {
			if (got_term)
				goto out;
			/* An outage, or no bucket: the start fails. */
			if (transient(&eb) || eb.kind == EK_CONFIG)
				start_unavailable(&d, "store", d.cfg.store,
				    &eb);
			log_warnx("cannot register %s/%s in the store: %s",
			    d.groups[i].app, d.groups[i].group, eb.msg);
		}
	d.starting = false;
	for (size_t i = 0; i < d.ngroups; i++)
		if (recover(&d.groups[i], "interrupted; recovered when hookd "
		    "started again", NULL, &eb) == -1)
			start_error(&d, &eb);
	if (!got_term)
		(void)so_catch_up(&d);	/* catch_up() + the launch hook */

	/* 6. Ready. */
	d.ready = true;
	(void)sd_notify(0, "READY=1\nSTATUS=idle");
	for (size_t i = 0; i < d.ngroups; i++)
		log_notice("ready: waiting for deployments on queue '%s'",
		    d.groups[i].qname);

	/* 7. The loop. */
	loop(&d);
 out:
	(void)sd_notify(0, "STOPPING=1");
	so_shutdown(&d);	/* deregister when the instance is leaving */
	log_notice("stopped");
	scaleout_release(&d.so);
	groups_release(&d);
	store_free(d.st);
	hookd_traffic_free(d.traffic);
	aws_client_free(d.aws);
	imds_free(d.imds);
	if (d.sigpipe_r != -1)
		close(d.sigpipe_r);
	free(d.instance);
	config_release(&d.cfg);
	return 0;
}
