#include "corral/analytics/sliced_vfs.h"

#include <sqlite3.h>

namespace corral::analytics {
namespace {

thread_local core::RunSlice* current = nullptr;
sqlite3_vfs* root = nullptr;  // the default VFS everything goes to

// Our file: SQLite allocates szOsFile bytes; the default VFS's own file follows ours.
struct File {
  sqlite3_file base;
};
sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<sqlite3_file*>(reinterpret_cast<File*>(f) + 1); }
const sqlite3_io_methods* io(sqlite3_file* f) { return real(f)->pMethods; }

int close(sqlite3_file* f) { return io(f)->xClose(real(f)); }
int read(sqlite3_file* f, void* p, int n, sqlite3_int64 at) { return io(f)->xRead(real(f), p, n, at); }
int write(sqlite3_file* f, const void* p, int n, sqlite3_int64 at) {
  if (current) current->step();
  return io(f)->xWrite(real(f), p, n, at);
}
int truncate(sqlite3_file* f, sqlite3_int64 size) { return io(f)->xTruncate(real(f), size); }
int sync(sqlite3_file* f, int flags) { return io(f)->xSync(real(f), flags); }
int file_size(sqlite3_file* f, sqlite3_int64* size) { return io(f)->xFileSize(real(f), size); }
int lock(sqlite3_file* f, int level) { return io(f)->xLock(real(f), level); }
int unlock(sqlite3_file* f, int level) { return io(f)->xUnlock(real(f), level); }
int check_reserved(sqlite3_file* f, int* out) { return io(f)->xCheckReservedLock(real(f), out); }
int file_control(sqlite3_file* f, int op, void* arg) { return io(f)->xFileControl(real(f), op, arg); }
int sector_size(sqlite3_file* f) { return io(f)->xSectorSize(real(f)); }
int device_characteristics(sqlite3_file* f) { return io(f)->xDeviceCharacteristics(real(f)); }
int shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return io(f)->xShmMap(real(f), region, size, extend, out);
}
int shm_lock(sqlite3_file* f, int offset, int n, int flags) { return io(f)->xShmLock(real(f), offset, n, flags); }
void shm_barrier(sqlite3_file* f) { io(f)->xShmBarrier(real(f)); }
int shm_unmap(sqlite3_file* f, int remove) { return io(f)->xShmUnmap(real(f), remove); }
int fetch(sqlite3_file* f, sqlite3_int64 at, int n, void** out) { return io(f)->xFetch(real(f), at, n, out); }
int unfetch(sqlite3_file* f, sqlite3_int64 at, void* p) { return io(f)->xUnfetch(real(f), at, p); }

// Version 3 (WAL's shared memory, memory-mapped reads), as the unix VFS's files.
const sqlite3_io_methods kMethods = {3,
                                     close,
                                     read,
                                     write,
                                     truncate,
                                     sync,
                                     file_size,
                                     lock,
                                     unlock,
                                     check_reserved,
                                     file_control,
                                     sector_size,
                                     device_characteristics,
                                     shm_map,
                                     shm_lock,
                                     shm_barrier,
                                     shm_unmap,
                                     fetch,
                                     unfetch};

int open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  f->pMethods = nullptr;  // until the real file is open: SQLite then does not close it
  int rc = root->xOpen(root, name, real(f), flags, out_flags);
  if (rc == SQLITE_OK && real(f)->pMethods) {
    if (real(f)->pMethods->iVersion < 3) {  // a default VFS without WAL's methods: not ours to extend
      real(f)->pMethods->xClose(real(f));
      return SQLITE_CANTOPEN;
    }
    f->pMethods = &kMethods;
  }
  return rc;
}

sqlite3_vfs* make() {
  root = sqlite3_vfs_find(nullptr);
  if (!root) return nullptr;
  static sqlite3_vfs vfs = *root;  // the rest forwards as the default's own functions
  vfs.pNext = nullptr;
  vfs.zName = "corral-sliced";
  vfs.szOsFile = static_cast<int>(sizeof(File)) + root->szOsFile;
  vfs.xOpen = open;
  return sqlite3_vfs_register(&vfs, 0) == SQLITE_OK ? &vfs : nullptr;
}

}  // namespace

const char* sliced_vfs() {
  static sqlite3_vfs* vfs = make();
  return vfs ? vfs->zName : nullptr;
}

SliceWrites::SliceWrites(core::RunSlice* slice) : outer_(current) { current = slice; }
SliceWrites::~SliceWrites() { current = outer_; }

}  // namespace corral::analytics
