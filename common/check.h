// TS_CHECK: invariant checks. A failed check is a bug in trimserve, not bad input: it prints
// file:line and the condition to stderr and aborts. Never use it on user-controlled data.
#pragma once

#include <cstdio>
#include <cstdlib>

#define TS_CHECK(cond)                                                                  \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

#define TS_CHECK_MSG(cond, msg)                                                         \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: check failed: %s (%s)\n", __FILE__, __LINE__, #cond, \
                   (msg));                                                              \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)
