/* SPDX-License-Identifier: ISC */
/*
 * test_appspec.c: the appspec parser.  Data-driven from
 * tests/fixtures/appspec/{good,bad}/ (each bad file's sibling .err holds
 * the expected first error line) and from the shared conformance cases,
 * read in place; plus the model, the limits, the bundle checks and the
 * permission-syntax helpers.
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
#include <unistd.h>

#include <cmocka.h>

#include "appspec.h"
#include "appspec_int.h"
#include "caps.h"
#include "errbuf.h"
#include "slurp.h"
#include "xalloc.h"

#define GOOD	FIXTURES "/appspec/good"
#define BAD	FIXTURES "/appspec/bad"
#define WARN	FIXTURES "/appspec/warn"
#define CONFORMANCE	SHARED_DIR "/appspec-conformance"

/* The first line of a file without its line end (new string), or NULL. */
static char *
slurp_line(const char *path)
{
	char	*text;

	if ((text = slurp_if_exists(path, NULL)) == NULL)
		return NULL;
	text[strcspn(text, "\r\n")] = '\0';
	return text;
}

static int
is_yml(const struct dirent *d)
{
	size_t	 n = strlen(d->d_name);

	return n > 4 && strcmp(d->d_name + n - 4, ".yml") == 0;
}

static void
appspec_accepts_every_good_fixture(void **state)
{
	struct dirent	**ents;
	int		 n;

	n = scandir(GOOD, &ents, is_yml, alphasort);
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		struct appspec	 as;
		struct errbuf	 eb = { 0 };
		char		*p = xasprintf("%s/%s", GOOD, ents[i]->d_name);

		appspec_init(&as);
		if (appspec_load(&as, p, ents[i]->d_name, &eb) != 0)
			fail_msg("%s: %s", ents[i]->d_name, eb.msg);
		assert_int_equal(as.nerrors, 0);
		if (as.nwarnings != 0)
			fail_msg("%s: %s", ents[i]->d_name, as.warnings[0]);
		appspec_release(&as);
		free(p);
		free(ents[i]);
	}
	free(ents);
}

static void
appspec_rejects_bad_fixtures_with_the_expected_first_error(void **state)
{
	struct dirent	**ents;
	int		 n;

	n = scandir(BAD, &ents, is_yml, alphasort);
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		struct appspec	 as;
		struct errbuf	 eb = { 0 };
		const char	*name = ents[i]->d_name;
		char		*p = xasprintf("%s/%s", BAD, name);
		char		*e = xasprintf("%s/%.*s.err", BAD,
				    (int)(strlen(name) - 4), name);
		char		*want = slurp_line(e);

		if (want == NULL)
			fail_msg("%s: no .err file", name);
		appspec_init(&as);
		if (appspec_load(&as, p, name, &eb) != -1)
			fail_msg("%s: accepted", name);
		assert_int_equal(eb.kind, EK_DATA);
		if (strcmp(eb.msg, want) != 0)
			fail_msg("%s:\n got  %s\n want %s", name, eb.msg, want);
		assert_true(as.nerrors >= 1);
		assert_string_equal(as.errors[0], eb.msg);
		appspec_release(&as);
		free(want);
		free(e);
		free(p);
		free(ents[i]);
	}
	free(ents);
}

/*
 * What CodeDeploy accepts but ignores or reads differently loads, with
 * the expected first warning (the sibling .warn); --strict refuses it.
 */
