/* SPDX-License-Identifier: ISC */
/*
 * config.h: the two configuration files of DESIGN.md, as plain C models:
 * /etc/hookd/hookd.yml (struct config, one daemon) and deployer.yml
 * (struct deployer_config, an application repository).  Both are read by
 * the same strict YAML machinery in config.c: unknown keys, wrong types
 * and bad values are errors "FILE:LINE:COL: key: what", every error of a
 * file is collected (up to CONFIG_ERRORS_MAX), and eb holds the first,
 * with EK_CONFIG.  No libyaml type appears here.
 */
#ifndef HOOKD_CONFIG_H
#define HOOKD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"

struct errbuf;

#define CONFIG_DEFAULT_PATH	"/etc/hookd/hookd.yml"
#define CONFIG_DEFAULT_ROOT	"/var/lib/hookd"
#define CONFIG_DEFAULT_PREFIX	"hookd"
#define CONFIG_PREFIX_MAX	40	/* queue_prefix characters */
#define CONFIG_POLL_WAIT_DEFAULT 20	/* seconds */
#define CONFIG_GRACE_DEFAULT	30	/* s a hook gets after SIGTERM */
#define CONFIG_GRACE_MAX	3600	/* shutdown_grace, --grace */
#define CONFIG_START_DEFAULT	60	/* s to reach the queue and store */
#define CONFIG_START_MAX	3600	/* start_timeout */
#define DEPLOYER_TIMEOUT_DEFAULT 3600	/* seconds per batch */
#define DEPLOYER_YML		"deployer.yml"

/* One (application, deployment group) of a groups: list in hookd.yml. */
struct config_group {
	char		*application;
	char		*deployment_group;
	unsigned long	 line;		/* where it was declared */
};

/*
 * hookd.yml's traffic: block (see traffic.h): the load balancers this
 * host is taken out of while it deploys.  enabled is false without the
 * block; with it, at least one load balancer source is named.
 */
struct config_traffic {
	bool		 enabled;
	char		**target_groups;	/* ARNs or names, at most 10 */
	size_t		 ntarget_groups;
	char		**load_balancers;	/* Classic names, at most 10 */
	size_t		 nload_balancers;
	bool		 from_auto_scaling_group;
	char		*haproxy_socket;	/* absolute path or
						   tcp:HOST:PORT; NULL: none */
	char		*haproxy_backend;	/* with the socket */
	char		*haproxy_server;	/* NULL: the instance id */
	unsigned	 drain_timeout;		/* s, 1..3600; 0: default */
	unsigned	 healthy_timeout;	/* s, 1..3600; 0: default */
};

/* hookd.yml.  Strings are NULL when not given and without a default. */
struct config {
	char		*path;		/* the name used in messages */
	char		*application;	/* required without groups: */
	char		*deployment_group;
	/*
	 * groups: (the several-groups form): replaces application and
	 * deployment_group; ngroups 0 in the single form.
	 */
	struct config_group *groups;
	size_t		 ngroups;
	bool		 parallel_groups;	/* default false: serialized */
	char		*store;		/* default file://ROOT/store */
	char		*queue;		/* "sqs" or file:///...; default
					   file://ROOT/queue */
	char		*queue_prefix;	/* default "hookd" */
	char		*region;
	char		*root;		/* default /var/lib/hookd */
	unsigned	 keep_releases;	/* 1..1000, default 5 */
	char		*instance_id;	/* default: IMDS, else the hostname */
	char		*lifecycle_hook;
	char		*message_key_file;	/* absolute, as resolved */
	unsigned char	*message_key;	/* loaded; wiped on release */
	size_t		 message_key_len;
	int		 log_level;	/* syslog LOG_ERR .. LOG_DEBUG;
					   default LOG_INFO */
	bool		 delete_queue_on_shutdown;	/* default false */
	uint64_t	 max_bundle_bytes;	/* default BUNDLE_BYTES_MAX */
	uint64_t	 max_bundle_entries;	/* default BUNDLE_ENTRIES_MAX */
	unsigned	 visibility_timeout;	/* s, 30..43200, default 300 */
	unsigned	 poll_wait;	/* s, 1..20, default 20 */
	unsigned	 shutdown_grace;	/* s, 0..3600, default 30 */
	unsigned	 start_timeout;	/* s to reach the queue and the store
					   at start, 1..3600, default 60 */
	unsigned	 hook_max_procs;	/* pids.max of a hook's cgroup,
					   0..HOOK_PROCS_LIMIT (0: no
					   cgroup), default HOOK_PROCS_MAX */
	char		*hook_cgroup;	/* absolute; NULL: hookd's own
					   delegated cgroup */
	int		 sqs_protocol;	/* enum aws_sqs_protocol: json or
					   query; 0 (not set): the AWS
					   client's default (JSON, or
					   $HOOKD_SQS_PROTOCOL) */
	bool		 strict;	/* appspec warnings fail a
					   deployment; default false */
	struct config_traffic traffic;	/* traffic: */

