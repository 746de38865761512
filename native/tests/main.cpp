#include "harness.hpp"

namespace cfkit_test {
std::vector<Case>& registry() {
  static std::vector<Case> r;
  return r;
}
int failures = 0;
}  // namespace cfkit_test

int main() {
  int failed_cases = 0;
  for (auto& c : cfkit_test::registry()) {
    int before = cfkit_test::failures;
    try {
      c.fn();
    } catch (const std::exception& e) {
      ++cfkit_test::failures;
      std::cerr << c.name << ": unexpected exception: " << e.what() << "\n";
    }
    bool ok = cfkit_test::failures == before;
    if (!ok) ++failed_cases;
    std::cout << (ok ? "ok   " : "FAIL ") << c.name << "\n";
  }
  std::cout << (cfkit_test::registry().size() - failed_cases) << " passed, " << failed_cases << " failed\n";
  return failed_cases == 0 ? 0 : 1;
}