static void
appspec_accepts_warn_fixtures_first_warning(void **state)
{
	struct dirent	**ents;
	int		 n;

	n = scandir(WARN, &ents, is_yml, alphasort);
	assert_true(n >= 20);
	for (int i = 0; i < n; i++) {
		struct appspec	 as;
		struct errbuf	 eb = { 0 };
		const char	*name = ents[i]->d_name;
		char		*p = xasprintf("%s/%s", WARN, name);
		char		*w = xasprintf("%s/%.*s.warn", WARN,
				    (int)(strlen(name) - 4), name);
		char		*want = slurp_line(w);

		if (want == NULL)
			fail_msg("%s: no .warn file", name);
		appspec_init(&as);
		if (appspec_load(&as, p, name, &eb) != 0)
			fail_msg("%s: refused: %s", name, eb.msg);
		assert_int_equal(as.nerrors, 0);
		if (as.nwarnings == 0)
			fail_msg("%s: no warning", name);
		if (strcmp(as.warnings[0], want) != 0)
			fail_msg("%s:\n got  %s\n want %s", name,
			    as.warnings[0], want);
		assert_int_equal(appspec_strict(&as, &eb), -1);
		assert_int_equal(eb.kind, EK_DATA);
		assert_non_null(strstr(eb.msg, want));
		assert_non_null(strstr(eb.msg, "strict"));
		assert_string_equal(as.errors[0], want);
		assert_int_equal(as.nerrors, as.nwarnings);
		appspec_release(&as);
		free(want);
		free(w);
		free(p);
		free(ents[i]);
	}
	free(ents);
}

/* What each kind of warning means for the model: CodeDeploy's meaning. */
static void
appspec_warnings_keep_codedeploys_meaning(void **state)
{
	struct appspec	 as;
	struct errbuf	 eb = { 0 };

	appspec_init(&as);
	/* An ignored event or step adds no script; the last key counts. */
	assert_int_equal(appspec_load(&as, WARN "/install-script.yml", NULL,
	    &eb), 0);
	assert_int_equal(as.nhooks[LC_INSTALL], 0);
	assert_int_equal(as.nhooks[LC_AFTER_INSTALL], 1);
	assert_int_equal(appspec_load(&as, WARN "/unknown-event.yml", NULL,
	    &eb), 0);
	assert_int_equal(as.nhooks[LC_AFTER_INSTALL], 0);
	assert_int_equal(appspec_load(&as, WARN "/duplicate-event.yml", NULL,
	    &eb), 0);
	assert_int_equal(as.nhooks[LC_AFTER_INSTALL], 1);
	assert_int_equal(appspec_load(&as, WARN "/duplicate-top-key.yml", NULL,
	    &eb), 0);
	assert_string_equal(as.os, "linux");
	/* A long timeout is kept; version 0 is 0.0; mode is as written. */
	assert_int_equal(appspec_load(&as, WARN "/timeout-5000.yml", NULL,
	    &eb), 0);
	assert_int_equal(as.hooks[LC_APPLICATION_START][0].timeout, 5000);
	assert_int_equal(appspec_load(&as, WARN "/version-0.yml", NULL, &eb),
	    0);
	assert_string_equal(as.version, "0.0");
	assert_int_equal(appspec_load(&as, WARN "/mode-0755.yml", NULL, &eb),
	    0);
	assert_int_equal(as.perms[0].mode, 0755);
	/* A file without warnings passes --strict untouched. */
	assert_int_equal(appspec_load(&as, GOOD "/full.yml", NULL, &eb), 0);
	assert_int_equal(appspec_strict(&as, &eb), 0);
	assert_int_equal(as.nerrors, 0);
	appspec_release(&as);
}

static int
is_case(const struct dirent *d)
{
	return d->d_name[0] != '.' && strcmp(d->d_name, "README.md") != 0;
}

static void
appspec_agrees_with_every_shared_conformance_case(void **state)
{
	struct dirent	**ents;
	int		 n;

	n = scandir(CONFORMANCE, &ents, is_case, alphasort);
	assert_true(n >= 60);
	for (int i = 0; i < n; i++) {
		struct appspec	 as;
		struct errbuf	 eb = { 0 };
		char		*dir = xasprintf("%s/%s", CONFORMANCE,
				    ents[i]->d_name);
		char		*yml = xasprintf("%s/appspec.yml", dir);
		char		*exp = xasprintf("%s/expected", dir);
		char		*want = slurp_line(exp);
		int		 r;

		assert_non_null(want);
		appspec_init(&as);
		r = appspec_load(&as, yml, "appspec.yml", &eb);
		if (strcmp(want, "ACCEPT") == 0 && r != 0)
			fail_msg("%s: rejected: %s", ents[i]->d_name, eb.msg);
		if (strcmp(want, "REJECT") == 0) {
			if (r != -1)
				fail_msg("%s: accepted", ents[i]->d_name);
			assert_int_equal(eb.kind, EK_DATA);
			assert_true(strncmp(eb.msg, "appspec.yml:", 12) == 0);
		}
		appspec_release(&as);
		free(want);
		free(exp);
		free(yml);
		free(dir);
		free(ents[i]);
	}
	free(ents);
}

