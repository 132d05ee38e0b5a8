/* SPDX-License-Identifier: ISC */
/*
 * scaleout.h: the Auto Scaling part of hookd's boot (DESIGN.md "Group
 * membership and catch-up", step 5) and of its shutdown.
 *
 * At boot, scaleout_begin() finds out whether this instance is held by
 * the configured launch lifecycle hook: the Auto Scaling group's name
 * comes from the instance tag aws:autoscaling:groupName (instance
 * metadata tags on) or else from DescribeAutoScalingInstances, which
 * also gives the lifecycle state; the hook's HeartbeatTimeout comes from
 * DescribeLifecycleHooks.  While the catch-up deployment runs, the
 * daemon calls scaleout_tick() from its timers; it sends
 * RecordLifecycleActionHeartbeat every third of the heartbeat timeout.
 * Then scaleout_complete() sends CompleteLifecycleAction: CONTINUE when
 * the instance is current, ABANDON when the catch-up failed.
 *
 * At shutdown, scaleout_leaving() tells whether the instance is going
 * away for good (Auto Scaling says Terminating*, or systemd says the
 * system is stopping), so the daemon can deregister from the store.
 *
 * Not here: running the catch-up deployment, logging (the daemon logs
 * every result), retries beyond the AWS client's own.  "No active
 * Lifecycle Action" (completed already, or timed out) is its own result,
 * SCALEOUT_GONE, never an error.
 */
#ifndef HOOKD_SCALEOUT_H
#define HOOKD_SCALEOUT_H

#include <stdbool.h>
#include <time.h>

#include "compat.h"

struct aws_client;
struct errbuf;
struct imds;

#define SCALEOUT_TAG_GROUP	"aws:autoscaling:groupName"
#define SCALEOUT_HB_DEFAULT	3600	/* s: AWS's default HeartbeatTimeout */
#define SCALEOUT_HB_TIMEOUT_MIN	30	/* s: AWS's shortest HeartbeatTimeout */
#define SCALEOUT_HB_FRACTION	3	/* heartbeat every timeout / 3 */
#define SCALEOUT_HB_MIN_MS	1000	/* never more often than this */
#define SCALEOUT_CALL_TIMEOUT_MS 10000	/* per try of a lifecycle call */

/* Results besides 0 and -1. */
#define SCALEOUT_SENT		1	/* scaleout_tick: a heartbeat went */
#define SCALEOUT_GONE		2	/* no active lifecycle action */

enum scaleout_state {
	SO_NONE = 0,	/* not held: no group, no such hook, not pending */
	SO_PENDING,	/* held by the hook: heartbeat, then complete */
	SO_DONE,	/* completed, or the action is gone */
};

/*
 * One instance's launch lifecycle action.  Fields are read-only for
 * callers; strings are owned.
 */
struct scaleout {
	struct aws_client	*aws;		/* borrowed, or owned */
	bool			 own_aws;
	char			*instance_id;
	char			*hook;		/* hookd.yml lifecycle_hook */
	char			*group;		/* Auto Scaling group or NULL */
	const char		*group_source;	/* static: where it came from */
	/* "Pending:Wait" ... or NULL */
	char			*lifecycle_state;
	enum scaleout_state	 state;
	unsigned long		 heartbeat_timeout;	/* s */
	long long		 heartbeat_every_ms;
	struct timespec		 hb_last;	/* last heartbeat attempt */
	unsigned		 heartbeats;	/* heartbeats accepted */
	char			*result;	/* CONTINUE/ABANDON once sent */
};

/* Zero the struct; allocates nothing. */
void	scaleout_init(struct scaleout *);
/* Free what it owns (and its own AWS client); safe on a zeroed struct. */
void	scaleout_release(struct scaleout *);

/*
 * Find out whether instance_id waits on the launch hook 'hook'.  aws is
 * the daemon's client (borrowed; it must outlive so), or NULL: then a
 * client of our own is made for region (NULL: environment, config or
 * IMDS) with imds (borrowed, may be NULL).  imds may also be NULL when
 * instance metadata is off; then the group comes from
 * DescribeAutoScalingInstances only.
 *
 * Returns 0 with so->state SO_PENDING (held: heartbeat and complete) or
 * SO_NONE (not in a group, the group has no such hook, or the instance
 * is not Pending), with group, group_source, lifecycle_state and
 * heartbeat_timeout filled in as far as they were learnt.  Returns -1
 * with eb set when it could not tell (the AWS client's kinds: EK_TEMP,
 * EK_UNAVAIL, EK_PERM, EK_PROTO, EK_CONFIG); calling it again retries.
 * Blocks for a few requests (IMDS, Auto Scaling).
 */
int	scaleout_begin(struct scaleout *, struct aws_client *aws,
	    struct imds *imds, const char *region, const char *instance_id,
	    const char *hook, struct errbuf *) HOOKD_WUR;

/*
 * The timer: call it often (every observer tick, every nap).  When the
 * action is pending and a heartbeat is due (force: at once), send
 * RecordLifecycleActionHeartbeat.  Returns 0 when nothing was due,
 * SCALEOUT_SENT, SCALEOUT_GONE (no active action any more: state
 * becomes SO_DONE, eb holds AWS's message), or -1 with eb set (the next
 * try comes after a third of the interval).  Blocks for one request at
 * most.
 */
int	scaleout_tick(struct scaleout *, bool force, struct errbuf *)
	    HOOKD_WUR;

/* Milliseconds until the next heartbeat is due (-1: none pending). */
long long scaleout_next_ms(const struct scaleout *);

/*
 * CompleteLifecycleAction with CONTINUE (success) or ABANDON.  Does
 * nothing and returns 0 unless the state is SO_PENDING.  Returns 0
 * (state SO_DONE, so->result set), SCALEOUT_GONE (no active action;
 * SO_DONE, eb holds AWS's message), or -1 with eb set (state unchanged:
 * the caller may try again).  Blocks for one request.
 */
int	scaleout_complete(struct scaleout *, bool success, struct errbuf *)
	    HOOKD_WUR;

/*
 * Whether this instance is going away: its Auto Scaling lifecycle state
 * is Terminating* (only asked when the group is known), or systemd's
 * SystemState is "stopping".  *ret_leaving is set on success; returns 0,
 * or -1 with eb set when neither could be asked (the caller then keeps
 * its registration: a stale entry ages out).  Blocks for one request.
 */
int	scaleout_leaving(struct scaleout *, bool *ret_leaving,
	    struct errbuf *) HOOKD_WUR;

#endif /* HOOKD_SCALEOUT_H */
