/* SPDX-License-Identifier: ISC */
/*
 * cmd_status.c: 'hookd status', what this host has for one deployment
 * group, from the local state only (ROOT/APP/GROUP/state.json; no
 * network): the live and previous releases, a deployment in progress,
 * and the last deployments with their outcomes.  --json prints the same
 * as one JSON object for scripts.  With hookd.yml's groups: (and no -a
 * or -g), every group listed, one after the other; --json then prints
 * {"groups": [...]}, one object per group.
 */
#include "compat.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <jansson.h>

#include "caps.h"
#include "config.h"
#include "errbuf.h"
#include "hookd.h"
#include "lifecycle.h"
#include "names.h"
#include "state.h"
#include "xalloc.h"

#include "banned.h"

#define STATUS_LAST_DEFAULT	10	/* deployments listed */

static const char status_usage[] =
    "usage: hookd status [-h] [--json] [-a app] [-c file] [-g group] "
    "[-n count] [-r root]";

static void
status_help(void)
{
	printf("%s\n\n"
	    "Show this host's releases and recent deployments of one group "
	    "(with\nhookd.yml's groups:, of every group), from the local "
	    "state (no network).\n\n"
	    "options:\n"
	    "  -a, --application APP  default: hookd.yml's, else the only one "
	    "under the root\n"
	    "  -c, --config FILE      hookd.yml (default %s, if it exists)\n"
	    "  -g, --group GROUP      default: hookd.yml's, else the only one\n"
	    "  -n, --last N           deployments listed (default %d)\n"
	    "  -r, --root DIR         default: hookd.yml's root, else %s\n"
	    "      --json             one JSON object on stdout\n"
	    "  -h, --help             show this help\n\n"
	    "exit status: 0, 64 usage, 66 no such application or group, "
	    "78 bad configuration\n", status_usage, CONFIG_DEFAULT_PATH,
	    STATUS_LAST_DEFAULT, CONFIG_DEFAULT_ROOT);
}

/* Whether some subdirectory of 'dir' holds a state.json. */
static bool
has_group(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	char		*p;
	bool		 found = false;

	if ((d = opendir(dir)) == NULL)
		return false;
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		p = xasprintf("%s/%s/state.json", dir, de->d_name);
		found = stat(p, &sb) == 0;
		free(p);
	}
	closedir(d);
	return found;
}

/*
 * The only subdirectory of 'dir' that has 'sub' (e.g. "/state.json"), or
 * (sub NULL) that holds a group with a state.json.
 */
static char *
only_child(const char *dir, const char *what, const char *sub,
    struct errbuf *eb)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	char		*found = NULL, *p;
	size_t		 n = 0;

	if ((d = opendir(dir)) == NULL) {
		errbuf_errno(eb, EK_NOINPUT, "cannot open '%s'", dir);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !name_ok(de->d_name))
			continue;
		p = xasprintf("%s/%s%s", dir, de->d_name, sub != NULL ?
		    sub : "");
		if (sub != NULL ? stat(p, &sb) == 0 : has_group(p)) {
			n++;
			if (found == NULL)
				found = xstrdup(de->d_name);
		}
		free(p);
	}
	closedir(d);
	if (n == 1)
		return found;
	free(found);
	errbuf_set(eb, EK_NOINPUT, n == 0 ? "no %s with deployments under "
	    "'%s'" : "more than one %s under '%s'; give one", what, dir);
	return NULL;
}

/*
 * Where ROOT/APP/GROUP/current points ("releases/SEQ-ID"), or NULL when
 * there is no such link.  It is live's release, except during a
 * deployment that already switched it (from Install on).
 */
