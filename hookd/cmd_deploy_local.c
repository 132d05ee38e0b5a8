/* SPDX-License-Identifier: ISC */
/*
 * cmd_deploy_local.c: 'hookd deploy-local', one deployment of a local
 * bundle with the lifecycle engine, no servers involved.  Prints one line
 * per event as it ends and a final result line (the format is pinned in
 * the engine contract: tests and the demo read it).
 */
#include "compat.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "appspec.h"
#include "caps.h"
#include "errbuf.h"
#include "hookd.h"
#include "lifecycle.h"
#include "log.h"
#include "names.h"
#include "proc.h"
#include "xalloc.h"

#include "banned.h"

static const char deploy_local_usage[] =
    "usage: hookd deploy-local [-h] [-a app] [-c sha] [-f behavior] "
    "[-g group] [-k n] [-r dir] -b bundle";

static bool	 local_journal;	/* stderr is the journal: log events too */

static void
deploy_local_help(void)
{
	printf("%s\n\n"
	    "Run one in-place deployment of a local bundle (a directory,\n"
	    ".tar, .tar.gz/.tgz or .zip holding appspec.yml) on this host.\n\n"
	    "options:\n"
	    "  -b, --bundle PATH             the bundle to deploy\n"
	    "  -a, --application APP         default: the bundle's name\n"
	    "  -g, --group GROUP             default: local\n"
	    "  -r, --root DIR                default: $HOOKD_ROOT, else "
	    "/var/lib/hookd\n"
	    "  -k, --keep-releases N         release dirs kept (default %d)\n"
	    "  -f, --file-exists-behavior B  DISALLOW, OVERWRITE or RETAIN\n"
	    "                                (default: the appspec's, else "
	    "DISALLOW)\n"
	    "  -c, --commit SHA              BUNDLE_COMMIT for the scripts\n"
	    "  -h, --help                    show this help\n\n"
	    "exit status: 0 succeeded, 1 failed (the host was rolled back),\n"
	    "64 usage, 65 bad bundle or appspec, 66 no such bundle, 74 I/O "
	    "error,\n75 another deployment of the group is running\n",
	    deploy_local_usage, KEEP_RELEASES_DEFAULT);
}

static void
fmt_duration(double s, char *buf, size_t len)
{
	if (s < 1.0)
		(void)snprintf(buf, len, "%.1f ms", s * 1000.0);
	else
		(void)snprintf(buf, len, "%.2f s", s);
}

static void
local_on_event_start(void *arg, enum lc_event ev, bool rollback)
{
	log_setevent(lc_event_name(ev), NULL);
}

static void
local_on_script(void *arg, enum lc_event ev, const char *script)
{
	log_setevent(lc_event_name(ev), script);
	if (local_journal)
		log_info("%s: running '%s'", lc_event_name(ev), script);
}

static void
local_on_event_end(void *arg, const struct deploy_event *de)
{
	char	 dur[32], what[128];

	fmt_duration(de->duration, dur, sizeof(dur));
	if (de->rollback)
		(void)snprintf(what, sizeof(what), "%s (rollback to %s)",
		    lc_event_name(de->event),
		    de->revision != NULL ? de->revision : "-");
	else
		(void)strlcpy(what, lc_event_name(de->event), sizeof(what));
	/* The columns stay put: a rollback says so after them. */
	printf("%-20s %-7s %8s", lc_event_name(de->event),
	    deploy_event_status_name(de->status), dur);
	if (de->rollback)
		printf("  (rollback to %s)", de->revision != NULL ?
		    de->revision : "-");
	if (de->status == DEPLOY_EVENT_FAILED && de->outcome != NULL)
		printf("  %s%s%s", de->script != NULL ? de->script : "",
		    de->script != NULL ? ": " : "", de->outcome);
	else if (de->outcome != NULL)
		printf("  (%s)", de->outcome);
	printf("\n");
	fflush(stdout);
	/* The appspec's warnings: what CodeDeploy would ignore. */
	for (size_t i = 0; i < de->nwarnings; i++) {
		fprintf(stderr, "warning: %s\n", de->warnings[i]);
		if (local_journal)
			log_warnx("%s", de->warnings[i]);
	}
	if (local_journal) {
		if (de->status == DEPLOY_EVENT_FAILED)
			log_warnx("%s failed: %s%s%s", what,
			    de->script != NULL ? de->script : "",
			    de->script != NULL ? ": " : "",
			    de->outcome != NULL ? de->outcome : "");
		else
			log_info("%s %s (%s)", what,
			    deploy_event_status_name(de->status), dur);
	}
	log_setevent(NULL, NULL);
}

