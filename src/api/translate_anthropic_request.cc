// Anthropic messages bodies into the ChatRequest pivot, and the pivot into a
// messages body: one top-level system prompt, alternating user/assistant turns
// of content blocks, tool results as blocks of the next user turn.
#include <cstdlib>

#include "corral/api/json.h"
#include "translate_codec.h"

namespace corral::api::detail {
namespace {

bool unsupported(std::string_view field, std::string& err, std::string_view why = {}) {
  return untranslatable(field, "from the Anthropic API", err, why);
}

bool parse_image(element block, const std::string& where, std::vector<Part>& parts, std::string& err) {
  element src;
  if (block["source"].get(src) != SUCCESS) return unsupported(where, err, "an image without source");
  std::string_view type = string_at(src, "type");
  Part p;
  p.kind = Part::Kind::image;
  if (type == "base64") {
    p.image.data.assign(string_at(src, "data"));
    std::string_view declared = string_at(src, "media_type");
    p.image.media_type.assign(declared.empty() ? sniff_image_type(p.image.data) : declared);
  } else if (type == "url") {
    p.image.url.assign(string_at(src, "url"));
  } else {
    return unsupported(where + ".source", err, "only base64 and url sources");
  }
  parts.push_back(std::move(p));
  return true;
}

// tool_result content: a string, or text and image blocks.
bool parse_tool_result(element block, const std::string& where, ChatRequest& req, std::string& err) {
  Message msg;
  msg.role = Role::tool;
  msg.tool_call_id.assign(string_at(block, "tool_use_id"));
  bool is_error = false;
  if (block["is_error"].get(is_error) == SUCCESS) msg.tool_error = is_error;
  element content;
  std::string_view s;
  if (block["content"].get(content) == SUCCESS && !content.is_null()) {
    if (content.get(s) == SUCCESS) {
      if (!s.empty()) msg.parts.push_back(Part{Part::Kind::text, std::string(s), {}});
    } else if (content.is_array()) {
      size_t i = 0;
      for (element b : as_array(content)) {
        std::string bw = at(where + ".content", i++);
        std::string_view type = string_at(b, "type");
        if (type == "text") {
          msg.parts.push_back(Part{Part::Kind::text, std::string(string_at(b, "text")), {}});
        } else if (type == "image") {
          if (!parse_image(b, bw, msg.parts, err)) return false;
        } else {
          return unsupported(bw + " of type " + std::string(type), err);
        }
      }
    } else {
      return unsupported(where + ".content", err, "not a string or blocks");
    }
  }
  req.messages.push_back(std::move(msg));
  return true;
}

bool parse_block(element b, const std::string& where, Message& msg, ChatRequest& req, std::string& err) {
  std::string_view type = string_at(b, "type");
  element citations, input;
  if (type == "text") {
    if (b["citations"].get(citations) == SUCCESS && !citations.is_null() && array_size(citations) > 0) {
      return unsupported(where + ".citations", err);
    }
    std::string_view text = string_at(b, "text");
    if (!text.empty()) msg.parts.push_back(Part{Part::Kind::text, std::string(text), {}});
  } else if (type == "image") {
    return parse_image(b, where, msg.parts, err);
  } else if (type == "tool_use") {
    ToolCall call;
    call.id.assign(string_at(b, "id"));
    call.name.assign(string_at(b, "name"));
    call.arguments = b["input"].get(input) == SUCCESS && input.is_object() ? to_json(input) : "{}";
    msg.tool_calls.push_back(std::move(call));
  } else if (type == "tool_result") {
    return parse_tool_result(b, where, req, err);
  } else if (type == "thinking") {
    msg.thinking.append(string_at(b, "thinking"));
  } else if (type != "redacted_thinking") {  // encrypted reasoning only Anthropic can read
    return unsupported(where + " of type " + std::string(type), err);
  }
  return true;
}

bool parse_message(element m, size_t i, ChatRequest& req, std::string& err) {
  std::string where = at("messages", i);
  std::string_view role = string_at(m, "role");
  Message msg;
  if (role == "user") msg.role = Role::user;
  else if (role == "assistant") msg.role = Role::assistant;
  else return unsupported(where + ".role", err, "only user and assistant");
  element content;
  std::string_view s;
  if (m["content"].get(content) != SUCCESS) return unsupported(where, err, "no content");
  if (content.get(s) == SUCCESS) {
    if (!s.empty()) msg.parts.push_back(Part{Part::Kind::text, std::string(s), {}});
  } else if (content.is_array()) {
    size_t k = 0;
    for (element b : as_array(content)) {
      if (!parse_block(b, at(where + ".content", k++), msg, req, err)) return false;
    }
  } else {
    return unsupported(where + ".content", err, "not a string or blocks");
  }
  // tool results went in first, as Ollama and OpenAI want them before the user's words
  if (!msg.parts.empty() || !msg.tool_calls.empty() || !msg.thinking.empty()) req.messages.push_back(std::move(msg));
  return true;
}

bool parse_system(element v, ChatRequest& req, std::string& err) {
  Message sys;
  sys.role = Role::system;
  std::string_view s;
  if (v.get(s) == SUCCESS) {
    if (!s.empty()) sys.parts.push_back(Part{Part::Kind::text, std::string(s), {}});
  } else if (v.is_array()) {
    size_t i = 0;
    for (element b : as_array(v)) {
      if (string_at(b, "type") != "text") return unsupported(at("system", i), err, "only text blocks");
      sys.parts.push_back(Part{Part::Kind::text, std::string(string_at(b, "text")), {}});
      ++i;
    }
  } else if (!v.is_null()) {
    return unsupported("system", err, "not a string or text blocks");
  }
  if (!sys.parts.empty()) req.messages.insert(req.messages.begin(), std::move(sys));
  return true;
}

bool parse_tools(element v, ChatRequest& req, std::string& err) {
  if (!v.is_array()) return unsupported("tools", err, "not an array");
  size_t i = 0;
  for (element t : as_array(v)) {
    std::string tw = at("tools", i++);
    std::string_view type = string_at(t, "type");
    if (!type.empty() && type != "custom") return unsupported(tw + " of type " + std::string(type), err);
    ToolDef def;
    def.name.assign(string_at(t, "name"));
    def.description.assign(string_at(t, "description"));
    element schema;
    if (t["input_schema"].get(schema) == SUCCESS && schema.is_object()) def.parameters = to_json(schema);
    req.tools.push_back(std::move(def));
  }
  return true;
}

bool parse_tool_choice(element v, ChatRequest& req, std::string& err) {
  std::string_view type = string_at(v, "type");
  if (type == "auto") req.tool_choice = ToolChoice::automatic;
  else if (type == "any") req.tool_choice = ToolChoice::required;
  else if (type == "none") req.tool_choice = ToolChoice::none;
  else if (type == "tool") req.tool_choice = ToolChoice::named;
  else return unsupported("tool_choice", err, "unknown type");
  if (req.tool_choice == ToolChoice::named) req.tool_choice_name.assign(string_at(v, "name"));
  bool no_parallel = false;
  if (v["disable_parallel_tool_use"].get(no_parallel) == SUCCESS && no_parallel) {
    req.parallel_tool_calls = Param{"tool_choice.disable_parallel_tool_use", "false"};
  }
  return true;
}

bool parse_thinking(element v, ChatRequest& req, std::string& err) {
  std::string_view type = string_at(v, "type");
  if (type == "enabled") req.think = Param{"thinking", "true"};
  else if (type == "disabled") req.think = Param{"thinking", "false"};
  else return unsupported("thinking", err, "unknown type");
  return true;
}

bool parse_field(std::string_view key, element v, ChatRequest& req, std::string& err) {
  std::string_view s;
  if (key == "model") {
    if (v.get(s) == SUCCESS) req.model.assign(s);
  } else if (key == "messages") {
    if (!v.is_array()) return unsupported("messages", err, "not an array");
    size_t i = 0;
    for (element m : as_array(v)) {
      if (!parse_message(m, i++, req, err)) return false;
    }
  } else if (key == "max_tokens") {
    req.max_tokens = Param{"max_tokens", to_json(v)};
  } else if (key == "stop_sequences") {
    if (array_size(v) > 0) req.stop = Param{"stop_sequences", to_json(v)};
  } else if (key == "temperature") {
    req.temperature = Param{"temperature", to_json(v)};
  } else if (key == "top_p") {
    req.top_p = Param{"top_p", to_json(v)};
  } else if (key == "top_k") {
    req.top_k = Param{"top_k", to_json(v)};
  } else if (key == "stream") {
    bool b = false;
    if (!v.is_null() && v.get(b) != SUCCESS) return unsupported("stream", err, "not a boolean");
    req.stream = b;
  } else if (key == "tools") {
    return parse_tools(v, req, err);
  } else if (key == "tool_choice") {
    return parse_tool_choice(v, req, err);
  } else if (key == "thinking") {
    return parse_thinking(v, req, err);
  } else if (key == "metadata") {
    element user;
    if (v["user_id"].get(user) == SUCCESS && user.is_string()) req.user = Param{"metadata.user_id", to_json(user)};
  } else if (key == "service_tier") {
    if (v.get(s) != SUCCESS || s != "auto") return unsupported("service_tier", err);
  } else if (key != "system") {
    return unsupported(key, err);
  }
  return true;
}

}  // namespace

bool parse_anthropic_messages(element root, ChatRequest& req, std::string& err) {
  for (auto [key, v] : as_object(root)) {
    if (v.is_null()) continue;
    if (!parse_field(key, v, req, err)) return false;
  }
  element system;
  if (root["system"].get(system) == SUCCESS && !parse_system(system, req, err)) return false;
  return true;
}

namespace {

bool check_target(const ChatRequest& req, std::string& err) {
  const Dialect target = Dialect::anthropic;
  for (const Param* p : {&req.seed, &req.presence_penalty, &req.frequency_penalty}) {
    if (p->set()) {
      err = not_expressible(p->field, target);
      return false;
    }
  }
  if (req.format != Format::text) {
    err = not_expressible(req.format_field, target, "the messages API has no JSON mode");
    return false;
  }
  if (req.think.set() && req.think.json != "false") {
    err = not_expressible(req.think.field, target, "extended thinking needs a budget_tokens the client did not give");
    return false;
  }
  if (req.temperature.set() && std::strtod(req.temperature.json.c_str(), nullptr) > 1.0) {
    std::string what = std::string(req.temperature.field) + " " + req.temperature.json;
    err = not_expressible(what, target, "the range is 0 to 1");
    return false;
  }
  for (size_t i = 0; i < req.messages.size(); ++i) {
    const Message& m = req.messages[i];
    for (const Part& p : m.parts) {
      if (p.kind != Part::Kind::image) continue;
      std::string where = "messages[" + std::to_string(i) + "] image";
      if (m.role == Role::system || m.role == Role::assistant) {
        err = not_expressible(where, target, "images only in user turns and tool results");
        return false;
      }
      if (p.image.url.empty() && p.image.media_type.empty()) {
        err = not_expressible(where, target, "not png, jpeg, gif or webp");
        return false;
      }
    }
  }
  return true;
}

void write_image(JsonWriter& w, const Image& img) {
  w.begin_object().key("type").string("image").key("source").begin_object();
  if (!img.url.empty()) {
    w.key("type").string("url").key("url").string(img.url);
  } else {
    w.key("type").string("base64").key("media_type").string(img.media_type).key("data").string(img.data);
  }
  w.end_object().end_object();
}

void write_parts(JsonWriter& w, const Message& m) {
  for (const Part& p : m.parts) {
    if (p.kind == Part::Kind::image) write_image(w, p.image);
    else if (!p.text.empty()) w.begin_object().key("type").string("text").key("text").string(p.text).end_object();
  }
}

void write_tool_result(JsonWriter& w, const Message& m) {
  w.begin_object().key("type").string("tool_result").key("tool_use_id").string(m.tool_call_id);
  if (has_images(m)) {
    w.key("content").begin_array();
    write_parts(w, m);
    w.end_array();
  } else {
    std::string text;
    for (const Part& p : m.parts) text.append(text.empty() ? "" : "\n").append(p.text);
    w.key("content").string(text);
  }
  if (m.tool_error) w.key("is_error").boolean(true);
  w.end_object();
}

void write_tool_use(JsonWriter& w, const ToolCall& c) {
  w.begin_object().key("type").string("tool_use").key("id").string(c.id).key("name").string(c.name);
  w.key("input").raw(c.arguments).end_object();
}

bool has_blocks(const Message& m) {
  if (!m.tool_calls.empty() || m.role == Role::tool) return true;
  for (const Part& p : m.parts) {
    if (p.kind == Part::Kind::image || !p.text.empty()) return true;
  }
  return false;
}

// Consecutive user/tool messages make one user turn (its tool_result blocks first,
// as the API requires), consecutive assistant messages one assistant turn.
void write_turns(JsonWriter& w, const std::vector<Message>& msgs) {
  w.key("messages").begin_array();
  for (size_t i = 0; i < msgs.size();) {
    if (msgs[i].role == Role::system || !has_blocks(msgs[i])) {
      ++i;
      continue;
    }
    bool assistant = msgs[i].role == Role::assistant;
    size_t end = i;
    while (end < msgs.size() && (msgs[end].role == Role::system || !has_blocks(msgs[end]) ||
                                 (msgs[end].role == Role::assistant) == assistant)) {
      ++end;
    }
    w.begin_object().key("role").string(assistant ? "assistant" : "user").key("content").begin_array();
    for (size_t k = i; k < end; ++k) {
      if (msgs[k].role == Role::tool) write_tool_result(w, msgs[k]);
    }
    for (size_t k = i; k < end; ++k) {
      if (msgs[k].role == Role::tool || msgs[k].role == Role::system) continue;
      write_parts(w, msgs[k]);
      for (const ToolCall& c : msgs[k].tool_calls) write_tool_use(w, c);
    }
    w.end_array().end_object();
    i = end;
  }
  w.end_array();
}

void write_system(JsonWriter& w, const std::vector<Message>& msgs) {
  std::string system;
  for (const Message& m : msgs) {
    if (m.role != Role::system) continue;
    if (!system.empty()) system.append("\n\n");
    system.append(joined_text(m));
  }
  if (!system.empty()) w.key("system").string(system);
}

void write_tools(JsonWriter& w, const ChatRequest& req) {
  if (!req.tools.empty()) {
    w.key("tools").begin_array();
    for (const ToolDef& t : req.tools) {
      w.begin_object().key("name").string(t.name);
      if (!t.description.empty()) w.key("description").string(t.description);
      w.key("input_schema")
          .raw(t.parameters.empty() ? std::string_view(R"({"type":"object","properties":{}})")
                                    : std::string_view(t.parameters));
      w.end_object();
    }
    w.end_array();
  }
  if (req.tool_choice == ToolChoice::unset && !req.parallel_tool_calls.set()) return;
  static constexpr std::string_view kTypes[] = {"auto", "auto", "none", "any", "tool"};
  w.key("tool_choice").begin_object().key("type").string(kTypes[static_cast<int>(req.tool_choice)]);
  if (req.tool_choice == ToolChoice::named) w.key("name").string(req.tool_choice_name);
  if (req.parallel_tool_calls.set()) w.key("disable_parallel_tool_use").boolean(true);
  w.end_object();
}

}  // namespace

bool emit_anthropic_messages(const ChatRequest& req, const RequestOptions& opts, std::string& body, std::string& err) {
  if (!check_target(req, err)) return false;
  JsonWriter w(body);
  w.begin_object().key("model").string(opts.upstream_model.empty() ? std::string_view(req.model) : opts.upstream_model);
  write_system(w, req.messages);
  write_turns(w, req.messages);
  if (req.max_tokens.set()) w.key("max_tokens").raw(req.max_tokens.json);
  else w.key("max_tokens").number(opts.default_max_tokens);
  if (req.stop.set()) w.key("stop_sequences").raw(req.stop.json);
  const std::pair<std::string_view, const Param*> sampling[] = {
      {"temperature", &req.temperature}, {"top_p", &req.top_p}, {"top_k", &req.top_k}};
  for (const auto& [name, p] : sampling) {
    if (p->set()) w.key(name).raw(p->json);
  }
  w.key("stream").boolean(req.stream);
  write_tools(w, req);
  if (req.user.set()) w.key("metadata").begin_object().key("user_id").raw(req.user.json).end_object();
  w.end_object();
  return true;
}

}  // namespace corral::api::detail
