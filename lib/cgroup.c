/* SPDX-License-Identifier: ISC */
/*
 * cgroup.c: one cgroup per hook under a base the daemon chose (see
 * cgroup.h).  Everything is done with *at() calls on a directory fd of
 * the base, so the base's path is resolved once.  cgroup.procs is read
 * in chunks and parsed as it comes, so a cgroup of any size costs one
 * small buffer.  v1 and v2 differ only in: where the pids controller is
 * switched on (v2: subtree_control; v1: always there), cgroup.kill (v2,
 * Linux 5.14+) and pids.peak (v2, Linux 6.1+).
 */
#include "compat.h"

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/xattr.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "cgroup.h"
#include "errbuf.h"
#include "log.h"
#include "proc.h"
#include "xalloc.h"

#include "banned.h"

#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC	0x27e0eb
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC	0x63677270
#endif

#define CG_SUPERVISOR	"supervisor"
#define CG_PREFIX	"hook-"

static struct {
	int		 basefd;	/* O_DIRECTORY; -1: disabled */
	int		 version;	/* 1 or 2 */
	unsigned	 max_procs;
	unsigned long	 seq;
	char		 desc[PATH_MAX + 64];
} cg = { .basefd = -1 };

/* Read a small control file into buf (NUL-ended).  0 or -1 (errno). */
static int
cg_read_small(int dfd, const char *name, char *buf, size_t len)
{
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	saved = errno;
	close(fd);
	if (n == -1) {
		errno = saved;
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

/* Write s to a control file.  0 or -1 (errno). */
static int
cg_write(int dfd, const char *name, const char *s)
{
	size_t	 len = strlen(s);
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = openat(dfd, name, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, s, len);
	saved = errno;
	close(fd);
	if (n == -1) {
		errno = saved;
		return -1;
	}
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/* Whether the space-separated list holds word. */
static bool
cg_has_word(const char *list, const char *word)
{
	size_t	 wl = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[wl] == '\0' ||
		    p[wl] == ' ' || p[wl] == '\n'))
			return true;
		p += wl;
	}
	return false;
}

/*
 * hookd's own cgroup v2 directory, from /proc/self/cgroup ("0::/PATH")
 * and the cgroup2 mount in /proc/self/mountinfo.  New string, or NULL
 * with eb set (EK_UNAVAIL).
 */
static char *
cg_own_v2(struct errbuf *eb)
{
	char	*line = NULL, *cgpath = NULL, *mnt = NULL, *ret = NULL;
	char	*f[24], *p, *save;
	size_t	 cap = 0, rl;
	FILE	*fp;
	int	 nf;

	if ((fp = fopen("/proc/self/cgroup", "re")) == NULL) {
		errbuf_errno(eb, EK_UNAVAIL, "cannot read /proc/self/cgroup");
		goto out;
	}
	while (getline(&line, &cap, fp) != -1)
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			cgpath = xstrdup(line + 3);
			break;
		}
	fclose(fp);
	if (cgpath == NULL) {
		errbuf_set(eb, EK_UNAVAIL, "hookd is in no cgroup v2 "
		    "hierarchy");
		goto out;
	}
	if ((fp = fopen("/proc/self/mountinfo", "re")) == NULL) {
		errbuf_errno(eb, EK_UNAVAIL, "cannot read "
		    "/proc/self/mountinfo");
		goto out;
	}
	/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE ... */
	while (mnt == NULL && getline(&line, &cap, fp) != -1) {
		nf = 0;
		for (p = strtok_r(line, " \n", &save); p != NULL &&
		    nf < (int)nitems(f); p = strtok_r(NULL, " \n", &save))
			f[nf++] = p;
		for (int i = 6; i + 1 < nf; i++)
			if (strcmp(f[i], "-") == 0 &&
			    strcmp(f[i + 1], "cgroup2") == 0) {
				rl = strlen(f[3]);
				if (strcmp(f[3], "/") == 0)
					rl = 0;
				else if (strncmp(cgpath, f[3], rl) != 0 ||
				    (cgpath[rl] != '/' && cgpath[rl] != '\0'))
					break;	/* another subtree */
				/* "0::/" is the mount point itself. */
				mnt = xasprintf("%s%s", f[4],
				    strcmp(cgpath + rl, "/") == 0 ? "" :
				    cgpath + rl);
				break;
			}
	}
	fclose(fp);
	if (mnt == NULL) {
		errbuf_set(eb, EK_UNAVAIL, "no cgroup2 file system mounted "
		    "for hookd's cgroup '%s'", cgpath);
		goto out;
	}
	ret = mnt;
	mnt = NULL;
 out:
	free(line);
	free(cgpath);
	free(mnt);
	return ret;
}

