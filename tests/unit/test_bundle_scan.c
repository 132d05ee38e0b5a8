/* SPDX-License-Identifier: ISC */
/*
 * test_bundle_scan.c: bundle_scan() against bundle_extract_ex() on the
 * same archives (same verdict, same error kind and message, same paths),
 * the appspec candidates' contents it keeps (hard links included),
 * bundle_listing_appspec() against bundle_find_appspec() on the
 * extracted tree, and appspec_check_listing() against
 * appspec_check_bundle() on it: symlinks inside the listing resolved the
 * way realpath(3) resolves them in the tree.  Archives are built here
 * with libarchive's writer; the scan must create nothing anywhere.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
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
#include "bundle.h"
#include "errbuf.h"
#include "fsutil.h"
#include "xalloc.h"

#include "banned.h"

struct fx {
	char		 root[64];	/* mkdtemp */
	char		 dest[128];	/* where the extraction goes */
	char		 arch[128];	/* the archive under test */
	int		 n;		/* extractions so far */
};

static const char *const fmtname[] = { "tar", "tgz", "zip" };

static int
setup(void **state)
{
	struct fx	*f = xcalloc(1, sizeof(*f));

	strlcpy(f->root, "/tmp/hookd-scan-XXXXXX", sizeof(f->root));
	assert_non_null(mkdtemp(f->root));
	snprintf(f->arch, sizeof(f->arch), "%s/bundle", f->root);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;
	struct errbuf	 eb = { 0 };

	assert_int_equal(fs_rmtree(f->root, &eb), 0);
	free(f);
	return 0;
}

/* A fresh, empty extraction directory. */
static const char *
new_dest(struct fx *f)
{
	snprintf(f->dest, sizeof(f->dest), "%s/dest%d", f->root, f->n++);
	assert_int_equal(mkdir(f->dest, 0755), 0);
	return f->dest;
}

/*
 * Scan and extract f->arch with lim: the same verdict, kind and message,
 * and on success the same paths with the same types and link targets.
 * Returns whether it was accepted; *ls gets the listing then.
 */
static bool
scan_like_extract(struct fx *f, const struct bundle_limits *lim,
    struct bundle_listing *ls)
{
	struct bundle_opts o = { 0 };
	struct bundle_tree t;
	struct errbuf	 ebx = { 0 }, ebs = { 0 };
	int		 rx, rs, before;

	o.limits = lim;
	bundle_tree_init(&t);
	bundle_listing_init(ls);
	before = count_entries(f->root);
	rs = bundle_scan(f->arch, lim, ls, &ebs);
	/* The scan wrote nothing. */
	assert_int_equal(count_entries(f->root), before);
	rx = bundle_extract_ex(f->arch, new_dest(f), &o, NULL, &t, &ebx);
	if (rx != rs || (rx == -1 && (ebx.kind != ebs.kind ||
	    strcmp(ebx.msg, ebs.msg) != 0)))
		fail_msg("extract %d (%d \"%s\"), scan %d (%d \"%s\")", rx,
		    ebx.kind, ebx.msg, rs, ebs.kind, ebs.msg);
	if (secure_getenv("HOOKD_TEST_VERBOSE") != NULL)
		print_message("%s: %s\n", rx == 0 ? "accepted" : "refused",
		    ebx.msg);
	if (rx == 0) {
		assert_int_equal(t.n, ls->tree.n);
		for (size_t i = 0; i < t.n; i++) {
			const struct bundle_entry *x = &t.v[i], *s;

			assert_non_null(s = bundle_listing_find(ls,
			    x->path));
			assert_string_equal(s->path, ls->tree.v[i].path);
			assert_int_equal(s->type, x->type);
			if (x->target != NULL)
				assert_string_equal(s->target, x->target);
			else
				assert_null(s->target);
		}
	}
	bundle_tree_release(&t);
	return rx == 0;
}

