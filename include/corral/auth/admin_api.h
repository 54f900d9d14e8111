// The keys admin API as a function over the store, for tooling:
//   GET    /admin/keys          {"keys":[key,…]}
//   POST   /admin/keys          {"name":…, fields…} → 201 key + "token" (shown once)
//   GET    /admin/keys/NAME     key
//   PATCH  /admin/keys/NAME     {fields…, "rotate":true?} → key (+ "token" when rotated)
//   DELETE /admin/keys/NAME     revokes → key (state "revoked"; it stays listed)
// Fields are the CLI's flags by the same names: admin (bool), models (list of
// names), rpm, tpm, concurrency (numbers, 0 = no limit), priority, expires
// ("30d", "never"), note. Bad JSON, an unknown field or a bad value is a 400
// naming it; an unknown key a 404. The caller has checked the admin key and
// runs this off the worker thread (it does SQLite I/O).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "corral/auth/store.h"
#include "corral/http/response.h"

namespace corral::auth {

struct AdminContext {
  KeyStore& store;
  std::string analytics_db;  // SQLite analytics store for the requests_24h/tokens_24h figures; empty = none
  int64_t now_ms = 0;        // Unix ms
};

// True for /admin/keys and /admin/keys/… (a query string is ignored).
bool is_keys_path(std::string_view path);

http::LocalResponse handle_keys_request(const AdminContext& ctx, std::string_view method, std::string_view path,
                                        std::string_view body);

}  // namespace corral::auth
