/* SPDX-License-Identifier: ISC */
/*
 * test_config.c: hookd.yml and deployer.yml, from the files in
 * tests/fixtures/config/{hookd,deployer}/{good,bad} (each bad/X.yml has
 * X.err holding the exact first error line), plus defaults, the HMAC key
 * file rule, group resolution order, finding deployer.yml, and batch
 * sizes.
 */
#include "compat.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "caps.h"
#include "config.h"
#include "errbuf.h"
#include "fsutil.h"
#include "queue.h"
#include "slurp.h"
#include "xalloc.h"

#define CDIR	FIXTURES "/config"

static size_t
list_yml(const char *dir, char ***ret)
{
	struct dirent	*de;
	DIR		*d;
	char		**names = NULL;
	size_t		 n = 0, l;

	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (l <= 4 || strcmp(de->d_name + l - 4, ".yml") != 0)
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	*ret = names;
	return n;
}

/* Load one fixture as 'kind' ("hookd" or "deployer"); 0 or -1. */
static int
load(const char *kind, const char *path, const char *name,
    struct errbuf *eb, size_t *ret_nerrors)
{
	int	 r;

	if (strcmp(kind, "hookd") == 0) {
		struct config	 cfg;

		config_init(&cfg);
		r = config_load(&cfg, path, name, eb);
		*ret_nerrors = cfg.nerrors;
		config_release(&cfg);
	} else {
		struct deployer_config	 dc;

		deployer_config_init(&dc);
		r = deployer_config_load(&dc, path, name, eb);
		*ret_nerrors = dc.nerrors;
		deployer_config_release(&dc);
	}
	return r;
}

static void
run_fixtures(const char *kind, size_t min_good, size_t min_bad)
{
	char		**names, *dir, *path, *want, *nl;
	size_t		 n, nerr;
	struct errbuf	 eb = { 0 };
	int		 failed = 0;

	dir = xasprintf("%s/%s/good", CDIR, kind);
	n = list_yml(dir, &names);
	assert_true(n >= min_good);
	for (size_t i = 0; i < n; i++) {
		path = xasprintf("%s/%s", dir, names[i]);
		if (load(kind, path, names[i], &eb, &nerr) != 0) {
			print_error("%s/good/%s: %s\n", kind, names[i], eb.msg);
			failed++;
		}
		free(path);
		free(names[i]);
	}
	free(names);
	free(dir);

	dir = xasprintf("%s/%s/bad", CDIR, kind);
	n = list_yml(dir, &names);
	assert_true(n >= min_bad);
	for (size_t i = 0; i < n; i++) {
		path = xasprintf("%s/%.*s.err", dir,
		    (int)(strlen(names[i]) - 4), names[i]);
		want = slurp_if_exists(path, NULL);
		free(path);
		if (want != NULL && (nl = strchr(want, '\n')) != NULL)
			*nl = '\0';
		path = xasprintf("%s/%s", dir, names[i]);
		errbuf_clear(&eb);
		if (load(kind, path, names[i], &eb, &nerr) == 0) {
			print_error("%s/bad/%s: accepted\n", kind, names[i]);
			failed++;
		} else if (want == NULL || strcmp(eb.msg, want) != 0 ||
		    eb.kind != EK_CONFIG || nerr == 0) {
			print_error("%s/bad/%s:\n  want: %s\n  got:  %s\n",
			    kind, names[i], want == NULL ? "(no .err)" : want,
			    eb.msg);
			failed++;
		}
		free(want);
		free(path);
		free(names[i]);
	}
	free(names);
	free(dir);
	assert_int_equal(failed, 0);
}

static void
config_hookd_fixtures(void **state)
{
	run_fixtures("hookd", 5, 40);
}

static void
config_deployer_fixtures(void **state)
{
	run_fixtures("deployer", 2, 12);
}