/* Build each archive in each format and compare scan and extraction. */
static void
compare_each(struct fx *f, const struct ent *ents, size_t n, bool zip,
    const struct bundle_limits *lim, bool want_ok)
{
	struct bundle_listing ls;

	for (int fmt = A_TAR; fmt <= (zip ? A_ZIP : A_TGZ); fmt++) {
		make_archive(f->arch, fmt, ents, n);
		if (scan_like_extract(f, lim, &ls) != want_ok)
			fail_msg("%s: %s", fmtname[fmt], want_ok ?
			    "refused" : "accepted");
		bundle_listing_release(&ls);
	}
}

static void
scan_accepts_what_extraction_accepts(void **state)
{
	struct fx	*f = *state;
	const struct ent plain[] = {
		{ "appspec.yml", AE_IFREG, 0, "version: 0.0\n", 0, 0 },
		{ "scripts/", AE_IFDIR, 0, NULL, 0, 0 },
		{ "scripts/start.sh", AE_IFREG, 0, "#!/bin/sh\n", 0, 0 },
		{ "deep/er/file", AE_IFREG, 0, "x\n", 0, 0 },
		{ "./dot/./file", AE_IFREG, 0, "y\n", 0, 0 },
		{ "scripts/", AE_IFDIR, 0, NULL, 0, 0 },
		{ "caf\xc3\xa9", AE_IFREG, 0, "z\n", 0, 0 },
	};
	const struct ent links[] = {
		{ "a/b/", AE_IFDIR, 0, NULL, 0, 0 },
		{ "a/b/up", AE_IFLNK, 0, "../../scripts", 0, 0 },
		{ "a/l", AE_IFLNK, 0, "b", 0, 0 },
		{ "scripts/s.sh", AE_IFREG, 0, "#!/bin/sh\n", 0, 0 },
		{ "loop1", AE_IFLNK, 0, "loop2", 0, 0 },
		{ "loop2", AE_IFLNK, 0, "loop1", 0, 0 },
	};
	const struct ent hard[] = {
		{ "f", AE_IFREG, 0, "data\n", 0, 0 },
		{ "d/h", HARDLINK, 0, "f", 0, 0 },
		{ "h2", HARDLINK, 0, "d/h", 0, 0 },
	};

	compare_each(f, plain, nitems(plain), true, NULL, true);
	compare_each(f, links, nitems(links), true, NULL, true);
	compare_each(f, hard, nitems(hard), false, NULL, true);
}

