#include "members.h"

namespace corral::test {

route::MemberView healthy_member(route::BackendTable& table, const config::BackendConfig& bc) {
  core::SockAddr a;
  std::string err;
  core::resolve(bc.host, bc.port, a, err);
  route::Backend* b = table.find_or_add(bc.name, bc.name, a, bc.url, bc.name);
  route::MemberView v;
  v.slot = b->slot;
  v.cfg = bc;
  v.healthy = true;
  v.models_known = true;
  v.key_hash = std::hash<std::string>{}(bc.name);
  return v;
}

}  // namespace corral::test
