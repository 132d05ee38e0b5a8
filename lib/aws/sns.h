/* SPDX-License-Identifier: ISC */
/*
 * sns.h: SNS Publish over the Query protocol (Version 2010-03-31; the
 * endpoint can be overridden with $AWS_ENDPOINT_URL_SNS), for the
 * deployer's notifications.  The request goes to the client's region:
 * a topic in another region is refused by SNS (its error is returned).
 */
#ifndef HOOKD_AWS_SNS_H
#define HOOKD_AWS_SNS_H

#include <stddef.h>

#include <libxml/tree.h>

#include "compat.h"

struct aws_client;
struct errbuf;

#define SNS_VERSION		"2010-03-31"
#define SNS_MESSAGE_MAX		(256 * 1024)	/* bytes, UTF-8 */
#define SNS_SUBJECT_MAX		99		/* printable ASCII */

/*
 * Publish message (1 .. SNS_MESSAGE_MAX bytes) to topic_arn with subject
 * (NULL: none; at most SNS_SUBJECT_MAX printable ASCII characters, no
 * line break).  On success returns 0 and, when ret_id is not NULL, the
 * MessageId in *ret_id (new string).  -1 with eb set: EK_USAGE for bad
 * arguments ("sns Publish: ..."), else the kinds of aws_request().
 * Blocks for one request (with aws_request()'s retries).
 */
int	 sns_publish(struct aws_client *, const char *topic_arn,
	    const char *subject, const char *message, char **ret_id,
	    struct errbuf *) HOOKD_WUR;

/* Whether s is a valid Subject (see above). */
int	 sns_subject_ok(const char *s);

/* The reply parser, exposed for tests: *ret_id new.  0 or -1 (EK_PROTO). */
int	 sns_parse_publish(xmlDoc *, char **ret_id, struct errbuf *)
	    HOOKD_WUR;

#endif /* HOOKD_AWS_SNS_H */
