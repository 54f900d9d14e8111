// corral: wiring only. Parse flags, load config, run the server.
#include <cstdio>
#include <string_view>

#include "corral/auth/cli.h"
#include "corral/config/config.h"
#include "corral/config/import_seed003.h"
#include "corral/core/log.h"
#include "corral/fleet/serve.h"
#include "corral/server/server.h"

extern char** environ;

int main(int argc, char** argv) {
  using namespace corral;
  if (argc > 1 && std::string_view(argv[1]) == "keys") return auth::keys_main(argc - 1, argv + 1, environ);
  if (argc > 1 && std::string_view(argv[1]) == "import-config") {
    return config::import_config_command(argc - 1, argv + 1);
  }
  // `corral serve [flags]`: the proxy, and a local Ollama it runs itself when there is none.
  bool serve = argc > 1 && std::string_view(argv[1]) == "serve";
  if (serve) {
    --argc;
    ++argv;
  }
  config::Flags flags;
  std::string err;
  if (!config::parse_flags(argc, argv, flags, err)) {
    std::fprintf(stderr, "corral: %s\n%s", err.c_str(), config::usage());
    return 2;
  }
  if (flags.help) {
    std::fputs(config::usage(), stdout);
    return 0;
  }
  if (flags.version) {
    std::puts("corral " CORRAL_VERSION);
    return 0;
  }
  config::Config cfg;
  if (!config::load(flags, environ, cfg, err)) {
    std::fprintf(stderr, "corral: config error: %s\n", err.c_str());
    return 2;
  }
  if (flags.check_config) {
    std::printf("corral: config %s is valid\n", flags.config_file->c_str());
    return 0;
  }
  log::Level level;
  log::parse_level(cfg.log_level, level);
  log::set_level(level);
  if (serve) log::write(log::Level::info, "serve", "decision=" + log::quote(fleet::serve_local_ollama(cfg, environ)));
  return server::run(cfg, server::ReloadSource{&flags, environ});
}
