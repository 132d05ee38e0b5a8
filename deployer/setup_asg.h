/* SPDX-License-Identifier: ISC */
/*
 * setup_asg.h: "deployer setup GROUP --auto-scaling-group NAME", the
 * launch lifecycle hook of an Auto Scaling group (setup_asg.c).
 */
#ifndef HOOKD_DEPLOYER_SETUP_ASG_H
#define HOOKD_DEPLOYER_SETUP_ASG_H

#include "compat.h"

struct deployer_group;
struct dctx;
struct errbuf;

#define SETUP_ASG_HOOK_DEFAULT		"hookd-launch"
#define SETUP_ASG_HEARTBEAT_DEFAULT	600	/* s: HeartbeatTimeout */
#define SETUP_ASG_HEARTBEAT_MIN		30	/* s: AWS's limits */
#define SETUP_ASG_HEARTBEAT_MAX		7200

/* The options; strings borrowed. */
struct setup_asg_opts {
	const char	*asg;		/* Auto Scaling group name */
	const char	*hook;		/* lifecycle hook name */
	unsigned long	 heartbeat_timeout;	/* s */
};

int	setup_asg(struct dctx *, const struct deployer_group *,
	    const struct setup_asg_opts *, struct errbuf *);

#endif /* HOOKD_DEPLOYER_SETUP_ASG_H */
