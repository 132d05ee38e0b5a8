/* SPDX-License-Identifier: ISC */
/*
 * test_message.c: the deployment message parser, from the files in
 * tests/fixtures/messages/{good,bad} (each bad/X.json has X.err holding
 * the exact reason), plus signing, serialization, the location rule and
 * the name rules.
 */
#include "compat.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "caps.h"
#include "errbuf.h"
#include "message.h"
#include "slurp.h"
#include "xalloc.h"

#define MDIR	FIXTURES "/messages"
#define SHA \
	"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

/* The names of dir's entries ending in 'suffix', sorted. */
static size_t
list_dir(const char *dir, const char *suffix, char ***ret)
{
	struct dirent	*de;
	DIR		*d;
	char		**names = NULL;
	size_t		 n = 0, sl = strlen(suffix), l;

	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (l <= sl || strcmp(de->d_name + l - sl, suffix) != 0)
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	for (size_t i = 0; i + 1 < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(names[i], names[j]) > 0) {
				char	*t = names[i];

				names[i] = names[j];
				names[j] = t;
			}
	*ret = names;
	return n;
}

static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void
message_parses_every_good_fixture(void **state)
{
	char		**names, *path, *data;
	size_t		 n, len;
	struct message	 m;
	struct errbuf	 eb = { 0 };
	int		 failed = 0;

	n = list_dir(MDIR "/good", ".json", &names);
	assert_true(n >= 10);
	for (size_t i = 0; i < n; i++) {
		path = xasprintf("%s/good/%s", MDIR, names[i]);
		data = slurp(path, &len);
		if (message_parse(data, len, &m, &eb) == -1) {
			print_error("%s: %s\n", names[i], eb.msg);
			failed++;
		} else {
			assert_string_equal(m.application, "web");
			assert_non_null(m.canonical);
			message_release(&m);
		}
		free(data);
		free(path);
	}
	free_names(names, n);
	assert_int_equal(failed, 0);
}

static void
message_rejects_every_bad_fixture_with_its_reason(void **state)
{
	char		**names, *path, *data, *want, *nl;
	size_t		 n, len;
	struct message	 m;
	struct errbuf	 eb = { 0 };
	int		 failed = 0;

	n = list_dir(MDIR "/bad", ".json", &names);
	assert_true(n >= 25);
	for (size_t i = 0; i < n; i++) {
		path = xasprintf("%s/bad/%s", MDIR, names[i]);
		data = slurp(path, &len);
		free(path);
		path = xasprintf("%s/bad/%.*s.err", MDIR,
		    (int)(strlen(names[i]) - 5), names[i]);
		want = slurp(path, NULL);
		if ((nl = strchr(want, '\n')) != NULL)
			*nl = '\0';
		errbuf_clear(&eb);
		if (message_parse(data, len, &m, &eb) == 0) {
			print_error("%s: accepted\n", names[i]);
			message_release(&m);
			failed++;
		} else if (eb.kind != EK_DATA || strcmp(eb.msg, want) != 0) {
			print_error("%s:\n  want: %s\n  got:  %s\n", names[i],
			    want, eb.msg);
			failed++;
		}
		free(want);
		free(data);
		free(path);
	}
	free_names(names, n);
	assert_int_equal(failed, 0);
}

