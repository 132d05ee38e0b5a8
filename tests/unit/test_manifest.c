/* SPDX-License-Identifier: ISC */
/*
 * test_manifest.c: release manifests.  A tree just recorded is pristine,
 * also after the release is renamed; every kind of change (content
 * appended, mtime put back after a rewrite, mode, a file added, removed,
 * replaced, a symlink retargeted) makes it not, and says which entry.
 * Finding releases by sha256, renaming, removal and cleanup of orphans.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "errbuf.h"
#include "manifest.h"
#include "release.h"
#include "xalloc.h"

#define SHA_A	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" \
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbb0123"

#define REL	"1-d-AAAAAAAAA"	/* the release made by setup() */

static char	 gdir[PATH_MAX];

static void
write_file(const char *path, const char *text)
{
	FILE	*fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static char *
rpath(const char *rel, const char *sub)
{
	return xasprintf("%s/releases/%s%s%s", gdir, rel, sub[0] != '\0' ?
	    "/" : "", sub);
}

/* releases/NAME with a few files, a directory, a symlink. */
static void
make_release(const char *name)
{
	char	*p;

	p = rpath(name, "");
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = rpath(name, "config");
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = rpath(name, "config/app.conf");
	write_file(p, "base\n");
	free(p);
	p = rpath(name, "appspec.yml");
	write_file(p, "version: 0.0\nos: linux\n");
	free(p);
	p = rpath(name, "name with space");
	write_file(p, "x");
	free(p);
	p = rpath(name, "link");
	assert_int_equal(symlink("config/app.conf", p), 0);
	free(p);
}

static int
setup(void **state)
{
	char	*p;

	(void)strlcpy(gdir, "/tmp/test_manifest.XXXXXX", sizeof(gdir));
	if (mkdtemp(gdir) == NULL)
		return -1;
	p = xasprintf("%s/releases", gdir);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	make_release(REL);
	return 0;
}

static int
teardown(void **state)
{
	struct errbuf	 eb;

	return release_rmtree(gdir, &eb);
}

/* manifest_check() == 0, and its reason contains 'want'. */
static void
assert_changed(const char *name, const char *want)
{
	struct errbuf	 eb = { 0 };
	char		*why = NULL;

	assert_int_equal(manifest_check(gdir, name, &why, &eb), 0);
	assert_non_null(why);
	if (strstr(why, want) == NULL)
		fail_msg("reason '%s' lacks '%s'", why, want);
	free(why);
}

static void
assert_pristine(const char *name)
{
	struct errbuf	 eb = { 0 };
	char		*why = NULL;
	int		 r;

	r = manifest_check(gdir, name, &why, &eb);
	if (r != 1)
		fail_msg("not pristine: %s", r == 0 ? why : eb.msg);
}

/* (Re)write the manifest of REL. */
static void
record(void)
{
	struct errbuf	 eb = { 0 };

	if (manifest_write(gdir, REL, SHA_A, &eb) == -1)
		fail_msg("%s", eb.msg);
}

static void
manifest_fresh_tree_is_pristine_also_renamed(void **unused)
{
	struct errbuf	 eb = { 0 };
	char		*a, *b;

	record();
	assert_pristine(REL);
	/* Reading changes nothing. */
	a = rpath(REL, "config/app.conf");
	assert_int_equal(access(a, R_OK), 0);
	free(a);
	assert_pristine(REL);
	/* Reuse renames the release and its manifest. */
	a = rpath(REL, "");
	b = rpath("5-d-BBBBBBBBB", "");
	assert_int_equal(rename(a, b), 0);
	assert_int_equal(manifest_rename(gdir, REL,
	    "5-d-BBBBBBBBB", &eb), 0);
	assert_pristine("5-d-BBBBBBBBB");
	assert_changed(REL, "the release is gone");
	free(a);
	free(b);
}

static void
manifest_sees_appended_and_restored_mtime(void **unused)
{
	struct stat	 st;
	struct timespec	 ts[2];
	char		*p;
	FILE		*fp;

	record();
	p = rpath(REL, "config/app.conf");
	assert_int_equal(lstat(p, &st), 0);
	fp = fopen(p, "a");
	assert_non_null(fp);
	fputs("rendered\n", fp);
	fclose(fp);
	assert_changed(REL, "'config/app.conf' was modified");

	/* Same size and mtime put back: the ctime still tells. */
	write_file(p, "BASE\n");
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	assert_changed(REL, "'config/app.conf' was modified");
	free(p);
}

static void
manifest_sees_mode_added_removed_and_symlinks(void **unused)
{
	char		*p;

	record();
	p = rpath(REL, "appspec.yml");
	assert_int_equal(chmod(p, 0600), 0);
	assert_changed(REL, "'appspec.yml' was modified");
	assert_int_equal(chmod(p, 0644), 0);	/* ctime moved on */
	assert_changed(REL, "'appspec.yml' was modified");
	free(p);

	record();
	p = rpath(REL, "zz-new");
	write_file(p, "");
	assert_changed(REL, "added");
	assert_int_equal(unlink(p), 0);
	free(p);

	record();
	p = rpath(REL, "name with space");
	assert_int_equal(unlink(p), 0);
	assert_changed(REL, "name\\x20with\\x20space");
	free(p);

	record();
	p = rpath(REL, "link");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("appspec.yml", p), 0);
	assert_changed(REL, "'link' was modified");
	free(p);

	/* A file added in a subdirectory also changes its mtime. */
	record();
	p = rpath(REL, "config/extra");
	write_file(p, "");
	assert_changed(REL, "'config' was modified");
	free(p);
}

