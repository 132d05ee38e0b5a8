/* SPDX-License-Identifier: ISC */
/*
 * bundle.c: revision bundles.  Detects a bundle's format from its magic
 * bytes, hashes it, and extracts it (or copies a directory bundle) into an
 * empty release directory.  libarchive reads the archive and writes the
 * files with its secure-extract flags; on top of those, every entry is
 * checked here (name, type, link target, duplicates, limits) so that a
 * hostile bundle is refused with an error naming the entry, and the
 * destination is emptied again on any failure.  This file does not fetch
 * bundles, compare digests with a message, or apply appspec permissions.
 *
 * A tar or tar.gz bundle is read once: our read callback maps the file
 * window by window and feeds each window to SHA-256 and to libarchive,
 * so the digest is verified (bundle_extract_ex) with no second read and
 * no copy out of the page cache.  Every path created is recorded
 * (struct bundle_tree), so a release manifest needs no walk.
 *
 * bundle_scan() runs the same reader and the same entry checks (bx_admit
 * and what it calls) with no writer: where the extraction writes an
 * entry, the scan records it and keeps only the data of the files that
 * could be the appspec, so `hookd validate` and the deployer check an
 * archive without unpacking it, under exactly the extraction's rules.
 *
 * Extraction works relative to the current directory (that is how
 * archive_write_disk resolves names, and it lets SECURE_NOABSOLUTEPATHS
 * and SECURE_SYMLINKS check only the bundle's own components), so
 * bundle_extract() fchdir()s into the destination for the duration of the
 * call and back before it returns.  hookd is single-threaded.
 */
#include "compat.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "bundle.h"
#include "bundle_int.h"
#include "caps.h"
#include "clock.h"
#include "digest.h"
#include "errbuf.h"
#include "fsutil.h"
#include "quote.h"
#include "xalloc.h"
#include "dl_archive.h"

#include "banned.h"

/*
 * libarchive's ARCHIVE_EXTRACT_SECURE_SYMLINKS opens and stats every
 * directory above every entry (five system calls per file at depth four),
 * which alone made extraction about 1.6 times slower than tar(1).  Our own
 * checks already guarantee that no entry goes through a symlink: destdir
 * starts empty, every parent of every entry is recorded as a directory
 * that this extraction created, and nothing is ever replaced.  So the
 * libarchive check is switched on only once the tree holds a symlink,
 * where it is a second line of defence, and symlink-free bundles go at
 * the speed of tar.
 */
#define BX_DISK_FLAGS	(ARCHIVE_EXTRACT_SECURE_NODOTDOT |		\
			 ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |	\
			 ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM)

#define BX_NOT_A_BUNDLE	"expected a directory, .tar, .tar.gz or .zip"

/* What a path in the extracted tree is, as far as this extraction knows. */
enum bx_type {
	BX_NONE = 0,
	BX_DIR,
	BX_FILE,
	BX_SYMLINK,
};

/* A path created, in the hash set; the string is ents[idx].path. */
struct bx_slot {
	const char	*path;
	uint32_t	 idx;
	enum bx_type	 type;
};

/*
 * The bundle file as libarchive reads it (tar, tar.gz): our own read
 * callback, so that every byte is hashed on its way to the decoder and
 * the bundle is read once.
 */
struct bx_src {
	int		 fd;
	char		*buf;		/* read(2): BUNDLE_READ_BLOCK */
	void		*map;		/* the window libarchive has, or NULL */
	size_t		 maplen;
	uint64_t	 off;		/* where the next window starts */
	uint64_t	 size;		/* windows end here: the size at open */
	bool		 mapping;	/* read by windows, else by read(2) */
	struct digest	*md;		/* NULL: not hashing */
	int		 err;		/* errno of a failed read, or 0 */
	bool		 md_failed;
	struct errbuf	 md_eb;		/* why, when md_failed */
	struct bx_hasher *hasher;	/* NULL: hashing inline */
};

/*
 * SHA-256 on a second thread, a window behind libarchive: on tmpfs the
 * hash was an eighth of the CPU of a big extraction, and the machine has
 * another core.  The thread hashes exactly the window the decoder reads
 * (handed over under the mutex, and not unmapped or overwritten before
 * the thread is done with it), so the digest is still of the bytes
 * extracted.  It blocks every signal: they stay the main thread's.
 */
struct bx_hasher {
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct digest	*md;
	struct errbuf	 eb;		/* why, when failed */
	const void	*buf;		/* the window to hash, while busy */
	size_t		 len;
	bool		 busy;
	bool		 quit;
	bool		 failed;
};

static bool	bx_hasher_stop(struct bx_hasher *, struct errbuf *);

/* The most of a candidate's data a scan keeps: appspec_parse()'s limit. */
#define BX_BLOB_MAX	((size_t)APPSPEC_MAX + 1)

/* What a scan (bundle_scan) keeps beside the paths: appspec candidates. */
struct bx_scan {
	struct bundle_blob *v;		/* candidates, in the order seen */
	char		**inode;	/* v[i]'s file: the first path of its
					   hard link group (borrowed) */
	bool		*known;		/* v[i] holds that file's data */
	size_t		 n;
	char		**extra;	/* more paths to keep (second pass) */
	size_t		 nextra;
	char		**missing;	/* files whose data a hard-linked
					   candidate needed but were not kept */
	size_t		 nmissing;
	char		 top[NAME_MAX + 1];	/* the first top-level name */
	bool		 manytops;	/* another one was seen */
	const char	*cur;		/* inode the current entry writes to,
					   when a candidate shares it */
	int64_t		 cursize;	/* its stated size, or -1 */
	int64_t		 filesize;	/* the size the writer would allow
					   the current entry's data (-1: any) */
};

/*
 * One extraction (disk set) or scan (scan set): the writer, the set of
 * paths created, the counters.
 */
struct bx {
	const struct bundle_limits *lim;
	struct archive	*disk;
	struct bx_scan	*scan;
	struct bundle_entry *cur;	/* the entry admitted last, or NULL */
	bool		 secure;	/* SECURE_SYMLINKS is on */
	struct bx_slot	*tab;		/* open addressing, cap a power of 2 */
	size_t		 cap;
	struct bundle_entry *ents;	/* every path created, in order (owns
					   the strings) */
	size_t		 entcap;
	size_t		 used;		/* paths created, counted as entries */
	uint64_t	 declared;	/* sum of the entries' stated sizes */
	uint64_t	 written;	/* bytes actually read */
	bool		 symlinks;	/* the tree holds a symlink */
	char		*iobuf;		/* directory sources: read buffer */
	struct bx_src	 src;		/* tar and tar.gz sources */
	char		 norm[BUNDLE_PATH_MAX + 1];
	char		 last[BUNDLE_PATH_MAX + 1];	/* the last parent */
	size_t		 lastlen;	/* checked, or 0 */
	void		(*tick)(void *);	/* bundle_extract_cb() */
	void		*tick_arg;
	uint64_t	 tick_ns;	/* period */
	uint64_t	 tick_last;	/* CLOCK_MONOTONIC ns */
};

/* Call the progress callback when a period has passed since the last. */
static void
bx_tick(struct bx *bx)
{
	uint64_t	 now;

	if (bx->tick == NULL)
		return;
	now = mono_ns();
	if (now - bx->tick_last < bx->tick_ns)
		return;
	bx->tick_last = now;
	bx->tick(bx->tick_arg);
}

void
bundle_limits_default(struct bundle_limits *lim)
{
	lim->max_bytes = BUNDLE_BYTES_MAX;
	lim->max_entries = BUNDLE_ENTRIES_MAX;
}

/*
 * Detection
 */

/* A 512-byte block is a plausible tar header if its checksum matches. */
static bool
tar_header_plausible(const unsigned char *h)
{
	uint64_t	 want = 0;
	unsigned long	 usum = 0;
	long		 ssum = 0;
	size_t		 i;
	bool		 digits = false;

	if (h[0] == '\0')
		return false;
	for (i = 148; i < 156 && h[i] == ' '; i++)
		;
	for (; i < 156 && h[i] >= '0' && h[i] <= '7'; i++) {
		want = want * 8 + (uint64_t)(h[i] - '0');
		digits = true;
	}
	if (!digits || (i < 156 && h[i] != ' ' && h[i] != '\0'))
		return false;
	for (i = 0; i < 512; i++) {
		if (i >= 148 && i < 156) {
			usum += ' ';
			ssum += ' ';
		} else {
			usum += h[i];
			ssum += (signed char)h[i];
		}
	}
	return want == usum || (ssum >= 0 && want == (uint64_t)ssum);
}

