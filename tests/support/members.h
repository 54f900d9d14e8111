// Fleet members built by hand, for routing tests and benchmarks: the slot is
// taken in the table, the member is healthy and its model list known (empty
// until the caller adds models).
#pragma once
#include "corral/config/config.h"
#include "corral/route/backend.h"
#include "corral/route/snapshot.h"

namespace corral::test {

route::MemberView healthy_member(route::BackendTable& table, const config::BackendConfig& bc);

}  // namespace corral::test
