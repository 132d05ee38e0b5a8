/* SPDX-License-Identifier: ISC */
/*
 * test_store.c: the store interface over the file:// backend: the key
 * rule, the layout key builders, atomic put/get (durable and volatile),
 * conditional writes as a compare-and-swap between real processes, list,
 * delete, exists.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/wait.h>

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

#include "errbuf.h"
#include "store.h"
#include "store_fixture.h"
#include "xalloc.h"

#define SHA \
	"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
/* sha256("hello") */
#define HELLO_SHA \
	"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

struct fx {
	char		 dir[64];
	struct store	*s;
};

static int
setup(void **state)
{
	struct fx	*fx = xcalloc(1, sizeof(*fx));

	store_fx_open(fx->dir, sizeof(fx->dir), "store", "store", &fx->s);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;

	store_fx_close(fx->dir, fx->s);
	free(fx);
	return 0;
}

static void
store_key_rule_refuses_escapes(void **state)
{
	static const char *const good[] = { "a", "groups/web/prod/target.json",
	    "revisions/web/" SHA ".tar.gz", "a/b:c@d+e=f-g_h.i" };
	static const char *const bad[] = { "", "/abs", "a//b", "a/../b",
	    "../x", "a/./b", ".hidden", "a/.x", "a b", "a\\b", "a/", "a/b/",
	    "x%2e", "a\nb", "..", "." };
	struct errbuf	 eb = { 0 };
	char		 longkey[STORE_KEY_MAX + 2];

	for (size_t i = 0; i < nitems(good); i++)
		assert_int_equal(store_key_check(good[i], &eb), 0);
	for (size_t i = 0; i < nitems(bad); i++) {
		if (store_key_check(bad[i], &eb) != -1)
			fail_msg("accepted '%s'", bad[i]);
		assert_int_equal(eb.kind, EK_DATA);
	}
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_int_equal(store_key_check(longkey, &eb), -1);
	assert_int_equal(store_prefix_check("", &eb), 0);
	assert_int_equal(store_prefix_check("groups/web/", &eb), 0);
	assert_int_equal(store_prefix_check("groups//", &eb), -1);
	assert_int_equal(store_key_check("a/../b", &eb), -1);
	assert_string_equal(eb.msg, "store key 'a/../b': a segment starts "
	    "with '.'");
}

static void
store_layout_keys_follow_design(void **state)
{
	struct errbuf	 eb = { 0 };
	char		*k;

	k = store_key_revision("web", SHA, &eb);
	assert_string_equal(k, "revisions/web/" SHA ".tar.gz");
	free(k);
	k = store_key_target("web", "production", &eb);
	assert_string_equal(k, "groups/web/production/target.json");
	free(k);
	k = store_key_instance("web", "production", "i-0abc", &eb);
	assert_string_equal(k, "groups/web/production/instances/i-0abc.json");
	free(k);
	k = store_key_deployment("web", "production", "d-ABCDEFGH2", &eb);
	assert_string_equal(k,
	    "deployments/web/production/d-ABCDEFGH2/deployment.json");
	free(k);
	k = store_key_deployment_instance("web", "production", "d-ABCDEFGH2",
	    "i-0abc", &eb);
	assert_string_equal(k, "deployments/web/production/d-ABCDEFGH2/"
	    "instances/i-0abc.json");
	free(k);

	assert_null(store_key_target("web", "..", &eb));
	assert_int_equal(eb.kind, EK_DATA);
	assert_null(store_key_instance("web", "prod", "a/b", &eb));
	assert_null(store_key_deployment("web", "prod", "d-../..", &eb));
	assert_null(store_key_revision("web", "ABC", &eb));
	assert_null(store_key_revision("../web", SHA, &eb));
}