static void
scan_refuses_what_extraction_refuses(void **state)
{
	struct fx	*f = *state;
	struct bundle_limits lim;
	const struct ent dotdot[] = {
		{ "ok", AE_IFREG, 0, "x\n", 0, 0 },
		{ "a/../../evil", AE_IFREG, 0, "x\n", 0, 0 },
	};
	const struct ent abs[] = { { "/etc/evil", AE_IFREG, 0, "x\n", 0, 0 } };
	const struct ent escape[] = {
		{ "evil", AE_IFLNK, 0, "../outside", 0, 0 },
	};
	const struct ent chain[] = {
		{ "sub/deep", AE_IFLNK, 0, "..", 0, 0 },
		{ "up", AE_IFLNK, 0, "sub/deep/..", 0, 0 },
	};
	const struct ent through[] = {
		{ "real/", AE_IFDIR, 0, NULL, 0, 0 },
		{ "link", AE_IFLNK, 0, "real", 0, 0 },
		{ "link/file", AE_IFREG, 0, "x\n", 0, 0 },
	};
	const struct ent dup[] = {
		{ "f", AE_IFREG, 0, "x\n", 0, 0 },
		{ "f", AE_IFREG, 0, "y\n", 0, 0 },
	};
	const struct ent parent[] = {
		{ "f", AE_IFREG, 0, "x\n", 0, 0 },
		{ "f/g", AE_IFREG, 0, "y\n", 0, 0 },
	};
	const struct ent ctl[] = { { "evil\nname", AE_IFREG, 0, "x\n", 0, 0 } };
	const struct ent utf[] = { { "caf\xe9", AE_IFREG, 0, "x\n", 0, 0 } };
	const struct ent fifo[] = { { "pipe", AE_IFIFO, 0, NULL, 0, 0 } };
	const struct ent hard[] = {
		{ "h", HARDLINK, 0, "later", 0, 0 },
		{ "later", AE_IFREG, 0, "x\n", 0, 0 },
	};
	const struct ent hdir[] = {
		{ "d/", AE_IFDIR, 0, NULL, 0, 0 },
		{ "h", HARDLINK, 0, "d", 0, 0 },
	};
	const struct {
		const struct ent *ents;
		size_t		 n;
		bool		 zip;	/* also as a zip */
	} refused[] = {
#define R(e, zip)	{ e, nitems(e), zip }
		R(dotdot, true), R(abs, false), R(escape, true),
		R(chain, true), R(through, true), R(dup, true),
		R(parent, true), R(ctl, true), R(utf, false),
		R(fifo, false), R(hard, false), R(hdir, false),
#undef R
	};
	struct ent	 many[8];
	char		 names[8][16];

	for (size_t i = 0; i < nitems(refused); i++)
		compare_each(f, refused[i].ents, refused[i].n,
		    refused[i].zip, NULL, false);

	/* The limits: entries (implied directories count), bytes. */
	for (size_t i = 0; i < nitems(many); i++) {
		snprintf(names[i], sizeof(names[i]), "d/f%zu", i);
		many[i] = (struct ent){ names[i], AE_IFREG, 0, "0123456789",
		    0, 0 };
	}
	bundle_limits_default(&lim);
	lim.max_entries = 5;
	compare_each(f, many, nitems(many), true, &lim, false);
	lim.max_entries = 9;
	compare_each(f, many, nitems(many), true, &lim, true);
	lim.max_bytes = 75;
	compare_each(f, many, nitems(many), true, &lim, false);
}

static void
scan_refuses_corrupt_archives_like_extraction(void **state)
{
	struct fx	*f = *state;
	struct bundle_listing ls;
	const struct ent e[] = {
		{ "appspec.yml", AE_IFREG, 0, "version: 0.0\nos: linux\n", 0,
		    0 },
		{ "scripts/start.sh", AE_IFREG, 0, "#!/bin/sh\nexit 0\n", 0,
		    0 },
	};
	struct stat	 st;

	for (int fmt = A_TAR; fmt <= A_ZIP; fmt++) {
		make_archive(f->arch, fmt, e, nitems(e));
		assert_int_equal(stat(f->arch, &st), 0);
		assert_int_equal(truncate(f->arch, st.st_size - 40), 0);
		(void)scan_like_extract(f, NULL, &ls);
		bundle_listing_release(&ls);
	}
	/* Not a bundle at all, and no file. */
	assert_int_equal(truncate(f->arch, 10), 0);
	(void)scan_like_extract(f, NULL, &ls);
	bundle_listing_release(&ls);
	assert_int_equal(unlink(f->arch), 0);
	assert_false(scan_like_extract(f, NULL, &ls));
	bundle_listing_release(&ls);
}

/*
 * A zip whose headers understate an entry's size: the extraction's
 * writer refuses the data past it ("Too much data"), and so must the
 * scan, which has no writer.
 */
static void
scan_refuses_a_zip_whose_sizes_lie_like_extraction(void **state)
{
	struct fx	*f = *state;
	struct bundle_listing ls;
	const struct ent e[] = {
		{ "liar", AE_IFREG, 0, NULL, 65536, 'q' },
	};

	make_archive(f->arch, A_ZIP, e, nitems(e));
	/* 100 bytes uncompressed, in the local and the central header. */
	zip_claim_size(f->arch, 100);
	assert_false(scan_like_extract(f, NULL, &ls));
	bundle_listing_release(&ls);
}

