#include "corral/api/merge.h"

#include <simdjson.h>

#include <set>

#include "corral/api/errors.h"

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
