/* SPDX-License-Identifier: ISC */
/*
 * fuzz_config.c: libFuzzer target for the hookd.yml and deployer.yml
 * parsers (the first input byte picks which).  Any input must end in a
 * clean accept or a clean EK_CONFIG reject with at least one error in
 * "name:line:col: " form: never a crash, a leak, a hang or undefined
 * behaviour.  Built by 'make fuzz'; seeds in tests/fixtures/fuzz/config
 * (copies of tests/fixtures/config).
 */
#include "compat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errbuf.h"

#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config		 cfg;
	struct deployer_config	 dc;
	struct errbuf		 eb = { 0 };
	const char		*text = (const char *)data;

	/* Never read a key file named by fuzz input. */
	if (memmem(data, size, "message_key_file", 16) != NULL)
		return 0;
	if (size > 0 && data[0] == 'D') {
		deployer_config_init(&dc);
		if (deployer_config_parse(&dc, text + 1, size - 1, "fuzz.yml",
		    &eb) == -1) {
			if (eb.kind != EK_CONFIG || dc.nerrors == 0 ||
			    strncmp(eb.msg, "fuzz.yml:", 9) != 0)
				abort();
		} else if (dc.ngroups == 0 || dc.application == NULL)
			abort();
		deployer_config_release(&dc);
		return 0;
	}
	config_init(&cfg);
	if (config_parse(&cfg, text, size, "fuzz.yml", &eb) == -1) {
		if (eb.kind != EK_CONFIG || cfg.nerrors == 0 ||
		    strncmp(eb.msg, "fuzz.yml:", 9) != 0)
			abort();
	} else if (cfg.application == NULL || cfg.store == NULL ||
	    cfg.queue == NULL || cfg.root == NULL)
		abort();
	config_release(&cfg);
	return 0;
}