int
bundle_detect(const char *path, enum bundle_format *ret_format,
    struct errbuf *eb)
{
	unsigned char	 h[512];
	struct stat	 st;
	size_t		 n = 0;
	ssize_t		 r;
	int		 fd = -1, ret = -1;
	enum bundle_format fmt;

	if (stat(path, &st) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return errbuf_errno(eb, EK_NOINPUT, "cannot open "
			    "bundle '%s'", path);
		return errbuf_errno(eb, EK_IO, "cannot open bundle '%s'",
		    path);
	}
	if (S_ISDIR(st.st_mode)) {
		*ret_format = BUNDLE_DIR;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return errbuf_set(eb, EK_DATA, "'%s' is not a bundle: %s",
		    path, BX_NOT_A_BUNDLE);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return errbuf_errno(eb, EK_IO, "cannot open bundle '%s'",
		    path);
	while (n < sizeof(h)) {
		r = read(fd, h + n, sizeof(h) - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			errbuf_errno(eb, EK_IO, "cannot read bundle '%s'",
			    path);
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
		fmt = BUNDLE_TGZ;
	else if (n >= 4 && h[0] == 'P' && h[1] == 'K' &&
	    ((h[2] == 3 && h[3] == 4) || (h[2] == 5 && h[3] == 6)))
		fmt = BUNDLE_ZIP;
	else if (n == 512 && (memcmp(h + 257, "ustar", 5) == 0 ||
	    tar_header_plausible(h)))
		fmt = BUNDLE_TAR;
	else {
		errbuf_set(eb, EK_DATA, "'%s' is not a bundle: %s", path,
		    BX_NOT_A_BUNDLE);
		goto out;
	}
	*ret_format = fmt;
	ret = 0;
 out:
	close(fd);
	return ret;
}

/*
 * Names and messages
 */

/* See bundle_int.h. */
int
bundle_reject(struct errbuf *eb, const char *name, const char *fmt, ...)
{
	char		 esc[BUNDLE_NAME_SHOW_MAX], why[512];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return errbuf_set(eb, EK_DATA, "entry '%s': %s",
	    quote_str(name, esc, sizeof(esc)), why);
}

/*
 * Why a name (entry path or link target) is unacceptable as text: too
 * long, a control character, or not UTF-8.  NULL when it is fine.
 */
static const char *
bx_name_problem(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char	 c, lo, hi;
	int		 more;

	if (strnlen(s, BUNDLE_PATH_MAX + 1) > BUNDLE_PATH_MAX)
		return "name is longer than the limit of "
		    "1024 bytes (BUNDLE_PATH_MAX)";
	while ((c = *p++) != '\0') {
		if (c < 0x20 || c == 0x7f)
			return "name contains a control character";
		if (c < 0x80)
			continue;
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			more = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			more = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			return "name is not valid UTF-8";
		for (; more > 0; more--, lo = 0x80, hi = 0xbf) {
			c = *p++;
			if (c < lo || c > hi)
				return "name is not valid UTF-8";
		}
	}
	return NULL;
}

/*
 * Normalise a relative path into out (BUNDLE_PATH_MAX + 1 bytes): empty
 * and "." components go; an absolute path, a ".." component or an
 * over-long component is refused.  The name must already have passed
 * bx_name_problem().  "" means the bundle's root.
 */
static const char *
bx_normalize(const char *name, char *out)
{
	const char	*p = name, *q;
	size_t		 olen = 0, clen;

	if (*name == '/')
		return "absolute path";
	while (*p != '\0') {
		q = strchrnul(p, '/');
		clen = (size_t)(q - p);
		if (clen == 2 && p[0] == '.' && p[1] == '.')
			return "path has a '..' component";
		if (clen > NAME_MAX)
			return "path component longer than 255 bytes";
		if (clen > 0 && !(clen == 1 && p[0] == '.')) {
			if (olen > 0)
				out[olen++] = '/';
			memcpy(out + olen, p, clen);
			olen += clen;
		}
		p = *q == '/' ? q + 1 : q;
	}
	out[olen] = '\0';
	return NULL;
}

/*
 * Whether a symlink at normalised 'path' pointing at 'target' stays in
 * the tree.  The target must be relative; its ".." components must all
 * come first, and there may be no more of them than directories above the
 * link.  A ".." after a named component is refused even when the text
 * alone stays inside: the named component may itself be a symlink (to the
 * root, say), and ".." from there climbs out.  With this rule, and with
 * no entry created through a symlink, every link resolves inside.
 */
static const char *
bx_symlink_problem(const char *path, const char *target)
{
	const char	*p = target, *q;
	size_t		 depth = 0, ups = 0, clen;
	bool		 named = false;

	for (q = path; *q != '\0'; q++)
		if (*q == '/')
			depth++;
	if (*target == '\0')
		return "symlink has an empty target";
	if (*target == '/')
		return "symlink target is an absolute path";
	while (*p != '\0') {
		q = strchrnul(p, '/');
		clen = (size_t)(q - p);
		if (clen == 2 && p[0] == '.' && p[1] == '.') {
			if (named)
				return "symlink target has '..' after a "
				    "named component";
			ups++;
		} else if (clen > NAME_MAX)
			return "symlink target component longer than "
			    "255 bytes";
		else if (clen > 0 && !(clen == 1 && p[0] == '.'))
			named = true;
		p = *q == '/' ? q + 1 : q;
	}
	if (ups > depth)
		return "symlink points outside the bundle";
	return NULL;
}

/*
 * The set of created paths
 */

static uint64_t
bx_hash(const char *s, size_t len)
{
	uint64_t	 h = 14695981039346656037ULL;	/* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The slot holding path[0..len), or the empty slot where it would go. */
static size_t
bx_slot(const struct bx *bx, const char *path, size_t len)
{
	size_t		 i;

	i = (size_t)bx_hash(path, len) & (bx->cap - 1);
	while (bx->tab[i].path != NULL) {
		if (strncmp(bx->tab[i].path, path, len) == 0 &&
		    bx->tab[i].path[len] == '\0')
			break;
		i = (i + 1) & (bx->cap - 1);
	}
	return i;
}

static void
bx_grow(struct bx *bx)
{
	struct bx_slot	*old = bx->tab;
	size_t		 oldcap = bx->cap, j;

	bx->cap = oldcap == 0 ? 1024 : oldcap * 2;
	bx->tab = xcalloc(bx->cap, sizeof(*bx->tab));
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].path == NULL)
			continue;
		j = bx_slot(bx, old[i].path, strlen(old[i].path));
		bx->tab[j] = old[i];
	}
	free(old);
}

static enum bx_type
bx_lookup(const struct bx *bx, const char *path, size_t len)
{
	return bx->tab[bx_slot(bx, path, len)].type;
}

/* The entry of a path already recorded. */
static struct bundle_entry *
bx_entry(const struct bx *bx, const char *path, size_t len)
{
	return &bx->ents[bx->tab[bx_slot(bx, path, len)].idx];
}

/*
 * Record a new path; counts as one entry against max_entries.  Sets
 * *ret_ent (may be NULL) to its bundle_entry, whose details (size, time,
 * target) the caller fills in.
 */
static int
bx_insert(struct bx *bx, const char *path, size_t len, enum bx_type type,
    const char *name, struct bundle_entry **ret_ent, struct errbuf *eb)
{
	static const char types[] = { '?', 'd', 'f', 'l' };
	struct bundle_entry *ent;
	size_t		 i;

	if (bx->used >= bx->lim->max_entries || bx->used >= UINT32_MAX)
		return bundle_reject(eb, name, "bundle has more than %llu "
		    "entries", (unsigned long long)bx->lim->max_entries);
	if ((bx->used + 1) * 2 > bx->cap)
		bx_grow(bx);
	if (bx->used == bx->entcap) {
		bx->entcap = bx->entcap == 0 ? 256 : bx->entcap * 2;
		bx->ents = xreallocarray(bx->ents, bx->entcap,
		    sizeof(*bx->ents));
	}
	ent = &bx->ents[bx->used];
	memset(ent, 0, sizeof(*ent));
	ent->path = xstrndup(path, len);
	ent->type = types[type];
	ent->size = -1;
	i = bx_slot(bx, path, len);
	bx->tab[i].path = ent->path;
	bx->tab[i].idx = (uint32_t)bx->used;
	bx->tab[i].type = type;
	bx->used++;
	if (ret_ent != NULL)
		*ret_ent = ent;
	return 0;
}

static void
bx_init(struct bx *bx, const struct bundle_limits *lim)
{
	memset(bx, 0, sizeof(*bx));
	bx->lim = lim;
	bx->src.fd = -1;
	bx_grow(bx);
}

static void
bx_release(struct bx *bx)
{
	for (size_t i = 0; i < bx->used && bx->ents != NULL; i++) {
		free(bx->ents[i].path);
		free(bx->ents[i].target);
		free(bx->ents[i].hardlink);
	}
	free(bx->ents);
	free(bx->tab);
	free(bx->iobuf);
	if (bx->disk != NULL)
		archive_write_free(bx->disk);
	/* Before the window goes. */
	(void)bx_hasher_stop(bx->src.hasher, &bx->src.md_eb);
	if (bx->src.map != NULL)
		(void)munmap(bx->src.map, bx->src.maplen);
	if (bx->src.fd != -1)
		close(bx->src.fd);
	free(bx->src.buf);
	if (bx->src.md != NULL) {
		digest_release(bx->src.md);
		free(bx->src.md);
	}
	memset(bx, 0, sizeof(*bx));
}

/*
 * Entry checks
 */

/* The entry's type, or -1 with eb set for a type bundles may not hold. */
static int
bx_entry_type(struct archive_entry *e, const char *name, enum bx_type *ret,
    struct errbuf *eb)
{
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		*ret = BX_FILE;
		return 0;
	case AE_IFDIR:
		*ret = BX_DIR;
		return 0;
	case AE_IFLNK:
		*ret = BX_SYMLINK;
		return 0;
	case AE_IFCHR:
		return bundle_reject(eb, name, "character devices are not "
		    "allowed in a bundle");
	case AE_IFBLK:
		return bundle_reject(eb, name, "block devices are not allowed "
		    "in a bundle");
	case AE_IFIFO:
		return bundle_reject(eb, name, "FIFOs are not allowed in a "
		    "bundle");
	case AE_IFSOCK:
		return bundle_reject(eb, name, "sockets are not allowed in a "
		    "bundle");
	default:
		return bundle_reject(eb, name, "unsupported entry type 0%o",
		    (unsigned int)archive_entry_filetype(e));
	}
}