static void
appspec_fills_the_whole_model(void **state)
{
	struct appspec		 as;
	struct errbuf		 eb = { 0 };
	const struct appspec_perm *p;
	const struct appspec_hook *h;

	appspec_init(&as);
	assert_int_equal(appspec_load(&as, GOOD "/full.yml", NULL, &eb), 0);
	assert_string_equal(as.path, GOOD "/full.yml");
	assert_string_equal(as.version, "0.0");
	assert_string_equal(as.os, "linux");
	assert_int_equal(as.file_exists_behavior, FEB_OVERWRITE);
	assert_int_equal(as.nfiles, 2);
	assert_string_equal(as.files[0].source, "/");
	assert_string_equal(as.files[0].destination, "/opt/web");
	assert_int_equal(as.files[0].line, 5);
	assert_string_equal(as.files[1].source, "config/web.conf");

	assert_int_equal(as.nperms, 1);
	p = &as.perms[0];
	assert_string_equal(p->object, "/opt/web");
	assert_string_equal(p->pattern, "*.sh");
	assert_int_equal(p->nexcept, 1);
	assert_string_equal(p->except[0], "scripts/private.sh");
	assert_int_equal(p->types, PERM_TYPE_FILE);
	assert_string_equal(p->owner, "web");
	assert_string_equal(p->group, "web");
	assert_int_equal(p->mode, 0750);
	assert_int_equal(p->nacls, 2);
	assert_false(p->acls[0].is_default);
	assert_int_equal(p->acls[0].kind, 'u');
	assert_string_equal(p->acls[0].name, "deploy");
	assert_int_equal(p->acls[0].perms, 7);
	assert_true(p->acls[1].is_default);
	assert_int_equal(p->acls[1].kind, 'g');
	assert_string_equal(p->acls[1].name, "ops");
	assert_int_equal(p->acls[1].perms, 5);
	assert_non_null(p->context);
	assert_string_equal(p->context->user, "system_u");
	assert_string_equal(p->context->type, "httpd_sys_content_t");
	assert_string_equal(p->context->range, "s0-s1:c0.c3,c9");

	assert_int_equal(as.nhooks[LC_APPLICATION_STOP], 1);
	h = &as.hooks[LC_APPLICATION_STOP][0];
	assert_string_equal(h->location, "scripts/stop.sh");
	assert_int_equal(h->timeout, 60);
	assert_null(h->runas);
	assert_false(h->sudo);
	assert_int_equal(as.nhooks[LC_BEFORE_INSTALL], 2);
	h = &as.hooks[LC_BEFORE_INSTALL][0];
	assert_int_equal(h->timeout, HOOK_TIMEOUT_DEFAULT);
	assert_string_equal(h->runas, "root");
	assert_int_equal(h->line, 30);
	assert_int_equal(h->col, 17);
	assert_true(as.hooks[LC_BEFORE_INSTALL][1].sudo);
	assert_int_equal(as.hooks[LC_VALIDATE_SERVICE][0].timeout, 1);
	assert_int_equal(as.nhooks[LC_INSTALL], 0);
	assert_int_equal(as.nhooks[LC_DOWNLOAD_BUNDLE], 0);
	for (int e = 0; e < LC_NEVENTS; e++)
		if (lc_event_scriptable(e))
			assert_true(as.nhooks[e] >= 1);
	appspec_release(&as);
	appspec_release(&as);	/* twice is harmless */
}

static void
appspec_defaults_pattern_mode_and_file_exists_behavior(void **state)
{
	static const char y[] = "version: 0.0\nos: linux\n"
	    "permissions:\n  - object: /opt\n";
	struct appspec	 as;
	struct errbuf	 eb = { 0 };

	appspec_init(&as);
	assert_int_equal(appspec_parse(&as, y, strlen(y), "a.yml", &eb), 0);
	assert_int_equal(as.file_exists_behavior, FEB_UNSET);
	assert_string_equal(feb_name(as.file_exists_behavior), "DISALLOW");
	assert_string_equal(as.perms[0].pattern, "**");
	assert_int_equal(as.perms[0].mode, -1);
	assert_int_equal(as.perms[0].types, 0);
	assert_null(as.perms[0].context);
	appspec_release(&as);
}