static void
local_on_recover(void *arg, const char *id, const char *phase)
{
	printf("recovering interrupted deployment %s (it was in %s)\n", id,
	    phase != NULL ? phase : "an unknown phase");
	fflush(stdout);
	if (local_journal)
		log_notice("recovering interrupted deployment %s", id);
}

static void
local_sighandler(int sig)
{
	proc_request_stop();
}

static void
print_tail(const char *tail)
{
	const char	*p, *nl;

	if (tail == NULL)
		return;
	for (p = tail; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL) {
			printf("  %s\n", p);
			break;
		}
		printf("  %.*s\n", (int)(nl - p), p);
	}
}

/* The default application name: the bundle's base name, no extension. */
static char *
default_application(const char *bundle)
{
	static const char *const exts[] = { ".tar.gz", ".tgz", ".tar",
	    ".zip" };
	char		*name, *slash;
	size_t		 n, el;

	name = xstrdup(bundle);
	while ((n = strlen(name)) > 1 && name[n - 1] == '/')
		name[n - 1] = '\0';
	if ((slash = strrchr(name, '/')) != NULL && slash[1] != '\0')
		memmove(name, slash + 1, strlen(slash + 1) + 1);
	n = strlen(name);
	for (size_t i = 0; i < nitems(exts); i++) {
		el = strlen(exts[i]);
		if (n > el && strcmp(name + n - el, exts[i]) == 0) {
			name[n - el] = '\0';
			break;
		}
	}
	return name;
}

static void
print_result(const struct deploy_result *r)
{
	printf("deployment %s (sequence %llu) ", r->deployment_id,
	    (unsigned long long)r->sequence);
	if (r->status == DEPLOY_SUCCEEDED) {
		printf("succeeded\n");
		return;
	}
	printf("%s: ", r->status == DEPLOY_INTERRUPTED ? "interrupted" :
	    "failed");
	if (r->failed_event >= 0)
		printf("%s: ", lc_event_name((enum lc_event)r->failed_event));
	if (r->script != NULL)
		printf("%s: ", r->script);
	printf("%s", r->outcome != NULL ? r->outcome : "unknown error");
	if (r->rolled_back_to != NULL)
		printf("; rolled back to %s", r->rolled_back_to);
	printf("\n");
	if (r->rollback_error != NULL)
		printf("the rollback failed too: %s\n", r->rollback_error);
	print_tail(r->tail);
}

