/* SPDX-License-Identifier: ISC */
/*
 * cmd_validate.c: 'hookd validate PATH'.  PATH is an appspec file or a
 * bundle (a directory, .tar, .tar.gz/.tgz or .zip); for a bundle the
 * appspec is found at its root (or inside its single top-level folder)
 * and every hook location and files: source is checked against the
 * bundle's contents.  Prints every error and every warning (what
 * CodeDeploy accepts but ignores), one per line, to stderr; --strict
 * makes the warnings errors.
 *
 * Exit status: 0 valid (warnings or not), 65 invalid, 66 PATH missing, 64
 * usage, 74 local I/O failure.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "appspec.h"
#include "bundle.h"
#include "caps.h"
#include "errbuf.h"
#include "hookd.h"
#include "log.h"
#include "validate.h"
#include "version.h"
#include "xalloc.h"

#include "banned.h"

static const char validate_usage[] =
    "usage: hookd validate [-sv] [--strict] [--help] [--version] PATH";

static void
validate_help(void)
{
	printf("%s\n\n"
	    "Check an appspec.yml, or a bundle (a directory, .tar, .tar.gz,\n"
	    ".tgz or .zip) holding one at its root or in its single top-level\n"
	    "folder.  For a bundle, every hook location must be a regular\n"
	    "file inside it and every files: source must exist in it.\n"
	    "Warnings name what CodeDeploy accepts but ignores (a typo'd key\n"
	    "or event) or reads differently; they do not make PATH invalid.\n\n"
	    "options:\n"
	    "  -s, --strict   warnings are errors\n"
	    "  -v, --verbose  print a one-line summary when PATH is valid\n"
	    "  -h, --help     show this help\n"
	    "      --version  show the version\n\n"
	    "exit status: 0 valid (warnings on stderr), 65 invalid (every\n"
	    "error on stderr),\n"
	    "66 PATH does not exist, 64 usage error; see hookd(8)\n",
	    validate_usage);
}

/* Print every warning, each as "warning: FILE:LINE:COL: path: what". */
static void
report_warnings(const struct appspec *as)
{
	for (size_t i = 0; i < as->nwarnings; i++)
		fprintf(stderr, "warning: %s\n", as->warnings[i]);
}

/* Print every error the load found (and the warnings), and a summary. */
static int
report_invalid(const char *path, const struct appspec *as,
    const struct errbuf *eb, bool strict)
{
	if (eb->kind != EK_DATA || as->nerrors == 0) {
		/* Not the appspec's fault: one line, no list. */
		fprintf(stderr, "hookd: validate: %s\n", eb->msg);
		return errbuf_exitcode(eb);
	}
	for (size_t i = 0; i < as->nerrors; i++)
		fprintf(stderr, "%s\n", as->errors[i]);
	if (!strict)
		report_warnings(as);
	fprintf(stderr, "hookd: validate: '%s' is not valid (%s%zu error%s",
	    path, as->nerrors >= APPSPEC_ERRORS_MAX ? "at least " : "",
	    as->nerrors, as->nerrors == 1 ? "" : "s");
	if (strict && as->nwarnings > 0)
		fprintf(stderr, "; --strict made %zu warning%s error%s",
		    as->nwarnings, as->nwarnings == 1 ? " an" : "s",
		    as->nwarnings == 1 ? "" : "s");
	else if (as->nwarnings > 0)
		fprintf(stderr, ", %zu warning%s", as->nwarnings,
		    as->nwarnings == 1 ? "" : "s");
	fprintf(stderr, ")\n");
	return errbuf_exitcode(eb);
}

static void
report_valid(const char *path, const struct appspec *as, bool bundle)
{
	size_t	 nscripts = 0, nevents = 0;

	for (int e = 0; e < LC_NEVENTS; e++) {
		nscripts += as->nhooks[e];
		nevents += as->nhooks[e] > 0;
	}
	printf("%s: valid %s: %zu script%s in %zu event%s, %zu files "
	    "entr%s, %zu permission%s\n", path, bundle ? "bundle" : "appspec",
	    nscripts, nscripts == 1 ? "" : "s", nevents,
	    nevents == 1 ? "" : "s", as->nfiles, as->nfiles == 1 ? "y" : "ies",
	    as->nperms, as->nperms == 1 ? "" : "s");
}

