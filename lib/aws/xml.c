/* SPDX-License-Identifier: ISC */
/*
 * xml.c: bounded, entity-free libxml2 parsing of AWS replies and lookups
 * by local name (see xml.h).  The parse options are chosen for hostile
 * input: XML_PARSE_NONET (no network), no XML_PARSE_NOENT (entities are
 * never substituted), no XML_PARSE_DTDLOAD/DTDATTR (no external subsets),
 * no XML_PARSE_HUGE (libxml2's own text and depth limits stay on).  A
 * document with a DOCTYPE is refused outright: AWS never sends one, and it
 * is the only way to declare entities.  This file is the only one that
 * sees libxml2's error type.
 */
#include "compat.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "aws/xml.h"
#include "buf.h"
#include "errbuf.h"
#include "quote.h"
#include "xalloc.h"
#include "dl_xml.h"

#include "banned.h"

/* Deepest element nesting below n (n itself counts 1), stopping at cap. */
static int
depth_of(const xmlNode *n, int cur, int cap)
{
	int	deepest = cur;

	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		int	d;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (cur + 1 > cap)
			return cur + 1;
		d = depth_of(c, cur + 1, cap);
		if (d > deepest)
			deepest = d;
		if (deepest > cap)
			break;
	}
	return deepest;
}

xmlDoc *
awsxml_parse(const void *data, size_t len, struct errbuf *eb)
{
	xmlParserCtxt	*ctxt;
	xmlDoc		*doc;
	const xmlError	*xe;
	xmlNode		*root;

	if (len > AWSXML_DOC_MAX) {
		errbuf_set(eb, EK_PROTO, "XML document too large (%zu bytes, "
		    "limit %d)", len, AWSXML_DOC_MAX);
		return NULL;
	}
	if (len == 0) {
		errbuf_set(eb, EK_PROTO, "not XML: empty reply");
		return NULL;
	}
	if ((ctxt = xmlNewParserCtxt()) == NULL) {
		errbuf_set(eb, EK_OS, "cannot create an XML parser");
		return NULL;
	}
	doc = xmlCtxtReadMemory(ctxt, data, (int)len, "reply.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
	    XML_PARSE_NOCDATA);
	if (doc == NULL) {
		xe = xmlCtxtGetLastError(ctxt);
		if (xe != NULL && xe->message != NULL) {
			char	*m = xstrdup(xe->message);
			size_t	 l = strlen(m);

			while (l > 0 && (m[l - 1] == '\n' || m[l - 1] == ' '))
				m[--l] = '\0';
			errbuf_set(eb, EK_PROTO, "not XML: %d:%d: %s",
			    xe->line, xe->int2, m);
			free(m);
		} else
			errbuf_set(eb, EK_PROTO, "not XML");
		xmlFreeParserCtxt(ctxt);
		return NULL;
	}
	xmlFreeParserCtxt(ctxt);
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		xmlFreeDoc(doc);
		errbuf_set(eb, EK_PROTO, "XML with a DOCTYPE / entity "
		    "declarations refused");
		return NULL;
	}
	if ((root = xmlDocGetRootElement(doc)) == NULL) {
		xmlFreeDoc(doc);
		errbuf_set(eb, EK_PROTO, "not XML: no root element");
		return NULL;
	}
	if (depth_of(root, 1, AWSXML_DEPTH_MAX) > AWSXML_DEPTH_MAX) {
		xmlFreeDoc(doc);
		errbuf_set(eb, EK_PROTO, "XML nested too deeply (limit %d)",
		    AWSXML_DEPTH_MAX);
		return NULL;
	}
	return doc;
}

void
awsxml_free(xmlDoc *doc)
{
	if (doc != NULL)
		xmlFreeDoc(doc);
}

xmlNode *
awsxml_root(xmlDoc *doc)
{
	return doc == NULL ? NULL : xmlDocGetRootElement(doc);
}

int
awsxml_is(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	    (name == NULL || strcmp((const char *)n->name, name) == 0);
}

xmlNode *
awsxml_first(const xmlNode *parent, const char *name)
{
	if (parent == NULL)
		return NULL;
	for (xmlNode *c = parent->children; c != NULL; c = c->next)
		if (awsxml_is(c, name))
			return c;
	return NULL;
}

