/* SPDX-License-Identifier: ISC */
/*
 * bundle_check.c: validate the bundle the deployer built without
 * extracting it.  bundle_validate() extracts the whole archive into
 * $TMPDIR to let appspec_check_bundle() resolve paths in it; for a
 * repository of 20,000 files that is most of a deploy (on ext4, creating
 * 20,000 files right after the previous run deleted 20,000 costs 1.5 to
 * 25 s of inode allocation).  Only a few paths matter to the check, so
 * this reads the archive's entry list once (data skipped, appspec files
 * kept), then builds a skeleton in a scratch directory: the top-level
 * entries, the appspec candidates with their real contents, and every
 * path the appspec names, walked component by component (directories,
 * and empty regular files).  bundle_validate() then runs on that
 * directory: the same calls, the same messages, as on a full extraction.
 *
 * The skeleton is only used for archives whose every entry the
 * extraction (lib/bundle.c bx_admit) certainly accepts: directories and
 * regular files with printable ASCII names of plain relative paths,
 * no duplicates, within the extraction limits -- what git archive writes
 * for most repositories.  Anything else (symlinks, hard links, other
 * types, other names, a read error) falls back to bundle_validate() on
 * the archive itself, so that the extraction's own rules (symlink
 * targets, UTF-8 names...) decide and report it as before: this file
 * does not repeat them.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "appspec.h"
#include "bundle.h"
#include "caps.h"
#include "deployer.h"
#include "errbuf.h"
#include "log.h"
#include "release.h"
#include "validate.h"
#include "xalloc.h"
#include "dl_archive.h"

#include "banned.h"

struct sentry {
	char		*path;		/* relative, no "./", no trailing '/' */
	char		*data;		/* an appspec candidate's contents */
	size_t		 len;
	char		 type;		/* 'd' or 'f' */
};

struct skel {
	struct sentry	*v;
	size_t		 n, cap;
	const char	*dir;		/* the skeleton's root */
};

static int
sentry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sentry *)a)->path,
	    ((const struct sentry *)b)->path);
}

static void
skel_release(struct skel *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].data);
	}
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

/* The entry named exactly 'path', else NULL. */
static const struct sentry *
skel_find(const struct skel *s, const char *path)
{
	struct sentry	 key = { .path = (char *)(uintptr_t)path };

	if (s->n == 0)
		return NULL;
	return bsearch(&key, s->v, s->n, sizeof(*s->v), sentry_cmp);
}