static void
store_open_checks_the_url(void **state)
{
	struct store	*s = NULL;
	struct errbuf	 eb = { 0 };

	assert_int_equal(store_open("file://relative/x", true, NULL, &s, &eb),
	    -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	/* s3:// reaches the S3 backend, which needs a client. */
	assert_int_equal(store_open("s3://bucket/prefix", false, NULL, &s,
	    &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_non_null(strstr(eb.msg, "no AWS client"));
	assert_int_equal(store_open("http://x/", false, NULL, &s, &eb), -1);
	assert_int_equal(eb.kind, EK_CONFIG);
	assert_int_equal(store_open("file:///nonexistent/hookd-store", false,
	    NULL, &s, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_null(s);
}

static void
store_put_get_round_trips_with_sha256_etag(void **state)
{
	struct fx	*fx = *state;
	struct errbuf	 eb = { 0 };
	char		 etag[STORE_ETAG_MAX], etag2[STORE_ETAG_MAX];
	char		*data = NULL, *path;
	size_t		 len = 0;
	struct stat	 st;

	assert_int_equal(store_put(fx->s, "groups/web/prod/target.json",
	    "hello", 5, etag, &eb), 0);
	assert_string_equal(etag, HELLO_SHA);
	assert_int_equal(store_get(fx->s, "groups/web/prod/target.json", 100,
	    &data, &len, etag2, &eb), 0);
	assert_int_equal(len, 5);
	assert_string_equal(data, "hello");
	assert_string_equal(etag2, HELLO_SHA);
	free(data);

	/* The object is a plain file; no temporary file is left. */
	path = xasprintf("%s/store/groups/web/prod/target.json", fx->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	free(path);
	{
		char	**keys;
		size_t	 n;

		assert_int_equal(store_list(fx->s, "", &keys, &n, &eb), 0);
		assert_int_equal(n, 1);
		store_keys_free(keys, n);
	}

	/* Too big for the caller's cap. */
	assert_int_equal(store_get(fx->s, "groups/web/prod/target.json", 4,
	    &data, &len, NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	/* Missing. */
	assert_int_equal(store_get(fx->s, "groups/web/prod/nope.json", 4,
	    &data, &len, NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_int_equal(store_get(fx->s, "groups/web/prod/target.json/x", 4,
	    &data, &len, NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	/* A bad key is the caller's bug. */
	assert_int_equal(store_get(fx->s, "../etc/passwd", 4, &data, &len,
	    NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_BUG);
	/* An empty object is fine. */
	assert_int_equal(store_put(fx->s, "empty", "", 0, NULL, &eb), 0);
	assert_int_equal(store_get(fx->s, "empty", 10, &data, &len, NULL,
	    &eb), 0);
	assert_int_equal(len, 0);
	free(data);
}

/*
 * A volatile put (intermediate progress, the registry entry) is a write
 * like any other to readers and to conditional writers; it only skips
 * the fsyncs, which a test cannot see without a power cut.
 */
static void
store_put_volatile_replaces_atomically(void **state)
{
	struct fx	*fx = *state;
	struct errbuf	 eb = { 0 };
	struct dirent	*de;
	struct stat	 st;
	DIR		*dir;
	char		 etag1[STORE_ETAG_MAX], etag[STORE_ETAG_MAX];
	char		*data = NULL, *path;
	size_t		 len = 0;
	const char	*key = "deployments/web/prod/d-1/instances/i-1.json";

	/* A new key: the directories are made as for store_put. */
	assert_int_equal(store_put_volatile(fx->s, key, "one", 3, &eb), 0);
	assert_int_equal(store_get(fx->s, key, 100, &data, &len, etag1, &eb),
	    0);
	assert_string_equal(data, "one");
	free(data);
	assert_int_equal(store_put_volatile(fx->s, key, "hello", 5, &eb), 0);
	assert_int_equal(store_get(fx->s, key, 100, &data, &len, etag, &eb),
	    0);
	assert_int_equal(len, 5);
	assert_string_equal(data, "hello");
	assert_string_equal(etag, HELLO_SHA);
	free(data);
	/* A writer holding the old ETag lost the race. */
	assert_int_equal(store_put_if(fx->s, key, "two", 3, etag1, NULL, &eb),
	    STORE_CONFLICT);

	path = xasprintf("%s/store/%s", fx->dir, key);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	free(path);
	/* No temporary file is left beside it. */
	path = xasprintf("%s/store/deployments/web/prod/d-1/instances",
	    fx->dir);
	assert_non_null(dir = opendir(path));
	while ((de = readdir(dir)) != NULL)
		assert_null(strstr(de->d_name, ".tmp"));
	(void)closedir(dir);
	free(path);
}

static void
store_does_not_follow_a_symlinked_object(void **state)
{
	struct fx	*fx = *state;
	struct errbuf	 eb = { 0 };
	char		*path, *data = NULL;
	size_t		 len;

	path = xasprintf("%s/store/evil", fx->dir);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(store_get(fx->s, "evil", 1 << 20, &data, &len, NULL,
	    &eb), -1);
	assert_null(data);
	assert_int_equal(store_exists(fx->s, "evil", NULL, &eb), 0);
	free(path);
}

static void
store_put_if_is_compare_and_swap(void **state)
{
	struct fx	*fx = *state;
	struct errbuf	 eb = { 0 };
	char		 e1[STORE_ETAG_MAX], e2[STORE_ETAG_MAX];
	char		*data;
	size_t		 len;

	/* If-None-Match: * */
	assert_int_equal(store_put_if(fx->s, "t.json", "v1", 2,
	    STORE_IF_NONE_MATCH, e1, &eb), 0);
	assert_int_equal(store_put_if(fx->s, "t.json", "v2", 2,
	    STORE_IF_NONE_MATCH, e2, &eb), STORE_CONFLICT);
	/* If-Match: the current etag wins once. */
	assert_int_equal(store_put_if(fx->s, "t.json", "v2", 2, e1, e2, &eb),
	    0);
	assert_string_not_equal(e1, e2);
	assert_int_equal(store_put_if(fx->s, "t.json", "v3", 2, e1, NULL,
	    &eb), STORE_CONFLICT);
	assert_int_equal(store_get(fx->s, "t.json", 10, &data, &len, NULL,
	    &eb), 0);
	assert_string_equal(data, "v2");
	free(data);
	/* If-Match on a missing object fails. */
	assert_int_equal(store_put_if(fx->s, "absent.json", "x", 1, e2, NULL,
	    &eb), STORE_CONFLICT);
	assert_int_equal(store_exists(fx->s, "absent.json", NULL, &eb), 0);
	/* An empty etag is a bug. */
	assert_int_equal(store_put_if(fx->s, "t.json", "x", 1, "", NULL, &eb),
	    -1);
}

#define CAS_PROCS	4
#define CAS_ROUNDS	25

/* One child: CAS_ROUNDS increments of the counter, retrying conflicts. */
static void
cas_child(const char *url)
{
	struct store	*s;
	struct errbuf	 eb = { 0 };
	char		 etag[STORE_ETAG_MAX], *data, num[32];
	size_t		 len;
	int		 r;

	if (store_open(url, false, NULL, &s, &eb) == -1)
		_exit(2);
	for (int i = 0; i < CAS_ROUNDS; i++) {
		for (;;) {
			if (store_get(s, "counter", 64, &data, &len, etag,
			    &eb) == -1)
				_exit(3);
			(void)snprintf(num, sizeof(num), "%ld",
			    strtol(data, NULL, 10) + 1);
			free(data);
			r = store_put_if(s, "counter", num, strlen(num), etag,
			    NULL, &eb);
			if (r == 0)
				break;
			if (r != STORE_CONFLICT)
				_exit(4);
		}
	}
	store_free(s);
	_exit(0);
}

static void
store_put_if_serializes_racing_processes(void **state)
{
	struct fx	*fx = *state;
	struct errbuf	 eb = { 0 };
	pid_t		 pids[CAS_PROCS];
	char		*url, *data;
	size_t		 len;
	int		 st;

	assert_int_equal(store_put(fx->s, "counter", "0", 1, NULL, &eb), 0);
	url = xasprintf("file://%s/store", fx->dir);
	for (int i = 0; i < CAS_PROCS; i++) {
		pids[i] = fork();
		assert_true(pids[i] != -1);
		if (pids[i] == 0)
			cas_child(url);
	}
	for (int i = 0; i < CAS_PROCS; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	free(url);
	assert_int_equal(store_get(fx->s, "counter", 64, &data, &len, NULL,
	    &eb), 0);
	/* No increment was lost: every write saw the one before it. */
	assert_int_equal(strtol(data, NULL, 10), CAS_PROCS * CAS_ROUNDS);
	free(data);
}

static void
store_list_is_a_sorted_string_prefix_match(void **state)
{
	struct fx	*fx = *state;
	struct errbuf	 eb = { 0 };
	static const char *const keys[] = {
		"groups/web/production/instances/i-2.json",
		"groups/web/production/instances/i-1.json",
		"groups/web/production/target.json",
		"groups/web/prod/target.json",
		"groups/api/production/target.json",
		"revisions/web/x.tar.gz",
	};
	char		**got;
	size_t		 n;

	for (size_t i = 0; i < nitems(keys); i++)
		assert_int_equal(store_put(fx->s, keys[i], "{}", 2, NULL, &eb),
		    0);
	/* Lock files exist beside written keys but are never listed. */
	assert_int_equal(store_list(fx->s, "groups/web/production/instances/",
	    &got, &n, &eb), 0);
	assert_int_equal(n, 2);
	assert_string_equal(got[0], "groups/web/production/instances/i-1.json");
	assert_string_equal(got[1], "groups/web/production/instances/i-2.json");
	store_keys_free(got, n);

	assert_int_equal(store_list(fx->s, "groups/web/prod", &got, &n, &eb),
	    0);
	assert_int_equal(n, 4);
	assert_string_equal(got[0], "groups/web/prod/target.json");
	store_keys_free(got, n);

	assert_int_equal(store_list(fx->s, "", &got, &n, &eb), 0);
	assert_int_equal(n, nitems(keys));
	assert_string_equal(got[0], "groups/api/production/target.json");
	assert_string_equal(got[5], "revisions/web/x.tar.gz");
	store_keys_free(got, n);

	assert_int_equal(store_list(fx->s, "deployments/", &got, &n, &eb), 0);
	assert_int_equal(n, 0);
	store_keys_free(got, n);
	assert_int_equal(store_list(fx->s, "../", &got, &n, &eb), -1);
}

static void
store_delete_and_exists(void **state)
{
	struct fx		*fx = *state;
	struct errbuf		 eb = { 0 };
	struct store_stat	 st;

	assert_int_equal(store_put(fx->s, "a/b.json", "12345", 5, NULL, &eb),
	    0);
	assert_int_equal(store_exists(fx->s, "a/b.json", &st, &eb), 1);
	assert_int_equal(st.size, 5);
	assert_true(st.mtime > 0);
	assert_int_equal(store_delete(fx->s, "a/b.json", &eb), 0);
	assert_int_equal(store_exists(fx->s, "a/b.json", &st, &eb), 0);
	/* Deleting what is not there succeeds (as S3 does). */
	assert_int_equal(store_delete(fx->s, "a/b.json", &eb), 0);
	assert_int_equal(store_delete(fx->s, "no/such/dir.json", &eb), 0);
	assert_int_equal(store_exists(fx->s, "no/such/dir.json", NULL, &eb),
	    0);
}

static void
store_uploads_and_downloads_files_checking_sha256(void **state)
{
	struct fx	*fx = *state;
	struct errbuf	 eb = { 0 };
	char		*src, *dst, buf[64], etag[STORE_ETAG_MAX];
	char		*data;
	uint64_t	 size = 0;
	size_t		 len;
	struct stat	 st;
	int		 fd;

	src = xasprintf("%s/bundle.tgz", fx->dir);
	dst = xasprintf("%s/copy", fx->dir);
	fd = open(src, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "bundle-bytes", 12), 12);
	close(fd);
	assert_int_equal(store_put_file(fx->s, "revisions/web/" SHA ".tar.gz",
	    src, &eb), 0);
	/* The etag of the upload is the content's SHA-256. */
	assert_int_equal(store_get(fx->s, "revisions/web/" SHA ".tar.gz", 64,
	    &data, &len, etag, &eb), 0);
	free(data);
	assert_int_equal(store_get_file(fx->s, "revisions/web/" SHA ".tar.gz",
	    dst, etag, 1000, &size, &eb), 0);
	assert_int_equal(size, 12);
	fd = open(dst, O_RDONLY | O_CLOEXEC);
	assert_true(fd != -1);
	assert_int_equal(read(fd, buf, sizeof(buf)), 12);
	assert_memory_equal(buf, "bundle-bytes", 12);
	close(fd);
	/* Without a digest to check. */
	assert_int_equal(store_get_file(fx->s, "revisions/web/" SHA ".tar.gz",
	    dst, NULL, 1000, NULL, &eb), 0);
	/* A wrong digest removes the file and says both. */
	assert_int_equal(store_get_file(fx->s, "revisions/web/" SHA ".tar.gz",
	    dst, SHA, 1000, NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_non_null(strstr(eb.msg, "SHA-256 mismatch: expected " SHA));
	assert_int_equal(stat(dst, &st), -1);
	/* The cap applies while streaming; the file goes too. */
	assert_int_equal(store_get_file(fx->s, "revisions/web/" SHA ".tar.gz",
	    dst, NULL, 11, NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_DATA);
	assert_int_equal(stat(dst, &st), -1);
	/* Missing object: nothing created. */
	assert_int_equal(store_get_file(fx->s, "revisions/web/nope", dst,
	    NULL, 11, NULL, &eb), -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	assert_int_equal(stat(dst, &st), -1);
	assert_int_equal(store_put_file(fx->s, "x", "/nonexistent/file", &eb),
	    -1);
	assert_int_equal(eb.kind, EK_NOINPUT);
	free(src);
	free(dst);
}

struct got {
	int	 n;
	char	*data[4];
	char	 etag[4][STORE_ETAG_MAX];
	int	 kind[4];
};

static void
on_got(void *arg, size_t i, const char *data, size_t len, const char *etag,
    const struct errbuf *eb)
{
	struct got	*g = arg;

	g->n++;
	if (data == NULL) {
		g->kind[i] = eb->kind;
		return;
	}
	assert_int_equal(strlen(data), len);
	g->data[i] = xstrdup(data);
	(void)strlcpy(g->etag[i], etag, STORE_ETAG_MAX);
}

static void
store_lists_entries_whose_tag_changes_with_each_write(void **state)
{
	struct fx		*fx = *state;
	struct errbuf		 eb = { 0 };
	struct store_listing	 l1, l2;
	const char		*p = "deployments/web/prod/d-1/instances/";

	assert_int_equal(store_put(fx->s, "deployments/web/prod/d-1/instances/"
	    "i-1.json", "{}", 2, NULL, &eb), 0);
	assert_int_equal(store_put_volatile(fx->s, "deployments/web/prod/d-1/"
	    "instances/i-2.json", "{\"a\":1}", 7, &eb), 0);
	assert_int_equal(store_put(fx->s, "deployments/web/prod/d-1/"
	    "deployment.json", "{}", 2, NULL, &eb), 0);
	assert_int_equal(store_list_entries(fx->s, p, &l1, &eb), 0);
	assert_int_equal(l1.n, 2);
	assert_string_equal(l1.v[0].key, "deployments/web/prod/d-1/instances/"
	    "i-1.json");
	assert_int_equal(l1.v[1].size, 7);
	assert_true(l1.v[1].mtime > 1700000000);
	/* The same bytes written again: a new tag all the same. */
	assert_int_equal(store_put(fx->s, "deployments/web/prod/d-1/instances/"
	    "i-1.json", "{}", 2, NULL, &eb), 0);
	assert_int_equal(store_list_entries(fx->s, p, &l2, &eb), 0);
	assert_int_equal(l2.n, 2);
	assert_string_not_equal(l1.v[0].tag, l2.v[0].tag);
	assert_string_equal(l1.v[1].tag, l2.v[1].tag);
	store_listing_release(&l1);
	store_listing_release(&l2);
	/* A prefix with nothing under it: an empty listing. */
	assert_int_equal(store_list_entries(fx->s, "deployments/none/", &l1,
	    &eb), 0);
	assert_int_equal(l1.n, 0);
	store_listing_release(&l1);
}

static void
store_get_many_reports_each_key(void **state)
{
	struct fx	*fx = *state;
	struct errbuf	 eb = { 0 };
	struct got	 g;
	const char	*keys[] = { "a/1.json", "a/missing.json", "a/2.json" };
	const char	*bad[] = { "a/1.json", "../x" };
	char		 etag[STORE_ETAG_MAX];

	memset(&g, 0, sizeof(g));
	assert_int_equal(store_put(fx->s, "a/1.json", "one", 3, etag, &eb), 0);
	assert_int_equal(store_put(fx->s, "a/2.json", "two", 3, NULL, &eb), 0);
	assert_int_equal(store_get_many(fx->s, keys, 3, 64, on_got, &g, &eb),
	    0);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.data[0], "one");
	assert_string_equal(g.etag[0], etag);
	assert_null(g.data[1]);
	assert_int_equal(g.kind[1], EK_NOINPUT);
	assert_string_equal(g.data[2], "two");
	for (int i = 0; i < 3; i++)
		free(g.data[i]);
	/* A bad key is the caller's bug: nothing is read. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_get_many(fx->s, bad, 2, 64, on_got, &g, &eb),
	    -1);
	assert_int_equal(eb.kind, EK_BUG);
	assert_int_equal(g.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(store_key_rule_refuses_escapes),
		cmocka_unit_test(store_layout_keys_follow_design),
		cmocka_unit_test(store_open_checks_the_url),
		cmocka_unit_test_setup_teardown(
		    store_put_get_round_trips_with_sha256_etag, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    store_put_volatile_replaces_atomically, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store_does_not_follow_a_symlinked_object, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store_put_if_is_compare_and_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store_put_if_serializes_racing_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store_list_is_a_sorted_string_prefix_match, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(store_delete_and_exists, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    store_uploads_and_downloads_files_checking_sha256, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    store_lists_entries_whose_tag_changes_with_each_write,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store_get_many_reports_each_key, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