/*
 * Every directory above 'path' must be a directory we created or will
 * create implicitly; one that is a symlink or a file refuses the entry.
 */
static int
bx_check_parents(struct bx *bx, const char *path, const char *name,
    struct errbuf *eb)
{
	const char	*q;
	size_t		 len;

	/*
	 * Entries come grouped by directory: when this one's parent is the
	 * last one's, every directory above it was checked (and a path
	 * recorded as a directory stays one: nothing is replaced).
	 */
	if ((q = strrchr(path, '/')) == NULL)
		return 0;
	len = (size_t)(q - path);
	if (len == bx->lastlen && memcmp(path, bx->last, len) == 0)
		return 0;
	for (q = strchr(path, '/'); q != NULL; q = strchr(q + 1, '/')) {
		len = (size_t)(q - path);
		switch (bx_lookup(bx, path, len)) {
		case BX_NONE:
			if (bx_insert(bx, path, len, BX_DIR, name, NULL,
			    eb) == -1)
				return -1;
			break;
		case BX_DIR:
			break;
		case BX_SYMLINK:
			return bundle_reject(eb, name, "path goes through the "
			    "symlink '%.*s'", (int)len, path);
		case BX_FILE:
			return bundle_reject(eb, name, "parent '%.*s' is not a "
			    "directory", (int)len, path);
		}
	}
	len = (size_t)(strrchr(path, '/') - path);
	memcpy(bx->last, path, len);
	bx->lastlen = len;
	return 0;
}

/*
 * A hard link must name a regular file this extraction already wrote;
 * tnorm (BUNDLE_PATH_MAX + 1 bytes) gets its normalised path.
 */
static int
bx_check_hardlink(struct bx *bx, struct archive_entry *e, const char *name,
    const char *target, char *tnorm, struct errbuf *eb)
{
	const char	*why;

	if ((why = bx_name_problem(target)) != NULL ||
	    (why = bx_normalize(target, tnorm)) != NULL)
		return bundle_reject(eb, name, "hard link target: %s", why);
	if (tnorm[0] == '\0' ||
	    bx_lookup(bx, tnorm, strlen(tnorm)) != BX_FILE)
		return bundle_reject(eb, name, "hard link target '%s' is not a "
		    "file earlier in the bundle", tnorm);
	archive_entry_copy_hardlink(e, tnorm);
	/* The link entry may rewrite the file's data and times. */
	bx_entry(bx, tnorm, strlen(tnorm))->size = -1;
	bx_entry(bx, tnorm, strlen(tnorm))->mtime_set = false;
	return 0;
}

/*
 * What the writer will make of a new entry, for the manifest: a regular
 * file's size (libarchive truncates or extends it to the stated size)
 * and modification time (ARCHIVE_EXTRACT_TIME), a symlink's target.
 * Whatever may turn out otherwise (hard links, which may rewrite their
 * file) stays unknown.
 */
static void
bx_describe(struct bundle_entry *ent, struct archive_entry *e,
    enum bx_type type, bool hardlink, const char *target)
{
	const struct stat *st;

	if (type == BX_SYMLINK)
		ent->target = xstrdup(target);
	if (type != BX_FILE || hardlink)
		return;
	if (archive_entry_size_is_set(e) && archive_entry_size(e) >= 0)
		ent->size = archive_entry_size(e);
	if ((st = archive_entry_stat(e)) != NULL) {
		ent->mtime = (int64_t)st->st_mtim.tv_sec;
		ent->mtime_nsec = st->st_mtim.tv_nsec;
		ent->mtime_set = true;
	}
}

/*
 * Decide whether entry 'e' (raw name 'name') may be written, and make it
 * safe: the path is normalised, set{u,g}id and sticky bits are cleared,
 * directories stay owner-writable.  Returns 1 to skip the entry (the
 * root itself), 0 to write it, -1 with eb set to refuse the bundle.
 */
static int
bx_admit(struct bx *bx, struct archive_entry *e, const char *name,
    struct errbuf *eb)
{
	struct bundle_entry *ent = NULL;
	const char	*why, *target, *hardlink;
	char		 tbuf[BUNDLE_PATH_MAX + 1], hbuf[BUNDLE_PATH_MAX + 1];
	enum bx_type	 type = BX_NONE, have;
	mode_t		 perm;
	size_t		 len;
	int64_t		 size;

	if ((why = bx_name_problem(name)) != NULL ||
	    (why = bx_normalize(name, bx->norm)) != NULL)
		return bundle_reject(eb, name, "%s", why);
	if (bx->norm[0] == '\0')
		return 1;
	if ((hardlink = archive_entry_hardlink(e)) == NULL)
		hardlink = archive_entry_hardlink_utf8(e);
	if (hardlink != NULL)
		type = BX_FILE;
	else if (bx_entry_type(e, name, &type, eb) == -1)
		return -1;
	if (type == BX_SYMLINK) {
		if ((target = archive_entry_symlink(e)) == NULL &&
		    (target = archive_entry_symlink_utf8(e)) == NULL)
			target = "";
		if ((why = bx_name_problem(target)) != NULL)
			return bundle_reject(eb, name, "symlink target: %s",
			    why);
		if ((why = bx_symlink_problem(bx->norm, target)) != NULL)
			return bundle_reject(eb, name, "%s", why);
		/* The writer reads the locale form: make it what we checked. */
		strlcpy(tbuf, target, sizeof(tbuf));
		archive_entry_copy_symlink(e, tbuf);
	}
	if (bx_check_parents(bx, bx->norm, name, eb) == -1)
		return -1;
	if (hardlink != NULL &&
	    bx_check_hardlink(bx, e, name, hardlink, hbuf, eb) == -1)
		return -1;
	len = strlen(bx->norm);
	have = bx_lookup(bx, bx->norm, len);
	if (have != BX_NONE && !(have == BX_DIR && type == BX_DIR))
		return bundle_reject(eb, name, "duplicate entry");
	if (have == BX_NONE &&
	    bx_insert(bx, bx->norm, len, type, name, &ent, eb) == -1)
		return -1;
	if (ent != NULL)
		bx_describe(ent, e, type, hardlink != NULL, tbuf);
	if (ent != NULL && hardlink != NULL)
		ent->hardlink = xstrdup(hbuf);
	bx->cur = ent;
	if (type == BX_SYMLINK)
		bx->symlinks = true;
	if (type == BX_FILE && archive_entry_size_is_set(e)) {
		size = archive_entry_size(e);
		if (size < 0 || (uint64_t)size > bx->lim->max_bytes ||
		    bx->declared > bx->lim->max_bytes - (uint64_t)size)
			return bundle_reject(eb, name, "bundle is larger than "
			    "the limit of %llu bytes",
			    (unsigned long long)bx->lim->max_bytes);
		bx->declared += (uint64_t)size;
	}
	perm = archive_entry_perm(e) & 0777;
	if (type == BX_DIR)
		perm |= 0700;
	archive_entry_set_perm(e, perm);
	archive_entry_copy_pathname(e, bx->norm);
	return 0;
}