/* Whether some entry lies under 'path/' (a directory only implied). */
static bool
skel_implied_dir(const struct skel *s, const char *path)
{
	size_t	 lo = 0, hi = s->n, pl = strlen(path);

	while (lo < hi) {
		size_t	 mid = lo + (hi - lo) / 2;

		if (strcmp(s->v[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < s->n && strncmp(s->v[lo].path, path, pl) == 0; lo++)
		if (s->v[lo].path[pl] == '/')
			return true;
		else if (s->v[lo].path[pl] > '/')
			break;
	return false;
}

/*
 * Whether the extraction certainly takes this path as it is: printable
 * ASCII, relative, no empty, "." or ".." component, within the limits.
 */
static bool
path_plain(const char *p)
{
	const char	*c;
	size_t		 n;

	if (*p == '/' || *p == '\0' || strlen(p) > BUNDLE_PATH_MAX)
		return false;
	for (c = p; *c != '\0'; c++)
		if (*c < 0x20 || *c > 0x7e)
			return false;
	for (c = p; *c != '\0'; c += n + (c[n] == '/')) {
		n = strcspn(c, "/");
		if (n == 0 || n > NAME_MAX || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
	}
	return true;
}

static bool
appspec_candidate(const char *p)
{
	const char	*base = strrchr(p, '/');

	if (base != NULL && strchr(p, '/') != base)
		return false;	/* deeper than TOP/appspec.yml */
	base = base != NULL ? base + 1 : p;
	return strcmp(base, "appspec.yml") == 0 ||
	    strcmp(base, "appspec.yaml") == 0;
}

/*
 * Read the entry list of the .tar.gz at 'path'.  Returns 0, or 1 when
 * the archive holds something this reader does not handle (the caller
 * falls back to a full extraction, which reports it).
 */
static int
skel_read(struct skel *s, const char *path)
{
	struct bundle_limits	 lim;
	struct archive		*a;
	struct archive_entry	*e;
	struct sentry		*se;
	const char		*name;
	uint64_t		 bytes = 0;
	size_t			 n;
	ssize_t			 got = 0;
	int			 r, ret = 1;

	bundle_limits_default(&lim);
	if ((a = archive_read_new()) == NULL)
		return 1;
	(void)archive_read_support_filter_gzip(a);
	(void)archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, BUNDLE_READ_BLOCK) !=
	    ARCHIVE_OK)
		goto out;
	for (;;) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK || (name = archive_entry_pathname(e)) ==
		    NULL)
			goto out;
		while (name[0] == '.' && name[1] == '/')
			name += 2;
		n = strlen(name);
		while (n > 0 && name[n - 1] == '/')
			n--;
		if (n == 0)
			continue;	/* "./" itself */
		if (s->n == s->cap) {
			s->cap = s->cap == 0 ? 1024 : s->cap * 2;
			s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
		}
		se = &s->v[s->n++];
		memset(se, 0, sizeof(*se));
		se->path = xasprintf("%.*s", (int)n, name);
		if (!path_plain(se->path) || s->n > lim.max_entries)
			goto out;
		if (archive_entry_hardlink(e) != NULL)
			goto out;
		switch (archive_entry_filetype(e)) {
		case AE_IFDIR:
			se->type = 'd';
			break;
		case AE_IFREG:
			se->type = 'f';
			if (archive_entry_size(e) < 0)
				goto out;
			bytes += (uint64_t)archive_entry_size(e);
			if (bytes > lim.max_bytes)
				goto out;
			break;
		default:
			goto out;
		}
		if (se->type == 'f' && appspec_candidate(se->path)) {
			/* One byte past the cap lets appspec_load say so. */
			se->data = xmalloc(APPSPEC_MAX + 1);
			while (se->len < APPSPEC_MAX + 1 && (got =
			    archive_read_data(a, se->data + se->len,
			    APPSPEC_MAX + 1 - se->len)) > 0)
				se->len += (size_t)got;
			if (got < 0)
				goto out;
		} else if (archive_read_data_skip(a) != ARCHIVE_OK)
			goto out;
	}
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), sentry_cmp);
	for (size_t i = 1; i < s->n; i++)
		if (strcmp(s->v[i - 1].path, s->v[i].path) == 0)
			goto out;	/* a path twice: let extraction judge */
	ret = 0;
 out:
	if (ret != 0)
		log_debug("bundle check: '%s' needs a full extraction: %s",
		    path, archive_error_string(a) != NULL ?
		    archive_error_string(a) : "unexpected entry");
	archive_read_free(a);
	return ret;
}

/* Create one entry of the skeleton (existing ones are left). */
static int
skel_make(const struct skel *s, const char *rel, const struct sentry *se,
    struct errbuf *eb)
{
	char	*full;
	int	 fd, ret = -1;

	full = xasprintf("%s/%s", s->dir, rel);
	if (se == NULL || se->type == 'd') {
		if (mkdir(full, 0755) == -1 && errno != EEXIST) {
			errbuf_errno(eb, EK_IO, "cannot create '%s'", full);
			goto out;
		}
	} else {
		fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0644);
		if (fd == -1) {
			if (errno == EEXIST)
				goto done;
			errbuf_errno(eb, EK_IO, "cannot create '%s'", full);
			goto out;
		}
		if (se->len > 0 && write(fd, se->data, se->len) !=
		    (ssize_t)se->len) {
			errbuf_errno(eb, EK_IO, "cannot write '%s'", full);
			(void)close(fd);
			goto out;
		}
		if (close(fd) == -1) {
			errbuf_errno(eb, EK_IO, "cannot write '%s'", full);
			goto out;
		}
	}
 done:
	ret = 0;
 out:
	free(full);
	return ret;
}

/*
 * Create in the skeleton everything the resolution of 'rel' (relative
 * to the archive's root) goes through, as realpath() would walk it in a
 * full extraction: directories, and the regular file it ends on.  A path
 * that leaves the archive or names nothing stops the walk; the check
 * that follows reports it.
 */
