/* SPDX-License-Identifier: ISC */
/*
 * deployer.c: main() of the deployer CLI.  "deployer GROUP REF" deploys;
 * the other forms are subcommands found in a table (git's cmd_struct),
 * one cmd_*.c file each, each parsing its own options.  Errors become
 * one line on stderr and a sysexits status (STYLE.md B10).
 */
#include "compat.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "deployer.h"
#include "errbuf.h"
#include "log.h"
#include "version.h"

#include "banned.h"

int	 arg_verbose;

static const struct cmd {
	const char	*name;
	int		(*fn)(int, char **);
} cmds[] = {
	{ "continue",	cmd_continue },
	{ "history",	cmd_history },
	{ "instances",	cmd_instances },
	{ "resume",	cmd_resume },
	{ "rollback",	cmd_rollback },
	{ "setup",	cmd_setup },
	{ "status",	cmd_status },
	{ "stop",	cmd_stop },
};

/*
 * One specific line, the usage line and the hint on stderr; exit 64.
 */
void
usage_error(const char *usage, const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
	fprintf(stderr, "deployer: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s\ntry 'deployer --help' for more information\n",
	    usage);
	exit(EX_USAGE);
}

/* getopt_long returned '?' or ':': name what was wrong. */
void
bad_option(const char *usage, int argc, char **argv)
{
	const char	*arg = optind - 1 < argc && optind > 0 ?
			    argv[optind - 1] : "?";

	if (optopt != 0 && strncmp(arg, "--", 2) != 0)
		usage_error(usage, "unknown option or missing argument '-%c'",
		    optopt);
	usage_error(usage, "unknown option or missing argument '%s'", arg);
}

/*
 * The options and operands of a command taking --help, --version and one
 * flag (resume, stop, rollback): *flag is set when a->flag is given.
 * Returns the index of the first operand, or -1 once the help or the
 * version was printed (the command then returns 0).  Exits on a bad
 * option or a wrong count of operands.
 */
int
cmd_args_parse(const struct cmd_args *a, int argc, char **argv, bool *flag)
{
	const struct option longopts[] = {
		{ "help",	no_argument,	NULL, 'h' },
		{ a->flag,	no_argument,	NULL, 'F' },
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 }
	};
	int	 ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			a->help();
			return -1;
		case 'F':
			*flag = true;
			break;
		case 'V':
			printf("deployer %s\n", HOOKD_VERSION);
			return -1;
		default:
			bad_option(a->usage, argc, argv);
		}
	}
	if (argc - optind == 0)
		usage_error(a->usage, "no %s given", a->operand);
	if (argc - optind > a->max)
		usage_error(a->usage, "unexpected argument '%s'",
		    argv[optind + a->max]);
	return optind;
}

static void
main_checkfds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) == -1)
			exit(EX_OSERR);
	}
}

int
main(int argc, char *argv[])
{
	int	 i, ret;

	main_checkfds();
	log_init("deployer", LOG_TO_STDERR, 0);

	/* The first operand decides: a subcommand, or GROUP of a deploy. */
	for (i = 1; i < argc; i++) {
		if (argv[i][0] != '-')
			break;
		if (strcmp(argv[i], "--") == 0) {
			i = argc;
			break;
		}
	}
	ret = -1;
	if (i < argc) {
		for (size_t c = 0; c < nitems(cmds); c++) {
			if (strcmp(argv[i], cmds[c].name) != 0)
				continue;
			/* Options before the subcommand are global. */
			for (int j = 1; j < i; j++) {
				if (strcmp(argv[j], "-v") == 0 ||
				    strcmp(argv[j], "--verbose") == 0)
					arg_verbose++;
				else
					usage_error("usage: deployer [-v] "
					    "command [args ...]", "unknown "
					    "option '%s' before '%s'", argv[j],
					    argv[i]);
			}
			log_setverbose(arg_verbose > 1);
			optind = 0;
			ret = cmds[c].fn(argc - i, argv + i);
			break;
		}
	}
	if (ret == -1) {
		optind = 0;
		ret = cmd_deploy(argc, argv);
	}
	return ret;
}
