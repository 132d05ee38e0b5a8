/* SPDX-License-Identifier: ISC */
/*
 * caps.h: every named size, count and time limit, with its unit, in one
 * place (STYLE.md B6).  Modules add their caps here.
 */
#ifndef HOOKD_CAPS_H
#define HOOKD_CAPS_H

#define HTTP_BODY_MAX		(8 * 1024 * 1024)	/* SQS/S3 XML/JSON replies */
#define APPSPEC_MAX		(1 * 1024 * 1024)	/* appspec.yml bytes */
#define APPSPEC_DEPTH_MAX	32			/* YAML nesting levels */
#define APPSPEC_HOOKS_MAX	256			/* scripts over all events */
#define APPSPEC_FILES_MAX	1024			/* files: entries */
#define APPSPEC_PERMS_MAX	1024			/* permissions: entries */
#define APPSPEC_ERRORS_MAX	100			/* errors reported per file */
#define HOOK_TIMEOUT_DEFAULT	3600			/* seconds */
#define HOOK_TIMEOUT_MAX	3600			/* seconds */
#define HOOK_KILL_GRACE_SEC	10			/* SIGTERM -> SIGKILL */
#define HOOK_TAIL_MAX		(4 * 1024)		/* output kept for the report */
#define HOOK_DRAIN_MSEC		1500			/* read pipes after exit */
#define DEPLOY_MSG_MAX		(256 * 1024)		/* our limit; messages are small */
#define CONFIG_MAX		(256 * 1024)		/* hookd.yml, deployer.yml */
#define STATE_MAX		(1 * 1024 * 1024)	/* state.json */
#define BUNDLE_BYTES_MAX	(4ULL * 1024 * 1024 * 1024) /* extracted bytes */
#define BUNDLE_ENTRIES_MAX	200000			/* archive entries */
#define BUNDLE_PATH_MAX		1024			/* one entry's path */
#define KEEP_RELEASES_DEFAULT	5

#endif /* HOOKD_CAPS_H */
