#include <iostream>
#include <string>
#include <vector>

#include "harness.hpp"

namespace cfkit_test {
std::vector<Case>& registry() {
  static std::vector<Case> r;
  return r;
}
int failures = 0;
}  // namespace cfkit_test

// cfkit_tests [WORD...] [--skip WORD...]: runs the cases whose names contain any WORD (all when none
// is given), minus those containing a --skip WORD.
int main(int argc, char** argv) {
  std::vector<std::string> only, skip;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--skip" && i + 1 < argc)
      skip.push_back(argv[++i]);
    else
      only.push_back(argv[i]);
  }
  auto contains_any = [](const std::string& name, const std::vector<std::string>& words) {
    for (const auto& w : words)
      if (name.find(w) != std::string::npos) return true;
    return false;
  };
  int failed_cases = 0, ran = 0;
  for (auto& c : cfkit_test::registry()) {
    if ((!only.empty() && !contains_any(c.name, only)) || contains_any(c.name, skip)) continue;
    ++ran;
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
  std::cout << (ran - failed_cases) << " passed, " << failed_cases << " failed\n";
  return failed_cases == 0 && ran > 0 ? 0 : 1;
}
