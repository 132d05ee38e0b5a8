/* SPDX-License-Identifier: ISC */
/*
 * bundle_cache.c: which bundle a commit became, so that deploying the
 * same commit again does not run git archive, the appspec check and the
 * hash again.  A bundle record says: this commit, this subdirectory of
 * the work tree, built by this recipe (GIT_ARCHIVE_RECIPE) with this git,
 * gave the bundle with this sha256 and size.  Records are kept in two
 * places, the same JSON in both:
 *
 *   GIT_COMMON_DIR/hookd/bundles/APP/COMMIT.json   this clone's
 *   commits/APP/COMMIT.json                        the store's (a
 *                                                  teammate's clone)
 *
 * The store's record is not under revisions/APP/, which holds only
 * content-addressed bundles (SHA256.tar.gz, immutable); a record is
 * keyed by commit and rewritten.
 *
 * A record is believed only when every field that decides the bundle's
 * bytes matches, and only once the store has the revision object at the
 * recorded size (a HEAD); otherwise the bundle is built as before and
 * the records are rewritten.  A record that cannot be read or written
 * is a miss or a warning, never a failed deployment.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "deployer.h"
#include "errbuf.h"
#include "fsutil.h"
#include "git.h"
#include "log.h"
#include "store.h"
#include "version.h"
#include "xalloc.h"

#include "banned.h"

#define BREC_SCHEMA	"hookd.bundle-record/1"
#define BREC_MAX	(16 * 1024)	/* bytes of one record */

void
brec_init(struct brec *b)
{
	memset(b, 0, sizeof(*b));
}

void
brec_release(struct brec *b)
{
	free(b->subdir);
	free(b->git);
	free(b->local);
	free(b->store_key);
	free(b->from);
	brec_init(b);
}

int
brec_prepare(struct brec *b, const struct dctx *c, const char *commit,
    const char *subdir, struct errbuf *eb)
{
	char	*gitdir = NULL;

	if (strlen(commit) != 40)
		return errbuf_set(eb, EK_BUG, "brec_prepare: bad commit");
	memcpy(b->commit, commit, 41);
	b->subdir = xstrdup(subdir != NULL ? subdir : "");
	if (git_version(c->dir, &b->git, eb) == -1)
		return -1;
	/* Without a git dir (odd, since the ref resolved) no local cache. */
	if (git_common_dir(c->dir, &gitdir, eb) == 0) {
		b->local = xasprintf("%s/hookd/bundles/%s/%s.json", gitdir,
		    c->cfg.application, commit);
		free(gitdir);
	} else
		log_debug("no local bundle records: %s", eb->msg);
	b->store_key = xasprintf("commits/%s/%s.json",
	    c->cfg.application, commit);
	if (store_key_check(b->store_key, eb) == -1)
		return -1;
	errbuf_clear(eb);
	return 0;
}

static char *
brec_json(const struct brec *b, const struct dctx *c)
{
	json_t	*o;
	char	*s, now[32];

	ts_now(now);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}",
	    "schema", BREC_SCHEMA,
	    "application", c->cfg.application,
	    "commit", b->commit,
	    "subdir", b->subdir,
	    "recipe", GIT_ARCHIVE_RECIPE,
	    "git", b->git,
	    "deployer", HOOKD_VERSION,
	    "sha256", b->sha256,
	    "size", (json_int_t)b->size,
	    "created_at", now);
	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(2));
	json_decref(o);
	return s;
}

static bool
field_is(json_t *o, const char *name, const char *want)
{
	const char	*v = json_string_value(json_object_get(o, name));

	return v != NULL && strcmp(v, want) == 0;
}

/*
 * Parse a record and check it is for b; fills b->sha256 and b->size.
 * 'where' names it in debug messages.  Returns true when it matches.
 */
static bool
brec_match(struct brec *b, const struct dctx *c, const char *data,
    size_t len, const char *where)
{
	json_error_t	 je;
	json_t		*o;
	const char	*sha;
	json_int_t	 size;
	bool		 ok = false;

	if ((o = json_loadb(data, len, 0, &je)) == NULL) {
		log_debug("bundle record %s: %s", where, je.text);
		return false;
	}
	if (!field_is(o, "schema", BREC_SCHEMA) ||
	    !field_is(o, "application", c->cfg.application) ||
	    !field_is(o, "commit", b->commit) ||
	    !field_is(o, "subdir", b->subdir) ||
	    !field_is(o, "recipe", GIT_ARCHIVE_RECIPE) ||
	    !field_is(o, "git", b->git)) {
		log_debug("bundle record %s is for another commit, "
		    "subdirectory, recipe or git", where);
		goto out;
	}
	sha = json_string_value(json_object_get(o, "sha256"));
	size = json_integer_value(json_object_get(o, "size"));
	if (sha == NULL || strlen(sha) != 64 ||
	    strspn(sha, "0123456789abcdef") != 64 || size <= 0) {
		log_debug("bundle record %s: no sha256 or size", where);
		goto out;
	}
	memcpy(b->sha256, sha, 65);
	b->size = (uint64_t)size;
	ok = true;
 out:
	json_decref(o);
	return ok;
}

