/* SPDX-License-Identifier: ISC */
/*
 * test_release.c: lib/release.c on real files in a temporary directory:
 * the 'current' switch (relative, by rename), files: destinations under
 * each file_exists_behavior and their undo, retention keeping the
 * protected releases, and permissions (mode, ACLs) reaching the new
 * release through a destination path.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
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

#include <sys/acl.h>

#include "appspec.h"
#include "errbuf.h"
#include "fsutil.h"
#include "release.h"
#include "xalloc.h"

static char	 tmp[PATH_MAX];
static char	*gdir;

static int
setup(void **state)
{
	char	*p;

	(void)strlcpy(tmp, "/tmp/test_release.XXXXXX", sizeof(tmp));
	if (mkdtemp(tmp) == NULL)
		return -1;
	gdir = xasprintf("%s/web/prod", tmp);
	p = xasprintf("%s/web", tmp);
	(void)mkdir(p, 0755);
	free(p);
	(void)mkdir(gdir, 0755);
	p = xasprintf("%s/releases", gdir);
	(void)mkdir(p, 0755);
	free(p);
	return 0;
}

static int
teardown(void **state)
{
	struct errbuf	 eb;
	int		 r;

	r = fs_rmtree(tmp, &eb);
	free(gdir);
	gdir = NULL;
	return r;
}

static void
write_file(const char *path, const char *text)
{
	FILE	*fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* releases/NAME with app/index.html and conf/app.conf; returns its path. */
static char *
make_release(const char *name)
{
	char	*dir, *p;

	dir = xasprintf("%s/releases/%s", gdir, name);
	assert_int_equal(mkdir(dir, 0755), 0);
	p = xasprintf("%s/app", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/conf", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/app/index.html", dir);
	write_file(p, name);
	free(p);
	p = xasprintf("%s/conf/app.conf", dir);
	write_file(p, "x=1\n");
	free(p);
	return dir;
}