int
cmd_deploy_local(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "application",	required_argument, NULL, 'a' },
		{ "bundle",		required_argument, NULL, 'b' },
		{ "commit",		required_argument, NULL, 'c' },
		{ "file-exists-behavior", required_argument, NULL, 'f' },
		{ "group",		required_argument, NULL, 'g' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ "keep-releases",	required_argument, NULL, 'k' },
		{ "root",		required_argument, NULL, 'r' },
		{ NULL,			0,		   NULL, 0 }
	};
	struct deploy_observer	 obs = { 0 };
	struct deploy_result	 res, rres;
	struct deploy_spec	 spec;
	struct sigaction	 sa;
	struct errbuf		 eb = { 0 };
	char			 id[DEPLOYMENT_ID_LEN + 1];
	char			*app = NULL;
	const char		*root;
	uint64_t		 keep = KEEP_RELEASES_DEFAULT;
	int			 ch, feb, rc;

	deploy_spec_init(&spec);
	deploy_result_init(&res);
	opterr = 0;	/* one message of our own, not getopt's */
	while ((ch = getopt_long(argc, argv, "a:b:c:f:g:hk:r:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			spec.application = optarg;
			break;
		case 'b':
			spec.bundle = optarg;
			break;
		case 'c':
			spec.commit = optarg;
			break;
		case 'f':
			if ((feb = feb_from_name(optarg)) == -1)
				usage_error(deploy_local_usage, "invalid "
				    "--file-exists-behavior '%s'", optarg);
			spec.file_exists_behavior = feb;
			break;
		case 'g':
			spec.group = optarg;
			break;
		case 'h':
			deploy_local_help();
			return 0;
		case 'k':
			if (parse_u64(optarg, 1, KEEP_RELEASES_MAX,
			    &keep) == -1)
				usage_error(deploy_local_usage, "invalid "
				    "--keep-releases '%s' (1-%d)", optarg,
				    KEEP_RELEASES_MAX);
			break;
		case 'r':
			spec.root = optarg;
			break;
		default:
			if (optopt != 0 && optopt != '?')
				usage_error(deploy_local_usage, "option '-%c' "
				    "%s", optopt, strchr("abcfgkr", optopt) !=
				    NULL ? "needs an argument" : "is unknown");
			usage_error(deploy_local_usage, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error(deploy_local_usage, "unexpected argument '%s'",
		    argv[optind]);
	if (spec.bundle == NULL)
		usage_error(deploy_local_usage, "--bundle is required");
	if (spec.root == NULL) {
		root = secure_getenv("HOOKD_ROOT");
		spec.root = root != NULL && root[0] != '\0' ? root :
		    "/var/lib/hookd";
	}
	if (spec.application == NULL)
		spec.application = app = default_application(spec.bundle);
	if (spec.group == NULL)
		spec.group = "local";
	spec.keep_releases = (unsigned)keep;
	if (!name_ok(spec.application))
		usage_error(deploy_local_usage, "invalid application name "
		    "'%s'; give --application", spec.application);
	if (!name_ok(spec.group))
		usage_error(deploy_local_usage, "invalid group name '%s'",
		    spec.group);
	if (deployment_id_new(id, &eb) == -1) {
		fprintf(stderr, "hookd: %s\n", eb.msg);
		rc = errbuf_exitcode(&eb);
		goto out;
	}
	spec.deployment_id = id;

	local_journal = secure_getenv("JOURNAL_STREAM") != NULL;
	if (local_journal)
		log_init("hookd", LOG_TO_AUTO, arg_verbose > 1);
	log_setctx(id, spec.application, spec.group);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = local_sighandler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	/*
	 * A reader of our stdout going away (| head) must not kill hookd
	 * between two steps of a deployment; the hooks get SIGPIPE back at
	 * its default (proc.c resets every signal in the child).
	 */
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);

	obs.on_event_start = local_on_event_start;
	obs.on_script = local_on_script;
	obs.on_event_end = local_on_event_end;
	obs.on_recover = local_on_recover;

	if (lifecycle_deploy(&spec, &obs, &res, &eb) == -1) {
		fprintf(stderr, "hookd: %s\n", eb.msg);
		if (local_journal)
			log_warnx("deploy-local: %s", eb.msg);
		rc = errbuf_exitcode(&eb);
		goto out;
	}
	print_result(&res);
	if (local_journal)
		log_notice("deployment %s (sequence %llu) %s", id,
		    (unsigned long long)res.sequence,
		    deploy_status_name(res.status));
	rc = res.status == DEPLOY_SUCCEEDED ? 0 : 1;
	if (res.status == DEPLOY_INTERRUPTED) {
		/* Put the host back now rather than at the next run. */
		proc_stop_clear();
		if (lifecycle_recover(&spec, &obs, &rres, &eb) == -1)
			fprintf(stderr, "hookd: %s\n", eb.msg);
		else if (rres.rolled_back_to != NULL)
			printf("rolled back to %s\n", rres.rolled_back_to);
		deploy_result_release(&rres);
	}
 out:
	fflush(stdout);
	deploy_result_release(&res);
	free(app);
	return rc;
}