/*
 * Writing
 */

/* eb from the disk writer's error: EK_IO for local trouble, else EK_DATA. */
static int
bx_disk_error(struct bx *bx, const char *name, struct errbuf *eb)
{
	char		 esc[BUNDLE_NAME_SHOW_MAX];
	const char	*msg;
	enum errkind	 kind = EK_DATA;

	switch (archive_errno(bx->disk)) {
	case EACCES:
	case EDQUOT:
	case EIO:
	case EMFILE:
	case ENFILE:
	case ENOMEM:
	case ENOSPC:
	case EPERM:
	case EROFS:
		kind = EK_IO;
		break;
	default:
		break;
	}
	if ((msg = archive_error_string(bx->disk)) == NULL)
		msg = "cannot write";
	/* libarchive says "Write failed"; the operator needs the why. */
	if (archive_errno(bx->disk) > 0 &&
	    strstr(msg, strerror(archive_errno(bx->disk))) == NULL)
		return errbuf_set(eb, kind, "entry '%s': %s: %s",
		    quote_str(name, esc, sizeof(esc)), msg,
		    strerror(archive_errno(bx->disk)));
	return errbuf_set(eb, kind, "entry '%s': %s",
	    quote_str(name, esc, sizeof(esc)), msg);
}

static void	bx_scan_begin(struct bx *, struct archive_entry *);
static int	bx_scan_data(struct bx_scan *, const void *, size_t,
		    int64_t, const char *, struct errbuf *);
static void	bx_scan_end(struct bx_scan *);

/* Write an admitted entry's header (a scan only takes note of it). */
static int
bx_header(struct bx *bx, struct archive_entry *e, const char *name,
    struct errbuf *eb)
{
	if (bx->scan != NULL) {
		bx_scan_begin(bx, e);
		return 0;
	}
	if (bx->symlinks && !bx->secure) {
		bx->secure = true;
		archive_write_disk_set_options(bx->disk, BX_DISK_FLAGS |
		    ARCHIVE_EXTRACT_SECURE_SYMLINKS);
	}
	if (archive_write_header(bx->disk, e) < ARCHIVE_WARN)
		return bx_disk_error(bx, name, eb);
	return 0;
}

/*
 * Write one block of the current entry.  The bytes count against
 * max_bytes as they come, so neither a header that understates a size
 * nor a decompression bomb gets past the limit.
 */
static int
bx_data(struct bx *bx, const void *buf, size_t len, int64_t off,
    const char *name, struct errbuf *eb)
{
	if (len > bx->lim->max_bytes - bx->written)
		return bundle_reject(eb, name, "bundle is larger than the "
		    "limit of %llu bytes once decompressed",
		    (unsigned long long)bx->lim->max_bytes);
	bx->written += len;
	if (bx->scan != NULL) {
		if (bx_scan_data(bx->scan, buf, len, off, name, eb) == -1)
			return -1;
	} else if (archive_write_data_block(bx->disk, buf, len, off) !=
	    ARCHIVE_OK)
		return bx_disk_error(bx, name, eb);
	bx_tick(bx);
	return 0;
}

static int
bx_finish(struct bx *bx, const char *name, struct errbuf *eb)
{
	if (bx->scan != NULL)
		bx_scan_end(bx->scan);
	else if (archive_write_finish_entry(bx->disk) < ARCHIVE_WARN)
		return bx_disk_error(bx, name, eb);
	bx_tick(bx);
	return 0;
}

/*
 * Scanning: what stands in for the writer.  The data of a file the
 * appspec could be is kept as the writer would leave it: blocks at their
 * offsets (holes are zeros), then cut or zero-extended to the stated
 * size.  A hard link shares its file's data, and one that carries data
 * rewrites it (archive_write_disk opens the file O_TRUNC), so candidates
 * are tied to their hard link group by its first path (the inode).
 */

/* Whether a file name is one bundle_find_appspec() looks for. */
static bool
bx_appspec_name(const char *base)
{
	for (size_t i = 0; i < nitems(bundle_appspec_names); i++)
		if (strcmp(base, bundle_appspec_names[i]) == 0)
			return true;
	return false;
}

/*
 * Whether the data of the file at normalised 'path' is kept: an appspec
 * name at the top level, or one level down while the bundle has a single
 * top-level entry (bundle_find_appspec looks nowhere else), or a path of
 * the second pass.
 */
static bool
bx_scan_wanted(const struct bx_scan *sc, const char *path)
{
	const char	*slash;

	for (size_t i = 0; i < sc->nextra; i++)
		if (strcmp(sc->extra[i], path) == 0)
			return true;
	if ((slash = strchr(path, '/')) == NULL)
		return bx_appspec_name(path);
	return !sc->manytops && strchr(slash + 1, '/') == NULL &&
	    bx_appspec_name(slash + 1);
}

/* The first path of a file's hard link group (links point earlier). */
static const char *
bx_inode(const struct bx *bx, const struct bundle_entry *ent)
{
	while (ent->hardlink != NULL)
		ent = bx_entry(bx, ent->hardlink, strlen(ent->hardlink));
	return ent->path;
}

/* Note the top-level name of path, to know whether there is only one. */
static void
bx_scan_top(struct bx_scan *sc, const char *path)
{
	size_t	 len = strcspn(path, "/");

	if (sc->manytops || len == 0 || len > NAME_MAX)
		return;
	if (sc->top[0] == '\0') {
		memcpy(sc->top, path, len);
		sc->top[len] = '\0';
	} else if (strncmp(sc->top, path, len) != 0 || sc->top[len] != '\0')
		sc->manytops = true;
}

/* A new candidate of the given inode; its data copied from a sibling. */
static void
bx_scan_add(struct bx_scan *sc, const char *path, const char *inode,
    bool writes)
{
	struct bundle_blob *b;
	size_t		 k;

	sc->v = xreallocarray(sc->v, sc->n + 1, sizeof(*sc->v));
	sc->inode = xreallocarray(sc->inode, sc->n + 1, sizeof(*sc->inode));
	sc->known = xreallocarray(sc->known, sc->n + 1, sizeof(*sc->known));
	b = &sc->v[sc->n];
	b->path = xstrdup(path);
	b->data = xmalloc(1);
	b->data[0] = '\0';
	b->len = 0;
	sc->inode[sc->n] = (char *)(uintptr_t)inode;
	sc->known[sc->n] = writes;
	for (k = 0; k < sc->n && !writes; k++) {
		if (!sc->known[k] || strcmp(sc->inode[k], inode) != 0)
			continue;
		free(b->data);
		b->data = xmalloc(sc->v[k].len + 1);
		memcpy(b->data, sc->v[k].data, sc->v[k].len + 1);
		b->len = sc->v[k].len;
		sc->known[sc->n] = true;
		break;
	}
	if (!sc->known[sc->n]) {
		sc->missing = xreallocarray(sc->missing, sc->nmissing + 1,
		    sizeof(*sc->missing));
		sc->missing[sc->nmissing++] = xstrdup(inode);
	}
	sc->n++;
}

