/* SPDX-License-Identifier: ISC */
/*
 * manifest.c: release manifests (see manifest.h).  One walker produces
 * the lines; writing a manifest sends them to a file, checking one
 * compares them with the file's, line by line, and stops at the first
 * difference.  The walk never follows a symlink (openat with O_NOFOLLOW,
 * fstatat with AT_SYMLINK_NOFOLLOW) and is bounded like a bundle: at
 * most BUNDLE_ENTRIES_MAX entries and BUNDLE_PATH_MAX path bytes.
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "bundle.h"
#include "caps.h"
#include "errbuf.h"
#include "fsutil.h"
#include "manifest.h"
#include "release.h"
#include "xalloc.h"

#include "banned.h"

struct mwalk {
	FILE		*out;		/* writing: the new manifest */
	FILE		*in;		/* checking: the recorded one */
	char		*recorded;	/* checking: line buffer */
	bool		 bounded;	/* checking: ctimes must be <= bound */
	struct timespec	 bound;		/* (a hookd.manifest/2 manifest) */
	char		*why;		/* checking: the first difference */
	struct buf	 line;		/* the line being made */
	size_t		 entries;
	char		 rel[BUNDLE_PATH_MAX + 1];
	struct errbuf	*eb;
};

/* Append s with bytes <= ' ', '\' and DEL as \xNN. */
static int
add_escaped(struct buf *b, const char *s)
{
	int	 bad = 0;

	for (; *s != '\0'; s++) {
		unsigned char	 c = (unsigned char)*s;

		if (c <= ' ' || c == '\\' || c == 0x7f)
			bad |= buf_printf(b, "\\x%02x", c);
		else
			bad |= buf_addch(b, (char)c);
	}
	return bad;
}

