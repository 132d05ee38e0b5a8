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

#endif /* HOOKD_HOOKD_H */
