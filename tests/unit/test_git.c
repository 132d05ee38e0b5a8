/* SPDX-License-Identifier: ISC */
/*
 * test_git.c: the deployer's git wrapper against a real repository made
 * in a temporary directory: resolving refs, naming what is dirty, the
 * subdirectory prefix, archives that are the same bytes for the same
 * commit (of a subdirectory too), the git directory and git's version.
 */
#include "compat.h"

#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bundle.h"
#include "digest.h"
#include "errbuf.h"
#include "fsutil.h"
#include "git.h"
#include "xalloc.h"

#include "banned.h"

struct fx {
	char	 dir[64];
};

static void
write_file(const char *dir, const char *name, const char *text)
{
	char	*p;
	FILE	*f;

	p = xasprintf("%s/%s", dir, name);
	assert_non_null(f = fopen(p, "we"));
	fputs(text, f);
	fclose(f);
	free(p);
}

static void
git_ok(const char *dir, const char *const *args)
{
	struct errbuf	 eb = { 0 };
	char		*err = NULL;
	int		 st = -1;

	assert_int_equal(git_run(dir, args, &st, NULL, &err, &eb), 0);
	if (st != 0)
		fail_msg("git %s: %s", args[0], err);
	free(err);
}

static void
commit_all(const char *dir, const char *msg)
{
	const char	*add[] = { "add", "-A", NULL };
	const char	*ci[] = { "-c", "user.name=T", "-c",
			    "user.email=t@example.com", "commit", "-q", "-m",
			    msg, NULL };

	git_ok(dir, add);
	git_ok(dir, ci);
}

static int
setup(void **state)
{
	struct fx	*fx = xcalloc(1, sizeof(*fx));
	const char	*init[] = { "init", "-q", NULL };
	char		*sub;

	(void)strlcpy(fx->dir, "/tmp/test_git.XXXXXX", sizeof(fx->dir));
	assert_non_null(mkdtemp(fx->dir));
	git_ok(fx->dir, init);
	write_file(fx->dir, "a.txt", "one\n");
	sub = xasprintf("%s/app", fx->dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	write_file(sub, "appspec.yml", "version: 0.0\nos: linux\n");
	free(sub);
	commit_all(fx->dir, "first");
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;
	struct errbuf	 eb = { 0 };

	assert_int_equal(fs_rmtree(fx->dir, &eb), 0);
	free(fx);
	return 0;
}

static void
git_resolves_head_and_refuses_unknown_refs(void **state)
{
	struct fx	*fx = *state;
	struct errbuf	 eb = { 0 };
	char		 c1[41], c2[41];

	assert_int_equal(git_resolve(fx->dir, "HEAD", c1, &eb), 0);
	assert_int_equal(strlen(c1), 40);
	assert_int_equal(strspn(c1, "0123456789abcdef"), 40);
	write_file(fx->dir, "a.txt", "two\n");
	commit_all(fx->dir, "second");
	assert_int_equal(git_resolve(fx->dir, "HEAD~1", c2, &eb), 0);
	assert_string_equal(c1, c2);
	assert_int_equal(git_resolve(fx->dir, "no-such-branch", c2, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_non_null(strstr(eb.msg, "'no-such-branch'"));
	assert_int_equal(git_resolve(fx->dir, "--all", c2, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
}

static void
git_dirty_names_what_is_not_committed(void **state)
{
	struct fx	*fx = *state;
	struct errbuf	 eb = { 0 };
	char		*desc = NULL;

	assert_int_equal(git_dirty(fx->dir, &desc, &eb), 0);
	assert_null(desc);
	write_file(fx->dir, "a.txt", "changed\n");
	write_file(fx->dir, "new.txt", "x\n");
	assert_int_equal(git_dirty(fx->dir, &desc, &eb), 0);
	assert_non_null(desc);
	assert_non_null(strstr(desc, "2 paths: "));
	assert_non_null(strstr(desc, " M a.txt"));
	assert_non_null(strstr(desc, "?? new.txt"));
	free(desc);
}

static void
git_dirty_outside_a_repository_fails(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*desc = NULL;

	assert_int_equal(git_dirty("/", &desc, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
}

static void
git_archive_is_the_same_for_the_same_commit(void **state)
{
	struct fx	*fx = *state;
	struct errbuf	 eb = { 0 };
	char		 c[41], h1[65], h2[65], h3[65];
	char		*p1, *p2, *p3, *sub, *prefix = NULL;

	assert_int_equal(git_resolve(fx->dir, "HEAD", c, &eb), 0);
	p1 = xasprintf("%s.1.tgz", fx->dir);
	p2 = xasprintf("%s.2.tgz", fx->dir);
	p3 = xasprintf("%s.3.tgz", fx->dir);
	assert_int_equal(git_archive(fx->dir, c, NULL, p1, &eb), 0);
	sleep(1);	/* a timestamp in the archive would now differ */
	assert_int_equal(git_archive(fx->dir, c, "", p2, &eb), 0);
	sub = xasprintf("%s/app", fx->dir);
	assert_int_equal(git_prefix(sub, &prefix, &eb), 0);
	assert_string_equal(prefix, "app/");
	assert_int_equal(git_archive(fx->dir, c, prefix, p3, &eb), 0);
	assert_int_equal(digest_sha256_file(p1, h1, &eb), 0);
	assert_int_equal(digest_sha256_file(p2, h2, &eb), 0);
	assert_int_equal(digest_sha256_file(p3, h3, &eb), 0);
	assert_string_equal(h1, h2);
	assert_string_not_equal(h1, h3);
	/* A subdirectory's archive too, from the top or from inside it. */
	sleep(1);
	assert_int_equal(git_archive(sub, c, prefix, p2, &eb), 0);
	assert_int_equal(digest_sha256_file(p2, h2, &eb), 0);
	assert_string_equal(h2, h3);
	(void)unlink(p1);
	(void)unlink(p2);
	(void)unlink(p3);
	free(p1);
	free(p2);
	free(p3);
	free(sub);
	free(prefix);
}

static void
git_common_dir_and_version(void **state)
{
	struct fx	*fx = *state;
	struct errbuf	 eb = { 0 };
	char		*gd = NULL, *v = NULL, *sub, *want;

	sub = xasprintf("%s/app", fx->dir);
	want = xasprintf("%s/.git", fx->dir);
	assert_int_equal(git_common_dir(sub, &gd, &eb), 0);
	assert_string_equal(gd, want);
	assert_int_equal(git_version(fx->dir, &v, &eb), 0);
	assert_true(strncmp(v, "git version ", 12) == 0);
	assert_null(strchr(v, '\n'));
	free(gd);
	gd = NULL;
	assert_int_equal(git_common_dir("/", &gd, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_null(gd);
	free(v);
	free(sub);
	free(want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    git_resolves_head_and_refuses_unknown_refs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    git_dirty_names_what_is_not_committed, setup, teardown),
		cmocka_unit_test(git_dirty_outside_a_repository_fails),
		cmocka_unit_test_setup_teardown(
		    git_archive_is_the_same_for_the_same_commit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(git_common_dir_and_version,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
