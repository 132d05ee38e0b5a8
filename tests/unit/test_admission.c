/* SPDX-License-Identifier: ISC */
/*
 * test_admission.c: lib/admission.c and the sequence rule it applies
 * (state_seq_verdict()): a new sequence runs, a finished or live
 * deployment is ALREADY, an older sequence is STALE, an Interrupted or
 * still in-progress deployment runs again under its own id only, and
 * the engine's check (no id) never refuses what the admission lets run;
 * the admission refuses a bad or missing signature, another group or
 * application, and a location outside the store; the fetch leaves the
 * bundle in ROOT/cache or nothing; the spec carries the message.
 */
#include "compat.h"

#include <sys/stat.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "admission.h"
#include "bundle.h"
#include "config.h"
#include "digest.h"
#include "errbuf.h"
#include "fsutil.h"
#include "lifecycle.h"
#include "message.h"
#include "state.h"
#include "store.h"
#include "xalloc.h"

#define SHA	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"

static char	 tmpdir[PATH_MAX];
static char	*storeurl;
static struct config cfg;

static int
setup(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*gdir;

	(void)strlcpy(tmpdir, "/tmp/test_admission.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	gdir = xasprintf("%s/web/staging", tmpdir);
	if (fs_mkdirs(gdir, 0755, &eb) == -1)
		return -1;
	free(gdir);
	storeurl = xasprintf("file://%s/store", tmpdir);
	config_init(&cfg);
	cfg.application = xstrdup("web");
	cfg.store = xstrdup(storeurl);
	cfg.root = xstrdup(tmpdir);
	cfg.keep_releases = 3;
	cfg.max_bundle_bytes = 1 << 20;
	cfg.max_bundle_entries = 100;
	return 0;
}

static int
teardown(void **state)
{
	char	*cmd;

	config_release(&cfg);
	free(storeurl);
	cmd = xasprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	free(cmd);
	return 0;
}

static void
fill(struct message *m, const char *id, uint64_t seq)
{
	message_init(m);
	m->deployment_id = xstrdup(id);
	m->application = xstrdup("web");
	m->group = xstrdup("staging");
	m->sequence = seq;
	m->location = xasprintf("%s/revisions/web/%s.tar.gz", storeurl, SHA);
	(void)strlcpy(m->sha256, SHA, sizeof(m->sha256));
	m->created_at = xstrdup("2026-01-02T03:04:05Z");
	m->created_by = xstrdup("deployer@ci");
}

static void
add_hist(struct state *st, const char *id, uint64_t seq, const char *status)
{
	struct state_hist	 h;

	memset(&h, 0, sizeof(h));
	h.deployment_id = xstrdup(id);
	h.sequence = seq;
	h.status = xstrdup(status);
	state_push_history(st, &h);
}

static void
set_current(struct state *st, const char *id, uint64_t seq)
{
	state_rev_release(&st->current);
	st->current.sequence = seq;
	st->current.deployment_id = xstrdup(id);
	st->current.release = xasprintf("releases/%llu-%s",
	    (unsigned long long)seq, id);
}

static void
save(const struct state *st)
{
	struct errbuf	 eb = { 0 };
	char		*path;

	path = xasprintf("%s/web/staging/state.json", tmpdir);
	if (state_save(st, path, false, &eb) == -1)
		fail_msg("%s", eb.msg);
	free(path);
}

/*
 * The admission's verdict for (id, seq); the engine's own check (the
 * same rule without the id) must let run whatever the admission does.
 */
static struct admission_verdict
verdict(const char *id, uint64_t seq)
{
	struct admission	 a = { .cfg = &cfg, .group = "staging" };
	struct admission_verdict v;
	struct message		 m;
	struct errbuf		 eb = { 0 };
	struct state		 st;
	char			*path;

	fill(&m, id, seq);
	if (admission_sequence(&a, &m, &v, &eb) == -1)
		fail_msg("%s", eb.msg);
	message_release(&m);
	if (v.seq == SEQ_RUN) {
		path = xasprintf("%s/web/staging/state.json", tmpdir);
		state_init(&st);
		assert_int_equal(state_load(path, &st, &eb), 0);
		assert_int_equal(state_seq_verdict(&st, NULL, seq, NULL),
		    SEQ_RUN);
		state_release(&st);
		free(path);
	}
	return v;
}

static void
sequence_new_finished_live_and_stale(void **state)
{
	struct admission_verdict v;
	struct state		 st;

	/* No state.json yet: everything runs. */
	assert_int_equal(verdict("d-AAAAAAAA1", 1).seq, SEQ_RUN);

	state_init(&st);
	st.application = xstrdup("web");
	st.group = xstrdup("staging");
	st.last_sequence = 5;
	add_hist(&st, "d-AAAAAAAA4", 4, "Failed");
	add_hist(&st, "d-AAAAAAAA5", 5, "Succeeded");
	set_current(&st, "d-AAAAAAAA5", 5);
	save(&st);

	assert_int_equal(verdict("d-AAAAAAAA6", 6).seq, SEQ_RUN);

	v = verdict("d-AAAAAAAA5", 5);
	assert_int_equal(v.seq, SEQ_ALREADY);
	assert_true(v.live);
	assert_string_equal(v.why, "deployment d-AAAAAAAA5 already finished "
	    "here (Succeeded)");

	/* A finished deployment stays finished, whatever its sequence. */
	v = verdict("d-AAAAAAAA4", 9);
	assert_int_equal(v.seq, SEQ_ALREADY);
	assert_false(v.live);
	assert_string_equal(v.why, "deployment d-AAAAAAAA4 already finished "
	    "here (Failed)");

	v = verdict("d-BBBBBBBB4", 4);
	assert_int_equal(v.seq, SEQ_STALE);
	assert_string_equal(v.why, "sequence 4 is not above the installed "
	    "sequence 5");
	assert_int_equal(verdict("d-BBBBBBBB5", 5).seq, SEQ_STALE);

	/* Live but not in the history (trimmed): still ALREADY. */
	state_hist_release(&st.history[0]);
	state_hist_release(&st.history[1]);
	st.nhistory = 0;
	save(&st);
	v = verdict("d-AAAAAAAA5", 5);
	assert_int_equal(v.seq, SEQ_ALREADY);
	assert_string_equal(v.why, "deployment d-AAAAAAAA5 is the live one");
	state_release(&st);
}

static void
sequence_interrupted_and_in_progress_run_again(void **state)
{
	struct admission_verdict v;
	struct state		 st;

	state_init(&st);
	st.application = xstrdup("web");
	st.group = xstrdup("staging");
	st.last_sequence = 6;
	add_hist(&st, "d-AAAAAAAA5", 5, "Succeeded");
	add_hist(&st, "d-AAAAAAAA6", 6, "Interrupted");
	set_current(&st, "d-AAAAAAAA5", 5);
	save(&st);
	assert_int_equal(verdict("d-AAAAAAAA6", 6).seq, SEQ_RUN);
	assert_int_equal(verdict("d-BBBBBBBB6", 6).seq, SEQ_STALE);
	assert_int_equal(state_seq_verdict(&st, NULL, 6, NULL), SEQ_RUN);
	assert_int_equal(state_seq_verdict(&st, NULL, 5, NULL), SEQ_STALE);

	/* Not at the head: finished, even if Interrupted. */
	add_hist(&st, "d-AAAAAAAA7", 7, "Failed");
	st.last_sequence = 7;
	save(&st);
	v = verdict("d-AAAAAAAA6", 6);
	assert_int_equal(v.seq, SEQ_ALREADY);
	assert_string_equal(v.why, "deployment d-AAAAAAAA6 already finished "
	    "here (Interrupted)");
	assert_int_equal(state_seq_verdict(&st, NULL, 7, NULL), SEQ_STALE);

	/*
	 * In progress (hookd died, not recovered yet): recovery makes it
	 * the Interrupted head, so it runs again under its id.
	 */
	st.last_sequence = 8;
	st.in_progress.rev.sequence = 8;
	st.in_progress.rev.deployment_id = xstrdup("d-AAAAAAAA8");
	st.in_progress.rev.release = xstrdup("releases/8-d-AAAAAAAA8");
	st.in_progress.phase = xstrdup("Install");
	save(&st);
	assert_int_equal(verdict("d-AAAAAAAA8", 8).seq, SEQ_RUN);
	assert_int_equal(verdict("d-BBBBBBBB8", 8).seq, SEQ_STALE);
	assert_int_equal(verdict("d-AAAAAAAA9", 9).seq, SEQ_RUN);
	v = verdict("d-AAAAAAAA8", 9);
	assert_int_equal(v.seq, SEQ_ALREADY);
	assert_string_equal(v.why, "deployment d-AAAAAAAA8 is in progress "
	    "here at sequence 8");
	state_release(&st);
}

static void
check_refuses_signature_and_target(void **state)
{
	static const unsigned char key[] = "0123456789abcdef";
	static const unsigned char other[] = "fedcba9876543210";
	struct admission	 a = { .cfg = &cfg, .group = "staging" };
	struct message		 m;
	struct errbuf		 eb = { 0 };

	fill(&m, "d-AAAAAAAA1", 1);
	assert_int_equal(message_sign(&m, key, 16, &eb), 0);
	assert_int_equal(admission_check(&a, &m, &eb), 0);	/* no key */

	cfg.message_key = xmalloc(16);
	cfg.message_key_len = 16;
	memcpy(cfg.message_key, key, 16);
	assert_int_equal(admission_check(&a, &m, &eb), 0);
	memcpy(cfg.message_key, other, 16);
	assert_int_equal(admission_check(&a, &m, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, "signature"));

	assert_int_equal(message_sign(&m, NULL, 0, &eb), 0);
	assert_int_equal(admission_check(&a, &m, &eb), -1);
	assert_string_equal(eb.msg, "message is not signed, and a message "
	    "key is configured");
	freezero(cfg.message_key, cfg.message_key_len);
	cfg.message_key = NULL;
	cfg.message_key_len = 0;

	a.group = "production";
	assert_int_equal(admission_check(&a, &m, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, "web/staging"));
	assert_non_null(strstr(eb.msg, "web/production"));
	a.group = "staging";
	free(m.application);
	m.application = xstrdup("api");
	assert_int_equal(admission_check(&a, &m, &eb), -1);
	assert_non_null(strstr(eb.msg, "api/staging"));
	message_release(&m);
}

static void
parse_refuses_junk_and_foreign_locations(void **state)
{
	struct admission	 a = { .cfg = &cfg, .group = "staging" };
	struct message		 m, back;
	struct errbuf		 eb = { 0 };
	char			*json, *key;
	size_t			 len;

	fill(&m, "d-AAAAAAAA1", 1);
	assert_int_equal(message_serialize(&m, &json, &len, &eb), 0);
	message_init(&back);
	assert_int_equal(admission_parse(&a, json, len, &back, &key, &eb), 0);
	assert_string_equal(key, "revisions/web/" SHA ".tar.gz");
	free(key);
	message_release(&back);
	free(json);

	free(m.location);
	m.location = xstrdup("file:///etc/revisions/web/x.tar.gz");
	assert_int_equal(message_serialize(&m, &json, &len, &eb), 0);
	message_init(&back);
	assert_int_equal(admission_parse(&a, json, len, &back, &key, &eb),
	    -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_null(key);
	message_release(&back);
	free(json);

	message_init(&back);
	assert_int_equal(admission_parse(&a, "{", 1, &back, &key, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	message_release(&back);
	message_release(&m);
}

static void
fetch_and_spec(void **state)
{
	struct admission	 a = { .cfg = &cfg, .group = "staging" };
	struct deploy_spec	 sp;
	struct message		 m;
	struct errbuf		 eb = { 0 };
	struct store		*st;
	struct stat		 sb;
	char			*path, *src, *want;
	char			 hex[65];
	FILE			*f;

	assert_int_equal(store_open(storeurl, true, NULL, &st, &eb), 0);
	src = xasprintf("%s/bundle.src", tmpdir);
	assert_non_null(f = fopen(src, "w"));
	fputs("not really a tarball", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(digest_sha256_file(src, hex, &eb), 0);
	assert_int_equal(store_put_file(st, "revisions/web/b.tar.gz", src,
	    &eb), 0);

	fill(&m, "d-AAAAAAAA1", 1);
	(void)strlcpy(m.sha256, hex, sizeof(m.sha256));
	assert_int_equal(admission_fetch(&a, st, &m, "revisions/web/b.tar.gz",
	    &path, &eb), 0);
	want = xasprintf("%s/cache/d-AAAAAAAA1.tar.gz", tmpdir);
	assert_string_equal(path, want);
	assert_int_equal(stat(path, &sb), 0);

	admission_spec(&a, &m, path, &sp);
	assert_string_equal(sp.root, tmpdir);
	assert_string_equal(sp.application, "web");
	assert_string_equal(sp.group, "staging");
	assert_string_equal(sp.deployment_id, "d-AAAAAAAA1");
	assert_int_equal(sp.sequence, 1);
	assert_ptr_equal(sp.bundle, path);
	assert_null(sp.commit);
	assert_int_equal(sp.keep_releases, 3);
	assert_int_equal(sp.limits.max_bytes, 1 << 20);
	admission_spec(&a, NULL, NULL, &sp);
	assert_null(sp.deployment_id);
	assert_null(sp.bundle);
	(void)unlink(path);
	free(path);

	/* A digest mismatch leaves nothing in the cache. */
	(void)strlcpy(m.sha256, SHA, sizeof(m.sha256));
	assert_int_equal(admission_fetch(&a, st, &m, "revisions/web/b.tar.gz",
	    &path, &eb), -1);
	assert_null(path);
	assert_int_equal(stat(want, &sb), -1);
	free(want);
	want = xasprintf("%s/cache/.d-AAAAAAAA1.tar.gz.tmp", tmpdir);
	assert_int_equal(stat(want, &sb), -1);
	free(want);
	free(src);
	message_release(&m);
	store_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sequence_new_finished_live_and_stale),
		cmocka_unit_test(
		    sequence_interrupted_and_in_progress_run_again),
		cmocka_unit_test(check_refuses_signature_and_target),
		cmocka_unit_test(parse_refuses_junk_and_foreign_locations),
		cmocka_unit_test(fetch_and_spec),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
