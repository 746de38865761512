// The zero-page arrays behind the float32 factor (common/zeroed_pages.hpp, common/prefaulted_span.hpp).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "common/prefaulted_span.hpp"
#include "common/zeroed_pages.hpp"
#include "harness.hpp"
#include "util.hpp"

using namespace cfkit;

namespace {
// Resident bytes of this process (Linux), or -1.
int64_t resident_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return -1;
  long size = 0, resident = -1;
  if (std::fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
  std::fclose(f);
  return resident < 0 ? -1 : int64_t(resident) * 4096;
}

}  // namespace

TEST(zeroed_arrays_start_zero_on_2_mib_and_populate_makes_only_their_pages_resident) {
  // The float32 factor's storage: 64 MiB, of which 32 MiB are made resident and stay zero.
  const size_t n = size_t(16) << 20, part = size_t(8) << 20;
  ZeroedArray<float> a = map_zeroed<float>(n);
  CHECK(reinterpret_cast<uintptr_t>(a.get()) % (size_t(2) << 20) == 0);
  no_huge_pages(a.get(), a.get() + n);  // counted in 4 KiB pages from here
  const int64_t before = resident_bytes();
  populate(a.get() + 1000, a.get() + 1000 + part);
  const int64_t after = resident_bytes();
  if (before >= 0) {
    CHECK(after - before >= int64_t(part * sizeof(float)) - (int64_t(1) << 20));
    CHECK(after - before <= int64_t(part * sizeof(float)) + (int64_t(4) << 20));
  }
  bool zero = true;
  for (size_t i = 0; i < n; i += 1021) zero = zero && a[i] == 0.f;
  CHECK(zero);
  a[n - 1] = 3.f;
  a[1000] = 2.f;
  CHECK(a[n - 1] == 3.f && a[1000] == 2.f && a[999] == 0.f);
}

TEST(idle_populator_populates_every_item_exactly_once) {
  // finish() right away (before the idle thread has taken much) and after a pause (when it has taken
  // some or all): either way every item is populated once. One dropped unfinished stops cleanly.
  for (int pause : {0, 50}) {
    const int64_t items = 20000;
    std::vector<std::atomic<int>> count(items);
    for (auto& c : count) c = 0;
    IdlePopulator p(items, [&](int64_t i) { count[i].fetch_add(1); });
    std::this_thread::sleep_for(std::chrono::milliseconds(pause));
    p.finish(3);
    bool once = true;
    for (auto& c : count) once = once && c.load() == 1;
    CHECK(once);
  }
  std::atomic<int64_t> done{0};
  { IdlePopulator dropped(int64_t(1) << 40, [&](int64_t) { done.fetch_add(1); }); }
  const int64_t at_drop = done.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(done.load() == at_drop);  // its thread has stopped
}

TEST(prefaulted_span_populates_outwards_from_its_split_up_to_its_cap) {
  constexpr size_t MiB = size_t(1) << 20;
  {
    // 12 MiB before the split, 8 after, a 16 MiB cap: both sides grow alike until the side after
    // is full, then the side before takes the rest.
    PrefaultedSpan span(12 * MiB, 8 * MiB, 16 * MiB);
    cfkit_test::wait_for_population(span, 16 * MiB);
    span.stop();
    CHECK(span.populated_after() == 8 * MiB);
    CHECK(span.populated_before() == 8 * MiB);
  }
  {
    // Everything populated; an array of 1 M floats, 3 MiB of it before the split, is taken. It is
    // zero and writable, and the populated pages outside it are given back.
    PrefaultedSpan span(8 * MiB, 8 * MiB, 64 * MiB);
    cfkit_test::wait_for_population(span, 16 * MiB);
    CHECK(span.take<float>(size_t(3) * MiB, size_t(9) * MiB) == nullptr);     // 36 MiB: too long
    CHECK(span.take<float>(size_t(3) * MiB, size_t(3) * MiB / 2) == nullptr);  // lead beyond count
    const size_t lead = 3 * MiB / sizeof(float), count = MiB;
    ZeroedArray<float> a = span.take<float>(lead, count);
    CHECK(a != nullptr);
    if (!a) return;
    bool zero = true;
    for (size_t i = 0; i < count; i += 997) zero = zero && a[i] == 0.f;
    CHECK(zero);
    a[0] = 1.f;
    a[count - 1] = 2.f;
    CHECK(a[0] == 1.f && a[count - 1] == 2.f);
    const char* split = reinterpret_cast<const char*>(a.get() + lead);
    const int64_t inside = cfkit_test::resident_pages(a.get(), a.get() + count);
    if (inside >= 0) {
      CHECK(inside == int64_t(count * sizeof(float) / 4096));  // all of it: it starts and ends on pages
      CHECK(cfkit_test::resident_pages(split - 8 * MiB, a.get() - 1024) == 0);
      CHECK(cfkit_test::resident_pages(a.get() + count + 1024, split + 8 * MiB) == 0);
    }
  }
  {
    // A span dropped while its thread runs stops it and unmaps.
    PrefaultedSpan dropped(size_t(1) << 30, size_t(1) << 30, size_t(1) << 30);
  }
}
