// `corral serve` (seed 004's `ollama-proxy serve`): corral in front of a local
// Ollama it runs itself when there is none yet.
#pragma once
#include <string>

#include "corral/config/config.h"

namespace corral::fleet {

// With one plain http:// backend that nothing answers on and `ollama` on PATH,
// that backend becomes supervised: `ollama serve` with OLLAMA_HOST=HOST:PORT.
// Returns what was decided, for the start-up log.
std::string serve_local_ollama(config::Config& cfg, char** envp);

// The path of an executable found in PATH, or empty.
std::string find_in_path(const std::string& name, char** envp);

}  // namespace corral::fleet