	/* Every error of the last load, "FILE:LINE:COL: key: what". */
	char		**errors;
	size_t		 nerrors;
};

/* Set the defaults; allocates nothing (string defaults come at load). */
void	config_init(struct config *);
/* Free the contents (wiping the key); safe on a zeroed or failed config. */
void	config_release(struct config *);

/*
 * Read and check hookd.yml at 'path' (at most CONFIG_MAX bytes) into a
 * config fresh from config_init() (to reload, load into a new one and
 * swap it in on success, so a bad edit keeps the running config).  'name'
 * is what messages call it (NULL: the path).  A relative
 * message_key_file is taken relative to the file's directory; the key is
 * loaded and must not be accessible by group or others.  Returns 0, or -1
 * with eb holding the first error: EK_CONFIG for a bad file, EK_NOINPUT
 * when it does not exist, EK_IO when it cannot be read; cfg->errors holds
 * them all and cfg must still be released.  Blocks only on the disk.
 */
int	config_load(struct config *, const char *path, const char *name,
	    struct errbuf *);
/* The same from memory; a relative key file is relative to the cwd. */
int	config_parse(struct config *, const char *data, size_t len,
	    const char *name, struct errbuf *);

/*
 * The deployment group this daemon serves, in DESIGN.md's order: the
 * --group argument (arg_group, may be NULL), hookd.yml's
 * deployment_group, $DEPLOYMENT_GROUP_NAME, then the EC2 tag
 * hookd:deployment-group through tag_fn (may be NULL).  tag_fn(tag_arg,
 * tag, &value, eb) looks up an EC2 instance tag: 0 with value a new
 * string, or with value NULL when there is no such tag (or no IMDS); -1
 * with eb set on an error worth reporting.  *ret_group is a
 * new string; *ret_source a static string: "--group", "hookd.yml
 * deployment_group", "$DEPLOYMENT_GROUP_NAME" or "EC2 tag
 * hookd:deployment-group".  -1 with EK_CONFIG when none gives a valid
 * name (or what tag_fn reported).  May block in tag_fn.
 */
int	config_resolve_group(const struct config *, const char *arg_group,
	    int (*tag_fn)(void *, const char *, char **, struct errbuf *),
	    void *tag_arg, char **ret_group,
	    const char **ret_source, struct errbuf *);

/* "error", "warning", ... for a syslog level, and back (-1: unknown). */
const char *config_log_level_name(int);
int	config_log_level_from_name(const char *);

/* deployer.yml */

enum deploy_config_kind {
	DC_ALL_AT_ONCE = 0,
	DC_HALF_AT_A_TIME,
	DC_ONE_AT_A_TIME,
	DC_MIN_HEALTHY,
};

struct deploy_config {
	enum deploy_config_kind	 kind;
	unsigned		 min_healthy;	/* DC_MIN_HEALTHY: count or % */
	bool			 percent;	/* min_healthy is in % */
	/* Rollout gates: {canary: N|"N%", bake: S, then: kind}. */
	unsigned		 canary;	/* first batch; 0: no canary */
	bool			 canary_percent; /* canary is in % */
	unsigned		 bake;		/* s gates watch each batch */
};

/* deployer.yml groups.NAME.blue_green (strategy: blue_green). */
#define BG_READY_TIMEOUT_DEFAULT 900	/* s */
#define BG_KEEP_BLUE_DEFAULT	3600	/* s */
#define BG_TIMEOUT_MAX		604800	/* s: a week */
enum deploy_strategy { STRATEGY_IN_PLACE = 0, STRATEGY_BLUE_GREEN };
struct blue_green_config {
	char		*auto_scaling_group;	/* the first blue; NULL: from
						   the store's pointer */
	unsigned	 ready_timeout;		/* s */
	unsigned	 wait_before_cutover;	/* s */
	bool		 manual_cutover;	/* "manual" */
	unsigned	 keep_blue;		/* s; 0: retire blue at once */
};
/* Rollout gates: which endings roll back (auto_rollback). */
#define AUTO_ROLLBACK_FAILURE	0x1	/* an instance failed */
#define AUTO_ROLLBACK_ALARM	0x2	/* a gate failed: alarm, health */
#define AUTO_ROLLBACK_STOP	0x4	/* deployer stop */
#define DEPLOYER_ALARMS_MAX	10	/* alarms per group */
#define DEPLOYER_ARGV_MAX	64	/* health_check arguments */
#define GATE_INTERVAL_DEFAULT	10	/* s between gate checks */
#define GATE_INTERVAL_MAX	3600
#define DEPLOYER_BAKE_MAX	86400	/* s */

