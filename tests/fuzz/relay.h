// What the session targets read back: the responses a client received, and a
// backend's side of a connection (the requests corral forwarded to it).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "corral/http/parser.h"

namespace corral::fuzz {

// Marks an answer of a scripted backend: the header names which one, so the
// bytes a client gets can be traced to the backend bytes they came from.
inline constexpr std::string_view kMarker = "x-fuzz-answer";

struct Relayed {
  int status = 0;
  std::string marker;  // the kMarker header's value, empty for corral's own answers
  std::string body;    // body bytes as received, framing included
  bool complete = false;
};

// Reads the responses in what a client received (1xx answers skipped). head_only[i]
// says whether response i answers a HEAD request; closed, whether the connection
// ended (completing a close-delimited body). Breaks an invariant on bytes that are
// not HTTP/1: corral must only ever send valid responses.
std::vector<Relayed> read_responses(std::string_view in, bool closed, const std::vector<bool>& head_only);

// The methods of the complete requests in a client's byte stream, up to the
// first one corral's parser rejects, in order.
std::vector<std::string> request_methods(std::string_view in, const http::Limits& limits);

}  // namespace corral::fuzz
