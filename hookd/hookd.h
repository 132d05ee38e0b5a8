/* SPDX-License-Identifier: ISC */
/*
 * hookd.h: private prototypes of the hookd program, grouped by the file
 * that defines them (ntpd.h style).
 */
#ifndef HOOKD_HOOKD_H
#define HOOKD_HOOKD_H

#include "compat.h"

/* hookd.c */
extern int	 arg_verbose;
void		 usage_error(const char *usage, const char *fmt, ...)
		    HOOKD_PRINTF(2, 3) __dead;

/* cmd_bake.c */
int	cmd_bake(int, char **);

/* cmd_deploy_local.c */
int	cmd_deploy_local(int, char **);

/* run_daemon.c */
int	cmd_run(int, char **);

/* cmd_status.c */
int	cmd_status(int, char **);

/* cmd_validate.c */
int	cmd_validate(int, char **);

/* hook_cgroup.c */
struct config;
struct errbuf;
int	hookd_hook_cgroup(const struct config *, struct errbuf *);

/* run_traffic.c */
struct aws_client;
struct deploy_traffic;
struct hookd_traffic;
/*
 * Traffic control from hookd.yml's traffic: block (call only when
 * cfg->traffic.enabled): NULL with eb set when it cannot be used (no
 * AWS for an ELB, no Auto Scaling group, a bad name).  May block for one
 * DescribeAutoScalingInstances (from_auto_scaling_group).
 */
struct hookd_traffic *hookd_traffic_new(const struct config *,
	    struct aws_client *, const char *instance, struct errbuf *);
/* Its BlockTraffic and AllowTraffic for deploy_spec.traffic; NULL: none. */
const struct deploy_traffic *hookd_traffic_ops(const struct hookd_traffic *);
void	hookd_traffic_free(struct hookd_traffic *);

#endif /* HOOKD_HOOKD_H */
