/* SPDX-License-Identifier: ISC */
/*
 * dl.c: loads libcurl, libarchive, libxml2 and libcrypto on first use and
 * resolves the functions dl_*.h list (see dl.h for why).  Single-threaded
 * like the rest of hookd: a library is loaded from the one thread there is.
 */
#include "compat.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define DL_NO_REDIRECT
#include "dl_archive.h"
#include "dl_crypto.h"
#include "dl_curl.h"
#include "dl_xml.h"
#include "errbuf.h"
#include "dlnames.h"

#include "banned.h"

#define DL_DEFINE(name)		__typeof__(name) *sym_##name;
#define DL_ENTRY(name)		{ #name, (void **)&sym_##name },

DL_CURL_SYMS(DL_DEFINE)
DL_ARCHIVE_SYMS(DL_DEFINE)
DL_XML_SYMS(DL_DEFINE)
DL_CRYPTO_SYMS(DL_DEFINE)

struct dl_sym {
	const char	*name;
	void		**addr;
};

static const struct dl_sym curl_syms[] = { DL_CURL_SYMS(DL_ENTRY) };
static const struct dl_sym archive_syms[] = { DL_ARCHIVE_SYMS(DL_ENTRY) };
static const struct dl_sym xml_syms[] = { DL_XML_SYMS(DL_ENTRY) };
static const struct dl_sym crypto_syms[] = { DL_CRYPTO_SYMS(DL_ENTRY) };

static int	curl_init(struct errbuf *);

/*
 * env, when set, is put in the environment as "1" for the dlopen() only,
 * unless the operator set it already.  Debian's libcurl links librtmp and
 * libldap and, through them, GnuTLS, whose constructor initialises the
 * whole library (0.7 MiB resident) although hookd speaks only http and
 * https (CURLOPT_PROTOCOLS_STR), through OpenSSL: GNUTLS_NO_IMPLICIT_INIT
 * skips that.
 */
static const struct dl_library {
	const char		*soname;
	const struct dl_sym	*syms;
	size_t			 nsyms;
	int			(*init)(struct errbuf *);
	const char		*env;
} libraries[DL__COUNT] = {
	[DL_CURL] = { DL_SONAME_CURL, curl_syms, nitems(curl_syms),
	    curl_init, "GNUTLS_NO_IMPLICIT_INIT" },
	[DL_ARCHIVE] = { DL_SONAME_ARCHIVE, archive_syms,
	    nitems(archive_syms), NULL },
	[DL_XML] = { DL_SONAME_XML, xml_syms, nitems(xml_syms), NULL },
	[DL_CRYPTO] = { DL_SONAME_CRYPTO, crypto_syms, nitems(crypto_syms),
	    NULL },
};

bool	dl_loaded[DL__COUNT];

static int
curl_init(struct errbuf *eb)
{
	CURLcode	 rc;

	if ((rc = sym_curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK)
		return errbuf_set(eb, EK_OS, "cannot initialize libcurl: "
		    "curl_global_init returned %d", (int)rc);
	return 0;
}

/*
 * Load lib: 0, or -1 with EK_OS in eb.  The handle is never closed, so
 * the resolved pointers stay valid for the life of the process.
 */
int
dl_load(enum dl_lib lib, struct errbuf *eb)
{
	const struct dl_library	*l;
	void			*h, *p;
	const char		*err;
	size_t			 i;
	bool			 env_set = false;

	if (dl_loaded[lib])
		return 0;
	l = &libraries[lib];
	if (l->env != NULL && secure_getenv(l->env) == NULL)
		env_set = setenv(l->env, "1", 0) == 0;
	(void)dlerror();
	h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	if (env_set)
		(void)unsetenv(l->env);
	if (h == NULL) {
		err = dlerror();
		return errbuf_set(eb, EK_OS, "cannot load %s: %s", l->soname,
		    err != NULL ? err : "dlopen failed");
	}
	for (i = 0; i < l->nsyms; i++) {
		(void)dlerror();
		p = dlsym(h, l->syms[i].name);
		if (p == NULL) {
			err = dlerror();
			errbuf_set(eb, EK_OS, "%s: %s: %s", l->soname,
			    l->syms[i].name,
			    err != NULL ? err : "symbol not found");
			goto fail;
		}
		*l->syms[i].addr = p;
	}
	if (l->init != NULL && l->init(eb) == -1) {
		errbuf_prefix(eb, "%s", l->soname);
		goto fail;
	}
	dl_loaded[lib] = true;
	return 0;
fail:
	for (i = 0; i < l->nsyms; i++)
		*l->syms[i].addr = NULL;
	(void)dlclose(h);
	return -1;
}

/* dl_load() or abort: see dl.h. */
void
dl_need_slow(enum dl_lib lib)
{
	struct errbuf	eb = { 0 };

	if (dl_load(lib, &eb) == 0)
		return;
	(void)dprintf(STDERR_FILENO, "%s: %s\n", program_invocation_short_name,
	    eb.msg);
	abort();
}

/* The soname of lib. */
const char *
dl_soname(enum dl_lib lib)
{
	return libraries[lib].soname;
}
