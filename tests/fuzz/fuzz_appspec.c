/* SPDX-License-Identifier: ISC */
/*
 * fuzz_appspec.c: libFuzzer target for the appspec parser.  Any input
 * must end in a clean accept or a clean reject with at least one error
 * in "name:line:col: " form: never a crash, a leak, a hang or undefined
 * behaviour.  Built by 'make fuzz'; seeds in tests/fixtures/fuzz/appspec.
 */
#include "compat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "appspec.h"
#include "errbuf.h"

#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct appspec	 as;
	struct errbuf	 eb = { 0 };

	appspec_init(&as);
	if (appspec_parse(&as, (const char *)data, size, "fuzz.yml",
	    &eb) == -1) {
		if (eb.kind != EK_DATA || as.nerrors == 0 ||
		    strncmp(eb.msg, "fuzz.yml:", 9) != 0)
			abort();
	} else if (as.nerrors != 0 || as.version == NULL || as.os == NULL)
		abort();
	appspec_release(&as);
	return 0;
}
