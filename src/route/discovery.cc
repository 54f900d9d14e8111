#include "corral/route/discovery.h"

#include <simdjson.h>

namespace corral::route {

namespace {

template <typename F>
bool each_model(const std::string& body, F&& f) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array list;
  if (parser.parse(body).get(root) != simdjson::SUCCESS || root["models"].get(list) != simdjson::SUCCESS) return false;
  for (simdjson::dom::element m : list) {
    std::string_view name;
    if (m["name"].get(name) != simdjson::SUCCESS && m["model"].get(name) != simdjson::SUCCESS) continue;
    f(name, m);
  }
  return true;
}

int64_t int_field(simdjson::dom::element m, const char* key) {
  int64_t v = 0;
  if (m[key].get(v) != simdjson::SUCCESS) {
    uint64_t u = 0;
    if (m[key].get(u) == simdjson::SUCCESS) v = static_cast<int64_t>(u);
  }
  return v;
}

}  // namespace

bool parse_tags(const std::string& body, std::vector<ModelInfo>& out) {
  out.clear();
  return each_model(body, [&](std::string_view name, simdjson::dom::element m) {
    out.push_back({std::string(name), int_field(m, "size")});
  });
}

bool parse_ps(const std::string& body, std::vector<LoadedModel>& out) {
  out.clear();
  return each_model(body, [&](std::string_view name, simdjson::dom::element m) {
    std::string_view expires;
    if (m["expires_at"].get(expires) != simdjson::SUCCESS) expires = {};
    out.push_back({std::string(name), int_field(m, "size"), int_field(m, "size_vram"), std::string(expires)});
  });
}

bool parse_version(const std::string& body, std::string& out) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view v;
  if (parser.parse(body).get(root) != simdjson::SUCCESS || root["version"].get(v) != simdjson::SUCCESS) return false;
  out.assign(v);
  return true;
}

bool parse_model_list(const std::string& body, std::vector<ModelInfo>& out) {
  out.clear();
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array list;
  if (parser.parse(body).get(root) != simdjson::SUCCESS || root["data"].get(list) != simdjson::SUCCESS) return false;
  for (simdjson::dom::element m : list) {
    std::string_view id;
    if (m["id"].get(id) == simdjson::SUCCESS) out.push_back({std::string(id), 0});
  }
  return true;
}

bool resolve_all(const config::BackendConfig& b, std::vector<core::SockAddr>& out, std::string& err) {
  if (!core::resolve_all(b.host, b.port, out, err)) return false;
  if (!b.dns) out.resize(1);
  return true;
}

}  // namespace corral::route
