/* SPDX-License-Identifier: ISC */
/*
 * appspec.h: appspec.yml (CodeDeploy EC2/on-premises AppSpec) as a plain C
 * model.  No libyaml type appears here; the parser is appspec.c.
 */
#ifndef HOOKD_APPSPEC_H
#define HOOKD_APPSPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "compat.h"

struct bundle_listing;
struct errbuf;

/*
 * Lifecycle events in CodeDeploy's in-place order.  BlockTraffic,
 * DownloadBundle, Install and AllowTraffic are run by hookd itself and
 * take no scripts; BlockTraffic and AllowTraffic run only with traffic
 * control (a traffic: block in hookd.yml), the four traffic script
 * events only then or when the appspec has scripts for them.
 */
enum lc_event {
	LC_BEFORE_BLOCK_TRAFFIC = 0,
	LC_BLOCK_TRAFFIC,
	LC_AFTER_BLOCK_TRAFFIC,
	LC_APPLICATION_STOP,
	LC_DOWNLOAD_BUNDLE,
	LC_BEFORE_INSTALL,
	LC_INSTALL,
	LC_AFTER_INSTALL,
	LC_APPLICATION_START,
	LC_VALIDATE_SERVICE,
	LC_BEFORE_ALLOW_TRAFFIC,
	LC_ALLOW_TRAFFIC,
	LC_AFTER_ALLOW_TRAFFIC,
	LC_NEVENTS
};

/* "ApplicationStop", ...; never NULL for a valid event. */
const char	*lc_event_name(enum lc_event);
/* The event for a name (exact, case-sensitive), or -1. */
int		 lc_event_from_name(const char *);
/* Whether an appspec may attach scripts to the event. */
bool		 lc_event_scriptable(enum lc_event);

enum file_exists_behavior {
	FEB_UNSET = 0,		/* not given: DISALLOW */
	FEB_DISALLOW,
	FEB_OVERWRITE,
	FEB_RETAIN,
};

const char	*feb_name(enum file_exists_behavior);
/* FEB_* for "DISALLOW"/"OVERWRITE"/"RETAIN", or -1. */
int		 feb_from_name(const char *);

struct appspec_hook {
	char		*location;	/* relative to the bundle root */
	unsigned	 timeout;	/* seconds, 1..3600; default 3600 */
	char		*runas;		/* NULL: the daemon's user */
	bool		 sudo;		/* run as root */
	unsigned long	 line;		/* where location was given (1-based) */
	unsigned long	 col;
};

struct appspec_file {
	char		*source;	/* in the bundle; "/" = all of it */
	char		*destination;	/* path on the host */
	unsigned long	 line;		/* where source was given (1-based) */
	unsigned long	 col;
};

#define PERM_TYPE_FILE		0x1
#define PERM_TYPE_DIRECTORY	0x2

struct appspec_acl {
	bool		 is_default;	/* "d:" prefix */
	char		 kind;		/* 'u', 'g', 'm' or 'o' */
	char		*name;		/* NULL for the owning user/group */
	unsigned	 perms;		/* r=4 w=2 x=1 */
};

struct appspec_context {
	char		*user;		/* SELinux "name" */
	char		*type;
	char		*range;		/* NULL when not given */
};

struct appspec_perm {
	char		*object;	/* path on the host, as written */
	char		*pattern;	/* glob, default "**" */
	char		**except;	/* globs */
	size_t		 nexcept;
	unsigned	 types;		/* PERM_TYPE_*; 0 = both */
	char		*owner;
	char		*group;
	int		 mode;		/* permission bits, or -1 when unset */
	struct appspec_acl *acls;
	size_t		 nacls;
	struct appspec_context *context;	/* NULL when not given */
	unsigned long	 line;
};

struct appspec {
	char		*path;		/* the name used in messages */
	char		*version;	/* "0.0" */
	char		*os;		/* "linux" */
	enum file_exists_behavior file_exists_behavior;
	struct appspec_file *files;
	size_t		 nfiles;
	struct appspec_perm *perms;
	size_t		 nperms;
	struct appspec_hook *hooks[LC_NEVENTS];
	size_t		 nhooks[LC_NEVENTS];

	/*
	 * Every error found by the last load, each a full
	 * "path:line:col: what" line, in file order, at most
	 * APPSPEC_ERRORS_MAX.  The errbuf of a failed load holds the first.
	 * appspec_check_bundle() appends its own.
	 */
	char		**errors;
	size_t		 nerrors;

	/*
	 * Every warning, in the same form and order, at most
	 * APPSPEC_ERRORS_MAX: what CodeDeploy accepts but ignores (an
	 * unknown key or event, scripts under a step that runs none) or
	 * reads differently from hookd (an unquoted mode: 0644).  A file
	 * with warnings loads; appspec_strict() makes them errors.
	 */
	char		**warnings;
	size_t		 nwarnings;
};

/* An empty model.  Load into it, then release it, whatever happened. */
void	appspec_init(struct appspec *);
/* Free everything; safe on a zeroed or half-loaded model, and twice. */
void	appspec_release(struct appspec *);

/*
 * Parse the file at 'path' (at most APPSPEC_MAX bytes).  'name' is what
 * messages call it (NULL: path).  On failure returns -1 with eb set to the
 * first error (EK_DATA for a bad file, EK_NOINPUT/EK_IO when it cannot be
 * read) and as->errors holding all of them; as must still be released.
 */
int	appspec_load(struct appspec *, const char *path, const char *name,
	    struct errbuf *);
/*
 * The same, from memory ('name' NULL: "appspec.yml"); any earlier
 * contents of as are released first.  Does not block.
 */
int	appspec_parse(struct appspec *, const char *data, size_t len,
	    const char *name, struct errbuf *);

/*
 * --strict: when the model has warnings, add each to as->errors (after
 * the errors already there) and return -1 with eb (EK_DATA) holding the
 * first error; 0 when there is no warning.  The warnings stay.
 */
int	appspec_strict(struct appspec *, struct errbuf *);

/*
 * Check an appspec against the extracted bundle rooted at 'root': every
 * hook location is a regular file inside the bundle (symlinks followed
 * only while they stay inside) and every files: source exists inside it.
 * Errors are added to as->errors with the line:col of the location or
 * source; returns 0, or -1 with eb holding the first (EK_DATA; EK_IO when
 * root cannot be resolved).  Works on a half-loaded model too.
 */
int	appspec_check_bundle(struct appspec *, const char *root,
	    struct errbuf *);

/*
 * The same check against a bundle read by bundle_scan() (nothing
 * extracted): 'root' is the bundle root inside the listing ("" or its
 * single top-level directory, as bundle_listing_appspec() gives it).
 * Symlinks in the listing are followed as realpath(3) would follow them
 * in the extracted tree; the messages are appspec_check_bundle()'s.
 * Returns 0, or -1 with eb holding the first problem (EK_DATA).  Does
 * not block.
 */
int	appspec_check_listing(struct appspec *,
	    const struct bundle_listing *, const char *root, struct errbuf *);

#endif /* HOOKD_APPSPEC_H */
