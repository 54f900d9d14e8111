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

// A model corral lists without asking anyone: a hosted backend's (configured
// or found at discovery) or an alias.
struct KnownModel {
  std::string name;
  std::string owner;   // the backend serving it (OpenAI's owned_by)
  std::string parent;  // an alias: the model it names
};

// {"models":[…]} (Ollama /api/tags items) or {"object":"list","data":[…]} (/v1/models), for merge_lists.
std::string known_models_body(bool openai_list, const std::vector<KnownModel>& models);

// /api/delete, /api/copy: 200 when any backend did it, else the first backend's answer.
Merged merge_outcomes(const std::vector<LegAnswer>& legs);

}  // namespace corral::api
