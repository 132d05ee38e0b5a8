/* SPDX-License-Identifier: ISC */
/*
 * queue.h: the deployment-message queue of one daemon (DESIGN.md "Queues
 * and fan-out"), one interface over several backends:
 *
 *   file:///ABS   queue_spool.c, a maildir-like spool directory
 *   sqs           queue_sqs.c, on lib/aws/sqs.h (backends.h)
 *
 * Semantics are SQS's, so the daemon has one code path: receive() hides a
 * message for the visibility timeout and hands out a receipt; delete()
 * with that receipt acknowledges it; a message not deleted in time is
 * delivered again with a higher receive_count; extend() pushes the
 * deadline while a deployment runs.  reject() is for a message that can
 * never succeed (spool: moved to failed/ with a reason; SQS: left to the
 * redrive policy, which moves it to the dead-letter queue).
 */
#ifndef HOOKD_QUEUE_H
#define HOOKD_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "compat.h"

struct aws_client;
struct errbuf;
struct queue;

#define QUEUE_VISIBILITY_DEFAULT	300	/* seconds */
#define QUEUE_VISIBILITY_MAX		43200	/* seconds; SQS's 12 hours */
#define QUEUE_WAIT_MAX			20	/* seconds; SQS's long poll */

/* One received message; queue_msg_release() frees it. */
struct queue_msg {
	char		*id;		/* stable message id */
	char		*receipt;	/* for delete/extend/reject */
	char		*body;		/* NUL-terminated (may hold NULs) */
	size_t		 len;		/* body bytes */
	unsigned	 receive_count;	/* 1 on the first delivery */
};

void	queue_msg_init(struct queue_msg *);
void	queue_msg_release(struct queue_msg *);

/*
 * What a backend implements.  0 on success, -1 with eb set, unless said
 * otherwise.  Unreachable service: EK_UNAVAIL/EK_TEMP; a receipt that no
 * longer holds the message (its visibility lapsed and it was delivered
 * again, or it was deleted): EK_NOINPUT.
 */
struct queue_ops {
	const char	*scheme;	/* "spool", "sqs" */
	/* Create the queue if missing (SQS: with its DLQ and redrive). */
	int	(*ensure)(struct queue *, struct errbuf *);
	/*
	 * Wait up to wait_sec (0: don't wait) for a message.  1 and
	 * *ret_msg filled, 0 when none arrived (also when a signal
	 * interrupted the wait), -1 on error.
	 */
	int	(*receive)(struct queue *, unsigned wait_sec,
		    struct queue_msg *ret_msg, struct errbuf *);
	int	(*del)(struct queue *, const char *receipt, struct errbuf *);
	/* Hide the message for 'seconds' more, counted from now. */
	int	(*extend)(struct queue *, const char *receipt, unsigned seconds,
		    struct errbuf *);
	/* Send a body of at most QUEUE_BODY_MAX bytes (the deployer). */
	int	(*send)(struct queue *, const char *body, size_t len,
		    struct errbuf *);
	int	(*reject)(struct queue *, const struct queue_msg *,
		    const char *reason, struct errbuf *);
	/* An fd that polls readable when a message may be waiting, or -1. */
	int	(*get_fd)(struct queue *);
	/* Remove the queue and everything in it (delete_queue_on_shutdown). */
	int	(*destroy)(struct queue *, struct errbuf *);
	/* Free the backend's state (not the struct queue). */
	void	(*release)(struct queue *);
};

struct queue {
	const struct queue_ops	*ops;
	char			*name;		/* PREFIX-GROUP-INSTANCE */
	unsigned		 visibility;	/* seconds a receive hides */
	void			*priv;		/* the backend's */
	/* Set-asides (queue_on_aside); zero from queue_open. */
	void			(*on_aside)(void *arg, const char *file,
				    const char *moved_to, const char *reason);
	void			*aside_arg;
	unsigned long		 naside;	/* set aside since open */
};

