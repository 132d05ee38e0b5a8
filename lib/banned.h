/* SPDX-License-Identifier: ISC */
/*
 * banned.h: functions hookd must not call (STYLE.md B4), turned into
 * compile errors.  Include last in every .c file, after all system headers.
 * The trick (a macro that expands to an undeclared identifier) is git's.
 */
#ifndef HOOKD_BANNED_H
#define HOOKD_BANNED_H

#define BANNED(func)	sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y)		BANNED(strcpy)
#undef strcat
#define strcat(x, y)		BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n)	BANNED(strncpy)
#undef strncat
#define strncat(x, y, n)	BANNED(strncat)
#undef sprintf
#define sprintf(...)		BANNED(sprintf)
#undef vsprintf
#define vsprintf(...)		BANNED(vsprintf)
#undef strtok
#define strtok(x, y)		BANNED(strtok)
#undef gets
#define gets(x)			BANNED(gets)
#undef gmtime
#define gmtime(t)		BANNED(gmtime)
#undef localtime
#define localtime(t)		BANNED(localtime)
#undef ctime
#define ctime(t)		BANNED(ctime)
#undef asctime
#define asctime(t)		BANNED(asctime)
#undef mktemp
#define mktemp(x)		BANNED(mktemp)
#undef tmpnam
#define tmpnam(x)		BANNED(tmpnam)
#undef atoi
#define atoi(x)			BANNED(atoi)
#undef atol
#define atol(x)			BANNED(atol)
#undef atoll
#define atoll(x)		BANNED(atoll)
#undef system
#define system(x)		BANNED(system)
#undef popen
#define popen(x, y)		BANNED(popen)
#undef signal
#define signal(x, y)		BANNED(signal)
#undef getenv
#define getenv(x)		BANNED(getenv)

#endif /* HOOKD_BANNED_H */
