/* SPDX-License-Identifier: ISC */
/*
 * test_dests.c: the files: destinations a group owns on this host, and
 * the refusal of a deployment of another group that overlaps them
 * (lib/dests.c).
 */
#include "compat.h"

#include <sys/stat.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "appspec.h"
#include "dests.h"
#include "errbuf.h"
#include "fsutil.h"
#include "state.h"
#include "xalloc.h"

static char	 tmp[PATH_MAX];

static void
write_file(const char *path, const char *text)
{
	FILE	*fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* mkdir -p TMP/rel */
static void
mkdirs(const char *rel)
{
	char	*p = xasprintf("%s/%s", tmp, rel);
	char	*q;

	for (q = p + 1; *q != '\0'; q++)
		if (*q == '/') {
			*q = '\0';
			(void)mkdir(p, 0755);
			*q = '/';
		}
	(void)mkdir(p, 0755);
	free(p);
}

/*
 * ROOT/web/production live at releases/1-d-1, whose appspec links
 * /opt/web (a directory) and /etc/web/web.conf (a file).
 */
static int
setup(void **state)
{
	struct state	 st;
	struct errbuf	 eb;
	char		*p;

	(void)strlcpy(tmp, "/tmp/test_dests.XXXXXX", sizeof(tmp));
	if (mkdtemp(tmp) == NULL)
		return -1;
	mkdirs("web/production/releases/1-d-1/app");
	mkdirs("web/production/releases/1-d-1/conf");
	p = xasprintf("%s/web/production/releases/1-d-1/conf/web.conf", tmp);
	write_file(p, "x\n");
	free(p);
	p = xasprintf("%s/web/production/releases/1-d-1/appspec.yml", tmp);
	write_file(p, "version: 0.0\nos: linux\nfiles:\n"
	    "  - source: app\n    destination: /opt/web/\n"
	    "  - source: conf/web.conf\n    destination: /etc/web\n");
	free(p);
	state_init(&st);
	st.last_sequence = 1;
	st.current.sequence = 1;
	st.current.deployment_id = xstrdup("d-1");
	st.current.release = xstrdup("releases/1-d-1");
	p = xasprintf("%s/web/production/state.json", tmp);
	if (state_save(&st, p, false, &eb) == -1)
		return -1;
	free(p);
	state_release(&st);
	mkdirs("api/production/releases/2-d-2/srv");
	return 0;
}

static int
teardown(void **state)
{
	struct errbuf	 eb;

	return fs_rmtree(tmp, &eb);
}

static void
dests_overlap_rule(void **state)
{
	assert_true(dests_overlap("/opt/web", "/opt/web"));
	assert_true(dests_overlap("/opt/web", "/opt/web/static"));
	assert_true(dests_overlap("/opt/web/static", "/opt/web"));
	assert_true(dests_overlap("/", "/srv"));
	assert_false(dests_overlap("/opt/web", "/opt/webapp"));
	assert_false(dests_overlap("/opt/webapp", "/opt/web"));
	assert_false(dests_overlap("/etc/web/a.conf", "/etc/web/b.conf"));
}

/* Check an appspec of api/production against web/production. */
static int
check(const char *files, struct errbuf *eb)
{
	static const struct deploy_peer peers[] = {
		{ "web", "production" },
		{ "api", "production" },	/* itself: skipped */
		{ "none", "such" },		/* no state: owns nothing */
	};
	struct appspec	 as;
	char		*text, *rel;
	int		 rc;

	text = xasprintf("version: 0.0\nos: linux\nfiles:\n%s", files);
	rel = xasprintf("%s/api/production/releases/2-d-2", tmp);
	appspec_init(&as);
	assert_int_equal(appspec_parse(&as, text, strlen(text), NULL, eb), 0);
	rc = dests_check_peers(tmp, "api", "production", &as, rel, peers,
	    nitems(peers), eb);
	appspec_release(&as);
	free(rel);
	free(text);
	return rc;
}

static void
dests_refuse_overlap_naming_both(void **state)
{
	struct errbuf	 eb = { 0 };

	/* The same directory. */
	assert_int_equal(check("  - source: srv\n    destination: /opt/web\n",
	    &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_string_equal(eb.msg, "appspec.yml:4: files: destination "
	    "'/opt/web' of api/production overlaps '/opt/web', which "
	    "web/production owns on this host; one path belongs to one "
	    "group");
	/* Under it, and above it. */
	assert_int_equal(check("  - source: srv\n    destination: "
	    "/opt/web/api\n", &eb), -1);
	assert_int_equal(check("  - source: /\n    destination: /opt\n",
	    &eb), -1);
	assert_non_null(strstr(eb.msg, "'/opt' of api/production overlaps "
	    "'/opt/web'"));
	/* A file linked where the other group linked its file. */
	assert_int_equal(check("  - source: web.conf\n    destination: "
	    "/etc/web\n", &eb), -1);
	assert_non_null(strstr(eb.msg, "'/etc/web/web.conf'"));
}

static void
dests_allow_disjoint(void **state)
{
	struct errbuf	 eb = { 0 };

	assert_int_equal(check("  - source: srv\n    destination: /opt/api\n",
	    &eb), 0);
	/* Another file in the same directory is not an overlap. */
	assert_int_equal(check("  - source: api.conf\n    destination: "
	    "/etc/web\n", &eb), 0);
	assert_int_equal(check("  - source: srv\n    destination: "
	    "/opt/webapp\n", &eb), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dests_overlap_rule),
		cmocka_unit_test(dests_refuse_overlap_naming_both),
		cmocka_unit_test(dests_allow_disjoint),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
