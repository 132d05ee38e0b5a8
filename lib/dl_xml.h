/* SPDX-License-Identifier: ISC */
/* dl_xml.h: libxml2, loaded on first use (see dl.h). */
#ifndef HOOKD_DL_XML_H
#define HOOKD_DL_XML_H

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "dl.h"

#define DL_XML_SYMS(X)							\
	X(xmlCtxtGetLastError)						\
	X(xmlCtxtReadMemory)						\
	X(xmlDocGetRootElement)						\
	X(xmlFreeDoc)							\
	X(xmlFreeParserCtxt)						\
	X(xmlNewParserCtxt)

DL_XML_SYMS(DL_DECLARE)

#ifndef DL_NO_REDIRECT
#define DL_X(name)	DL_CALL(DL_XML, name)
#define xmlCtxtGetLastError	DL_X(xmlCtxtGetLastError)
#define xmlCtxtReadMemory	DL_X(xmlCtxtReadMemory)
#define xmlDocGetRootElement	DL_X(xmlDocGetRootElement)
#define xmlFreeDoc	DL_X(xmlFreeDoc)
#define xmlFreeParserCtxt	DL_X(xmlFreeParserCtxt)
#define xmlNewParserCtxt	DL_X(xmlNewParserCtxt)
#endif

#endif /* HOOKD_DL_XML_H */
