// Scripted backends for the session targets: every connection corral opens to
// a backend on the fake loop is accepted (or refused, when the script says so),
// every request corral forwards is read with the strict parser (it must be
// valid HTTP/1.1) and answered with one of a set of answers chosen by the
// script, delivered in pieces. Each answer carries a kMarker header and its
// body is kept, so the bytes a client gets can be traced back to it.
#pragma once
#include <map>
#include <memory>
#include <set>
#include <string>

#include "../unit/proxy/rig.h"
#include "fuzz_input.h"

namespace corral::fuzz {

class ScriptedBackends {
 public:
  ScriptedBackends(test::Rig& rig, Input& in) : rig_(rig), in_(in) {}
  // Accepts connections and answers complete requests until nothing moves.
  void serve();
  // The body bytes (framing included) of the answer named by a kMarker value.
  const std::string* body_of(const std::string& marker) const;

 private:
  struct Upstream {
    Upstream();
    http::MessageParser parser;
    size_t seen = 0;  // bytes of its received data read so far
  };
  bool serve_one(int fd);
  void answer(int fd, const http::Head& request);
  void deliver(int fd, const std::string& bytes);

  test::Rig& rig_;
  Input& in_;
  std::map<int, std::unique_ptr<Upstream>> ups_;
  std::set<int> closing_;  // close once corral has read what was sent (it may be paused)
  std::map<std::string, std::string> bodies_;
  int connects_ = 0;
  int answers_ = 0;
};

}  // namespace corral::fuzz
