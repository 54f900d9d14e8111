// corral-sim: a simulated Ollama server (no GPU) for corral's tests and benchmarks.
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sim_config.h"
#include "sim_net.h"
#include "sim_server.h"
#include "sim_state.h"
#include "sim_timers.h"

int main(int argc, char** argv) {
  sim::Options opt = sim::parse_args(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  sim::raise_fd_limit();

  std::vector<int> fds;
  std::string err;
  int port = opt.port;
  for (int i = 0; i < opt.threads; ++i) {
    bool bad_host = false;
    int fd = sim::listen_tcp(opt.host, port, i > 0, err, &bad_host);
    if (fd < 0) {
      std::fprintf(stderr, "corral-sim: cannot listen on %s:%d: %s\n", opt.host.c_str(), port, err.c_str());
      return bad_host ? 2 : 1;
    }
    if (i == 0) port = sim::local_port(fd);  // port 0: the others join the one the kernel picked
    fds.push_back(fd);
  }

  static sim::State state(opt.models);
  static sim::Stats stats;
  static std::unique_ptr<sim::Resources> res;
  if (opt.res.enabled()) {
    res = std::make_unique<sim::Resources>(opt.res);
    for (const sim::ModelSpec& m : opt.models) {
      if (m.loaded && !res->preload(m.name, m.size, sim::now_ns()))
        std::fprintf(stderr, "corral-sim: %s does not fit in --vram-gb beside the models before it; not loaded\n",
                     m.name.c_str());
    }
  }
  static sim::Ctx ctx{opt, state, stats, res.get()};
  std::vector<std::unique_ptr<sim::Worker>> workers;
  for (int fd : fds) workers.push_back(std::make_unique<sim::Worker>(fd, ctx));

  bool v6 = opt.host.find(':') != std::string::npos;
  std::fprintf(stderr, "corral-sim listening on %s%s%s:%d\n", v6 ? "[" : "", opt.host.c_str(), v6 ? "]" : "", port);
  std::fflush(stderr);

  std::vector<std::thread> threads;
  for (size_t i = 1; i < workers.size(); ++i) threads.emplace_back([w = workers[i].get()] { w->run(); });
  workers[0]->run();
}
