#include "corral/api/merge.h"

#include <simdjson.h>

#include <set>

#include "corral/api/errors.h"
#include "corral/api/json.h"

namespace corral::api {
namespace {

std::string failures(const std::vector<LegAnswer>& legs) {
  std::string why;
  for (const LegAnswer& l : legs) {
    if (!why.empty()) why += "; ";
    if (l.status) why += "status " + std::to_string(l.status);
    else why += l.error;
  }
  return why.empty() ? std::string("no healthy backend") : why;
}

Merged no_answer(const std::vector<LegAnswer>& legs) {
  return {502, error_body(Dialect::ollama, 502, "no backend answered: " + failures(legs)), true};
}

}  // namespace

Merged merge_lists(const std::vector<LegAnswer>& legs, std::string_view list_key, std::string_view id_key,
                   std::string_view prefix) {
  Merged r;
  r.body.assign(prefix);
  std::set<std::string, std::less<>> seen;
  bool any = false;
  simdjson::dom::parser parser;
  for (const LegAnswer& l : legs) {
    simdjson::dom::element root;
    simdjson::dom::array list;
    if (l.status != 200 || parser.parse(l.body.data(), l.body.size()).get(root) != simdjson::SUCCESS ||
        root[list_key].get(list) != simdjson::SUCCESS) {
      continue;
    }
    any = true;
    for (simdjson::dom::element item : list) {
      std::string_view id;
      if (item[id_key].get(id) != simdjson::SUCCESS || !seen.insert(std::string(id)).second) continue;
      if (seen.size() > 1) r.body.push_back(',');
      r.body += simdjson::minify(item);
    }
  }
  r.body += "]}";
  if (!any && !legs.empty()) return no_answer(legs);
  return r;
}

std::string known_models_body(bool openai_list, const std::vector<KnownModel>& models) {
  std::string out = openai_list ? "{\"object\":\"list\",\"data\":[" : "{\"models\":[";
  for (size_t i = 0; i < models.size(); ++i) {
    const KnownModel& m = models[i];
    if (i) out.push_back(',');
    if (openai_list) {
      out += "{\"id\":";
      append_json_string(out, m.name);
      out += ",\"object\":\"model\",\"created\":0,\"owned_by\":";
      append_json_string(out, m.owner.empty() ? "corral" : m.owner);
      out += "}";
      continue;
    }
    out += "{\"name\":";
    append_json_string(out, m.name);
    out += ",\"model\":";
    append_json_string(out, m.name);
    out += ",\"modified_at\":\"1970-01-01T00:00:00Z\",\"size\":0,\"digest\":\"\",\"details\":{\"parent_model\":";
    append_json_string(out, m.parent);
    out += ",\"format\":\"\",\"family\":\"\",\"families\":null,\"parameter_size\":\"\",\"quantization_level\":\"\"}}";
  }
  return out + "]}";
}

Merged merge_outcomes(const std::vector<LegAnswer>& legs) {
  for (const LegAnswer& l : legs) {
    if (l.status == 200) return {200, "", false};  // Ollama answers these with an empty 200
  }
  for (const LegAnswer& l : legs) {
    if (l.status != 0) return {l.status, std::string(l.body), true};
  }
  return no_answer(legs);
}

}  // namespace corral::api
