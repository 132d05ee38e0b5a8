/* SPDX-License-Identifier: ISC */
/*
 * release.c: release directories, the atomic 'current' switch, files:
 * destinations as symlinks into 'current', permissions and retention.
 * Everything is done with system calls (never by spawning chmod or rm),
 * and without fsync: state.json is the durable record, and a crash between
 * two of these steps is undone by the lifecycle engine's recovery.
 *
 * nftw(3) walks trees; its callback has no argument, so each walk keeps
 * its context in a file-static variable (hookd is single-threaded).
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <acl/libacl.h>
#include <sys/acl.h>

#include "caps.h"
#include "errbuf.h"
#include "fsutil.h"
#include "log.h"
#include "manifest.h"
#include "release.h"
#include "xalloc.h"

#include "banned.h"

#define WALK_FDS	32	/* nftw open directory budget */

/* --- current --- */

int
release_switch(const char *gdir, const char *release, struct errbuf *eb)
{
	char	*cur, *tmp;
	int	 ret = -1;

	cur = xasprintf("%s/%s", gdir, RELEASE_CURRENT);
	tmp = xasprintf("%s/.%s.tmp-%ld", gdir, RELEASE_CURRENT,
	    (long)getpid());
	if (release == NULL) {
		if (unlink(cur) == -1 && errno != ENOENT) {
			errbuf_errno(eb, EK_IO, "cannot remove '%s'", cur);
			goto out;
		}
		ret = 0;
		goto out;
	}
	ret = fs_symlink_replace(cur, release, tmp, eb);
 out:
	free(cur);
	free(tmp);
	return ret;
}

/* readlink into a new string; NULL with errno set on failure. */
static char *
xreadlink(const char *path)
{
	char	 buf[PATH_MAX];
	ssize_t	 n;

	n = readlink(path, buf, sizeof(buf) - 1);
	if (n == -1)
		return NULL;
	if ((size_t)n >= sizeof(buf) - 1) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	buf[n] = '\0';
	return xstrdup(buf);
}

int
release_current(const char *gdir, char **ret, struct errbuf *eb)
{
	char	*cur, *target;

	cur = xasprintf("%s/%s", gdir, RELEASE_CURRENT);
	target = xreadlink(cur);
	if (target == NULL && errno != ENOENT) {
		errbuf_errno(eb, EK_IO, "cannot read link '%s'", cur);
		free(cur);
		return -1;
	}
	free(cur);
	*ret = target;
	return 0;
}

/* --- removal and copying --- */

uint64_t
release_seq(const char *name)
{
	char		 num[24];
	const char	*dash;
	uint64_t	 seq;

	dash = strchr(name, '-');
	if (dash == NULL || dash == name || (size_t)(dash - name) >=
	    sizeof(num) || dash[1] == '\0')
		return 0;
	memcpy(num, name, (size_t)(dash - name));
	num[dash - name] = '\0';
	if (parse_u64(num, 1, UINT64_MAX, &seq) == -1)
		return 0;
	return seq;
}

/* --- listing and retention --- */

struct rel_ent {
	char		*name;
	uint64_t	 seq;
};

static int
rel_ent_cmp(const void *a, const void *b)
{
	const struct rel_ent	*x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq > y->seq ? -1 : 1;
	return strcmp(x->name, y->name);
}

int
release_list(const char *gdir, char ***ret_names, size_t *ret_n,
    struct errbuf *eb)
{
	DIR		*d;
	struct dirent	*de;
	struct rel_ent	*v = NULL;
	char		*dir, **names;
	size_t		 n = 0, cap = 0;
	uint64_t	 seq;
	int		 ret = -1;

	dir = xasprintf("%s/%s", gdir, RELEASE_DIR);
	if ((d = opendir(dir)) == NULL) {
		errbuf_errno(eb, EK_IO, "cannot open '%s'", dir);
		free(dir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || (seq = release_seq(de->d_name)) ==
		    0)
			continue;
		if (n == RELEASE_LIST_MAX) {
			errbuf_set(eb, EK_IO, "'%s' holds more than %d "
			    "releases", dir, RELEASE_LIST_MAX);
			goto out;
		}
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[n].name = xstrdup(de->d_name);
		v[n].seq = seq;
		n++;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), rel_ent_cmp);
	names = xcalloc(n + 1, sizeof(*names));
	for (size_t i = 0; i < n; i++) {
		names[i] = v[i].name;
		v[i].name = NULL;
	}
	*ret_names = names;
	*ret_n = n;
	ret = 0;
 out:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	free(dir);
	return ret;
}

