/* SPDX-License-Identifier: ISC */
/*
 * test_state.c: lib/state.c: a state survives a save/load round trip, a
 * failed save leaves the old file and no temporary behind, a missing file
 * is an empty state, and a corrupt or foreign file is an EK_DATA error
 * naming the path.
 */
#include "compat.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "caps.h"
#include "errbuf.h"
#include "state.h"
#include "xalloc.h"

static char	 tmpdir[PATH_MAX];

static int
setup(void **state)
{
	(void)strlcpy(tmpdir, "/tmp/test_state.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	DIR		*d;
	struct dirent	*de;
	char		*p;

	if ((d = opendir(tmpdir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
			    strcmp(de->d_name, "..") == 0))
				continue;
			p = xasprintf("%s/%s", tmpdir, de->d_name);
			(void)unlink(p);
			free(p);
		}
		closedir(d);
	}
	(void)rmdir(tmpdir);
	return 0;
}

static void
set_rev(struct state_rev *r, uint64_t seq, const char *id, const char *sha)
{
	state_rev_release(r);
	r->sequence = seq;
	r->deployment_id = xstrdup(id);
	r->release = xasprintf("releases/%llu-%s", (unsigned long long)seq,
	    id);
	r->sha256 = sha != NULL ? xstrdup(sha) : NULL;
	r->commit = xstrdup("abc123");
}

static void
fill(struct state *st)
{
	struct state_hist	 h = { 0 };

	state_init(st);
	st->application = xstrdup("web");
	st->group = xstrdup("production");
	st->last_sequence = 3;
	set_rev(&st->current, 2, "d-BBBBBBBBB", "ff00");
	set_rev(&st->previous, 1, "d-AAAAAAAAA", NULL);
	set_rev(&st->last_good, 2, "d-BBBBBBBBB", "ff00");
	set_rev(&st->in_progress.rev, 3, "d-CCCCCCCCC", NULL);
	st->in_progress.phase = xstrdup("BeforeInstall");
	st->in_progress.stopped = true;
	st->in_progress.switched = false;
	st->in_progress.started_at = xstrdup("2026-11-22T22:00:00.000Z");
	st->in_progress.links = xcalloc(2, sizeof(*st->in_progress.links));
	st->in_progress.links[0].path = xstrdup("/opt/web");
	st->in_progress.links[0].backup = xstrdup("/opt/web.hookd-bak-d-C");
	st->in_progress.links[1].path = xstrdup("/etc/web/app.conf");
	st->in_progress.links[1].old_target = xstrdup("/x/current/app.conf");
	st->in_progress.nlinks = 2;
	h.deployment_id = xstrdup("d-AAAAAAAAA");
	h.sequence = 1;
	h.status = xstrdup("Failed");
	h.event = xstrdup("ValidateService");
	h.script = xstrdup("scripts/check.sh");
	h.message = xstrdup("exited 3");
	h.rolled_back_to = NULL;
	state_push_history(st, &h);
}

