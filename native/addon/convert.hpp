// JS <-> core conversions. Inputs are copied into core types on the JS thread (so JS may reuse its
// buffers while work runs); outputs are copied into fresh typed arrays.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/buffer.hpp"
#include "device/cuda_backend.hpp"
#include "sparse/csr.hpp"

namespace cfkit_addon {

// {rows, cols, indptr: Int32Array, indices: Int32Array, values?: Float32Array}; validated.
cfkit::Csr csr_from_js(const Napi::Value& v, const char* what);

template <class T>
std::vector<T> vector_from_typed(const Napi::Value& v, const char* what);

Napi::Float32Array to_js(Napi::Env env, const std::vector<float>& v);
Napi::Float32Array to_js(Napi::Env env, const cfkit::Buffer<float>& v);
Napi::Float64Array to_js(Napi::Env env, const std::vector<double>& v);
Napi::Int32Array to_js(Napi::Env env, const std::vector<int32_t>& v);
Napi::Uint8Array to_js(Napi::Env env, const std::vector<uint8_t>& v);

int64_t int_arg(const Napi::Value& v, const char* what, int64_t lo, int64_t hi);
double number_field(const Napi::Object& o, const char* key, double fallback);
bool bool_field(const Napi::Object& o, const char* key, bool fallback);

Napi::Object cuda_status_to_js(Napi::Env env, const cfkit::device::CudaStatus& s);

}  // namespace cfkit_addon
