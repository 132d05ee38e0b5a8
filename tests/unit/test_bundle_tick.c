/* SPDX-License-Identifier: ISC */
/*
 * test_bundle_tick.c: bundle_extract_cb()'s progress callback.  During a
 * long extraction (a tar of many files, a directory bundle) it is called,
 * never more often than its period, never after the call returned; with
 * no callback the result is what bundle_extract() makes.
 */
#include "compat.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>

#include "bundle.h"
#include "errbuf.h"
#include "fsutil.h"
#include "xalloc.h"

#define NFILES		3000	/* enough to take well over 2 periods */
#define PERIOD_MSEC	2

static char	 tmp[PATH_MAX];

struct ticks {
	unsigned	 n;
	bool		 done;		/* set after the call returned */
	bool		 late;		/* a tick after that */
};

static void
on_tick(void *arg)
{
	struct ticks	*t = arg;

	t->n++;
	if (t->done)
		t->late = true;
}

static double
now_msec(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
setup(void **state)
{
	/*
	 * The ticks, not the disk, are under test: a tmpfs if there is one
	 * (9,000 files on a shared disk took 12-35 s, on tmpfs under 1 s).
	 */
	(void)strlcpy(tmp, "/dev/shm/test_bundle_tick.XXXXXX", sizeof(tmp));
	if (mkdtemp(tmp) != NULL)
		return 0;
	(void)strlcpy(tmp, "/tmp/test_bundle_tick.XXXXXX", sizeof(tmp));
	return mkdtemp(tmp) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	struct errbuf	 eb;

	return fs_rmtree(tmp, &eb);
}

/* A tar of NFILES small files plus an appspec, at tmp/b.tar. */
static char *
make_tar(void)
{
	struct archive		*a;
	struct archive_entry	*e;
	char			*path, name[64];
	const char		*as = "version: 0.0\nos: linux\n";

	path = xasprintf("%s/b.tar", tmp);
	a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a),
	    ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (int i = 0; i <= NFILES; i++) {
		const char	*data = i == 0 ? as : "hello\n";

		if (i == 0)
			(void)strlcpy(name, "appspec.yml", sizeof(name));
		else
			(void)snprintf(name, sizeof(name), "f/%04d.txt", i);
		e = archive_entry_new();
		archive_entry_set_pathname(e, name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)strlen(data));
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, data, strlen(data)),
		    (la_ssize_t)strlen(data));
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return path;
}

static char *
new_dest(const char *name)
{
	char	*d = xasprintf("%s/%s", tmp, name);

	assert_int_equal(mkdir(d, 0755), 0);
	return d;
}

static void
extract_ticks(const char *bundle, const char *destname)
{
	struct ticks	 t = { 0 };
	struct errbuf	 eb = { 0 };
	char		*dest, *p;
	double		 t0, took;

	dest = new_dest(destname);
	t0 = now_msec();
	assert_int_equal(bundle_extract_cb(bundle, dest, NULL, on_tick, &t,
	    PERIOD_MSEC, &eb), 0);
	took = now_msec() - t0;
	t.done = true;
	p = xasprintf("%s/f/%04d.txt", dest, NFILES);
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	/* Called, and at most once per period (the first after one). */
	if (took >= 3 * PERIOD_MSEC)
		assert_true(t.n >= 1);
	assert_true(t.n <= took / PERIOD_MSEC + 1);
	assert_false(t.late);
	free(dest);
}

static void
bundle_tick_is_called_during_a_long_tar_extraction(void **unused)
{
	char	*tar = make_tar();

	extract_ticks(tar, "d1");
	free(tar);
}

static void
bundle_tick_is_called_while_copying_a_directory(void **unused)
{
	char	*tar = make_tar(), *src;

	/* The tar's tree, extracted, is the directory bundle. */
	extract_ticks(tar, "src");
	src = xasprintf("%s/src", tmp);
	extract_ticks(src, "d2");
	free(src);
	free(tar);
}

static void
bundle_tick_null_is_bundle_extract(void **unused)
{
	struct ticks	 t = { 0 };
	struct errbuf	 eb = { 0 };
	char		*tar = make_tar(), *d1, *d2, *p;

	d1 = new_dest("plain");
	d2 = new_dest("cb");
	assert_int_equal(bundle_extract(tar, d1, NULL, &eb), 0);
	assert_int_equal(bundle_extract_cb(tar, d2, NULL, NULL, &t, 0, &eb),
	    0);
	assert_int_equal(t.n, 0);
	p = xasprintf("%s/appspec.yml", d2);
	assert_int_equal(access(p, F_OK), 0);
	free(p);
	/* A destination that is not empty is refused, callback or not. */
	assert_int_equal(bundle_extract_cb(tar, d2, NULL, on_tick, &t, 1,
	    &eb), -1);
	assert_int_equal(eb.kind, EK_IO);	/* not empty */
	free(d1);
	free(d2);
	free(tar);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    bundle_tick_is_called_during_a_long_tar_extraction, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    bundle_tick_is_called_while_copying_a_directory, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    bundle_tick_null_is_bundle_extract, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