/* The listing's appspec: the same choice as bundle_find_appspec(). */
static void
expect_appspec(struct fx *f, const struct ent *ents, size_t n,
    const char *want_root, const char *want_data, const char *want_err)
{
	struct bundle_listing ls;
	const struct bundle_blob *blob;
	struct errbuf	 eb = { 0 }, eb2 = { 0 };
	const char	*root;
	char		*droot, *dfile, *want, buf[256];
	FILE		*fp;
	size_t		 got;
	int		 r, rd;

	make_archive(f->arch, A_TAR, ents, n);
	assert_true(scan_like_extract(f, NULL, &ls));
	r = bundle_listing_appspec(&ls, &root, &blob, &eb);
	rd = bundle_find_appspec(f->dest, &droot, &dfile, &eb2);
	assert_int_equal(r, rd);
	if (want_err != NULL) {
		assert_int_equal(r, -1);
		assert_int_equal(eb.kind, eb2.kind);
		assert_string_equal(eb.msg, want_err);
		/* The directory's message names the same path under dest. */
		if (strncmp(want_err, "'", 1) == 0) {
			want = xasprintf("'%s/%s", f->dest, want_err + 1);
			assert_string_equal(eb2.msg, want);
			free(want);
		} else
			assert_string_equal(eb2.msg, eb.msg);
	} else {
		if (r != 0)
			fail_msg("%s", eb.msg);
		assert_string_equal(root, want_root);
		assert_string_equal(blob->data, want_data);
		assert_int_equal(blob->len, strlen(want_data));
		want = xasprintf("%s%s%s", f->dest, *root != '\0' ? "/" : "",
		    root);
		assert_string_equal(droot, want);
		free(want);
		want = xasprintf("%s/%s", f->dest, blob->path);
		assert_string_equal(dfile, want);
		free(want);
		/* What the extraction wrote there. */
		assert_non_null(fp = fopen(dfile, "re"));
		got = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		assert_int_equal(got, blob->len);
		assert_memory_equal(buf, blob->data, got);
		free(droot);
		free(dfile);
	}
	bundle_listing_release(&ls);
}

static void
scan_finds_the_appspec_where_extraction_would(void **state)
{
	struct fx	*f = *state;
	const struct ent root[] = {
		{ "top/appspec.yml", AE_IFREG, 0, "nested\n", 0, 0 },
		{ "appspec.yaml", AE_IFREG, 0, "yaml\n", 0, 0 },
		{ "appspec.yml", AE_IFREG, 0, "yml\n", 0, 0 },
	};
	const struct ent single[] = {
		{ "web-1.2/appspec.yaml", AE_IFREG, 0, "v: 1\n", 0, 0 },
		{ "web-1.2/x/appspec.yml", AE_IFREG, 0, "deeper\n", 0, 0 },
	};
	const struct ent two[] = {
		{ "a/appspec.yml", AE_IFREG, 0, "a\n", 0, 0 },
		{ "b/appspec.yml", AE_IFREG, 0, "b\n", 0, 0 },
	};
	const struct ent notreg[] = {
		{ "appspec.yml/", AE_IFDIR, 0, NULL, 0, 0 },
	};
	const struct ent link[] = {
		{ "real.yml", AE_IFREG, 0, "r\n", 0, 0 },
		{ "appspec.yml", AE_IFLNK, 0, "real.yml", 0, 0 },
	};
	/* A hard-linked appspec: its data is the file's (second pass). */
	const struct ent hard[] = {
		{ "conf/base.yml", AE_IFREG, 0, "from the file\n", 0, 0 },
		{ "appspec.yml", HARDLINK, 0, "conf/base.yml", 0, 0 },
	};
	/* A later hard link (without data) leaves the file as it was. */
	const struct ent later[] = {
		{ "appspec.yml", AE_IFREG, 0, "original\n", 0, 0 },
		{ "other", HARDLINK, 0, "appspec.yml", 0, 0 },
		{ "again", HARDLINK, 0, "other", 0, 0 },
	};

	expect_appspec(f, root, nitems(root), "", "yml\n", NULL);
	expect_appspec(f, single, nitems(single), "web-1.2", "v: 1\n", NULL);
	expect_appspec(f, two, nitems(two), NULL, NULL, "no appspec.yml at "
	    "the bundle root or in its single top-level folder");
	expect_appspec(f, notreg, nitems(notreg), NULL, NULL,
	    "'appspec.yml' is not a regular file");
	expect_appspec(f, link, nitems(link), NULL, NULL,
	    "'appspec.yml' is not a regular file");
	expect_appspec(f, hard, nitems(hard), "", "from the file\n", NULL);
	expect_appspec(f, later, nitems(later), "", "original\n", NULL);
}