static bool
ts_after(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

static char
type_char(mode_t m)
{
	if (S_ISREG(m))
		return 'f';
	if (S_ISDIR(m))
		return 'd';
	if (S_ISLNK(m))
		return 'l';
	return 'o';
}

/* The PATH field of a manifest line (escaped), into out. */
static void
line_path(const char *line, char *out, size_t size)
{
	const char	*p = line;

	for (int i = 0; i < 8 && p != NULL; i++)
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	if (p == NULL)
		p = "?";
	(void)strlcpy(out, p, size);
	out[strcspn(out, "\t")] = '\0';
}

/*
 * Read the next recorded line (without its newline) into w->recorded.
 * Returns 1, 0 at the end, -1 for a line over MANIFEST_LINE_MAX.
 */
static int
next_recorded(struct mwalk *w)
{
	size_t	 len;

	if (fgets(w->recorded, MANIFEST_LINE_MAX, w->in) == NULL)
		return 0;
	len = strlen(w->recorded);
	if (len == 0 || w->recorded[len - 1] != '\n')
		return -1;
	w->recorded[len - 1] = '\0';
	return 1;
}

/*
 * Whether the line made from the tree matches the recorded one: each of
 * the eight fields before PATH is equal or recorded as "-" (not known
 * when the manifest was written), and PATH and TARGET are equal.
 */
static bool
fields_match(const char *rec, const char *got)
{
	size_t	 rl, gl;

	for (int i = 0; i < 8; i++) {
		rl = strcspn(rec, " ");
		gl = strcspn(got, " ");
		if (rec[rl] != ' ' || got[gl] != ' ')
			return false;
		if (!(rl == 1 && rec[0] == '-') &&
		    (rl != gl || memcmp(rec, got, rl) != 0))
			return false;
		rec += rl + 1;
		got += gl + 1;
	}
	return strcmp(rec, got) == 0;
}

/*
 * Hand the finished line to the sink; late: the entry changed after the
 * recorded bound (checking only).  Returns 0 to go on, 1 when a check
 * found a difference (w->why set), -1 with w->eb set.
 */
static int
emit(struct mwalk *w, bool late)
{
	char	 a[BUNDLE_NAME_SHOW_MAX], b[BUNDLE_NAME_SHOW_MAX];
	int	 r;

	if (w->out != NULL) {
		if (fprintf(w->out, "%s\n", buf_str(&w->line)) < 0)
			return errbuf_errno(w->eb, EK_IO, "cannot write the "
			    "manifest");
		return 0;
	}
	line_path(buf_str(&w->line), a, sizeof(a));
	if ((r = next_recorded(w)) != 1) {
		w->why = r == 0 ? xasprintf("'%s' was added", a) :
		    xstrdup("the manifest is unreadable");
		return 1;
	}
	if (!late && fields_match(w->recorded, buf_str(&w->line)))
		return 0;
	line_path(w->recorded, b, sizeof(b));
	if (strcmp(a, b) == 0)
		w->why = xasprintf("'%s' was modified", a);
	else
		w->why = xasprintf("'%s' was removed or '%s' added", b, a);
	return 1;
}

/*
 * The tree holds more than MANIFEST_ENTRIES_MAX entries: an error when
 * writing, a difference when checking (the manifest cannot hold them).
 */
static int
too_many(struct mwalk *w)
{
	if (w->out != NULL)
		return errbuf_set(w->eb, EK_DATA, "more than %d entries",
		    MANIFEST_ENTRIES_MAX);
	w->why = xasprintf("entries were added (more than %d)",
	    MANIFEST_ENTRIES_MAX);
	return 1;
}

/* Make and emit the line of one entry; target for symlinks. */
static int
entry(struct mwalk *w, const struct stat *st, const char *target,
    bool root)
{
	int	 bad = 0;

	if (++w->entries > MANIFEST_ENTRIES_MAX)
		return too_many(w);
	buf_reset(&w->line);
	bad |= buf_printf(&w->line, "%c %o %u %u %llu ",
	    type_char(st->st_mode), (unsigned)(st->st_mode & 07777),
	    (unsigned)st->st_uid, (unsigned)st->st_gid,
	    (unsigned long long)st->st_size);
	if (root)
		bad |= buf_addstr(&w->line, "0.000000000 0.000000000 ");
	else
		bad |= buf_printf(&w->line, "%lld.%09ld %lld.%09ld ",
		    (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
		    (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
	bad |= buf_printf(&w->line, "%llu ", (unsigned long long)st->st_ino);
	bad |= add_escaped(&w->line, root ? "." : w->rel);
	if (target != NULL) {
		bad |= buf_addch(&w->line, '\t');
		bad |= add_escaped(&w->line, target);
	}
	if (bad != 0)
		return errbuf_set(w->eb, EK_DATA, "manifest line for '%s' is "
		    "too long", w->rel);
	return emit(w, w->bounded && !root && ts_after(&st->st_ctim,
	    &w->bound));
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The sorted names in directory fd (borrowed), as a new array of new
 * strings.  Returns 0, 1 when a check should stop (too many), -1.
 */
static int
read_names(struct mwalk *w, int fd, char ***ret, size_t *ret_n)
{
	struct dirent	*de;
	DIR		*d;
	char		**v = NULL;
	size_t		 n = 0;
	int		 dfd;

	if ((dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    (d = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		return errbuf_errno(w->eb, EK_IO, "cannot read '%s'",
		    w->rel[0] != '\0' ? w->rel : ".");
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (w->entries + n >= MANIFEST_ENTRIES_MAX) {
			closedir(d);
			release_names_free(v, n);
			return too_many(w);
		}
		v = xreallocarray(v, n + 1, sizeof(*v));
		v[n++] = xstrdup(de->d_name);
	}
	if (errno != 0) {
		errbuf_errno(w->eb, EK_IO, "cannot read '%s'",
		    w->rel[0] != '\0' ? w->rel : ".");
		closedir(d);
		release_names_free(v, n);
		return -1;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), name_cmp);
	*ret = v;
	*ret_n = n;
	return 0;
}

static int	walk_dir(struct mwalk *, int, size_t, int);

/* One entry 'name' of directory fd; w->rel holds its path. */
static int
walk_one(struct mwalk *w, int fd, const char *name, size_t rlen, int depth)
{
	struct stat	 st;
	char		 target[PATH_MAX];
	const char	*link = NULL;
	ssize_t		 n;
	int		 cfd, r;

	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errbuf_errno(w->eb, EK_IO, "cannot stat '%s'", w->rel);
	if (S_ISLNK(st.st_mode)) {
		if ((n = readlinkat(fd, name, target, sizeof(target))) == -1)
			return errbuf_errno(w->eb, EK_IO, "cannot read link "
			    "'%s'", w->rel);
		if ((size_t)n >= sizeof(target))
			n = sizeof(target) - 1;
		target[n] = '\0';
		link = target;
	}
	if ((r = entry(w, &st, link, false)) != 0 || !S_ISDIR(st.st_mode))
		return r;
	if ((cfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return errbuf_errno(w->eb, EK_IO, "cannot open '%s'", w->rel);
	r = walk_dir(w, cfd, rlen, depth + 1);
	close(cfd);
	return r;
}

/* Walk directory fd (borrowed) whose path is w->rel[0..rlen). */
static int
walk_dir(struct mwalk *w, int fd, size_t rlen, int depth)
{
	char	**names = NULL;
	size_t	 n = 0, nlen, clen;
	int	 r;

	if (depth > BUNDLE_PATH_MAX / 2) {
		if (w->out != NULL)
			return errbuf_set(w->eb, EK_DATA, "'%s': directories "
			    "nested too deep", w->rel);
		w->why = xasprintf("'%s' was added", w->rel);
		return 1;
	}
	if ((r = read_names(w, fd, &names, &n)) != 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		nlen = strlen(names[i]);
		clen = rlen + (rlen > 0) + nlen;
		if (clen > BUNDLE_PATH_MAX) {
			if (w->out != NULL)
				r = errbuf_set(w->eb, EK_DATA, "a path in '%s' "
				    "is longer than %d bytes", w->rel,
				    BUNDLE_PATH_MAX);
			else {
				w->why = xasprintf("a long path was added "
				    "in '%s'", w->rel);
				r = 1;
			}
			break;
		}
		/* clen <= BUNDLE_PATH_MAX above: rlen < sizeof(w->rel) - 1 */
		if (rlen > 0)
			/* cppcheck-suppress arrayIndexOutOfBoundsCond */
			w->rel[rlen] = '/';
		memcpy(w->rel + rlen + (rlen > 0), names[i], nlen + 1);
		r = walk_one(w, fd, names[i], clen, depth);
		w->rel[rlen] = '\0';
	}
	release_names_free(names, n);
	return r;
}

/* Walk the release at 'dir' into w; same returns as emit(). */
static int
walk(struct mwalk *w, const char *dir)
{
	struct stat	 st;
	int		 fd, r;

	w->rel[0] = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return errbuf_errno(w->eb, EK_IO, "cannot open '%s'", dir);
	if (fstat(fd, &st) == -1) {
		r = errbuf_errno(w->eb, EK_IO, "cannot stat '%s'", dir);
		goto out;
	}
	if ((r = entry(w, &st, NULL, true)) != 0)
		goto out;
	r = walk_dir(w, fd, 0, 0);
	if (r == -1)
		errbuf_prefix(w->eb, "'%s': ", dir);
 out:
	close(fd);
	return r;
}

static void
mwalk_init(struct mwalk *w, struct errbuf *eb)
{
	memset(w, 0, sizeof(*w));
	/* Room for the newline and NUL next_recorded() reads. */
	buf_init(&w->line, MANIFEST_LINE_MAX - 2);
	w->eb = eb;
}

static void
mwalk_release(struct mwalk *w)
{
	buf_release(&w->line);
	free(w->recorded);
	free(w->why);
}

/*
 * Start replacing path (fs_atomic_begin(), from the template tmpl): the
 * stream writing the temporary file, or NULL with eb set.
 */
static FILE *
manifest_create(struct fs_atomic *a, const char *path, const char *tmpl,
    struct errbuf *eb)
{
	FILE	*out;

	if (fs_atomic_begin(a, path, tmpl, 0644, eb) == -1)
		return NULL;
	if ((out = fdopen(a->fd, "w")) == NULL) {
		errbuf_errno(eb, EK_IO, "cannot create '%s'", a->tmp);
		return NULL;
	}
	return out;
}

/*
 * Close out (may be NULL) and, when ok and every write reached the file,
 * rename the temporary file over the manifest.  Otherwise it is removed.
 * Returns 0, or -1 (eb set here unless !ok on entry, when the caller has
 * set it).
 */
static int
manifest_finish(FILE *out, bool ok, struct fs_atomic *a, struct errbuf *eb)
{
	if (out != NULL) {
		if (ok && (fflush(out) == EOF || ferror(out))) {
			errbuf_errno(eb, EK_IO, "cannot write '%s'", a->tmp);
			ok = false;
		}
		a->fd = -1;	/* fclose() closes it */
		if (fclose(out) == EOF && ok) {
			errbuf_errno(eb, EK_IO, "cannot write '%s'", a->tmp);
			ok = false;
		}
	}
	if (ok && fs_atomic_commit(a, false, eb) == -1)
		ok = false;
	fs_atomic_abort(a);
	return ok ? 0 : -1;
}

int
manifest_write(const char *gdir, const char *name, const char *sha256,
    struct errbuf *eb)
{
	struct mwalk	 w;
	struct fs_atomic a = { .fd = -1 };
	char		*dir, *path, *tmpl;
	bool		 ok = false;
	int		 ret;

	mwalk_init(&w, eb);
	dir = xasprintf("%s/%s/%s", gdir, RELEASE_DIR, name);
	path = xasprintf("%s/%s/%s%s", gdir, RELEASE_DIR, MANIFEST_PREFIX,
	    name);
	tmpl = xasprintf("%s/%s/%s%s.XXXXXX", gdir, RELEASE_DIR,
	    MANIFEST_TMP_PREFIX, name);
	if ((w.out = manifest_create(&a, path, tmpl, eb)) == NULL)
		goto out;
	if (fprintf(w.out, "%s %s\n", MANIFEST_SCHEMA, sha256) < 0) {
		errbuf_errno(eb, EK_IO, "cannot write '%s'", a.tmp);
		goto out;
	}
	if (walk(&w, dir) != 0)
		goto out;
	ok = true;
 out:
	ret = manifest_finish(w.out, ok, &a, eb);
	w.out = NULL;
	mwalk_release(&w);
	free(dir);
	free(path);
	free(tmpl);
	return ret;
}

/*
 * Walk order: bytewise within a directory, a directory's entries right
 * after it.  That is strcmp() with '/' below every byte of a name.
 */
static int
walk_order(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;
	unsigned	 c, d;

	for (;; p++, q++) {
		c = *p == '\0' ? 0 : *p == '/' ? 1 : *p + 2U;
		d = *q == '\0' ? 0 : *q == '/' ? 1 : *q + 2U;
		if (c != d)
			return c < d ? -1 : 1;
		if (c == 0)
			return 0;
	}
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct bundle_entry *const *x = a, *const *y = b;

	return walk_order((*x)->path, (*y)->path);
}

/* Sleep until the kernel's file time stamps pass t (a few ms at most). */
static void
wait_past(const struct timespec *t)
{
	struct timespec	 now, nap = { 0, 500000 };

	for (int i = 0; i < 2000; i++) {
		clock_gettime(CLOCK_REALTIME_COARSE, &now);
		if (ts_after(&now, t))
			return;
		(void)nanosleep(&nap, NULL);
	}
}

/*
 * The line of one extracted entry (rel: its path below the release
 * root): what the extraction knew, "-" for the rest.
 */
static int
tree_line(struct buf *b, const struct bundle_entry *ent, const char *rel)
{
	int	 bad = 0;

	buf_reset(b);
	bad |= buf_printf(b, "%c - - - ", ent->type);
	if (ent->type == 'f' && ent->size >= 0)
		bad |= buf_printf(b, "%lld ", (long long)ent->size);
	else
		bad |= buf_addstr(b, "- ");
	if (ent->type == 'f' && ent->mtime_set)
		bad |= buf_printf(b, "%lld.%09ld ", (long long)ent->mtime,
		    ent->mtime_nsec);
	else
		bad |= buf_addstr(b, "- ");
	bad |= buf_addstr(b, "- - ");
	bad |= add_escaped(b, rel);
	if (ent->type == 'l' && ent->target != NULL) {
		bad |= buf_addch(b, '\t');
		bad |= add_escaped(b, ent->target);
	}
	return bad;
}

int
manifest_write_tree(const char *gdir, const char *name, const char *sha256,
    const struct bundle_tree *tree, const char *prefix, struct errbuf *eb)
{
	const struct bundle_entry **v = NULL;
	struct timespec	 bound;
	struct stat	 st;
	struct buf	 line;
	FILE		*out = NULL;
	const char	*rel;
	struct fs_atomic a = { .fd = -1 };
	char		*dir, *path, *tmpl;
	size_t		 n = 0, plen = strlen(prefix);
	bool		 ok = false;
	int		 fd = -1, ret;

	/* Everything done to the tree so far happened before this. */
	clock_gettime(CLOCK_REALTIME, &bound);
	buf_init(&line, MANIFEST_LINE_MAX - 2);
	dir = xasprintf("%s/%s/%s", gdir, RELEASE_DIR, name);
	path = xasprintf("%s/%s/%s%s", gdir, RELEASE_DIR, MANIFEST_PREFIX,
	    name);
	tmpl = xasprintf("%s/%s/%s%s.XXXXXX", gdir, RELEASE_DIR,
	    MANIFEST_TMP_PREFIX, name);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
		errbuf_errno(eb, EK_IO, "cannot open '%s'", dir);
		goto out;
	}
	v = xreallocarray(NULL, tree->n + 1, sizeof(*v));
	for (size_t i = 0; i < tree->n; i++) {
		if (plen > 0 && (strncmp(tree->v[i].path, prefix, plen) != 0 ||
		    tree->v[i].path[plen] != '/'))
			continue;
		v[n++] = &tree->v[i];
	}
	if (n + 1 > MANIFEST_ENTRIES_MAX) {
		errbuf_set(eb, EK_DATA, "more than %d entries",
		    MANIFEST_ENTRIES_MAX);
		goto out;
	}
	/* The paths below prefix sort as the whole paths do. */
	if (n > 1)
		qsort(v, n, sizeof(*v), entry_cmp);

	close(fd);
	fd = -1;
	if ((out = manifest_create(&a, path, tmpl, eb)) == NULL)
		goto out;
	if (fprintf(out, "%s %s %lld.%09ld\n", MANIFEST_SCHEMA2, sha256,
	    (long long)bound.tv_sec, bound.tv_nsec) < 0 ||
	    fprintf(out, "d %o %u %u - - - %llu .\n",
	    (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
	    (unsigned)st.st_gid, (unsigned long long)st.st_ino) < 0) {
		errbuf_errno(eb, EK_IO, "cannot write '%s'", a.tmp);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		rel = v[i]->path + (plen > 0 ? plen + 1 : 0);
		if (tree_line(&line, v[i], rel) != 0) {
			errbuf_set(eb, EK_DATA, "manifest line for '%s' is too "
			    "long", rel);
			goto out;
		}
		if (fprintf(out, "%s\n", buf_str(&line)) < 0) {
			errbuf_errno(eb, EK_IO, "cannot write '%s'", a.tmp);
			goto out;
		}
	}
	ok = true;
 out:
	if (fd != -1)
		close(fd);
	ret = manifest_finish(out, ok, &a, eb);
	if (ret == 0)
		wait_past(&bound);	/* any change from now on is later */
	buf_release(&line);
	free(v);
	free(dir);
	free(path);
	free(tmpl);
	return ret;
}

/*
 * Open the manifest at path and check its header names sha256 (NULL:
 * any).  Returns the stream, or NULL (errno set; EINVAL: not a manifest
 * or another hash).  For a hookd.manifest/2 one, *ret_bound (may be
 * NULL) gets the bound of its entries' ctimes and *ret_bounded true.
 */
static FILE *
open_manifest(const char *path, const char *sha256, bool *ret_bounded,
    struct timespec *ret_bound)
{
	char		 hdr[sizeof(MANIFEST_SCHEMA2) + 100], *end;
	struct timespec	 t = { 0, 0 };
	FILE		*fp;
	size_t		 sl = strlen(MANIFEST_SCHEMA), len;
	bool		 v2;
	unsigned long long sec, nsec;

	if ((fp = fopen(path, "re")) == NULL)
		return NULL;
	if (fgets(hdr, sizeof(hdr), fp) == NULL)
		goto bad;
	len = strlen(hdr);
	v2 = strncmp(hdr, MANIFEST_SCHEMA2, sl) == 0;
	if ((!v2 && strncmp(hdr, MANIFEST_SCHEMA, sl) != 0) ||
	    hdr[sl] != ' ' || len < sl + 66 || hdr[len - 1] != '\n' ||
	    strspn(hdr + sl + 1, "0123456789abcdefABCDEF") != 64 ||
	    (sha256 != NULL && strncasecmp(hdr + sl + 1, sha256, 64) != 0))
		goto bad;
	if (!v2 && len != sl + 66)
		goto bad;
	if (v2) {
		/* " SEC.NSEC" after the digest */
		if (hdr[sl + 65] != ' ' ||
		    strspn(hdr + sl + 66, "0123456789") == 0)
			goto bad;
		errno = 0;
		sec = strtoull(hdr + sl + 66, &end, 10);
		if (errno != 0 || *end != '.' || sec > INT64_MAX ||
		    strspn(end + 1, "0123456789") != 9)
			goto bad;
		nsec = strtoull(end + 1, &end, 10);
		if (*end != '\n')
			goto bad;
		t.tv_sec = (time_t)sec;
		t.tv_nsec = (long)nsec;
	}
	if (ret_bounded != NULL)
		*ret_bounded = v2;
	if (ret_bound != NULL)
		*ret_bound = t;
	return fp;
 bad:
	fclose(fp);
	errno = EINVAL;
	return NULL;
}

int
manifest_check(const char *gdir, const char *name, char **ret_why,
    struct errbuf *eb)
{
	struct mwalk	 w;
	struct stat	 st;
	char		*dir, *path;
	int		 r, ret = -1;

	mwalk_init(&w, eb);
	dir = xasprintf("%s/%s/%s", gdir, RELEASE_DIR, name);
	path = xasprintf("%s/%s/%s%s", gdir, RELEASE_DIR, MANIFEST_PREFIX,
	    name);
	if ((r = lstat(dir, &st)) == -1 && errno != ENOENT) {
		errbuf_errno(eb, EK_IO, "cannot stat '%s'", dir);
		goto out;
	}
	if (r == -1 || !S_ISDIR(st.st_mode)) {
		w.why = xstrdup("the release is gone");
		goto differs;
	}
	if ((w.in = open_manifest(path, NULL, &w.bounded, &w.bound)) ==
	    NULL) {
		if (errno != ENOENT && errno != EINVAL) {
			errbuf_errno(eb, EK_IO, "cannot read '%s'", path);
			goto out;
		}
		w.why = xstrdup(errno == ENOENT ? "it has no manifest" :
		    "the manifest is unreadable");
		goto differs;
	}
	if (w.bounded) {
		struct timespec	 now;

		clock_gettime(CLOCK_REALTIME, &now);
		if (ts_after(&w.bound, &now)) {
			w.why = xstrdup("the clock is behind the time its "
			    "manifest was written");
			goto differs;
		}
	}
	w.recorded = xmalloc(MANIFEST_LINE_MAX);
	if ((r = walk(&w, dir)) == -1)
		goto out;
	if (r == 0 && (r = next_recorded(&w)) != 0) {
		if (r == 1) {
			char	 p[BUNDLE_NAME_SHOW_MAX];

			line_path(w.recorded, p, sizeof(p));
			w.why = xasprintf("'%s' was removed", p);
		} else
			w.why = xstrdup("the manifest is unreadable");
	}
	if (w.why == NULL) {
		ret = 1;
		goto out;
	}
 differs:
	*ret_why = w.why;
	w.why = NULL;
	ret = 0;
 out:
	if (w.in != NULL)
		fclose(w.in);
	mwalk_release(&w);
	free(dir);
	free(path);
	return ret;
}

int
manifest_find(const char *gdir, const char *sha256, char ***ret_names,
    size_t *ret_n, struct errbuf *eb)
{
	FILE	*fp;
	char	**names, *path;
	size_t	 n, k = 0;

	if (release_list(gdir, &names, &n, eb) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		path = xasprintf("%s/%s/%s%s", gdir, RELEASE_DIR,
		    MANIFEST_PREFIX, names[i]);
		fp = open_manifest(path, sha256, NULL, NULL);
		free(path);
		if (fp == NULL) {
			free(names[i]);
			continue;
		}
		fclose(fp);
		names[k++] = names[i];
	}
	*ret_names = names;
	*ret_n = k;
	return 0;
}

int
manifest_rename(const char *gdir, const char *from, const char *to,
    struct errbuf *eb)
{
	char	*a, *b;
	int	 ret = 0;

	a = xasprintf("%s/%s/%s%s", gdir, RELEASE_DIR, MANIFEST_PREFIX, from);
	b = xasprintf("%s/%s/%s%s", gdir, RELEASE_DIR, MANIFEST_PREFIX, to);
	if (rename(a, b) == -1)
		ret = errbuf_errno(eb, EK_IO, "cannot rename '%s' to '%s'", a,
		    b);
	free(a);
	free(b);
	return ret;
}

void
manifest_remove(const char *gdir, const char *name)
{
	char	*p;

	p = xasprintf("%s/%s/%s%s", gdir, RELEASE_DIR, MANIFEST_PREFIX, name);
	(void)unlink(p);
	free(p);
}