static void
config_full_file_sets_every_key(void **state)
{
	struct config	 cfg;
	struct errbuf	 eb = { 0 };

	config_init(&cfg);
	assert_int_equal(config_load(&cfg, CDIR "/hookd/good/full.yml", NULL,
	    &eb), 0);
	assert_string_equal(cfg.path, CDIR "/hookd/good/full.yml");
	assert_string_equal(cfg.application, "web");
	assert_string_equal(cfg.deployment_group, "production");
	assert_string_equal(cfg.store, "s3://my-bucket/deploys");
	assert_string_equal(cfg.queue, "sqs");
	assert_string_equal(cfg.queue_prefix, "hookd");
	assert_string_equal(cfg.region, "us-east-1");
	assert_string_equal(cfg.root, "/var/lib/hookd");
	assert_int_equal(cfg.keep_releases, 5);
	assert_string_equal(cfg.instance_id, "i-0abc123def4567890");
	assert_string_equal(cfg.lifecycle_hook, "hookd-launch");
	assert_int_equal(cfg.log_level, LOG_NOTICE);
	assert_true(cfg.delete_queue_on_shutdown);
	assert_int_equal(cfg.max_bundle_bytes, 512 * 1024 * 1024);
	assert_int_equal(cfg.max_bundle_entries, 50000);
	assert_int_equal(cfg.visibility_timeout, 600);
	assert_int_equal(cfg.poll_wait, 10);
	assert_int_equal(cfg.shutdown_grace, 45);
	assert_int_equal(cfg.start_timeout, 120);
	assert_int_equal(cfg.hook_max_procs, 512);
	assert_string_equal(cfg.hook_cgroup, "/sys/fs/cgroup/hookd.slice");
	assert_true(cfg.strict);
	assert_null(cfg.message_key);
	config_release(&cfg);
}

/* hookd.yml(5) groups: several applications and groups on one host. */
static void
config_groups_list(void **state)
{
	struct config	 cfg;
	struct errbuf	 eb = { 0 };
	char		*qn;

	config_init(&cfg);
	assert_int_equal(config_load(&cfg, CDIR "/hookd/good/groups.yml",
	    NULL, &eb), 0);
	assert_null(cfg.application);
	assert_null(cfg.deployment_group);
	assert_int_equal(cfg.ngroups, 3);
	assert_string_equal(cfg.groups[0].application, "web");
	assert_string_equal(cfg.groups[0].deployment_group, "production");
	assert_string_equal(cfg.groups[1].application, "api");
	assert_string_equal(cfg.groups[1].deployment_group, "production");
	assert_string_equal(cfg.groups[2].application, "web");
	assert_string_equal(cfg.groups[2].deployment_group, "canary");
	assert_int_equal(cfg.groups[1].line, 5);
	assert_true(cfg.parallel_groups);
	config_release(&cfg);
	assert_int_equal(cfg.ngroups, 0);
	assert_null(cfg.groups);

	/* Serialized unless asked; the single form has no list. */
	config_init(&cfg);
	assert_int_equal(config_load(&cfg, CDIR "/hookd/good/groups-one.yml",
	    NULL, &eb), 0);
	assert_int_equal(cfg.ngroups, 1);
	assert_false(cfg.parallel_groups);
	config_release(&cfg);
	config_init(&cfg);
	assert_int_equal(config_parse(&cfg, "application: web\n", 17, NULL,
	    &eb), 0);
	assert_int_equal(cfg.ngroups, 0);
	assert_false(cfg.parallel_groups);
	config_release(&cfg);

	/* Queue names: PREFIX-APP-GROUP-INSTANCE, or the single form's. */
	qn = queue_name_app("hookd", "web", "production", "i-1", &eb);
	assert_string_equal(qn, "hookd-web-production-i-1");
	free(qn);
	qn = queue_name_app("hookd", NULL, "production", "i-1", &eb);
	assert_string_equal(qn, "hookd-production-i-1");
	free(qn);
	qn = queue_name("hookd", "production", "i-1", &eb);
	assert_string_equal(qn, "hookd-production-i-1");
	free(qn);
	assert_null(queue_name_app("hookd", "a/b", "production", "i-1", &eb));
	assert_int_equal(eb.kind, EK_CONFIG);
}

