/* SPDX-License-Identifier: ISC */
/*
 * backends.h: the AWS backends of the queue and store interfaces, which
 * queue_open() and store_open() dispatch to:
 *
 *   queue "sqs"          queue_sqs.c, on lib/aws/sqs.h
 *   store "s3://B/P"     store_s3.c, on lib/aws/s3.h
 */
#ifndef HOOKD_BACKENDS_H
#define HOOKD_BACKENDS_H

#include <stdbool.h>
#include <stddef.h>

#include "compat.h"

struct aws_client;
struct aws_pool;
struct errbuf;
struct queue;
struct store;

#define SQS_DLQ_SUFFIX		"-dlq"
#define SQS_MAX_RECEIVES	5	/* RedrivePolicy maxReceiveCount */
#define SQS_DLQ_RETENTION	1209600	/* seconds: 14 days, SQS's maximum */

/*
 * The SQS backend: queue 'name' (PREFIX-GROUP-INSTANCE) through 'aws'
 * (borrowed; must outlive the queue).  Does no I/O; ensure() creates
 * NAME-dlq and NAME with a RedrivePolicy (maxReceiveCount
 * SQS_MAX_RECEIVES) and VisibilityTimeout 'visibility'.
 * receive() long-polls with WaitTimeSeconds = wait_sec; reject() makes
 * the message visible again at once so that the redrive policy moves it
 * to the dead-letter queue after SQS_MAX_RECEIVES deliveries.  Returns a
 * new queue (queue_free), or -1 with eb set (EK_CONFIG: no client, a
 * name too long for its DLQ).
 */
int	queue_sqs_new(struct aws_client *aws, const char *name,
	    unsigned visibility, struct queue **ret_queue, struct errbuf *);
/* Queue names with 'prefix' (ListQueues), sorted, new strings. */
int	queue_sqs_list(struct aws_client *aws, const char *prefix,
	    char ***ret_names, size_t *ret_n, struct errbuf *);

/*
 * The S3 backend: objects under s3://BUCKET/PREFIX/KEY through 'aws'
 * (borrowed; must outlive the store).  Does no I/O.  ETags are S3's, quotes
 * included; put_if uses If-None-Match / If-Match.  Returns a new store,
 * or -1 with eb set (EK_CONFIG for a bad URL or no client).
 */
int	store_s3_new(const char *url, struct aws_client *aws,
	    struct store **ret_store, struct errbuf *);

/*
 * The end of one queue of backend_queue_send_many(): i is the index in
 * names; eb NULL when the message went, else why not (EK_NOINPUT: no
 * such queue).
 */
typedef void	queue_sent_fn(void *arg, size_t i, const struct errbuf *eb);

/*
 * Send one message body to each of the queues names[0..n-1] of the
 * backend 'url'.  "sqs": one ListQueues by the names' common prefix
 * (a request per 1,000 queues; GetQueueUrl for a name the listing did
 * not show yet) gives the URLs, then every SendMessage goes at once
 * through pool (made on aws; sqs_send_many).  Other backends: one
 * queue after the other.  Each queue is reported to sent() once.
 * Returns 0 once all were reported; -1 with eb set when none could be
 * tried (a refused body, the listing failed) or the sends were
 * interrupted (the queues not reported were not sent to).
 */
int	backend_queue_send_many(const char *url, struct aws_client *aws,
	    struct aws_pool *pool, const char *const *names, size_t n,
	    const char *body, size_t len, queue_sent_fn *sent, void *arg,
	    struct errbuf *);

/*
 * backend_queue_send_many() without waiting for the sends: on "sqs"
 * the listing is done and the SendMessages go out as the pool has room
 * (sqs_send_start) while the caller moves the pool along with its other
 * requests (aws_pool_run until *backend_queue_sends_left() is 0); other
 * backends send at once.  names are not kept.  *ret is freed with
 * backend_queue_sends_free(), which reports the queues not sent to yet
 * as failed (EK_TEMP, "interrupted") and waits for those in flight.
 */
struct queue_sends;
int	backend_queue_send_start(const char *url, struct aws_client *aws,
	    struct aws_pool *pool, const char *const *names, size_t n,
	    const char *body, size_t len, queue_sent_fn *sent, void *arg,
	    struct queue_sends **ret, struct errbuf *);
const size_t *backend_queue_sends_left(const struct queue_sends *);
void	backend_queue_sends_free(struct queue_sends *);

#endif /* HOOKD_BACKENDS_H */