xmlNode *
awsxml_next(const xmlNode *prev, const char *name)
{
	if (prev == NULL)
		return NULL;
	for (xmlNode *c = prev->next; c != NULL; c = c->next)
		if (awsxml_is(c, name))
			return c;
	return NULL;
}

xmlNode *
awsxml_child(const xmlNode *parent, const char *name)
{
	return awsxml_first(parent, name);
}

xmlNode *
awsxml_path(const xmlNode *parent, ...)
{
	va_list		 ap;
	const char	*name;
	xmlNode		*n = (xmlNode *)(uintptr_t)parent;

	va_start(ap, parent);
	while (n != NULL && (name = va_arg(ap, const char *)) != NULL)
		n = awsxml_child(n, name);
	va_end(ap);
	return n;
}

char *
awsxml_text(const xmlNode *n)
{
	struct buf	b;

	if (n == NULL)
		return NULL;
	buf_init(&b, AWSXML_TEXT_MAX);
	for (const xmlNode *c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_TEXT_NODE &&
		    c->type != XML_CDATA_SECTION_NODE)
			continue;
		if (c->content == NULL)
			continue;
		if (buf_addstr(&b, (const char *)c->content) == -1) {
			/* Over the cap: keep what fits (documented). */
			size_t	room = AWSXML_TEXT_MAX;
			char	*t = xstrndup((const char *)c->content, room);

			return t;
		}
	}
	return buf_take(&b, NULL);
}

char *
awsxml_child_text(const xmlNode *parent, const char *name)
{
	return awsxml_text(awsxml_child(parent, name));
}

void
awsxml_error_init(struct awsxml_error *e)
{
	memset(e, 0, sizeof(*e));
}

void
awsxml_error_release(struct awsxml_error *e)
{
	free(e->type);
	free(e->code);
	free(e->message);
	free(e->request_id);
	memset(e, 0, sizeof(*e));
}

/* Replace *s (new, may be NULL) by its quoted form (quote.h), whole. */
static void
quote_in_place(char **s)
{
	char	*q;
	size_t	 len;

	if (*s == NULL)
		return;
	len = strlen(*s);
	q = quote_dup(*s, len, len * 4 + 8);
	free(*s);
	*s = q;
}

int
awsxml_parse_error(const void *data, size_t len, struct awsxml_error *ret,
    struct errbuf *eb)
{
	struct awsxml_error	 e;
	xmlDoc			*doc;
	xmlNode			*root, *err = NULL;

	if ((doc = awsxml_parse(data, len, eb)) == NULL)
		return -1;
	awsxml_error_init(&e);
	root = awsxml_root(doc);
	if (awsxml_is(root, "ErrorResponse")) {
		/*
		 * Query protocol (SQS, Auto Scaling, STS, IAM):
		 * ErrorResponse/Error.  moto (and some older endpoints)
		 * wrap it as ErrorResponse/Errors/Error, with no RequestId.
		 */
		if ((err = awsxml_child(root, "Error")) == NULL)
			err = awsxml_path(root, "Errors", "Error", NULL);
		e.request_id = awsxml_child_text(root, "RequestId");
		if (e.request_id == NULL)
			e.request_id = awsxml_child_text(root, "RequestID");
	} else if (awsxml_is(root, "Response")) {
		/* EC2-style: Response/Errors/Error + RequestID. */
		err = awsxml_path(root, "Errors", "Error", NULL);
		e.request_id = awsxml_child_text(root, "RequestID");
	} else if (awsxml_is(root, "Error")) {
		/* S3: the Error element is the root. */
		err = root;
		e.request_id = awsxml_child_text(root, "RequestId");
	}
	if (err != NULL) {
		e.type = awsxml_child_text(err, "Type");
		e.code = awsxml_child_text(err, "Code");
		e.message = awsxml_child_text(err, "Message");
		if (e.request_id == NULL)
			e.request_id = awsxml_child_text(err, "RequestId");
	}
	awsxml_free(doc);
	if (e.code == NULL || *e.code == '\0') {
		awsxml_error_release(&e);
		return errbuf_set(eb, EK_PROTO, "not an AWS error document");
	}
	/* The server's text goes into messages: quoted, as JSON's is. */
	quote_in_place(&e.type);
	quote_in_place(&e.code);
	quote_in_place(&e.message);
	quote_in_place(&e.request_id);
	*ret = e;
	return 0;
}
