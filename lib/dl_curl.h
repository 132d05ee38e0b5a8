/* SPDX-License-Identifier: ISC */
/*
 * dl_curl.h: libcurl, loaded on first use (see dl.h).  Include after
 * <curl/curl.h>; curl's own type-checking setopt macro is replaced.
 */
#ifndef HOOKD_DL_CURL_H
#define HOOKD_DL_CURL_H

#include <curl/curl.h>

#include "dl.h"

#define DL_CURL_SYMS(X)							\
	X(curl_easy_cleanup)						\
	X(curl_easy_getinfo)						\
	X(curl_easy_init)						\
	X(curl_easy_perform)						\
	X(curl_easy_reset)						\
	X(curl_easy_setopt)						\
	X(curl_easy_strerror)						\
	X(curl_global_init)						\
	X(curl_multi_add_handle)					\
	X(curl_multi_cleanup)						\
	X(curl_multi_info_read)						\
	X(curl_multi_init)						\
	X(curl_multi_perform)						\
	X(curl_multi_poll)						\
	X(curl_multi_remove_handle)					\
	X(curl_multi_setopt)						\
	X(curl_multi_strerror)						\
	X(curl_slist_append)						\
	X(curl_slist_free_all)

DL_CURL_SYMS(DL_DECLARE)

#ifndef DL_NO_REDIRECT
#define DL_C(name)	DL_CALL(DL_CURL, name)
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_easy_cleanup	DL_C(curl_easy_cleanup)
#define curl_easy_getinfo	DL_C(curl_easy_getinfo)
#define curl_easy_init	DL_C(curl_easy_init)
#define curl_easy_perform	DL_C(curl_easy_perform)
#define curl_easy_reset	DL_C(curl_easy_reset)
#define curl_easy_setopt	DL_C(curl_easy_setopt)
#define curl_easy_strerror	DL_C(curl_easy_strerror)
#define curl_multi_add_handle	DL_C(curl_multi_add_handle)
#define curl_multi_cleanup	DL_C(curl_multi_cleanup)
#define curl_multi_info_read	DL_C(curl_multi_info_read)
#define curl_multi_init	DL_C(curl_multi_init)
#define curl_multi_perform	DL_C(curl_multi_perform)
#define curl_multi_poll	DL_C(curl_multi_poll)
#define curl_multi_remove_handle	DL_C(curl_multi_remove_handle)
#define curl_multi_setopt	DL_C(curl_multi_setopt)
#define curl_multi_strerror	DL_C(curl_multi_strerror)
#define curl_slist_append	DL_C(curl_slist_append)
#define curl_slist_free_all	DL_C(curl_slist_free_all)
#endif

#endif /* HOOKD_DL_CURL_H */
