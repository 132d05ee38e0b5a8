/* SPDX-License-Identifier: ISC */
/*
 * bundle_listing.c: what can be asked of a bundle's paths without a
 * tree on disk.  A listing (struct bundle_listing) is what bundle_scan()
 * (bundle.c) found in an archive; here it is indexed by name, paths are
 * resolved in it the way realpath(3) resolves them in the extracted tree,
 * and the appspec is found in it.  bundle_find_appspec() (an extracted
 * tree) and bundle_listing_appspec() share one statement of where the
 * appspec may be (fa_find), over two ways of asking what a path is.
 */
#include "compat.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "bundle_int.h"
#include "caps.h"
#include "errbuf.h"
#include "xalloc.h"

#include "banned.h"

void
bundle_listing_init(struct bundle_listing *ls)
{
	memset(ls, 0, sizeof(*ls));
}

void
bundle_listing_release(struct bundle_listing *ls)
{
	bundle_tree_release(&ls->tree);
	for (size_t i = 0; i < ls->nblobs; i++) {
		free(ls->blobs[i].path);
		free(ls->blobs[i].data);
	}
	free(ls->blobs);
	free(ls->byname);
	bundle_listing_init(ls);
}

static int
bl_byname_cmp(const void *a, const void *b)
{
	const struct bundle_entry *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

/* See bundle_int.h. */
void
bundle_listing_index(struct bundle_listing *ls)
{
	free(ls->byname);
	ls->byname = xreallocarray(NULL, ls->tree.n + 1,
	    sizeof(*ls->byname));
	for (size_t i = 0; i < ls->tree.n; i++)
		ls->byname[i] = &ls->tree.v[i];
	qsort(ls->byname, ls->tree.n, sizeof(*ls->byname), bl_byname_cmp);
}

const struct bundle_entry *
bundle_listing_find(const struct bundle_listing *ls, const char *path)
{
	struct bundle_entry key = { .path = (char *)(uintptr_t)path };
	struct bundle_entry *kp = &key, **hit;

	if (ls->tree.n == 0)
		return NULL;
	hit = bsearch(&kp, ls->byname, ls->tree.n, sizeof(*ls->byname),
	    bl_byname_cmp);
	return hit != NULL ? *hit : NULL;
}

/* realpath(3)'s limit on the links one resolution follows (glibc). */
#define BL_LINKS_MAX	40

int
bundle_listing_resolve(const struct bundle_listing *ls, const char *path,
    char *ret, size_t size, char *ret_type)
{
	const struct bundle_entry *ent;
	char		 todo[BUNDLE_PATH_MAX * 2 + 2];
	char		 res[BUNDLE_PATH_MAX * 2 + 2], next[sizeof(todo)];
	const char	*p, *q;
	size_t		 rl = 0, clen;
	int		 links = 0;
	char		 type = 'd';

	if (strlcpy(todo, path, sizeof(todo)) >= sizeof(todo))
		goto toolong;
	res[0] = '\0';
	p = todo;
	for (;;) {
		p += strspn(p, "/");
		if (*p == '\0')
			break;
		q = strchrnul(p, '/');
		clen = (size_t)(q - p);
		if (clen == 1 && p[0] == '.') {
			p = q;
			continue;
		}
		if (clen == 2 && p[0] == '.' && p[1] == '.') {
			if (rl == 0) {
				errno = EXDEV;
				return -1;
			}
			while (rl > 0 && res[rl - 1] != '/')
				rl--;
			if (rl > 0)
				rl--;
			res[rl] = '\0';
			p = q;
			continue;
		}
		if (rl + 1 + clen >= sizeof(res))
			goto toolong;
		if (rl > 0)
			res[rl++] = '/';
		memcpy(res + rl, p, clen);
		res[rl + clen] = '\0';
		if ((ent = bundle_listing_find(ls, res)) == NULL) {
			errno = ENOENT;
			return -1;
		}
		if (ent->type == 'l') {
			if (++links > BL_LINKS_MAX) {
				errno = ELOOP;
				return -1;
			}
			/* Go on from the link's directory with TARGET/REST. */
			if ((size_t)snprintf(next, sizeof(next), "%s%s",
			    ent->target, q) >= sizeof(next))
				goto toolong;
			memcpy(todo, next, sizeof(todo));
			p = todo;
			res[rl > 0 ? rl - 1 : 0] = '\0';
			rl = strlen(res);
			continue;
		}
		rl += clen;
		type = ent->type;
		/* As realpath: a non-directory ends the path ("f/" too). */
		if (type != 'd' && *q != '\0') {
			errno = ENOTDIR;
			return -1;
		}
		p = q;
	}
	if (rl >= size)
		goto toolong;
	memcpy(ret, res, rl + 1);
	*ret_type = type;
	return 0;
 toolong:
	errno = ENAMETOOLONG;
	return -1;
}

/* See bundle_int.h. */
const char *const bundle_appspec_names[2] = { "appspec.yml",
    "appspec.yaml" };

/*
 * Where bundle_find_appspec() looks, as two questions a tree on disk
 * and a listing both answer.
 */
struct fa_src {
	/* The type ('f', 'd', 'l', '?') at rel, 0 when none; -1 with eb. */
	int	(*type)(const void *arg, const char *rel, char *ret,
		    struct errbuf *eb);
	/*
	 * 1 with the name (new) of the root's only entry, 0 when it has
	 * none or several, -1 with eb.
	 */
	int	(*only)(const void *arg, char **ret_name, struct errbuf *eb);
	const void *arg;
	const char *show;	/* messages' prefix for rel: "DIR/" or "" */
};

/*
 * 1 and a new *ret_rel ("SUB/appspec.yml") when SUB (NULL: the root)
 * holds appspec.yml (or .yaml) as a regular file, 0 when it holds
 * neither, -1 with eb set otherwise.
 */
static int
fa_in(const struct fa_src *s, const char *sub, char **ret_rel,
    struct errbuf *eb)
{
	char		*rel, t;

	for (size_t i = 0; i < nitems(bundle_appspec_names); i++) {
		rel = sub == NULL ? xstrdup(bundle_appspec_names[i]) :
		    xasprintf("%s/%s", sub, bundle_appspec_names[i]);
		if (s->type(s->arg, rel, &t, eb) == -1) {
			free(rel);
			return -1;
		}
		if (t == 'f') {
			*ret_rel = rel;
			return 1;
		}
		if (t != 0) {
			errbuf_set(eb, EK_DATA, "'%s%s' is not a regular file",
			    s->show, rel);
			free(rel);
			return -1;
		}
		free(rel);
	}
	return 0;
}

/*
 * The appspec's path relative to the root: *ret_sub is NULL (the root)
 * or the single top-level directory (new), *ret_rel new.
 */
static int
fa_find(const struct fa_src *s, char **ret_sub, char **ret_rel,
    struct errbuf *eb)
{
	char		*only = NULL, *rel = NULL, t;
	int		 r, ret = -1;

	if ((r = fa_in(s, NULL, &rel, eb)) == -1)
		return -1;
	if (r == 1) {
		*ret_sub = NULL;
		*ret_rel = rel;
		return 0;
	}
	if ((r = s->only(s->arg, &only, eb)) == -1)
		return -1;
	if (r == 1) {
		if (s->type(s->arg, only, &t, eb) == -1)
			goto out;
		if (t == 'd') {
			if ((r = fa_in(s, only, &rel, eb)) == -1)
				goto out;
			if (r == 1) {
				*ret_sub = only;
				*ret_rel = rel;
				only = NULL;
				ret = 0;
				goto out;
			}
		}
	}
	errbuf_set(eb, EK_DATA, "no appspec.yml at the bundle root or in its "
	    "single top-level folder");
 out:
	free(only);
	return ret;
}

static int
fa_listing_type(const void *arg, const char *rel, char *ret,
    struct errbuf *eb)
{
	const struct bundle_entry *ent;

	ent = bundle_listing_find(arg, rel);
	*ret = ent != NULL ? ent->type : 0;
	return 0;
}

static int
fa_listing_only(const void *arg, char **ret_name, struct errbuf *eb)
{
	const struct bundle_listing *ls = arg;
	const char	*only = NULL;

	for (size_t i = 0; i < ls->tree.n; i++) {
		if (strchr(ls->tree.v[i].path, '/') != NULL)
			continue;
		if (only != NULL)
			return 0;
		only = ls->tree.v[i].path;
	}
	if (only == NULL)
		return 0;
	*ret_name = xstrdup(only);
	return 1;
}

int
bundle_listing_appspec(const struct bundle_listing *ls,
    const char **ret_root, const struct bundle_blob **ret_blob,
    struct errbuf *eb)
{
	struct fa_src	 s = { fa_listing_type, fa_listing_only, ls, "" };
	const struct bundle_entry *top = NULL;
	char		*sub = NULL, *rel = NULL;
	int		 ret = -1;

	if (fa_find(&s, &sub, &rel, eb) == -1)
		return -1;
	if (sub != NULL)
		top = bundle_listing_find(ls, sub);
	for (size_t i = 0; i < ls->nblobs; i++) {
		if (strcmp(ls->blobs[i].path, rel) != 0)
			continue;
		*ret_root = top != NULL ? top->path : "";
		*ret_blob = &ls->blobs[i];
		ret = 0;
		break;
	}
	if (ret == -1)
		errbuf_set(eb, EK_BUG, "the contents of '%s' were not kept",
		    rel);
	free(sub);
	free(rel);
	return ret;
}

static int
fa_dir_type(const void *arg, const char *rel, char *ret, struct errbuf *eb)
{
	struct stat	 st;
	char		*p;

	p = xasprintf("%s/%s", (const char *)arg, rel);
	if (lstat(p, &st) == -1) {
		if (errno != ENOENT && errno != ENOTDIR) {
			errbuf_errno(eb, EK_IO, "cannot stat '%s'", p);
			free(p);
			return -1;
		}
		*ret = 0;
	} else if (S_ISREG(st.st_mode))
		*ret = 'f';
	else if (S_ISDIR(st.st_mode))
		*ret = 'd';
	else if (S_ISLNK(st.st_mode))
		*ret = 'l';
	else
		*ret = '?';
	free(p);
	return 0;
}

static int
fa_dir_only(const void *arg, char **ret_name, struct errbuf *eb)
{
	const char	*dir = arg;
	struct dirent	*de;
	DIR		*d;
	char		*only = NULL;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return errbuf_errno(eb, errno == ENOENT ? EK_NOINPUT : EK_IO,
		    "cannot open '%s'", dir);
	while (n < 2 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n++ == 0)
			only = xstrdup(de->d_name);
	}
	closedir(d);
	if (n != 1) {
		free(only);
		return 0;
	}
	*ret_name = only;
	return 1;
}

int
bundle_find_appspec(const char *dir, char **ret_root, char **ret_appspec,
    struct errbuf *eb)
{
	struct fa_src	 s = { fa_dir_type, fa_dir_only, dir, NULL };
	char		*show, *sub = NULL, *rel = NULL;
	int		 ret;

	show = xasprintf("%s/", dir);
	s.show = show;
	ret = fa_find(&s, &sub, &rel, eb);
	if (ret == 0) {
		*ret_root = sub != NULL ? xasprintf("%s/%s", dir, sub) :
		    xstrdup(dir);
		*ret_appspec = xasprintf("%s/%s", dir, rel);
	}
	free(show);
	free(sub);
	free(rel);
	return ret;
}