static char *
read_link(const char *path)
{
	char	 buf[PATH_MAX];
	ssize_t	 n;

	n = readlink(path, buf, sizeof(buf) - 1);
	if (n == -1)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

static void
parse(struct appspec *as, const char *yaml)
{
	struct errbuf	 eb = { 0 };

	appspec_init(as);
	if (appspec_parse(as, yaml, strlen(yaml), "appspec.yml", &eb) == -1)
		fail_msg("%s", eb.msg);
}

static void
release_switch_is_relative_and_replaces_by_rename(void **unused)
{
	struct errbuf	 eb = { 0 };
	struct stat	 sb;
	char		*cur, *t, *r1, *r2, *leftover;

	r1 = make_release("1-d-AAAAAAAAA");
	r2 = make_release("2-d-BBBBBBBBB");
	cur = xasprintf("%s/current", gdir);
	assert_int_equal(release_switch(gdir, "releases/1-d-AAAAAAAAA", &eb),
	    0);
	t = read_link(cur);
	assert_string_equal(t, "releases/1-d-AAAAAAAAA");
	free(t);
	assert_int_equal(release_switch(gdir, "releases/2-d-BBBBBBBBB", &eb),
	    0);
	t = read_link(cur);
	assert_string_equal(t, "releases/2-d-BBBBBBBBB");
	free(t);
	/* It resolves, and no temporary link is left beside it. */
	assert_int_equal(stat(cur, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	leftover = xasprintf("%s/.current.tmp-%ld", gdir, (long)getpid());
	assert_int_equal(lstat(leftover, &sb), -1);
	assert_int_equal(release_current(gdir, &t, &eb), 0);
	assert_string_equal(t, "releases/2-d-BBBBBBBBB");
	free(t);
	assert_int_equal(release_switch(gdir, NULL, &eb), 0);
	assert_int_equal(lstat(cur, &sb), -1);
	assert_int_equal(release_current(gdir, &t, &eb), 0);
	assert_null(t);
	free(leftover);
	free(cur);
	free(r1);
	free(r2);
}

static char *
files_appspec(const char *dest, const char *feb)
{
	return xasprintf("version: 0.0\nos: linux\n%s%s%s"
	    "files:\n"
	    "  - source: app\n    destination: %s/www\n"
	    "  - source: conf/app.conf\n    destination: %s/etc\n",
	    feb != NULL ? "file_exists_behavior: " : "",
	    feb != NULL ? feb : "", feb != NULL ? "\n" : "", dest, dest);
}

static void
release_links_point_into_current(void **unused)
{
	struct appspec		 as;
	struct release_links	 undo;
	struct errbuf		 eb = { 0 };
	char			*rel, *dest, *yaml, *t, *p;

	rel = make_release("1-d-AAAAAAAAA");
	dest = xasprintf("%s/host", tmp);
	yaml = files_appspec(dest, NULL);
	parse(&as, yaml);
	release_links_init(&undo);
	assert_int_equal(release_link_files(&as, gdir, rel, FEB_UNSET,
	    "d-AAAAAAAAA", &undo, &eb), 0);
	p = xasprintf("%s/www", dest);
	t = read_link(p);
	assert_non_null(t);
	assert_true(strncmp(t, gdir, strlen(gdir)) == 0);
	assert_string_equal(t + strlen(gdir), "/current/app");
	free(t);
	free(p);
	/* A file source: DEST is a directory holding the link. */
	p = xasprintf("%s/etc/app.conf", dest);
	t = read_link(p);
	assert_non_null(t);
	assert_string_equal(t + strlen(gdir), "/current/conf/app.conf");
	free(t);
	free(p);
	/* Linking again changes nothing and records nothing. */
	release_links_release(&undo);
	assert_int_equal(release_link_files(&as, gdir, rel, FEB_UNSET,
	    "d-BBBBBBBBB", &undo, &eb), 0);
	assert_int_equal(undo.n, 0);
	release_links_release(&undo);
	appspec_release(&as);
	free(yaml);
	free(dest);
	free(rel);
}

/* DEST/www as a real directory holding one file. */
static char *
occupy(const char *dest)
{
	char	*www, *p;

	assert_int_equal(mkdir(dest, 0755), 0);
	www = xasprintf("%s/www", dest);
	assert_int_equal(mkdir(www, 0755), 0);
	p = xasprintf("%s/old.html", www);
	write_file(p, "old");
	free(p);
	return www;
}

static void
release_disallow_fails_on_an_existing_directory(void **unused)
{
	struct appspec		 as;
	struct release_links	 undo;
	struct errbuf		 eb = { 0 };
	struct stat		 sb;
	char			*rel, *dest, *yaml, *www;

	rel = make_release("1-d-AAAAAAAAA");
	dest = xasprintf("%s/host", tmp);
	www = occupy(dest);
	yaml = files_appspec(dest, NULL);	/* default: DISALLOW */
	parse(&as, yaml);
	release_links_init(&undo);
	assert_int_equal(release_link_files(&as, gdir, rel, FEB_UNSET,
	    "d-AAAAAAAAA", &undo, &eb), -1);
	assert_int_equal(eb.kind, EK_FAILED);
	assert_non_null(strstr(eb.msg, www));
	assert_non_null(strstr(eb.msg, "DISALLOW"));
	assert_int_equal(lstat(www, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	release_unlink_files(&undo);
	release_links_release(&undo);
	appspec_release(&as);
	free(yaml);
	free(www);
	free(dest);
	free(rel);
}

static void
release_overwrite_moves_aside_and_undo_restores(void **unused)
{
	struct appspec		 as;
	struct release_links	 undo;
	struct errbuf		 eb = { 0 };
	struct stat		 sb;
	char			*rel, *dest, *yaml, *www, *bak, *p;

	rel = make_release("1-d-AAAAAAAAA");
	dest = xasprintf("%s/host", tmp);
	www = occupy(dest);
	yaml = files_appspec(dest, NULL);
	parse(&as, yaml);
	release_links_init(&undo);
	/* The command line's behaviour overrides the appspec's. */
	assert_int_equal(release_link_files(&as, gdir, rel, FEB_OVERWRITE,
	    "d-AAAAAAAAA", &undo, &eb), 0);
	assert_int_equal(lstat(www, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	bak = xasprintf("%s.hookd-bak-d-AAAAAAAAA", www);
	p = xasprintf("%s/old.html", bak);
	assert_int_equal(stat(p, &sb), 0);
	free(p);
	release_unlink_files(&undo);
	assert_int_equal(lstat(www, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(lstat(bak, &sb), -1);
	p = xasprintf("%s/etc/app.conf", dest);
	assert_int_equal(lstat(p, &sb), -1);	/* new link removed */
	free(p);
	release_links_release(&undo);
	appspec_release(&as);
	free(bak);
	free(yaml);
	free(www);
	free(dest);
	free(rel);
}

static void
release_retain_keeps_what_is_there(void **unused)
{
	struct appspec		 as;
	struct release_links	 undo;
	struct errbuf		 eb = { 0 };
	struct stat		 sb;
	char			*rel, *dest, *yaml, *www, *p;

	rel = make_release("1-d-AAAAAAAAA");
	dest = xasprintf("%s/host", tmp);
	www = occupy(dest);
	yaml = files_appspec(dest, "RETAIN");
	parse(&as, yaml);
	release_links_init(&undo);
	assert_int_equal(release_link_files(&as, gdir, rel, FEB_UNSET,
	    "d-AAAAAAAAA", &undo, &eb), 0);
	assert_int_equal(lstat(www, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	p = xasprintf("%s/etc/app.conf", dest);	/* free: linked */
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	free(p);
	release_links_release(&undo);
	appspec_release(&as);
	free(yaml);
	free(www);
	free(dest);
	free(rel);
}

static void
release_prune_keeps_newest_and_protected(void **unused)
{
	static const char *const names[] = { "1-d-A", "2-d-B", "3-d-C",
	    "4-d-D", "5-d-E", "6-d-F" };
	const char	*protect[] = { "releases/1-d-A", "3-d-C", NULL };
	struct errbuf	 eb = { 0 };
	struct stat	 sb;
	char		*p;

	for (size_t i = 0; i < nitems(names); i++)
		free(make_release(names[i]));
	p = xasprintf("%s/releases/.tmp-7-d-G", gdir);	/* a crash's */
	assert_int_equal(mkdir(p, 0755), 0);
	free(p);
	assert_int_equal(release_prune(gdir, 2, protect, nitems(protect),
	    &eb), 2);
	for (size_t i = 0; i < nitems(names); i++) {
		bool	 kept = i == 0 || i == 2 || i >= 4;

		p = xasprintf("%s/releases/%s", gdir, names[i]);
		assert_int_equal(stat(p, &sb) == 0, kept);
		free(p);
	}
	p = xasprintf("%s/releases/.tmp-7-d-G", gdir);
	assert_int_equal(stat(p, &sb), -1);
	free(p);
}

static void
release_permissions_reach_the_new_release(void **unused)
{
	struct appspec	 as;
	struct errbuf	 eb = { 0 };
	struct stat	 sb;
	char		*rel, *dest, *yaml, *p;

	rel = make_release("1-d-A");
	dest = xasprintf("%s/host", tmp);
	yaml = xasprintf("version: 0.0\nos: linux\n"
	    "files:\n  - source: app\n    destination: %s/www\n"
	    "permissions:\n"
	    "  - object: %s/www\n    pattern: \"*.html\"\n    mode: 600\n"
	    "    type:\n      - file\n", dest, dest);
	parse(&as, yaml);
	assert_int_equal(release_apply_permissions(&as, rel, &eb), 0);
	p = xasprintf("%s/app/index.html", rel);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	free(p);
	p = xasprintf("%s/app", rel);	/* a directory: not matched */
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0755);
	free(p);
	appspec_release(&as);
	free(yaml);

	/* A missing object outside any destination is an error. */
	yaml = xasprintf("version: 0.0\nos: linux\npermissions:\n"
	    "  - object: %s/nowhere\n    mode: 600\n", dest);
	parse(&as, yaml);
	assert_int_equal(release_apply_permissions(&as, rel, &eb), -1);
	assert_int_equal(eb.kind, EK_FAILED);
	assert_non_null(strstr(eb.msg, "nowhere"));
	appspec_release(&as);
	free(yaml);
	free(dest);
	free(rel);
}

static void
release_acls_are_added_to_existing_entries(void **unused)
{
	struct appspec	 as;
	struct errbuf	 eb = { 0 };
	acl_t		 acl;
	char		*rel, *yaml, *p, *text;

	rel = make_release("1-d-A");
	p = xasprintf("%s/conf/app.conf", rel);
	yaml = xasprintf("version: 0.0\nos: linux\npermissions:\n"
	    "  - object: %s\n    acls:\n      - u:nobody:rw\n", p);
	parse(&as, yaml);
	if (release_apply_permissions(&as, rel, &eb) == -1 &&
	    strstr(eb.msg, "Operation not supported") != NULL)
		skip();		/* a file system without ACLs */
	assert_int_equal(eb.kind, EK_NONE);
	acl = acl_get_file(p, ACL_TYPE_ACCESS);
	assert_non_null(acl);
	text = acl_to_text(acl, NULL);
	assert_non_null(strstr(text, "user:nobody:rw-"));
	assert_non_null(strstr(text, "user::rw-"));	/* kept */
	assert_non_null(strstr(text, "mask::"));	/* computed */
	acl_free(text);
	acl_free(acl);
	appspec_release(&as);
	free(yaml);
	free(p);
	free(rel);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    release_switch_is_relative_and_replaces_by_rename, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    release_links_point_into_current, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    release_disallow_fails_on_an_existing_directory, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    release_overwrite_moves_aside_and_undo_restores, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    release_retain_keeps_what_is_there, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    release_prune_keeps_newest_and_protected, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    release_permissions_reach_the_new_release, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    release_acls_are_added_to_existing_entries, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
