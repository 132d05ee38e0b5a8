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

#include "bundle.h"
#include "errbuf.h"
#include "fsutil.h"
#include "manifest.h"
#include "release.h"
#include "slurp.h"
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

	return fs_rmtree(gdir, &eb);
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

/* The first line of a file, without its newline (new string). */
static char *
slurp_first_line(const char *path)
{
	char	*text;
	size_t	 len;

	text = slurp(path, &len);
	assert_true(len > 0);
	text[strcspn(text, "\n")] = '\0';
	return text;
}

/* Replace the bound in a hookd.manifest/2 header. */
static void
rewrite_bound(const char *path, const char *bound)
{
	char	*first, *rest, *sp, *text;
	FILE	*fp;

	text = slurp(path, NULL);
	rest = strchr(text, '\n');
	assert_non_null(rest);
	*rest++ = '\0';
	first = text;
	sp = strrchr(first, ' ');
	assert_non_null(sp);
	*sp = '\0';
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "%s %s\n%s", first, bound, rest);
	fclose(fp);
	free(text);
}

/* (Re)write the manifest of REL. */
static void
record(void)
{
	struct errbuf	 eb = { 0 };

	if (manifest_write(gdir, REL, SHA_A, &eb) == -1)
		fail_msg("%s", eb.msg);
}

/*
 * A recorded release stays pristine when read, and once reuse renamed it
 * and its manifest to "5-d-BBBBBBBBB" (it is left there).
 */
static void
assert_read_then_renamed_pristine(void)
{
	struct errbuf	 eb = { 0 };
	char		*a, *b;

	a = rpath(REL, "config/app.conf");
	assert_int_equal(access(a, R_OK), 0);
	free(a);
	assert_pristine(REL);
	a = rpath(REL, "");
	b = rpath("5-d-BBBBBBBBB", "");
	assert_int_equal(rename(a, b), 0);
	assert_int_equal(manifest_rename(gdir, REL, "5-d-BBBBBBBBB", &eb), 0);
	assert_pristine("5-d-BBBBBBBBB");
	free(a);
	free(b);
}

static void
manifest_fresh_tree_is_pristine_also_renamed(void **unused)
{
	record();
	assert_pristine(REL);
	assert_read_then_renamed_pristine();
	assert_changed(REL, "the release is gone");
}


/*
 * After a recorded manifest: appending to a file, and then putting its
 * size and mtime back, are each seen (the ctime tells).
 */
static void
assert_rewrite_is_seen(void)
{
	struct stat	 st;
	struct timespec	 ts[2];
	char		*p;
	FILE		*fp;

	p = rpath(REL, "config/app.conf");
	assert_int_equal(lstat(p, &st), 0);
	fp = fopen(p, "a");
	assert_non_null(fp);
	fputs("rendered\n", fp);
	fclose(fp);
	assert_changed(REL, "'config/app.conf' was modified");
	write_file(p, "BASE\n");
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	assert_changed(REL, "'config/app.conf' was modified");
	free(p);
}

