// A deliberately small test harness: TEST(name) registers a function; CHECK* record failures and
// keep going so one run reports every broken assertion.
#pragma once
#include <cmath>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

namespace cfkit_test {

struct Case {
  const char* name;
  std::function<void()> fn;
};
std::vector<Case>& registry();
extern int failures;

struct Register {
  Register(const char* name, std::function<void()> fn) { registry().push_back({name, std::move(fn)}); }
};

}  // namespace cfkit_test

#define CFKIT_CAT2(a, b) a##b
#define CFKIT_CAT(a, b) CFKIT_CAT2(a, b)
#define TEST(name)                                                                    \
  static void name();                                                                 \
  static cfkit_test::Register CFKIT_CAT(reg_, name)(#name, name);                     \
  static void name()

#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      ++cfkit_test::failures;                                                         \
      std::cerr << __FILE__ << ":" << __LINE__ << ": CHECK(" #cond ") failed\n";      \
    }                                                                                 \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                         \
  do {                                                                                \
    double _a = (a), _b = (b);                                                        \
    if (!(std::fabs(_a - _b) <= (tol))) {                                             \
      ++cfkit_test::failures;                                                         \
      std::cerr << __FILE__ << ":" << __LINE__ << ": " #a " = " << _a << ", " #b " = " << _b \
                << " (tol " << (tol) << ")\n";                                        \
    }                                                                                 \
  } while (0)

#define CHECK_THROWS(stmt)                                                            \
  do {                                                                                \
    bool _threw = false;                                                              \
    try {                                                                             \
      stmt;                                                                           \
    } catch (...) {                                                                   \
      _threw = true;                                                                  \
    }                                                                                 \
    if (!_threw) {                                                                    \
      ++cfkit_test::failures;                                                         \
      std::cerr << __FILE__ << ":" << __LINE__ << ": expected an exception from " #stmt "\n"; \
    }                                                                                 \
  } while (0)
