/* SPDX-License-Identifier: ISC */
/*
 * validate.c: the one sequence of library calls that decides whether a
 * bundle is deployable.  A directory is checked in place
 * (bundle_find_appspec, appspec_load, appspec_check_bundle); an archive
 * is read once without extracting anything (bundle_scan, which admits
 * entries by the extraction's own rules, then bundle_listing_appspec,
 * appspec_parse, appspec_check_listing).  It reports through the
 * appspec's error list and the errbuf; it prints nothing and decides no
 * exit status.
 */
#include "compat.h"

#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include "appspec.h"
#include "bundle.h"
#include "errbuf.h"
#include "validate.h"
#include "xalloc.h"

#include "banned.h"

/* What messages call the appspec: LABEL SEP REL (see validate.h). */
static char *
validate_name(const char *label, const char *sep, const char *rel)
{
	size_t	 ll;

	ll = strlen(label);
	while (ll > 1 && label[ll - 1] == '/')
		ll--;
	rel += strspn(rel, "/");
	return xasprintf("%.*s%s%s", (int)ll, label, sep, rel);
}

/* Find, load and check the appspec of the bundle directory 'dir'. */
static int
validate_tree(struct appspec *as, const char *dir, const char *label,
    const char *sep, const char *errprefix, struct errbuf *eb)
{
	struct errbuf	 eb2 = { 0 };
	char		*root = NULL, *file = NULL, *name = NULL;
	int		 r, ret = -1;

	if (bundle_find_appspec(dir, &root, &file, eb) == -1) {
		if (errprefix != NULL)
			errbuf_prefix(eb, "%s", errprefix);
		goto out;
	}
	name = validate_name(label, sep, file + strlen(dir));
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

/* The same for an archive, from its listing: nothing is extracted. */
static int
validate_archive(struct appspec *as, const char *path, const char *label,
    const char *sep, const char *errprefix, struct errbuf *eb)
{
	struct bundle_listing	 ls;
	const struct bundle_blob *blob;
	struct errbuf		 eb2 = { 0 };
	const char		*root;
	char			*name = NULL;
	int			 r, ret = -1;

	bundle_listing_init(&ls);
	if (bundle_scan(path, NULL, &ls, eb) == -1 ||
	    bundle_listing_appspec(&ls, &root, &blob, eb) == -1) {
		if (errprefix != NULL)
			errbuf_prefix(eb, "%s", errprefix);
		goto out;
	}
	name = validate_name(label, sep, blob->path);
	r = appspec_parse(as, blob->data, blob->len, name, eb);
	if ((r == 0 || eb->kind == EK_DATA) &&
	    appspec_check_listing(as, &ls, root, &eb2) == -1 && r == 0) {
		*eb = eb2;
		r = -1;
	}
	ret = r;
 out:
	free(name);
	bundle_listing_release(&ls);
	return ret;
}

int
bundle_validate(struct appspec *as, const char *path, const char *label,
    const char *sep, const char *errprefix, struct errbuf *eb)
{
	struct stat	 st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return validate_tree(as, path, label, sep, errprefix, eb);
	return validate_archive(as, path, label, sep, errprefix, eb);
}
