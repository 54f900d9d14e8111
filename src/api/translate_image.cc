// Images cross dialects as base64: Ollama `images:[b64]` carries no media type,
// OpenAI wants a data URL, Anthropic a base64 source with media_type — so the
// type comes from the first bytes of the image itself.
#include <array>
#include <cstdint>

#include "translate_codec.h"

namespace corral::api::detail {
namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

// Decodes the first whole groups of up to 16 base64 characters (12 bytes).
size_t decode_head(std::string_view b64, std::array<uint8_t, 12>& out) {
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < b64.size() && i < 16; ++i) {
    int v = base64_value(b64[i]);
    if (v < 0) break;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = static_cast<uint8_t>(acc >> bits);
    }
  }
  return n;
}

bool is_supported_type(std::string_view t) {
  return t == "image/png" || t == "image/jpeg" || t == "image/gif" || t == "image/webp";
}

}  // namespace

std::string_view sniff_image_type(std::string_view base64) {
  std::array<uint8_t, 12> b{};
  size_t n = decode_head(base64, b);
  auto starts = [&](std::string_view magic, size_t at = 0) {
    if (n < at + magic.size()) return false;
    for (size_t i = 0; i < magic.size(); ++i) {
      if (b[at + i] != static_cast<uint8_t>(magic[i])) return false;
    }
    return true;
  };
  if (starts("\x89PNG\r\n\x1a\n")) return "image/png";
  if (starts("\xff\xd8\xff")) return "image/jpeg";
  if (starts("GIF87a") || starts("GIF89a")) return "image/gif";
  if (starts("RIFF") && starts("WEBP", 8)) return "image/webp";
  return {};
}

bool parse_data_url(std::string_view url, Image& img) {
  if (!url.starts_with("data:")) return false;
  size_t comma = url.find(',');
  if (comma == std::string_view::npos) return false;
  std::string_view meta = url.substr(5, comma - 5);
  if (!meta.ends_with(";base64")) return false;
  std::string_view declared = meta.substr(0, meta.size() - 7);
  img.data.assign(url.substr(comma + 1));
  std::string_view sniffed = sniff_image_type(img.data);
  img.media_type.assign(!sniffed.empty() ? sniffed : is_supported_type(declared) ? declared : std::string_view());
  return true;
}

std::string data_url(const Image& img) {
  std::string s;
  s.reserve(img.data.size() + img.media_type.size() + 13);
  s.append("data:").append(img.media_type).append(";base64,").append(img.data);
  return s;
}

}  // namespace corral::api::detail
