#include "report_json.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "device/cuda_backend.hpp"
#include "info/backend.hpp"

namespace cfkit_gpu_check {

namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

std::string number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  return "unknown";
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

const char* status_name(Status s) { return s == Status::Pass ? "pass" : s == Status::Fail ? "fail" : "skip"; }
const char* side_name(Side s) { return s == Side::Cpu ? "cpu" : "gpu"; }

}  // namespace

bool write_report(const std::string& path, const Run& run, double seconds, std::string& error) {
  const cfkit::device::CudaStatus& c = cfkit::device::cuda_status();
  const cfkit::CpuBackendInfo cpu = cfkit::cpu_backend_info();
  std::ostringstream j;
  j << "{\n  \"tool\": \"cfkit-gpu-check\",\n  \"version\": " << quoted(CFKIT_VERSION) << ",\n  \"date\": " << quoted(utc_now())
    << ",\n  \"mode\": " << quoted(run.quick() ? "quick" : "full") << ",\n  \"seconds\": " << number(seconds) << ",\n";
  j << "  \"machine\": {\"cpu\": " << quoted(cpu_model()) << ", \"threads\": " << run.threads()
    << ", \"hardwareThreads\": " << cpu.hardware_threads << ", \"blas\": " << quoted(cpu.blas) << ", \"simd\": " << quoted(cpu.simd)
    << "},\n";
  j << "  \"cuda\": {\"available\": " << (c.available ? "true" : "false") << ", \"reason\": " << quoted(c.reason)
    << ", \"library\": " << quoted(c.library_path) << ", \"libraryLoaded\": " << (c.library_loaded ? "true" : "false")
    << ", \"driverVersion\": " << c.driver_version << ", \"runtimeVersion\": " << c.runtime_version << ",\n    \"devices\": [";
  for (size_t d = 0; d < c.devices.size(); ++d)
    j << (d ? ", " : "") << "{\"name\": " << quoted(c.devices[d].name) << ", \"memoryBytes\": " << number(c.devices[d].memory_bytes)
      << ", \"computeCapability\": \"" << c.devices[d].major << "." << c.devices[d].minor
      << "\", \"multiprocessors\": " << c.devices[d].multiprocessors << "}";
  j << "],\n    \"cublas\": {\"loaded\": " << (c.cublas_loaded ? "true" : "false") << ", \"version\": " << c.cublas_version
    << ", \"selfTest\": " << c.cublas_self_test << ", \"path\": " << quoted(c.cublas_path) << ", \"error\": " << quoted(c.cublas_error)
    << "}},\n";
  j << "  \"checks\": [";
  bool first = true;
  for (const Outcome& o : run.outcomes()) {
    j << (first ? "\n" : ",\n") << "    {\"name\": " << quoted(o.name) << ", \"side\": \"" << side_name(o.side) << "\", \"status\": \""
      << status_name(o.status) << "\", \"error\": " << (o.measured ? number(o.error) : "null")
      << ", \"tolerance\": " << (o.measured ? number(o.tolerance) : "null") << ", \"seconds\": " << number(o.seconds)
      << ", \"detail\": " << quoted(o.detail) << "}";
    first = false;
  }
  j << "\n  ],\n  \"timings\": [";
  first = true;
  for (const Timing& t : run.timings()) {
    j << (first ? "\n" : ",\n") << "    {\"name\": " << quoted(t.name) << ", \"side\": \"" << side_name(t.side) << "\", \"note\": " << quoted(t.note);
    for (const auto& f : t.figures) j << ", " << quoted(f.first) << ": " << number(f.second);
    j << "}";
    first = false;
  }
  j << "\n  ],\n  \"summary\": {\"passed\": " << run.count(Status::Pass) << ", \"failed\": " << run.count(Status::Fail)
    << ", \"skipped\": " << run.count(Status::Skip) << "}\n}\n";

  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << j.str();
    f.flush();
    if (!f) {
      std::remove(tmp.c_str());
      error = "write failed";
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    error = "rename failed";
    return false;
  }
  return true;
}

}  // namespace cfkit_gpu_check
