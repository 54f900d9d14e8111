// Model lists across dialects, for the merged /api/tags and /v1/models: a
// hosted backend's GET /v1/models list becomes Ollama tags items or OpenAI
// model items (an Ollama backend's /api/tags becomes OpenAI items too).
#include <time.h>

#include <cstdio>

#include "corral/api/json.h"
#include "corral/core/clock.h"
#include "translate_codec.h"

namespace corral::api {
namespace detail {
namespace {

// Unix seconds of an RFC 3339 time ("2025-05-22T00:00:00Z", "…49.2773-07:00"); 0 when unreadable.
int64_t unix_seconds(std::string_view s) {
  tm t{};
  int consumed = 0;
  std::string z(s);
  if (std::sscanf(z.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &t.tm_year, &t.tm_mon, &t.tm_mday, &t.tm_hour, &t.tm_min,
                  &t.tm_sec, &consumed) != 6) {
    return 0;
  }
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  int64_t secs = timegm(&t);
  size_t i = static_cast<size_t>(consumed);
  while (i < z.size() && (z[i] == '.' || (z[i] >= '0' && z[i] <= '9'))) ++i;
  int oh = 0, om = 0;
  if (i < z.size() && (z[i] == '+' || z[i] == '-') && std::sscanf(z.c_str() + i + 1, "%2d:%2d", &oh, &om) == 2) {
    secs -= (z[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  }
  return secs;
}

bool model_items(std::string_view body, std::string_view list_key, array& items, std::string& err) {
  element root;
  if (json_parser().parse(body.data(), body.size()).get(root) != SUCCESS || root[list_key].get(items) != SUCCESS) {
    err = "the backend's model list has no \"" + std::string(list_key) + "\" array";
    return false;
  }
  return true;
}

struct Model {
  std::string_view id;
  int64_t created = 0;  // Unix seconds
  std::string_view owner;
};

Model read_model(Dialect backend, element item) {
  Model m;
  if (backend == Dialect::ollama) {
    m.id = string_at(item, "name");
    m.created = unix_seconds(string_at(item, "modified_at"));
    size_t slash = m.id.find('/');
    m.owner = slash == std::string_view::npos ? std::string_view("library") : m.id.substr(0, slash);
    return m;
  }
  m.id = string_at(item, "id");
  std::string_view created_at = string_at(item, "created_at");  // Anthropic
  if (!created_at.empty()) m.created = unix_seconds(created_at);
  else if (item["created"].get(m.created) != SUCCESS) m.created = 0;
  m.owner = string_at(item, "owned_by");
  if (m.owner.empty()) m.owner = dialect_name(backend);
  return m;
}

}  // namespace
}  // namespace detail

bool models_to_ollama_tags(Dialect backend, std::string_view body, std::string& out, std::string& err) {
  using namespace detail;
  array items;
  if (!model_items(body, backend == Dialect::ollama ? "models" : "data", items, err)) return false;
  JsonWriter w(out);
  w.begin_object().key("models").begin_array();
  for (element item : items) {
    if (backend == Dialect::ollama) {
      w.raw(to_json(item));
      continue;
    }
    Model m = read_model(backend, item);
    if (m.id.empty()) continue;
    w.begin_object().key("name").string(m.id).key("model").string(m.id);
    w.key("modified_at").string(core::iso_time(m.created * 1000)).key("size").number(0).key("digest").string("");
    w.key("details").begin_object().key("parent_model").string("").key("format").string("").key("family").string("");
    w.key("families").null().key("parameter_size").string("").key("quantization_level").string("");
    w.end_object().end_object();
  }
  w.end_array().end_object();
  return true;
}

bool models_to_openai_list(Dialect backend, std::string_view body, std::string& out, std::string& err) {
  using namespace detail;
  array items;
  if (!model_items(body, backend == Dialect::ollama ? "models" : "data", items, err)) return false;
  JsonWriter w(out);
  w.begin_object().key("object").string("list").key("data").begin_array();
  for (element item : items) {
    Model m = read_model(backend, item);
    if (m.id.empty()) continue;
    w.begin_object().key("id").string(m.id).key("object").string("model").key("created").number(m.created);
    w.key("owned_by").string(m.owner).end_object();
  }
  w.end_array().end_object();
  return true;
}

}  // namespace corral::api
