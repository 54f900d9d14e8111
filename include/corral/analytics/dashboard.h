// GET /analytics: one self-contained page (HTML, CSS and JS inline, no CDN)
// that reads /analytics/stats and /analytics/search.
#pragma once
#include <string_view>

namespace corral::analytics {

std::string_view dashboard_html();

}  // namespace corral::analytics
