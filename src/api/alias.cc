#include "corral/api/alias.h"

#include <simdjson.h>

#include "corral/api/final_stats.h"
#include "corral/api/framer.h"
#include "corral/api/json.h"

namespace corral::api {
namespace {

constexpr size_t kMaxBody = size_t(64) << 20;

// The first `"model": "real"` in text, renamed.
void rename_in(std::string_view text, std::string_view real, std::string_view alias, std::string& out) {
  size_t at = 0;
  for (size_t k = text.find("\"model\""); k != std::string_view::npos; k = text.find("\"model\"", k + 1)) {
    size_t v = k + 7;
    while (v < text.size() && (text[v] == ' ' || text[v] == ':')) ++v;
    bool named = v + real.size() + 2 <= text.size() && text[v] == '"' && text.substr(v + 1, real.size()) == real &&
                 text[v + 1 + real.size()] == '"';
    if (!named) continue;
    out.append(text.substr(0, v));
    append_json_string(out, alias);
    at = v + real.size() + 2;
    break;
  }
  out.append(text.substr(at));
}

class Renamer final : public ResponseTranslator {
 public:
  Renamer(std::string_view real, std::string_view alias, std::string_view content_type)
      : real_(real),
        alias_(alias),
        content_type_(content_type),
        framed_(content_type.find("ndjson") != std::string_view::npos ||
                content_type.find("event-stream") != std::string_view::npos) {}

  void feed(std::string_view in, std::string& out) override {
    tail_.add(in.data(), in.size());
    if (!framed_) {
      if (body_.size() + in.size() > kMaxBody) return fail("answer larger than 64 MiB");
      body_.append(in);
      return;
    }
    lines_.push(in);
    for (std::string_view line; lines_.next(line);) {
      rename_in(line, real_, alias_, out);
      out.push_back('\n');
    }
    if (lines_.overflowed()) fail("a line longer than the framer's limit");
  }

  void finish(std::string& out) override {
    std::string_view rest;
    if (!framed_) rename_in(body_, real_, alias_, out);
    else if (lines_.take_rest(rest)) rename_in(rest, real_, alias_, out);
    usage_ = usage_of(extract_final_stats(tail_.tail()));
  }

  const Usage& usage() const override { return usage_; }
  std::string_view content_type() const override { return content_type_; }
  bool failed() const override { return failed_; }
  std::string_view error() const override { return error_; }

 private:
  void fail(std::string why) {
    failed_ = true;
    error_ = std::move(why);
  }
  std::string real_, alias_, content_type_;
  bool framed_;
  LineFramer lines_;
  std::string body_;
  BodySample tail_;
  Usage usage_;
  bool failed_ = false;
  std::string error_;
};

}  // namespace

bool with_model(std::string_view body, std::string_view model, std::string& out) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(body.data(), body.size()).get(obj) != simdjson::SUCCESS) return false;
  std::string_view field = obj["model"].error() == simdjson::SUCCESS ? "model" : "name";  // "name": Ollama's older key
  out.clear();
  out.push_back('{');
  bool first = true;
  for (auto [key, value] : obj) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, key);
    out.push_back(':');
    if (key == field && value.is_string()) append_json_string(out, model);
    else out += simdjson::minify(value);
  }
  out.push_back('}');
  return true;
}

std::unique_ptr<ResponseTranslator> make_model_renamer(std::string_view real, std::string_view alias,
                                                       std::string_view content_type) {
  return std::make_unique<Renamer>(real, alias, content_type);
}

}  // namespace corral::api
