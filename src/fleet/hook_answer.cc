// The hook's answer line: {"url": "http://…", "instance_id": "…", "zone": "…", …}.
#include <simdjson.h>

#include "corral/fleet/hook.h"

namespace corral::fleet {

bool parse_hook_answer(std::string_view line, HookAnswer& out, std::string& err) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object obj;
  if (parser.parse(simdjson::padded_string(line)).get(root) != simdjson::SUCCESS ||
      root.get_object().get(obj) != simdjson::SUCCESS) {
    err = "last stdout line is not a JSON object";
    return false;
  }
  out = HookAnswer{};
  for (auto field : obj) {
    std::string key(field.key);
    simdjson::dom::element v = field.value;
    if (key == "url" && v.is_string()) {
      out.url = std::string(v.get_string().value_unsafe());
      continue;
    }
    if (v.is_string() || v.is_number() || v.is_bool()) out.fields.push_back({key, simdjson::minify(v)});
  }
  return true;
}

}  // namespace corral::fleet