/* The writer would create the entry bx->cur now. */
static void
bx_scan_begin(struct bx *bx, struct archive_entry *e)
{
	struct bx_scan	*sc = bx->scan;
	const struct bundle_entry *ent = bx->cur;
	const char	*inode;
	bool		 writes;

	sc->cur = NULL;
	sc->filesize = 0;
	if (ent == NULL)
		return;
	bx_scan_top(sc, ent->path);
	if (ent->type != 'f')
		return;
	sc->cursize = archive_entry_size_is_set(e) ?
	    archive_entry_size(e) : -1;
	/* A hard link without data leaves its file's alone. */
	writes = ent->hardlink == NULL || sc->cursize > 0;
	sc->filesize = writes ? sc->cursize : 0;
	inode = bx_inode(bx, ent);
	if (bx_scan_wanted(sc, ent->path))
		bx_scan_add(sc, ent->path, inode, writes);
	if (!writes)
		return;
	for (size_t k = 0; k < sc->n; k++) {
		if (strcmp(sc->inode[k], inode) != 0)
			continue;
		sc->v[k].len = 0;
		sc->v[k].data[0] = '\0';
		sc->known[k] = true;
		sc->cur = inode;
	}
}

/*
 * Put len bytes at off into every candidate sharing the current file.
 * What archive_write_disk refuses is refused with its words (see
 * write_data_block() in libarchive's archive_write_disk_posix.c): data
 * for an entry it made no file for or one of size 0, and data past the
 * stated size.  Returns 0, or -1 with eb set as bx_disk_error() would.
 */
static int
bx_scan_data(struct bx_scan *sc, const void *buf, size_t len, int64_t off,
    const char *name, struct errbuf *eb)
{
	struct bundle_blob *b;
	size_t		 o, n;

	/* An empty block (buf may be NULL) writes nothing. */
	if (len == 0)
		return 0;
	if (sc->filesize == 0)
		return bundle_reject(eb, name, "Attempt to write to an empty "
		    "file");
	if (sc->filesize > 0 && (off < 0 || off > sc->filesize ||
	    len > (uint64_t)(sc->filesize - off)))
		return bundle_reject(eb, name, "Too much data: Truncating "
		    "file at %ju bytes", (uintmax_t)sc->filesize);
	if (sc->cur == NULL || off < 0 || (uint64_t)off >= BX_BLOB_MAX)
		return 0;
	o = (size_t)off;
	n = len < BX_BLOB_MAX - o ? len : BX_BLOB_MAX - o;
	for (size_t k = 0; k < sc->n; k++) {
		if (strcmp(sc->inode[k], sc->cur) != 0)
			continue;
		b = &sc->v[k];
		if (o + n > b->len) {
			b->data = xreallocarray(b->data, o + n + 1, 1);
			memset(b->data + b->len, 0, o + n + 1 - b->len);
			b->len = o + n;
		}
		memcpy(b->data + o, buf, n);
	}
	return 0;
}

/* The file ends at its stated size (cut or zero-extended). */
static void
bx_scan_end(struct bx_scan *sc)
{
	struct bundle_blob *b;
	size_t		 size;

	if (sc->cur == NULL || sc->cursize < 0) {
		sc->cur = NULL;
		return;
	}
	size = (uint64_t)sc->cursize < BX_BLOB_MAX ? (size_t)sc->cursize :
	    BX_BLOB_MAX;
	for (size_t k = 0; k < sc->n; k++) {
		if (strcmp(sc->inode[k], sc->cur) != 0)
			continue;
		b = &sc->v[k];
		if (size > b->len) {
			b->data = xreallocarray(b->data, size + 1, 1);
			memset(b->data + b->len, 0, size - b->len);
		}
		b->len = size;
		b->data[size] = '\0';
	}
	sc->cur = NULL;
}

/*
 * Sources
 */

static void *
bx_hasher_main(void *arg)
{
	struct bx_hasher	*h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->busy && !h->quit)
			pthread_cond_wait(&h->cv, &h->mu);
		if (!h->busy)
			break;
		pthread_mutex_unlock(&h->mu);
		if (!h->failed &&
		    digest_update(h->md, h->buf, h->len, &h->eb) == -1)
			h->failed = true;
		pthread_mutex_lock(&h->mu);
		h->busy = false;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* Start hashing into md on a thread; NULL (hash inline) if none starts. */
static struct bx_hasher *
bx_hasher_start(struct digest *md)
{
	struct bx_hasher	*h;
	sigset_t		 all, old;
	int			 r;

	h = xcalloc(1, sizeof(*h));
	h->md = md;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&h->thread, NULL, bx_hasher_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->mu);
		free(h);
		return NULL;
	}
	return h;
}

