// Requests to the keys admin API (auth::handle_keys_request): up to eight in a
// row on one store, NUL-separated, each "METHOD /name\nbody" (a path under
// /admin/keys and a JSON body). Invariants: every answer is one of the API's
// statuses with a JSON object body (an error message on refusals); a created
// or rotated key's token is shown once, is well formed and is then that key's
// in a table built from the store, a rotated key's old token no longer is, a
// revoked key's token no longer works; no other answer shows a token.
#include <simdjson.h>

#include <map>
#include <string>
#include <vector>

#include "corral/auth/admin_api.h"
#include "corral/auth/table.h"
#include "fuzz_input.h"

using namespace corral;
using fuzz::broken;

namespace {

constexpr int64_t kNowMs = 1'733'000'000'000;

// A KeyStore in memory with the SQLite store's semantics (unique names, one edit at a time).
class MemoryStore final : public auth::KeyStore {
 public:
  const std::string& where() const override { return where_; }
  bool load(std::vector<auth::Key>& out, std::string&) override {
    out.clear();
    for (auto& [name, k] : keys_) out.push_back(k);
    return true;
  }
  auth::StoreStatus get(std::string_view name, auth::Key& out, std::string&) override {
    auto it = keys_.find(std::string(name));
    if (it == keys_.end()) return auth::StoreStatus::not_found;
    out = it->second;
    return auth::StoreStatus::ok;
  }
  auth::StoreStatus insert(const auth::Key& key, std::string&) override {
    return keys_.emplace(key.name, key).second ? auth::StoreStatus::ok : auth::StoreStatus::exists;
  }
  auth::StoreStatus modify(std::string_view name, const std::function<void(auth::Key&)>& change, auth::Key& out,
                           std::string&) override {
    auto it = keys_.find(std::string(name));
    if (it == keys_.end()) return auth::StoreStatus::not_found;
    auth::Key k = it->second;
    change(k);
    k.name = it->second.name;
    k.created_ms = it->second.created_ms;
    k.last_used_ms = it->second.last_used_ms;
    out = it->second = k;
    return auth::StoreStatus::ok;
  }
  bool touch(std::span<const auth::LastUsed>, std::string&) override { return true; }
  bool changed(bool& out, std::string&) override {
    out = true;
    return true;
  }
  size_t size() const { return keys_.size(); }

 private:
  std::string where_ = "memory";
  std::map<std::string, auth::Key> keys_;
};

struct Shown {
  std::string name, token;
};

auth::Verdict verdict_of(MemoryStore& store, std::string_view token, std::string& name) {
  std::vector<auth::Key> keys;
  std::string err;
  store.load(keys, err);
  auto t = auth::KeyTable::build(std::move(keys), nullptr, 1);
  auth::Lookup l = t->find(token, kNowMs);
  name = l.entry ? l.entry->key.name : "";
  return l.verdict;
}

// The request's key name when the path names one.
std::string_view name_in(std::string_view path) {
  path = path.substr(0, path.find('?'));
  return path.size() > 12 ? path.substr(12) : std::string_view{};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  MemoryStore store;
  auth::AdminContext ctx{store, "", kNowMs};
  simdjson::dom::parser parser;
  std::vector<Shown> shown;  // tokens handed out so far
  std::string_view rest = in.stream;
  for (int n = 0; n < 8 && !rest.empty(); ++n) {
    std::string_view op = rest.substr(0, rest.find('\0'));
    rest.remove_prefix(std::min(rest.size(), op.size() + 1));
    size_t sp = op.find(' ');  // "METHOD /name\nbody"
    if (sp == std::string_view::npos) continue;
    std::string_view method = op.substr(0, sp);
    op.remove_prefix(sp + 1);
    size_t nl = op.find('\n');
    std::string path = "/admin/keys" + std::string(op.substr(0, nl));
    std::string_view body = nl == std::string_view::npos ? std::string_view{} : op.substr(nl + 1);
    if (!auth::is_keys_path(path)) continue;
    http::LocalResponse r = auth::handle_keys_request(ctx, method, path, body);

    std::string detail = std::string(method) + " " + path + " -> " + std::to_string(r.status) + " " + r.body;
    simdjson::dom::element root;
    simdjson::padded_string padded(r.body);
    if (parser.parse(padded).get(root) != simdjson::SUCCESS || !root.is_object()) {
      broken("an answer that is not a JSON object", detail);
    }
    switch (r.status) {
      case 200:
      case 201:
        break;
      case 400:
      case 404:
      case 405:
      case 409:
        if (!root["error"].is_string()) broken("a refusal without an error message", detail);
        break;
      default:
        broken("an answer with a status the API does not give", detail);
    }
    std::string_view token, name;
    bool has_token = root["token"].get(token) == simdjson::SUCCESS;
    bool issues_token = r.status == 201 || (r.status == 200 && method == "PATCH" && body.find("rotate") != body.npos);
    if (has_token && !issues_token) broken("an answer shows a token it did not just make", detail);
    if (r.status == 201 && !has_token) broken("a created key without its token", detail);
    for (const Shown& s : shown) {
      if (r.body.find(s.token) != std::string::npos) broken("an answer shows an earlier token", detail);
    }
    if (r.status == 201 || (r.status == 200 && !name_in(path).empty())) {
      if (root["name"].get(name) != simdjson::SUCCESS) broken("a key answer without the key's name", detail);
    }
    if (has_token) {
      if (!auth::well_formed(token)) broken("a token that is not well formed", token);
      std::string found;
      auth::Verdict v = verdict_of(store, token, found);
      if ((v != auth::Verdict::ok && v != auth::Verdict::expired) || found != name) {
        broken("a token just shown is not its key's", detail);
      }
      for (const Shown& s : shown) {
        if (s.name == name && verdict_of(store, s.token, found) != auth::Verdict::unknown) {
          broken("a rotated key's old token still works", detail);
        }
      }
      shown.push_back({std::string(name), std::string(token)});
    }
    if (r.status == 200 && method == "DELETE") {
      for (const Shown& s : shown) {
        std::string found;
        if (s.name == name_in(path) && verdict_of(store, s.token, found) == auth::Verdict::ok) {
          broken("a revoked key's token still works", detail);
        }
      }
    }
    if (r.status == 200 && method == "GET" && name_in(path).empty()) {
      simdjson::dom::array keys;
      if (root["keys"].get(keys) != simdjson::SUCCESS || keys.size() != store.size()) {
        broken("the list is not every key in the store", detail);
      }
    }
  }
  return 0;
}
