/* SPDX-License-Identifier: ISC */
/*
 * queue.c: the backend-independent half of the queue: the queue naming
 * rule, URL dispatch and thin wrappers over the operations table.  The
 * backends (queue_spool.c, later queue_sqs.c) do the work.
 */
#include "compat.h"

#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "caps.h"
#include "errbuf.h"
#include "message.h"
#include "names.h"
#include "queue.h"
#include "quote.h"
#include "xalloc.h"

#include "banned.h"

void
queue_msg_init(struct queue_msg *m)
{
	memset(m, 0, sizeof(*m));
}

void
queue_msg_release(struct queue_msg *m)
{
	free(m->id);
	free(m->receipt);
	free(m->body);
	queue_msg_init(m);
}

/* See queue.h. */
void
queue_on_aside(struct queue *q, void (*fn)(void *, const char *,
    const char *, const char *), void *arg)
{
	q->on_aside = fn;
	q->aside_arg = arg;
}

/* See queue.h. */
unsigned long
queue_aside_count(const struct queue *q)
{
	return q->naside;
}

/* See queue.h. */
void
queue_note_aside(struct queue *q, const char *file, const char *moved_to,
    const char *reason)
{
	q->naside++;
	if (q->on_aside != NULL)
		q->on_aside(q->aside_arg, file, moved_to, reason);
}

char *
queue_name(const char *prefix, const char *group, const char *instance,
    struct errbuf *eb)
{
	return queue_name_app(prefix, NULL, group, instance, eb);
}

char *
queue_name_app(const char *prefix, const char *app, const char *group,
    const char *instance, struct errbuf *eb)
{
	char	 qb[256];
	char	*name;
	size_t	 n;

	if (*prefix == '\0')
		goto badprefix;
	for (const char *p = prefix; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			goto badprefix;
	if ((app != NULL && name_check("application", app, eb) == -1) ||
	    name_check("group", group, eb) == -1 ||
	    name_check("instance", instance, eb) == -1) {
		eb->kind = EK_CONFIG;
		return NULL;
	}
	name = app != NULL ? xasprintf("%s-%s-%s-%s", prefix, app, group,
	    instance) : xasprintf("%s-%s-%s", prefix, group, instance);
	n = strlen(name);
	if (n > QUEUE_NAME_MAX) {
		errbuf_set(eb, EK_CONFIG, "queue name '%s' is %zu characters; "
		    "SQS allows %d (shorten queue_prefix, %sthe group or the "
		    "instance id)", name, n, QUEUE_NAME_MAX, app != NULL ?
		    "the application, " : "");
		free(name);
		return NULL;
	}
	for (char *p = name; *p != '\0'; p++)
		if (*p == '.')
			*p = '_';
	return name;
 badprefix:
	errbuf_set(eb, EK_CONFIG, "queue_prefix '%s': only letters, digits, "
	    "'_' and '-' are allowed, at least one",
	    quote_str(prefix, qb, sizeof(qb)));
	return NULL;
}

int
queue_open(const char *url, const char *name, unsigned visibility,
    struct aws_client *aws, struct queue **ret_queue, struct errbuf *eb)
{
	char	 qb[256];

	if (visibility == 0)
		visibility = QUEUE_VISIBILITY_DEFAULT;
	if (visibility > QUEUE_VISIBILITY_MAX)
		return errbuf_set(eb, EK_CONFIG, "visibility timeout %u s is "
		    "above %d s", visibility, QUEUE_VISIBILITY_MAX);
	if (strncmp(url, "file://", 7) == 0 && url[7] == '/')
		return queue_spool_new(url + 7, name, visibility, ret_queue,
		    eb);
	if (strcmp(url, "sqs") == 0)
		return queue_sqs_new(aws, name, visibility, ret_queue, eb);
	return errbuf_set(eb, EK_CONFIG, "queue '%s': must be file:///PATH "
	    "or sqs", quote_str(url, qb, sizeof(qb)));
}

void
queue_free(struct queue *q)
{
	if (q == NULL)
		return;
	if (q->ops != NULL && q->ops->release != NULL)
		q->ops->release(q);
	free(q->name);
	free(q);
}

int
queue_ensure(struct queue *q, struct errbuf *eb)
{
	return q->ops->ensure(q, eb);
}

int
queue_receive(struct queue *q, unsigned wait_sec, struct queue_msg *ret_msg,
    struct errbuf *eb)
{
	if (wait_sec > QUEUE_WAIT_MAX)
		wait_sec = QUEUE_WAIT_MAX;
	return q->ops->receive(q, wait_sec, ret_msg, eb);
}

int
queue_delete(struct queue *q, const char *receipt, struct errbuf *eb)
{
	return q->ops->del(q, receipt, eb);
}

int
queue_extend(struct queue *q, const char *receipt, unsigned seconds,
    struct errbuf *eb)
{
	if (seconds > QUEUE_VISIBILITY_MAX)
		seconds = QUEUE_VISIBILITY_MAX;
	return q->ops->extend(q, receipt, seconds, eb);
}

int
queue_send(struct queue *q, const char *body, size_t len, struct errbuf *eb)
{
	if (len > QUEUE_BODY_MAX)
		return errbuf_set(eb, EK_DATA, "message is %zu bytes; a queue "
		    "takes at most %d", len, QUEUE_BODY_MAX);
	return q->ops->send(q, body, len, eb);
}

int
queue_reject(struct queue *q, const struct queue_msg *m, const char *reason,
    struct errbuf *eb)
{
	return q->ops->reject(q, m, reason, eb);
}

int
queue_get_fd(struct queue *q)
{
	return q->ops->get_fd == NULL ? -1 : q->ops->get_fd(q);
}

int
queue_destroy(struct queue *q, struct errbuf *eb)
{
	return q->ops->destroy(q, eb);
}

int
queue_list(const char *url, struct aws_client *aws, const char *prefix,
    char ***ret_names, size_t *ret_n, struct errbuf *eb)
{
	char	 qb[256];

	if (strncmp(url, "file://", 7) == 0 && url[7] == '/')
		return queue_spool_list(url + 7, prefix, ret_names, ret_n, eb);
	return errbuf_set(eb, EK_CONFIG, "queue '%s': cannot list queues "
	    "here", quote_str(url, qb, sizeof(qb)));
}
