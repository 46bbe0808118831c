/*
 * Force-included into every phr translation unit (see cmake/phr.cmake).
 * Pulls in the standard headers first, then bans the functions that are easy
 * to misuse, as git's banned.h does: a use of one of them does not compile.
 */
#ifndef PHR_PRELUDE_H
#define PHR_PRELUDE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PHR_BANNED(func) sorry_##func##_is_banned_in_phr

#undef strcpy
#define strcpy(x, y) PHR_BANNED(strcpy)
#undef strcat
#define strcat(x, y) PHR_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) PHR_BANNED(strncpy)
#undef sprintf
#define sprintf(...) PHR_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) PHR_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) PHR_BANNED(strtok)
#undef gets
#define gets(x) PHR_BANNED(gets)
#undef atoi
#define atoi(x) PHR_BANNED(atoi)
#undef atol
#define atol(x) PHR_BANNED(atol)

#endif
