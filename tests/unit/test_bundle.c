/* SPDX-License-Identifier: ISC */
/*
 * test_bundle.c: bundle detection, hashing, extraction of each format and
 * of directory bundles, and every hostile bundle we know of.  Archives are
 * built inside the tests with libarchive's writer (and patched byte-wise
 * where a hostile zip needs it), so no binary blobs are committed.  Each
 * hostile case checks the error kind, that the message names the entry,
 * that the destination is empty again, and that a canary directory beside
 * it is untouched.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>

#include "archive_fixture.h"
#include "bundle.h"
#include "caps.h"
#include "digest.h"
#include "errbuf.h"
#include "fsutil.h"
#include "slurp.h"
#include "xalloc.h"

#include "banned.h"

/* A well-formed digest no test bundle has. */
static const char WRONG_SHA256[] = "0123456789abcdef0123456789abcdef"
    "0123456789abcdef0123456789abcdef";

struct fx {
	char		 root[64];	/* mkdtemp */
	char		 dest[128];	/* the release directory */
	char		 canary[128];	/* beside it; must stay intact */
	char		 arch[128];	/* the bundle under test */
	int		 nfds;		/* open at setup: none may leak */
};

static int
setup(void **state)
{
	struct fx	*f;
	FILE		*fp;
	char		 p[256];

	f = xcalloc(1, sizeof(*f));
	strlcpy(f->root, "/tmp/hookd-bundle-XXXXXX", sizeof(f->root));
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dest, sizeof(f->dest), "%s/dest", f->root);
	snprintf(f->canary, sizeof(f->canary), "%s/canary", f->root);
	snprintf(f->arch, sizeof(f->arch), "%s/bundle", f->root);
	assert_int_equal(mkdir(f->dest, 0755), 0);
	assert_int_equal(mkdir(f->canary, 0755), 0);
	snprintf(p, sizeof(p), "%s/keep", f->canary);
	assert_non_null(fp = fopen(p, "w"));
	fputs("canary\n", fp);
	fclose(fp);
	f->nfds = count_entries("/proc/self/fd");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;
	struct errbuf	 eb = { 0 };
	int		 nfds;

	nfds = count_entries("/proc/self/fd") - f->nfds;
	assert_int_equal(fs_rmtree(f->root, &eb), 0);
	free(f);
	assert_int_equal(nfds, 0);	/* no descriptor leaked */
	return 0;
}

static void
assert_file(const char *dir, const char *name, const char *want)
{
	char		 p[512], *got;
	size_t		 len;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	got = slurp(p, &len);
	assert_int_equal(len, strlen(want));
	assert_string_equal(got, want);
	free(got);
}

/* Nothing outside dest changed: root holds dest, canary, bundle only. */
static void
assert_contained(struct fx *f)
{
	struct dirent	*de;
	DIR		*d;

	assert_int_equal(count_entries(f->canary), 1);
	assert_file(f->canary, "keep", "canary\n");
	assert_non_null(d = opendir(f->root));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (strcmp(de->d_name, "dest") != 0 &&
		    strcmp(de->d_name, "canary") != 0 &&
		    strncmp(de->d_name, "bundle", 6) != 0)
			fail_msg("unexpected '%s' beside dest", de->d_name);
	}
	closedir(d);
}

/* Empty dest again after a successful extraction. */
static void
rename_dest_fresh(struct fx *f)
{
	static int	 k;
	char		 p[256];

	snprintf(p, sizeof(p), "%s/bundle-old%d", f->root, k++);
	assert_int_equal(rename(f->dest, p), 0);
	assert_int_equal(mkdir(f->dest, 0755), 0);
}

/* Extraction of f->arch must fail with EK_DATA naming 'what'. */
static void
expect_reject(struct fx *f, const struct bundle_limits *lim,
    const char *what)
{
	struct errbuf	 eb = { 0 };

	assert_int_equal(bundle_extract(f->arch, f->dest, lim, &eb), -1);
	if (eb.kind != EK_DATA || strstr(eb.msg, what) == NULL)
		fail_msg("kind %d, message \"%s\", wanted \"%s\"", eb.kind,
		    eb.msg, what);
	if (secure_getenv("HOOKD_TEST_VERBOSE") != NULL)
		print_message("refused: %s\n", eb.msg);
	assert_int_equal(count_entries(f->dest), 0);
	assert_contained(f);
}

static void
reject_entries(void **state, enum afmt fmt, const struct ent *ents,
    size_t n, const char *what)
{
	struct fx	*f = *state;

	make_archive(f->arch, fmt, ents, n);
	expect_reject(f, NULL, what);
}

/*
 * Detection and hashing
 */

