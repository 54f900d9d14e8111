#include "corral/auth/admin_api.h"

#include <simdjson.h>

#include <vector>

#include "corral/api/errors.h"
#include "corral/auth/manage.h"

namespace corral::auth {

namespace {

http::LocalResponse error(int status, std::string_view message) {
  return http::json_response(status, api::ollama_error(message));
}

constexpr std::string_view kCollection = "/admin/keys";

std::string_view without_query(std::string_view path) { return path.substr(0, path.find('?')); }

http::LocalResponse answer(int status, std::string body) {
  http::LocalResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

http::LocalResponse status_error(StoreStatus st, std::string_view name, const std::string& err) {
  if (st == StoreStatus::not_found) return error(404, "no key named '" + std::string(name) + "'");
  if (st == StoreStatus::exists) return error(409, "key '" + std::string(name) + "' already exists");
  return error(500, err);
}

// A POST body (name and fields) or a PATCH body (fields and rotate).
struct Body {
  std::string name;
  bool rotate = false;
  KeySpec spec;
};

// err = "member: why" when !ok.
bool named(std::string_view member, bool ok, std::string_view why, std::string& err) {
  if (!ok) err = std::string(member) + ": " + std::string(why);
  return ok;
}

// A field's JSON value, by its kind, into the same setters the CLI uses.
bool read_field(const Field& f, simdjson::dom::element v, KeySpec& spec, std::string& err) {
  std::string why;
  switch (f.kind) {
    case FieldKind::flag: {
      bool flag;
      if (v.get(flag) != simdjson::SUCCESS) break;
      set_flag(spec, flag);
      return true;
    }
    case FieldKind::count: {
      uint64_t n;
      if (v.get(n) != simdjson::SUCCESS) break;
      bool ok = set_count(spec, f, n, why);
      return named(f.name, ok, why, err);
    }
    case FieldKind::text: {
      std::string_view s = "never";  // "expires": null
      if (!(f.name == "expires" && v.is_null()) && v.get(s) != simdjson::SUCCESS) break;
      bool ok = set_text(spec, f, s, why);
      return named(f.name, ok, why, err);
    }
    case FieldKind::list: {
      simdjson::dom::array list;
      std::vector<std::string> models;
      if (v.get(list) != simdjson::SUCCESS) break;
      for (simdjson::dom::element m : list) {
        std::string_view s;
        if (m.get(s) != simdjson::SUCCESS) return named(f.name, false, expected(f), err);
        models.emplace_back(s);
      }
      bool ok = set_list(spec, models, why);
      return named(f.name, ok, why, err);
    }
  }
  return named(f.name, false, expected(f), err);
}

bool read_member(std::string_view member, simdjson::dom::element v, bool creating, Body& b, std::string& err) {
  if (member == "name" && creating) {
    std::string_view s;
    if (v.get(s) != simdjson::SUCCESS) return named(member, false, "expected a string", err);
    b.name = std::string(s);
    return valid_key_name(b.name, err);
  }
  if (member == "rotate" && !creating) {
    return named(member, v.get(b.rotate) == simdjson::SUCCESS, "expected true or false", err);
  }
  const Field* f = find_field(member);
  if (!f) {
    err = "unknown field '" + std::string(member) + "'";
    return false;
  }
  return read_field(*f, v, b.spec, err);
}

// The members into b; false with err naming the member that is wrong.
bool read_body(std::string_view text, bool creating, Body& b, std::string& err) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object obj;
  simdjson::padded_string padded(text);
  if (auto e = parser.parse(padded).get(root); e != simdjson::SUCCESS) {
    err = std::string("invalid JSON: ") + simdjson::error_message(e);
    return false;
  }
  if (root.get(obj) != simdjson::SUCCESS) {
    err = "expected a JSON object";
    return false;
  }
  std::vector<std::string_view> seen;
  for (auto [member, value] : obj) {
    for (std::string_view s : seen) {
      if (s == member) {
        err = std::string(member) + ": given twice";
        return false;
      }
    }
    seen.push_back(member);
    if (!read_member(member, value, creating, b, err)) return false;
  }
  if (creating && b.name.empty()) {
    err = "name: required";
    return false;
  }
  return true;
}

// The analytics store's figures, or false when there is none to read (then null in the answer).
bool activity_of(const AdminContext& ctx, ActivityByKey& out) {
  std::string ignored;
  return !ctx.analytics_db.empty() && read_activity(ctx.analytics_db, ctx.now_ms - kActivityWindowMs, out, ignored);
}

KeyActivity activity_for(const ActivityByKey& all, const std::string& name) {
  auto it = all.find(name);
  return it == all.end() ? KeyActivity{} : it->second;
}

http::LocalResponse key_answer(int status, const Key& k, const AdminContext& ctx, const std::string& token,
                               bool with_activity = false) {
  ActivityByKey all;
  KeyActivity a;
  bool have = with_activity && activity_of(ctx, all);
  if (have) a = activity_for(all, k.name);
  std::string body;
  append_key_json(body, k, ctx.now_ms, have ? &a : nullptr, true);
  if (!token.empty()) body.append(",\"token\":\"").append(token).append("\"");
  body += '}';
  return answer(status, std::move(body));
}

http::LocalResponse list(const AdminContext& ctx) {
  std::vector<Key> keys;
  std::string err;
  if (!ctx.store.load(keys, err)) return error(500, err);
  ActivityByKey all;
  bool have = activity_of(ctx, all);
  std::string body = "{\"keys\":[";
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i) body += ',';
    KeyActivity a = activity_for(all, keys[i].name);
    append_key_json(body, keys[i], ctx.now_ms, have ? &a : nullptr);
  }
  body += "]}";
  return answer(200, std::move(body));
}