/* The local record's bytes, or NULL (missing, unreadable, too large). */
static char *
read_local(const char *path, size_t *ret_len)
{
	char	*data;
	ssize_t	 n;
	size_t	 len = 0;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno != ENOENT)
			log_debug("cannot open '%s': %s", path,
			    strerror(errno));
		return NULL;
	}
	data = xmalloc(BREC_MAX + 1);
	while (len < BREC_MAX + 1 && (n = read(fd, data + len,
	    BREC_MAX + 1 - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			len = BREC_MAX + 1;
			break;
		}
		len += (size_t)n;
	}
	(void)close(fd);
	if (len > BREC_MAX) {
		free(data);
		return NULL;
	}
	*ret_len = len;
	return data;
}

/*
 * Whether the store has the revision b names at its recorded size; 1
 * yes, 0 no (a line says why), -1 on a store error.
 */
static int
revision_present(struct brec *b, struct dctx *c, const char *where,
    struct errbuf *eb)
{
	struct store_stat	 st;
	char			*key;
	int			 r;

	if ((key = store_key_revision(c->cfg.application, b->sha256,
	    eb)) == NULL)
		return -1;
	r = store_exists(c->store, key, &st, eb);
	if (r == 1 && st.size != b->size) {
		printf("revision %.12s recorded for %.12s in %s is %" PRIu64
		    " bytes in the store, not %" PRIu64 "; building the "
		    "bundle\n", b->sha256, b->commit, where, st.size,
		    b->size);
		r = 0;
	} else if (r == 0)
		printf("revision %.12s recorded for %.12s in %s is not in the "
		    "store any more; building the bundle\n", b->sha256,
		    b->commit, where);
	free(key);
	return r;
}

int
brec_lookup(struct brec *b, struct dctx *c, struct errbuf *eb)
{
	char	*data = NULL, *where = NULL;
	size_t	 len;
	int	 r;

	if (b->local != NULL && (data = read_local(b->local, &len)) !=
	    NULL) {
		if (brec_match(b, c, data, len, b->local)) {
			free(data);
			if ((r = revision_present(b, c, b->local, eb)) != 0) {
				if (r == 1)
					b->from = xstrdup(b->local);
				return r;
			}
			/* Gone from the store: the store's record is too. */
			return 0;
		}
		free(data);
		data = NULL;
	}
	if (store_get(c->store, b->store_key, BREC_MAX, &data, &len, NULL,
	    eb) == -1) {
		if (eb->kind != EK_NOINPUT) {
			/* The upload will say what is wrong, if anything. */
			log_debug("bundle record '%s': %s", b->store_key,
			    eb->msg);
		}
		errbuf_clear(eb);
		return 0;
	}
	where = xasprintf("the store ('%s')", b->store_key);
	r = 0;
	if (brec_match(b, c, data, len, where) &&
	    (r = revision_present(b, c, where, eb)) == 1) {
		b->from = where;
		where = NULL;
		/* This clone now knows it too. */
		brec_save(b, c, false);
	}
	free(data);
	free(where);
	return r;
}

/* Write the local record: a temp file renamed over the old one. */
static int
write_local(const struct brec *b, const char *text, struct errbuf *eb)
{
	struct fs_atomic	 a = { .fd = -1 };
	char			*dir, *tmpl, *slash;
	int			 ret = -1;

	dir = xstrdup(b->local);
	slash = strrchr(dir, '/');
	*slash = '\0';
	tmpl = xasprintf("%s/.%s.XXXXXX", dir, b->commit);
	if (fs_mkdirs(dir, 0755, eb) == -1)
		goto out;
	if (fs_atomic_begin(&a, b->local, tmpl, 0600, eb) == -1)
		goto out;
	if (write_full(a.fd, text, strlen(text)) == -1) {
		errbuf_errno(eb, EK_IO, "cannot write '%s'", a.tmp);
		goto out;
	}
	if (fs_atomic_commit(&a, false, eb) == -1)
		goto out;
	ret = 0;
 out:
	fs_atomic_abort(&a);
	free(dir);
	free(tmpl);
	return ret;
}

void
brec_save(const struct brec *b, struct dctx *c, bool to_store)
{
	struct errbuf	 eb = { 0 };
	char		*text;

	if ((text = brec_json(b, c)) == NULL) {
		log_warnx("cannot encode the bundle record of %.12s",
		    b->commit);
		return;
	}
	if (b->local != NULL && write_local(b, text, &eb) == -1)
		fprintf(stderr, "deployer: warning: bundle record not kept "
		    "(the next deploy of %.12s builds the bundle again): "
		    "%s\n", b->commit, eb.msg);
	errbuf_clear(&eb);
	if (to_store && store_put(c->store, b->store_key, text,
	    strlen(text), NULL, &eb) == -1)
		fprintf(stderr, "deployer: warning: bundle record not written "
		    "to the store as '%s': %s\n", b->store_key, eb.msg);
	free(text);
}
