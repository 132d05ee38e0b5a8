/* SPDX-License-Identifier: ISC */
/*
 * sqs.h: Amazon SQS over the AWS JSON 1.0 protocol (POST of a JSON
 * object with X-Amz-Target AmazonSQS.OPERATION, JSON replies; json.h) or
 * the Query protocol (Version 2012-11-05, form POST, XML replies), as
 * the client says (aws_client_sqs_protocol(): sqs_protocol in the
 * client config, $HOOKD_SQS_PROTOCOL, default JSON).  The functions,
 * their checks, MD5 verification and error kinds are the same for both;
 * only the JSON one leaves libxml2 unloaded.  Every call goes through
 * aws_request(), so it is signed, retried and its errors carry the AWS
 * code (under JSON, SQS's legacy Query code from x-amzn-query-error) and
 * request id.
 *
 * Queue URLs: a call on a queue is sent to the queue URL itself (and the
 * URL is also passed as the QueueUrl parameter), except when an endpoint
 * override (AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL) names another host:
 * then the override's scheme://host:port is used with the queue URL's
 * path, so a queue URL a local emulator built with its own host name
 * still reaches it through a proxy.
 *
 * A missing queue (AWS.SimpleQueueService.NonExistentQueue,
 * QueueDoesNotExist) is EK_NOINPUT.  Bodies are checked against SQS's
 * limits before anything is sent, and MD5OfBody is verified on receive.
 */
#ifndef HOOKD_AWS_SQS_H
#define HOOKD_AWS_SQS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <libxml/tree.h>

#include "compat.h"

struct aws_client;
struct aws_pool;
struct errbuf;

#define SQS_VERSION		"2012-11-05"
#define SQS_MESSAGE_MAX		(256 * 1024)	/* bytes of one body */
#define SQS_BATCH_MAX		10		/* entries per batch */
#define SQS_BATCH_BYTES_MAX	(256 * 1024)	/* bytes of a batch's bodies */
#define SQS_BATCH_ID_MAX	80		/* chars of an entry Id */
#define SQS_WAIT_MAX_SEC	20		/* long-poll WaitTimeSeconds */
#define SQS_RECEIVE_MAX		10		/* MaxNumberOfMessages */
#define SQS_VISIBILITY_MAX_SEC	43200		/* 12 hours */
#define SQS_LIST_PAGE_MAX	1000		/* ListQueues MaxResults */
#define SQS_LIST_URLS_MAX	100000		/* queue URLs gathered */
#define SQS_TIMEOUT_MARGIN_MS	15000		/* beyond WaitTimeSeconds */
#define SQS_ATTRS_MAX		64		/* attributes per message */

/* A name/value pair (queue attributes, message system attributes). */
struct sqs_kv {
	char	*name;
	char	*value;
};

/* One received message; every string owned. */
struct sqs_message {
	char		*message_id;
	char		*receipt_handle;
	char		*body;		/* NUL-terminated, body_len bytes */
	size_t		 body_len;
	char		*md5_of_body;
	unsigned long	 receive_count;	/* ApproximateReceiveCount; 0: none */
	struct sqs_kv	*attrs;		/* system attributes (SentTimestamp) */
	size_t		 nattrs;
	struct sqs_kv	*mattrs;	/* message attributes: String/Number
					   value, or base64 for Binary */
	size_t		 nmattrs;
};

struct sqs_messages {
	struct sqs_message	*v;
	size_t			 n;
};

void	 sqs_messages_init(struct sqs_messages *);
/* Free every message (bodies and receipt handles); safe when zeroed. */
void	 sqs_messages_release(struct sqs_messages *);
/* The value of a system attribute of m, borrowed, or NULL. */
const char *sqs_message_attr(const struct sqs_message *m, const char *name);

/* A list of strings (queue URLs), owned. */
struct sqs_urls {
	char	**v;
	size_t	  n;
};

void	 sqs_urls_release(struct sqs_urls *);

/*
 * CreateQueue name with the given attributes (borrowed; e.g.
 * VisibilityTimeout, ReceiveMessageWaitTimeSeconds, RedrivePolicy JSON;
 * may be NULL/0).  Idempotent when the attributes match.  Returns 0 and
 * the queue URL as a new string in *ret_url, or -1 with eb set
 * (EK_PROTO QueueAlreadyExists with other attributes, the
 * aws_request() kinds).  Blocks for one request.
 */
int	 sqs_create_queue(struct aws_client *, const char *name,
	    const struct sqs_kv *attrs, size_t nattrs, char **ret_url,
	    struct errbuf *) HOOKD_WUR;