static char *
path_in_tmp(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static size_t
count_files(void)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 n = 0;

	d = opendir(tmpdir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
state_round_trip_keeps_every_field(void **unused)
{
	struct state	 a, b;
	struct errbuf	 eb = { 0 };
	char		*path = path_in_tmp("state.json");

	fill(&a);
	assert_int_equal(state_save(&a, path, true, &eb), 0);
	assert_int_equal(state_load(path, &b, &eb), 0);
	assert_string_equal(b.application, "web");
	assert_string_equal(b.group, "production");
	assert_int_equal(b.last_sequence, 3);
	assert_int_equal(b.current.sequence, 2);
	assert_string_equal(b.current.deployment_id, "d-BBBBBBBBB");
	assert_string_equal(b.current.release, "releases/2-d-BBBBBBBBB");
	assert_string_equal(b.current.sha256, "ff00");
	assert_string_equal(b.current.commit, "abc123");
	assert_int_equal(b.previous.sequence, 1);
	assert_null(b.previous.sha256);
	assert_string_equal(b.last_good.deployment_id, "d-BBBBBBBBB");
	assert_int_equal(b.in_progress.rev.sequence, 3);
	assert_string_equal(b.in_progress.phase, "BeforeInstall");
	assert_true(b.in_progress.stopped);
	assert_false(b.in_progress.switched);
	assert_string_equal(b.in_progress.started_at,
	    "2026-11-22T22:00:00.000Z");
	assert_int_equal(b.in_progress.nlinks, 2);
	assert_string_equal(b.in_progress.links[0].path, "/opt/web");
	assert_string_equal(b.in_progress.links[0].backup,
	    "/opt/web.hookd-bak-d-C");
	assert_null(b.in_progress.links[0].old_target);
	assert_string_equal(b.in_progress.links[1].old_target,
	    "/x/current/app.conf");
	assert_int_equal(b.nhistory, 1);
	assert_string_equal(b.history[0].status, "Failed");
	assert_string_equal(b.history[0].event, "ValidateService");
	assert_string_equal(b.history[0].script, "scripts/check.sh");
	assert_null(b.history[0].rolled_back_to);
	/* Only state.json: the temporary was renamed away. */
	assert_int_equal(count_files(), 1);
	state_release(&a);
	state_release(&b);
	free(path);
}

static void
state_missing_file_is_empty(void **unused)
{
	struct state	 st;
	struct errbuf	 eb = { 0 };
	char		*path = path_in_tmp("none.json");

	assert_int_equal(state_load(path, &st, &eb), 0);
	assert_null(st.application);
	assert_int_equal(st.current.sequence, 0);
	assert_int_equal(st.in_progress.rev.sequence, 0);
	assert_int_equal(st.nhistory, 0);
	state_release(&st);
	free(path);
}

static void
write_file(const char *path, const char *text)
{
	FILE	*fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
state_corrupt_file_is_a_data_error_naming_the_path(void **unused)
{
	struct state	 st;
	struct errbuf	 eb = { 0 };
	char		*path = path_in_tmp("state.json");

	write_file(path, "{\"schema\": \"hookd.state/1\",\n \"current\": ");
	assert_int_equal(state_load(path, &st, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, path));
	assert_non_null(strstr(eb.msg, "line 2"));

	write_file(path, "{\"schema\": \"other/1\"}");
	assert_int_equal(state_load(path, &st, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, path));
	assert_non_null(strstr(eb.msg, "schema"));

	write_file(path, "{\"schema\": \"hookd.state/1\", \"current\": "
	    "{\"sequence\": \"x\"}}");
	assert_int_equal(state_load(path, &st, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, "current.sequence"));
	free(path);
}

static void
state_failed_save_leaves_the_old_file(void **unused)
{
	struct state		 a, b, c;
	struct errbuf		 eb = { 0 };
	struct rlimit		 old, small;
	struct sigaction	 sa, osa;
	char			*path = path_in_tmp("state.json");
	char			 big[8192];

	fill(&a);
	assert_int_equal(state_save(&a, path, true, &eb), 0);

	/* A state too large for the file size limit: write(2) fails. */
	fill(&b);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	free(b.application);
	b.application = xstrdup(big);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	assert_int_equal(sigaction(SIGXFSZ, &sa, &osa), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 4096;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	assert_int_equal(state_save(&b, path, true, &eb), -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(sigaction(SIGXFSZ, &osa, NULL), 0);
	assert_int_equal(eb.kind, EK_IO);
	assert_non_null(strstr(eb.msg, "cannot write"));

	assert_int_equal(state_load(path, &c, &eb), 0);
	assert_string_equal(c.application, "web");
	assert_int_equal(count_files(), 1);	/* no temporary left */
	state_release(&a);
	state_release(&b);
	state_release(&c);
	free(path);
}

static void
state_history_is_capped_newest_first(void **unused)
{
	struct state		 st;
	struct state_hist	 h;

	state_init(&st);
	for (uint64_t i = 1; i <= STATE_HISTORY_MAX + 5; i++) {
		memset(&h, 0, sizeof(h));
		h.sequence = i;
		h.status = xstrdup("Succeeded");
		state_push_history(&st, &h);
	}
	assert_int_equal(st.nhistory, STATE_HISTORY_MAX);
	assert_int_equal(st.history[0].sequence, STATE_HISTORY_MAX + 5);
	assert_int_equal(st.history[STATE_HISTORY_MAX - 1].sequence, 6);
	state_release(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    state_round_trip_keeps_every_field, setup, teardown),
		cmocka_unit_test_setup_teardown(state_missing_file_is_empty,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    state_corrupt_file_is_a_data_error_naming_the_path, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    state_failed_save_leaves_the_old_file, setup, teardown),
		cmocka_unit_test(state_history_is_capped_newest_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