static int
skel_walk(const struct skel *s, const char *rel, struct errbuf *eb)
{
	const struct sentry	*se;
	char			 cur[BUNDLE_PATH_MAX + 1];
	const char		*c, *rest;
	char			*next = NULL, *slash;
	size_t			 n;
	int			 ret = -1;

	cur[0] = '\0';
	for (c = rel; *c != '\0'; c = rest) {
		n = strcspn(c, "/");
		rest = c + n + (c[n] == '/');
		if (n == 0 || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			if (cur[0] == '\0')
				break;		/* outside the archive */
			slash = strrchr(cur, '/');
			if (slash != NULL)
				*slash = '\0';
			else
				cur[0] = '\0';
			continue;
		}
		if (strlen(cur) + n + 2 > sizeof(cur))
			break;
		free(next);
		next = xasprintf("%s%s%.*s", cur, cur[0] != '\0' ? "/" : "",
		    (int)n, c);
		if ((se = skel_find(s, next)) == NULL &&
		    !skel_implied_dir(s, next))
			break;			/* does not exist */
		if (skel_make(s, next, se, eb) == -1)
			goto out;
		if (se != NULL && se->type == 'f')
			break;		/* the end, or ENOTDIR */
		(void)strlcpy(cur, next, sizeof(cur));
	}
	ret = 0;
 out:
	free(next);
	return ret;
}

/* The skeleton's top level and appspec candidates. */
static int
skel_top(const struct skel *s, struct errbuf *eb)
{
	char	 prev[BUNDLE_PATH_MAX] = "";
	char	 top[BUNDLE_PATH_MAX];
	size_t	 n;

	for (size_t i = 0; i < s->n; i++) {
		n = strcspn(s->v[i].path, "/");
		(void)snprintf(top, sizeof(top), "%.*s", (int)n,
		    s->v[i].path);
		if (strcmp(top, prev) != 0) {
			if (skel_walk(s, top, eb) == -1)
				return -1;
			(void)strlcpy(prev, top, sizeof(prev));
		}
		if (s->v[i].data != NULL &&
		    skel_walk(s, s->v[i].path, eb) == -1)
			return -1;
	}
	return 0;
}

/* Every path the appspec at 'file' names, under 'root' (rel. to dir). */
static int
skel_refs(const struct skel *s, const char *root, const char *file,
    struct errbuf *eb)
{
	struct appspec	 as;
	struct errbuf	 eb2 = { 0 };
	char		*p;
	int		 ret = 0;

	appspec_init(&as);
	(void)appspec_load(&as, file, NULL, &eb2);	/* errors: later */
	for (int e = 0; e < LC_NEVENTS && ret == 0; e++)
		for (size_t i = 0; i < as.nhooks[e] && ret == 0; i++) {
			p = xasprintf("%s/%s", root, as.hooks[e][i].location);
			ret = skel_walk(s, p, eb);
			free(p);
		}
	for (size_t i = 0; i < as.nfiles && ret == 0; i++) {
		p = xasprintf("%s/%s", root, as.files[i].source);
		ret = skel_walk(s, p, eb);
		free(p);
	}
	appspec_release(&as);
	return ret;
}

int
deployer_check_bundle(struct appspec *as, const char *tgz,
    const char *label, const char *errprefix, struct errbuf *eb)
{
	struct skel	 s = { 0 };
	const char	*tmp;
	char		*dir = NULL, *root = NULL, *file = NULL;
	const char	*rootrel;
	int		 ret = -1;

	if (skel_read(&s, tgz) != 0) {
		skel_release(&s);
		return bundle_validate(as, tgz, label, ":", errprefix, eb);
	}
	tmp = secure_getenv("TMPDIR");
	dir = xasprintf("%s/deployer-check.XXXXXX", tmp != NULL &&
	    *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		errbuf_errno(eb, EK_IO, "cannot create '%s'", dir);
		goto out;
	}
	s.dir = dir;
	if (skel_top(&s, eb) == -1)
		goto out;
	/* Without an appspec, bundle_validate() says so as it would. */
	if (bundle_find_appspec(dir, &root, &file, eb) == 0) {
		rootrel = root + strlen(dir);
		rootrel += strspn(rootrel, "/");
		if (skel_refs(&s, *rootrel != '\0' ? rootrel : ".", file,
		    eb) == -1)
			goto out;
	}
	ret = bundle_validate(as, dir, label, ":", errprefix, eb);
 out:
	if (s.dir != NULL) {
		struct errbuf	 eb2 = { 0 };

		if (release_rmtree(dir, &eb2) == -1) {
			log_debug("%s", eb2.msg);
			if (ret == 0) {
				*eb = eb2;
				ret = -1;
			}
		}
	}
	skel_release(&s);
	free(dir);
	free(root);
	free(file);
	return ret;
}
