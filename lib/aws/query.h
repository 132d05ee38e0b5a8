/* SPDX-License-Identifier: ISC */
/*
 * query.h: the AWS Query protocol as SQS and Auto Scaling speak it.  A
 * request is a list of form parameters (Action, Version, then the
 * operation's own, flattened as "Entry.N.Field"); it is sent with
 * aws_request() as a form-encoded POST, and a 2xx reply must be an XML
 * document whose root element is "<Action>Response".  This file only
 * builds parameter lists and checks reply envelopes; the services own
 * their operations (sqs.c, asg.c).
 */
#ifndef HOOKD_AWS_QUERY_H
#define HOOKD_AWS_QUERY_H

#include <stddef.h>

#include <libxml/tree.h>

#include "compat.h"

struct aws_client;
struct aws_result;
struct aws_service;
struct errbuf;

/* A growing list of form parameters; every string is owned (copied). */
struct aws_query {
	char		*action;
	struct aws_param *v;
	size_t		 n;
	size_t		 cap;
};

/* Start a list with Action=action and Version=version (both copied). */
void	 aws_query_init(struct aws_query *, const char *action,
	    const char *version);
/* Free every name and value; safe on a zeroed list. */
void	 aws_query_release(struct aws_query *);
/* Append name=value (both copied; value NULL is skipped). */
void	 aws_query_add(struct aws_query *, const char *name,
	    const char *value);
/* Append a parameter whose name is formatted ("Attribute.%zu.Name"). */
void	 aws_query_addf(struct aws_query *, const char *value,
	    const char *namefmt, ...) HOOKD_PRINTF(3, 4);
/* Append name=N for an unsigned number. */
void	 aws_query_addu(struct aws_query *, const char *name,
	    unsigned long long value);

/*
 * Send q with aws_request() to url (NULL: the service endpoint), as
 * operation q->action of svc, its parameters as the form body
 * (aws_form_encode()), with a per-attempt timeout of timeout_ms (0:
 * the client's; non-zero is for a long poll: the server may hold the
 * reply that long, so no low-speed abort).  On success, parses the
 * reply and returns 0 with a new document in *ret_doc (awsxml_free()).
 * res (initialised by the caller with aws_result_init()) is filled on
 * success and failure, so the caller can look at res->code after -1.
 * Returns -1 with eb set: the kinds of aws_request(), or EK_PROTO when a
 * 2xx reply is not XML or has the wrong root element ("sqs CreateQueue:
 * unexpected reply: ...").  Blocks like aws_request().
 */
int	 aws_query_call(struct aws_client *, const struct aws_service *,
	    const char *url, const struct aws_query *, long timeout_ms,
	    xmlDoc **ret_doc, struct aws_result *res, struct errbuf *)
	    HOOKD_WUR;

/*
 * aws_query_call() page by page while a reply names a NextToken, which
 * the next call adds to q: page(doc, arg, &token, eb) reads one reply
 * into arg and sets token (owned) to the next page's, NULL on the last.
 * q is left as given.  Returns 0, or -1 with eb set by either.
 */
int	 aws_query_pages(struct aws_client *, const struct aws_service *,
	    struct aws_query *, int (*page)(xmlDoc *, void *arg, char **,
	    struct errbuf *), void *arg, struct errbuf *) HOOKD_WUR;

/*
 * Check that doc's root element is "<action>Response" and return its
 * "<action>Result" child (borrowed; NULL when the reply has none, which
 * is valid for operations without output).  Returns 0, or -1 with eb set
 * (EK_PROTO) for the wrong root.  Used by the parsers, which tests call
 * on fixture files.
 */
int	 aws_query_result(xmlDoc *doc, const char *svc, const char *action,
	    xmlNode **ret_result, struct errbuf *) HOOKD_WUR;

#endif /* HOOKD_AWS_QUERY_H */
