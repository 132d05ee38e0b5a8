/* SPDX-License-Identifier: ISC */
/*
 * xml.h: small libxml2 helpers for AWS Query and S3 replies.  Documents
 * are parsed from a bounded buffer with no network access, no entity
 * substitution, no DTD loading, a size cap and a nesting-depth cap, so a
 * hostile reply cannot expand entities or exhaust memory.  Lookups go by
 * local element name and ignore namespaces (AWS replies carry a default
 * xmlns that differs by service and API version).
 *
 * Nodes are libxml2's xmlNode; they are borrowed from the document and
 * die with awsxml_free().
 */
#ifndef HOOKD_AWS_XML_H
#define HOOKD_AWS_XML_H

#include <stddef.h>

#include <libxml/tree.h>

#include "caps.h"
#include "compat.h"

struct errbuf;


/*
 * Parse len bytes of data (need not be NUL-terminated).  Returns a new
 * document (free with awsxml_free()), or NULL with eb set: EK_PROTO "not
 * XML: LINE:COL: reason", "XML document too large", "XML nested too
 * deeply", "XML with a DOCTYPE / entity declarations refused".
 */
xmlDoc	*awsxml_parse(const void *data, size_t len, struct errbuf *);
/* Free a document; NULL-safe. */
void	 awsxml_free(xmlDoc *);

/* The root element, borrowed, or NULL. */
xmlNode	*awsxml_root(xmlDoc *);

/* Whether n is an element with this local name (namespace ignored). */
int	 awsxml_is(const xmlNode *n, const char *name);

/* The first child element of parent with local name, borrowed, or NULL. */
xmlNode	*awsxml_child(const xmlNode *parent, const char *name);

/*
 * Follow a path of child names from parent: awsxml_path(root,
 * "ReceiveMessageResult", "Message", NULL).  NULL-terminated list.
 * Returns the element, borrowed, or NULL if any step is missing.
 */
xmlNode	*awsxml_path(const xmlNode *parent, ...)
	    __attribute__((__sentinel__));

/*
 * Iterate over the element children of parent whose local name is name
 * (all element children if name is NULL):
 *	for (n = awsxml_first(p, "Message"); n != NULL;
 *	    n = awsxml_next(n, "Message"))
 */
xmlNode	*awsxml_first(const xmlNode *parent, const char *name);
xmlNode	*awsxml_next(const xmlNode *prev, const char *name);

/*
 * The text content of n (concatenated text/CDATA children; entities are
 * never expanded), as a new string (caller frees), or NULL if n is NULL.
 * Capped at AWSXML_TEXT_MAX (longer text is truncated).
 */
char	*awsxml_text(const xmlNode *n);

/*
 * Text of the first child called name, new string, or NULL when absent.
 * Shorthand for awsxml_text(awsxml_child(parent, name)).
 */
char	*awsxml_child_text(const xmlNode *parent, const char *name);

/*
 * An AWS error document: Query protocol
 * <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>
 * </ErrorResponse> (also with the Error wrapped in <Errors>, as moto
 * writes it), the older <Response><Errors><Error>...</Errors>
 * <RequestID/>, or S3 <Error><Code/><Message/><RequestId/></Error>.
 * Fields are new strings or NULL.
 */
struct awsxml_error {
	char	*type;		/* "Sender" / "Receiver" (Query only) */
	char	*code;		/* "AWS.SimpleQueueService.NonExistentQueue" */
	char	*message;
	char	*request_id;
};

void	 awsxml_error_init(struct awsxml_error *);
void	 awsxml_error_release(struct awsxml_error *);

/*
 * Parse an error document from data/len into *ret (initialised by the
 * caller; filled only on success).  Returns 0 when a Code was found, or
 * -1 with eb set (EK_PROTO: not XML, or no error Code in it).
 */
int	 awsxml_parse_error(const void *data, size_t len,
	    struct awsxml_error *ret, struct errbuf *) HOOKD_WUR;

#endif /* HOOKD_AWS_XML_H */
