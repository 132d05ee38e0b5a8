/* SPDX-License-Identifier: ISC */
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

#include "deploylog.h"
#include "errbuf.h"
#include "slurp.h"

static char	 dir[] = "/tmp/test_deploylog.XXXXXX";

static int
setup(void **state)
{
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	 cmd[128];

	(void)snprintf(cmd, sizeof(cmd), "%s/d-AAAAAAAAA.log", dir);
	(void)unlink(cmd);
	(void)snprintf(cmd, sizeof(cmd), "%s/d-BBBBBBBBB.log", dir);
	(void)unlink(cmd);
	return rmdir(dir);
}

static long long
file_size(const char *path)
{
	struct stat	 st;

	return stat(path, &st) == -1 ? -1 : (long long)st.st_size;
}

static void
deploylog_caps_script_output_but_keeps_its_end(void **state)
{
	struct deploylog dl;
	struct errbuf	 eb = { 0 };
	char		 path[256], line[1000];
	char		*text;

	(void)snprintf(path, sizeof(path), "%s/d-AAAAAAAAA.log", dir);
	deploylog_init(&dl);
	dl.max = 64 * 1024;
	assert_int_equal(deploylog_open(&dl, path, &eb), 0);
	memset(line, 'x', sizeof(line));
	for (int i = 0; i < 10000; i++)		/* ~10 MB offered */
		deploylog_output(&dl, "ApplicationStart", "stdout", line,
		    sizeof(line));
	deploylog_output(&dl, "ApplicationStart", "stderr", "the last words",
	    14);
	deploylog_printf(&dl, NULL, "deployment failed: the outcome");
	deploylog_close(&dl);

	/* the cap, the kept tail, and hookd's own lines: no more */
	assert_true(file_size(path) < 64 * 1024 + 64 * 1024 + 8192);
	text = slurp(path, NULL);
	assert_non_null(strstr(text, "bytes of script output left out"));
	assert_non_null(strstr(text, "[stderr] the last words\n"));
	assert_true(strstr(text, "the last words") <
	    strstr(text, "deployment failed: the outcome"));
	free(text);
}

static void
deploylog_reopen_counts_what_is_already_there(void **state)
{
	struct deploylog dl;
	struct errbuf	 eb = { 0 };
	char		 path[256];
	long long	 before;
	char		*text;

	(void)snprintf(path, sizeof(path), "%s/d-AAAAAAAAA.log", dir);
	before = file_size(path);
	assert_true(before > 1024);
	deploylog_init(&dl);
	dl.max = 1024;
	assert_int_equal(deploylog_open(&dl, path, &eb), 0);
	assert_true(dl.capped);
	for (int i = 0; i < 20000; i++)
		deploylog_output(&dl, "-", "stdout", "more", 4);
	deploylog_close(&dl);
	/* only the tail ring and its marker line were added */
	assert_true(file_size(path) <= before + 64 * 1024 + 4096);
	text = slurp(path, NULL);
	assert_non_null(strstr(text, "] more\n"));
	free(text);
}

static void
deploylog_prune_removes_only_named_plain_ids(void **state)
{
	struct deploylog dl;
	struct errbuf	 eb = { 0 };
	char		 a[256], b[256];
	const char	*ids[] = { "d-AAAAAAAAA", "../etc/passwd", "", NULL,
	    "d-MISSING00" };

	(void)snprintf(a, sizeof(a), "%s/d-AAAAAAAAA.log", dir);
	(void)snprintf(b, sizeof(b), "%s/d-BBBBBBBBB.log", dir);
	deploylog_init(&dl);
	assert_int_equal(deploylog_open(&dl, b, &eb), 0);
	deploylog_close(&dl);
	assert_true(file_size(a) >= 0);
	assert_int_equal(deploylog_prune(dir, ids, nitems(ids)), 1);
	assert_int_equal(file_size(a), -1);
	assert_true(file_size(b) >= 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    deploylog_caps_script_output_but_keeps_its_end),
		cmocka_unit_test(deploylog_reopen_counts_what_is_already_there),
		cmocka_unit_test(deploylog_prune_removes_only_named_plain_ids),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
