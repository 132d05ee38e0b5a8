/* SPDX-License-Identifier: ISC */
/*
 * cmd_deploy.c: "deployer GROUP REF", the command a team runs from its
 * application repository.  Resolves REF with git, refuses a dirty work
 * tree unless told, and unless a bundle record (bundle_cache.c) says the
 * store already has this commit's bundle, builds the bundle with git
 * archive, validates its appspec with the same library call as `hookd
 * validate` (bundle_validate: the archive is scanned, nothing is
 * extracted), uploads it (content-addressed: once per content) and
 * records it; then creates the deployment and rolls it out (create.c,
 * watch.c).
 */
#include "compat.h"

#include <sys/stat.h>

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "appspec.h"
#include "bundle.h"
#include "deployer.h"
#include "digest.h"
#include "errbuf.h"
#include "fsutil.h"
#include "git.h"
#include "log.h"
#include "store.h"
#include "validate.h"
#include "version.h"
#include "xalloc.h"

#include "banned.h"

static const char deploy_usage[] =
    "usage: deployer [-v] [options] GROUP REF | --bundle FILE|DIR GROUP";

static void
deploy_help(void)
{
	printf("%s\n"
	    "       deployer status [--json] [--watch] [GROUP | ID]\n"
	    "       deployer history [--json] [GROUP]\n"
	    "       deployer instances [--all] [--json] [GROUP]\n"
	    "       deployer rollback [--no-wait] GROUP [ID]\n"
	    "       deployer stop [--rollback] GROUP | ID\n"
	    "       deployer resume ID\n"
	    "       deployer setup GROUP\n\n"
	    "Deploy the commit REF names to the deployment group GROUP of\n"
	    "deployer.yml (found in the current directory or a parent):\n"
	    "bundle it with git archive, check its appspec.yml, upload it to\n"
	    "the store, and roll it out in the group's batches, waiting for\n"
	    "each batch.  A failed deployment is rolled back to the previous\n"
	    "successful revision when the group has rollback_on_failure.\n\n"
	    "options:\n"
	    "      --allow-dirty  deploy REF although the work tree has\n"
	    "                     changes that are not committed\n"
	    "      --allow-empty  record the target of a group with no live\n"
	    "                     instance (an Auto Scaling group at zero)\n"
	    "      --bundle FILE|DIR  deploy a build's artifact (.tar,\n"
	    "                     .tar.gz, .zip or a directory), not REF\n"
	    "      --description TEXT  recorded with the deployment\n"
	    "      --fetch        run 'git fetch' before resolving REF\n"
	    "      --ignore-application-stop-failures  go on when the live\n"
	    "                     revision's ApplicationStop fails\n"
	    "      --json         print the id and outcome as JSON\n"
	    "      --no-wait      hand the rollout to a detached driver\n"
	    "      --no-traffic-control\n"
	    "                     hosts do not leave their load balancers\n"
	    "                     while they deploy (no Block/AllowTraffic)\n"
	    "  -v, --verbose      more output\n"
	    "  -h, --help         show this help\n"
	    "      --version      show the version\n\n"
	    "run 'deployer COMMAND --help' for a command's options.\n"
	    "exit status: 0 succeeded, 1 the deployment failed or was\n"
	    "stopped, 130 interrupted (left for 'deployer resume'), 64-78\n"
	    "other errors (sysexits); see deployer(1)\n", deploy_usage);
}

/*
 * Check the bundle as `hookd validate` does (bundle_validate); print
 * every error of an invalid appspec and every warning (before anything
 * is uploaded), leave the rest in eb.  'strict': a warning refuses it.
 */
static int
validate_bundle(const char *tgz, const char *label, bool strict,
    struct errbuf *eb)
{
	struct appspec	 as;
	char		*prefix;
	int		 ret = 0;