static void
bundle_detect_knows_each_format_by_content(void **state)
{
	struct fx	*f = *state;
	struct errbuf	 eb = { 0 };
	enum bundle_format fmt;
	const struct ent one[] = { { "a", AE_IFREG, 0, "x\n", 0, 0 } };
	const struct {
		enum afmt	 a;
		enum bundle_format want;
	} cases[] = {
		{ A_TAR, BUNDLE_TAR }, { A_V7, BUNDLE_TAR },
		{ A_TGZ, BUNDLE_TGZ }, { A_ZIP, BUNDLE_ZIP },
	};

	for (size_t i = 0; i < nitems(cases); i++) {
		/* A misleading name: detection must not look at it. */
		snprintf(f->arch, sizeof(f->arch), "%s/bundle.txt", f->root);
		make_archive(f->arch, cases[i].a, one, 1);
		assert_int_equal(bundle_detect(f->arch, &fmt, &eb), 0);
		assert_int_equal(fmt, cases[i].want);
	}
	assert_int_equal(bundle_detect(f->dest, &fmt, &eb), 0);
	assert_int_equal(fmt, BUNDLE_DIR);

	snprintf(f->arch, sizeof(f->arch), "%s/bundle-x.bin", f->root);
	spew(f->arch, "hello, world\n", 13);
	assert_int_equal(bundle_detect(f->arch, &fmt, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, "bundle-x.bin' is not a bundle: "
	    "expected a directory, .tar, .tar.gz or .zip"));

	snprintf(f->arch, sizeof(f->arch), "%s/bundle-missing", f->root);
	assert_int_equal(bundle_detect(f->arch, &fmt, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_non_null(strstr(eb.msg, "bundle-missing"));
}

/*
 * Good bundles
 */

static const struct ent good[] = {
	{ "app/", AE_IFDIR, 0755, NULL, 0, 0 },
	{ "app/appspec.yml", AE_IFREG, 0644, "version: 0.0\nos: linux\n",
	    0, 0 },
	{ "app/scripts/", AE_IFDIR, 0750, NULL, 0, 0 },
	{ "app/scripts/start.sh", AE_IFREG, 0755, "#!/bin/sh\nexit 0\n",
	    0, 0 },
	{ "app/scripts/suid.sh", AE_IFREG, 06755, "#!/bin/sh\n", 0, 0 },
	{ "app/current", AE_IFLNK, 0777, "scripts", 0, 0 },
	{ "app/scripts/spec", AE_IFLNK, 0777, "../appspec.yml", 0, 0 },
	{ "app/./dot//slashes", AE_IFREG, 0600, "ok\n", 0, 0 },
	{ "app/big.bin", AE_IFREG, 0644, NULL, 300000, 'z' },
	{ "app/sticky/", AE_IFDIR, 01777, NULL, 0, 0 },
	{ "app/hard", HARDLINK, 0644, "app/appspec.yml", 0, 0 },
};

static void
check_good_tree(struct fx *f, int nents)
{
	struct stat	 st, st2;
	char		 p[512], l[64], *big;
	size_t		 len;
	ssize_t		 n;

	assert_int_equal(count_entries(f->dest), 1);
	snprintf(p, sizeof(p), "%s/app", f->dest);
	assert_int_equal(count_entries(p), nents);
	assert_file(f->dest, "app/appspec.yml", "version: 0.0\nos: linux\n");
	assert_file(f->dest, "app/scripts/start.sh", "#!/bin/sh\nexit 0\n");
	assert_file(f->dest, "app/dot/slashes", "ok\n");
	snprintf(p, sizeof(p), "%s/app/scripts/start.sh", f->dest);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_mtime, 1700000000);
	/* set-id bits are stripped, the rest is kept */
	snprintf(p, sizeof(p), "%s/app/scripts/suid.sh", f->dest);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	snprintf(p, sizeof(p), "%s/app/sticky", f->dest);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0777);
	snprintf(p, sizeof(p), "%s/app/scripts", f->dest);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	snprintf(p, sizeof(p), "%s/app/current", f->dest);
	assert_int_equal(n = readlink(p, l, sizeof(l) - 1), 7);
	l[n] = '\0';
	assert_string_equal(l, "scripts");
	assert_file(f->dest, "app/scripts/spec", "version: 0.0\nos: linux\n");
	snprintf(p, sizeof(p), "%s/app/big.bin", f->dest);
	big = slurp(p, &len);
	assert_int_equal(len, 300000);
	assert_int_equal(big[0], 'z');
	assert_int_equal(big[len - 1], 'z');
	free(big);
	assert_contained(f);
	(void)st2;
}

static void
extract_good(void **state, enum afmt fmt, size_t n, int nents)
{
	struct fx	*f = *state;
	struct errbuf	 eb = { 0 };
	struct stat	 st, st2;
	char		 p[512];

	make_archive(f->arch, fmt, good, n);
	if (bundle_extract(f->arch, f->dest, NULL, &eb) != 0)
		fail_msg("%s", eb.msg);
	check_good_tree(f, nents);
	if (n == nitems(good)) {
		snprintf(p, sizeof(p), "%s/app/hard", f->dest);
		assert_int_equal(stat(p, &st), 0);
		snprintf(p, sizeof(p), "%s/app/appspec.yml", f->dest);
		assert_int_equal(stat(p, &st2), 0);
		assert_int_equal(st.st_ino, st2.st_ino);
	}
}

static void
bundle_extracts_a_tar(void **state)
{
	extract_good(state, A_TAR, nitems(good), 7);
}

static void
bundle_extracts_a_tgz(void **state)
{
	extract_good(state, A_TGZ, nitems(good), 7);
}

