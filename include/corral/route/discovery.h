// What the control thread asks each member (blocking calls, never on a worker):
// GET /api/version (health + version), /api/tags (models and sizes),
// /api/ps (loaded models and VRAM), and name resolution for DNS backends.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "corral/config/config.h"
#include "corral/core/net.h"
#include "corral/route/snapshot.h"

namespace corral::route {

// A blocking GET: the status (0 on failure, -1 when corral itself has no
// socket to spare, err set) and the body.
int http_get(const core::SockAddr& addr, const char* path, uint32_t timeout_ms, std::string& body, std::string& err);

bool parse_tags(const std::string& body, std::vector<ModelInfo>& out);
bool parse_ps(const std::string& body, std::vector<LoadedModel>& out);
bool parse_version(const std::string& body, std::string& out);

// Every address of a backend: one for http://, all A/AAAA records for dns+http://.
bool resolve_all(const config::BackendConfig& b, std::vector<core::SockAddr>& out, std::string& err);

enum class Probe : uint8_t { ok, failed, local_shortage };
// One health probe (GET /api/version answered below 500) and, when discover,
// the model lists; fills the view's health inputs. local_shortage: corral could
// not open a socket, which says nothing about the member.
Probe probe_member(const core::SockAddr& addr, uint32_t timeout_ms, bool discover, MemberView& v, std::string& err);

}  // namespace corral::route