/*
 * Check appspec text y against the archive of ents both ways (listing,
 * extracted tree): the same verdict and the same error lines.  Returns
 * the number of errors.
 */
static size_t
check_both(struct fx *f, const struct ent *ents, size_t n, const char *y)
{
	struct bundle_listing ls;
	const struct bundle_blob *blob;
	struct appspec	 as1, as2;
	struct errbuf	 eb1 = { 0 }, eb2 = { 0 };
	const char	*root;
	char		*dir;
	size_t		 nerr;
	int		 r1, r2;

	make_archive(f->arch, A_TAR, ents, n);
	assert_true(scan_like_extract(f, NULL, &ls));
	assert_int_equal(bundle_listing_appspec(&ls, &root, &blob, &eb1), 0);
	dir = xasprintf("%s%s%s", f->dest, *root != '\0' ? "/" : "", root);
	appspec_init(&as1);
	appspec_init(&as2);
	assert_int_equal(appspec_parse(&as1, y, strlen(y), "a.yml", &eb1), 0);
	assert_int_equal(appspec_parse(&as2, y, strlen(y), "a.yml", &eb2), 0);
	r1 = appspec_check_listing(&as1, &ls, root, &eb1);
	r2 = appspec_check_bundle(&as2, dir, &eb2);
	assert_int_equal(r1, r2);
	assert_int_equal(as1.nerrors, as2.nerrors);
	for (size_t i = 0; i < as1.nerrors; i++) {
		if (secure_getenv("HOOKD_TEST_VERBOSE") != NULL)
			print_message("%s\n", as1.errors[i]);
		assert_string_equal(as1.errors[i], as2.errors[i]);
	}
	if (r1 == -1) {
		assert_int_equal(eb1.kind, EK_DATA);
		assert_string_equal(eb1.msg, eb2.msg);
	}
	nerr = as1.nerrors;
	appspec_release(&as1);
	appspec_release(&as2);
	bundle_listing_release(&ls);
	free(dir);
	return nerr;
}

/*
 * check_both() on the tar of ents and appspec text y, which must find
 * nerr errors; then the listing alone, from a scan, with as's errors
 * left for the caller to read (the first in *eb).  The caller releases
 * as and ls; returns the bundle root, which lives in ls.
 */
static const char *
listing_errors(struct fx *f, const struct ent *ents, size_t n,
    const char *y, size_t nerr, struct appspec *as,
    struct bundle_listing *ls, struct errbuf *eb)
{
	const struct bundle_blob *blob;
	const char	*root;

	assert_int_equal(check_both(f, ents, n, y), nerr);
	make_archive(f->arch, A_TAR, ents, n);
	bundle_listing_init(ls);
	assert_int_equal(bundle_scan(f->arch, NULL, ls, eb), 0);
	assert_int_equal(bundle_listing_appspec(ls, &root, &blob, eb), 0);
	appspec_init(as);
	assert_int_equal(appspec_parse(as, y, strlen(y), "a.yml", eb), 0);
	assert_int_equal(appspec_check_listing(as, ls, root, eb), -1);
	assert_int_equal(as->nerrors, nerr);
	return root;
}

