// The little JSON writing corral does itself: escaping strings into a body.
#pragma once
#include <string>
#include <string_view>

namespace corral::api {

void json_escape(std::string& out, std::string_view s);
// `"s"` with s escaped.
void json_string(std::string& out, std::string_view s);

}  // namespace corral::api
