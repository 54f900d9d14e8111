// Request translation: parse the client's body into the ChatRequest pivot, give
// tool calls and results their ids, emit the backend's body.
#include <algorithm>
#include <array>

#include "translate_codec.h"

namespace corral::api {
namespace detail {
namespace {

// Settings that describe the local Ollama server's resources, not the answer;
// a hosted backend has its own context and hardware, so they are not sent there.
constexpr std::array<std::string_view, 16> kOllamaRuntimeOptions = {
    "keep_alive", "truncate",  "shift",    "num_ctx", "num_batch", "num_gpu",    "main_gpu",   "num_thread",
    "use_mmap",   "use_mlock", "low_vram", "f16_kv",  "numa",      "vocab_only", "logits_all", "draft_num_predict"};

std::string_view article(Dialect d) {
  return d == Dialect::openai ? "an openai" : d == Dialect::anthropic ? "an anthropic" : "an ollama";
}

std::string_view client_path(Call c) {
  switch (c) {
    case Call::ollama_chat:
      return "/api/chat";
    case Call::ollama_generate:
      return "/api/generate";
    case Call::openai_chat:
      return "/v1/chat/completions";
    case Call::anthropic_messages:
      return "/v1/messages";
  }
  return "/";
}

std::string_view backend_path(Dialect d) {
  switch (d) {
    case Dialect::openai:
      return "/v1/chat/completions";
    case Dialect::anthropic:
      return "/v1/messages";
    case Dialect::ollama:
      return "/api/chat";
  }
  return "/";
}

bool parse(Call from, element root, ChatRequest& req, std::string& err) {
  switch (from) {
    case Call::ollama_chat:
      return parse_ollama_chat(root, req, err);
    case Call::ollama_generate:
      return parse_ollama_generate(root, req, err);
    case Call::openai_chat:
      return parse_openai_chat(root, req, err);
    case Call::anthropic_messages:
      return parse_anthropic_messages(root, req, err);
  }
  return false;
}

bool emit(Dialect to, const ChatRequest& req, const RequestOptions& opts, std::string& body, std::string& err) {
  switch (to) {
    case Dialect::openai:
      return emit_openai_chat(req, opts, body, err);
    case Dialect::anthropic:
      return emit_anthropic_messages(req, opts, body, err);
    case Dialect::ollama:
      return emit_ollama_chat(req, opts, body, err);
  }
  return false;
}

bool parse_root(std::string_view body, element& root, std::string& err) {
  if (body.empty()) {  // also a view without storage: simdjson would copy from a null pointer
    err = "request body is not valid JSON: empty";
    return false;
  }
  auto code = json_parser().parse(body.data(), body.size()).get(root);
  if (code != simdjson::SUCCESS) {
    err = std::string("request body is not valid JSON: ") + simdjson::error_message(code);
    return false;
  }
  if (!root.is_object()) {
    err = "request body is not a JSON object";
    return false;
  }
  return true;
}

// Passed-through bodies: only whether the answer streams (Ollama streams unless told not to).
bool passthrough(Call from, std::string_view body, UpstreamRequest& out, std::string& err) {
  element root;
  if (!parse_root(body, root, err)) return false;
  bool stream = dialect_of(from) == Dialect::ollama;
  bool s;
  if (root["stream"].get(s) == simdjson::SUCCESS) stream = s;
  out.path = client_path(from);
  out.body.assign(body);
  out.stream = stream;
  return true;
}

}  // namespace

simdjson::dom::parser& json_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

bool json_object_text(std::string_view text, std::string& minified) {
  thread_local simdjson::dom::parser parser;
  element e;
  if (parser.parse(text.data(), text.size()).get(e) != simdjson::SUCCESS || !e.is_object()) return false;
  minified = simdjson::minify(e);
  return true;
}

std::string not_expressible(std::string_view field, Dialect target, std::string_view why) {
  std::string s(field);
  s.append(" cannot be expressed for ").append(article(target)).append(" backend");
  if (!why.empty()) s.append(": ").append(why);
  return s;
}

std::string to_json(element e) { return simdjson::minify(e); }

std::string_view string_at(element obj, std::string_view key) {
  std::string_view s;
  if (obj[key].get(s) != simdjson::SUCCESS) return {};
  return s;
}

std::string at(std::string_view what, size_t i) { return std::string(what) + "[" + std::to_string(i) + "]"; }

bool untranslatable(std::string_view field, std::string_view from, std::string& err, std::string_view why) {
  err = std::string(field) + " cannot be translated " + std::string(from);
  if (!why.empty()) err.append(": ").append(why);
  return false;
}

bool parse_message_role(element m, const std::string& where, std::string_view from, bool developer_is_system, Role& r,
                        std::string& err) {
  if (!m.is_object()) return untranslatable(where, from, err, "not an object");
  std::string_view s = string_at(m, "role");
  if (s == "system" || (developer_is_system && s == "developer")) r = Role::system;
  else if (s == "user") r = Role::user;
  else if (s == "assistant") r = Role::assistant;
  else if (s == "tool") r = Role::tool;
  else return untranslatable(where + ".role", from, err, "unknown role");
  return true;
}

bool parse_function_tool(element t, ToolDef& def) {
  element fn, params;
  if (string_at(t, "type") != "function" || t["function"].get(fn) != simdjson::SUCCESS) return false;
  def.name.assign(string_at(fn, "name"));
  def.description.assign(string_at(fn, "description"));
  if (fn["parameters"].get(params) == simdjson::SUCCESS && params.is_object()) def.parameters = to_json(params);
  return true;
}

void write_function_tools(JsonWriter& w, const std::vector<ToolDef>& tools) {
  w.key("tools").begin_array();
  for (const ToolDef& t : tools) {
    w.begin_object().key("type").string("function").key("function").begin_object();
    w.key("name").string(t.name);
    if (!t.description.empty()) w.key("description").string(t.description);
    w.key("parameters")
        .raw(t.parameters.empty() ? std::string_view(R"({"type":"object","properties":{}})")
                                  : std::string_view(t.parameters));
    w.end_object().end_object();
  }
  w.end_array();
}

bool is_ollama_runtime_setting(std::string_view key) {
  return std::find(kOllamaRuntimeOptions.begin(), kOllamaRuntimeOptions.end(), key) != kOllamaRuntimeOptions.end();
}

bool assign_tool_ids(ChatRequest& req, std::string& err) {
  struct Pending {
    std::string id, name;
  };
  std::vector<Pending> pending;  // calls of the latest assistant turn not answered yet
  for (size_t m = 0; m < req.messages.size(); ++m) {
    Message& msg = req.messages[m];
    if (msg.role == Role::assistant && !msg.tool_calls.empty()) {
      pending.clear();
      for (size_t k = 0; k < msg.tool_calls.size(); ++k) {
        ToolCall& c = msg.tool_calls[k];
        if (c.id.empty()) c.id = "call_" + std::to_string(m) + "_" + std::to_string(k);
        pending.push_back({c.id, c.name});
      }
      continue;
    }
    if (msg.role != Role::tool) continue;
    auto it = std::find_if(pending.begin(), pending.end(), [&](const Pending& p) {
      if (!msg.tool_call_id.empty()) return p.id == msg.tool_call_id;
      return msg.tool_name.empty() || p.name == msg.tool_name;
    });
    if (it == pending.end()) {
      if (msg.tool_call_id.empty()) {
        err = "messages[" + std::to_string(m) + "]: a tool result that answers no tool call";
        return false;
      }
      continue;  // answers an earlier turn's call; the backend judges
    }
    if (msg.tool_call_id.empty()) msg.tool_call_id = it->id;
    if (msg.tool_name.empty()) msg.tool_name = it->name;
    pending.erase(it);
  }
  return true;
}

std::string joined_text(const Message& m) {
  std::string text = m.tool_error ? "Error: " : "";
  bool first = true;
  for (const Part& p : m.parts) {
    if (p.kind != Part::Kind::text) continue;
    if (!first) text.push_back('\n');
    text.append(p.text);
    first = false;
  }
  return text;
}

bool has_images(const Message& m) {
  return std::any_of(m.parts.begin(), m.parts.end(), [](const Part& p) { return p.kind == Part::Kind::image; });
}

}  // namespace detail

std::string_view dialect_name(Dialect d) {
  switch (d) {
    case Dialect::ollama:
      return "ollama";
    case Dialect::openai:
      return "openai";
    case Dialect::anthropic:
      return "anthropic";
  }
  return "";
}

std::string_view call_name(Call c) {
  switch (c) {
    case Call::ollama_chat:
      return "ollama_chat";
    case Call::ollama_generate:
      return "ollama_generate";
    case Call::openai_chat:
      return "openai_chat";
    case Call::anthropic_messages:
      return "anthropic_messages";
  }
  return "";
}

Dialect dialect_of(Call c) {
  switch (c) {
    case Call::ollama_chat:
    case Call::ollama_generate:
      return Dialect::ollama;
    case Call::openai_chat:
      return Dialect::openai;
    case Call::anthropic_messages:
      return Dialect::anthropic;
  }
  return Dialect::ollama;
}

bool translates(Call from, Dialect to) {
  return dialect_of(from) != to && !(from == Call::openai_chat && to == Dialect::ollama);
}

bool translate_request(Call from, Dialect to, std::string_view body, const RequestOptions& opts, UpstreamRequest& out,
                       std::string& err) {
  using namespace detail;
  out = UpstreamRequest{};
  if (!translates(from, to)) return passthrough(from, body, out, err);
  element root;
  if (!parse_root(body, root, err)) return false;
  ChatRequest req;
  if (!parse(from, root, req, err) || !assign_tool_ids(req, err)) return false;
  if (!emit(to, req, opts, out.body, err)) return false;
  out.path = backend_path(to);
  out.stream = req.stream;
  out.include_usage = req.stream && req.include_usage;
  return true;
}

}  // namespace corral::api