void
release_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static bool
is_protected(const char *name, const char *const *protect, size_t n)
{
	const char	*p;
	size_t		 plen = strlen(RELEASE_DIR "/");

	for (size_t i = 0; i < n; i++) {
		if ((p = protect[i]) == NULL)
			continue;
		if (strncmp(p, RELEASE_DIR "/", plen) == 0)
			p += plen;
		if (strcmp(p, name) == 0)
			return true;
	}
	return false;
}

/*
 * Whether releases/NAME is a leftover: a half-built release, a manifest
 * being written, or the manifest of a release that is gone.
 */
static bool
is_leftover(int dfd, const char *name)
{
	struct stat	 st;
	size_t		 plen = strlen(MANIFEST_PREFIX);

	if (strncmp(name, RELEASE_TMP_PREFIX, strlen(RELEASE_TMP_PREFIX)) ==
	    0 || strncmp(name, MANIFEST_TMP_PREFIX,
	    strlen(MANIFEST_TMP_PREFIX)) == 0)
		return true;
	return strncmp(name, MANIFEST_PREFIX, plen) == 0 &&
	    (fstatat(dfd, name + plen, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISDIR(st.st_mode));
}

void
release_clean_tmp(const char *gdir)
{
	DIR		*d;
	struct dirent	*de;
	struct errbuf	 eb;
	char		*dir, *path;

	dir = xasprintf("%s/%s", gdir, RELEASE_DIR);
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_leftover(dirfd(d), de->d_name))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (fs_rmtree(path, &eb) == -1)
			log_debug("%s", eb.msg);
		free(path);
	}
	closedir(d);
	free(dir);
}

int
release_prune(const char *gdir, unsigned keep, const char *const *protect,
    size_t nprotect, struct errbuf *eb)
{
	struct errbuf	 eb2;
	char		**names, *path;
	size_t		 n;
	int		 removed = 0, failed = 0;

	release_clean_tmp(gdir);
	if (release_list(gdir, &names, &n, eb) == -1)
		return -1;
	for (size_t i = keep; i < n; i++) {
		if (is_protected(names[i], protect, nprotect))
			continue;
		path = xasprintf("%s/%s/%s", gdir, RELEASE_DIR, names[i]);
		if (fs_rmtree(path, &eb2) == -1) {
			if (failed++ == 0)
				*eb = eb2;
		} else {
			manifest_remove(gdir, names[i]);
			removed++;
		}
		free(path);
	}
	release_names_free(names, n);
	return failed ? -1 : removed;
}

/* --- files: destinations --- */

void
release_links_init(struct release_links *l)
{
	l->v = NULL;
	l->n = 0;
}

void
release_links_release(struct release_links *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].old_target);
		free(l->v[i].backup);
	}
	free(l->v);
	release_links_init(l);
}

/* Replace (or create) 'path' as a symlink to 'target', atomically. */
static int
relink(const char *path, const char *target, const char *id,
    struct errbuf *eb)
{
	char	*tmp;
	int	 ret = -1;

	tmp = xasprintf("%s.hookd-tmp-%s", path, id);
	ret = fs_symlink_replace(path, target, tmp, eb);
	free(tmp);
	return ret;
}

static struct release_link *
links_add(struct release_links *l, const char *path)
{
	struct release_link	*e;

	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	e->path = xstrdup(path);
	return e;
}

/* Source without leading slashes; "" for the whole bundle. */
static const char *
strip_slashes(const char *s)
{
	while (*s == '/')
		s++;
	return s;
}

static int
link_one(const struct appspec_file *f, const char *gdir,
    const char *release_dir, enum file_exists_behavior feb, const char *id,
    struct release_links *undo, struct errbuf *eb)
{
	struct release_link	*e;
	struct stat		 sb;
	const char		*src, *base;
	char			*srcpath, *linkpath = NULL, *target = NULL;
	char			*cur = NULL, *curprefix, *parent, *old = NULL;
	char			*backup = NULL;
	int			 ret = -1;

