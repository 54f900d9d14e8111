// Small blocking file helpers (off the request path: analytics store, spool).
#pragma once
#include <string>
#include <string_view>

namespace corral::core {

// Writes all of data (short writes and EINTR retried); false with errno set.
bool write_all(int fd, std::string_view data);

// mkdir -p for the directory part of path ("a/b/c" creates a/b; "a/b/" creates a/b).
bool make_parent_dirs(const std::string& path, std::string& err);

}  // namespace corral::core