/* GetQueueUrl: new string in *ret_url; EK_NOINPUT if no such queue. */
int	 sqs_get_queue_url(struct aws_client *, const char *name,
	    char **ret_url, struct errbuf *) HOOKD_WUR;

/*
 * ListQueues with QueueNamePrefix prefix (NULL: all), following NextToken
 * with page_size results per page (0: SQS_LIST_PAGE_MAX) up to
 * SQS_LIST_URLS_MAX URLs.  Fills *ret (caller releases) on success.
 */
int	 sqs_list_queues(struct aws_client *, const char *prefix,
	    unsigned int page_size, struct sqs_urls *ret, struct errbuf *)
	    HOOKD_WUR;

/* DeleteQueue.  EK_NOINPUT when it does not exist. */
int	 sqs_delete_queue(struct aws_client *, const char *queue_url,
	    struct errbuf *) HOOKD_WUR;

/*
 * SendMessage body (len bytes, 1 .. SQS_MESSAGE_MAX, checked before
 * sending: EK_DATA) with DelaySeconds delay (0: the queue's).  Verifies
 * MD5OfMessageBody of the reply (EK_PROTO on mismatch).  On success
 * *ret_id (may be NULL) gets the MessageId as a new string.
 */
int	 sqs_send(struct aws_client *, const char *queue_url, const char *body,
	    size_t len, unsigned int delay, char **ret_id, struct errbuf *)
	    HOOKD_WUR;

/*
 * The end of one send of sqs_send_many(): queue i got the message
 * (message_id, borrowed) or did not (eb says why: EK_NOINPUT for a
 * missing queue, else as sqs_send()).
 */
typedef void	sqs_sent_fn(void *arg, size_t i, const char *message_id,
		    const struct errbuf *eb);

/*
 * SendMessage of one body to each of n queues, all at once through
 * pool (made on the same client c): the body is checked, hashed and
 * encoded once, each request is retried alone (pool.h), and each queue's
 * end is reported to sent() as it comes, in any order.  Returns 0 once
 * every queue was reported; -1 with eb set, none sent or the rest not
 * reported, when the body is refused (as sqs_send()) or the pool was
 * interrupted (EK_TEMP; the queues not reported were not sent to).
 */
int	 sqs_send_many(struct aws_client *c, struct aws_pool *pool,
	    const char *const *queue_urls, size_t n, const char *body,
	    size_t len, sqs_sent_fn *sent, void *arg, struct errbuf *)
	    HOOKD_WUR;

/*
 * sqs_send_many() without waiting: the sends go out as the pool has room
 * (pool.h's feeder; one at a time per pool), while the caller moves the
 * pool along (aws_pool_run) with its other requests; urls are borrowed
 * until sqs_sends_free().  Returns the sending, or NULL with eb set when
 * the body is refused (nothing reported).  sqs_sends_left(): queues not
 * reported yet (sqs_sends_counter() points at that number, for
 * aws_pool_run); sqs_sends_free() reports the queues not sent yet as
 * failed (EK_TEMP, "interrupted"), waits for those in flight, and frees;
 * NULL-safe.
 */
struct sqs_sends;
struct sqs_sends *sqs_send_start(struct aws_client *c, struct aws_pool *pool,
	    const char *const *queue_urls, size_t n, const char *body,
	    size_t len, sqs_sent_fn *sent, void *arg, struct errbuf *);
size_t	 sqs_sends_left(const struct sqs_sends *);
const size_t *sqs_sends_counter(const struct sqs_sends *);
void	 sqs_sends_free(struct sqs_sends *);

/*
 * One SendMessageBatch entry.  id and body are borrowed inputs; the
 * results are filled by sqs_send_batch() and freed by
 * sqs_batch_entry_release().
 */
struct sqs_batch_entry {
	const char	*id;		/* unique in the batch, [A-Za-z0-9_-] */
	const char	*body;
	size_t		 body_len;
	unsigned int	 delay;
	/* results */
	bool		 ok;
	char		*message_id;	/* when ok */
	char		*error_code;	/* when !ok: "InvalidParameterValue" */
	char		*error_message;
	bool		 sender_fault;
};

void	 sqs_batch_entry_release(struct sqs_batch_entry *);

/*
 * SendMessageBatch.  Checks before sending (EK_DATA, nothing sent): 1 ..
 * SQS_BATCH_MAX entries, ids valid and unique, each body 1 ..
 * SQS_MESSAGE_MAX bytes, the bodies together <= SQS_BATCH_BYTES_MAX.
 * Returns 0 when the request succeeded, with each entry's ok/results
 * filled and *ret_failed (may be NULL) the number of failed entries --
 * a partial failure is not an error; -1 with eb set otherwise.
 */
