/* SPDX-License-Identifier: ISC */
/*
 * cmd_stop.c: "deployer stop [--rollback] GROUP | ID", CodeDeploy's
 * stop-deployment, from any machine with store access.  The request is
 * a document the deployment's driver reads (drive.c): no batch is sent
 * after it, the instances deploying now finish, and the deployment ends
 * Stopped (rolled back with --rollback).  When a driver holds the lease
 * we wait for it to end the deployment; when none does (its deployer
 * died) this process takes the lease and ends it itself.
 */
#include "compat.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "deployer.h"
#include "errbuf.h"
#include "message.h"

#include "banned.h"

static const char stop_usage[] =
    "usage: deployer stop [--rollback] GROUP | ID";

static void
stop_help(void)
{
	printf("%s\n\n"
	    "Stop the deployment ID, or GROUP's deployment in progress: no\n"
	    "further batch is sent, the instances deploying now finish, and\n"
	    "the deployment ends Stopped.  With --rollback, the instances\n"
	    "that got it are then rolled back to the previous successful\n"
	    "revision.  Waits for the deployment's driver to end it, or\n"
	    "ends it itself when nobody drives it.\n\n"
	    "options:\n"
	    "      --rollback  roll the stopped deployment back\n"
	    "  -h, --help      show this help\n"
	    "      --version   show the version\n", stop_usage);
}

/* The group's deployment in progress (target.json's), or EK_NOINPUT. */
static int
group_current(struct dctx *c, const struct deployer_group *g,
    struct deployment *ret, struct errbuf *eb)
{
	json_t		*t = NULL;
	const char	*id;
	int		 r;

	if ((r = target_read(c, g->name, &t, NULL, eb)) == -1)
		return -1;
	id = r == 1 ? json_string_value(json_object_get(t,
	    "deployment_id")) : NULL;
	if (id == NULL || deployment_load(c, g->name, id, ret, eb) == -1 ||
	    strcmp(ret->status, "InProgress") != 0) {
		if (id != NULL && ret->status != NULL)
			deployment_release(ret);
		if (t != NULL)
			json_decref(t);
		return errbuf_set(eb, EK_NOINPUT, "group '%s' has no "
		    "deployment in progress", g->name);
	}
	json_decref(t);
	return 0;
}

int
cmd_stop(int argc, char **argv)
{
	static const struct cmd_args a = {
		stop_usage, stop_help, "rollback", "GROUP or ID", 1
	};
	const struct deployer_group	*g = NULL;
	struct deployment		 d = { 0 };
	struct dctx			 c = { 0 };
	struct deploy_opts		 o;
	struct errbuf			 eb = { 0 };
	char				 what[512];
	bool				 rollback = false;
	int				 ch, r, ret = 0;

	memset(&o, 0, sizeof(o));
	if ((ch = cmd_args_parse(&a, argc, argv, &rollback)) == -1)
		return 0;
	argv += ch;
	if (dctx_open(&c, &eb) == -1)
		goto fail;
	if (deployment_id_check("ID", argv[0], &eb) == -1 &&
	    (g = dctx_group_or_id(&c, argv[0], &eb)) == NULL) {
		dctx_release(&c);
		usage_error(stop_usage, "%s", eb.msg);
	}
	if (dctx_open_store(&c, false, &eb) == -1)
		goto fail;
	if (g != NULL)
		r = group_current(&c, g, &d, &eb);
	else
		r = deployment_find(&c, argv[0], &d, &g, &eb);
	if (r == -1)
		goto fail;
	if (strcmp(d.status, "InProgress") != 0) {
		errbuf_set(&eb, EK_DATA, "deployment %s already ended: %s",
		    d.id, d.status);
		goto fail;
	}
	if (stop_request(&c, &d, rollback, &eb) == -1)
		goto fail;
	printf("stop of deployment %s requested\n", d.id);
	fflush(stdout);
	if (driver_describe(&c, &d, what, sizeof(what)) == 1) {
		/* Its driver ends it: wait and show how. */
		printf("deployment %s is %s; waiting for it to stop\n", d.id,
		    what);
		fflush(stdout);
		r = watch_only(&c, &d, &eb);
	} else {
		printf("deployment %s has no driver: stopping it here\n",
		    d.id);
		fflush(stdout);
		r = drive(&c, g, &d, &o, &eb);
	}
	if (r == -1)
		goto fail;
	if (r == 1 && strcmp(d.status, "Stopped") != 0) {
		/* It ended otherwise before the stop was seen. */
		fprintf(stderr, "deployer: stop: %s\n", eb.msg);
		ret = 1;
	}
	goto out;
 fail:
	fflush(stdout);
	fprintf(stderr, "deployer: stop: %s\n", eb.msg);
	ret = errbuf_exitcode(&eb);
 out:
	deployment_release(&d);
	dctx_release(&c);
	return ret;
}
