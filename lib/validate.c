/* SPDX-License-Identifier: ISC */
/*
 * validate.c: the one sequence of library calls that decides whether a
 * bundle is deployable (bundle_extract, bundle_find_appspec,
 * appspec_load, appspec_check_bundle), with the scratch directory's
 * lifetime handled here.  It reports through the appspec's error list
 * and the errbuf; it prints nothing and decides no exit status.
 */
#include "compat.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "appspec.h"
#include "bundle.h"
#include "errbuf.h"
#include "log.h"
#include "release.h"
#include "validate.h"
#include "xalloc.h"

#include "banned.h"

/* Find, load and check the appspec of the tree unpacked at 'dir'. */
static int
validate_tree(struct appspec *as, const char *dir, const char *label,
    const char *sep, const char *errprefix, struct errbuf *eb)
{
	struct errbuf	 eb2 = { 0 };
	char		*root = NULL, *file = NULL, *name = NULL;
	const char	*rel;
	size_t		 ll;
	int		 r, ret = -1;

	if (bundle_find_appspec(dir, &root, &file, eb) == -1) {
		if (errprefix != NULL)
			errbuf_prefix(eb, "%s", errprefix);
		goto out;
	}
	ll = strlen(label);
	while (ll > 1 && label[ll - 1] == '/')
		ll--;
	rel = file + strlen(dir);
	rel += strspn(rel, "/");
	name = xasprintf("%.*s%s%s", (int)ll, label, sep, rel);
	/*
	 * Check the bundle even when the appspec has errors, so one run
	 * shows every problem; eb keeps the first.
	 */
	r = appspec_load(as, file, name, eb);
	if ((r == 0 || eb->kind == EK_DATA) &&
	    appspec_check_bundle(as, root, &eb2) == -1 && r == 0) {
		*eb = eb2;
		r = -1;
	}
	ret = r;
 out:
	free(root);
	free(file);
	free(name);
	return ret;
}

int
bundle_validate(struct appspec *as, const char *path, const char *label,
    const char *sep, const char *errprefix, struct errbuf *eb)
{
	struct bundle_limits	 lim;
	struct stat		 st;
	struct errbuf		 eb2 = { 0 };
	const char		*tmp;
	char			*dir;
	int			 ret = -1;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return validate_tree(as, path, label, sep, errprefix, eb);

	tmp = secure_getenv("TMPDIR");
	dir = xasprintf("%s/hookd-validate.XXXXXX", tmp != NULL &&
	    *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		errbuf_errno(eb, EK_IO, "cannot create '%s'", dir);
		free(dir);
		return -1;
	}
	bundle_limits_default(&lim);
	if (bundle_extract(path, dir, &lim, eb) == -1) {
		if (errprefix != NULL)
			errbuf_prefix(eb, "%s", errprefix);
	} else
		ret = validate_tree(as, dir, label, sep, errprefix, eb);
	if (release_rmtree(dir, &eb2) == -1) {
		log_debug("bundle_validate: %s", eb2.msg);
		if (ret == 0) {
			*eb = eb2;
			ret = -1;
		}
	}
	free(dir);
	return ret;
}
