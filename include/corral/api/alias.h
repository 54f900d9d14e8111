// Client-facing model names (models.aliases): the one body rewrite corral
// makes — the forwarded request names the real model — and the answers that
// carry the name the client asked for back to it.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "corral/api/translate.h"

namespace corral::api {

// The request body with its top-level "model" (or Ollama's older "name") set to
// `model`, other fields as they were (minified); false when it is not a JSON object.
bool with_model(std::string_view body, std::string_view model, std::string& out);

// An answer transform for a request sent under its real name: every NDJSON line,
// SSE data line or the one JSON body whose "model" is `real` says `alias` instead.
// Usage is read from the answer as it passes (Ollama's final object, OpenAI's usage).
std::unique_ptr<ResponseTranslator> make_model_renamer(std::string_view real, std::string_view alias,
                                                       std::string_view content_type);

}  // namespace corral::api