static const struct ent linked[] = {
	{ "appspec.yml", AE_IFREG, 0, "version: 0.0\n", 0, 0 },
	{ "scripts/real.sh", AE_IFREG, 0, "#!/bin/sh\n", 0, 0 },
	{ "scripts/in.sh", AE_IFLNK, 0, "real.sh", 0, 0 },
	{ "bin/", AE_IFDIR, 0, NULL, 0, 0 },
	{ "bin/chain.sh", AE_IFLNK, 0, "../scripts/in.sh", 0, 0 },
	{ "s", AE_IFLNK, 0, "scripts", 0, 0 },
	{ "d", AE_IFLNK, 0, "bin", 0, 0 },
	{ "loop1", AE_IFLNK, 0, "loop2", 0, 0 },
	{ "loop2", AE_IFLNK, 0, "loop1", 0, 0 },
	{ "dangling", AE_IFLNK, 0, "nowhere", 0, 0 },
	{ "f/", AE_IFDIR, 0, NULL, 0, 0 },
	{ "f/x", AE_IFLNK, 0, "../scripts/real.sh/", 0, 0 },
};

static void
listing_follows_symlinks_inside_the_bundle(void **state)
{
	static const char y[] = "version: 0.0\nos: linux\n"
	    "files:\n  - source: s\n    destination: /opt/x\n"
	    "  - source: d/chain.sh\n    destination: /opt/y\n"
	    "hooks:\n  AfterInstall:\n"
	    "    - location: scripts/real.sh\n"
	    "    - location: scripts/in.sh\n"
	    "    - location: bin/chain.sh\n"
	    "    - location: s/in.sh\n"
	    "    - location: d/chain.sh\n"
	    "    - location: ./s/./in.sh\n";

	assert_int_equal(check_both(*state, linked, nitems(linked), y), 0);
}

static void
listing_reports_bad_paths_like_the_tree(void **state)
{
	static const char y[] = "version: 0.0\nos: linux\n"
	    "files:\n  - source: dangling\n    destination: /opt/x\n"
	    "  - source: f/x\n    destination: /opt/y\n"
	    "hooks:\n  AfterInstall:\n"
	    "    - location: scripts\n"
	    "    - location: s\n"
	    "    - location: loop1\n"
	    "    - location: missing.sh\n"
	    "    - location: scripts/real.sh/x\n"
	    "    - location: d\n";
	struct bundle_listing ls;
	struct appspec	 as;
	struct errbuf	 eb = { 0 };

	/* Both ways, then the exact messages from the listing alone. */
	(void)listing_errors(*state, linked, nitems(linked), y, 8, &as, &ls,
	    &eb);
	assert_string_equal(eb.msg, "a.yml:10:17: hooks.AfterInstall[0]."
	    "location: 'scripts' is not a regular file");
	assert_string_equal(as.errors[1], "a.yml:11:17: hooks.AfterInstall"
	    "[1].location: 's' is not a regular file");
	assert_string_equal(as.errors[2], "a.yml:12:17: hooks.AfterInstall"
	    "[2].location: cannot resolve 'loop1': Too many levels of "
	    "symbolic links");
	assert_non_null(strstr(as.errors[3], "'missing.sh' does not exist"));
	assert_non_null(strstr(as.errors[4], "'scripts/real.sh/x' does not "
	    "exist"));
	assert_non_null(strstr(as.errors[5], "'d' is not a regular file"));
	assert_string_equal(as.errors[6], "a.yml:4:13: files[0].source: "
	    "'dangling' does not exist in the bundle");
	assert_string_equal(as.errors[7], "a.yml:6:13: files[1].source: "
	    "'f/x' does not exist in the bundle");
	appspec_release(&as);
	bundle_listing_release(&ls);
}

