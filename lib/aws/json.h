/* SPDX-License-Identifier: ISC */
/*
 * json.h: the AWS JSON 1.0 protocol envelope (the one SQS speaks besides
 * Query): a request is a POST of a JSON object to the service endpoint
 * (or, for SQS, the queue URL) with Content-Type
 * application/x-amz-json-1.0 and X-Amz-Target PREFIX.Operation
 * ("AmazonSQS.ReceiveMessage"), both signed; the reply is a JSON object
 * (an empty body counts as {}).  An error is {"__type":
 * "com.amazonaws.sqs#QueueDoesNotExist", "message": "..."}; SQS also
 * sends the Query protocol's code in the header x-amzn-query-error
 * ("AWS.SimpleQueueService.NonExistentQueue;Sender"), and that code is
 * the one reported, so errors read and map the same under both
 * protocols.
 *
 * Replies are parsed with jansson from the bounded reply buffer
 * (HTTP_BODY_MAX), rejecting duplicate keys and NUL bytes in strings.
 */
#ifndef HOOKD_AWS_JSON_H
#define HOOKD_AWS_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "compat.h"

struct aws_client;
struct aws_result;
struct aws_service;
struct errbuf;

#define AWSJSON_CONTENT_TYPE	"application/x-amz-json-1.0"
#define AWSJSON_QUERY_ERROR_HEADER	"x-amzn-query-error"
#define AWSJSON_CODE_MAX	256	/* bytes of an error code kept */
#define AWSJSON_MESSAGE_MAX	1024	/* bytes of an error message kept */

/*
 * Send body (borrowed JSON object; NULL: {}) as operation op of svc
 * with X-Amz-Target "target_prefix.op", to url (NULL: the service
 * endpoint), with a per-attempt timeout (0: the client's; non-zero is
 * for a long poll: the server may hold the reply that long, so no
 * low-speed abort).  On success
 * returns 0 and the reply object in *ret_reply (new reference; may be
 * NULL when the caller does not want it).  On failure -1 with eb set:
 * aws_request()'s kinds, or EK_PROTO "unexpected reply: ..." when a 2xx
 * body is not a JSON object.  *res describes the last attempt either
 * way (code, status), for callers that map special codes.  Blocks for
 * the request and its retries.
 */
int	 awsjson_call(struct aws_client *, const struct aws_service *svc,
	    const char *target_prefix, const char *url, const char *op,
	    json_t *body, long timeout_ms, json_t **ret_reply,
	    struct aws_result *res, struct errbuf *) HOOKD_WUR;

/*
 * Parse len bytes of a reply body as a JSON object (empty: {}).
 * Returns a new reference, or NULL with eb set (EK_PROTO "not JSON:
 * LINE:COL: reason" / "not a JSON object").
 */
json_t	*awsjson_parse(const void *data, size_t len, struct errbuf *);

/* A JSON error reply; strings are new or NULL. */
struct awsjson_error {
	char	*code;		/* "AWS.SimpleQueueService.NonExistentQueue" */
	char	*message;
};

void	 awsjson_error_release(struct awsjson_error *);

/*
 * The error of a JSON reply: code from query_error (the
 * x-amzn-query-error header's value, part before ';'; may be NULL),
 * else from "__type" (or "code") with the namespace before '#' and any
 * ":..." suffix removed; message from "message" (or "Message").  Fills
 * *ret only on success and returns 0 when a code was found, -1 with eb
 * set (EK_PROTO) otherwise.
 */
int	 awsjson_parse_error(const void *data, size_t len,
	    const char *query_error, struct awsjson_error *ret,
	    struct errbuf *) HOOKD_WUR;

/*
 * Member name of obj as a string, borrowed from obj, or NULL when it is
 * missing or not a string.
 */
const char *awsjson_str(const json_t *obj, const char *name);

#endif /* HOOKD_AWS_JSON_H */
