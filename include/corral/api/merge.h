// Turning the answers of a fan-out into one response, in Ollama's own shapes.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace corral::api {

// One backend's answer to a fanned-out request.
struct LegAnswer {
  int status = 0;  // 0: no answer (error says why)
  std::string_view body;
  std::string_view error;
};

struct Merged {
  int status = 200;
  std::string body;
  bool json = true;  // false: an empty 200 as Ollama sends it
};

// {"models":[…]} or {"object":"list","data":[…]}: every leg's list items, the
// first of each id (legs come in backend preference order). 502 when no leg answered 200.
Merged merge_lists(const std::vector<LegAnswer>& legs, std::string_view list_key, std::string_view id_key,
                   std::string_view prefix);

// /api/delete, /api/copy: 200 when any backend did it, else the first backend's answer.
Merged merge_outcomes(const std::vector<LegAnswer>& legs);

}  // namespace corral::api