static void
appspec_reads_unquoted_mode_digits_as_written(void **state)
{
	struct appspec	 as;
	struct errbuf	 eb = { 0 };

	appspec_init(&as);
	assert_int_equal(appspec_load(&as, WARN "/mode-leading-zero.yml",
	    NULL, &eb), 0);
	assert_int_equal(as.perms[0].mode, 0644);
	/* ... and says what CodeDeploy makes of it. */
	assert_int_equal(as.nwarnings, 1);
	assert_non_null(strstr(as.warnings[0], "applies mode 0420"));
	appspec_release(&as);
}

static void
appspec_shares_an_anchored_script_between_events(void **state)
{
	struct appspec	 as;
	struct errbuf	 eb = { 0 };

	appspec_init(&as);
	assert_int_equal(appspec_load(&as, GOOD "/anchors.yml", NULL, &eb),
	    0);
	assert_string_equal(as.hooks[LC_VALIDATE_SERVICE][0].location,
	    "scripts/check.sh");
	assert_int_equal(as.hooks[LC_VALIDATE_SERVICE][0].timeout, 30);
	appspec_release(&as);
}

static void
appspec_reports_every_error_in_the_file(void **state)
{
	struct appspec	 as;
	struct errbuf	 eb = { 0 };

	appspec_init(&as);
	assert_int_equal(appspec_load(&as, BAD "/many-errors.yml",
	    "many-errors.yml", &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	/* The unknown event is a warning now: CodeDeploy ignores it. */
	assert_int_equal(as.nerrors, 5);
	assert_string_equal(as.errors[1],
	    "many-errors.yml:2:5: os: must be linux, not \"solaris\"");
	assert_string_equal(as.errors[4], "many-errors.yml:8:16: "
	    "hooks.BeforeInstall[0].timeout: must be a whole number of "
	    "seconds from 1 to 86400, not \"30s\"");
	assert_int_equal(as.nwarnings, 1);
	assert_string_equal(as.warnings[0], "many-errors.yml:5:3: "
	    "hooks.AfterInstal: unknown lifecycle event, ignored as by "
	    "CodeDeploy: its scripts never run (did you mean "
	    "'AfterInstall'?)");
	appspec_release(&as);
}

static void
appspec_caps_the_number_of_errors(void **state)
{
	struct appspec	 as;
	struct errbuf	 eb = { 0 };
	char		*y = xstrdup("version: 0.0\nos: linux\nhooks:\n"
			    "  AfterInstall:\n");

	for (int i = 0; i < 200; i++) {
		char	*t = xasprintf("%s    - timeout: x\n", y);

		free(y);
		y = t;
	}
	appspec_init(&as);
	assert_int_equal(appspec_parse(&as, y, strlen(y), "a.yml", &eb), -1);
	assert_int_equal(as.nerrors, APPSPEC_ERRORS_MAX);
	assert_non_null(strstr(eb.msg, "a.yml:5:7: "));
	appspec_release(&as);
	free(y);
}

static void
appspec_rejects_a_file_over_the_size_cap(void **state)
{
	struct appspec	 as;
	struct errbuf	 eb = { 0 };
	size_t		 len = APPSPEC_MAX + 1;
	char		*y = xmalloc(len);

	memset(y, '#', len);
	appspec_init(&as);
	assert_int_equal(appspec_parse(&as, y, len, "big.yml", &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, "big.yml:1:1: larger than "));
	appspec_release(&as);
	free(y);
}

static void
appspec_rejects_more_scripts_than_the_cap(void **state)
{
	struct appspec	 as;
	struct errbuf	 eb = { 0 };
	char		*y = xstrdup("version: 0.0\nos: linux\nhooks:\n"
			    "  AfterInstall:\n");

	for (int i = 0; i <= APPSPEC_HOOKS_MAX; i++) {
		char	*t = xasprintf("%s    - location: a.sh\n", y);

		free(y);
		y = t;
	}
	appspec_init(&as);
	assert_int_equal(appspec_parse(&as, y, strlen(y), "a.yml", &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, "a.yml:261:7: "
	    "hooks.AfterInstall[256]: more than 256 scripts"));
	assert_int_equal(as.nhooks[LC_AFTER_INSTALL], APPSPEC_HOOKS_MAX);
	appspec_release(&as);
	free(y);
}

static void
appspec_rejects_a_mapping_with_too_many_keys(void **state)
{
	struct appspec	 as;
	struct errbuf	 eb = { 0 };
	char		*y = xstrdup("version: 0.0\nos: linux\n");

	for (int i = 0; i < APPSPEC_MAP_KEYS_MAX; i++) {
		char	*t = xasprintf("%sk%d: v\n", y, i);

		free(y);
		y = t;
	}
	appspec_init(&as);
	assert_int_equal(appspec_parse(&as, y, strlen(y), "a.yml", &eb), -1);
	assert_string_equal(eb.msg, "a.yml:1:1: more than 64 keys");
	appspec_release(&as);
	free(y);
}

static void
appspec_load_says_which_file_is_missing(void **state)
{
	struct appspec	 as;
	struct errbuf	 eb = { 0 };

	appspec_init(&as);
	assert_int_equal(appspec_load(&as, FIXTURES "/nope/appspec.yml",
	    "nope.yml", &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_string_equal(eb.msg,
	    "cannot open 'nope.yml': No such file or directory");
	assert_int_equal(as.nerrors, 1);
	appspec_release(&as);
}

static void
appspec_load_refuses_a_directory(void **state)
{
	struct appspec	 as;
	struct errbuf	 eb = { 0 };

	appspec_init(&as);
	assert_int_equal(appspec_load(&as, GOOD, NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, "is not a regular file"));
	appspec_release(&as);
}

static void
appspec_release_is_safe_on_a_zeroed_model(void **state)
{
	struct appspec	 as = { 0 };

	appspec_release(&as);
	appspec_init(&as);
	appspec_release(&as);
}

static void
appspec_names_events_both_ways(void **state)
{
	for (int e = 0; e < LC_NEVENTS; e++)
		assert_int_equal(lc_event_from_name(lc_event_name(e)), e);
	assert_int_equal(lc_event_from_name("afterinstall"), -1);
	assert_string_equal(lc_event_name(LC_NEVENTS), "?");
	assert_false(lc_event_scriptable(LC_INSTALL));
	assert_false(lc_event_scriptable(LC_DOWNLOAD_BUNDLE));
	assert_true(lc_event_scriptable(LC_AFTER_ALLOW_TRAFFIC));
	assert_int_equal(feb_from_name("RETAIN"), FEB_RETAIN);
	assert_int_equal(feb_from_name("retain"), -1);
	assert_string_equal(feb_name(FEB_OVERWRITE), "OVERWRITE");
}

static void
appspec_parses_acl_entries_like_the_reference_agent(void **state)
{
	struct appspec_acl	 a;
	char			 why[160];

	assert_int_equal(ap_parse_ace("d:u:bob:rwx", &a, why, sizeof(why)),
	    0);
	assert_true(a.is_default);
	assert_int_equal(a.kind, 'u');
	assert_string_equal(a.name, "bob");
	assert_int_equal(a.perms, 7);
	free(a.name);
	assert_int_equal(ap_parse_ace("m:6", &a, why, sizeof(why)), 0);
	assert_int_equal(a.kind, 'm');
	assert_null(a.name);
	assert_int_equal(ap_parse_ace("d:g::r-x", &a, why, sizeof(why)), 0);
	assert_int_equal(a.kind, 'g');
	assert_null(a.name);
	assert_int_equal(a.perms, 5);
	assert_int_equal(ap_parse_ace("u:mask:7", &a, why, sizeof(why)), 0);
	assert_string_equal(a.name, "mask");
	free(a.name);
	assert_int_equal(ap_parse_ace("7", &a, why, sizeof(why)), -1);
	assert_int_equal(ap_parse_ace("a:b:c:d:e", &a, why, sizeof(why)), -1);
	assert_int_equal(ap_parse_ace("x:u:bob:7", &a, why, sizeof(why)), -1);
	assert_int_equal(ap_parse_ace("default:d:bob:7", &a, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "default is given twice");
	assert_int_equal(ap_parse_ace("other:bob:7", &a, why, sizeof(why)),
	    -1);
	assert_int_equal(ap_parse_ace("u:bob:8", &a, why, sizeof(why)), -1);
	assert_int_equal(ap_parse_ace("u:bob:rwxr", &a, why, sizeof(why)),
	    -1);
}

static void
appspec_checks_selinux_ranges(void **state)
{
	char	 why[160];

	assert_int_equal(ap_check_range("s0", why, sizeof(why)), 0);
	assert_int_equal(ap_check_range("s0-s15:c0.c1023", why,
	    sizeof(why)), 0);
	assert_int_equal(ap_check_range("s2-s2", why, sizeof(why)), 0);
	assert_int_equal(ap_check_range("s0:c5,c1.c3", why, sizeof(why)), 0);
	assert_int_equal(ap_check_range("s0:c1,c1", why, sizeof(why)), -1);
	assert_int_equal(ap_check_range("s0:c1.c1", why, sizeof(why)), -1);
	assert_int_equal(ap_check_range("s0:c0,", why, sizeof(why)), -1);
	assert_int_equal(ap_check_range("s0:c0:c1", why, sizeof(why)), -1);
	assert_int_equal(ap_check_range("-s1", why, sizeof(why)), -1);
	assert_int_equal(ap_check_range("s0:c1.c2.c3", why, sizeof(why)), -1);
	assert_int_equal(ap_check_range("s99999", why, sizeof(why)), -1);
}

static void
appspec_reads_modes_as_octal_digits(void **state)
{
	char	 why[160];
	int	 m = -1;

	assert_int_equal(ap_parse_mode("0644", &m, why, sizeof(why)), 0);
	assert_int_equal(m, 0644);
	assert_int_equal(ap_parse_mode("7", &m, why, sizeof(why)), 0);
	assert_int_equal(m, 07);
	assert_int_equal(ap_parse_mode("6763", &m, why, sizeof(why)), 0);
	assert_int_equal(m, 06763);
	assert_int_equal(ap_parse_mode("", &m, why, sizeof(why)), -1);
	assert_int_equal(ap_parse_mode("12345", &m, why, sizeof(why)), -1);
	assert_int_equal(ap_parse_mode("9", &m, why, sizeof(why)), -1);
	assert_int_equal(m, 06763);	/* untouched on failure */
}

/* A scratch bundle in a fresh temporary directory. */
static char *
make_bundle(void)
{
	char	 tmpl[] = "/tmp/hookd-test-appspec.XXXXXX";
	char	*d, *p;
	int	 fd;

	assert_non_null(mkdtemp(tmpl));
	d = xstrdup(tmpl);
	p = xasprintf("%s/scripts", d);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/scripts/start.sh", d);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
	assert_true(fd != -1);
	close(fd);
	free(p);
	p = xasprintf("%s/scripts/out.sh", d);
	assert_int_equal(symlink("/bin/sh", p), 0);
	free(p);
	p = xasprintf("%s/scripts/in.sh", d);
	assert_int_equal(symlink("start.sh", p), 0);
	free(p);
	return d;
}

static void
remove_bundle(char *d)
{
	static const char *const names[] = { "scripts/start.sh",
	    "scripts/out.sh", "scripts/in.sh", "scripts" };

	for (size_t i = 0; i < nitems(names); i++) {
		char	*p = xasprintf("%s/%s", d, names[i]);

		(void)remove(p);
		free(p);
	}
	(void)rmdir(d);
	free(d);
}

static void
appspec_check_bundle_accepts_files_inside_the_bundle(void **state)
{
	static const char y[] = "version: 0.0\nos: linux\n"
	    "files:\n  - source: /\n    destination: /opt/x\n"
	    "  - source: scripts\n    destination: /opt/y\n"
	    "hooks:\n  AfterInstall:\n    - location: scripts/start.sh\n"
	    "    - location: /scripts/in.sh\n";
	struct appspec	 as;
	struct errbuf	 eb = { 0 };
	char		*d = make_bundle();

	appspec_init(&as);
	assert_int_equal(appspec_parse(&as, y, strlen(y), "a.yml", &eb), 0);
	if (appspec_check_bundle(&as, d, &eb) != 0)
		fail_msg("%s", eb.msg);
	appspec_release(&as);
	remove_bundle(d);
}

static void
appspec_check_bundle_reports_every_bad_path(
    void **state)
{
	static const char y[] = "version: 0.0\nos: linux\n"
	    "files:\n  - source: conf\n    destination: /opt/x\n"
	    "hooks:\n  AfterInstall:\n    - location: scripts/x.sh\n"
	    "    - location: scripts/out.sh\n"
	    "    - location: scripts\n";
	struct appspec	 as;
	struct errbuf	 eb = { 0 };
	char		*d = make_bundle();

	appspec_init(&as);
	assert_int_equal(appspec_parse(&as, y, strlen(y), "a.yml", &eb), 0);
	assert_int_equal(appspec_check_bundle(&as, d, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_string_equal(eb.msg, "a.yml:8:17: hooks.AfterInstall[0]."
	    "location: 'scripts/x.sh' does not exist in the bundle");
	assert_int_equal(as.nerrors, 4);
	assert_string_equal(as.errors[1], "a.yml:9:17: hooks.AfterInstall[1]."
	    "location: 'scripts/out.sh' leads outside the bundle (through a "
	    "symlink)");
	assert_string_equal(as.errors[2], "a.yml:10:17: hooks.AfterInstall[2]."
	    "location: 'scripts' is not a regular file");
	assert_string_equal(as.errors[3], "a.yml:4:13: files[0].source: "
	    "'conf' does not exist in the bundle");
	appspec_release(&as);
	remove_bundle(d);
}

static void
appspec_check_bundle_says_when_the_root_is_missing(void **state)
{
	struct appspec	 as;
	struct errbuf	 eb = { 0 };

	appspec_init(&as);
	assert_int_equal(appspec_check_bundle(&as, "/nonexistent/bundle",
	    &eb), -1);
	assert_int_equal(eb.kind, EK_IO);
	assert_non_null(strstr(eb.msg, "cannot resolve '/nonexistent/"));
	appspec_release(&as);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(appspec_accepts_every_good_fixture),
		cmocka_unit_test(
		    appspec_rejects_bad_fixtures_with_the_expected_first_error),
		cmocka_unit_test(
		    appspec_agrees_with_every_shared_conformance_case),
		cmocka_unit_test(appspec_fills_the_whole_model),
		cmocka_unit_test(
		    appspec_defaults_pattern_mode_and_file_exists_behavior),
		cmocka_unit_test(appspec_reads_unquoted_mode_digits_as_written),
		cmocka_unit_test(
		    appspec_shares_an_anchored_script_between_events),
		cmocka_unit_test(appspec_reports_every_error_in_the_file),
		cmocka_unit_test(appspec_caps_the_number_of_errors),
		cmocka_unit_test(appspec_rejects_a_file_over_the_size_cap),
		cmocka_unit_test(appspec_rejects_more_scripts_than_the_cap),
		cmocka_unit_test(appspec_rejects_a_mapping_with_too_many_keys),
		cmocka_unit_test(appspec_load_says_which_file_is_missing),
		cmocka_unit_test(appspec_load_refuses_a_directory),
		cmocka_unit_test(appspec_release_is_safe_on_a_zeroed_model),
		cmocka_unit_test(appspec_names_events_both_ways),
		cmocka_unit_test(appspec_accepts_warn_fixtures_first_warning),
		cmocka_unit_test(appspec_warnings_keep_codedeploys_meaning),
		cmocka_unit_test(
		    appspec_parses_acl_entries_like_the_reference_agent),
		cmocka_unit_test(appspec_checks_selinux_ranges),
		cmocka_unit_test(appspec_reads_modes_as_octal_digits),
		cmocka_unit_test(
		    appspec_check_bundle_accepts_files_inside_the_bundle),
		cmocka_unit_test(
		    appspec_check_bundle_reports_every_bad_path),
		cmocka_unit_test(
		    appspec_check_bundle_says_when_the_root_is_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