/* Wait until the thread is done with the window it was given. */
static void
bx_hasher_wait(struct bx_hasher *h)
{
	pthread_mutex_lock(&h->mu);
	while (h->busy)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

/* Hand buf (kept unchanged until the next bx_hasher_wait) to the thread. */
static void
bx_hasher_post(struct bx_hasher *h, const void *buf, size_t len)
{
	pthread_mutex_lock(&h->mu);
	while (h->busy)
		pthread_cond_wait(&h->cv, &h->mu);
	h->buf = buf;
	h->len = len;
	h->busy = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/*
 * Let the thread finish and join it (NULL: nothing).  Returns whether
 * every update succeeded; the digest in md is then complete so far.
 * Otherwise *why says what failed.
 */
static bool
bx_hasher_stop(struct bx_hasher *h, struct errbuf *why)
{
	bool	 ok;

	if (h == NULL)
		return true;
	pthread_mutex_lock(&h->mu);
	h->quit = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	ok = !h->failed;
	if (!ok)
		*why = h->eb;
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
	return ok;
}

/*
 * The next piece of the bundle file into *ret_buf: a window mapped
 * from the page cache (no copy: the hash and the decoder read the cache
 * itself), or, where mmap fails or past the size the file had when it
 * was opened, a block read(2) into s->buf.  The previous window is
 * unmapped: libarchive is done with a block when it asks for the next.
 * Returns its length, 0 at the end, -1 with s->err set.
 */
static ssize_t
bx_src_next(struct bx_src *s, const void **ret_buf)
{
	size_t		 len;
	ssize_t		 r;
	void		*m;

	if (s->map != NULL) {
		(void)munmap(s->map, s->maplen);
		s->map = NULL;
	}
	if (s->mapping && s->off < s->size) {
		len = s->size - s->off < BUNDLE_MAP_WINDOW ?
		    (size_t)(s->size - s->off) : BUNDLE_MAP_WINDOW;
		m = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE,
		    s->fd, (off_t)s->off);
		if (m != MAP_FAILED) {
			s->map = m;
			s->maplen = len;
			s->off += len;
			*ret_buf = m;
			return (ssize_t)len;
		}
	}
	if (s->mapping) {
		/* Read on from where the windows stopped. */
		s->mapping = false;
		if (lseek(s->fd, (off_t)s->off, SEEK_SET) == -1) {
			s->err = errno;
			return -1;
		}
	}
	do
		r = read(s->fd, s->buf, BUNDLE_READ_BLOCK);
	while (r == -1 && errno == EINTR);
	if (r == -1) {
		s->err = errno;
		return -1;
	}
	*ret_buf = s->buf;
	return r;
}

/*
 * libarchive's read callback for tar and tar.gz: the next piece of the
 * file, hashed on the way.  A failure is kept in the source (libarchive
 * then fails with no message of its own) and reported by bx_src_error().
 */
static la_ssize_t
bx_src_read(struct archive *a, void *arg, const void **ret_buf)
{
	struct bx_src	*s = arg;
	const void	*p = NULL;
	ssize_t		 r;

	/* The thread may still be hashing the window about to go. */
	if (s->hasher != NULL)
		bx_hasher_wait(s->hasher);
	if ((r = bx_src_next(s, &p)) == -1)
		return -1;
	if (r > 0 && s->hasher != NULL)
		bx_hasher_post(s->hasher, p, (size_t)r);
	else if (r > 0 && s->md != NULL &&
	    digest_update(s->md, p, (size_t)r, &s->md_eb) == -1) {
		s->md_failed = true;
		return -1;
	}
	*ret_buf = p;
	return r;
}

/* eb for a failure of our read callback, or 0 when there was none. */
static int
bx_src_error(const struct bx_src *s, const char *path, struct errbuf *eb)
{
	if (s->err != 0)
		return errbuf_errnum(eb, EK_IO, s->err, "cannot read bundle "
		    "'%s'", path);
	if (s->md_failed) {
		*eb = s->md_eb;
		return errbuf_prefix(eb, "cannot hash bundle '%s': ", path);
	}
	return 0;
}

/*
 * Hash what libarchive did not read of the bundle (the padding after the
 * end-of-archive blocks, anything after the gzip stream) and finish the
 * digest into hex.  Returns 0, or -1 with eb set.
 */
static int
bx_src_finish(struct bx_src *s, const char *path, char hex[65],
    struct errbuf *eb)
{
	ssize_t		 r;

	const void	*p = NULL;

	if (!bx_hasher_stop(s->hasher, &s->md_eb))
		s->md_failed = true;
	s->hasher = NULL;
	if (bx_src_error(s, path, eb) == -1)
		return -1;
	while ((r = bx_src_next(s, &p)) != 0) {
		if (r == -1)
			return errbuf_errnum(eb, EK_IO, s->err, "cannot read "
			    "bundle '%s'", path);
		if (digest_update(s->md, p, (size_t)r, eb) == -1)
			return errbuf_prefix(eb, "cannot hash bundle '%s': ",
			    path);
	}
	if (digest_final_hex(s->md, hex, eb) == -1)
		return errbuf_prefix(eb, "cannot hash bundle '%s': ", path);
	return 0;
}

/*
 * Open an archive bundle for reading; call before leaving the cwd.  A
 * tar or tar.gz is read through bx_src_read(), hashing when 'hash'; a
 * zip through libarchive's own seekable reader (its central directory
 * comes first, so it is hashed in a pass of its own).
 */
static struct archive *
bx_open_archive(struct bx *bx, const char *path, enum bundle_format fmt,
    bool hash, struct errbuf *eb)
{
	struct bx_src	*s = &bx->src;
	struct archive	*rd;
	const char	*msg;
	int		 r;

	if (fmt != BUNDLE_ZIP) {
		struct stat	 st;

		if ((s->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) ==
		    -1) {
			errbuf_errno(eb, errno == ENOENT ? EK_NOINPUT : EK_IO,
			    "cannot open bundle '%s'", path);
			return NULL;
		}
		s->buf = xmalloc(BUNDLE_READ_BLOCK);
		if (fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_size > 0) {
			s->mapping = true;
			s->size = (uint64_t)st.st_size;
		}
		if (hash) {
			s->md = xcalloc(1, sizeof(*s->md));
			digest_init(s->md);
			if (digest_start(s->md, eb) == -1) {
				errbuf_prefix(eb, "cannot hash bundle '%s': ",
				    path);
				return NULL;
			}
		}
		/* A bundle of more than one window: hash on the side. */
		if (hash && s->mapping && s->size > BUNDLE_MAP_WINDOW)
			s->hasher = bx_hasher_start(s->md);
	}
	if ((rd = archive_read_new()) == NULL) {
		errbuf_set(eb, EK_OS, "cannot allocate an archive reader");
		return NULL;
	}
	if (fmt == BUNDLE_ZIP)
		archive_read_support_format_zip_seekable(rd);
	else
		archive_read_support_format_tar(rd);
	if (fmt == BUNDLE_TGZ)
		archive_read_support_filter_gzip(rd);
	/*
	 * No skip callback: libarchive then reads what it skips, so every
	 * byte of the file passes bx_src_read() once, in order.
	 */
	if (fmt == BUNDLE_ZIP)
		r = archive_read_open_filename(rd, path, BUNDLE_READ_BLOCK);
	else
		r = archive_read_open(rd, s, NULL, bx_src_read, NULL);
	if (r != ARCHIVE_OK) {
		if (bx_src_error(s, path, eb) == 0) {
			if ((msg = archive_error_string(rd)) == NULL)
				msg = "unknown error";
			errbuf_set(eb, EK_DATA, "cannot read bundle '%s': %s",
			    path, msg);
		}
		archive_read_free(rd);
		return NULL;
	}
	return rd;
}

/* eb for libarchive's reading error: ours if the file failed, else its. */
static int
bx_read_error(struct bx *bx, struct archive *rd, const char *path,
    const char *name, const char *last, struct errbuf *eb)
{
	const char	*msg;

	if (bx_src_error(&bx->src, path, eb) == -1)
		return -1;
	if ((msg = archive_error_string(rd)) == NULL)
		msg = "unknown error";
	if (name != NULL)
		return bundle_reject(eb, name, "%s", msg);
	return errbuf_set(eb, EK_DATA, "corrupt bundle '%s'%s%s%s: %s", path,
	    last[0] != '\0' ? " after entry '" : "", last,
	    last[0] != '\0' ? "'" : "", msg);
}

/* Extract every entry of an opened archive. */
static int
bx_run_archive(struct bx *bx, struct archive *rd, const char *path,
    struct errbuf *eb)
{
	struct archive_entry *e;
	const void	*buf;
	const char	*name;
	char		 last[BUNDLE_NAME_SHOW_MAX] = "";
	size_t		 len;
	int64_t		 off;
	int		 r;

	for (;;) {
		r = archive_read_next_header(rd, &e);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return bx_read_error(bx, rd, path, NULL, last, eb);
		/*
		 * A zip entry flagged UTF-8 has no name in the C locale's
		 * charset; its UTF-8 form is what we check and write.
		 */
		if ((name = archive_entry_pathname(e)) == NULL &&
		    (name = archive_entry_pathname_utf8(e)) == NULL)
			return errbuf_set(eb, EK_DATA, "corrupt bundle '%s': "
			    "an entry after '%s' has no usable name", path,
			    last[0] != '\0' ? last : "(none)");
		quote_str(name, last, sizeof(last));
		if ((r = bx_admit(bx, e, name, eb)) == -1)
			return -1;
		if (r == 1) {
			if (archive_read_data_skip(rd) < ARCHIVE_WARN)
				return bx_read_error(bx, rd, path, name, last,
				    eb);
			continue;
		}
		if (bx_header(bx, e, name, eb) == -1)
			return -1;
		while (archive_entry_filetype(e) == AE_IFREG ||
		    archive_entry_hardlink(e) != NULL) {
			r = archive_read_data_block(rd, &buf, &len, &off);
			if (r == ARCHIVE_EOF)
				break;
			if (r < ARCHIVE_WARN)
				return bx_read_error(bx, rd, path, name, last,
				    eb);
			if (bx_data(bx, buf, len, off, name, eb) == -1)
				return -1;
		}
		if (bx_finish(bx, name, eb) == -1)
			return -1;
	}
}

/* Copy one regular file's bytes from fd into the current entry. */
static int
bx_copy_fd(struct bx *bx, int fd, const char *name, struct errbuf *eb)
{
	int64_t		 off = 0;
	ssize_t		 r;

	if (bx->iobuf == NULL)
		bx->iobuf = xmalloc(BUNDLE_READ_BLOCK);
	for (;;) {
		r = read(fd, bx->iobuf, BUNDLE_READ_BLOCK);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return errbuf_errno(eb, EK_IO, "cannot read '%s'",
			    name);
		if (r == 0)
			return 0;
		if (bx_data(bx, bx->iobuf, (size_t)r, off, name, eb) == -1)
			return -1;
		off += r;
	}
}

static int	bx_run_dir(struct bx *, int, char *, size_t, int,
		    struct errbuf *);

/* Copy one entry 'dname' of the directory sfd; rel holds its path. */
static int
bx_copy_one(struct bx *bx, int sfd, const char *dname, char *rel,
    size_t rlen, int depth, struct errbuf *eb)
{
	struct archive_entry *e;
	struct stat	 st;
	char		 target[BUNDLE_PATH_MAX + 1];
	ssize_t		 n;
	int		 fd = -1, ret = -1, r;

	e = archive_entry_new();
	if (fstatat(sfd, dname, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		errbuf_errno(eb, EK_IO, "cannot stat '%s'", rel);
		goto out;
	}
	archive_entry_copy_stat(e, &st);
	archive_entry_set_nlink(e, 1);
	if (S_ISLNK(st.st_mode)) {
		n = readlinkat(sfd, dname, target, sizeof(target));
		if (n == -1) {
			errbuf_errno(eb, EK_IO, "cannot read link '%s'", rel);
			goto out;
		}
		if ((size_t)n >= sizeof(target)) {
			bundle_reject(eb, rel, "symlink target is longer than "
			    "%d bytes", BUNDLE_PATH_MAX);
			goto out;
		}
		target[n] = '\0';
		archive_entry_copy_symlink(e, target);
	}
	if ((r = bx_admit(bx, e, rel, eb)) != 0) {
		ret = r == 1 ? 0 : -1;
		goto out;
	}
	if (S_ISREG(st.st_mode) && (fd = openat(sfd, dname, O_RDONLY |
	    O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) == -1) {
		errbuf_errno(eb, EK_IO, "cannot open '%s'", rel);
		goto out;
	}
	if (S_ISDIR(st.st_mode) && (fd = openat(sfd, dname, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		errbuf_errno(eb, EK_IO, "cannot open directory '%s'", rel);
		goto out;
	}
	if (bx_header(bx, e, rel, eb) == -1)
		goto out;
	if (S_ISREG(st.st_mode) && bx_copy_fd(bx, fd, rel, eb) == -1)
		goto out;
	if (bx_finish(bx, rel, eb) == -1)
		goto out;
	if (S_ISDIR(st.st_mode) &&
	    bx_run_dir(bx, fd, rel, rlen, depth + 1, eb) == -1)
		goto out;
	ret = 0;
 out:
	if (fd != -1)
		close(fd);
	archive_entry_free(e);
	return ret;
}

/*
 * Copy the directory sfd (borrowed), whose path in the bundle is
 * rel[0..rlen), into the tree.  Nothing is followed: sources are opened
 * with openat(O_NOFOLLOW) and symlinks are copied as symlinks.
 */
static int
bx_run_dir(struct bx *bx, int sfd, char *rel, size_t rlen, int depth,
    struct errbuf *eb)
{
	struct dirent	*de;
	DIR		*d = NULL;
	size_t		 nlen, clen;
	int		 dfd, ret = -1;

	if (depth > BUNDLE_PATH_MAX / 2) {
		bundle_reject(eb, rel, "directories nested too deep");
		goto out;
	}
	if ((dfd = fcntl(sfd, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    (d = fdopendir(dfd)) == NULL) {
		errbuf_errno(eb, EK_IO, "cannot read directory '%s'",
		    rlen > 0 ? rel : ".");
		if (dfd != -1)
			close(dfd);
		goto out;
	}
	rewinddir(d);	/* the dup shares the caller's offset */
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				errbuf_errno(eb, EK_IO, "cannot read "
				    "directory '%s'", rlen > 0 ? rel : ".");
				goto out;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		nlen = strlen(de->d_name);
		clen = rlen + (rlen > 0) + nlen;
		if (clen > BUNDLE_PATH_MAX) {
			bundle_reject(eb, de->d_name, "path is longer than the "
			    "limit of %d bytes", BUNDLE_PATH_MAX);
			goto out;
		}
		if (rlen > 0)
			rel[rlen] = '/';
		memcpy(rel + rlen + (rlen > 0), de->d_name, nlen + 1);
		if (bx_copy_one(bx, sfd, de->d_name, rel, clen, depth,
		    eb) == -1)
			goto out;
		rel[rlen] = '\0';
	}
	ret = 0;
 out:
	if (d != NULL)
		closedir(d);
	return ret;
}

/*
 * Cleanup
 */

/* 1 when directory fd has entries, 0 when it is empty, -1 on error. */
static int
dir_has_entries(int fd)
{
	struct dirent	*de;
	DIR		*d;
	int		 dfd, ret = 0;

	if ((dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1)
		return -1;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	rewinddir(d);	/* the dup shares the caller's offset */
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			ret = 1;
			break;
		}
	}
	closedir(d);
	return ret;
}

void
bundle_tree_init(struct bundle_tree *t)
{
	memset(t, 0, sizeof(*t));
}

void
bundle_tree_release(struct bundle_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].path);
		free(t->v[i].target);
		free(t->v[i].hardlink);
	}
	free(t->v);
	bundle_tree_init(t);
}

/* eb for a bundle whose digest is not the expected one; returns -1. */
static int
bx_mismatch(const char *path, const char *got, const char *want,
    struct errbuf *eb)
{
	return errbuf_set(eb, EK_DATA, "bundle '%s' has sha256 %s, expected "
	    "%s", path, got, want);
}

/*
 * Read names in UTF-8 (see bundle_extract_ex); returns the locale to
 * free with bx_utf8_end(), or 0 when there is none.
 */
static locale_t
bx_utf8_begin(locale_t *ret_saved)
{
	locale_t	 utf8;

	if ((utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0)) !=
	    (locale_t)0)
		*ret_saved = uselocale(utf8);
	return utf8;
}

static void
bx_utf8_end(locale_t utf8, locale_t saved)
{
	if (utf8 != (locale_t)0) {
		uselocale(saved);
		freelocale(utf8);
	}
}

/*
 * Open the bundle 'path' of format fmt for bx_run(): a zip's layout is
 * checked first, a directory is opened into *ret_sfd, an archive into
 * *ret_rd (hashed on the way with 'hash', see bx_open_archive).
 */
static int
bx_open_source(struct bx *bx, const char *path, enum bundle_format fmt,
    bool hash, struct archive **ret_rd, int *ret_sfd, struct errbuf *eb)
{
	int	 sfd;

	if (fmt == BUNDLE_ZIP &&
	    bundle_zip_check(path, bx->lim->max_entries, eb) == -1)
		return -1;
	if (fmt == BUNDLE_DIR) {
		sfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sfd == -1)
			return errbuf_errno(eb, EK_IO, "cannot open '%s'",
			    path);
		*ret_sfd = sfd;
		return 0;
	}
	if ((*ret_rd = bx_open_archive(bx, path, fmt, hash, eb)) == NULL)
		return -1;
	return 0;
}