/*
 * Report the outcome r (0 or -1 with eb) of a load into as: with
 * 'strict', warnings become errors first.  Returns the exit status.
 */
static int
report(const char *path, struct appspec *as, int r, struct errbuf *eb,
    int verbose, bool strict, bool bundle)
{
	struct errbuf	 eb2 = { 0 };

	if (strict && (r == 0 || (eb->kind == EK_DATA && as->nerrors > 0)) &&
	    appspec_strict(as, &eb2) == -1 && r == 0) {
		*eb = eb2;
		r = -1;
	}
	if (r != 0)
		return report_invalid(path, as, eb, strict);
	report_warnings(as);
	if (as->nwarnings > 0)
		fprintf(stderr, "hookd: validate: '%s' is valid, with %zu "
		    "warning%s (--strict refuses it)\n", path, as->nwarnings,
		    as->nwarnings == 1 ? "" : "s");
	if (verbose)
		report_valid(path, as, bundle);
	return 0;
}

/*
 * Check a bundle (a directory in place, an archive from its listing:
 * nothing is extracted); messages call its appspec PATH/REL.
 */
static int
validate_bundle(const char *path, int verbose, bool strict)
{
	struct appspec	 as;
	struct errbuf	 eb = { 0 };
	char		*prefix;
	int		 r, ret;

	appspec_init(&as);
	prefix = xasprintf("'%s': ", path);
	r = bundle_validate(&as, path, path, "/", prefix, &eb);
	ret = report(path, &as, r, &eb, verbose, strict, true);
	appspec_release(&as);
	free(prefix);
	return ret;
}

static int
validate_file(const char *path, int verbose, bool strict)
{
	struct appspec	 as;
	struct errbuf	 eb = { 0 };
	int		 r, ret;

	appspec_init(&as);
	r = appspec_load(&as, path, NULL, &eb);
	ret = report(path, &as, r, &eb, verbose, strict, false);
	appspec_release(&as);
	return ret;
}

/* Whether a name says "archive" (the contents decide what it is). */
static bool
archive_name(const char *path)
{
	static const char *const ext[] = { ".tar", ".tgz", ".tar.gz", ".zip" };
	size_t	 len = strlen(path);

	for (size_t i = 0; i < nitems(ext); i++) {
		size_t	 el = strlen(ext[i]);

		if (len > el && strcasecmp(path + len - el, ext[i]) == 0)
			return true;
	}
	return false;
}

/* 'hookd validate [-sv] PATH'; returns the exit status. */
int
cmd_validate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL, 'h' },
		{ "strict",	no_argument,	NULL, 's' },
		{ "verbose",	no_argument,	NULL, 'v' },
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 }
	};
	struct stat		 st;
	struct errbuf		 eb = { 0 };
	enum bundle_format	 fmt;
	int			 ch, verbose = arg_verbose;
	bool			 strict = false;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "hsv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			validate_help();
			return 0;
		case 's':
			strict = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("hookd %s\n", HOOKD_VERSION);
			return 0;
		default:
			if (optopt != 0)
				usage_error(validate_usage, "validate: unknown "
				    "option '-%c'", optopt);
			usage_error(validate_usage, "validate: unknown option "
			    "'%s'", argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage_error(validate_usage, "validate: no PATH given");
	if (argc > 1)
		usage_error(validate_usage, "validate: one PATH only, not "
		    "'%s'", argv[1]);
	if (stat(argv[0], &st) == -1) {
		errbuf_errno(&eb, errno == ENOENT || errno == ENOTDIR ?
		    EK_NOINPUT : errno == EACCES ? EK_PERM : EK_IO,
		    "cannot access '%s'", argv[0]);
		fprintf(stderr, "hookd: validate: %s\n", eb.msg);
		return errbuf_exitcode(&eb);
	}
	if (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) &&
	    bundle_detect(argv[0], &fmt, &eb) == 0 && fmt != BUNDLE_DIR))
		return validate_bundle(argv[0], verbose, strict);
	if (archive_name(argv[0])) {
		fprintf(stderr, "hookd: validate: '%s' is not a tar, tar.gz or "
		    "zip archive\n", argv[0]);
		return EX_DATAERR;
	}
	return validate_file(argv[0], verbose, strict);
}