http::LocalResponse create(const AdminContext& ctx, std::string_view text) {
  Body b;
  std::string err;
  if (!read_body(text, true, b, err)) return error(400, err);
  Key k;
  std::string token;
  StoreStatus st = create_key(ctx.store, b.name, b.spec, ctx.now_ms, k, token, err);
  return st == StoreStatus::ok ? key_answer(201, k, ctx, token) : status_error(st, b.name, err);
}

http::LocalResponse one(const AdminContext& ctx, std::string_view method, std::string_view name,
                        std::string_view text) {
  Key k;
  std::string err, token;
  StoreStatus st;
  if (method == "GET") {
    st = ctx.store.get(name, k, err);
  } else if (method == "DELETE") {
    st = revoke_key(ctx.store, name, k, err);
  } else {
    Body b;
    if (!read_body(text, false, b, err)) return error(400, err);
    st = change_key(ctx.store, name, b.spec, ctx.now_ms, k, err, b.rotate ? &token : nullptr);
  }
  return st == StoreStatus::ok ? key_answer(200, k, ctx, token, method == "GET") : status_error(st, name, err);
}

}  // namespace

bool is_keys_path(std::string_view path) {
  path = without_query(path);
  return path == kCollection || (path.starts_with(kCollection) && path[kCollection.size()] == '/');
}

http::LocalResponse handle_keys_request(const AdminContext& ctx, std::string_view method, std::string_view path,
                                        std::string_view body) {
  path = without_query(path);
  std::string_view rest = path.substr(std::min(path.size(), kCollection.size()));
  if (rest.empty() || rest == "/") {
    if (method == "GET") return list(ctx);
    if (method == "POST") return create(ctx, body);
    return error(405, "method not allowed: /admin/keys takes GET and POST");
  }
  std::string_view name = rest.substr(1);
  std::string ignored;
  if (!is_keys_path(path) || !valid_key_name(name, ignored)) {  // not echoed: the path may be any bytes, JSON is UTF-8
    return error(404, "no such key: key names are 1 to 64 of A-Z a-z 0-9 . _ -");
  }
  if (method != "GET" && method != "PATCH" && method != "DELETE") {
    return error(405, "method not allowed: /admin/keys/NAME takes GET, PATCH and DELETE");
  }
  return one(ctx, method, name, body);
}

}  // namespace corral::auth
