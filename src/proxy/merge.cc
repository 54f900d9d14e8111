#include "corral/proxy/merge.h"

#include <set>
#include <string>

#include <simdjson.h>

namespace corral::proxy {
namespace {

std::string failures(const std::vector<LegResult>& legs) {
  std::string why;
  for (const LegResult& l : legs) {
    if (!why.empty()) why += "; ";
    why += l.status ? "status " + std::to_string(l.status) : l.error;
  }
  return why.empty() ? std::string("no healthy backend") : why;
}

}  // namespace

http::LocalResponse merge_lists(const std::vector<LegResult>& legs, std::string_view list_key, std::string_view id_key,
                                std::string_view prefix) {
  http::LocalResponse r;
  r.body.assign(prefix);
  std::set<std::string, std::less<>> seen;
  bool any = false;
  simdjson::dom::parser parser;
  for (const LegResult& l : legs) {
    simdjson::dom::element root;
    simdjson::dom::array list;
    if (l.status != 200 || parser.parse(l.body).get(root) != simdjson::SUCCESS ||
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
  if (!any && !legs.empty()) return http::json_error(502, "no backend answered: " + failures(legs));
  return r;
}

http::LocalResponse merge_outcomes(const std::vector<LegResult>& legs) {
  for (const LegResult& l : legs) {
    if (l.status == 200) {  // Ollama answers these with an empty 200
      http::LocalResponse r;
      r.content_type = "";
      return r;
    }
  }
  for (const LegResult& l : legs) {
    if (l.status != 0) {
      http::LocalResponse r;
      r.status = l.status;
      r.body = l.body;
      return r;
    }
  }
  return http::json_error(502, "no backend answered: " + failures(legs));
}

}  // namespace corral::proxy