	src = strip_slashes(f->source);
	srcpath = xasprintf("%s%s%s", release_dir, *src ? "/" : "", src);
	curprefix = xasprintf("%s/%s", gdir, RELEASE_CURRENT);
	if (stat(srcpath, &sb) == -1) {
		errbuf_errno(eb, EK_FAILED, "files: source '%s'", f->source);
		goto out;
	}
	target = xasprintf("%s%s%s", curprefix, *src ? "/" : "", src);
	if (S_ISDIR(sb.st_mode)) {
		linkpath = xstrdup(f->destination);
		while (strlen(linkpath) > 1 &&
		    linkpath[strlen(linkpath) - 1] == '/')
			linkpath[strlen(linkpath) - 1] = '\0';
		parent = xstrdup(linkpath);
		*strrchr(parent, '/') = '\0';
		ret = parent[0] == '\0' ? 0 : fs_mkdirs(parent, 0755, eb);
		free(parent);
		if (ret == -1)
			goto out;
		ret = -1;
	} else {
		base = strrchr(src, '/');
		base = base == NULL ? src : base + 1;
		if (fs_mkdirs(f->destination, 0755, eb) == -1)
			goto out;
		linkpath = xasprintf("%s/%s", f->destination, base);
	}

	if (lstat(linkpath, &sb) == 0) {
		if (S_ISLNK(sb.st_mode) &&
		    (cur = xreadlink(linkpath)) != NULL &&
		    strncmp(cur, curprefix, strlen(curprefix)) == 0 &&
		    (cur[strlen(curprefix)] == '\0' ||
		    cur[strlen(curprefix)] == '/')) {
			if (strcmp(cur, target) == 0) {
				ret = 0;	/* already right */
				goto out;
			}
			old = cur;
			cur = NULL;
		} else if (feb == FEB_RETAIN) {
			log_debug("destination '%s' exists, retained",
			    linkpath);
			ret = 0;
			goto out;
		} else if (feb == FEB_OVERWRITE) {
			backup = xasprintf("%s%s%s", linkpath,
			    RELEASE_BAK_INFIX, id);
			if (fs_rmtree(backup, eb) == -1)
				goto out;
			if (rename(linkpath, backup) == -1) {
				errbuf_errno(eb, EK_IO, "cannot move '%s' "
				    "aside", linkpath);
				goto out;
			}
			e = links_add(undo, linkpath);
			e->backup = backup;
			backup = NULL;
			goto make;
		} else {
			errbuf_set(eb, EK_FAILED, "destination '%s' already "
			    "exists (file_exists_behavior DISALLOW)",
			    linkpath);
			goto out;
		}
	} else if (errno != ENOENT) {
		errbuf_errno(eb, EK_IO, "cannot stat '%s'", linkpath);
		goto out;
	}
	e = links_add(undo, linkpath);
	e->old_target = old;
	old = NULL;
 make:
	if (relink(linkpath, target, id, eb) == -1)
		goto out;
	ret = 0;
 out:
	free(srcpath);
	free(linkpath);
	free(target);
	free(cur);
	free(old);
	free(backup);
	free(curprefix);
	return ret;
}

int
release_link_files(const struct appspec *as, const char *gdir,
    const char *release_dir, enum file_exists_behavior feb,
    const char *deployment_id, struct release_links *undo,
    struct errbuf *eb)
{
	if (feb == FEB_UNSET)
		feb = as->file_exists_behavior;
	if (feb == FEB_UNSET)
		feb = FEB_DISALLOW;
	for (size_t i = 0; i < as->nfiles; i++) {
		if (link_one(&as->files[i], gdir, release_dir, feb,
		    deployment_id, undo, eb) == -1)
			return -1;
	}
	return 0;
}

void
release_unlink_files(struct release_links *undo)
{
	struct release_link	*e;
	struct errbuf		 eb;
	const char		*id;

	for (size_t i = undo->n; i > 0; i--) {
		e = &undo->v[i - 1];
		if (e->old_target != NULL) {
			id = "undo";
			if (relink(e->path, e->old_target, id, &eb) == -1)
				log_debug("%s", eb.msg);
			continue;
		}
		if (unlink(e->path) == -1 && errno != ENOENT)
			log_debug("cannot remove '%s': %s", e->path,
			    strerror(errno));
		if (e->backup != NULL && rename(e->backup, e->path) == -1)
			log_debug("cannot restore '%s': %s", e->path,
			    strerror(errno));
	}
}

