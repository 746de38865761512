// Error type shared by the whole native core. The addon turns these into typed JS errors by code,
// so native code never aborts the process on bad input or numeric failure.
#pragma once
#include <stdexcept>
#include <string>

namespace cfkit {

enum class ErrorCode { Input, Format, Aborted, Numeric, Device, IO, Disposed, Internal };

inline const char* error_code_name(ErrorCode c) {
  switch (c) {
    case ErrorCode::Input: return "E_INPUT";
    case ErrorCode::Format: return "E_FORMAT";
    case ErrorCode::Aborted: return "E_ABORTED";
    case ErrorCode::Numeric: return "E_NUMERIC";
    case ErrorCode::Device: return "E_DEVICE";
    case ErrorCode::IO: return "E_IO";
    case ErrorCode::Disposed: return "E_DISPOSED";
    default: return "E_INTERNAL";
  }
}

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

[[noreturn]] inline void fail(ErrorCode code, const std::string& message) { throw Error(code, message); }

// Callers that build a message with std::to_string must only do so off the hot path; the const char*
// overload costs nothing when the check passes.
inline void require(bool ok, const char* message) {
  if (!ok) fail(ErrorCode::Input, message);
}
inline void require(bool ok, const std::string& message) {
  if (!ok) fail(ErrorCode::Input, message);
}

}  // namespace cfkit
