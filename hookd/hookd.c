/* SPDX-License-Identifier: ISC */
/*
 * hookd.c: main() of the deployment agent.  Parses the global options and
 * dispatches to one subcommand (git's cmd_struct table); each subcommand
 * lives in its own cmd_*.c file and parses its own options.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "hookd.h"
#include "log.h"
#include "version.h"

#include "banned.h"

int	 arg_verbose;

static const char usage_line[] =
    "usage: hookd [-v] [--help] [--version] command [args ...]";

static const struct cmd {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*summary;
} cmds[] = {
	{ "bake",	cmd_bake,
	    "install the group's current target into an image" },
	{ "deploy-local", cmd_deploy_local,
	    "run one deployment of a local bundle" },
	{ "run",	cmd_run,
	    "run the daemon: take deployments from the queue" },
	{ "status",	cmd_status,
	    "show this host's releases and recent deployments" },
	{ "validate",	cmd_validate,
	    "check an appspec file or a bundle" },
};

static void
help(void)
{
	printf("%s\n\n", usage_line);
	printf("hookd runs appspec.yml deployments on this host.\n\n"
	    "commands:\n");
	for (size_t i = 0; i < nitems(cmds); i++)
		printf("  %-14s %s\n", cmds[i].name, cmds[i].summary);
	printf("\noptions:\n"
	    "  -v, --verbose  more output (repeatable)\n"
	    "  -h, --help     show this help\n"
	    "      --version  show the version\n"
	    "\nrun 'hookd COMMAND --help' for a command's options;"
	    " see hookd(8)\n");
}

/*
 * Print one specific line and the usage line to stderr and exit 64
 * (STYLE.md B10: no full help on error).
 */
void
usage_error(const char *usage, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "hookd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s\ntry 'hookd --help' for more information\n",
	    usage);
	exit(EX_USAGE);
}

/*
 * Make sure fds 0-2 are open, so a file we open never becomes stdout
 * by accident (curl's main_checkfds).
 */
static void
main_checkfds(void)
{
	int	 fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) == -1)
			exit(EX_OSERR);
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL, 'h' },
		{ "verbose",	no_argument,	NULL, 'v' },
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 }
	};
	int	 ch;

	main_checkfds();
	log_init("hookd", LOG_TO_STDERR, 0);

	/* '+': stop at the first non-option, the subcommand. */
	while ((ch = getopt_long(argc, argv, "+hv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			help();
			return 0;
		case 'v':
			arg_verbose++;
			break;
		case 'V':
			printf("hookd %s\n", HOOKD_VERSION);
			return 0;
		default:
			fprintf(stderr, "%s\ntry 'hookd --help' for more "
			    "information\n", usage_line);
			return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage_error(usage_line, "no command given");
	log_setverbose(arg_verbose > 1);

	for (size_t i = 0; i < nitems(cmds); i++) {
		if (strcmp(argv[0], cmds[i].name) == 0) {
			optind = 0;	/* reset getopt for the subcommand */
			return cmds[i].fn(argc, argv);
		}
	}
	usage_error(usage_line, "unknown command '%s'", argv[0]);
}
