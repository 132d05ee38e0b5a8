/* SPDX-License-Identifier: ISC */
/*
 * cgroup.h: a cgroup per hook, so that hooks running as root (whom
 * RLIMIT_NPROC does not bound) cannot fork-bomb the host, and so that a
 * timed-out or stopped hook is killed whole, including what left its
 * process group (setsid, nohup + setsid, double forks).
 *
 * The daemon sets up a base once (cgroup_hooks_setup): a cgroup v2
 * directory with the pids controller (hookd's own cgroup when systemd
 * delegated it, Delegate=yes, or an explicit hook_cgroup), or a
 * directory of a cgroup v1 "pids" hierarchy (explicit only).  From then
 * on proc_run() makes BASE/hook-PID-N for each hook with pids.max set,
 * the child joins it between fork and exec (cg_hook_enter: it writes
 * "0" to the cgroup.procs the parent opened, so nothing the hook runs
 * is ever outside it; this works on v1 and v2 and any kernel with
 * cgroups, where clone3(CLONE_INTO_CGROUP) needs v2 and Linux 5.7 and
 * bypasses glibc's fork), and a kill reaches every member (cgroup.kill
 * on Linux 5.14+, else SIGKILL to each pid listed, pass after pass).
 *
 * A hook that exits by itself leaves its cgroup as it is (ApplicationStart
 * starts servers); an empty hook cgroup is removed when proc_run() ends,
 * a populated one at a later setup or hook once it has emptied.
 *
 * Global state, one base per process; not thread-safe (hookd is
 * single-threaded).  Nothing here logs above debug.
 */
#ifndef HOOKD_CGROUP_H
#define HOOKD_CGROUP_H

#include <stdbool.h>

#include "compat.h"

struct errbuf;

/*
 * Use 'base' (NULL: hookd's own cgroup, if systemd delegated it: the
 * trusted.delegate or user.delegate xattr on it or its parent) for the
 * hooks' cgroups, with pids.max = max_procs in each (1..4194304).  On
 * cgroup v2 the pids controller is enabled in base's subtree_control; if
 * hookd itself is a member of base it first moves into base/supervisor
 * (v2 allows no processes in a cgroup that delegates controllers).
 * Empty hook-* cgroups left by an earlier hookd are removed.  Returns 0,
 * or -1 with eb set and nothing enabled: EK_UNAVAIL when no usable
 * cgroup is there (no cgroup v2, not delegated, no pids controller: the
 * message says which), EK_CONFIG when an explicit base is not a cgroup
 * directory, EK_OS when a cgroup file cannot be written.  Calling it
 * again replaces the previous base.  Blocks only on cgroupfs.
 */
int	cgroup_hooks_setup(const char *base, unsigned max_procs,
	    struct errbuf *);
/* Forget the base (tests; a reload that turns the limit off). */
void	cgroup_hooks_reset(void);
/* Whether hooks get a cgroup. */
bool	cgroup_hooks_enabled(void);
/* "cgroup v2 /sys/fs/cgroup/x (pids.max 4096)", or "" (borrowed). */
const char *cgroup_hooks_describe(void);

/* One hook's cgroup; fields are private to cgroup.c. */
struct cg_hook {
	int		 dirfd;		/* -1: no cgroup for this hook */
	int		 procsfd;	/* its cgroup.procs, for the child */
	char		 name[64];	/* hook-PID-N, under the base */
};

/* A cg_hook holding nothing. */
void	cg_hook_init(struct cg_hook *);
/*
 * Make the next hook's cgroup (nothing when cgroup_hooks_enabled() is
 * false: h stays empty and 0 is returned).  Returns 0 or -1 with eb set
 * (EK_OS: mkdir, pids.max).  Release with cg_hook_release().
 */
int	cg_hook_create(struct cg_hook *, struct errbuf *);
/*
 * In the child between fork and exec: join h (async-signal-safe, one
 * write(2)).  0, or -1 with errno; 0 when h is empty.
 */
int	cg_hook_enter(const struct cg_hook *);
/*
 * Send sig to every live member of h (SIGKILL: through cgroup.kill where
 * the kernel has it, else pid by pid until none is left, at most
 * CGROUP_KILL_PASSES passes).  Returns how many pids were signalled
 * (cgroup.kill counts as 1), 0 when h is empty or its cgroup is.
 */
int	cg_hook_signal(const struct cg_hook *, int sig);
/* Whether h holds a process that is not a zombie. */
bool	cg_hook_alive(const struct cg_hook *);
/* How many processes h holds now (pids.current), or -1. */
long	cg_hook_current(const struct cg_hook *);
/* The highest pids.current seen (pids.peak, Linux 6.1+, v2), or -1. */
long	cg_hook_peak(const struct cg_hook *);
/* Close h and remove its cgroup if it is empty; safe on an empty h. */
void	cg_hook_release(struct cg_hook *);

#endif /* HOOKD_CGROUP_H */