static void
bundle_extracts_a_zip(void **state)
{
	/* zip has no hard links: leave the last entry out */
	extract_good(state, A_ZIP, nitems(good) - 1, 6);
}

static const struct bundle_entry *
tree_find(const struct bundle_tree *t, const char *path)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].path, path) == 0)
			return &t->v[i];
	fail_msg("'%s' is not in the tree", path);
	return NULL;
}

/*
 * One read: a tar, tar.gz or zip gives its SHA-256 with the extraction
 * (the file's digest, also with padding after the archive), verified
 * when expected; the tree says what was created.
 */
static void
bundle_hashes_while_extracting(void **state)
{
	static const enum afmt fmts[] = { A_TAR, A_TGZ, A_ZIP };
	struct fx	*f = *state;
	struct errbuf	 eb = { 0 };
	struct bundle_opts o;
	struct bundle_tree t;
	const struct bundle_entry *be;
	char		 want[65], got[65], upper[65], *data;
	size_t		 n, len;

	for (size_t k = 0; k < nitems(fmts); k++) {
		n = fmts[k] == A_ZIP ? nitems(good) - 1 : nitems(good);
		make_archive(f->arch, fmts[k], good, n);
		if (fmts[k] == A_TAR) {
			/* Bytes after the end of the archive are hashed too. */
			data = slurp(f->arch, &len);
			data = xreallocarray(data, len + 20000, 1);
			memset(data + len, 'P', 20000);
			spew(f->arch, data, len + 20000);
			free(data);
		}
		assert_int_equal(digest_sha256_file(f->arch, want, &eb), 0);
		memset(&o, 0, sizeof(o));
		bundle_tree_init(&t);
		if (bundle_extract_ex(f->arch, f->dest, &o, got, &t, &eb) != 0)
			fail_msg("%s", eb.msg);
		assert_string_equal(got, want);
		check_good_tree(f, fmts[k] == A_ZIP ? 6 : 7);
		/* the entries and "app/dot", which they imply */
		assert_int_equal(t.n, n + 1);
		be = tree_find(&t, "app");
		assert_int_equal(be->type, 'd');
		be = tree_find(&t, "app/dot");
		assert_int_equal(be->type, 'd');
		be = tree_find(&t, "app/scripts/start.sh");
		assert_int_equal(be->type, 'f');
		assert_int_equal(be->size, 17);
		assert_true(be->mtime_set);
		assert_int_equal(be->mtime, 1700000000);
		be = tree_find(&t, "app/current");
		assert_int_equal(be->type, 'l');
		assert_string_equal(be->target, "scripts");
		be = tree_find(&t, "app/appspec.yml");
		if (fmts[k] != A_ZIP) {
			/* hard-linked: its data may come from the link */
			assert_int_equal(be->size, -1);
			assert_false(be->mtime_set);
		} else
			assert_int_equal(be->size, 23);
		bundle_tree_release(&t);
		bundle_tree_release(&t);	/* safe twice */

		/* The expected digest, in any case, passes. */
		for (size_t i = 0; i < 65; i++)
			upper[i] = (char)toupper((unsigned char)want[i]);
		rename_dest_fresh(f);
		o.sha256 = upper;
		if (bundle_extract_ex(f->arch, f->dest, &o, NULL, NULL,
		    &eb) != 0)
			fail_msg("%s", eb.msg);
		check_good_tree(f, fmts[k] == A_ZIP ? 6 : 7);
		rename_dest_fresh(f);
	}
}

/*
 * A bundle that is not the expected one is refused as such, with the
 * destination emptied; also when its contents are broken (the digest is
 * the error that matters) and whatever the format.
 */
/*
 * A bundle of several BUNDLE_MAP_WINDOWs is hashed on a second thread:
 * the digest is the file's, the data arrives intact, and a wrong digest
 * still empties the release.
 */
static void
bundle_hashes_a_big_bundle_on_the_side(void **state)
{
	static const struct ent big[] = {
		{ "app/", AE_IFDIR, 0755, NULL, 0, 0 },
		{ "app/appspec.yml", AE_IFREG, 0644,
		    "version: 0.0\nos: linux\n", 0, 0 },
		{ "app/a.bin", AE_IFREG, 0644, NULL, 3 * BUNDLE_MAP_WINDOW,
		    'a' },
		{ "app/b.bin", AE_IFREG, 0644, NULL, 2 * BUNDLE_MAP_WINDOW + 7,
		    'b' },
	};
	struct fx	*f = *state;
	struct errbuf	 eb = { 0 };
	struct bundle_opts o;
	struct bundle_tree t;
	struct stat	 st;
	char		 want[65], got[65], path[256], *data;
	size_t		 len;

	make_archive(f->arch, A_TAR, big, nitems(big));
	assert_true(stat(f->arch, &st) == 0 &&
	    st.st_size > 4 * (off_t)BUNDLE_MAP_WINDOW);
	assert_int_equal(digest_sha256_file(f->arch, want, &eb), 0);
	memset(&o, 0, sizeof(o));
	o.sha256 = want;
	bundle_tree_init(&t);
	if (bundle_extract_ex(f->arch, f->dest, &o, got, &t, &eb) != 0)
		fail_msg("%s", eb.msg);
	assert_string_equal(got, want);
	snprintf(path, sizeof(path), "%s/app/b.bin", f->dest);
	data = slurp(path, &len);
	assert_int_equal(len, 2 * BUNDLE_MAP_WINDOW + 7);
	assert_int_equal(data[0], 'b');
	assert_int_equal(data[len - 1], 'b');
	free(data);
	bundle_tree_release(&t);
	assert_contained(f);

	assert_int_equal(fs_rmtree(f->dest, &eb), 0);
	assert_int_equal(mkdir(f->dest, 0755), 0);
	o.sha256 = WRONG_SHA256;
	bundle_tree_init(&t);
	assert_int_equal(bundle_extract_ex(f->arch, f->dest, &o, got, &t,
	    &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, want));
	assert_int_equal(count_entries(f->dest), 0);
	assert_contained(f);
}

