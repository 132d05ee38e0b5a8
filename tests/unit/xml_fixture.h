/* SPDX-License-Identifier: ISC */
/*
 * xml_fixture.h: a fixture file parsed as an AWS XML reply, for the unit
 * tests of the Query-protocol parsers.  xml_load() fails the test when
 * the file cannot be read or parsed.  Included after <cmocka.h> and
 * "slurp.h": static functions only.
 */
#ifndef HOOKD_XML_FIXTURE_H
#define HOOKD_XML_FIXTURE_H

#include <stdlib.h>

#include <libxml/tree.h>

#include "aws/xml.h"
#include "errbuf.h"

/* The document in path; the caller frees it with awsxml_free(). */
static xmlDoc * __attribute__((__unused__))
xml_load(const char *path)
{
	struct errbuf	 eb = { 0 };
	xmlDoc		*doc;
	char		*data;
	size_t		 len;

	data = slurp(path, &len);
	doc = awsxml_parse(data, len, &eb);
	free(data);
	if (doc == NULL)
		fail_msg("%s: %s", path, eb.msg);
	return doc;
}

#endif /* HOOKD_XML_FIXTURE_H */
