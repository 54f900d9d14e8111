// One blocking GET over the upstream client on a loop of its own, for tools and
// start-up checks (never on a worker or the control thread).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "corral/core/net.h"

namespace corral::upstream {

// The response status with its de-chunked body, or 0 with err set.
int fetch(const core::SockAddr& addr, std::string_view path, uint32_t timeout_ms, std::string& body, std::string& err);

}  // namespace corral::upstream
