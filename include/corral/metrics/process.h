// Standard process_* metrics from /proc/self, as the Prometheus client libraries expose them.
#pragma once
#include <string>

namespace corral::metrics {

void render_process_metrics(std::string& out);

}  // namespace corral::metrics