static void
bundle_refuses_a_digest_mismatch(void **state)
{
	static const enum afmt fmts[] = { A_TAR, A_TGZ, A_ZIP };
	struct fx	*f = *state;
	struct errbuf	 eb = { 0 };
	struct bundle_opts o;
	struct bundle_tree t;
	char		 want[65], got[65] = "untouched", msg[256], src[160];
	size_t		 n;

	memset(&o, 0, sizeof(o));
	o.sha256 = WRONG_SHA256;
	for (size_t k = 0; k < nitems(fmts); k++) {
		n = fmts[k] == A_ZIP ? nitems(good) - 1 : nitems(good);
		make_archive(f->arch, fmts[k], good, n);
		assert_int_equal(digest_sha256_file(f->arch, want, &eb), 0);
		bundle_tree_init(&t);
		assert_int_equal(bundle_extract_ex(f->arch, f->dest, &o, got,
		    &t, &eb), -1);
		assert_int_equal(eb.kind, EK_DATA);
		snprintf(msg, sizeof(msg), "has sha256 %s, expected %s", want,
		    WRONG_SHA256);
		if (strstr(eb.msg, msg) == NULL)
			fail_msg("%s", eb.msg);
		assert_string_equal(got, "untouched");
		assert_null(t.v);
		assert_int_equal(count_entries(f->dest), 0);
		assert_contained(f);
	}

	/* A truncated tar that is not the expected one: the digest says. */
	make_archive(f->arch, A_TAR, good, nitems(good));
	free(slurp(f->arch, &n));
	assert_int_equal(truncate(f->arch, (off_t)n / 2), 0);
	assert_int_equal(digest_sha256_file(f->arch, want, &eb), 0);
	assert_int_equal(bundle_extract_ex(f->arch, f->dest, &o, NULL, NULL,
	    &eb), -1);
	snprintf(msg, sizeof(msg), "has sha256 %s, expected %s", want,
	    WRONG_SHA256);
	if (strstr(eb.msg, msg) == NULL)
		fail_msg("%s", eb.msg);
	assert_int_equal(count_entries(f->dest), 0);
	/* ... and the expected one is refused for what it holds. */
	o.sha256 = want;
	assert_int_equal(bundle_extract_ex(f->arch, f->dest, &o, NULL, NULL,
	    &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_null(strstr(eb.msg, "has sha256"));
	assert_int_equal(count_entries(f->dest), 0);

	/* A directory has no digest to verify. */
	snprintf(src, sizeof(src), "%s/bundle-dir", f->root);
	assert_int_equal(mkdir(src, 0755), 0);
	o.sha256 = WRONG_SHA256;
	assert_int_equal(bundle_extract_ex(src, f->dest, &o, NULL, NULL, &eb),
	    -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, "is a directory"));
	o.sha256 = NULL;
	assert_int_equal(bundle_extract_ex(src, f->dest, &o, got, NULL, &eb),
	    0);
	assert_string_equal(got, "");
	assert_contained(f);
}

static void
bundle_copies_a_directory(void **state)
{
	struct fx	*f = *state;
	struct errbuf	 eb = { 0 };
	char		 src[128], dest2[256];

	/* Build the tree by extracting the tar, then copy it. */
	make_archive(f->arch, A_TAR, good, nitems(good) - 1);
	assert_int_equal(bundle_extract(f->arch, f->dest, NULL, &eb), 0);
	snprintf(src, sizeof(src), "%s/bundle-src", f->root);
	assert_int_equal(rename(f->dest, src), 0);
	assert_int_equal(mkdir(f->dest, 0755), 0);
	snprintf(dest2, sizeof(dest2), "%s/app/scripts/suid.sh", src);
	assert_int_equal(chmod(dest2, 06755), 0);
	if (bundle_extract(src, f->dest, NULL, &eb) != 0)
		fail_msg("%s", eb.msg);
	check_good_tree(f, 6);
}

static void
bundle_accepts_a_root_entry_and_late_directories(void **state)
{
	struct fx	*f = *state;
	struct errbuf	 eb = { 0 };
	struct stat	 st;
	char		 p[256];
	const struct ent e[] = {
		{ "./", AE_IFDIR, 0777, NULL, 0, 0 },
		{ "./late/x", AE_IFREG, 0640, "x\n", 0, 0 },
		{ "late/", AE_IFDIR, 0750, NULL, 0, 0 },
		{ "late/", AE_IFDIR, 0750, NULL, 0, 0 },
		{ "locked/", AE_IFDIR, 0005, NULL, 0, 0 },
	};

	make_archive(f->arch, A_TAR, e, nitems(e));
	if (bundle_extract(f->arch, f->dest, NULL, &eb) != 0)
		fail_msg("%s", eb.msg);
	assert_file(f->dest, "late/x", "x\n");
	snprintf(p, sizeof(p), "%s/late", f->dest);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	/* the root entry does not change destdir */
	assert_int_equal(stat(f->dest, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	/* directories stay owner-rwx so the release can be removed */
	snprintf(p, sizeof(p), "%s/locked", f->dest);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0705);
}

static void
bundle_extract_refuses_a_destination_that_is_not_empty(void **state)
{
	struct fx	*f = *state;
	struct errbuf	 eb = { 0 };
	const struct ent one[] = { { "a", AE_IFREG, 0, "x\n", 0, 0 } };
	char		 p[256];

	make_archive(f->arch, A_TAR, one, 1);
	snprintf(p, sizeof(p), "%s/mine", f->dest);
	spew(p, "mine\n", 5);
	assert_int_equal(bundle_extract(f->arch, f->dest, NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_IO);
	assert_non_null(strstr(eb.msg, "not empty"));
	assert_int_equal(count_entries(f->dest), 1);
	assert_file(f->dest, "mine", "mine\n");
}

/*
 * Hostile bundles: paths
 */

static void
bundle_refuses_dotdot(void **state)
{
	const struct ent e[] = {
		{ "ok", AE_IFREG, 0, "fine\n", 0, 0 },
		{ "a/../../canary/pwned", AE_IFREG, 0, "x\n", 0, 0 },
	};
	const struct ent e2[] = {
		{ "../canary/pwned", AE_IFREG, 0, "x\n", 0, 0 },
	};

	reject_entries(state, A_TAR, e, nitems(e),
	    "entry 'a/../../canary/pwned': path has a '..' component");
	reject_entries(state, A_ZIP, e2, nitems(e2),
	    "entry '../canary/pwned'");
}

static void
bundle_refuses_absolute_paths(void **state)
{
	struct fx	*f = *state;
	char		 p[256], want[300];
	struct ent	 e[] = {
		{ "ok/", AE_IFDIR, 0755, NULL, 0, 0 },
		{ NULL, AE_IFREG, 0, "x\n", 0, 0 },
	};

	snprintf(p, sizeof(p), "%s/pwned", f->canary);
	e[1].name = p;
	snprintf(want, sizeof(want), "entry '%s': absolute path", p);
	reject_entries(state, A_TAR, e, nitems(e), want);
	reject_entries(state, A_TGZ, e, nitems(e), want);
}

static void
bundle_refuses_symlink_escapes(void **state)
{
	struct fx	*f = *state;
	const struct ent rel[] = {
		{ "evil", AE_IFLNK, 0777, "../canary", 0, 0 },
		{ "evil/pwned", AE_IFREG, 0, "x\n", 0, 0 },
	};
	const struct ent deep[] = {
		{ "a/b/", AE_IFDIR, 0755, NULL, 0, 0 },
		{ "a/b/evil", AE_IFLNK, 0777, "../../../canary", 0, 0 },
	};
	/* Each link stays inside by its text; the chain does not. */
	const struct ent chain[] = {
		{ "sub/", AE_IFDIR, 0755, NULL, 0, 0 },
		{ "sub/deep", AE_IFLNK, 0777, "..", 0, 0 },
		{ "up", AE_IFLNK, 0777, "sub/deep/..", 0, 0 },
		{ "up/canary/pwned", AE_IFREG, 0, "x\n", 0, 0 },
	};
	struct ent	 abs[] = {
		{ "evil", AE_IFLNK, 0777, NULL, 0, 0 },
		{ "evil/pwned", AE_IFREG, 0, "x\n", 0, 0 },
	};

	reject_entries(state, A_TAR, rel, nitems(rel),
	    "entry 'evil': symlink points outside the bundle");
	reject_entries(state, A_ZIP, rel, nitems(rel),
	    "entry 'evil': symlink points outside the bundle");
	reject_entries(state, A_TAR, deep, nitems(deep),
	    "entry 'a/b/evil': symlink points outside the bundle");
	reject_entries(state, A_TAR, chain, nitems(chain),
	    "entry 'up': symlink target has '..' after a named component");
	abs[0].data = f->canary;
	reject_entries(state, A_TGZ, abs, nitems(abs),
	    "entry 'evil': symlink target is an absolute path");
}

static void
bundle_refuses_writing_through_a_symlink(void **state)
{
	const struct ent e[] = {
		{ "real/", AE_IFDIR, 0755, NULL, 0, 0 },
		{ "link", AE_IFLNK, 0777, "real", 0, 0 },
		{ "link/file", AE_IFREG, 0, "x\n", 0, 0 },
	};
	const struct ent dup[] = {
		{ "f", AE_IFLNK, 0777, "real", 0, 0 },
		{ "f", AE_IFREG, 0, "x\n", 0, 0 },
	};

	reject_entries(state, A_TAR, e, nitems(e),
	    "entry 'link/file': path goes through the symlink 'link'");
	reject_entries(state, A_TAR, dup, nitems(dup),
	    "entry 'f': duplicate entry");
}

static void
bundle_refuses_hardlinks_out_of_the_tree(void **state)
{
	struct fx	*f = *state;
	char		 p[256], want[300];
	const struct ent rel[] = {
		{ "h", HARDLINK, 0, "../canary/keep", 0, 0 },
	};
	struct ent	 abs[] = {
		{ "h", HARDLINK, 0, NULL, 0, 0 },
	};
	const struct ent later[] = {
		{ "h", HARDLINK, 0, "target", 0, 0 },
		{ "target", AE_IFREG, 0, "x\n", 0, 0 },
	};
	const struct ent todir[] = {
		{ "d/", AE_IFDIR, 0755, NULL, 0, 0 },
		{ "h", HARDLINK, 0, "d", 0, 0 },
	};

	reject_entries(state, A_TAR, rel, nitems(rel),
	    "entry 'h': hard link target: path has a '..' component");
	snprintf(p, sizeof(p), "%s/keep", f->canary);
	abs[0].data = p;
	snprintf(want, sizeof(want), "entry 'h': hard link target: "
	    "absolute path");
	reject_entries(state, A_TAR, abs, nitems(abs), want);
	reject_entries(state, A_TAR, later, nitems(later),
	    "entry 'h': hard link target 'target' is not a file earlier");
	reject_entries(state, A_TAR, todir, nitems(todir),
	    "entry 'h': hard link target 'd' is not a file");
}

static void
bundle_refuses_devices_and_fifos(void **state)
{
	const struct ent chr[] = {
		{ "ok", AE_IFREG, 0, "fine\n", 0, 0 },
		{ "dev/null", AE_IFCHR, 0666, NULL, 0, 0 },
	};
	const struct ent blk[] = {
		{ "sda", AE_IFBLK, 0660, NULL, 0, 0 },
	};
	const struct ent fifo[] = {
		{ "pipe", AE_IFIFO, 0644, NULL, 0, 0 },
	};

	reject_entries(state, A_TAR, chr, nitems(chr),
	    "entry 'dev/null': character devices are not allowed");
	reject_entries(state, A_TAR, blk, nitems(blk),
	    "entry 'sda': block devices are not allowed");
	reject_entries(state, A_TGZ, fifo, nitems(fifo),
	    "entry 'pipe': FIFOs are not allowed");
}

static void
bundle_refuses_control_characters_and_bad_utf8(void **state)
{
	const struct ent nl[] = {
		{ "ok", AE_IFREG, 0, "fine\n", 0, 0 },
		{ "evil\nname", AE_IFREG, 0, "x\n", 0, 0 },
	};
	const struct ent esc[] = {
		{ "red\033[31m", AE_IFREG, 0, "x\n", 0, 0 },
	};
	const struct ent utf[] = {
		{ "caf\xe9", AE_IFREG, 0, "x\n", 0, 0 },
	};
	const struct ent tgt[] = {
		{ "l", AE_IFLNK, 0777, "a\rb", 0, 0 },
	};
	const struct ent fine[] = {
		{ "caf\xc3\xa9", AE_IFREG, 0, "x\n", 0, 0 },
	};
	struct fx	*f = *state;
	struct errbuf	 eb = { 0 };

	reject_entries(state, A_TAR, nl, nitems(nl),
	    "entry 'evil\\x0aname': name contains a control character");
	reject_entries(state, A_TAR, esc, nitems(esc),
	    "entry 'red\\x1b[31m': name contains a control character");
	reject_entries(state, A_TAR, utf, nitems(utf),
	    "entry 'caf\\xe9': name is not valid UTF-8");
	reject_entries(state, A_TAR, tgt, nitems(tgt),
	    "entry 'l': symlink target: name contains a control character");
	/* Valid UTF-8 is fine, also in a zip flagged UTF-8 (C locale). */
	make_archive(f->arch, A_TAR, fine, nitems(fine));
	assert_int_equal(bundle_extract(f->arch, f->dest, NULL, &eb), 0);
	assert_file(f->dest, "caf\xc3\xa9", "x\n");
	assert_int_equal(unlink(f->arch), 0);
	snprintf(f->arch, sizeof(f->arch), "%s/bundle.zip", f->root);
	make_archive(f->arch, A_ZIP, fine, nitems(fine));
	rename_dest_fresh(f);
	if (bundle_extract(f->arch, f->dest, NULL, &eb) != 0)
		fail_msg("%s", eb.msg);
	assert_file(f->dest, "caf\xc3\xa9", "x\n");
}

static void
bundle_refuses_long_paths(void **state)
{
	char		 path[1200], comp[300];
	struct ent	 e[] = { { NULL, AE_IFREG, 0, "x\n", 0, 0 } };

	memset(path, 'a', sizeof(path));
	for (size_t i = 100; i < sizeof(path); i += 101)
		path[i] = '/';
	path[sizeof(path) - 1] = '\0';
	e[0].name = path;
	reject_entries(state, A_TAR, e, nitems(e),
	    "name is longer than the limit of 1024 bytes");
	memset(comp, 'b', sizeof(comp));
	comp[sizeof(comp) - 1] = '\0';
	e[0].name = comp;
	reject_entries(state, A_TAR, e, nitems(e),
	    "path component longer than 255 bytes");
}

/*
 * Hostile bundles: sizes and counts
 */

static void
bundle_enforces_the_entry_limit(void **state)
{
	struct fx	*f = *state;
	struct bundle_limits lim;
	struct ent	 e[10];
	char		 names[10][16];

	for (size_t i = 0; i < nitems(e); i++) {
		snprintf(names[i], sizeof(names[i]), "d/f%zu", i);
		e[i] = (struct ent){ names[i], AE_IFREG, 0, "x\n", 0, 0 };
	}
	bundle_limits_default(&lim);
	lim.max_entries = 5;
	make_archive(f->arch, A_TAR, e, nitems(e));
	/* "d" counts: d, d/f0 .. d/f3, then d/f4 is the sixth */
	expect_reject(f, &lim, "entry 'd/f4': bundle has more than 5 entries");
	make_archive(f->arch, A_ZIP, e, nitems(e));
	expect_reject(f, &lim, "has more than 5 entries");
}

static void
bundle_stops_a_decompression_bomb(void **state)
{
	struct fx	*f = *state;
	struct bundle_limits lim;
	const struct ent bomb[] = {
		{ "small", AE_IFREG, 0, "x\n", 0, 0 },
		{ "zeros", AE_IFREG, 0, NULL, 8 << 20, '\0' + 1 },
	};
	const struct ent sum[] = {
		{ "a", AE_IFREG, 0, NULL, 600 << 10, 'a' },
		{ "b", AE_IFREG, 0, NULL, 600 << 10, 'b' },
	};

	bundle_limits_default(&lim);
	lim.max_bytes = 1 << 20;
	make_archive(f->arch, A_TGZ, bomb, nitems(bomb));
	expect_reject(f, &lim, "entry 'zeros': bundle is larger than the "
	    "limit of 1048576 bytes");
	make_archive(f->arch, A_ZIP, bomb, nitems(bomb));
	expect_reject(f, &lim, "entry 'zeros': bundle is larger than");
	make_archive(f->arch, A_TAR, sum, nitems(sum));
	expect_reject(f, &lim, "entry 'b': bundle is larger than");
}

static void
bundle_stops_a_zip_whose_sizes_lie(void **state)
{
	struct fx	*f = *state;
	struct bundle_limits lim;
	const struct ent e[] = {
		{ "liar", AE_IFREG, 0, NULL, 4 << 20, 'q' },
	};

	make_archive(f->arch, A_ZIP, e, nitems(e));
	zip_claim_size(f->arch, 100);
	bundle_limits_default(&lim);
	lim.max_bytes = 1 << 20;
	expect_reject(f, &lim, "entry 'liar': ");
	/* The bytes count as they come, whatever the headers said. */
	lim.max_bytes = 1000;
	expect_reject(f, &lim, "entry 'liar': bundle is larger than the "
	    "limit of 1000 bytes once decompressed");
}

static void
bundle_refuses_overlapping_and_duplicate_zip_entries(void **state)
{
	struct fx	*f = *state;
	const struct ent two[] = {
		{ "a", AE_IFREG, 0, NULL, 5000, 'a' },
		{ "b", AE_IFREG, 0, NULL, 5000, 'a' },
	};
	const struct ent dup[] = {
		{ "a", AE_IFREG, 0, "first\n", 0, 0 },
		{ "a", AE_IFREG, 0, "second\n", 0, 0 },
	};
	unsigned char	*z, *p, *q;
	size_t		 len;

	/* Point b's central record at a's local header. */
	make_archive(f->arch, A_ZIP, two, nitems(two));
	z = (unsigned char *)slurp(f->arch, &len);
	p = find_sig(z, len, "PK\001\002", 0);
	q = find_sig(z, len, "PK\001\002", 1);
	memcpy(q + 42, p + 42, 4);
	spew(f->arch, z, len);
	free(z);
	/* both records start at the same offset: either name may come first */
	expect_reject(f, NULL, "': zip data overlaps entry '");
	make_archive(f->arch, A_ZIP, dup, nitems(dup));
	expect_reject(f, NULL, "entry 'a': duplicate entry");
}

static void
bundle_refuses_truncated_and_corrupt_archives(void **state)
{
	struct fx	*f = *state;
	struct ent	 e[] = {
		{ "ok", AE_IFREG, 0, "fine\n", 0, 0 },
		{ "rand", AE_IFREG, 0, NULL, 0, 0 },
	};
	char		 data[65536];
	unsigned char	*z;
	size_t		 len;
	uint32_t	 x = 12345;

	for (size_t i = 0; i < sizeof(data) - 1; i++) {
		x = x * 1103515245 + 12345;
		data[i] = (char)('a' + (x >> 16) % 26);
	}
	data[sizeof(data) - 1] = '\0';
	e[1].data = data;

	make_archive(f->arch, A_TAR, e, nitems(e));
	assert_int_equal(truncate(f->arch, 1024 + 512 + 30000), 0);
	expect_reject(f, NULL, "entry 'rand': ");

	make_archive(f->arch, A_TGZ, e, nitems(e));
	z = (unsigned char *)slurp(f->arch, &len);
	spew(f->arch, z, len / 2);
	expect_reject(f, NULL, "");

	/* Flip bytes in the middle of the deflate stream. */
	for (size_t i = len / 3; i < len / 3 + 64; i++)
		z[i] ^= 0x5a;
	spew(f->arch, z, len);
	expect_reject(f, NULL, "");

	/* A broken header: gzip magic, but not deflate. */
	z[2] = 7;
	spew(f->arch, z, len);
	expect_reject(f, NULL, "");
	free(z);

	make_archive(f->arch, A_ZIP, e, nitems(e));
	z = (unsigned char *)slurp(f->arch, &len);
	spew(f->arch, z, len - 10);
	free(z);
	expect_reject(f, NULL, "corrupt zip");
}

/*
 * Hostile directory bundles
 */

static void
bundle_directory_copy_applies_the_same_rules(void **state)
{
	struct fx	*f = *state;
	char		 src[128], p[300];

	snprintf(src, sizeof(src), "%s/bundle-src", f->root);
	assert_int_equal(mkdir(src, 0755), 0);
	snprintf(p, sizeof(p), "%s/ok", src);
	spew(p, "fine\n", 5);
	snprintf(p, sizeof(p), "%s/pipe", src);
	assert_int_equal(mkfifo(p, 0644), 0);
	strlcpy(f->arch, src, sizeof(f->arch));
	expect_reject(f, NULL, "entry 'pipe': FIFOs are not allowed");
	assert_int_equal(unlink(p), 0);

	snprintf(p, sizeof(p), "%s/escape", src);
	assert_int_equal(symlink("../canary", p), 0);
	expect_reject(f, NULL, "entry 'escape': symlink points outside");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(f->canary, p), 0);
	expect_reject(f, NULL, "entry 'escape': symlink target is an "
	    "absolute path");
}

/*
 * bundle_find_appspec
 */

static void
bundle_finds_the_appspec(void **state)
{
	struct fx	*f = *state;
	struct errbuf	 eb = { 0 };
	char		 p[300], *root, *as;

	assert_int_equal(bundle_find_appspec(f->dest, &root, &as, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_string_equal(eb.msg, "no appspec.yml at the bundle root or "
	    "in its single top-level folder");

	snprintf(p, sizeof(p), "%s/app", f->dest);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/app/appspec.yaml", f->dest);
	spew(p, "version: 0.0\n", 13);
	assert_int_equal(bundle_find_appspec(f->dest, &root, &as, &eb), 0);
	snprintf(p, sizeof(p), "%s/app", f->dest);
	assert_string_equal(root, p);
	snprintf(p, sizeof(p), "%s/app/appspec.yaml", f->dest);
	assert_string_equal(as, p);
	free(root);
	free(as);

	/* A second top-level entry: no longer "the single folder". */
	snprintf(p, sizeof(p), "%s/README", f->dest);
	spew(p, "hi\n", 3);
	assert_int_equal(bundle_find_appspec(f->dest, &root, &as, &eb), -1);

	/* An appspec must be a regular file, not a link. */
	snprintf(p, sizeof(p), "%s/appspec.yml", f->dest);
	assert_int_equal(symlink("app/appspec.yaml", p), 0);
	assert_int_equal(bundle_find_appspec(f->dest, &root, &as, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, "appspec.yml' is not a regular file"));
	assert_int_equal(unlink(p), 0);

	spew(p, "version: 0.0\n", 13);
	assert_int_equal(bundle_find_appspec(f->dest, &root, &as, &eb), 0);
	assert_string_equal(root, f->dest);
	assert_string_equal(as, p);
	free(root);
	free(as);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(bundle_detect_knows_each_format_by_content),
		T(bundle_extracts_a_tar),
		T(bundle_extracts_a_tgz),
		T(bundle_extracts_a_zip),
		T(bundle_hashes_while_extracting),
		T(bundle_hashes_a_big_bundle_on_the_side),
		T(bundle_refuses_a_digest_mismatch),
		T(bundle_copies_a_directory),
		T(bundle_accepts_a_root_entry_and_late_directories),
		T(bundle_extract_refuses_a_destination_that_is_not_empty),
		T(bundle_refuses_dotdot),
		T(bundle_refuses_absolute_paths),
		T(bundle_refuses_symlink_escapes),
		T(bundle_refuses_writing_through_a_symlink),
		T(bundle_refuses_hardlinks_out_of_the_tree),
		T(bundle_refuses_devices_and_fifos),
		T(bundle_refuses_control_characters_and_bad_utf8),
		T(bundle_refuses_long_paths),
		T(bundle_enforces_the_entry_limit),
		T(bundle_stops_a_decompression_bomb),
		T(bundle_stops_a_zip_whose_sizes_lie),
		T(bundle_refuses_overlapping_and_duplicate_zip_entries),
		T(bundle_refuses_truncated_and_corrupt_archives),
		T(bundle_directory_copy_applies_the_same_rules),
		T(bundle_finds_the_appspec),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
