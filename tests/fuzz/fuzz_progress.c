/* SPDX-License-Identifier: ISC */
/*
 * fuzz_progress.c: libFuzzer target for the readers of the documents a
 * daemon writes to the store (progress documents and registry entries,
 * lib/progress.h), which the deployer reads from a store anyone with
 * write access may have filled.  Any input must end in a clean accept
 * (every member the view names then a string or NULL) or a clean
 * EK_DATA reject: never a crash, a leak or undefined behaviour.  Built by
 * 'make fuzz'; seeds in tests/fixtures/fuzz/progress.
 */
#include "compat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "progress.h"

#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
touch(const char *s)
{
	/* A string the view names must be readable to its end. */
	if (s != NULL && strlen(s) > (size_t)1 << 30)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct progress_view	 pv;
	struct registry_view	 rv;
	struct errbuf		 eb = { 0 };

	if (progress_parse((const char *)data, size, &pv, &eb) == 0) {
		if (pv.status == NULL)
			abort();
		touch(pv.deployment_id);
		touch(pv.instance);
		touch(pv.event);
		touch(pv.message);
		touch(pv.script);
		touch(pv.tail);
		touch(pv.started_at);
		touch(pv.finished_at);
		(void)progress_status_final(pv.status);
		(void)progress_status_failed(pv.status);
		progress_view_release(&pv);
	} else if (eb.kind != EK_DATA || pv.doc != NULL)
		abort();
	memset(&eb, 0, sizeof(eb));
	if (registry_parse((const char *)data, size, &rv, &eb) == 0) {
		if (rv.instance == NULL)
			abort();
		touch(rv.queue);
		touch(rv.last_seen);
		touch(rv.current_id);
		touch(rv.in_progress_id);
		touch(rv.boot_id);
		touch(rv.hostname);
		touch(rv.dup_boot_id);
		touch(rv.dup_hostname);
		touch(rv.dup_last_seen);
		registry_view_release(&rv);
	} else if (eb.kind != EK_DATA || rv.doc != NULL)
		abort();
	return 0;
}
