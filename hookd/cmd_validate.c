/* SPDX-License-Identifier: ISC */
/*
 * cmd_validate.c: 'hookd validate PATH' (placeholder until the appspec
 * parser lands).
 */
#include "compat.h"

#include <stdio.h>
#include <sysexits.h>

#include "hookd.h"

#include "banned.h"

int
cmd_validate(int argc, char **argv)
{
	fprintf(stderr, "hookd: validate: not implemented yet\n");
	return EX_SOFTWARE;
}
