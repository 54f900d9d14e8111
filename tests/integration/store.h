// Reading corral's analytics store (SQLite) from a test.
#pragma once

#include <set>
#include <string>

namespace harness {

// First column of the first row of a query, as text ("" without rows, "<error>" when it failed).
std::string sql(const std::string& db_path, const std::string& query);
// COUNT(*) of the requests matching `where` (-1 when the store cannot be read).
long count_rows(const std::string& db_path, const std::string& where = "1");
// Polls until the store holds n requests; what it last held.
long wait_rows(const std::string& db_path, long n, int timeout_ms = 5000);
// Every request id in the store, each as often as it is stored.
std::multiset<std::string> stored_ids(const std::string& db_path);

}  // namespace harness
