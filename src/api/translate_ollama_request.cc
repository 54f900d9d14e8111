// Ollama /api/chat and /api/generate bodies into the ChatRequest pivot, and the
// pivot into an /api/chat body.
#include "corral/api/json.h"
#include "translate_codec.h"

namespace corral::api::detail {
namespace {

constexpr std::string_view kFrom = "for a hosted backend";

bool unsupported(std::string_view field, std::string& err, std::string_view why = {}) {
  return untranslatable(field, kFrom, err, why);
}

Part text_part(std::string_view s) { return Part{Part::Kind::text, std::string(s), {}}; }

bool parse_images(element v, std::vector<Part>& parts, const std::string& where, std::string& err) {
  if (v.is_null()) return true;
  array images;
  if (v.get(images) != SUCCESS) return unsupported(where, err, "not an array of base64 strings");
  for (element im : images) {
    std::string_view b64;
    if (im.get(b64) != SUCCESS) return unsupported(where, err, "not an array of base64 strings");
    Part p;
    p.kind = Part::Kind::image;
    p.image.data.assign(b64);
    p.image.media_type.assign(sniff_image_type(b64));
    parts.push_back(std::move(p));
  }
  return true;
}

bool parse_tool_calls(element v, Message& msg, const std::string& where, std::string& err) {
  if (v.is_null()) return true;
  array calls;
  if (v.get(calls) != SUCCESS) return unsupported(where, err, "not an array");
  for (element c : calls) {
    element fn, args;
    if (c["function"].get(fn) != SUCCESS) return unsupported(where, err, "a tool call without function");
    ToolCall call;
    call.id.assign(string_at(c, "id"));
    call.name.assign(string_at(fn, "name"));
    std::string_view s;
    if (fn["arguments"].get(args) == SUCCESS && args.is_object()) call.arguments = to_json(args);
    else if (fn["arguments"].get(s) == SUCCESS && !s.empty()) call.arguments.assign(s);  // OpenAI-style string
    else call.arguments = "{}";
    msg.tool_calls.push_back(std::move(call));
  }
  return true;
}

bool parse_message(element m, size_t i, ChatRequest& req, std::string& err) {
  std::string where = at("messages", i);
  Message msg;
  if (!parse_message_role(m, where, kFrom, false, msg.role, err)) return false;
  for (auto [key, v] : as_object(m)) {
    std::string_view s;
    bool is_string = v.get(s) == SUCCESS;
    if (key == "role" || v.is_null()) continue;  // null: as if absent
    if (key == "content") {
      if (!is_string && !v.is_null()) return unsupported(where + ".content", err, "not a string");
      if (!s.empty()) msg.parts.push_back(text_part(s));
    } else if (key == "images") {
      if (!parse_images(v, msg.parts, where + ".images", err)) return false;
    } else if (key == "tool_calls") {
      if (!parse_tool_calls(v, msg, where + ".tool_calls", err)) return false;
    } else if (key == "tool_name") {
      msg.tool_name.assign(s);
    } else if (key == "tool_call_id") {
      msg.tool_call_id.assign(s);
    } else if (key == "thinking") {
      msg.thinking.assign(s);
    } else {
      return unsupported(where + "." + std::string(key), err);
    }
  }
  req.messages.push_back(std::move(msg));
  return true;
}

bool parse_tools(element v, ChatRequest& req, std::string& err) {
  if (v.is_null()) return true;
  array tools;
  if (v.get(tools) != SUCCESS) return unsupported("tools", err, "not an array");
  size_t i = 0;
  for (element t : tools) {
    ToolDef def;
    if (!parse_function_tool(t, def)) return unsupported(at("tools", i), err, "only function tools");
    req.tools.push_back(std::move(def));
    ++i;
  }
  return true;
}

bool parse_format(element v, ChatRequest& req, std::string& err) {
  std::string_view s;
  bool is_string = v.get(s) == SUCCESS;
  if (v.is_null() || (is_string && s.empty())) return true;
  req.format_field = "format";
  if (is_string && s == "json") {
    req.format = Format::json;
  } else if (v.is_object()) {
    req.format = Format::schema;
    req.format_schema = to_json(v);
  } else {
    return unsupported("format", err, "only \"json\" or a JSON schema");
  }
  return true;
}

// Fields both Ollama endpoints share; `handled` false for the others.
bool parse_common(std::string_view key, element v, ChatRequest& req, std::string& err, bool& handled) {
  handled = true;
  if (key == "model") {
    std::string_view s;
    if (v.get(s) == SUCCESS) req.model.assign(s);
  } else if (key == "stream") {
    if (v.is_null()) return true;
    bool b;
    if (v.get(b) != SUCCESS) return unsupported("stream", err, "not a boolean");
    req.stream = b;
  } else if (key == "format") {
    return parse_format(v, req, err);
  } else if (key == "options") {
    return v.is_null() || parse_ollama_options(v, req, err);
  } else if (key == "think") {
    if (v.is_null()) return true;
    if (!v.is_bool() && !v.is_string()) return unsupported("think", err, "not a boolean or a level");
    req.think = Param{"think", to_json(v)};
  } else if (key == "logprobs") {
    bool b = false;
    if (!v.is_null() && (v.get(b) != SUCCESS || b)) return unsupported("logprobs", err);
  } else if (key == "top_logprobs") {
    int64_t n = 0;
    if (!v.is_null() && (v.get(n) != SUCCESS || n != 0)) return unsupported("top_logprobs", err);
  } else if (key == "keep_alive") {
    req.keep_alive = Param{"keep_alive", to_json(v)};  // only an Ollama emitter writes it
  } else {
    handled = is_ollama_runtime_setting(key);  // the local server's resources; see translate.h
  }
  return true;
}

}  // namespace

bool parse_ollama_options(element opts, ChatRequest& req, std::string& err) {
  if (!opts.is_object()) return unsupported("options", err, "not an object");
  for (auto [key, v] : as_object(opts)) {
    if (v.is_null() || is_ollama_runtime_setting(key)) continue;
    std::string json = to_json(v);
    if (key == "temperature") {
      req.temperature = Param{"options.temperature", json};
    } else if (key == "top_p") {
      req.top_p = Param{"options.top_p", json};
    } else if (key == "top_k") {
      req.top_k = Param{"options.top_k", json};
    } else if (key == "seed") {
      req.seed = Param{"options.seed", json};
    } else if (key == "presence_penalty") {
      req.presence_penalty = Param{"options.presence_penalty", json};
    } else if (key == "frequency_penalty") {
      req.frequency_penalty = Param{"options.frequency_penalty", json};
    } else if (key == "num_predict") {
      int64_t n;
      if (v.get(n) != SUCCESS) return unsupported("options.num_predict", err, "not an integer");
      if (n > 0) req.max_tokens = Param{"options.num_predict", json};  // -1, -2: no limit
    } else if (key == "stop") {
      array a;
      if (v.get(a) != SUCCESS) return unsupported("options.stop", err, "not an array of strings");
      for (element s : a) {
        if (!s.is_string()) return unsupported("options.stop", err, "not an array of strings");
      }
      if (a.size() > 0) req.stop = Param{"options.stop", json};
    } else {
      return unsupported("options." + std::string(key), err);
    }
  }
  return true;
}

bool parse_ollama_chat(element root, ChatRequest& req, std::string& err) {
  req.stream = true;  // Ollama's default
  for (auto [key, v] : as_object(root)) {
    if (v.is_null()) continue;  // as if absent
    bool handled;
    if (!parse_common(key, v, req, err, handled)) return false;
    if (handled) continue;
    if (key == "messages") {
      array msgs;
      if (v.get(msgs) != SUCCESS) return unsupported("messages", err, "not an array");
      size_t i = 0;
      for (element m : msgs) {
        if (!parse_message(m, i++, req, err)) return false;
      }
    } else if (key == "tools") {
      if (!parse_tools(v, req, err)) return false;
    } else {
      return unsupported(key, err);
    }
  }
  return true;
}

bool parse_ollama_generate(element root, ChatRequest& req, std::string& err) {
  req.stream = true;
  Message system;
  system.role = Role::system;
  Message user;
  for (auto [key, v] : as_object(root)) {
    if (v.is_null()) continue;  // as if absent
    bool handled;
    if (!parse_common(key, v, req, err, handled)) return false;
    if (handled) continue;
    std::string_view s;
    bool is_string = v.get(s) == SUCCESS;
    if (key == "prompt") {
      if (!is_string && !v.is_null()) return unsupported("prompt", err, "not a string");
      if (!s.empty()) user.parts.push_back(text_part(s));
    } else if (key == "system") {
      if (!s.empty()) system.parts.push_back(text_part(s));
    } else if (key == "images") {
      if (!parse_images(v, user.parts, "images", err)) return false;
    } else if (key == "raw") {
      bool b = false;
      if (!v.is_null() && (v.get(b) != SUCCESS || b)) {
        return unsupported("raw", err, "a hosted backend applies its own template");
      }
    } else if (key == "suffix" || key == "template" || key == "context") {
      bool empty = v.is_null() || (is_string && s.empty()) || (v.is_array() && array_size(v) == 0);
      if (!empty) return unsupported(key, err);
    } else {
      return unsupported(key, err);
    }
  }
  if (user.parts.empty()) {
    return unsupported("prompt", err, "empty (loading a model means nothing to a hosted backend)");
  }
  if (!system.parts.empty()) req.messages.push_back(std::move(system));
  req.messages.push_back(std::move(user));
  return true;
}

namespace {

void write_message(JsonWriter& w, const Message& m) {
  static constexpr std::string_view kRoles[] = {"system", "user", "assistant", "tool"};
  w.begin_object().key("role").string(kRoles[static_cast<int>(m.role)]);
  w.key("content").string(joined_text(m));
  if (has_images(m)) {
    w.key("images").begin_array();
    for (const Part& p : m.parts) {
      if (p.kind == Part::Kind::image) w.string(p.image.data);
    }
    w.end_array();
  }
  if (!m.thinking.empty()) w.key("thinking").string(m.thinking);
  if (!m.tool_calls.empty()) {
    w.key("tool_calls").begin_array();
    for (size_t k = 0; k < m.tool_calls.size(); ++k) {
      const ToolCall& c = m.tool_calls[k];
      w.begin_object().key("id").string(c.id).key("function").begin_object();
      w.key("index").number(static_cast<int64_t>(k)).key("name").string(c.name).key("arguments").raw(c.arguments);
      w.end_object().end_object();
    }
    w.end_array();
  }
  if (!m.tool_name.empty()) w.key("tool_name").string(m.tool_name);
  if (!m.tool_call_id.empty()) w.key("tool_call_id").string(m.tool_call_id);
  w.end_object();
}

void write_options(JsonWriter& w, const ChatRequest& req) {
  const std::pair<std::string_view, const Param*> options[] = {{"temperature", &req.temperature},
                                                               {"top_p", &req.top_p},
                                                               {"top_k", &req.top_k},
                                                               {"seed", &req.seed},
                                                               {"presence_penalty", &req.presence_penalty},
                                                               {"frequency_penalty", &req.frequency_penalty},
                                                               {"num_predict", &req.max_tokens},
                                                               {"stop", &req.stop}};
  bool open = false;
  for (const auto& [name, p] : options) {
    if (!p->set()) continue;
    if (!open) w.key("options").begin_object();
    open = true;
    w.key(name).raw(p->json);
  }
  if (open) w.end_object();
}

}  // namespace

bool emit_ollama_chat(const ChatRequest& req, const RequestOptions& opts, std::string& body, std::string& err) {
  const Dialect target = Dialect::ollama;
  if (req.tool_choice == ToolChoice::required || req.tool_choice == ToolChoice::named) {
    err = not_expressible("tool_choice", target, "Ollama decides itself whether to call a tool");
    return false;
  }
  if (req.parallel_tool_calls.set()) {
    err = not_expressible(req.parallel_tool_calls.field, target, "Ollama cannot forbid parallel tool calls");
    return false;
  }
  for (size_t i = 0; i < req.messages.size(); ++i) {
    for (const Part& p : req.messages[i].parts) {
      if (p.kind == Part::Kind::image && !p.image.url.empty()) {
        err = not_expressible(at("messages", i) + " image URL", target, "Ollama takes base64 images only");
        return false;
      }
    }
  }
  JsonWriter w(body);
  w.begin_object().key("model").string(opts.upstream_model.empty() ? std::string_view(req.model) : opts.upstream_model);
  w.key("messages").begin_array();
  for (const Message& m : req.messages) write_message(w, m);
  w.end_array();
  // tool_choice none: offer no tools.
  if (!req.tools.empty() && req.tool_choice != ToolChoice::none) write_function_tools(w, req.tools);
  w.key("stream").boolean(req.stream);
  if (req.format == Format::json) w.key("format").string("json");
  if (req.format == Format::schema) w.key("format").raw(req.format_schema);
  if (req.think.set()) w.key("think").raw(req.think.json);
  if (req.keep_alive.set()) w.key("keep_alive").raw(req.keep_alive.json);
  write_options(w, req);
  w.end_object();
  return true;
}

}  // namespace corral::api::detail
