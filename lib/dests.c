/* SPDX-License-Identifier: ISC */
/*
 * dests.c: files: destinations owned by the groups of one host, and the
 * overlap refusal between them (dests.h).
 */
#include "compat.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appspec.h"
#include "dests.h"
#include "errbuf.h"
#include "log.h"
#include "quote.h"
#include "state.h"
#include "xalloc.h"

#include "banned.h"

/* One owned path and where it came from (for the message). */
struct owned {
	char		*path;
	unsigned long	 line;	/* appspec line; 0: a recorded link */
};

static char *
dest_trim(const char *dest)
{
	char	*p = xstrdup(dest);
	size_t	 n;

	while ((n = strlen(p)) > 1 && p[n - 1] == '/')
		p[n - 1] = '\0';
	return p;
}

/* The link path of one files: entry (release_link_files' rule). */
static char *
dest_one(const struct appspec_file *f, const char *release_dir)
{
	struct stat	 sb;
	const char	*src = f->source, *base;
	char		*srcpath, *dest, *p;
	bool		 dir;

	while (*src == '/')
		src++;
	srcpath = xasprintf("%s%s%s", release_dir, *src != '\0' ? "/" : "",
	    src);
	dir = *src == '\0' || (stat(srcpath, &sb) == 0 &&
	    S_ISDIR(sb.st_mode));
	free(srcpath);
	dest = dest_trim(f->destination);
	if (dir)
		return dest;
	base = strrchr(src, '/');
	base = base == NULL ? src : base + 1;
	p = xasprintf("%s%s%s", dest, strcmp(dest, "/") == 0 ? "" : "/",
	    base);
	free(dest);
	return p;
}

void
dests_of(const struct appspec *as, const char *release_dir, char ***ret,
    size_t *ret_n)
{
	char	**v;

	v = xcalloc(as->nfiles + 1, sizeof(*v));
	for (size_t i = 0; i < as->nfiles; i++)
		v[i] = dest_one(&as->files[i], release_dir);
	*ret = v;
	*ret_n = as->nfiles;
}

void
dests_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
dests_overlap(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);

	if (strcmp(a, "/") == 0 || strcmp(b, "/") == 0)
		return 1;
	if (la <= lb)
		return strncmp(a, b, la) == 0 && (b[la] == '\0' ||
		    b[la] == '/');
	return strncmp(a, b, lb) == 0 && a[lb] == '/';
}

/* Add the destinations of the release GDIR/'release' to *o. */
static void
owned_release(const char *gdir, const char *release, struct owned **o,
    size_t *n)
{
	struct appspec	 as;
	struct errbuf	 eb;
	char		*dir, *path, **v;
	size_t		 nv;

	dir = xasprintf("%s/%s", gdir, release);
	path = xasprintf("%s/appspec.yml", dir);
	if (access(path, F_OK) == -1) {
		free(path);
		path = xasprintf("%s/appspec.yaml", dir);
	}
	appspec_init(&as);
	if (access(path, F_OK) == 0 && appspec_load(&as, path,
	    strrchr(path, '/') + 1, &eb) == 0) {
		dests_of(&as, dir, &v, &nv);
		*o = xreallocarray(*o, *n + nv, sizeof(**o));
		for (size_t i = 0; i < nv; i++) {
			(*o)[*n].path = v[i];
			(*o)[(*n)++].line = as.files[i].line;
		}
		free(v);
	} else if (access(path, F_OK) == 0)
		log_debug("%s", eb.msg);
	appspec_release(&as);
	free(path);
	free(dir);
}

/* What peer GDIR owns: its live release, its deployment in progress. */
static void
owned_by(const char *gdir, struct owned **o, size_t *n)
{
	struct state	 st;
	struct errbuf	 eb;
	char		*path;

	path = xasprintf("%s/state.json", gdir);
	state_init(&st);
	if (state_load(path, &st, &eb) == -1) {
		log_debug("%s", eb.msg);
		goto out;
	}
	if (st.current.sequence != 0 && st.current.release != NULL)
		owned_release(gdir, st.current.release, o, n);
	if (st.in_progress.rev.sequence != 0 &&
	    st.in_progress.rev.release != NULL)
		owned_release(gdir, st.in_progress.rev.release, o, n);
	for (size_t i = 0; i < st.in_progress.nlinks; i++) {
		*o = xreallocarray(*o, *n + 1, sizeof(**o));
		(*o)[*n].path = dest_trim(st.in_progress.links[i].path);
		(*o)[(*n)++].line = 0;
	}
 out:
	state_release(&st);
	free(path);
}

int
dests_check_peers(const char *root, const char *app, const char *group,
    const struct appspec *as, const char *release_dir,
    const struct deploy_peer *peers, size_t npeers, struct errbuf *eb)
{
	struct owned	*o = NULL;
	char		**mine, *gdir, *lock, q1[256], q2[256];
	size_t		 nmine, no;
	int		 ret = 0, lfd;

	if (npeers == 0 || as->nfiles == 0)
		return 0;
	/*
	 * One check at a time on this host (parallel_groups): each runs
	 * after its own release is extracted and recorded in progress,
	 * so of two overlapping deployments the later check sees the
	 * earlier's appspec.  Held for the few reads below only.
	 */
	lock = xasprintf("%s/.hookd-dests.lock", root);
	if ((lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1 || flock(lfd, LOCK_EX) == -1) {
		ret = errbuf_errno(eb, EK_IO, "cannot lock '%s'", lock);
		if (lfd != -1)
			(void)close(lfd);
		free(lock);
		return ret;
	}
	free(lock);
	dests_of(as, release_dir, &mine, &nmine);
	for (size_t p = 0; p < npeers && ret == 0; p++) {
		const struct deploy_peer *pe = &peers[p];

		if (strcmp(pe->application, app) == 0 &&
		    strcmp(pe->group, group) == 0)
			continue;
		gdir = xasprintf("%s/%s/%s", root, pe->application,
		    pe->group);
		no = 0;
		owned_by(gdir, &o, &no);
		free(gdir);
		for (size_t i = 0; i < nmine && ret == 0; i++)
			for (size_t j = 0; j < no && ret == 0; j++) {
				if (!dests_overlap(mine[i], o[j].path))
					continue;
				ret = errbuf_set(eb, EK_DATA, "%s:%lu: files: "
				    "destination '%s' of %s/%s overlaps '%s', "
				    "which %s/%s owns on this host%s; one "
				    "path belongs to one group",
				    as->path != NULL ? as->path :
				    "appspec.yml", as->files[i].line,
				    quote_str(mine[i], q1, sizeof(q1)), app,
				    group, quote_str(o[j].path, q2,
				    sizeof(q2)), pe->application, pe->group,
				    o[j].line == 0 ? " (its deployment in "
				    "progress links it)" : "");
			}
		for (size_t j = 0; j < no; j++)
			free(o[j].path);
	}
	free(o);
	dests_free(mine, nmine);
	(void)close(lfd);	/* and its lock */
	return ret;
}