/* --- permissions --- */

static struct {
	const struct appspec_perm *p;
	uid_t		 uid;
	gid_t		 gid;
	bool		 selinux;
	const char	*root;
	struct errbuf	*eb;
	int		 failed;
} perm_ctx;

/*
 * Map a host path under a files: destination to the same path in the
 * new release; NULL when it is under none.  Returns a new string.
 */
static char *
map_object(const struct appspec *as, const char *object,
    const char *release_dir)
{
	const struct appspec_file	*f;
	const char			*src, *base;
	char				*dest, *p = NULL;
	size_t				 dl;
	struct stat			 sb;

	for (size_t i = 0; i < as->nfiles && p == NULL; i++) {
		f = &as->files[i];
		src = strip_slashes(f->source);
		dest = xstrdup(f->destination);
		while ((dl = strlen(dest)) > 1 && dest[dl - 1] == '/')
			dest[--dl] = '\0';
		p = xasprintf("%s%s%s", release_dir, *src ? "/" : "", src);
		if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			if (strncmp(object, dest, dl) == 0 &&
			    (object[dl] == '\0' || object[dl] == '/')) {
				char	*q = xasprintf("%s%s", p, object + dl);

				free(p);
				p = q;
			} else {
				free(p);
				p = NULL;
			}
		} else {
			base = strrchr(src, '/');
			base = base == NULL ? src : base + 1;
			if (!(strncmp(object, dest, dl) == 0 &&
			    object[dl] == '/' &&
			    strcmp(object + dl + 1, base) == 0)) {
				free(p);
				p = NULL;
			}
		}
		free(dest);
	}
	return p;
}

static int
lookup_ids(const struct appspec_perm *p, uid_t *uid, gid_t *gid,
    struct errbuf *eb)
{
	struct passwd	 pw, *pwp = NULL;
	struct group	 gr, *grp = NULL;
	char		 buf[16384];

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (p->owner != NULL) {
		if (getpwnam_r(p->owner, &pw, buf, sizeof(buf), &pwp) != 0 ||
		    pwp == NULL)
			return errbuf_set(eb, EK_FAILED, "permissions: "
			    "unknown owner '%s'", p->owner);
		*uid = pw.pw_uid;
	}
	if (p->group != NULL) {
		if (getgrnam_r(p->group, &gr, buf, sizeof(buf), &grp) != 0 ||
		    grp == NULL)
			return errbuf_set(eb, EK_FAILED, "permissions: "
			    "unknown group '%s'", p->group);
		*gid = gr.gr_gid;
	}
	return 0;
}

static int
acl_qualifier(char kind, const char *name, id_t *ret, struct errbuf *eb)
{
	struct passwd	 pw, *pwp = NULL;
	struct group	 gr, *grp = NULL;
	char		 buf[16384];
	uint64_t	 n;

	if (parse_u64(name, 0, UINT32_MAX - 1, &n) == 0) {
		*ret = (id_t)n;
		return 0;
	}
	if (kind == 'u') {
		if (getpwnam_r(name, &pw, buf, sizeof(buf), &pwp) != 0 ||
		    pwp == NULL)
			return errbuf_set(eb, EK_FAILED, "permissions: acls: "
			    "unknown user '%s'", name);
		*ret = pw.pw_uid;
	} else {
		if (getgrnam_r(name, &gr, buf, sizeof(buf), &grp) != 0 ||
		    grp == NULL)
			return errbuf_set(eb, EK_FAILED, "permissions: acls: "
			    "unknown group '%s'", name);
		*ret = gr.gr_gid;
	}
	return 0;
}

/* Set (or add) one entry of 'acl', the ACL of path. */
static int
acl_put(acl_t *acl, const struct appspec_acl *a, const char *path,
    struct errbuf *eb)
{
	acl_entry_t	 ent;
	acl_tag_t	 tag, t;
	acl_permset_t	 ps;
	id_t		 q = 0, *eq;
	bool		 named = a->name != NULL && a->name[0] != '\0';
	int		 r, found = 0;