/*
 * Set-asides: a message the backend itself moves out of the way without
 * ever delivering it (spool: larger than QUEUE_BODY_MAX, delivered more
 * than QUEUE_MAX_RECEIVES times, a file name that is not a spool name, a
 * duplicate id; it goes to failed/ with a .reason file).  lib/ logs
 * those at debug only, so the caller registers fn to hear of each, with
 * the file as it was found ("new/ID,0"), where it went ("ID,1" in
 * failed/) and why, all three quoted printable (quote.h).  fn runs
 * inside queue_receive(); it must not call the queue.  NULL: none.  A
 * reject() the caller asked for is not a set-aside.
 */
void	queue_on_aside(struct queue *, void (*fn)(void *arg, const char *file,
	    const char *moved_to, const char *reason), void *arg);
/* How many messages were set aside since the queue was opened. */
unsigned long queue_aside_count(const struct queue *);
/* For backends: count one set-aside and tell the callback, if any. */
void	queue_note_aside(struct queue *, const char *file,
	    const char *moved_to, const char *reason);

/*
 * The queue name of one daemon: PREFIX-GROUP-INSTANCE, with '.' mapped to
 * '_' (SQS allows only [A-Za-z0-9_-]), at most QUEUE_NAME_MAX characters.
 * Returns a new string, or NULL with EK_CONFIG naming what is too long or
 * which character is not allowed.
 */
char	*queue_name(const char *prefix, const char *group, const char *instance,
	    struct errbuf *);
/*
 * The same for a daemon serving several groups (hookd.yml groups:):
 * PREFIX-APP-GROUP-INSTANCE, so two applications' groups of one name
 * never share a queue.  'app' NULL gives queue_name()'s form.
 */
char	*queue_name_app(const char *prefix, const char *app, const char *group,
	    const char *instance, struct errbuf *);

/*
 * Open the queue 'name' at 'url' ("sqs" or file:///ABS, the spool's base
 * directory) with 'visibility' seconds (0: QUEUE_VISIBILITY_DEFAULT).
 * 'aws' is the client an sqs queue uses (borrowed, must outlive the
 * queue; may be NULL for a spool).  Does not create the queue and does
 * not touch the network (queue_ensure does).  Returns a new queue
 * (queue_free) or -1 with EK_CONFIG.
 */
int	queue_open(const char *url, const char *name, unsigned visibility,
	    struct aws_client *aws, struct queue **ret_queue, struct errbuf *);
/* Release the backend and free the queue; NULL-safe. */
void	queue_free(struct queue *);

/* The operations (see struct queue_ops); they may block (network, wait). */
int	queue_ensure(struct queue *, struct errbuf *);
int	queue_receive(struct queue *, unsigned wait_sec, struct queue_msg *,
	    struct errbuf *);
int	queue_delete(struct queue *, const char *receipt, struct errbuf *);
int	queue_extend(struct queue *, const char *receipt, unsigned seconds,
	    struct errbuf *);
int	queue_send(struct queue *, const char *body, size_t len,
	    struct errbuf *);
int	queue_reject(struct queue *, const struct queue_msg *,
	    const char *reason, struct errbuf *);
int	queue_get_fd(struct queue *);
int	queue_destroy(struct queue *, struct errbuf *);

/*
 * The names of the queues at 'url' starting with 'prefix' (the deployer's
 * fan-out; SQS: ListQueues).  A new array of new strings, sorted
 * (free each, then the array).  EK_CONFIG for an unsupported URL.
 */
int	queue_list(const char *url, struct aws_client *aws,
	    const char *prefix, char ***ret_names, size_t *ret_n,
	    struct errbuf *);

/*
 * The spool backend (queue_spool.c): DIR/NAME/{tmp,new,cur,failed}.
 * 'dir' is absolute.  Returns a new queue, or -1.
 */
int	queue_spool_new(const char *dir, const char *name, unsigned visibility,
	    struct queue **ret_queue, struct errbuf *);
int	queue_spool_list(const char *dir, const char *prefix,
	    char ***ret_names, size_t *ret_n, struct errbuf *);

#endif /* HOOKD_QUEUE_H */