	appspec_init(&as);
	prefix = xasprintf("bundle of %s: ", label);
	if (bundle_validate(&as, tgz, label, ":", prefix, eb) == -1) {
		ret = -1;
		if (eb->kind == EK_DATA && as.nerrors > 0) {
			for (size_t i = 0; i < as.nerrors; i++)
				fprintf(stderr, "%s\n", as.errors[i]);
			errbuf_set(eb, EK_DATA, "the appspec of %s is not "
			    "valid (%zu error%s); nothing was uploaded", label,
			    as.nerrors, as.nerrors == 1 ? "" : "s");
		}
	}
	for (size_t i = 0; i < as.nwarnings; i++)
		fprintf(stderr, "warning: %s\n", as.warnings[i]);
	if (ret == 0 && strict && as.nwarnings > 0) {
		ret = -1;
		errbuf_set(eb, EK_DATA, "the appspec of %s has %zu warning%s "
		    "and deployer.yml sets strict: true; nothing was uploaded",
		    label, as.nwarnings, as.nwarnings == 1 ? "" : "s");
	}
	appspec_release(&as);
	free(prefix);
	return ret;
}

/* A new scratch directory under TMPDIR; NULL with eb. */
static char *
make_scratch(struct errbuf *eb)
{
	const char	*tmp;
	char		*scratch;

	tmp = secure_getenv("TMPDIR");
	scratch = xasprintf("%s/deployer.XXXXXX", tmp != NULL &&
	    *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL) {
		errbuf_errno(eb, EK_IO, "cannot create '%s'", scratch);
		free(scratch);
		return NULL;
	}
	return scratch;
}

/* Upload the bundle tgz unless the store has that content. */
static int
upload(struct dctx *c, const char *tgz, const char *sha256,
    const char *label, struct errbuf *eb)
{
	struct store_stat	 st;
	char			*key;
	int			 r;

	if ((key = store_key_revision(c->cfg.application, sha256, eb)) ==
	    NULL)
		return -1;
	if ((r = store_exists(c->store, key, &st, eb)) == 1)
		printf("revision %.12s is already in the store as '%s'; "
		    "nothing uploaded\n", sha256, key);
	else if (r == 0 && (r = store_put_file(c->store, key, tgz,
	    eb)) == 0)
		printf("uploaded %s to '%s'\n", label, key);
	free(key);
	return r == -1 ? -1 : 0;
}