	switch (a->kind) {
	case 'u':
		tag = named ? ACL_USER : ACL_USER_OBJ;
		break;
	case 'g':
		tag = named ? ACL_GROUP : ACL_GROUP_OBJ;
		break;
	case 'm':
		tag = ACL_MASK;
		break;
	default:
		tag = ACL_OTHER;
		break;
	}
	if (named && acl_qualifier(a->kind, a->name, &q, eb) == -1)
		return -1;
	for (r = acl_get_entry(*acl, ACL_FIRST_ENTRY, &ent); r == 1;
	    r = acl_get_entry(*acl, ACL_NEXT_ENTRY, &ent)) {
		if (acl_get_tag_type(ent, &t) == -1 || t != tag)
			continue;
		if (named) {
			eq = acl_get_qualifier(ent);
			found = eq != NULL && *eq == q;
			acl_free(eq);
		} else
			found = 1;
		if (found)
			break;
	}
	if (!found) {
		if (acl_create_entry(acl, &ent) == -1 ||
		    acl_set_tag_type(ent, tag) == -1 ||
		    (named && acl_set_qualifier(ent, &q) == -1))
			return errbuf_errno(eb, EK_IO, "'%s': cannot add the "
			    "ACL entry %s%c:%s", path, a->is_default ? "d:" :
			    "", a->kind, named ? a->name : "");
	}
	if (acl_get_permset(ent, &ps) == -1 || acl_clear_perms(ps) == -1 ||
	    ((a->perms & 4) && acl_add_perm(ps, ACL_READ) == -1) ||
	    ((a->perms & 2) && acl_add_perm(ps, ACL_WRITE) == -1) ||
	    ((a->perms & 1) && acl_add_perm(ps, ACL_EXECUTE) == -1) ||
	    acl_set_permset(ent, ps) == -1)
		return errbuf_errno(eb, EK_IO, "'%s': cannot set the "
		    "permissions of the ACL entry %s%c:%s", path,
		    a->is_default ? "d:" : "", a->kind, named ? a->name : "");
	return 0;
}

static int
apply_acls(const char *path, bool isdir, const struct appspec_perm *p,
    struct errbuf *eb)
{
	acl_t		 acl = NULL;
	acl_type_t	 type;
	bool		 mask, any;
	int		 ret = -1;

	for (int pass = 0; pass < 2; pass++) {
		bool	 dflt = pass == 1;

		any = mask = false;
		for (size_t i = 0; i < p->nacls; i++) {
			if (p->acls[i].is_default == dflt) {
				any = true;
				mask |= p->acls[i].kind == 'm';
			}
		}
		if (!any || (dflt && !isdir))
			continue;
		type = dflt ? ACL_TYPE_DEFAULT : ACL_TYPE_ACCESS;
		acl = acl_get_file(path, type);
		if (acl != NULL && dflt && acl_entries(acl) == 0) {
			acl_free(acl);
			acl = acl_get_file(path, ACL_TYPE_ACCESS);
		}
		if (acl == NULL) {
			errbuf_errno(eb, EK_IO, "cannot read the ACL of '%s'",
			    path);
			goto out;
		}
		for (size_t i = 0; i < p->nacls; i++) {
			if (p->acls[i].is_default == dflt &&
			    acl_put(&acl, &p->acls[i], path, eb) == -1)
				goto out;
		}
		if (!mask && acl_calc_mask(&acl) == -1) {
			errbuf_errno(eb, EK_IO, "cannot compute the ACL mask "
			    "of '%s'", path);
			goto out;
		}
		if (acl_set_file(path, type, acl) == -1) {
			errbuf_errno(eb, EK_IO, "cannot set the ACL of '%s'",
			    path);
			goto out;
		}
		acl_free(acl);
		acl = NULL;
	}
	ret = 0;
 out:
	if (acl != NULL)
		acl_free(acl);
	return ret;
}