/* Admit (and write, or scan) every entry of an opened source. */
static int
bx_run(struct bx *bx, enum bundle_format fmt, struct archive *rd, int sfd,
    const char *path, struct errbuf *eb)
{
	char	 rel[BUNDLE_PATH_MAX + 1];

	rel[0] = '\0';
	if (fmt == BUNDLE_DIR)
		return bx_run_dir(bx, sfd, rel, 0, 0, eb);
	return bx_run_archive(bx, rd, path, eb);
}

/*
 * Extract (or copy) the bundle: see bundle.h.  The source is opened
 * before the cwd moves into destdir, so a relative 'path' works; the
 * writer is freed while still there, because libarchive applies deferred
 * directory modes and times by relative name when it closes.
 */
int
bundle_extract(const char *path, const char *destdir,
    const struct bundle_limits *limits, struct errbuf *eb)
{
	return bundle_extract_cb(path, destdir, limits, NULL, NULL, 0, eb);
}

int
bundle_extract_cb(const char *path, const char *destdir,
    const struct bundle_limits *limits, void (*tick)(void *), void *arg,
    unsigned tick_msec, struct errbuf *eb)
{
	struct bundle_opts	 o;

	memset(&o, 0, sizeof(o));
	o.limits = limits;
	o.tick = tick;
	o.tick_arg = arg;
	o.tick_msec = tick_msec;
	return bundle_extract_ex(path, destdir, &o, NULL, NULL, eb);
}

int
bundle_extract_ex(const char *path, const char *destdir,
    const struct bundle_opts *o, char ret_sha256[65],
    struct bundle_tree *ret_tree, struct errbuf *eb)
{
	struct bundle_limits lim;
	struct archive	*rd = NULL;
	struct bx	 bx;
	enum bundle_format fmt = BUNDLE_DIR;	/* set by bundle_detect() */
	char		 hex[65] = "";
	const char	*msg;
	locale_t	 utf8, saved = (locale_t)0;
	int		 dfd = -1, sfd = -1, cwd = -1, ret = -1, r;
	bool		 inside = false, hash, streamed;

