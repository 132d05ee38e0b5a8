/* SPDX-License-Identifier: ISC */
/*
 * test_validate.c: bundle_validate(), the check `hookd validate` and
 * `deployer` share: a valid directory and archive, every appspec error
 * reported with the caller's naming, bundle-level errors prefixed, and
 * nothing ever written under $TMPDIR (an archive is scanned, not
 * extracted).  Trees are written by the
 * test; the archive is built with libarchive's writer.
 */
#include "compat.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>

#include "appspec.h"
#include "archive_fixture.h"
#include "errbuf.h"
#include "fsutil.h"
#include "validate.h"
#include "xalloc.h"

#include "banned.h"

static const char good_appspec[] =
    "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n"
    "    - location: scripts/start.sh\n";
static const char bad_appspec[] =
    "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n"
    "    - location: scripts/missing.sh\n  ValidateService:\n"
    "    - location: scripts/gone.sh\n";

struct fx {
	char	 root[64];	/* mkdtemp */
	char	 tree[128];	/* a bundle directory */
	char	 tmp[128];	/* $TMPDIR: must be empty after each call */
	char	 arch[128];	/* an archive */
	char	*oldtmp;
};

static void
put(const char *dir, const char *name, const char *data)
{
	char	 path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "we"));
	assert_int_equal(fputs(data, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
make_tree(struct fx *fx, const char *appspec)
{
	char	 path[256];

	assert_int_equal(mkdir(fx->tree, 0700), 0);
	snprintf(path, sizeof(path), "%s/scripts", fx->tree);
	assert_int_equal(mkdir(path, 0700), 0);
	if (appspec != NULL)
		put(fx->tree, "appspec.yml", appspec);
	put(fx->tree, "scripts/start.sh", "#!/bin/sh\nexit 0\n");
}

/* A .tar.gz holding appspec.yml and scripts/start.sh. */
static void
make_tgz(struct fx *fx, const char *appspec)
{
	const struct ent ents[] = {
		{ "appspec.yml", AE_IFREG, 0755, appspec, 0, 0 },
		{ "scripts/start.sh", AE_IFREG, 0755, "#!/bin/sh\nexit 0\n", 0,
		    0 },
	};

	make_archive(fx->arch, A_TGZ, ents, nitems(ents));
}

static void
assert_tmp_empty(const struct fx *fx)
{
	assert_int_equal(count_entries(fx->tmp), 0);
}

static int
setup(void **state)
{
	struct fx	*fx = xcalloc(1, sizeof(*fx));
	const char	*old = secure_getenv("TMPDIR");

	strlcpy(fx->root, "/tmp/test_validate.XXXXXX", sizeof(fx->root));
	assert_non_null(mkdtemp(fx->root));
	snprintf(fx->tree, sizeof(fx->tree), "%s/web", fx->root);
	snprintf(fx->tmp, sizeof(fx->tmp), "%s/tmp", fx->root);
	snprintf(fx->arch, sizeof(fx->arch), "%s/web.tgz", fx->root);
	assert_int_equal(mkdir(fx->tmp, 0700), 0);
	fx->oldtmp = old != NULL ? xstrdup(old) : NULL;
	assert_int_equal(setenv("TMPDIR", fx->tmp, 1), 0);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;
	struct errbuf	 eb = { 0 };

	if (fx->oldtmp != NULL)
		setenv("TMPDIR", fx->oldtmp, 1);
	else
		unsetenv("TMPDIR");
	assert_int_equal(fs_rmtree(fx->root, &eb), 0);
	free(fx->oldtmp);
	free(fx);
	return 0;
}

static void
validate_accepts_a_good_directory_in_place(void **state)
{
	struct fx	*fx = *state;
	struct appspec	 as;
	struct errbuf	 eb = { 0 };
	char		 label[160];

	make_tree(fx, good_appspec);
	snprintf(label, sizeof(label), "%s//", fx->tree);
	appspec_init(&as);
	assert_int_equal(bundle_validate(&as, fx->tree, label, "/", "x: ",
	    &eb), 0);
	assert_int_equal(as.nhooks[LC_APPLICATION_START], 1);
	assert_int_equal(as.nerrors, 0);
	snprintf(label, sizeof(label), "%s/appspec.yml", fx->tree);
	assert_string_equal(as.path, label);
	appspec_release(&as);
	assert_tmp_empty(fx);
}

static void
validate_reports_every_appspec_error(void **state)
{
	struct fx	*fx = *state;
	struct appspec	 as;
	struct errbuf	 eb = { 0 };

	make_tree(fx, bad_appspec);
	appspec_init(&as);
	assert_int_equal(bundle_validate(&as, fx->tree, "HEAD (abc)", ":",
	    "bundle of HEAD: ", &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_int_equal(as.nerrors, 2);
	assert_non_null(strstr(as.errors[0], "HEAD (abc):appspec.yml:5:"));
	assert_non_null(strstr(as.errors[0], "scripts/missing.sh"));
	assert_non_null(strstr(as.errors[1], "scripts/gone.sh"));
	assert_null(strstr(eb.msg, "bundle of"));
	appspec_release(&as);
}

static void
validate_prefixes_a_missing_appspec(void **state)
{
	struct fx	*fx = *state;
	struct appspec	 as;
	struct errbuf	 eb = { 0 };

	make_tree(fx, NULL);
	appspec_init(&as);
	assert_int_equal(bundle_validate(&as, fx->tree, "web", "/",
	    "'web': ", &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_int_equal(as.nerrors, 0);
	assert_non_null(strstr(eb.msg, "'web': no appspec.yml"));
	appspec_release(&as);
}

static void
validate_extracts_an_archive_and_removes_the_scratch(void **state)
{
	struct fx	*fx = *state;
	struct appspec	 as;
	struct errbuf	 eb = { 0 };

	make_tgz(fx, good_appspec);
	appspec_init(&as);
	assert_int_equal(bundle_validate(&as, fx->arch, "HEAD (abc)", ":",
	    NULL, &eb), 0);
	assert_string_equal(as.path, "HEAD (abc):appspec.yml");
	appspec_release(&as);
	assert_tmp_empty(fx);

	make_tgz(fx, bad_appspec);
	appspec_init(&as);
	assert_int_equal(bundle_validate(&as, fx->arch, "HEAD (abc)", ":",
	    NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_int_equal(as.nerrors, 2);
	appspec_release(&as);
	assert_tmp_empty(fx);
}

static void
validate_prefixes_a_corrupt_archive_and_removes_the_scratch(void **state)
{
	struct fx	*fx = *state;
	struct appspec	 as;
	struct errbuf	 eb = { 0 };

	put(fx->root, "web.tgz", "\037\213 not really gzip\n");
	appspec_init(&as);
	assert_int_equal(bundle_validate(&as, fx->arch, "web.tgz", "/",
	    "'web.tgz': ", &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_int_equal(as.nerrors, 0);
	assert_int_equal(strncmp(eb.msg, "'web.tgz': ", 11), 0);
	appspec_release(&as);
	assert_tmp_empty(fx);
}

/*
 * An archive is scanned, not extracted: a $TMPDIR that does not exist
 * changes nothing (it used to fail with "cannot create").
 */
static void
validate_needs_no_scratch_directory(void **state)
{
	struct fx	*fx = *state;
	struct appspec	 as;
	struct errbuf	 eb = { 0 };
	char		 bad[160];

	make_tgz(fx, good_appspec);
	snprintf(bad, sizeof(bad), "%s/nonexistent", fx->root);
	assert_int_equal(setenv("TMPDIR", bad, 1), 0);
	appspec_init(&as);
	if (bundle_validate(&as, fx->arch, "web.tgz", "/", "'web.tgz': ",
	    &eb) != 0)
		fail_msg("%s", eb.msg);
	assert_string_equal(as.path, "web.tgz/appspec.yml");
	appspec_release(&as);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    validate_accepts_a_good_directory_in_place, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    validate_reports_every_appspec_error, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    validate_prefixes_a_missing_appspec, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    validate_extracts_an_archive_and_removes_the_scratch,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    validate_prefixes_a_corrupt_archive_and_removes_the_scratch,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    validate_needs_no_scratch_directory, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
