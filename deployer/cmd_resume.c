/* SPDX-License-Identifier: ISC */
/*
 * cmd_resume.c: "deployer resume ID": drive a deployment whose driver
 * died (Ctrl-C, kill -9, a closed laptop) from its record: batches
 * already sent are waited for, never sent again; the rest follow.
 * Refused while a live driver holds the deployment's lease (drive.c).
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deployer.h"
#include "errbuf.h"
#include "message.h"

#include "banned.h"

static const char resume_usage[] =
    "usage: deployer resume [--no-wait] ID";

static void
resume_help(void)
{
	printf("%s\n\n"
	    "Continue the deployment ID whose deployer stopped before it\n"
	    "ended: wait for the batches already sent (never sending them\n"
	    "again), send the others, and roll back on failure as the group\n"
	    "says.  Refused while another deployer drives it.\n\n"
	    "options:\n"
	    "      --no-wait  hand the rollout to a detached driver\n"
	    "  -h, --help     show this help\n"
	    "      --version  show the version\n", resume_usage);
}

int
cmd_resume(int argc, char **argv)
{
	static const struct cmd_args a = {
		resume_usage, resume_help, "no-wait", "ID", 1
	};
	const struct deployer_group	*g = NULL;
	struct deployment		 d = { 0 };
	struct dctx			 c = { 0 };
	struct deploy_opts		 o;
	struct errbuf			 eb = { 0 };
	int				 ch, r, ret = 0;

	memset(&o, 0, sizeof(o));
	if ((ch = cmd_args_parse(&a, argc, argv, &o.nowait)) == -1)
		return 0;
	argv += ch;
	if (deployment_id_check("ID", argv[0], &eb) == -1)
		usage_error(resume_usage, "%s", eb.msg);
	if (dctx_open(&c, &eb) == -1 || dctx_open_store(&c, false, &eb) == -1)
		goto fail;
	if (deployment_find(&c, argv[0], &d, &g, &eb) == -1)
		goto fail;
	if (strcmp(d.status, "InProgress") != 0) {
		errbuf_set(&eb, EK_DATA, "deployment %s already ended: %s; "
		    "nothing to resume", d.id, d.status);
		goto fail;
	}
	printf("resuming deployment %s (sequence %llu) of %s to %s\n", d.id,
	    (unsigned long long)d.sequence, d.application, d.group);
	fflush(stdout);
	r = drive(&c, g, &d, &o, &eb);
	if (r == -1)
		goto fail;
	if (r == DRIVE_LEAVE)
		ret = DEPLOYER_EXIT_LEFT;
	else if (r == 1) {
		fflush(stdout);
		fprintf(stderr, "deployer: %s\n", eb.msg);
		ret = 1;
	}
	goto out;
 fail:
	fflush(stdout);
	fprintf(stderr, "deployer: resume: %s\n", eb.msg);
	ret = errbuf_exitcode(&eb);
 out:
	deployment_release(&d);
	dctx_release(&c);
	return ret;
}
