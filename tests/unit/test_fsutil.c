/* SPDX-License-Identifier: ISC */
/*
 * test_fsutil.c: lib/fsutil.c on real files in a temporary directory:
 * mkdir -p, atomic replacement of a file (the old file or the new one,
 * never a temporary file left behind) and of a symlink, removing a tree
 * (deep, with a directory nobody may enter) without following a symlink
 * out of it, emptying a directory.
 */
#include "compat.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "errbuf.h"
#include "fsutil.h"
#include "slurp.h"
#include "xalloc.h"

static char	 tmp[PATH_MAX];

static int
setup(void **state)
{
	(void)strlcpy(tmp, "/tmp/test_fsutil.XXXXXX", sizeof(tmp));
	return mkdtemp(tmp) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	struct errbuf	 eb = { 0 };

	return fs_rmtree(tmp, &eb);
}

static void
put(const char *path, const char *text)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_int_not_equal(fd, -1);
	assert_int_equal(write_full(fd, text, strlen(text)), 0);
	assert_int_equal(close(fd), 0);
}

static bool
exists(const char *path)
{
	struct stat	 st;

	return lstat(path, &st) == 0;
}

static void
mkdirs_makes_parents_and_accepts_existing(void **state)
{
	struct errbuf	 eb = { 0 };
	struct stat	 st;
	char		*p;

	p = xasprintf("%s/a//b/c/", tmp);
	assert_int_equal(fs_mkdirs(p, 0755, &eb), 0);
	assert_int_equal(fs_mkdirs(p, 0755, &eb), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	free(p);

	/* A file in the way is named. */
	p = xasprintf("%s/f", tmp);
	put(p, "x");
	free(p);
	p = xasprintf("%s/f/g", tmp);
	assert_int_equal(fs_mkdirs(p, 0755, &eb), -1);
	assert_int_equal(eb.kind, EK_IO);
	assert_non_null(strstr(eb.msg, "cannot create directory"));
	assert_non_null(strstr(eb.msg, "/f/g'"));
	free(p);
}

/* The number of entries in the test directory. */
static int
entries(void)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	assert_non_null(d = opendir(tmp));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
replace_writes_then_replaces_leaving_no_temporary(void **state)
{
	struct errbuf	 eb = { 0 };
	struct stat	 st;
	char		*p, *text;

	p = xasprintf("%s/state.json", tmp);
	assert_int_equal(fs_replace(p, "one\n", 4, 0644, true, &eb), 0);
	assert_non_null(text = slurp(p, NULL));
	assert_string_equal(text, "one\n");
	free(text);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(fs_replace(p, "two", 3, 0600, false, &eb), 0);
	assert_non_null(text = slurp(p, NULL));
	assert_string_equal(text, "two");
	free(text);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(entries(), 1);
	free(p);

	/* A missing directory: the temporary file is named. */
	p = xasprintf("%s/none/state.json", tmp);
	assert_int_equal(fs_replace(p, "x", 1, 0644, true, &eb), -1);
	assert_int_equal(eb.kind, EK_IO);
	assert_non_null(strstr(eb.msg, "cannot create"));
	assert_non_null(strstr(eb.msg, "/none/state.json.tmp-"));
	free(p);
}

static void
atomic_keeps_the_old_file_until_commit(void **state)
{
	struct errbuf	 eb = { 0 };
	struct fs_atomic a = { .fd = -1 };
	FILE		*fp;
	char		*p, *tmpl, *text;

	p = xasprintf("%s/rec", tmp);
	put(p, "old");
	tmpl = xasprintf("%s/.rec.XXXXXX", tmp);

	/* Aborted: the old file stays, the temporary goes. */
	assert_int_equal(fs_atomic_begin(&a, p, tmpl, 0644, &eb), 0);
	assert_non_null(strstr(a.tmp, "/.rec."));
	assert_int_equal(write_full(a.fd, "new", 3), 0);
	assert_int_equal(entries(), 2);
	fs_atomic_abort(&a);
	assert_int_equal(a.fd, -1);
	assert_int_equal(entries(), 1);
	assert_non_null(text = slurp(p, NULL));
	assert_string_equal(text, "old");
	free(text);

	/* Through a stream the caller closes: commit only renames. */
	assert_int_equal(fs_atomic_begin(&a, p, tmpl, 0644, &eb), 0);
	assert_non_null(fp = fdopen(a.fd, "w"));
	assert_true(fprintf(fp, "new") == 3);
	a.fd = -1;
	assert_int_equal(fclose(fp), 0);
	assert_non_null(text = slurp(p, NULL));
	assert_string_equal(text, "old");
	free(text);
	assert_int_equal(fs_atomic_commit(&a, false, &eb), 0);
	assert_null(a.tmp);
	fs_atomic_abort(&a);
	assert_non_null(text = slurp(p, NULL));
	assert_string_equal(text, "new");
	free(text);
	assert_int_equal(entries(), 1);

	/* Cannot rename over a directory: named, and no temporary left. */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(fs_atomic_begin(&a, p, tmpl, 0644, &eb), 0);
	assert_int_equal(fs_atomic_commit(&a, true, &eb), -1);
	assert_non_null(strstr(eb.msg, "cannot rename"));
	assert_non_null(strstr(eb.msg, "/rec'"));
	fs_atomic_abort(&a);
	assert_int_equal(entries(), 1);
	free(tmpl);
	free(p);
}

static void
symlink_replace_swaps_the_target(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*link, *tmpl, buf[64];
	ssize_t		 n;

	link = xasprintf("%s/current", tmp);
	tmpl = xasprintf("%s/.current.tmp", tmp);
	assert_int_equal(fs_symlink_replace(link, "releases/1", tmpl, &eb), 0);
	put(tmpl, "left over");	/* a crash's leftover is replaced */
	assert_int_equal(fs_symlink_replace(link, "releases/2", tmpl, &eb), 0);
	assert_int_not_equal(n = readlink(link, buf, sizeof(buf) - 1), -1);
	buf[n] = '\0';
	assert_string_equal(buf, "releases/2");
	assert_false(exists(tmpl));
	assert_int_equal(entries(), 1);

	/* A directory in the way: named, and no temporary link left. */
	assert_int_equal(unlink(link), 0);
	assert_int_equal(mkdir(link, 0755), 0);
	assert_int_equal(fs_symlink_replace(link, "releases/3", tmpl, &eb), -1);
	assert_int_equal(eb.kind, EK_IO);
	assert_non_null(strstr(eb.msg, "cannot rename"));
	assert_false(exists(tmpl));
	free(tmpl);
	free(link);
}

static void
sync_parent_accepts_a_file_in_the_working_directory(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*p;

	p = xasprintf("%s/f", tmp);
	assert_int_equal(fs_sync_parent(p, &eb), 0);
	assert_int_equal(fs_sync_parent("f", &eb), 0);
	assert_int_equal(fs_sync_parent("/f", &eb), 0);
	free(p);
	p = xasprintf("%s/none/f", tmp);
	assert_int_equal(fs_sync_parent(p, &eb), -1);
	assert_non_null(strstr(eb.msg, "/none'"));
	free(p);
}

static void
rmtree_removes_a_tree_not_what_its_symlinks_point_to(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*top, *p, *outside;

	outside = xasprintf("%s/outside", tmp);
	assert_int_equal(mkdir(outside, 0755), 0);
	p = xasprintf("%s/keep", outside);
	put(p, "kept");
	free(p);

	top = xasprintf("%s/tree", tmp);
	p = xasprintf("%s/a/b/c", top);
	assert_int_equal(fs_mkdirs(p, 0755, &eb), 0);
	free(p);
	p = xasprintf("%s/a/b/c/file", top);
	put(p, "data");
	free(p);
	p = xasprintf("%s/a/link", top);
	assert_int_equal(symlink(outside, p), 0);
	free(p);

	assert_int_equal(fs_rmtree(top, &eb), 0);
	assert_false(exists(top));
	p = xasprintf("%s/keep", outside);
	assert_true(exists(p));
	free(p);

	/* Missing: fine.  A file or a symlink: removed itself. */
	assert_int_equal(fs_rmtree(top, &eb), 0);
	p = xasprintf("%s/file", tmp);
	put(p, "x");
	assert_int_equal(fs_rmtree(p, &eb), 0);
	assert_false(exists(p));
	assert_int_equal(symlink(outside, p), 0);
	assert_int_equal(fs_rmtree(p, &eb), 0);
	assert_false(exists(p));
	assert_true(exists(outside));
	free(p);
	free(top);
	free(outside);
}

static void
rmtree_removes_deep_and_closed_directories(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*top, *p;
	size_t		 len;

	/* 600 levels: deeper than any bundle (BUNDLE_PATH_MAX). */
	top = xasprintf("%s/deep", tmp);
	p = xmalloc(strlen(top) + 601 * 2 + 1);	/* 600 "/d" and "/f" */
	len = strlen(top);
	memcpy(p, top, len + 1);
	assert_int_equal(mkdir(p, 0755), 0);
	for (int i = 0; i < 600; i++) {
		memcpy(p + len, "/d", 3);
		len += 2;
		assert_int_equal(mkdir(p, 0755), 0);
	}
	memcpy(p + len, "/f", 3);
	put(p, "x");
	free(p);

	/* A directory nobody may enter (an archive can make one). */
	p = xasprintf("%s/deep/d/shut", tmp);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/deep/d/shut/f", tmp);
	put(p, "x");
	free(p);
	p = xasprintf("%s/deep/d/shut", tmp);
	assert_int_equal(chmod(p, 0), 0);
	free(p);

	assert_int_equal(fs_rmtree(top, &eb), 0);
	assert_false(exists(top));
	free(top);
}

static void
empty_dirfd_keeps_the_directory(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*p;
	int		 fd;

	p = xasprintf("%s/a/b", tmp);
	assert_int_equal(fs_mkdirs(p, 0755, &eb), 0);
	free(p);
	p = xasprintf("%s/a/b/f", tmp);
	put(p, "x");
	free(p);
	p = xasprintf("%s/top", tmp);
	put(p, "x");
	free(p);
	assert_int_not_equal(fd = open(tmp, O_RDONLY | O_DIRECTORY), -1);
	assert_int_equal(fs_empty_dirfd(fd, tmp, &eb), 0);
	assert_int_equal(close(fd), 0);
	assert_true(exists(tmp));
	assert_int_equal(entries(), 0);
}

static void
rmtree_names_the_entry_it_could_not_remove(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*top, *p;

	/* A path that cannot be looked up is named. */
	p = xasprintf("%s/file", tmp);
	put(p, "x");
	free(p);
	p = xasprintf("%s/file/sub", tmp);
	assert_int_equal(fs_rmtree(p, &eb), -1);
	assert_int_equal(eb.kind, EK_IO);
	assert_non_null(strstr(eb.msg, "cannot stat"));
	assert_non_null(strstr(eb.msg, "/file/sub'"));
	free(p);

	/* As root a read-only directory is no obstacle: nothing more. */
	if (geteuid() == 0)
		return;
	top = xasprintf("%s/ro", tmp);
	assert_int_equal(mkdir(top, 0755), 0);
	p = xasprintf("%s/stuck", top);
	put(p, "x");
	assert_int_equal(chmod(top, 0555), 0);
	assert_int_equal(fs_rmtree(top, &eb), -1);
	assert_int_equal(eb.kind, EK_IO);
	assert_non_null(strstr(eb.msg, "cannot remove"));
	assert_non_null(strstr(eb.msg, "/ro/stuck'"));
	assert_int_equal(chmod(top, 0755), 0);
	free(p);
	free(top);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    mkdirs_makes_parents_and_accepts_existing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    replace_writes_then_replaces_leaving_no_temporary, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    atomic_keeps_the_old_file_until_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    symlink_replace_swaps_the_target, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    sync_parent_accepts_a_file_in_the_working_directory, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    rmtree_removes_a_tree_not_what_its_symlinks_point_to,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    rmtree_removes_deep_and_closed_directories, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    empty_dirfd_keeps_the_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    rmtree_names_the_entry_it_could_not_remove, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
