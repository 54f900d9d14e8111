#include "corral/core/heap.h"

#include <malloc.h>

// Defined only when mimalloc is linked in (meson's mimalloc option links it into the corral
// binary, not into libcorral): a weak reference is null otherwise.
extern "C" void mi_collect(bool force) __attribute__((weak));

namespace corral::core {

void give_back_free_heap() {
  if (mi_collect) mi_collect(true);
  else malloc_trim(0);
}

}  // namespace corral::core
