// Turning the answers of a fan-out into one response, in Ollama's own shapes.
#pragma once
#include <string_view>
#include <vector>

#include "corral/http/response.h"
#include "corral/proxy/fanout.h"

namespace corral::proxy {

// {"models":[…]} or {"object":"list","data":[…]}: every leg's list items, the
// first of each id (legs come in backend preference order). 502 when no leg answered 200.
http::LocalResponse merge_lists(const std::vector<LegResult>& legs, std::string_view list_key, std::string_view id_key,
                                std::string_view prefix);

// /api/delete, /api/copy: 200 when any backend did it, else the first backend's answer.
http::LocalResponse merge_outcomes(const std::vector<LegResult>& legs);

}  // namespace corral::proxy