/* 'deployer [options] GROUP REF'; returns the exit status. */
int
cmd_deploy(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "allow-dirty", no_argument,	NULL, 'D' },
		{ "allow-empty", no_argument,	NULL, 'E' },
		{ "bundle",	required_argument, NULL, 'B' },
		{ "description", required_argument, NULL, 'd' },
		{ "fetch",	no_argument,	NULL, 'F' },
		{ "help",	no_argument,	NULL, 'h' },
		{ "ignore-application-stop-failures", no_argument, NULL, 'I' },
		{ "json",	no_argument,	NULL, 'j' },
		{ "no-wait",	no_argument,	NULL, 'N' },
		{ "no-traffic-control", no_argument, NULL, 'T' },
		{ "verbose",	no_argument,	NULL, 'v' },
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 }
	};
	const struct deployer_group	*g;
	struct dctx			 c = { 0 };
	struct deploy_opts		 o;
	struct errbuf			 eb = { 0 };
	struct revision			 rev = { 0 };
	struct brec			 br;
	struct git_proc			 gp;
	struct stat			 sb;
	const char			*bundle = NULL, *packed;
	char				*dirty = NULL, *prefix = NULL;
	char				*scratch = NULL, *tgz = NULL;
	char				*label = NULL, head[41];
	bool				 allow_dirty = false, fetch = false;
	bool				 archiving = false;
	int				 ch, r, ret, hit = 0, jsonfd = -1;

	memset(&o, 0, sizeof(o));
	brec_init(&br);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'B':
			bundle = optarg;
			break;
		case 'D':
			allow_dirty = true;
			break;
		case 'd':
			o.description = optarg;
			break;
		case 'E':
			o.allow_empty = true;
			break;
		case 'I':
			o.ignore_stop_failures = true;
			break;
		case 'j':
			o.json = true;
			break;
		case 'F':
			fetch = true;
			break;
		case 'h':
			deploy_help();
			return 0;
		case 'N':
			o.nowait = true;
			break;
		case 'T':
			rev.no_traffic_control = true;
			break;
		case 'v':
			arg_verbose++;
			break;
		case 'V':
			printf("deployer %s\n", HOOKD_VERSION);
			return 0;
		default:
			bad_option(deploy_usage, argc, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage_error(deploy_usage, "no GROUP and REF given");
	if (bundle != NULL && argc > 1)
		usage_error(deploy_usage, "--bundle deploys '%s', not REF "
		    "'%s'", bundle, argv[1]);
	if (bundle == NULL && argc == 1)
		usage_error(deploy_usage, "no REF given after GROUP '%s'",
		    argv[0]);
	if (argc > 2)
		usage_error(deploy_usage, "unexpected argument '%s'", argv[2]);
	log_setverbose(arg_verbose > 1);
	if (o.description != NULL && (strlen(o.description) >
	    DEPLOYER_DESCRIPTION_MAX || strpbrk(o.description, "\n\r") !=
	    NULL))
		usage_error(deploy_usage, "--description: one line of at most "
		    "%d bytes", DEPLOYER_DESCRIPTION_MAX);
	if (o.json) {
		/* The JSON alone on stdout; what is said goes to stderr. */
		fflush(stdout);
		if ((jsonfd = dup(STDOUT_FILENO)) == -1 ||
		    dup2(STDERR_FILENO, STDOUT_FILENO) == -1) {
			perror("deployer: dup");
			return EX_OSERR;
		}
	}

	if (dctx_open(&c, &eb) == -1)
		goto fail;
	if ((g = dctx_group(&c, argv[0], &eb)) == NULL) {
		dctx_release(&c);
		usage_error(deploy_usage, "%s", eb.msg);
	}

	if (bundle != NULL) {
		/* A build's artifact: no git, no bundle record. */
		if (dctx_open_store(&c, true, &eb) == -1 ||
		    (scratch = make_scratch(&eb)) == NULL)
			goto fail;
		tgz = xasprintf("%s/bundle.tar.gz", scratch);
		if (bundle_pack(bundle, tgz, &packed, &eb) == -1)
			goto fail;
		rev.source = xstrdup(bundle);
		label = xasprintf("'%s'", bundle);
		if (validate_bundle(packed, label, c.cfg.strict, &eb) == -1 ||
		    digest_sha256_file(packed, rev.sha256, &eb) == -1)
			goto fail;
		if (stat(packed, &sb) == -1) {
			errbuf_errno(&eb, EK_IO, "cannot stat '%s'", packed);
			goto fail;
		}
		if (upload(&c, packed, rev.sha256, label, &eb) == -1)
			goto fail;
		goto deploy;
	}

	/* 1. the commit */
	if (fetch && git_fetch(c.dir, &eb) == -1)
		goto fail;
	if (git_resolve(c.dir, argv[1], rev.commit, &eb) == -1)
		goto fail;
	rev.ref = xstrdup(argv[1]);

	/* 2. a bundle of this commit already in the store? */
	if (git_prefix(c.dir, &prefix, &eb) == -1)
		goto fail;
	if (dctx_open_store(&c, true, &eb) == -1)
		goto fail;
	if (brec_prepare(&br, &c, rev.commit, prefix, &eb) == -1 ||
	    (hit = brec_lookup(&br, &c, &eb)) == -1)
		goto fail;

	/*
	 * 3. unless it is, git archives the commit while git status looks
	 * for what is not committed (each keeps one core busy)
	 */
	if (hit == 0) {
		if ((scratch = make_scratch(&eb)) == NULL)
			goto fail;
		tgz = xasprintf("%s/bundle.tar.gz", scratch);
		if (git_archive_start(c.dir, rev.commit, prefix, tgz, &gp,
		    &eb) == -1)
			goto fail;
		archiving = true;
	}
	if (git_dirty(c.dir, &dirty, &eb) == -1)
		goto fail;
	/*
	 * Changes in the work tree matter only when REF is what is checked
	 * out: deploying another commit (a tag, a branch) they cannot be
	 * meant to go with, so they are only named.
	 */
	if (dirty != NULL && !allow_dirty && git_resolve(c.dir, "HEAD",
	    head, &eb) == 0 && strcmp(head, rev.commit) != 0)
		allow_dirty = true;
	if (dirty != NULL && !allow_dirty) {
		errbuf_set(&eb, EK_DATA, "the work tree of '%s' has changes "
		    "that are not committed (%s); commit them, or deploy %s "
		    "as committed with --allow-dirty", c.dir, dirty,
		    argv[1]);
		goto fail;
	}
	if (dirty != NULL)
		fprintf(stderr, "deployer: deploying %s as committed; not "
		    "deployed: %s\n", argv[1], dirty);
	if (hit != 0) {
		memcpy(rev.sha256, br.sha256, sizeof(rev.sha256));
		printf("revision %.12s of %s (%.12s) is already in the store "
		    "(recorded in %s); bundle not rebuilt, nothing uploaded\n",
		    rev.sha256, argv[1], rev.commit, br.from);
		goto deploy;
	}

	/* 4. the bundle, checked before anything leaves this host */
	archiving = false;
	if (git_archive_finish(&gp, &eb) == -1)
		goto fail;
	label = xasprintf("%s (%.12s)", argv[1], rev.commit);
	if (validate_bundle(tgz, label, c.cfg.strict, &eb) == -1)
		goto fail;
	if (digest_sha256_file(tgz, rev.sha256, &eb) == -1)
		goto fail;
	if (stat(tgz, &sb) == -1) {
		errbuf_errno(&eb, EK_IO, "cannot stat '%s'", tgz);
		goto fail;
	}

	/* 5. upload unless the same content is there */
	if (upload(&c, tgz, rev.sha256, label, &eb) == -1)
		goto fail;
	memcpy(br.sha256, rev.sha256, sizeof(br.sha256));
	br.size = (uint64_t)sb.st_size;
	brec_save(&br, &c, true);
 deploy:
	rev.location = dctx_revision_location(&c, rev.sha256);
	fflush(stdout);

	/* 6.-9. create, roll out, roll back */
	r = deploy_and_watch(&c, g, &rev, NULL, &o, &eb);
	if (r == -1)
		goto fail;
	if (r == DRIVE_LEAVE) {
		ret = DEPLOYER_EXIT_LEFT;
		goto out;
	}
	if (r == 1) {
		fflush(stdout);
		fprintf(stderr, "deployer: %s\n", eb.msg);
		ret = 1;
	} else
		ret = 0;
	goto out;
 fail:
	fflush(stdout);
	fprintf(stderr, "deployer: %s\n", eb.msg);
	ret = errbuf_exitcode(&eb);
 out:
	if (jsonfd != -1) {
		char	*text;

		fflush(stdout);
		text = deploy_json(&o, ret, &eb);
		(void)write_full(jsonfd, text, strlen(text));
		(void)write_full(jsonfd, "\n", 1);
		free(text);
		(void)close(jsonfd);
	}
	if (archiving)
		git_abort(&gp);
	if (scratch != NULL && fs_rmtree(scratch, &eb) == -1)
		log_debug("%s", eb.msg);
	revision_release(&rev);
	brec_release(&br);
	dctx_release(&c);
	free(dirty);
	free(prefix);
	free(scratch);
	free(tgz);
	free(label);
	return ret;
}