static void
config_defaults_follow_design(void **state)
{
	struct config	 cfg;
	struct errbuf	 eb = { 0 };

	config_init(&cfg);
	assert_int_equal(config_parse(&cfg, "application: web\n", 17, NULL,
	    &eb), 0);
	assert_string_equal(cfg.path, "hookd.yml");
	assert_null(cfg.deployment_group);
	assert_string_equal(cfg.root, "/var/lib/hookd");
	assert_string_equal(cfg.store, "file:///var/lib/hookd/store");
	assert_string_equal(cfg.queue, "file:///var/lib/hookd/queue");
	assert_string_equal(cfg.queue_prefix, "hookd");
	assert_int_equal(cfg.keep_releases, KEEP_RELEASES_DEFAULT);
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_false(cfg.delete_queue_on_shutdown);
	assert_int_equal(cfg.max_bundle_bytes, BUNDLE_BYTES_MAX);
	assert_int_equal(cfg.max_bundle_entries, BUNDLE_ENTRIES_MAX);
	assert_int_equal(cfg.visibility_timeout, 300);
	assert_int_equal(cfg.poll_wait, 20);
	assert_int_equal(cfg.shutdown_grace, CONFIG_GRACE_DEFAULT);
	assert_int_equal(cfg.start_timeout, CONFIG_START_DEFAULT);
	assert_int_equal(cfg.hook_max_procs, HOOK_PROCS_MAX);
	assert_null(cfg.hook_cgroup);
	assert_false(cfg.strict);
	config_release(&cfg);

	/* root moves the embedded store and queue with it. */
	config_init(&cfg);
	assert_int_equal(config_load(&cfg, CDIR "/hookd/good/spool.yml",
	    NULL, &eb), 0);
	assert_string_equal(cfg.root, "/srv/hookd");
	assert_string_equal(cfg.store, "file:///var/lib/hookd/store");
	config_release(&cfg);
	config_init(&cfg);
	assert_int_equal(config_parse(&cfg, "application: web\nroot: /srv/h\n",
	    29, NULL, &eb), 0);
	assert_string_equal(cfg.store, "file:///srv/h/store");
	assert_string_equal(cfg.queue, "file:///srv/h/queue");
	config_release(&cfg);
}

/* deployer.yml's strict, and every error of a bad one at once. */
static void
config_deployer_strict_and_every_error(void **state)
{
	static const char bad[] = "application: web\nstrct: true\n"
	    "store: file:///srv/s\nqueu: sqs\ngroups:\n  prod:\n"
	    "    timout: 5\n";
	struct deployer_config	 dc;
	struct errbuf		 eb = { 0 };

	deployer_config_init(&dc);
	assert_int_equal(deployer_config_load(&dc, CDIR
	    "/deployer/good/strict.yml", "deployer.yml", &eb), 0);
	assert_true(dc.strict);
	deployer_config_release(&dc);
	assert_int_equal(deployer_config_parse(&dc, bad, sizeof(bad) - 1,
	    NULL, &eb), -1);
	/* In file order (line, then column), eb the first. */
	assert_int_equal(dc.nerrors, 4);
	assert_string_equal(dc.errors[0], "deployer.yml:1:1: queue: missing "
	    "(required)");
	assert_string_equal(dc.errors[0], eb.msg);
	assert_string_equal(dc.errors[1], "deployer.yml:2:1: strct: unknown "
	    "key (did you mean 'strict'?)");
	assert_string_equal(dc.errors[2], "deployer.yml:4:1: queu: unknown "
	    "key (did you mean 'queue'?)");
	assert_string_equal(dc.errors[3], "deployer.yml:7:5: groups.prod."
	    "timout: unknown key (did you mean 'timeout'?)");
	deployer_config_release(&dc);
}

static void
config_reports_every_error(void **state)
{
	struct config	 cfg;
	struct errbuf	 eb = { 0 };

	config_init(&cfg);
	assert_int_equal(config_load(&cfg, CDIR "/hookd/bad/many-errors.yml",
	    "hookd.yml", &eb), -1);
	assert_int_equal(cfg.nerrors, 5);
	assert_string_equal(cfg.errors[0], eb.msg);
	assert_string_equal(cfg.errors[0], "hookd.yml:1:1: aplication: "
	    "unknown key (did you mean 'application'?)");
	/* In file order; a missing key is at 1:1. */
	assert_string_equal(cfg.errors[1],
	    "hookd.yml:1:1: application: missing (required)");
	assert_string_equal(cfg.errors[2],
	    "hookd.yml:2:16: keep_releases: 0 is not in 1..1000");
	assert_non_null(strstr(cfg.errors[3], "hookd.yml:3:12: log_level: "));
	assert_non_null(strstr(cfg.errors[4], "hookd.yml:4:12: poll_wait: "));
	config_release(&cfg);
	/* Release is safe twice and on a zeroed struct. */
	config_release(&cfg);
}

