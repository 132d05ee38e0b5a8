/* SPDX-License-Identifier: ISC */
/*
 * dl.h: libraries loaded on first use.
 *
 * libcurl, libarchive, libxml2 and libcrypto (with what they pull in:
 * libssl, GnuTLS, Kerberos, LDAP, ICU, libstdc++ ...) are most of the
 * resident memory of a process linked against them, about 10 MiB, and an
 * idle daemon on a spool queue needs none of them.  hookd and deployer are
 * therefore not linked against them: a module that calls one includes
 * dl_curl.h, dl_archive.h, dl_xml.h or dl_crypto.h after the library's
 * own headers.  Those redefine each function the module uses as
 * `(dl_need(lib), sym_name)`, so the call sites stay unchanged, the
 * library is dlopen()ed by soname on the first call, and a function we
 * did not list fails to link instead of being called through a null
 * pointer.  The sonames come from the build machine's development
 * symlinks (gen/dlnames.h).
 *
 * Once loaded, a library stays loaded: OpenSSL and libstdc++ cannot be
 * unloaded anyway.
 */
#ifndef HOOKD_DL_H
#define HOOKD_DL_H

#include <stdbool.h>

struct errbuf;

enum dl_lib {
	DL_CURL,
	DL_ARCHIVE,
	DL_XML,
	DL_CRYPTO,
	DL__COUNT
};

extern bool	dl_loaded[DL__COUNT];

/*
 * Load `lib` and resolve every function this program uses from it (once;
 * later calls return 0 at once).  libcurl is also curl_global_init()ed.
 * Returns 0, or -1 with EK_OS in eb naming the soname and what
 * dlopen/dlsym said (the package is not installed, or too old).
 */
int		dl_load(enum dl_lib lib, struct errbuf *eb);

/*
 * dl_load(), or abort with the reason on stderr: a library the package
 * depends on is missing, like memory that cannot be allocated, leaves
 * nothing sensible to do.  Programs call dl_load() first where they can
 * report the error (at start-up, at the start of a deployment).
 */
void		dl_need_slow(enum dl_lib lib);

static inline void
dl_need(enum dl_lib lib)
{
	if (__builtin_expect(!dl_loaded[lib], 0))
		dl_need_slow(lib);
}

/* The soname of lib, for messages. */
const char	*dl_soname(enum dl_lib lib);

#define DL_DECLARE(name)	extern __typeof__(name) *sym_##name;
#define DL_CALL(lib, name)	(dl_need(lib), sym_##name)

#endif /* HOOKD_DL_H */
