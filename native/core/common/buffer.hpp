// A large dense array that is NOT zero-initialised on allocation. For n² matrices the serial
// zeroing and page faulting of std::vector cost more than the parallel loops that fill them, so
// owners write every element themselves (from several threads, which also spreads the faults).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

namespace cfkit {

template <class T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t n) : data_(n ? new T[n] : nullptr), size_(n) {}  // default-init: no zeroing
  Buffer(Buffer&&) noexcept = default;
  Buffer& operator=(Buffer&&) noexcept = default;

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T* begin() { return data_.get(); }
  T* end() { return data_.get() + size_; }
  const T* begin() const { return data_.get(); }
  const T* end() const { return data_.get() + size_; }

 private:
  std::unique_ptr<T[]> data_;
  size_t size_ = 0;
};

}  // namespace cfkit
