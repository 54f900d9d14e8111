// The process allocator, as far as corral asks anything of it.
#pragma once

namespace corral::core {

// Gives the calling thread's freed heap memory back to the system: mimalloc's
// mi_collect(true) where mimalloc is the allocator (the corral binary), glibc's
// malloc_trim otherwise (tests, sanitizer builds). For a thread that just freed a
// burst's working set and expects to stay quiet; it costs a pass over the heap.
void give_back_free_heap();

}  // namespace corral::core
