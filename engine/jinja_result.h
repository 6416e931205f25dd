// JINJA_TRY: unwraps a Result<T> into `lhs` or returns its Status from the enclosing
// function (which returns Status or any Result<U>). Used across the Jinja interpreter,
// where nearly every step can fail on untrusted input.
#pragma once

#include <utility>

#include "common/status.h"

#define JINJA_CONCAT_INNER(a, b) a##b
#define JINJA_CONCAT(a, b) JINJA_CONCAT_INNER(a, b)

#define JINJA_TRY(lhs, expr)                                                       \
  auto JINJA_CONCAT(jinja_result_, __LINE__) = (expr);                             \
  if (!JINJA_CONCAT(jinja_result_, __LINE__).ok())                                 \
    return JINJA_CONCAT(jinja_result_, __LINE__).status();                         \
  lhs = std::move(JINJA_CONCAT(jinja_result_, __LINE__)).value()