/* Whether systemd marked dir as delegated. */
static bool
cg_delegated(const char *dir)
{
	char	 v[8];
	ssize_t	 n;

	n = getxattr(dir, "trusted.delegate", v, sizeof(v));
	if (n <= 0)
		n = getxattr(dir, "user.delegate", v, sizeof(v));
	return n == 1 && v[0] == '1';
}

/*
 * The base when none is configured: hookd's own cgroup or its parent
 * (systemd's DelegateSubgroup= starts us one level down), whichever is
 * delegated.  New string, or NULL with eb set (EK_UNAVAIL).
 */
static char *
cg_auto_base(struct errbuf *eb)
{
	char	*own, *slash;

	if ((own = cg_own_v2(eb)) == NULL)
		return NULL;
	if (cg_delegated(own))
		return own;
	if ((slash = strrchr(own, '/')) != NULL && slash != own) {
		*slash = '\0';
		if (cg_delegated(own))
			return own;
		*slash = '/';
	}
	errbuf_set(eb, EK_UNAVAIL, "hookd's cgroup '%s' is not delegated "
	    "to it", own);
	free(own);
	return NULL;
}

/*
 * Whether we are a member of the v2 cgroup dfd: our pid is listed in
 * its cgroup.procs.
 */
static bool
cg_self_member(int dfd)
{
	char	 buf[4096], *p, *e;
	pid_t	 self = getpid();
	ssize_t	 n;
	size_t	 have = 0;
	bool	 found = false;
	int	 fd;

	if ((fd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	while (!found && (n = read(fd, buf + have, sizeof(buf) - 1 -
	    have)) > 0) {
		have += (size_t)n;
		buf[have] = '\0';
		p = buf;
		while ((e = strchr(p, '\n')) != NULL) {
			if (strtol(p, NULL, 10) == (long)self)
				found = true;
			p = e + 1;
		}
		have = strlen(p);
		memmove(buf, p, have);
	}
	close(fd);
	return found;
}

/* v2: switch on pids below dfd, after moving ourselves out of it. */
static int
cg_setup_v2(int dfd, const char *base, struct errbuf *eb)
{
	char	 buf[CGROUP_FILE_MAX];
	int	 sfd;

	if (cg_read_small(dfd, "cgroup.controllers", buf, sizeof(buf)) == -1)
		return errbuf_errno(eb, EK_UNAVAIL, "cannot read '%s/"
		    "cgroup.controllers'", base);
	if (!cg_has_word(buf, "pids"))
		return errbuf_set(eb, EK_UNAVAIL, "the pids controller is not "
		    "available in '%s' (its cgroup.controllers: %.*s)", base,
		    (int)strcspn(buf, "\n"), buf);
	if (cg_self_member(dfd)) {
		if (mkdirat(dfd, CG_SUPERVISOR, 0755) == -1 &&
		    errno != EEXIST)
			return errbuf_errno(eb, EK_OS, "cannot create "
			    "'%s/" CG_SUPERVISOR "'", base);
		if ((sfd = openat(dfd, CG_SUPERVISOR, O_RDONLY |
		    O_DIRECTORY | O_CLOEXEC)) == -1)
			return errbuf_errno(eb, EK_OS, "cannot open "
			    "'%s/" CG_SUPERVISOR "'", base);
		if (cg_write(sfd, "cgroup.procs", "0") == -1) {
			errbuf_errno(eb, EK_OS, "cannot move hookd into "
			    "'%s/" CG_SUPERVISOR "'", base);
			close(sfd);
			return -1;
		}
		close(sfd);
		log_debug("cgroup: moved hookd into %s/" CG_SUPERVISOR, base);
	}
	if (cg_read_small(dfd, "cgroup.subtree_control", buf,
	    sizeof(buf)) == -1)
		return errbuf_errno(eb, EK_OS, "cannot read '%s/"
		    "cgroup.subtree_control'", base);
	if (!cg_has_word(buf, "pids") &&
	    cg_write(dfd, "cgroup.subtree_control", "+pids") == -1)
		return errbuf_errno(eb, EK_OS, "cannot enable the pids "
		    "controller in '%s/cgroup.subtree_control'", base);
	return 0;
}

/*
 * Remove the empty hook-* cgroups under the base (rmdir of a busy one
 * fails); only our own (hook-PID-*) when 'own'.
 */
static void
cg_sweep(bool own)
{
	struct dirent	*de;
	DIR		*d;
	char		 prefix[32];
	int		 fd;

	if (own)
		(void)snprintf(prefix, sizeof(prefix), CG_PREFIX "%ld-",
		    (long)getpid());
	else
		(void)strlcpy(prefix, CG_PREFIX, sizeof(prefix));

	if ((fd = openat(cg.basefd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 &&
		    unlinkat(cg.basefd, de->d_name, AT_REMOVEDIR) == 0)
			log_debug("cgroup: removed empty %s", de->d_name);
	closedir(d);
}

/* See cgroup.h. */
int
cgroup_hooks_setup(const char *base, unsigned max_procs, struct errbuf *eb)
{
	struct statfs	 sf;
	char		*path = NULL;
	int		 dfd = -1, version, ret = -1;

	cgroup_hooks_reset();
	if (max_procs == 0 || max_procs > HOOK_PROCS_LIMIT)
		return errbuf_set(eb, EK_BUG, "cgroup: max_procs %u out of "
		    "range", max_procs);
	if (base == NULL) {
		if ((path = cg_auto_base(eb)) == NULL)
			goto out;
	} else
		path = xstrdup(base);
	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		errbuf_errno(eb, base != NULL ? EK_CONFIG : EK_UNAVAIL,
		    "cannot open cgroup '%s'", path);
		goto out;
	}
	if (fstatfs(dfd, &sf) == -1) {
		errbuf_errno(eb, EK_OS, "cannot statfs '%s'", path);
		goto out;
	}
	if (sf.f_type == CGROUP2_SUPER_MAGIC)
		version = 2;
	else if (sf.f_type == CGROUP_SUPER_MAGIC)
		version = 1;
	else {
		errbuf_set(eb, EK_CONFIG, "'%s' is not a cgroup directory",
		    path);
		goto out;
	}
	if (version == 2) {
		if (cg_setup_v2(dfd, path, eb) == -1)
			goto out;
	} else if (faccessat(dfd, "pids.max", F_OK, 0) == -1) {
		errbuf_set(eb, EK_UNAVAIL, "'%s' is a cgroup v1 directory "
		    "without the pids controller", path);
		goto out;
	}
	cg.basefd = dfd;
	dfd = -1;
	cg.version = version;
	cg.max_procs = max_procs;
	(void)snprintf(cg.desc, sizeof(cg.desc), "cgroup v%d %s "
	    "(pids.max %u)", version, path, max_procs);
	cg_sweep(false);
	log_debug("cgroup: hooks go under %s", cg.desc);
	ret = 0;
 out:
	if (dfd != -1)
		close(dfd);
	free(path);
	return ret;
}

/* See cgroup.h. */
void
cgroup_hooks_reset(void)
{
	if (cg.basefd != -1)
		close(cg.basefd);
	cg.basefd = -1;
	cg.version = 0;
	cg.max_procs = 0;
	cg.desc[0] = '\0';
}

/* See cgroup.h. */
bool
cgroup_hooks_enabled(void)
{
	return cg.basefd != -1;
}

/* See cgroup.h. */
const char *
cgroup_hooks_describe(void)
{
	return cg.desc;
}

/* See cgroup.h. */
void
cg_hook_init(struct cg_hook *h)
{
	h->dirfd = h->procsfd = -1;
	h->name[0] = '\0';
}

/* See cgroup.h. */
int
cg_hook_create(struct cg_hook *h, struct errbuf *eb)
{
	char	 max[32];

	cg_hook_init(h);
	if (cg.basefd == -1)
		return 0;
	cg_sweep(true);
	(void)snprintf(h->name, sizeof(h->name), CG_PREFIX "%ld-%lu",
	    (long)getpid(), ++cg.seq);
	if (mkdirat(cg.basefd, h->name, 0755) == -1) {
		errbuf_errno(eb, EK_OS, "cannot create cgroup '%s'", h->name);
		h->name[0] = '\0';
		return -1;
	}
	(void)snprintf(max, sizeof(max), "%u", cg.max_procs);
	if ((h->dirfd = openat(cg.basefd, h->name, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || cg_write(h->dirfd, "pids.max", max) == -1 ||
	    (h->procsfd = openat(h->dirfd, "cgroup.procs", O_WRONLY |
	    O_CLOEXEC)) == -1) {
		errbuf_errno(eb, EK_OS, "cannot set up cgroup '%s'", h->name);
		cg_hook_release(h);
		return -1;
	}
	log_debug("cgroup: %s made, pids.max %s", h->name, max);
	return 0;
}

/* See cgroup.h.  Only write(2): the caller is a child of fork(). */
int
cg_hook_enter(const struct cg_hook *h)
{
	if (h->procsfd == -1)
		return 0;
	return write(h->procsfd, "0", 1) == 1 ? 0 : -1;
}

/*
 * Call fn(pid, arg) for each pid in h's cgroup.procs, read in chunks.
 * Returns how many calls returned true, or -1 if the file cannot be read.
 */
static int
cg_each_pid(const struct cg_hook *h, bool (*fn)(long, void *), void *arg)
{
	char	 buf[4096], *p, *e;
	ssize_t	 n;
	size_t	 have = 0;
	long	 pid;
	int	 fd, hits = 0;

	if ((fd = openat(h->dirfd, "cgroup.procs", O_RDONLY |
	    O_CLOEXEC)) == -1)
		return -1;
	while ((n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		have += (size_t)n;
		buf[have] = '\0';
		p = buf;
		while ((e = strchr(p, '\n')) != NULL) {
			*e = '\0';
			pid = strtol(p, NULL, 10);
			if (pid > 0 && fn(pid, arg))
				hits++;
			p = e + 1;
		}
		have = strlen(p);
		memmove(buf, p, have);
		if (have == sizeof(buf) - 1)
			have = 0;	/* no pid is that long */
	}
	close(fd);
	return hits;
}

static bool
cg_kill_one(long pid, void *arg)
{
	int	 sig = *(int *)arg;

	if (!proc_pid_alive((pid_t)pid, 0))
		return false;
	return kill((pid_t)pid, sig) == 0;
}

static bool
cg_live_one(long pid, void *arg)
{
	(void)arg;
	return proc_pid_alive((pid_t)pid, 0);
}

/* See cgroup.h. */
int
cg_hook_signal(const struct cg_hook *h, int sig)
{
	int	 n, total = 0;

	if (h->dirfd == -1)
		return 0;
	if (sig == SIGKILL && cg.version == 2 &&
	    cg_write(h->dirfd, "cgroup.kill", "1") == 0) {
		log_debug("cgroup: %s killed through cgroup.kill", h->name);
		return 1;
	}
	for (int pass = 0; pass < (sig == SIGKILL ? CGROUP_KILL_PASSES : 1);
	    pass++) {
		if ((n = cg_each_pid(h, cg_kill_one, &sig)) <= 0)
			break;
		total += n;
	}
	log_debug("cgroup: signal %d to %d pids of %s", sig, total, h->name);
	return total;
}

/* See cgroup.h. */
bool
cg_hook_alive(const struct cg_hook *h)
{
	if (h->dirfd == -1)
		return false;
	return cg_each_pid(h, cg_live_one, NULL) > 0;
}

static long
cg_read_long(const struct cg_hook *h, const char *name)
{
	char	 buf[64];
	long	 v;

	if (h->dirfd == -1 || cg_read_small(h->dirfd, name, buf,
	    sizeof(buf)) == -1)
		return -1;
	if (sscanf(buf, "%ld", &v) != 1)
		return -1;
	return v;
}

/* See cgroup.h. */
long
cg_hook_current(const struct cg_hook *h)
{
	return cg_read_long(h, "pids.current");
}

/* See cgroup.h. */
long
cg_hook_peak(const struct cg_hook *h)
{
	return cg_read_long(h, "pids.peak");
}

/* See cgroup.h. */
void
cg_hook_release(struct cg_hook *h)
{
	if (h->procsfd != -1)
		close(h->procsfd);
	if (h->dirfd != -1)
		close(h->dirfd);
	if (h->name[0] != '\0' && cg.basefd != -1) {
		if (unlinkat(cg.basefd, h->name, AT_REMOVEDIR) == 0)
			log_debug("cgroup: %s removed", h->name);
		else
			log_debug("cgroup: %s kept: %s", h->name,
			    strerror(errno));
	}
	cg_hook_init(h);
}
