/* SPDX-License-Identifier: ISC */
/*
 * validate.h: check a bundle the way hookd will install it -- find its
 * appspec, load it, and check every hook location and files: source
 * against the bundle's contents.  Shared by `hookd validate` and
 * `deployer GROUP REF`, so both report the same errors.  It does not
 * print anything: the caller reports as->errors and eb.
 */
#ifndef HOOKD_VALIDATE_H
#define HOOKD_VALIDATE_H

struct appspec;
struct errbuf;

/*
 * Validate the bundle at 'path': a directory is checked in place; an
 * archive (.tar, .tar.gz, .zip: bundle_detect decides from the
 * contents) is read once with bundle_scan(), which applies every rule of
 * bundle_extract() without writing anything: no scratch directory, no
 * $TMPDIR, nothing created anywhere.
 *
 * 'as' must have been appspec_init()ed; it is filled whatever happens
 * and the caller releases it.  Messages call the appspec LABEL SEP REL,
 * REL being its path inside the bundle (trailing slashes of LABEL are
 * dropped): ("web/", "/") gives "web/appspec.yml", ("HEAD (1234)", ":")
 * gives "HEAD (1234):appspec.yml".  The appspec is checked against the
 * bundle even when it has errors, so one run finds every problem.
 *
 * Returns 0 when valid.  Returns -1 with eb set otherwise:
 * - EK_DATA with as->nerrors > 0: the appspec is not valid; every error
 *   is a line of as->errors, eb holds the first;
 * - errors about the bundle itself (an entry bundle_extract() would
 *   refuse, a corrupt archive, no appspec) are prefixed with
 *   'errprefix' (NULL: none): EK_DATA, EK_NOINPUT, EK_IO as
 *   bundle_scan() and bundle_find_appspec() give them;
 * - EK_IO without the prefix when a directory's appspec cannot be read.
 * Blocks for as long as reading the bundle takes.
 */
int	bundle_validate(struct appspec *as, const char *path,
	    const char *label, const char *sep, const char *errprefix,
	    struct errbuf *eb);

#endif /* HOOKD_VALIDATE_H */