int	 sqs_send_batch(struct aws_client *, const char *queue_url,
	    struct sqs_batch_entry *entries, size_t n, size_t *ret_failed,
	    struct errbuf *) HOOKD_WUR;

/* ReceiveMessage options; zero means "the queue's default". */
struct sqs_receive_opts {
	unsigned int	 max_messages;	/* 1 .. SQS_RECEIVE_MAX; 0: 1 */
	int		 wait_sec;	/* 0 .. SQS_WAIT_MAX_SEC; -1: queue's */
	int		 visibility;	/* seconds; -1: queue's */
};

/*
 * ReceiveMessage with every system attribute (AttributeName.1=All, so
 * ApproximateReceiveCount is filled) and every message attribute.  Long
 * polls for wait_sec seconds: the per-attempt HTTP timeout is set beyond
 * it.  Each message's MD5OfBody is checked (EK_PROTO "MD5 mismatch").
 * Fills *ret (caller releases; n may be 0) on success.
 */
int	 sqs_receive(struct aws_client *, const char *queue_url,
	    const struct sqs_receive_opts *, struct sqs_messages *ret,
	    struct errbuf *) HOOKD_WUR;

/* DeleteMessage by receipt handle. */
int	 sqs_delete_message(struct aws_client *, const char *queue_url,
	    const char *receipt, struct errbuf *) HOOKD_WUR;

/* ChangeMessageVisibility to seconds (0 .. SQS_VISIBILITY_MAX_SEC). */
int	 sqs_change_visibility(struct aws_client *, const char *queue_url,
	    const char *receipt, unsigned int seconds, struct errbuf *)
	    HOOKD_WUR;

/*
 * The URL a request on queue_url goes to (see the top of this file), as
 * a new string.  endpoint is the SQS endpoint and custom whether it came
 * from an override.  Returns NULL with eb set (EK_USAGE) if queue_url is
 * not an absolute http(s) URL.
 */
char	*sqs_target_url(const char *queue_url, const char *endpoint,
	    bool custom, struct errbuf *);

/*
 * Reply parsers, exposed for tests (tests/unit/test_awsparse.c).  Each
 * takes a parsed document, fills its out-parameter only on success and
 * returns 0, or -1 with eb set (EK_PROTO: wrong root, missing field, bad
 * MD5).
 */
int	 sqs_parse_receive(xmlDoc *, struct sqs_messages *ret, struct errbuf *)
	    HOOKD_WUR;
/* Appends the page's URLs to *urls; *ret_next: new string or NULL. */
int	 sqs_parse_list_queues(xmlDoc *, struct sqs_urls *urls,
	    char **ret_next, struct errbuf *) HOOKD_WUR;
/* CreateQueue or GetQueueUrl (action) reply: the QueueUrl. */
int	 sqs_parse_queue_url(xmlDoc *, const char *action, char **ret_url,
	    struct errbuf *) HOOKD_WUR;
/* Fills the results of entries (matched by Id). */
int	 sqs_parse_send_batch(xmlDoc *, struct sqs_batch_entry *entries,
	    size_t n, size_t *ret_failed, struct errbuf *) HOOKD_WUR;
/*
 * The same for JSON replies (objects as awsjson_parse() returns them):
 * "Messages" with "Attributes" and "MessageAttributes" objects,
 * "QueueUrls"/"NextToken", "QueueUrl", "Successful"/"Failed".
 */
int	 sqs_json_parse_receive(const json_t *, struct sqs_messages *ret,
	    struct errbuf *) HOOKD_WUR;
int	 sqs_json_parse_list_queues(const json_t *, struct sqs_urls *urls,
	    char **ret_next, struct errbuf *) HOOKD_WUR;
int	 sqs_json_parse_queue_url(const json_t *, const char *action,
	    char **ret_url, struct errbuf *) HOOKD_WUR;
int	 sqs_json_parse_send_batch(const json_t *,
	    struct sqs_batch_entry *entries, size_t n, size_t *ret_failed,
	    struct errbuf *) HOOKD_WUR;
/* Checks a batch before sending (EK_DATA), as sqs_send_batch() does. */
int	 sqs_check_batch(const struct sqs_batch_entry *entries, size_t n,
	    struct errbuf *) HOOKD_WUR;

#endif /* HOOKD_AWS_SQS_H */