static void
manifest_missing_or_torn_is_not_pristine(void **unused)
{
	char		*p;

	assert_changed(REL, "no manifest");
	record();
	p = xasprintf("%s/releases/%s1-d-AAAAAAAAA", gdir, MANIFEST_PREFIX);
	assert_int_equal(truncate(p, 100), 0);	/* inside the first entry */
	assert_changed(REL, "unreadable");
	write_file(p, "something else\n");
	assert_changed(REL, "unreadable");
	free(p);
}

static void
manifest_find_by_sha_newest_first_and_clean(void **unused)
{
	struct errbuf	 eb = { 0 };
	char		**names, *p;
	size_t		 n;

	make_release("2-d-CCCCCCCCC");
	make_release("10-d-DDDDDDDDD");
	record();
	assert_int_equal(manifest_write(gdir, "2-d-CCCCCCCCC", SHA_B, &eb),
	    0);
	assert_int_equal(manifest_write(gdir, "10-d-DDDDDDDDD", SHA_A, &eb),
	    0);
	assert_int_equal(manifest_find(gdir, SHA_A, &names, &n, &eb), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "10-d-DDDDDDDDD");
	assert_string_equal(names[1], REL);
	release_names_free(names, n);

	/* A manifest whose release is gone is not found, then cleaned. */
	p = rpath("10-d-DDDDDDDDD", "");
	assert_int_equal(release_rmtree(p, &eb), 0);
	free(p);
	assert_int_equal(manifest_find(gdir, SHA_A, &names, &n, &eb), 0);
	assert_int_equal(n, 1);
	release_names_free(names, n);
	release_clean_tmp(gdir);
	p = xasprintf("%s/releases/%s10-d-DDDDDDDDD", gdir, MANIFEST_PREFIX);
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	p = xasprintf("%s/releases/%s1-d-AAAAAAAAA", gdir, MANIFEST_PREFIX);
	assert_int_equal(access(p, F_OK), 0);
	manifest_remove(gdir, REL);
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	assert_int_equal(manifest_find(gdir, SHA_B, &names, &n, &eb), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "2-d-CCCCCCCCC");
	release_names_free(names, n);
}

static void
manifest_prune_removes_the_manifest_with_its_release(void **unused)
{
	struct errbuf	 eb = { 0 };
	char		*p;

	make_release("2-d-CCCCCCCCC");
	record();
	assert_int_equal(manifest_write(gdir, "2-d-CCCCCCCCC", SHA_A, &eb),
	    0);
	assert_int_equal(release_prune(gdir, 1, NULL, 0, &eb), 1);
	p = xasprintf("%s/releases/%s1-d-AAAAAAAAA", gdir, MANIFEST_PREFIX);
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	assert_pristine("2-d-CCCCCCCCC");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    manifest_fresh_tree_is_pristine_also_renamed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    manifest_sees_appended_and_restored_mtime, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    manifest_sees_mode_added_removed_and_symlinks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    manifest_missing_or_torn_is_not_pristine, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    manifest_find_by_sha_newest_first_and_clean, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    manifest_prune_removes_the_manifest_with_its_release,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
