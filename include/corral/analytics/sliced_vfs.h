// A SQLite VFS that steps the writing thread's core::RunSlice before every write. A commit
// writes its pages to the WAL, and a checkpoint copies them to the store, in one call that
// ran 0.8-2.7 ms per 1,000-row batch (a checkpoint once 28 ms) with no step between rows;
// written through this VFS they are sliced a page at a time like the rows.
#pragma once

#include "corral/core/priority.h"

namespace corral::analytics {

// The VFS's name for sqlite3_open_v2 (registered on first use, not as the default; it
// forwards everything to the default VFS). nullptr if SQLite has no default VFS.
const char* sliced_vfs();

// While alive, the calling thread's writes through sliced_vfs() step `slice` (nullptr: none).
class SliceWrites {
 public:
  explicit SliceWrites(core::RunSlice* slice);
  ~SliceWrites();
  SliceWrites(const SliceWrites&) = delete;
  SliceWrites& operator=(const SliceWrites&) = delete;

 private:
  core::RunSlice* outer_;
};

}  // namespace corral::analytics