static void
manifest_sees_appended_and_restored_mtime(void **unused)
{
	record();
	assert_rewrite_is_seen();
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
	assert_int_equal(fs_rmtree(p, &eb), 0);
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

/*
 * hookd.manifest/2: written from what the extraction made (here, the
 * tree make_release() makes, as bundle_extract_ex() would describe it),
 * under 'prefix'.
 */
static void
record_tree(const char *prefix)
{
	static const struct {
		const char	*path, *target;
		int64_t		 size, mtime;
		long		 nsec;
		bool		 mtime_set;
		char		 type;
	} v[] = {
		{ "config", NULL, -1, 0, 0, false, 'd' },
		{ "config/app.conf", NULL, 5, 0, 0, false, 'f' },
		{ "appspec.yml", NULL, 23, 1700000000, 5, true, 'f' },
		{ "name with space", NULL, -1, 0, 0, false, 'f' },
		{ "link", "config/app.conf", -1, 0, 0, false, 'l' },
		{ "elsewhere/x", NULL, 1, 0, 0, false, 'f' },
	};
	struct bundle_tree t;
	struct errbuf	 eb = { 0 };
	struct timespec	 ts[2] = { { 0, UTIME_OMIT }, { 1700000000, 5 } };
	char		*p;
	size_t		 n = nitems(v) - (prefix[0] == '\0');

	p = rpath(REL, "appspec.yml");
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	free(p);
	bundle_tree_init(&t);
	t.v = xcalloc(n, sizeof(*t.v));
	for (size_t i = 0; i < n; i++) {
		t.v[t.n].size = v[i].size;
		t.v[t.n].mtime = v[i].mtime;
		t.v[t.n].mtime_nsec = v[i].nsec;
		t.v[t.n].mtime_set = v[i].mtime_set;
		t.v[t.n].type = v[i].type;
		t.v[t.n].path = i < 5 && prefix[0] != '\0' ?
		    xasprintf("%s/%s", prefix, v[i].path) : xstrdup(v[i].path);
		t.v[t.n].target = v[i].target != NULL ? xstrdup(v[i].target) :
		    NULL;
		t.n++;
	}
	if (manifest_write_tree(gdir, REL, SHA_A, &t, prefix, &eb) == -1)
		fail_msg("%s", eb.msg);
	bundle_tree_release(&t);
}

static void
manifest_tree_is_pristine_also_renamed(void **unused)
{
	struct errbuf	 eb = { 0 };
	char		**names, *a, *b;
	size_t		 n;

	record_tree("");
	assert_pristine(REL);
	a = xasprintf("%s/releases/%s%s", gdir, MANIFEST_PREFIX, REL);
	b = slurp_first_line(a);
	assert_non_null(strstr(b, MANIFEST_SCHEMA2 " " SHA_A " "));
	free(a);
	free(b);
	assert_read_then_renamed_pristine();
	assert_int_equal(manifest_find(gdir, SHA_A, &names, &n, &eb), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "5-d-BBBBBBBBB");
	release_names_free(names, n);
	a = rpath(REL, "");
	b = rpath("5-d-BBBBBBBBB", "");
	assert_int_equal(rename(b, a), 0);
	assert_int_equal(manifest_rename(gdir, "5-d-BBBBBBBBB", REL, &eb), 0);
	free(a);
	free(b);

	/* The tree below a prefix (the bundle's single top directory). */
	record_tree("top");
	assert_pristine(REL);
}

static void
manifest_tree_sees_every_change(void **unused)
{
	char		*p;

	record_tree("");
	assert_rewrite_is_seen();

	record_tree("");
	p = rpath(REL, "appspec.yml");
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(chmod(p, 0644), 0);
	assert_changed(REL, "'appspec.yml' was modified");
	free(p);

	record_tree("");
	p = rpath(REL, "zz-new");
	write_file(p, "");
	assert_changed(REL, "added");
	assert_int_equal(unlink(p), 0);
	free(p);

	record_tree("");
	p = rpath(REL, "name with space");
	assert_int_equal(unlink(p), 0);
	assert_changed(REL, "name\\x20with\\x20space");
	write_file(p, "x");
	free(p);

	record_tree("");
	p = rpath(REL, "link");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("appspec.yml", p), 0);
	assert_changed(REL, "'link' was modified");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("config/app.conf", p), 0);
	free(p);

	record_tree("");
	p = rpath(REL, "config/extra");
	write_file(p, "");
	assert_changed(REL, "'config' was modified");
	assert_int_equal(unlink(p), 0);
	free(p);

	/* What the extraction knew must hold: here, a size. */
	p = rpath(REL, "config/app.conf");
	write_file(p, "longer than five\n");
	record_tree("");
	assert_changed(REL, "'config/app.conf' was modified");
	free(p);
}

static void
manifest_tree_refuses_a_clock_gone_back(void **unused)
{
	char	*p, *text;

	record_tree("");
	assert_pristine(REL);
	/* A bound in the future: the clock was stepped back since. */
	p = xasprintf("%s/releases/%s%s", gdir, MANIFEST_PREFIX, REL);
	text = slurp_first_line(p);
	free(text);
	rewrite_bound(p, "99999999999.000000000");
	assert_changed(REL, "clock");
	rewrite_bound(p, "12x.5");
	assert_changed(REL, "unreadable");
	free(p);
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
		cmocka_unit_test_setup_teardown(
		    manifest_tree_is_pristine_also_renamed, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    manifest_tree_sees_every_change, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    manifest_tree_refuses_a_clock_gone_back, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