	/*
	 * Names are UTF-8.  In the C locale (a daemon's usual one)
	 * libarchive cannot convert a zip's UTF-8 names and returns none,
	 * so read with a UTF-8 LC_CTYPE for this thread only.
	 */
	utf8 = bx_utf8_begin(&saved);
	if (o->limits != NULL)
		lim = *o->limits;
	else
		bundle_limits_default(&lim);
	bx_init(&bx, &lim);
	bx.tick = o->tick;
	bx.tick_arg = o->tick_arg;
	bx.tick_ns = (uint64_t)(o->tick_msec != 0 ? o->tick_msec :
	    HOOK_TICK_MSEC) * 1000000ULL;
	bx.tick_last = mono_ns();
	hash = o->sha256 != NULL || ret_sha256 != NULL;
	if (bundle_detect(path, &fmt, eb) == -1)
		goto out;
	streamed = hash && (fmt == BUNDLE_TAR || fmt == BUNDLE_TGZ);
	if (fmt == BUNDLE_DIR && o->sha256 != NULL) {
		errbuf_set(eb, EK_DATA, "bundle '%s' is a directory; it has no "
		    "sha256 to verify", path);
		goto out;
	}
	if ((dfd = open(destdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		errbuf_errno(eb, EK_IO, "cannot open '%s'", destdir);
		goto out;
	}
	if ((r = dir_has_entries(dfd)) != 0) {
		if (r == -1)
			errbuf_errno(eb, EK_IO, "cannot read '%s'", destdir);
		else
			errbuf_set(eb, EK_IO, "cannot extract into '%s': "
			    "it is not empty", destdir);
		goto out;
	}
	if (fmt == BUNDLE_ZIP && hash) {
		/* A zip is read by seeking: hash it first, on its own. */
		if (digest_sha256_file(path, hex, eb) == -1)
			goto out;
		if (o->sha256 != NULL && strcasecmp(o->sha256, hex) != 0) {
			bx_mismatch(path, hex, o->sha256, eb);
			goto out;
		}
	}
	if (bx_open_source(&bx, path, fmt, streamed, &rd, &sfd, eb) == -1)
		goto out;
	if ((bx.disk = archive_write_disk_new()) == NULL) {
		errbuf_set(eb, EK_OS, "cannot allocate an archive writer");
		goto out;
	}
	archive_write_disk_set_options(bx.disk, BX_DISK_FLAGS);
	if ((cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		errbuf_errno(eb, EK_OS, "cannot open the working directory");
		goto out;
	}
	if (fchdir(dfd) == -1) {
		errbuf_errno(eb, EK_IO, "cannot enter '%s'", destdir);
		goto out;
	}
	inside = true;
	r = bx_run(&bx, fmt, rd, sfd, path, eb);
	if (r == 0 && archive_write_close(bx.disk) != ARCHIVE_OK) {
		if ((msg = archive_error_string(bx.disk)) == NULL)
			msg = "unknown error";
		r = errbuf_set(eb, EK_IO, "cannot finish '%s': %s", destdir,
		    msg);
	}
	if (r == -1) {
		/*
		 * A bundle that is not the one expected is reported as such,
		 * rather than by what its contents made go wrong.
		 */
		if (streamed && o->sha256 != NULL && bx.src.err == 0 &&
		    !bx.src.md_failed) {
			struct errbuf	 eb2;

			if (bx_src_finish(&bx.src, path, hex, &eb2) == 0 &&
			    strcasecmp(o->sha256, hex) != 0)
				bx_mismatch(path, hex, o->sha256, eb);
		}
		goto out;
	}
	/* Verified before the caller can use a single file of the tree. */
	if (streamed && bx_src_finish(&bx.src, path, hex, eb) == -1)
		goto out;
	if (o->sha256 != NULL && strcasecmp(o->sha256, hex) != 0) {
		bx_mismatch(path, hex, o->sha256, eb);
		goto out;
	}
	ret = 0;
 out:
	if (bx.disk != NULL) {
		archive_write_free(bx.disk);
		bx.disk = NULL;
	}
	if (inside && fchdir(cwd) == -1 && ret == 0)
		ret = errbuf_errno(eb, EK_OS, "cannot return to the working "
		    "directory");
	if (ret == -1 && inside) {
		struct errbuf	 ceb;

		if (fs_empty_dirfd(dfd, destdir, &ceb) == -1)
			errbuf_prefix(eb, "'%s' could not be emptied after: ",
			    destdir);
	}
	if (ret == 0 && ret_sha256 != NULL)
		memcpy(ret_sha256, hex, sizeof(hex));
	if (ret == 0 && ret_tree != NULL) {
		ret_tree->v = bx.ents;
		ret_tree->n = bx.used;
		bx.ents = NULL;
	}
	if (rd != NULL)
		archive_read_free(rd);
	if (sfd != -1)
		close(sfd);
	if (cwd != -1)
		close(cwd);
	if (dfd != -1)
		close(dfd);
	bx_release(&bx);
	bx_utf8_end(utf8, saved);
	return ret;
}

/*
 * Scanning
 */

static void
bx_scan_release(struct bx_scan *sc)
{
	for (size_t i = 0; i < sc->n; i++) {
		free(sc->v[i].path);
		free(sc->v[i].data);
	}
	free(sc->v);
	free(sc->inode);
	free(sc->known);
	for (size_t i = 0; i < sc->nmissing; i++)
		free(sc->missing[i]);
	free(sc->missing);
	memset(sc, 0, sizeof(*sc));
}

/*
 * One pass over the bundle with bx (initialised): every entry admitted
 * as the extraction admits it, the candidates' data kept (and the data
 * of the paths in extra).
 */
static int
bx_scan_pass(const char *path, enum bundle_format fmt, char **extra,
    size_t nextra, struct bx *bx, struct bx_scan *sc, struct errbuf *eb)
{
	struct archive	*rd = NULL;
	int		 sfd = -1, ret;

	memset(sc, 0, sizeof(*sc));
	sc->extra = extra;
	sc->nextra = nextra;
	bx->scan = sc;
	ret = bx_open_source(bx, path, fmt, false, &rd, &sfd, eb);
	if (ret == 0)
		ret = bx_run(bx, fmt, rd, sfd, path, eb);
	if (rd != NULL)
		archive_read_free(rd);
	if (sfd != -1)
		close(sfd);
	return ret;
}

int
bundle_scan(const char *path, const struct bundle_limits *limits,
    struct bundle_listing *ret, struct errbuf *eb)
{
	struct bundle_limits lim;
	struct bx	 bx;
	struct bx_scan	 sc, sc2;
	enum bundle_format fmt;
	locale_t	 utf8, saved = (locale_t)0;
	int		 r;

	/* The same locale as the extraction: the names must read alike. */
	utf8 = bx_utf8_begin(&saved);
	if (limits != NULL)
		lim = *limits;
	else
		bundle_limits_default(&lim);
	memset(&sc, 0, sizeof(sc));
	memset(&sc2, 0, sizeof(sc2));
	bx_init(&bx, &lim);
	if ((r = bundle_detect(path, &fmt, eb)) == -1)
		goto out;
	r = bx_scan_pass(path, fmt, NULL, 0, &bx, &sc, eb);
	if (r == 0 && sc.nmissing > 0) {
		/*
		 * A candidate is a hard link to a file whose data was not
		 * kept: read the bundle again, keeping those files too.
		 */
		bx_release(&bx);
		bx_init(&bx, &lim);
		r = bx_scan_pass(path, fmt, sc.missing, sc.nmissing, &bx,
		    &sc2, eb);
		if (r == 0 && sc2.nmissing > 0)
			r = errbuf_set(eb, EK_BUG, "bundle '%s': the data of "
			    "'%s' was not found", path, sc2.missing[0]);
		if (r == 0) {
			sc2.extra = NULL;
			sc2.nextra = 0;
			bx_scan_release(&sc);
			sc = sc2;
			memset(&sc2, 0, sizeof(sc2));
		}
	}
	if (r == 0) {
		ret->tree.v = bx.ents;
		ret->tree.n = bx.used;
		bx.ents = NULL;
		bx.used = 0;
		ret->blobs = sc.v;
		ret->nblobs = sc.n;
		sc.v = NULL;
		sc.n = 0;
		bundle_listing_index(ret);
	}
 out:
	/* sc's inode pointers are bx's strings: release sc first. */
	bx_scan_release(&sc2);
	bx_scan_release(&sc);
	bx_release(&bx);
	bx_utf8_end(utf8, saved);
	return r;
}