static void
listing_refuses_a_symlink_out_of_the_bundle_root(void **state)
{
	/*
	 * The root is web/: ../.. from web/scripts is the archive's root,
	 * outside it, though a path through it may come back in.
	 */
	static const struct ent ents[] = {
		{ "web/appspec.yml", AE_IFREG, 0, "version: 0.0\n", 0, 0 },
		{ "web/scripts/", AE_IFDIR, 0, NULL, 0, 0 },
		{ "web/scripts/out.sh", AE_IFLNK, 0, "../../web/start.sh", 0,
		    0 },
		{ "web/scripts/up", AE_IFLNK, 0, "..", 0, 0 },
		{ "web/start.sh", AE_IFREG, 0, "#!/bin/sh\n", 0, 0 },
		{ "web/scripts/top", AE_IFLNK, 0, "../..", 0, 0 },
	};
	static const char y[] = "version: 0.0\nos: linux\n"
	    "files:\n  - source: scripts/top\n    destination: /opt/x\n"
	    "hooks:\n  AfterInstall:\n"
	    "    - location: scripts/out.sh\n"
	    "    - location: scripts/up/start.sh\n"
	    "    - location: scripts/top/web/start.sh\n";
	struct bundle_listing ls;
	struct appspec	 as;
	struct errbuf	 eb = { 0 };

	assert_string_equal(listing_errors(*state, ents, nitems(ents), y, 1,
	    &as, &ls, &eb), "web");
	assert_string_equal(eb.msg, "a.yml:4:13: files[0].source: "
	    "'scripts/top' leads outside the bundle (through a symlink)");
	appspec_release(&as);
	bundle_listing_release(&ls);
}

static void
listing_resolve_reports_errno(void **state)
{
	static const struct {
		const char	*path;
		size_t		 size;	/* of the result; 0: all of res */
		const char	*want;	/* NULL: fails with errno err */
		char		 type;
		int		 err;
	} cases[] = {
		{ "d/chain.sh", 0, "scripts/real.sh", 'f', 0 },
		{ "", 0, "", 'd', 0 },
		{ "s", 0, "scripts", 'd', 0 },
		{ "loop2", 0, NULL, 0, ELOOP },
		{ "nope/x", 0, NULL, 0, ENOENT },
		{ "s/real.sh/", 0, NULL, 0, ENOTDIR },
		{ "bin/../..", 0, NULL, 0, EXDEV },
		{ "d/chain.sh", 8, NULL, 0, ENAMETOOLONG },
	};
	struct fx	*f = *state;
	struct bundle_listing ls;
	struct errbuf	 eb = { 0 };
	char		 res[64], type;
	int		 r, err;

	make_archive(f->arch, A_ZIP, linked, nitems(linked));
	bundle_listing_init(&ls);
	assert_int_equal(bundle_scan(f->arch, NULL, &ls, &eb), 0);
	for (size_t i = 0; i < nitems(cases); i++) {
		r = bundle_listing_resolve(&ls, cases[i].path, res,
		    cases[i].size != 0 ? cases[i].size : sizeof(res), &type);
		err = errno;
		if (cases[i].want != NULL) {
			assert_int_equal(r, 0);
			assert_string_equal(res, cases[i].want);
			assert_int_equal(type, cases[i].type);
		} else {
			assert_int_equal(r, -1);
			assert_int_equal(err, cases[i].err);
		}
	}
	bundle_listing_release(&ls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(scan_accepts_what_extraction_accepts),
		T(scan_refuses_what_extraction_refuses),
		T(scan_refuses_corrupt_archives_like_extraction),
		T(scan_refuses_a_zip_whose_sizes_lie_like_extraction),
		T(scan_finds_the_appspec_where_extraction_would),
		T(listing_follows_symlinks_inside_the_bundle),
		T(listing_reports_bad_paths_like_the_tree),
		T(listing_refuses_a_symlink_out_of_the_bundle_root),
		T(listing_resolve_reports_errno),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
