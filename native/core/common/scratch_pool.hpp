// Work buffers a model keeps between calls. Serving one user must not allocate and zero buffers
// the size of the catalogue on every call (for SANSA on 41k items that was 0.8 MB per user, a third
// of the call). The pool holds at most one buffer set per call running at the same time, so it
// grows to the peak concurrency of scoring calls and is freed with the model.
#pragma once
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace cfkit {

template <class T>
class ScratchPool {
 public:
  // A buffer set lent until the lease ends; its contents are whatever the last user left in it.
  class Lease {
   public:
    Lease(ScratchPool* pool, std::unique_ptr<T> item) : pool_(pool), item_(std::move(item)) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), item_(std::move(o.item_)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (item_) pool_->give_back(std::move(item_));
    }
    T& operator*() const { return *item_; }
    T* operator->() const { return item_.get(); }

   private:
    ScratchPool* pool_;
    std::unique_ptr<T> item_;
  };

  // One from the pool, or make() when all are lent.
  template <class Make>
  Lease acquire(Make&& make) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        std::unique_ptr<T> item = std::move(free_.back());
        free_.pop_back();
        return Lease(this, std::move(item));
      }
      free_.reserve(++created_);  // so that give_back, run from a destructor, never allocates
    }
    return Lease(this, std::make_unique<T>(make()));
  }

 private:
  void give_back(std::unique_ptr<T> item) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(item));
  }

  std::mutex mu_;
  std::vector<std::unique_ptr<T>> free_;
  size_t created_ = 0;
};

}  // namespace cfkit
