/* SPDX-License-Identifier: ISC */
/*
 * caps.h: every named size, count and time limit, with its unit, in one
 * place (STYLE.md B6).  Modules add their caps here.
 */
#ifndef HOOKD_CAPS_H
#define HOOKD_CAPS_H

/* Replies and documents, in bytes. */
#define HTTP_BODY_MAX		(8 * 1024 * 1024)	/* SQS/S3 replies */
#define APPSPEC_MAX		(1 * 1024 * 1024)	/* appspec.yml */
#define DEPLOY_MSG_MAX		(256 * 1024)		/* queue message */
#define CONFIG_MAX		(256 * 1024)		/* hookd.yml */
#define STATE_MAX		(1 * 1024 * 1024)	/* state.json */

/* appspec.yml contents, in counts. */
#define APPSPEC_DEPTH_MAX	32			/* YAML nesting */
#define APPSPEC_HOOKS_MAX	256			/* over all events */
#define APPSPEC_FILES_MAX	1024			/* files: entries */
#define APPSPEC_PERMS_MAX	1024			/* permissions: */
#define APPSPEC_ERRORS_MAX	100			/* reported per file */
#define APPSPEC_NODES_MAX	65536			/* nodes, aliases too */
#define APPSPEC_ANCHORS_MAX	256			/* YAML anchors */
#define APPSPEC_MAP_KEYS_MAX	64			/* keys in a mapping */

/* Hooks. */
#define HOOK_TIMEOUT_DEFAULT	3600			/* seconds */
#define HOOK_TIMEOUT_MAX	3600		/* s, as AWS documents */
#define HOOK_TIMEOUT_LIMIT	86400		/* s; over _MAX: warns */
#define HOOK_KILL_GRACE_SEC	10			/* TERM -> KILL, s */
#define HOOK_PROCS_MAX		4096			/* runas RLIMIT_NPROC */
#define HOOK_PROCS_LIMIT	4194304			/* hook_max_procs max */
#define CGROUP_KILL_PASSES	64			/* SIGKILL rounds, v1 */
#define CGROUP_FILE_MAX		(4 * 1024)		/* control file bytes */
#define HOOK_TAIL_MAX		(4 * 1024)		/* bytes reported */
#define HOOK_DRAIN_MSEC		1500			/* read after exit */
#define HOOK_LINE_MAX		(4 * 1024)		/* longer lines split */
#define HOOK_READ_CHUNK		(64 * 1024)		/* bytes per read() */
#define USER_PWBUF_MAX		(1024 * 1024)		/* getpwnam_r bytes */
#define USER_GROUPS_MAX		65536			/* runas user groups */

/* Bundles. */
#define BUNDLE_BYTES_MAX	(4ULL << 30)		/* extracted bytes */
#define BUNDLE_ENTRIES_MAX	200000			/* archive entries */
#define BUNDLE_PATH_MAX		1024			/* one entry's path */
#define BUNDLE_READ_BLOCK	(256 * 1024)		/* archive read size */
#define BUNDLE_MAP_WINDOW	(4U << 20)		/* mmap'ed bundle, B */
#define BUNDLE_ZIP_CD_MAX	(256ULL << 20)		/* zip central dir, B */
#define BUNDLE_NAME_SHOW_MAX	256			/* names in errors */

#define MANIFEST_LINE_MAX	(24 * 1024)		/* one line, bytes */
#define MANIFEST_ENTRIES_MAX	(BUNDLE_ENTRIES_MAX + 1) /* with the root */
#define KEEP_RELEASES_DEFAULT	5			/* release dirs kept */
#define KEEP_RELEASES_MAX	1000			/* --keep-releases */
#define RELEASE_LIST_MAX	10000			/* releases/ entries */
#define STATE_HISTORY_MAX	20			/* history entries */
#define STATE_LINKS_MAX		APPSPEC_FILES_MAX	/* in_progress.links */
#define DEPLOYLOG_LINE_MAX	4096			/* log line, bytes */
#define DEPLOYLOG_FILE_MAX	(16 << 20)		/* script output, B */
#define DEPLOYLOG_TAIL_MAX	(64 * 1024)		/* kept past the cap */
#define DEPLOYLOG_RESERVE	(1 << 20)		/* for hookd's lines */
#define NAME_LEN_MAX		100			/* app/group/instance */
#define HOOK_TICK_MSEC		1000			/* on_tick period */
#define LC_RECOVER_LOCK_WAIT_MS	5000			/* ms, recovery */
#define LC_LOCK_NAP_MS		50			/* ms, between tries */

/* Config files, messages, store and queue (config.c, store.c, queue.c). */
#define CONFIG_DEPTH_MAX	16			/* YAML nesting */
#define CONFIG_NODES_MAX	10000			/* YAML nodes */
#define CONFIG_ERRORS_MAX	100			/* reported per file */
#define CONFIG_GROUPS_MAX	1000			/* in deployer.yml */
#define CONFIG_HOST_GROUPS_MAX	32			/* hookd.yml groups: */
#define STORE_LIST_MAX		100000			/* keys per list */
#define STORE_OBJECT_MAX	(4 * 1024 * 1024)	/* JSON object, B */
#define QUEUE_BODY_MAX		(256 * 1024)		/* bytes; SQS's limit */
#define QUEUE_MAX_RECEIVES	10			/* then failed/, DLQ */
#define QUEUE_NAME_MAX		80			/* SQS name, chars */
#define QUEUE_SCAN_MAX		10000			/* entries per scan */
#define QUEUE_REASON_MAX	4096			/* .reason file, B */

/* HTTP and AWS (lib/http.c, lib/aws/ core), in bytes unless noted. */
#define HTTP_HEADERS_MAX	100			/* per reply */
#define HTTP_HEADER_MAX		8192			/* one header line */
#define IMDS_VALUE_MAX		(64 * 1024)		/* one IMDS reply */
#define AWSXML_DOC_MAX		(8 * 1024 * 1024)	/* one XML document */
#define AWSXML_DEPTH_MAX	32			/* XML nesting levels */
#define AWSXML_TEXT_MAX		(1024 * 1024)		/* one element's text */
#define AWS_CONFIG_FILE_MAX	(256 * 1024)		/* ~/.aws/ files */
#define SIGV4_CANON_MAX		(64 * 1024)		/* canonical request */

#endif /* HOOKD_CAPS_H */