struct deployer_group {
	char			*name;
	struct deploy_config	 dc;		/* default OneAtATime */
	bool			 rollback_on_failure;	/* default true; the
						   same as failure in
						   auto_rollback */
	unsigned		 timeout;	/* s, default 3600 */
	unsigned long		 line;		/* where it was declared */
	int			 strategy;	/* enum deploy_strategy */
	struct blue_green_config bg;
	/* Rollout gates; see deployer(1). */
	char			**alarms;	/* CloudWatch alarm names */
	size_t			 nalarms;	/* 0..DEPLOYER_ALARMS_MAX */
	bool			 ignore_alarm_poll_failure;
	char			**health_check;	/* argv + NULL; NULL: none */
	size_t			 nhealth_check;
	unsigned		 auto_rollback;	/* AUTO_ROLLBACK_* bits,
						   default FAILURE */
	char			*notify;	/* SNS topic ARN or NULL */
	unsigned		 gate_interval;	/* s, default 10 */
};

struct deployer_config {
	char			*path;
	char			*application;	/* required */
	char			*store;		/* required */
	char			*queue;		/* required: sqs or file:/// */
	char			*queue_prefix;	/* default "hookd" */
	char			*region;
	char			*message_key_file;	/* optional, resolved */
	unsigned char		*message_key;
	size_t			 message_key_len;
	int			 sqs_protocol;	/* as in struct config */
	bool			 strict;	/* appspec warnings refuse
						   the bundle; default false */
	unsigned		 max_requests_in_flight; /* 0: 64 */
	struct deployer_group	*groups;	/* in file order */
	size_t			 ngroups;	/* at least one */
	char			**errors;
	size_t			 nerrors;
};

void	deployer_config_init(struct deployer_config *);
void	deployer_config_release(struct deployer_config *);
/* As config_load/config_parse, for deployer.yml. */
int	deployer_config_load(struct deployer_config *, const char *path,
	    const char *name, struct errbuf *);
int	deployer_config_parse(struct deployer_config *, const char *data,
	    size_t len, const char *name, struct errbuf *);
/* The group named 'name' (borrowed), or NULL. */
const struct deployer_group *deployer_config_group(
	    const struct deployer_config *, const char *name);

/*
 * Find deployer.yml in 'start' (NULL: the current directory) or the
 * nearest parent that has one.  *ret_path is new.  EK_NOINPUT when no
 * directory up to / has one.
 */
int	config_find_deployer_yml(const char *start, char **ret_path,
	    struct errbuf *);

/*
 * How many of 'n' instances one batch may take under dc so that the
 * rest stay healthy: AllAtOnce n, HalfAtATime n/2 (at least 1),
 * OneAtATime 1, minimum_healthy: n minus the healthy count (a percentage
 * rounded up).  0 when dc cannot be met with n instances.
 */
size_t	deploy_config_batch_size(const struct deploy_config *, size_t n);
/* "AllAtOnce", ..., or "minimum_healthy" for DC_MIN_HEALTHY. */
const char *deploy_config_name(const struct deploy_config *);

/*
 * Rollout gates.  The size of dc's canary batch out of n instances
 * (a percentage rounded up, at least 1, at most n); 0 without a canary.
 */
size_t	deploy_config_canary_size(const struct deploy_config *, size_t n);
/*
 * dc in words, for records and status lines: "HalfAtATime", or "canary
 * 1, bake 120 s, then HalfAtATime", "minimum_healthy 75%".  Written to
 * buf (always NUL-ended); returns buf.
 */
const char *deploy_config_describe(const struct deploy_config *,
	    char *buf, size_t len);
/* "failure", "alarm", "stop" for one AUTO_ROLLBACK_* bit; NULL else. */
const char *auto_rollback_name(unsigned bit);

#endif /* HOOKD_CONFIG_H */
