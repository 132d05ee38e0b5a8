/* SPDX-License-Identifier: ISC */
/*
 * cmd_rollback.c: "deployer rollback [--no-wait] GROUP": deploy the
 * previous successful revision of the group (the newest Succeeded
 * deployment below the current target with other content) to all its
 * instances, as a new deployment marked as a rollback of the
 * current target, in the group's batches.  When the target was pointed
 * back at the last successful revision (the deployment after it failed or
 * was stopped without a rollback), the ended deployment is rolled back to
 * the target's revision.
 */
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "deployer.h"
#include "errbuf.h"
#include "xalloc.h"

#include "banned.h"

static const char rollback_usage[] =
    "usage: deployer rollback [--no-wait] GROUP [ID]";

static void
rollback_help(void)
{
	printf("%s\n\n"
	    "Deploy the previous successful revision of GROUP (or the\n"
	    "revision of deployment ID, which must have succeeded) to all\n"
	    "its instances, as a new deployment marked as a rollback of\n"
	    "the group's current one.\n\n"
	    "options:\n"
	    "      --no-wait  hand the rollout to a detached driver\n"
	    "  -h, --help     show this help\n"
	    "      --version  show the version\n", rollback_usage);
}

/*
 * The deployment at the target's sequence, when target.json was pointed
 * back at the last successful revision after it (a deployment that failed
 * or was stopped and was not rolled back: its message, with the ended
 * deployment's sequence, see create.c).  Its id into 'ended', 1; 0 when
 * the target is its own deployment; -1 with eb.
 */
static int
target_pointed_back(struct dctx *c, const char *group, const json_t *target,
    char ended[DEPLOYMENT_ID_LEN + 1], struct errbuf *eb)
{
	struct deployment	*v = NULL;
	const char		*id;
	uint64_t		 seq;
	size_t			 n = 0;
	int			 r = 0;

	id = json_string_value(json_object_get(target, "deployment_id"));
	seq = (uint64_t)json_integer_value(json_object_get(target,
	    "sequence"));
	if (id == NULL)
		return 0;
	if (deployment_list(c, group, &v, &n, eb) == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (v[i].sequence == seq && strcmp(v[i].id, id) != 0) {
			memcpy(ended, v[i].id, DEPLOYMENT_ID_LEN + 1);
			r = 1;
			break;
		}
	deployments_free(v, n);
	return r;
}

/* 'deployer rollback'; returns the exit status. */
int
cmd_rollback(int argc, char **argv)
{
	static const struct cmd_args a = {
		rollback_usage, rollback_help, "no-wait", "GROUP", 2
	};
	const struct deployer_group	*g;
	struct revision			 prev = { 0 };
	struct dctx			 c = { 0 };
	struct deploy_opts		 o;
	struct deployment		 want = { 0 };
	struct errbuf			 eb = { 0 };
	json_t				*target = NULL;
	char				 previd[DEPLOYMENT_ID_LEN + 1];
	char				 ended[DEPLOYMENT_ID_LEN + 1];
	const char			*id, *sha, *want_id = NULL;
	char				*cur = NULL, *back = NULL;
	int				 ch, r, ret = 0;

	memset(&o, 0, sizeof(o));
	if ((ch = cmd_args_parse(&a, argc, argv, &o.nowait)) == -1)
		return 0;
	argc -= ch;
	argv += ch;
	if (argc == 2 && deployment_id_check("ID", argv[1], &eb) == -1)
		usage_error(rollback_usage, "%s", eb.msg);
	if (dctx_open(&c, &eb) == -1)
		goto fail;
	if ((g = dctx_group(&c, argv[0], &eb)) == NULL) {
		dctx_release(&c);
		usage_error(rollback_usage, "%s", eb.msg);
	}
	if (dctx_open_store(&c, false, &eb) == -1)
		goto fail;
	/* blue/green: swap back to the kept group while it exists. */
	if (g->strategy == STRATEGY_BLUE_GREEN &&
	    (r = bluegreen_rollback(&c, g, &o, &eb)) != 1) {
		if (r == -1)
			goto fail;
		goto out;
	}
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
	/*
	 * After a deployment that failed or was stopped without a rollback,
	 * the target names the last successful revision while instances
	 * may still run the ended one: roll that one back to the target.
	 */
	if (cur != NULL && (r = target_pointed_back(&c, g->name, target,
	    ended, &eb)) != 0) {
		if (r == -1)
			goto fail;
		back = cur;	/* the target's deployment: go back to it */
		cur = xstrdup(ended);
		want_id = back;
	}
	if (argc == 2)
		want_id = argv[1];
	if (want_id != NULL) {
		if (deployment_load(&c, g->name, want_id, &want, &eb) == -1)
			goto fail;
		if (strcmp(want.status, "Succeeded") != 0 ||
		    want.location == NULL) {
			errbuf_set(&eb, EK_DATA, "deployment %s is %s: only a "
			    "deployment that succeeded can be rolled back to",
			    want.id, want.status);
			goto fail;
		}
		memcpy(prev.sha256, want.sha256, sizeof(prev.sha256));
		memcpy(prev.commit, want.commit, sizeof(prev.commit));
		prev.ref = want.ref != NULL ? xstrdup(want.ref) : NULL;
		prev.location = xstrdup(want.location);
		memcpy(previd, want.id, sizeof(previd));
	} else if (previous_success(&c, g->name, (uint64_t)json_integer_value(
	    json_object_get(target, "sequence")), sha, &prev, previd,
	    &eb) == -1)
		goto fail;
	printf("rolling back group '%s' from %s to %s (deployment %s)\n",
	    g->name, cur != NULL ? cur : "-", prev.commit[0] != '\0' ?
	    prev.commit : prev.sha256, previd);
	if (g->strategy == STRATEGY_BLUE_GREEN)
		r = bluegreen_deploy(&c, g, &prev, cur, &o, &eb);
	else
		r = deploy_and_watch(&c, g, &prev, cur, &o, &eb);
	if (r == -1)
		goto fail;
	if (r == DRIVE_LEAVE) {
		ret = DEPLOYER_EXIT_LEFT;
		goto out;
	}
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
	deployment_release(&want);
	free(back);
	free(cur);
	dctx_release(&c);
	return ret;
}
