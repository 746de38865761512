#include "convert.hpp"

#include <cstring>

#include "common/error.hpp"

namespace cfkit_addon {

using cfkit::ErrorCode;
using cfkit::fail;

namespace {
template <class T>
struct TypedTraits;
template <>
struct TypedTraits<int32_t> {
  static constexpr napi_typedarray_type type = napi_int32_array;
  static constexpr const char* name = "Int32Array";
};
template <>
struct TypedTraits<float> {
  static constexpr napi_typedarray_type type = napi_float32_array;
  static constexpr const char* name = "Float32Array";
};
template <>
struct TypedTraits<double> {
  static constexpr napi_typedarray_type type = napi_float64_array;
  static constexpr const char* name = "Float64Array";
};
template <>
struct TypedTraits<uint8_t> {
  static constexpr napi_typedarray_type type = napi_uint8_array;
  static constexpr const char* name = "Uint8Array";
};

template <class T, class Arr>
Arr copy_out(Napi::Env env, const std::vector<T>& v) {
  Arr a = Arr::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(T));
  return a;
}
}  // namespace

template <class T>
std::vector<T> vector_from_typed(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != TypedTraits<T>::type)
    fail(ErrorCode::Input, std::string(what) + " must be a " + TypedTraits<T>::name);
  Napi::TypedArrayOf<T> a = v.As<Napi::TypedArrayOf<T>>();
  return std::vector<T>(a.Data(), a.Data() + a.ElementLength());
}
template std::vector<int32_t> vector_from_typed<int32_t>(const Napi::Value&, const char*);
template std::vector<float> vector_from_typed<float>(const Napi::Value&, const char*);
template std::vector<double> vector_from_typed<double>(const Napi::Value&, const char*);
template std::vector<uint8_t> vector_from_typed<uint8_t>(const Napi::Value&, const char*);

int64_t int_arg(const Napi::Value& v, const char* what, int64_t lo, int64_t hi) {
  if (!v.IsNumber()) fail(ErrorCode::Input, std::string(what) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= double(lo) && d <= double(hi)) || d != static_cast<double>(static_cast<int64_t>(d)))
    fail(ErrorCode::Input, std::string(what) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return static_cast<int64_t>(d);
}

double number_field(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}

bool bool_field(const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}

cfkit::Csr csr_from_js(const Napi::Value& v, const char* what) {
  if (!v.IsObject()) fail(ErrorCode::Input, std::string(what) + " must be a CSR object");
  Napi::Object o = v.As<Napi::Object>();
  cfkit::Csr m;
  m.rows = int_arg(o.Get("rows"), "rows", 0, INT32_MAX);
  m.cols = int_arg(o.Get("cols"), "cols", 0, INT32_MAX);
  std::vector<int32_t> ptr = vector_from_typed<int32_t>(o.Get("indptr"), "indptr");
  if (static_cast<int64_t>(ptr.size()) != m.rows + 1) fail(ErrorCode::Input, std::string(what) + ": indptr must have rows + 1 entries");
  m.indptr.assign(ptr.begin(), ptr.end());
  m.indices = vector_from_typed<int32_t>(o.Get("indices"), "indices");
  Napi::Value vals = o.Get("values");
  if (vals.IsUndefined() || vals.IsNull())
    m.values.assign(m.indices.size(), 1.0f);
  else
    m.values = vector_from_typed<float>(vals, "values");
  m.validate(what);
  return m;
}

Napi::Float32Array to_js(Napi::Env env, const std::vector<float>& v) { return copy_out<float, Napi::Float32Array>(env, v); }
Napi::Float32Array to_js(Napi::Env env, const cfkit::Buffer<float>& v) {
  Napi::Float32Array a = Napi::Float32Array::New(env, v.size());
  if (v.size()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(float));
  return a;
}
Napi::Float64Array to_js(Napi::Env env, const std::vector<double>& v) { return copy_out<double, Napi::Float64Array>(env, v); }
Napi::Int32Array to_js(Napi::Env env, const std::vector<int32_t>& v) { return copy_out<int32_t, Napi::Int32Array>(env, v); }
Napi::Uint8Array to_js(Napi::Env env, const std::vector<uint8_t>& v) { return copy_out<uint8_t, Napi::Uint8Array>(env, v); }

Napi::Object cuda_status_to_js(Napi::Env env, const cfkit::device::CudaStatus& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("available", s.available);
  o.Set("reason", s.reason);
  o.Set("libraryPath", s.library_path);
  o.Set("libraryLoaded", s.library_loaded);
  o.Set("driverVersion", s.driver_version);
  o.Set("runtimeVersion", s.runtime_version);
  Napi::Array devs = Napi::Array::New(env, s.devices.size());
  for (size_t i = 0; i < s.devices.size(); ++i) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("name", s.devices[i].name);
    d.Set("memoryBytes", s.devices[i].memory_bytes);
    d.Set("computeCapability", std::to_string(s.devices[i].major) + "." + std::to_string(s.devices[i].minor));
    d.Set("multiprocessors", s.devices[i].multiprocessors);
    devs.Set(static_cast<uint32_t>(i), d);
  }
  o.Set("devices", devs);
  o.Set("cublasLoaded", s.cublas_loaded);
  o.Set("cublasVersion", s.cublas_version);
  o.Set("cublasPath", s.cublas_path);
  if (!s.cublas_error.empty()) o.Set("cublasError", s.cublas_error);
  return o;
}

}  // namespace cfkit_addon