static char *
current_link(const char *root, const char *app, const char *group)
{
	char		*path, buf[PATH_MAX];
	ssize_t		 n;

	path = xasprintf("%s/%s/%s/current", root, app, group);
	n = readlink(path, buf, sizeof(buf) - 1);
	free(path);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

/*
 * The newest outcome, when it is a first install (nothing live) that
 * failed after ApplicationStart ran: what that started is not stopped.
 */
static const struct state_hist *
failed_first_start(const struct state *st)
{
	const struct state_hist	*x;
	int			 ev;

	if (st->current.sequence != 0 || st->nhistory == 0)
		return NULL;
	x = &st->history[0];
	if (x->status == NULL || strcmp(x->status, "Failed") != 0 ||
	    x->event == NULL || x->rolled_back_to != NULL)
		return NULL;
	ev = lc_event_from_name(x->event);
	return ev >= LC_APPLICATION_START ? x : NULL;
}

static json_t *
rev_json(const struct state_rev *r)
{
	if (r->sequence == 0)
		return json_null();
	return json_pack("{s:s?, s:I, s:s?, s:s?, s:s?}", "deployment_id",
	    r->deployment_id, "sequence", (json_int_t)r->sequence, "release",
	    r->release, "sha256", r->sha256, "commit", r->commit);
}

static json_t *
to_json(const struct state *st, const char *root, const char *app,
    const char *group, size_t last)
{
	const struct state_progress	*ip = &st->in_progress;
	json_t				*o, *h, *e;
	char				*link;

	o = json_pack("{s:s, s:s, s:s, s:I}", "application", app, "group",
	    group, "root", root, "last_sequence",
	    (json_int_t)st->last_sequence);
	(void)json_object_set_new(o, "current", rev_json(&st->current));
	/* The link itself: the in-progress release once it switched. */
	link = current_link(root, app, group);
	(void)json_object_set_new(o, "current_link", link != NULL ?
	    json_string(link) : json_null());
	free(link);
	(void)json_object_set_new(o, "previous", rev_json(&st->previous));
	if (ip->rev.sequence != 0) {
		e = rev_json(&ip->rev);
		(void)json_object_set_new(e, "phase", ip->phase != NULL ?
		    json_string(ip->phase) : json_null());
		(void)json_object_set_new(e, "started_at",
		    ip->started_at != NULL ? json_string(ip->started_at) :
		    json_null());
		/* "out": BlockTraffic began; "in": AllowTraffic ended. */
		(void)json_object_set_new(e, "traffic", ip->traffic != NULL ?
		    json_string(ip->traffic) : json_null());
		(void)json_object_set_new(o, "in_progress", e);
	} else
		(void)json_object_set_new(o, "in_progress", json_null());
	h = json_array();
	for (size_t i = 0; i < st->nhistory && i < last; i++) {
		const struct state_hist	*x = &st->history[i];

		e = json_pack("{s:s?, s:I, s:s?, s:s?, s:s?, s:s?, s:s?, "
		    "s:s?, s:s?}", "deployment_id", x->deployment_id,
		    "sequence", (json_int_t)x->sequence, "status", x->status,
		    "event", x->event, "script", x->script, "message",
		    x->message, "started_at", x->started_at, "finished_at",
		    x->finished_at, "rolled_back_to", x->rolled_back_to);
		(void)json_array_append_new(h, e);
	}
	(void)json_object_set_new(o, "history", h);
	return o;
}

static void
print_rev(const char *label, const struct state_rev *r)
{
	printf("%-13s", label);
	if (r->sequence == 0) {
		printf("none\n");
		return;
	}
	printf("%s (sequence %llu, %s", r->deployment_id != NULL ?
	    r->deployment_id : "?", (unsigned long long)r->sequence,
	    r->release != NULL ? r->release : "?");
	if (r->commit != NULL)
		printf(", commit %.12s", r->commit);
	printf(")\n");
}

static void
print_text(const struct state *st, const char *root, const char *app,
    const char *group, size_t last)
{
	const struct state_progress	*ip = &st->in_progress;
	const struct state_hist		*ff;
	char				*link;

	printf("%-13s%s\n", "application:", app);
	printf("%-13s%s\n", "group:", group);
	printf("%-13s%s/%s/%s\n", "directory:", root, app, group);
	if ((ff = failed_first_start(st)) != NULL)
		printf("%-13snone: the first install, %s, failed in %s; what "
		    "its ApplicationStart\n%-13sstarted was not stopped and "
		    "may still run\n", "live:", ff->deployment_id != NULL ?
		    ff->deployment_id : "?", ff->event, "");
	else
		print_rev("live:", &st->current);
	/* During a deployment, current may name its release already. */
	link = current_link(root, app, group);
	if (link != NULL && (st->current.release == NULL ||
	    strcmp(link, st->current.release) != 0))
		printf("%-13s%s -> %s%s\n", "current:", "current", link,
		    ip->rev.release != NULL && strcmp(link,
		    ip->rev.release) == 0 ? " (the deployment in progress; "
		    "live once it succeeds)" : "");
	free(link);
	print_rev("previous:", &st->previous);
	if (ip->rev.sequence != 0)
		printf("%-13s%s (sequence %llu, in %s since %s)\n",
		    "in progress:", ip->rev.deployment_id != NULL ?
		    ip->rev.deployment_id : "?",
		    (unsigned long long)ip->rev.sequence,
		    ip->phase != NULL ? ip->phase : "?",
		    ip->started_at != NULL ? ip->started_at : "?");
	else
		printf("%-13snone\n", "in progress:");
	if (ip->rev.sequence != 0 && ip->traffic != NULL &&
	    strcmp(ip->traffic, "out") == 0)
		printf("%-13sout of its load balancers (BlockTraffic began)\n",
		    "traffic:");
	if (st->nhistory == 0) {
		printf("no deployments yet\n");
		return;
	}
	printf("last deployments:\n");
	for (size_t i = 0; i < st->nhistory && i < last; i++) {
		const struct state_hist	*x = &st->history[i];

		printf("  %-12s %6llu  %-11s %s", x->deployment_id != NULL ?
		    x->deployment_id : "?", (unsigned long long)x->sequence,
		    x->status != NULL ? x->status : "?",
		    x->finished_at != NULL ? x->finished_at : "-");
		if (x->status != NULL && strcmp(x->status, "Succeeded") != 0) {
			if (x->event != NULL)
				printf("  %s", x->event);
			if (x->script != NULL)
				printf(": %s", x->script);
			if (x->message != NULL)
				printf(": %s", x->message);
			if (x->rolled_back_to != NULL)
				printf(" (rolled back to %s)",
				    x->rolled_back_to);
		}
		printf("\n");
	}
}

/*
 * Every group of hookd.yml's groups:.  Returns the exit status: the
 * first failure's, after showing the others.
 */
static int
status_all(const struct config *cfg, const char *root, bool json,
    size_t last)
{
	struct state	 st;
	struct errbuf	 eb = { 0 };
	json_t		*o, *a = NULL;
	char		*path;
	int		 rc = 0;

	if (json)
		a = json_array();
	for (size_t i = 0; i < cfg->ngroups; i++) {
		const char	*app = cfg->groups[i].application;
		const char	*group = cfg->groups[i].deployment_group;

		path = xasprintf("%s/%s/%s/state.json", root, app, group);
		state_init(&st);
		if (state_load(path, &st, &eb) == -1) {
			fprintf(stderr, "hookd: %s\n", eb.msg);
			if (rc == 0)
				rc = errbuf_exitcode(&eb);
		} else if (json)
			(void)json_array_append_new(a, to_json(&st, root, app,
			    group, last));
		else {
			if (i > 0)
				printf("\n");
			print_text(&st, root, app, group, last);
		}
		state_release(&st);
		free(path);
	}
	if (json) {
		o = json_pack("{s:o}", "groups", a);
		if (json_dumpf(o, stdout, JSON_INDENT(2) |
		    JSON_PRESERVE_ORDER) == -1 && rc == 0)
			rc = EX_IOERR;
		printf("\n");
		json_decref(o);
	}
	return rc;
}

int
cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "application",	required_argument, NULL, 'a' },
		{ "config",		required_argument, NULL, 'c' },
		{ "group",		required_argument, NULL, 'g' },
		{ "help",		no_argument,	   NULL, 'h' },
		{ "json",		no_argument,	   NULL, 'J' },
		{ "last",		required_argument, NULL, 'n' },
		{ "root",		required_argument, NULL, 'r' },
		{ NULL,			0,		   NULL, 0 }
	};
	struct config	 cfg;
	struct state	 st;
	struct errbuf	 eb = { 0 };
	struct stat	 sb;
	const char	*cfgpath = NULL, *root = NULL, *src;
	char		*app = NULL, *group = NULL, *dir = NULL, *path = NULL;
	bool		 json = false, have_cfg = false;
	uint64_t	 last = STATUS_LAST_DEFAULT;
	json_t		*o;
	int		 ch, rc = 0;

	config_init(&cfg);
	state_init(&st);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "a:c:g:hn:r:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			app = xstrdup(optarg);
			break;
		case 'c':
			cfgpath = optarg;
			break;
		case 'g':
			group = xstrdup(optarg);
			break;
		case 'h':
			status_help();
			return 0;
		case 'J':
			json = true;
			break;
		case 'n':
			if (parse_u64(optarg, 1, STATE_HISTORY_MAX,
			    &last) == -1)
				usage_error(status_usage, "invalid --last '%s' "
				    "(1-%d)", optarg, STATE_HISTORY_MAX);
			break;
		case 'r':
			root = optarg;
			break;
		default:
			if (optopt != 0 && optopt != '?')
				usage_error(status_usage, "option '-%c' %s",
				    optopt, strchr("acgnr", optopt) != NULL ?
				    "needs an argument" : "is unknown");
			usage_error(status_usage, "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error(status_usage, "unexpected argument '%s'",
		    argv[optind]);

	/* The config named, or the default one when it exists. */
	if (cfgpath == NULL && stat(CONFIG_DEFAULT_PATH, &sb) == 0 &&
	    root == NULL)
		cfgpath = CONFIG_DEFAULT_PATH;
	if (cfgpath != NULL) {
		if (config_load(&cfg, cfgpath, NULL, &eb) == -1) {
			fprintf(stderr, "hookd: %s\n", eb.msg);
			rc = errbuf_exitcode(&eb);
			goto out;
		}
		have_cfg = true;
	}
	if (root == NULL)
		root = have_cfg ? cfg.root : CONFIG_DEFAULT_ROOT;
	if (have_cfg && cfg.ngroups > 0 && app == NULL && group == NULL) {
		rc = status_all(&cfg, root, json, (size_t)last);
		goto out;
	}
	if (app == NULL && have_cfg && cfg.application != NULL)
		app = xstrdup(cfg.application);
	if (app == NULL && (app = only_child(root, "application",
	    NULL, &eb)) == NULL)
		goto fail;
	if (!name_ok(app))
		usage_error(status_usage, "invalid application '%s'", app);
	if (group == NULL && have_cfg && config_resolve_group(&cfg, NULL,
	    NULL, NULL, &group, &src, &eb) == -1)
		group = NULL;
	if (group == NULL) {
		dir = xasprintf("%s/%s", root, app);
		if ((group = only_child(dir, "group", "/state.json",
		    &eb)) == NULL)
			goto fail;
	}
	if (!name_ok(group))
		usage_error(status_usage, "invalid group '%s'", group);
	path = xasprintf("%s/%s/%s/state.json", root, app, group);
	if (state_load(path, &st, &eb) == -1)
		goto fail;
	if (json) {
		o = to_json(&st, root, app, group, (size_t)last);
		if (json_dumpf(o, stdout, JSON_INDENT(2) |
		    JSON_PRESERVE_ORDER) == -1)
			rc = EX_IOERR;
		printf("\n");
		json_decref(o);
	} else
		print_text(&st, root, app, group, (size_t)last);
	goto out;
 fail:
	fprintf(stderr, "hookd: %s\n", eb.msg);
	rc = errbuf_exitcode(&eb);
 out:
	if (fflush(stdout) == EOF && rc == 0)
		rc = EX_IOERR;
	state_release(&st);
	config_release(&cfg);
	free(path);
	free(dir);
	free(group);
	free(app);
	return rc;
}