static void
message_full_fixture_fills_every_field(void **state)
{
	struct message	 m;
	struct errbuf	 eb = { 0 };
	size_t		 len;
	char		*data = slurp(MDIR "/good/full.json", &len);

	assert_int_equal(message_parse(data, len, &m, &eb), 0);
	assert_string_equal(m.deployment_id, "d-ABCDEFGH2");
	assert_string_equal(m.group, "production");
	assert_int_equal(m.sequence, 42);
	assert_string_equal(m.sha256, SHA);
	assert_string_equal(m.commit,
	    "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
	assert_string_equal(m.ref, "origin/master");
	assert_int_equal(m.format, BUNDLE_TGZ);
	assert_int_equal(m.created, 1795384800);
	assert_string_equal(m.created_by, "alice@laptop");
	assert_null(m.signature);
	message_release(&m);
	free(data);

	data = slurp(MDIR "/good/offset-time.json", &len);
	assert_int_equal(message_parse(data, len, &m, &eb), 0);
	/* 2024-02-29T23:59:59+02:00 = 21:59:59Z */
	assert_int_equal(m.created, 1709243999);
	message_release(&m);
	free(data);

	data = slurp(MDIR "/good/minimal.json", &len);
	assert_int_equal(message_parse(data, len, &m, &eb), 0);
	assert_string_equal(m.commit, "");
	assert_null(m.ref);
	message_release(&m);
	free(data);
}

static void
message_rejects_oversized_and_garbage_input(void **state)
{
	struct message	 m;
	struct errbuf	 eb = { 0 };
	char		*big;
	static const char *const junk[] = { "", "{", "null", "\"hi\"",
	    "{\"schema\": \"hookd.deployment/1\", \"schema\": \"x\"}",
	    "{\"a\": \"\\u0000\"}", "\xff\xfe{}" };

	big = xmalloc(DEPLOY_MSG_MAX + 2);
	memset(big, ' ', DEPLOY_MSG_MAX + 1);
	big[0] = '{';
	big[DEPLOY_MSG_MAX] = '}';
	assert_int_equal(message_parse(big, DEPLOY_MSG_MAX + 1, &m, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_string_equal(eb.msg, "message is 262145 bytes; the limit is "
	    "262144");
	free(big);

	for (size_t i = 0; i < nitems(junk); i++) {
		errbuf_clear(&eb);
		assert_int_equal(message_parse(junk[i], strlen(junk[i]), &m,
		    &eb), -1);
		assert_int_equal(eb.kind, EK_DATA);
		/* Reasons stay short and printable. */
		assert_true(strlen(eb.msg) < 300);
		for (const char *p = eb.msg; *p != '\0'; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
	}
}

static void
message_reasons_never_echo_long_values(void **state)
{
	struct message	 m;
	struct errbuf	 eb = { 0 };
	char		*body, *big;

	big = xmalloc(100001);
	memset(big, 'Z', 100000);
	big[100000] = '\0';
	body = xasprintf("{\"schema\": \"%s\"}", big);
	assert_int_equal(message_parse(body, strlen(body), &m, &eb), -1);
	assert_true(strlen(eb.msg) < 300);
	assert_non_null(strstr(eb.msg, "unknown schema 'ZZZZ"));
	assert_non_null(strstr(eb.msg, "...'"));
	free(body);
	free(big);
}

static void
message_signature_matches_python_canonical_form(void **state)
{
	struct message	 m;
	struct errbuf	 eb = { 0 };
	size_t		 len;
	char		*data = slurp(MDIR "/good/signed.json", &len);
	char		*canon = slurp(MDIR "/good/signed.canonical", NULL);
	static const unsigned char key[] = "test-key";

	assert_int_equal(message_parse(data, len, &m, &eb), 0);
	assert_string_equal(m.canonical, canon);
	assert_int_equal(message_verify(&m, key, 8, &eb), 0);
	/* A different key fails, in the same words. */
	assert_int_equal(message_verify(&m, (const unsigned char *)"other",
	    5, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_string_equal(eb.msg,
	    "bad message signature (HMAC-SHA256 does not match)");
	message_release(&m);
	free(data);

	/* Tampering with a field the daemon ignores still breaks it. */
	data = slurp(MDIR "/good/signed.json", &len);
	{
		char	*p = strstr(data, "covered by");

		assert_non_null(p);
		p[0] = 'C';
	}
	assert_int_equal(message_parse(data, len, &m, &eb), 0);
	assert_int_equal(message_verify(&m, key, 8, &eb), -1);
	message_release(&m);
	free(data);
	free(canon);
}

static void
message_unsigned_is_refused_when_a_key_is_set(void **state)
{
	struct message	 m;
	struct errbuf	 eb = { 0 };
	size_t		 len;
	char		*data = slurp(MDIR "/good/full.json", &len);

	assert_int_equal(message_parse(data, len, &m, &eb), 0);
	assert_int_equal(message_verify(&m, (const unsigned char *)"k", 1,
	    &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_string_equal(eb.msg, "message is not signed, and a message "
	    "key is configured");
	message_release(&m);
	free(data);
}

static void
fill(struct message *m)
{
	message_init(m);
	m->deployment_id = xstrdup("d-XYZ234567");
	m->application = xstrdup("web");
	m->group = xstrdup("staging");
	m->sequence = 7;
	m->location = xstrdup("file:///srv/store/revisions/web/" SHA
	    ".tar.gz");
	(void)strlcpy(m->sha256, SHA, sizeof(m->sha256));
	m->ref = xstrdup("refs/heads/main");
	m->created_at = xstrdup("2026-01-02T03:04:05Z");
	m->created_by = xstrdup("deployer@ci");
}

static void
message_sign_serialize_parse_round_trips(void **state)
{
	struct message	 m, back;
	struct errbuf	 eb = { 0 };
	static const unsigned char key[] = "0123456789abcdef";
	char		*json;
	size_t		 len;

	fill(&m);
	assert_int_equal(message_sign(&m, key, 16, &eb), 0);
	assert_non_null(m.signature);
	assert_int_equal(strlen(m.signature), 64);
	assert_int_equal(message_serialize(&m, &json, &len, &eb), 0);
	assert_int_equal(strlen(json), len);
	assert_non_null(strstr(json, "\"schema\":\"hookd.deployment/1\""));
	assert_int_equal(message_parse(json, len, &back, &eb), 0);
	assert_string_equal(back.canonical, m.canonical);
	assert_string_equal(back.signature, m.signature);
	assert_int_equal(back.sequence, 7);
	assert_string_equal(back.ref, "refs/heads/main");
	assert_int_equal(message_verify(&back, key, 16, &eb), 0);
	message_release(&back);
	free(json);

	/* traffic_control false is carried, and signed. */
	m.no_traffic_control = true;
	assert_int_equal(message_sign(&m, key, 16, &eb), 0);
	assert_int_equal(message_serialize(&m, &json, &len, &eb), 0);
	assert_non_null(strstr(json, "\"traffic_control\":false"));
	assert_int_equal(message_parse(json, len, &back, &eb), 0);
	assert_true(back.no_traffic_control);
	assert_int_equal(message_verify(&back, key, 16, &eb), 0);
	message_release(&back);
	free(json);
	m.no_traffic_control = false;

	/* Unsigned: the serialization is exactly the canonical form. */
	assert_int_equal(message_sign(&m, NULL, 0, &eb), 0);
	assert_null(m.signature);
	assert_int_equal(message_serialize(&m, &json, &len, &eb), 0);
	assert_string_equal(json, m.canonical);
	free(json);

	/* A bad field is caught before anything is written. */
	free(m.group);
	m.group = xstrdup("a/b");
	assert_int_equal(message_serialize(&m, &json, &len, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_int_equal(message_sign(&m, key, 16, &eb), -1);
	message_release(&m);
}

static void
message_to_json_embeds_the_message(void **state)
{
	struct message	 m;
	struct errbuf	 eb = { 0 };
	json_t		*j;

	fill(&m);
	j = message_to_json(&m, &eb);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "group")),
	    "staging");
	assert_int_equal(json_integer_value(json_object_get(j, "sequence")),
	    7);
	json_decref(j);
	message_release(&m);
}

static int
loc(const char *location, const char *store, char **ret_key,
    struct errbuf *eb)
{
	struct message	 m;
	int		 r;

	fill(&m);
	free(m.location);
	m.location = xstrdup(location);
	*ret_key = NULL;
	r = message_check_location(&m, store, ret_key, eb);
	message_release(&m);
	return r;
}

static void
message_location_must_be_inside_the_store(void **state)
{
	static const char *const bad[] = {
		"s3://other-bucket/deploys/revisions/web/x.tar.gz",
		"s3://my-bucket/deploys/revisions/api/x.tar.gz",
		"s3://my-bucket/deploys-evil/revisions/web/x.tar.gz",
		"s3://my-bucket/deploys/revisions/web/../api/x.tar.gz",
		"s3://my-bucket/deploys/revisions/web/%2e%2e/x.tar.gz",
		"s3://my-bucket/deploys/revisions/web/sub/x.tar.gz",
		"s3://my-bucket/deploys/revisions/web//x.tar.gz",
		"s3://my-bucket/deploys/revisions/web/.hidden",
		"s3://my-bucket/deploys/revisions/web/",
		"s3://my-bucket/deploys/revisions/web/x.tgz?versionId=1",
		"s3://my-bucket/deploys/revisions/web/x.tgz#frag",
		"s3://my-bucket/deploys/revisions/web/a\\b",
		"s3://my-bucket/deploys/./revisions/web/x.tgz",
		"s3://my-bucket/revisions/web/x.tgz",
		"file:///etc/passwd",
	};
	struct errbuf	 eb = { 0 };
	char		*key;

	assert_int_equal(loc("s3://my-bucket/deploys/revisions/web/" SHA
	    ".tar.gz", "s3://my-bucket/deploys", &key, &eb), 0);
	assert_string_equal(key, "revisions/web/" SHA ".tar.gz");
	free(key);
	assert_int_equal(loc("s3://my-bucket/deploys/revisions/web/b.zip",
	    "s3://my-bucket/deploys/", &key, &eb), 0);
	assert_string_equal(key, "revisions/web/b.zip");
	free(key);
	assert_int_equal(loc("s3://b/revisions/web/b.tar", "s3://b", &key,
	    &eb), 0);
	free(key);
	assert_int_equal(loc("file:///var/lib/hookd/store/revisions/web/x.tgz",
	    "file:///var/lib/hookd/store", &key, &eb), 0);
	assert_string_equal(key, "revisions/web/x.tgz");
	free(key);

	for (size_t i = 0; i < nitems(bad); i++) {
		errbuf_clear(&eb);
		if (loc(bad[i], "s3://my-bucket/deploys", &key, &eb) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_null(key);
		assert_int_equal(eb.kind, EK_DATA);
		assert_non_null(strstr(eb.msg, "revision.location"));
	}
	assert_int_equal(loc("file:///var/lib/hookd/store/../x/revisions/web/a",
	    "file:///var/lib/hookd/store", &key, &eb), -1);
	assert_int_equal(loc("s3://my-bucket/deploys/revisions/api/x.tgz",
	    "s3://my-bucket/deploys", &key, &eb), -1);
	assert_string_equal(eb.msg, "revision.location 's3://my-bucket/"
	    "deploys/revisions/api/x.tgz' is outside the store's "
	    "'s3://my-bucket/deploys/revisions/web/'");
}

static void
message_check_target_names_both(void **state)
{
	struct message	 m;
	struct errbuf	 eb = { 0 };

	fill(&m);
	assert_int_equal(message_check_target(&m, "web", "staging", &eb), 0);
	assert_int_equal(message_check_target(&m, "web", "production", &eb),
	    -1);
	assert_string_equal(eb.msg, "message is for 'web/staging'; this host "
	    "serves 'web/production'");
	assert_int_equal(message_check_target(&m, "api", "staging", &eb), -1);
	message_release(&m);
}

static void
message_hex_rule(void **state)
{
	struct errbuf	 eb = { 0 };

	assert_int_equal(msg_check_hex("h", "00ff", 4, &eb), 0);
	assert_int_equal(msg_check_hex("h", "00FF", 4, &eb), -1);
	assert_int_equal(msg_check_hex("h", "00f", 4, &eb), -1);
}

static void
message_load_key_refuses_readable_files(void **state)
{
	char		 dir[] = "/tmp/hookd-test-key.XXXXXX", *path;
	unsigned char	*key = NULL;
	size_t		 len = 0;
	struct errbuf	 eb = { 0 };
	int		 fd;

	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/key", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "s3cret\n", 7), 7);
	close(fd);
	assert_int_equal(message_load_key(path, &key, &len, &eb), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(key, "s3cret", 6);
	freezero(key, len);

	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(message_load_key(path, &key, &len, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	{
		char	*want = xasprintf("message_key_file '%s': readable by "
		    "others (mode 0644); chmod 600", path);

		assert_string_equal(eb.msg, want);
		free(want);
	}
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(message_load_key(path, &key, &len, &eb), -1);

	assert_int_equal(unlink(path), 0);
	assert_int_equal(message_load_key(path, &key, &len, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	free(path);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(message_parses_every_good_fixture),
		cmocka_unit_test(
		    message_rejects_every_bad_fixture_with_its_reason),
		cmocka_unit_test(message_full_fixture_fills_every_field),
		cmocka_unit_test(message_rejects_oversized_and_garbage_input),
		cmocka_unit_test(message_reasons_never_echo_long_values),
		cmocka_unit_test(
		    message_signature_matches_python_canonical_form),
		cmocka_unit_test(message_unsigned_is_refused_when_a_key_is_set),
		cmocka_unit_test(message_sign_serialize_parse_round_trips),
		cmocka_unit_test(message_to_json_embeds_the_message),
		cmocka_unit_test(message_location_must_be_inside_the_store),
		cmocka_unit_test(message_check_target_names_both),
		cmocka_unit_test(message_hex_rule),
		cmocka_unit_test(message_load_key_refuses_readable_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