static int
apply_one(const char *path, const struct stat *sb)
{
	const struct appspec_perm	*p = perm_ctx.p;
	const struct appspec_context	*c = p->context;
	struct errbuf			*eb = perm_ctx.eb;
	char				*ctx;
	bool				 isdir = S_ISDIR(sb->st_mode);
	int				 r;

	if ((perm_ctx.uid != (uid_t)-1 || perm_ctx.gid != (gid_t)-1) &&
	    lchown(path, perm_ctx.uid, perm_ctx.gid) == -1)
		return errbuf_errno(eb, EK_IO, "cannot chown '%s'", path);
	if (p->mode >= 0 && chmod(path, (mode_t)p->mode) == -1)
		return errbuf_errno(eb, EK_IO, "cannot chmod '%s'", path);
	if (p->nacls > 0 && apply_acls(path, isdir, p, eb) == -1)
		return -1;
	if (c != NULL && c->type != NULL) {
		if (!perm_ctx.selinux) {
			log_debug("SELinux is not enabled; context of '%s' "
			    "not set", path);
			return 0;
		}
		ctx = xasprintf("%s:object_r:%s%s%s",
		    c->user != NULL ? c->user : "system_u", c->type,
		    c->range != NULL ? ":" : "",
		    c->range != NULL ? c->range : "");
		r = lsetxattr(path, "security.selinux", ctx, strlen(ctx) + 1,
		    0);
		free(ctx);
		if (r == -1)
			return errbuf_errno(eb, EK_IO, "cannot set the SELinux "
			    "context of '%s'", path);
	}
	return 0;
}

static bool
perm_matches(const char *path, const struct stat *sb, bool is_object)
{
	const struct appspec_perm	*p = perm_ctx.p;
	const char			*name;
	bool				 all;

	if (S_ISLNK(sb->st_mode))
		return false;
	if (p->types != 0) {
		if (S_ISDIR(sb->st_mode) && !(p->types & PERM_TYPE_DIRECTORY))
			return false;
		if (!S_ISDIR(sb->st_mode) && !(p->types & PERM_TYPE_FILE))
			return false;
	}
	name = strrchr(path, '/');
	name = name == NULL ? path : name + 1;
	all = p->pattern == NULL || strcmp(p->pattern, "**") == 0;
	if (is_object && S_ISDIR(sb->st_mode) && !all)
		return false;
	if (!all && fnmatch(p->pattern, name, 0) != 0)
		return false;
	for (size_t i = 0; i < p->nexcept; i++)
		if (fnmatch(p->except[i], name, 0) == 0)
			return false;
	return true;
}

static int
perm_cb(const char *fpath, const struct stat *sb, int flag, struct FTW *ftw)
{
	if (flag == FTW_NS || flag == FTW_DNR) {
		errno = EACCES;
		errbuf_errno(perm_ctx.eb, EK_IO, "cannot read '%s'", fpath);
		perm_ctx.failed = 1;
		return 1;
	}
	if (!perm_matches(fpath, sb, ftw->level == 0))
		return 0;
	if (apply_one(fpath, sb) == -1) {
		perm_ctx.failed = 1;
		return 1;
	}
	return 0;
}

int
release_apply_permissions(const struct appspec *as, const char *release_dir,
    struct errbuf *eb)
{
	const struct appspec_perm	*p;
	struct stat			 sb;
	char				*real;
	int				 ret = -1, r;

	perm_ctx.selinux = access("/sys/fs/selinux/enforce", F_OK) == 0;
	perm_ctx.eb = eb;
	for (size_t i = 0; i < as->nperms; i++) {
		p = &as->perms[i];
		real = map_object(as, p->object, release_dir);
		if (real == NULL)
			real = xstrdup(p->object);
		if (lstat(real, &sb) == -1) {
			errbuf_errno(eb, EK_FAILED, "permissions: object '%s'",
			    p->object);
			free(real);
			goto out;
		}
		perm_ctx.p = p;
		perm_ctx.failed = 0;
		if (lookup_ids(p, &perm_ctx.uid, &perm_ctx.gid, eb) == -1) {
			free(real);
			goto out;
		}
		r = nftw(real, perm_cb, WALK_FDS, FTW_PHYS | FTW_MOUNT);
		if (r == -1 && !perm_ctx.failed)
			errbuf_errno(eb, EK_IO, "cannot walk '%s'", real);
		free(real);
		if (r != 0 || perm_ctx.failed) {
			errbuf_prefix(eb, "permissions: object '%s': ",
			    p->object);
			goto out;
		}
	}
	ret = 0;
 out:
	perm_ctx.eb = NULL;
	perm_ctx.p = NULL;
	return ret;
}