static void
config_load_io_errors(void **state)
{
	struct config	 cfg;
	struct errbuf	 eb = { 0 };
	char		 dir[] = "/tmp/hookd-test-cfg.XXXXXX", *path, *big;
	int		 fd;

	config_init(&cfg);
	assert_int_equal(config_load(&cfg, "/nonexistent/hookd.yml", NULL,
	    &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_int_equal(config_load(&cfg, "/tmp", NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);

	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/hookd.yml", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	big = xmalloc(CONFIG_MAX + 1);
	memset(big, '#', CONFIG_MAX + 1);
	assert_int_equal(write(fd, big, CONFIG_MAX + 1), CONFIG_MAX + 1);
	close(fd);
	assert_int_equal(config_load(&cfg, path, NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_non_null(strstr(eb.msg, "larger than 262144 bytes"));
	assert_int_equal(config_parse(&cfg, big, CONFIG_MAX + 1, NULL, &eb),
	    -1);
	free(big);
	config_release(&cfg);
	assert_int_equal(unlink(path), 0);
	free(path);
	assert_int_equal(rmdir(dir), 0);
}

static void
config_message_key_file_must_be_private(void **state)
{
	struct config	 cfg;
	struct deployer_config dcfg;
	struct errbuf	 eb = { 0 };
	char		 dir[] = "/tmp/hookd-test-cfg.XXXXXX";
	char		*key, *yml, *want;
	int		 fd;

	assert_non_null(mkdtemp(dir));
	key = xasprintf("%s/hmac.key", dir);
	fd = open(key, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "k3y\n", 4), 4);
	close(fd);

	/* Relative to the config file's directory. */
	yml = xasprintf("%s/hookd.yml", dir);
	fd = open(yml, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "application: web\n"
	    "message_key_file: hmac.key\n", 44), 44);
	close(fd);
	config_init(&cfg);
	assert_int_equal(config_load(&cfg, yml, "hookd.yml", &eb), 0);
	assert_string_equal(cfg.message_key_file, key);
	assert_int_equal(cfg.message_key_len, 3);
	assert_memory_equal(cfg.message_key, "k3y", 3);
	config_release(&cfg);

	assert_int_equal(chmod(key, 0644), 0);
	config_init(&cfg);
	assert_int_equal(config_load(&cfg, yml, "hookd.yml", &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	want = xasprintf("hookd.yml:2:19: message_key_file '%s': readable by "
	    "others (mode 0644); chmod 600", key);
	assert_string_equal(eb.msg, want);
	free(want);
	assert_null(cfg.message_key);
	config_release(&cfg);

	/* deployer.yml takes the same key file the same way. */
	assert_int_equal(chmod(key, 0600), 0);
	free(yml);
	yml = xasprintf("%s/deployer.yml", dir);
	fd = open(yml, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "application: web\nstore: s3://bkt/p\n"
	    "queue: sqs\nmessage_key_file: hmac.key\ngroups:\n  prod: ~\n",
	    90), 90);
	close(fd);
	deployer_config_init(&dcfg);
	assert_int_equal(deployer_config_load(&dcfg, yml, NULL, &eb), 0);
	assert_int_equal(dcfg.message_key_len, 3);
	deployer_config_release(&dcfg);

	free(yml);
	free(key);
	assert_int_equal(fs_rmtree(dir, &eb), 0);
}

static int
tag_calls;

static int
fake_tag(void *arg, const char *tag, char **ret_value, struct errbuf *eb)
{
	tag_calls++;
	assert_string_equal(tag, "hookd:deployment-group");
	*ret_value = arg == NULL ? NULL : xstrdup(arg);
	return 0;
}

static int
failing_tag(void *arg, const char *tag, char **ret_value, struct errbuf *eb)
{
	return errbuf_set(eb, EK_UNAVAIL, "IMDS did not answer");
}

static void
config_resolves_the_group_in_design_order(void **state)
{
	struct config	 cfg;
	struct errbuf	 eb = { 0 };
	const char	*src;
	char		*g, tagval[] = "from-tag";

	config_init(&cfg);
	assert_int_equal(config_parse(&cfg, "application: web\n"
	    "deployment_group: from-yml\n", 43, NULL, &eb), 0);
	(void)unsetenv("DEPLOYMENT_GROUP_NAME");
	tag_calls = 0;

	assert_int_equal(config_resolve_group(&cfg, "from-arg", fake_tag,
	    tagval, &g, &src, &eb), 0);
	assert_string_equal(g, "from-arg");
	assert_string_equal(src, "--group");
	free(g);
	assert_int_equal(config_resolve_group(&cfg, NULL, fake_tag,
	    tagval, &g, &src, &eb), 0);
	assert_string_equal(g, "from-yml");
	assert_string_equal(src, "hookd.yml deployment_group");
	free(g);
	free(cfg.deployment_group);
	cfg.deployment_group = NULL;
	assert_int_equal(setenv("DEPLOYMENT_GROUP_NAME", "from-env", 1), 0);
	assert_int_equal(config_resolve_group(&cfg, NULL, fake_tag,
	    tagval, &g, &src, &eb), 0);
	assert_string_equal(g, "from-env");
	assert_string_equal(src, "$DEPLOYMENT_GROUP_NAME");
	free(g);
	assert_int_equal(tag_calls, 0);
	(void)unsetenv("DEPLOYMENT_GROUP_NAME");
	assert_int_equal(config_resolve_group(&cfg, NULL, fake_tag,
	    tagval, &g, &src, &eb), 0);
	assert_string_equal(g, "from-tag");
	assert_string_equal(src, "EC2 tag hookd:deployment-group");
	assert_int_equal(tag_calls, 1);
	free(g);

	/* Nothing anywhere. */
	assert_int_equal(config_resolve_group(&cfg, NULL, fake_tag, NULL, &g,
	    &src, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_non_null(strstr(eb.msg, "no deployment group"));
	assert_int_equal(config_resolve_group(&cfg, NULL, NULL, NULL, &g,
	    &src, &eb), -1);
	/* The tag lookup's own error comes through. */
	assert_int_equal(config_resolve_group(&cfg, NULL, failing_tag, NULL,
	    &g, &src, &eb), -1);
	assert_int_equal(eb.kind, EK_UNAVAIL);
	/* A bad name says where it came from. */
	assert_int_equal(setenv("DEPLOYMENT_GROUP_NAME", "a;b", 1), 0);
	assert_int_equal(config_resolve_group(&cfg, NULL, NULL, NULL, &g,
	    &src, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_string_equal(eb.msg, "deployment group 'a;b': only letters, "
	    "digits, '.', '_' and '-' are allowed (from "
	    "$DEPLOYMENT_GROUP_NAME)");
	(void)unsetenv("DEPLOYMENT_GROUP_NAME");
	config_release(&cfg);
}

static void
config_deployer_blue_green(void **state)
{
	struct deployer_config		 dc;
	const struct deployer_group	*g;
	struct errbuf			 eb = { 0 };

	(void)state;
	deployer_config_init(&dc);
	assert_int_equal(deployer_config_load(&dc,
	    CDIR "/deployer/good/blue-green.yml", NULL, &eb), 0);
	g = deployer_config_group(&dc, "immutable");
	assert_int_equal(g->strategy, STRATEGY_BLUE_GREEN);
	assert_string_equal(g->bg.auto_scaling_group, "web");
	assert_int_equal(g->bg.ready_timeout, 600);
	assert_true(g->bg.manual_cutover);
	assert_int_equal(g->bg.keep_blue, 0);
	g = deployer_config_group(&dc, "timed");
	assert_false(g->bg.manual_cutover);
	assert_int_equal(g->bg.wait_before_cutover, 30);
	assert_int_equal(g->bg.keep_blue, BG_KEEP_BLUE_DEFAULT);
	g = deployer_config_group(&dc, "defaults");
	assert_int_equal(g->strategy, STRATEGY_BLUE_GREEN);
	assert_null(g->bg.auto_scaling_group);
	assert_int_equal(g->bg.ready_timeout, BG_READY_TIMEOUT_DEFAULT);
	assert_int_equal(g->bg.wait_before_cutover, 0);
	g = deployer_config_group(&dc, "inplace");
	assert_int_equal(g->strategy, STRATEGY_IN_PLACE);
	deployer_config_release(&dc);
	/* The design example's groups are in place. */
	deployer_config_init(&dc);
	assert_int_equal(deployer_config_load(&dc,
	    CDIR "/deployer/good/design.yml", NULL, &eb), 0);
	assert_int_equal(dc.groups[0].strategy, STRATEGY_IN_PLACE);
	deployer_config_release(&dc);
}

static void
config_deployer_design_example(void **state)
{
	struct deployer_config		 dc;
	const struct deployer_group	*g;
	struct errbuf			 eb = { 0 };

	deployer_config_init(&dc);
	assert_int_equal(deployer_config_load(&dc,
	    CDIR "/deployer/good/design.yml", NULL, &eb), 0);
	assert_string_equal(dc.application, "web");
	assert_string_equal(dc.store, "s3://my-bucket/deploys");
	assert_string_equal(dc.queue, "sqs");
	assert_string_equal(dc.queue_prefix, "hookd");
	assert_string_equal(dc.region, "us-east-1");
	assert_int_equal(dc.ngroups, 2);
	g = deployer_config_group(&dc, "production");
	assert_non_null(g);
	assert_int_equal(g->dc.kind, DC_HALF_AT_A_TIME);
	assert_true(g->rollback_on_failure);
	assert_int_equal(g->timeout, 1800);
	assert_int_equal(g->line, 8);
	g = deployer_config_group(&dc, "staging");
	assert_non_null(g);
	assert_int_equal(g->dc.kind, DC_ALL_AT_ONCE);
	assert_int_equal(g->timeout, DEPLOYER_TIMEOUT_DEFAULT);
	assert_null(deployer_config_group(&dc, "nope"));
	deployer_config_release(&dc);

	deployer_config_init(&dc);
	assert_int_equal(deployer_config_load(&dc,
	    CDIR "/deployer/good/min-healthy.yml", NULL, &eb), 0);
	g = deployer_config_group(&dc, "count");
	assert_int_equal(g->dc.kind, DC_MIN_HEALTHY);
	assert_int_equal(g->dc.min_healthy, 2);
	assert_false(g->dc.percent);
	g = deployer_config_group(&dc, "percent");
	assert_int_equal(g->dc.min_healthy, 75);
	assert_true(g->dc.percent);
	g = deployer_config_group(&dc, "plain-percent");
	assert_int_equal(g->dc.min_healthy, 50);
	assert_true(g->dc.percent);
	g = deployer_config_group(&dc, "one");
	assert_int_equal(g->dc.kind, DC_ONE_AT_A_TIME);
	assert_false(g->rollback_on_failure);
	g = deployer_config_group(&dc, "bare");
	/* The default is CodeDeploy's: one at a time. */
	assert_int_equal(g->dc.kind, DC_ONE_AT_A_TIME);
	assert_true(g->rollback_on_failure);
	deployer_config_release(&dc);
}

static void
config_deployer_gates(void **state)
{
	struct deployer_config		 dc;
	const struct deployer_group	*g;
	struct errbuf			 eb = { 0 };
	char				 d[128];

	deployer_config_init(&dc);
	assert_int_equal(deployer_config_load(&dc,
	    CDIR "/deployer/good/gates.yml", NULL, &eb), 0);
	g = deployer_config_group(&dc, "production");
	assert_int_equal(g->dc.kind, DC_HALF_AT_A_TIME);
	assert_int_equal(g->dc.canary, 1);
	assert_false(g->dc.canary_percent);
	assert_int_equal(g->dc.bake, 120);
	assert_string_equal(deploy_config_describe(&g->dc, d, sizeof(d)),
	    "canary 1, bake 120 s, then HalfAtATime");
	assert_int_equal(g->nalarms, 2);
	assert_string_equal(g->alarms[0], "web-5xx");
	assert_string_equal(g->alarms[1], "web-p99");
	assert_null(g->alarms[2]);
	assert_false(g->ignore_alarm_poll_failure);
	assert_int_equal(g->nhealth_check, 3);
	assert_string_equal(g->health_check[0], "scripts/smoke.sh");
	assert_string_equal(g->health_check[2],
	    "http://localhost:8080/health");
	assert_null(g->health_check[3]);
	assert_int_equal(g->auto_rollback, AUTO_ROLLBACK_FAILURE |
	    AUTO_ROLLBACK_ALARM | AUTO_ROLLBACK_STOP);
	assert_true(g->rollback_on_failure);
	assert_string_equal(g->notify,
	    "arn:aws:sns:us-east-1:123456789012:deploys");
	assert_int_equal(g->gate_interval, 5);

	g = deployer_config_group(&dc, "percent");
	assert_int_equal(g->dc.canary, 10);
	assert_true(g->dc.canary_percent);
	assert_int_equal(g->dc.kind, DC_MIN_HEALTHY);
	assert_int_equal(g->dc.min_healthy, 75);
	assert_string_equal(deploy_config_describe(&g->dc, d, sizeof(d)),
	    "canary 10%, bake 60 s, then minimum_healthy 75%");
	/* auto_rollback: [] turns off the rollback on failure too. */
	assert_int_equal(g->auto_rollback, 0);
	assert_false(g->rollback_on_failure);
	assert_int_equal(g->gate_interval, GATE_INTERVAL_DEFAULT);
	assert_int_equal(g->nalarms, 0);
	assert_null(g->health_check);
	assert_null(g->notify);

	g = deployer_config_group(&dc, "bake-only");
	assert_int_equal(g->dc.canary, 0);
	assert_int_equal(g->dc.kind, DC_ONE_AT_A_TIME);
	assert_string_equal(deploy_config_describe(&g->dc, d, sizeof(d)),
	    "OneAtATime, bake 30 s");
	/* The older key alone keeps working. */
	assert_int_equal(g->auto_rollback, 0);
	g = deployer_config_group(&dc, "canary-only");
	/* then: the group's default, OneAtATime. */
	assert_int_equal(g->dc.kind, DC_ONE_AT_A_TIME);
	assert_int_equal(g->dc.canary, 2);
	/* No bake: none is named. */
	assert_string_equal(deploy_config_describe(&g->dc, d, sizeof(d)),
	    "canary 2, then OneAtATime");
	assert_int_equal(g->auto_rollback, AUTO_ROLLBACK_ALARM);
	g = deployer_config_group(&dc, "agree");
	assert_int_equal(g->auto_rollback, AUTO_ROLLBACK_FAILURE |
	    AUTO_ROLLBACK_STOP);
	g = deployer_config_group(&dc, "fifo");
	assert_int_equal(g->auto_rollback, AUTO_ROLLBACK_FAILURE);
	assert_non_null(g->notify);
	deployer_config_release(&dc);

	/* The existing files: defaults of the new keys. */
	deployer_config_init(&dc);
	assert_int_equal(deployer_config_load(&dc,
	    CDIR "/deployer/good/min-healthy.yml", NULL, &eb), 0);
	g = deployer_config_group(&dc, "one");
	assert_false(g->rollback_on_failure);
	assert_int_equal(g->auto_rollback, 0);
	g = deployer_config_group(&dc, "bare");
	assert_int_equal(g->auto_rollback, AUTO_ROLLBACK_FAILURE);
	assert_int_equal(g->dc.canary, 0);
	assert_int_equal(g->dc.bake, 0);
	deployer_config_release(&dc);

	assert_string_equal(auto_rollback_name(AUTO_ROLLBACK_ALARM), "alarm");
	assert_null(auto_rollback_name(0x8));
}

static void
config_canary_sizes(void **state)
{
	struct deploy_config	 dc = { .kind = DC_HALF_AT_A_TIME };

	assert_int_equal(deploy_config_canary_size(&dc, 10), 0);
	dc.canary = 1;
	assert_int_equal(deploy_config_canary_size(&dc, 10), 1);
	assert_int_equal(deploy_config_canary_size(&dc, 0), 0);
	dc.canary = 3;
	assert_int_equal(deploy_config_canary_size(&dc, 2), 2);
	dc.canary = 10;
	dc.canary_percent = true;
	/* 10% rounds up, and is at least one instance. */
	assert_int_equal(deploy_config_canary_size(&dc, 25), 3);
	assert_int_equal(deploy_config_canary_size(&dc, 3), 1);
	assert_int_equal(deploy_config_canary_size(&dc, 100), 10);
}

static void
config_batch_sizes(void **state)
{
	struct deploy_config	 dc = { .kind = DC_ALL_AT_ONCE };

	assert_int_equal(deploy_config_batch_size(&dc, 7), 7);
	assert_int_equal(deploy_config_batch_size(&dc, 0), 0);
	dc.kind = DC_HALF_AT_A_TIME;
	assert_int_equal(deploy_config_batch_size(&dc, 7), 3);
	assert_int_equal(deploy_config_batch_size(&dc, 1), 1);
	dc.kind = DC_ONE_AT_A_TIME;
	assert_int_equal(deploy_config_batch_size(&dc, 7), 1);
	dc.kind = DC_MIN_HEALTHY;
	dc.min_healthy = 2;
	assert_int_equal(deploy_config_batch_size(&dc, 7), 5);
	assert_int_equal(deploy_config_batch_size(&dc, 2), 0);
	dc.percent = true;
	dc.min_healthy = 75;
	/* 75% of 7 rounds up to 6 healthy. */
	assert_int_equal(deploy_config_batch_size(&dc, 7), 1);
	assert_int_equal(deploy_config_batch_size(&dc, 8), 2);
	assert_int_equal(deploy_config_batch_size(&dc, 1), 0);
	assert_string_equal(deploy_config_name(&dc), "minimum_healthy");
}

static void
config_finds_deployer_yml_upwards(void **state)
{
	struct errbuf	 eb = { 0 };
	char		 dir[] = "/tmp/hookd-test-find.XXXXXX";
	char		*sub, *yml, *got = NULL, *cwd;
	int		 fd;

	assert_non_null(mkdtemp(dir));
	sub = xasprintf("%s/a/b/c", dir);
	yml = xasprintf("%s/a/deployer.yml", dir);
	{
		char	*p = xasprintf("%s/a", dir), *q = xasprintf("%s/a/b",
		    dir);

		assert_int_equal(mkdir(p, 0700), 0);
		assert_int_equal(mkdir(q, 0700), 0);
		free(p);
		free(q);
	}
	assert_int_equal(mkdir(sub, 0700), 0);
	/* Nothing yet (assuming no deployer.yml in /tmp or /). */
	assert_int_equal(config_find_deployer_yml(sub, &got, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	fd = open(yml, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	close(fd);
	assert_int_equal(config_find_deployer_yml(sub, &got, &eb), 0);
	assert_string_equal(got, yml);
	free(got);
	/* From the current directory. */
	cwd = getcwd(NULL, 0);
	assert_int_equal(chdir(sub), 0);
	assert_int_equal(config_find_deployer_yml(NULL, &got, &eb), 0);
	assert_string_equal(got, yml);
	free(got);
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
	free(sub);
	free(yml);
	assert_int_equal(fs_rmtree(dir, &eb), 0);
}

static void
config_log_level_names(void **state)
{
	assert_int_equal(config_log_level_from_name("debug"), LOG_DEBUG);
	assert_int_equal(config_log_level_from_name("error"), LOG_ERR);
	assert_int_equal(config_log_level_from_name("Debug"), -1);
	assert_string_equal(config_log_level_name(LOG_WARNING), "warning");
}

static void
config_traffic_block(void **state)
{
	struct config	 cfg;
	struct errbuf	 eb = { 0 };

	config_init(&cfg);
	assert_int_equal(config_load(&cfg, CDIR "/hookd/good/traffic.yml",
	    NULL, &eb), 0);
	assert_true(cfg.traffic.enabled);
	assert_int_equal(cfg.traffic.ntarget_groups, 1);
	assert_non_null(strstr(cfg.traffic.target_groups[0],
	    ":targetgroup/web/"));
	assert_int_equal(cfg.traffic.nload_balancers, 1);
	assert_string_equal(cfg.traffic.load_balancers[0], "web-classic");
	assert_true(cfg.traffic.from_auto_scaling_group);
	assert_string_equal(cfg.traffic.haproxy_socket,
	    "/run/haproxy/admin.sock");
	assert_string_equal(cfg.traffic.haproxy_backend, "web");
	assert_string_equal(cfg.traffic.haproxy_server, "web1");
	assert_int_equal(cfg.traffic.drain_timeout, 300);
	assert_int_equal(cfg.traffic.healthy_timeout, 600);
	config_release(&cfg);
	/* No block: traffic control is off, as before. */
	config_init(&cfg);
	assert_int_equal(config_parse(&cfg, "application: web\n", 17, NULL,
	    &eb), 0);
	assert_false(cfg.traffic.enabled);
	assert_null(cfg.traffic.haproxy_socket);
	config_release(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_hookd_fixtures),
		cmocka_unit_test(config_deployer_fixtures),
		cmocka_unit_test(config_deployer_strict_and_every_error),
		cmocka_unit_test(config_full_file_sets_every_key),
		cmocka_unit_test(config_groups_list),
		cmocka_unit_test(config_defaults_follow_design),
		cmocka_unit_test(config_reports_every_error),
		cmocka_unit_test(config_load_io_errors),
		cmocka_unit_test(config_message_key_file_must_be_private),
		cmocka_unit_test(config_resolves_the_group_in_design_order),
		cmocka_unit_test(config_deployer_design_example),
		cmocka_unit_test(config_deployer_blue_green),
		cmocka_unit_test(config_deployer_gates),
		cmocka_unit_test(config_canary_sizes),
		cmocka_unit_test(config_batch_sizes),
		cmocka_unit_test(config_finds_deployer_yml_upwards),
		cmocka_unit_test(config_log_level_names),
		cmocka_unit_test(config_traffic_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
