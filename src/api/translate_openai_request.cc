// OpenAI chat completions bodies into the ChatRequest pivot, and the pivot into
// a chat completions body (for api.openai.com or any OpenAI-compatible server).
#include "corral/api/json.h"
#include "translate_codec.h"

namespace corral::api::detail {
namespace {

constexpr std::string_view kFrom = "from the OpenAI API";

bool unsupported(std::string_view field, std::string& err, std::string_view why = {}) {
  return untranslatable(field, kFrom, err, why);
}

bool parse_image_part(element part, const std::string& where, Message& msg, std::string& err) {
  element iu;
  std::string_view url;
  if (part["image_url"].get(iu) != SUCCESS) return unsupported(where, err, "no image_url");
  if (iu.get(url) != SUCCESS) url = string_at(iu, "url");
  Part p;
  p.kind = Part::Kind::image;
  if (url.starts_with("data:")) {
    if (!parse_data_url(url, p.image)) return unsupported(where, err, "a data URL that is not base64");
  } else if (url.starts_with("http://") || url.starts_with("https://")) {
    p.image.url.assign(url);
  } else {
    return unsupported(where, err, "an image_url that is neither a data URL nor http(s)");
  }
  msg.parts.push_back(std::move(p));
  return true;
}

bool parse_content(element v, const std::string& where, Message& msg, std::string& err) {
  std::string_view s;
  if (v.is_null()) return true;
  if (v.get(s) == SUCCESS) {
    if (!s.empty()) msg.parts.push_back(Part{Part::Kind::text, std::string(s), {}});
    return true;
  }
  array parts;
  if (v.get(parts) != SUCCESS) return unsupported(where, err, "not a string or an array of parts");
  size_t i = 0;
  for (element part : parts) {
    std::string pw = at(where, i++);
    std::string_view type = string_at(part, "type");
    if (type == "text") {
      msg.parts.push_back(Part{Part::Kind::text, std::string(string_at(part, "text")), {}});
    } else if (type == "image_url") {
      if (!parse_image_part(part, pw, msg, err)) return false;
    } else {
      return unsupported(pw + " of type " + std::string(type), err);
    }
  }
  return true;
}

bool parse_tool_calls(element v, const std::string& where, Message& msg, std::string& err) {
  array calls;
  if (v.is_null()) return true;
  if (v.get(calls) != SUCCESS) return unsupported(where, err, "not an array");
  size_t i = 0;
  for (element c : calls) {
    std::string cw = at(where, i++);
    element fn;
    if (string_at(c, "type") != "function" || c["function"].get(fn) != SUCCESS) {
      return unsupported(cw, err, "only function calls");
    }
    ToolCall call;
    call.id.assign(string_at(c, "id"));
    call.name.assign(string_at(fn, "name"));
    std::string_view args = string_at(fn, "arguments");
    if (args.empty()) {
      call.arguments = "{}";
    } else if (!json_object_text(args, call.arguments)) {
      return unsupported(cw + ".function.arguments", err, "not a JSON object");
    }
    msg.tool_calls.push_back(std::move(call));
  }
  return true;
}

bool parse_message(element m, size_t i, ChatRequest& req, std::string& err) {
  std::string where = at("messages", i);
  Message msg;
  if (!parse_message_role(m, where, kFrom, true, msg.role, err)) return false;
  for (auto [key, v] : as_object(m)) {
    if (key == "role" || v.is_null()) continue;  // null: as if absent
    if (key == "content") {
      if (!parse_content(v, where + ".content", msg, err)) return false;
    } else if (key == "tool_calls") {
      if (!parse_tool_calls(v, where + ".tool_calls", msg, err)) return false;
    } else if (key == "tool_call_id") {
      msg.tool_call_id.assign(string_at(m, "tool_call_id"));
    } else {
      return unsupported(where + "." + std::string(key), err);
    }
  }
  req.messages.push_back(std::move(msg));
  return true;
}

bool parse_tools(element v, ChatRequest& req, std::string& err) {
  array tools;
  if (v.is_null()) return true;
  if (v.get(tools) != SUCCESS) return unsupported("tools", err, "not an array");
  size_t i = 0;
  for (element t : tools) {
    std::string tw = at("tools", i++);
    ToolDef def;
    if (!parse_function_tool(t, def)) return unsupported(tw, err, "only function tools");
    bool strict = false;
    if (t["function"]["strict"].get(strict) == SUCCESS && strict) return unsupported(tw + ".function.strict", err);
    req.tools.push_back(std::move(def));
  }
  return true;
}

bool parse_tool_choice(element v, ChatRequest& req, std::string& err) {
  std::string_view s;
  if (v.is_null()) return true;
  if (v.get(s) == SUCCESS) {
    if (s == "auto") req.tool_choice = ToolChoice::automatic;
    else if (s == "none") req.tool_choice = ToolChoice::none;
    else if (s == "required") req.tool_choice = ToolChoice::required;
    else return unsupported("tool_choice", err, "unknown value");
    return true;
  }
  element fn;
  if (string_at(v, "type") != "function" || v["function"].get(fn) != SUCCESS) {
    return unsupported("tool_choice", err, "only function choices");
  }
  req.tool_choice = ToolChoice::named;
  req.tool_choice_name.assign(string_at(fn, "name"));
  return true;
}

bool parse_response_format(element v, ChatRequest& req, std::string& err) {
  std::string_view type = string_at(v, "type");
  if (v.is_null() || type == "text") return true;
  req.format_field = "response_format";
  if (type == "json_object") {
    req.format = Format::json;
    return true;
  }
  element js, schema;
  if (type != "json_schema" || v["json_schema"].get(js) != SUCCESS || js["schema"].get(schema) != SUCCESS) {
    return unsupported("response_format", err, "only text, json_object or json_schema with a schema");
  }
  req.format = Format::schema;
  req.format_schema = to_json(schema);
  req.format_name.assign(string_at(js, "name"));
  return true;
}

bool parse_stop(element v, ChatRequest& req, std::string& err) {
  std::string_view s;
  if (v.is_null()) return true;
  if (v.get(s) == SUCCESS) {
    std::string json = "[";
    append_json_string(json, s);
    req.stop = Param{"stop", json + "]"};
    return true;
  }
  array a;
  if (v.get(a) != SUCCESS) return unsupported("stop", err, "not a string or an array of strings");
  for (element e : a) {
    if (!e.is_string()) return unsupported("stop", err, "not a string or an array of strings");
  }
  if (a.size() > 0) req.stop = Param{"stop", to_json(v)};
  return true;
}

// A field whose only translatable value is its default: anything else is an error.
bool default_only(std::string_view key, element v, std::string& err) {
  bool b = false;
  int64_t n = 0;
  std::string_view s;
  bool ok = v.is_null() || (key == "n" && v.get(n) == SUCCESS && n == 1) ||
            ((key == "logprobs" || key == "store") && v.get(b) == SUCCESS && !b) ||
            (key == "top_logprobs" && v.get(n) == SUCCESS && n == 0) ||
            ((key == "logit_bias" || key == "metadata") && v.is_object() && as_object(v).size() == 0) ||
            (key == "service_tier" && v.get(s) == SUCCESS && (s == "auto" || s == "default"));
  return ok || unsupported(key, err);
}

bool parse_field(std::string_view key, element v, ChatRequest& req, std::string& err) {
  std::string json = to_json(v);
  if (key == "model") {
    std::string_view s;
    if (v.get(s) == SUCCESS) req.model.assign(s);
  } else if (key == "messages") {
    array msgs;
    if (v.get(msgs) != SUCCESS) return unsupported("messages", err, "not an array");
    size_t i = 0;
    for (element m : msgs) {
      if (!parse_message(m, i++, req, err)) return false;
    }
  } else if (key == "stream") {
    bool b = false;
    if (!v.is_null() && v.get(b) != SUCCESS) return unsupported("stream", err, "not a boolean");
    req.stream = b;
  } else if (key == "stream_options") {
    if (v.is_null()) return true;
    if (!v.is_object()) return unsupported("stream_options", err, "not an object");
    for (auto [k, o] : as_object(v)) {
      bool b = false;
      if (k != "include_usage" || o.get(b) != SUCCESS) return unsupported("stream_options." + std::string(k), err);
      req.include_usage = b;
    }
  } else if (key == "max_tokens" || key == "max_completion_tokens") {
    if (!v.is_null()) req.max_tokens = Param{key == "max_tokens" ? "max_tokens" : "max_completion_tokens", json};
  } else if (key == "temperature") {
    if (!v.is_null()) req.temperature = Param{"temperature", json};
  } else if (key == "top_p") {
    if (!v.is_null()) req.top_p = Param{"top_p", json};
  } else if (key == "seed") {
    if (!v.is_null()) req.seed = Param{"seed", json};
  } else if (key == "presence_penalty") {
    if (!v.is_null()) req.presence_penalty = Param{"presence_penalty", json};
  } else if (key == "frequency_penalty") {
    if (!v.is_null()) req.frequency_penalty = Param{"frequency_penalty", json};
  } else if (key == "reasoning_effort") {
    if (!v.is_null()) req.think = Param{"reasoning_effort", json};
  } else if (key == "user") {
    if (!v.is_null()) req.user = Param{"user", json};
  } else if (key == "parallel_tool_calls") {
    bool b = true;
    if (!v.is_null() && (v.get(b) != SUCCESS)) return unsupported("parallel_tool_calls", err, "not a boolean");
    if (!b) req.parallel_tool_calls = Param{"parallel_tool_calls", "false"};
  } else if (key == "stop") {
    return parse_stop(v, req, err);
  } else if (key == "response_format") {
    return parse_response_format(v, req, err);
  } else if (key == "tools") {
    return parse_tools(v, req, err);
  } else if (key == "tool_choice") {
    return parse_tool_choice(v, req, err);
  } else {
    return default_only(key, v, err);
  }
  return true;
}

}  // namespace

bool parse_openai_chat(element root, ChatRequest& req, std::string& err) {
  for (auto [key, v] : as_object(root)) {
    if (v.is_null()) continue;  // as if absent
    if (!parse_field(key, v, req, err)) return false;
  }
  return true;
}

namespace {

bool check_target(const ChatRequest& req, std::string& err) {
  const Dialect target = Dialect::openai;
  if (req.top_k.set()) {
    err = not_expressible(req.top_k.field, target);
    return false;
  }
  if (req.think.set() && req.think.json != "false") {
    err = not_expressible(req.think.field, target, "the chat completions API has no thinking switch");
    return false;
  }
  for (size_t i = 0; i < req.messages.size(); ++i) {
    const Message& m = req.messages[i];
    if (!has_images(m)) continue;
    if (m.role != Role::user) {
      err = not_expressible("messages[" + std::to_string(i) + "] image", target, "images only in user messages");
      return false;
    }
    for (const Part& p : m.parts) {
      if (p.kind == Part::Kind::image && p.image.url.empty() && p.image.media_type.empty()) {
        err = not_expressible("messages[" + std::to_string(i) + "] image", target, "not png, jpeg, gif or webp");
        return false;
      }
    }
  }
  return true;
}

void write_content(JsonWriter& w, const Message& m) {
  if (!has_images(m)) {
    w.key("content").string(joined_text(m));
    return;
  }
  w.key("content").begin_array();
  for (const Part& p : m.parts) {
    if (p.kind == Part::Kind::text) {
      w.begin_object().key("type").string("text").key("text").string(p.text).end_object();
    } else {
      w.begin_object().key("type").string("image_url").key("image_url").begin_object();
      w.key("url").string(p.image.url.empty() ? data_url(p.image) : p.image.url).end_object().end_object();
    }
  }
  w.end_array();
}

void write_message(JsonWriter& w, const Message& m) {
  static constexpr std::string_view kRoles[] = {"system", "user", "assistant", "tool"};
  w.begin_object().key("role").string(kRoles[static_cast<int>(m.role)]);
  if (m.role == Role::tool) w.key("tool_call_id").string(m.tool_call_id);
  if (m.role == Role::assistant && !m.tool_calls.empty()) {
    std::string text = joined_text(m);
    if (text.empty()) w.key("content").null();
    else w.key("content").string(text);
    w.key("tool_calls").begin_array();
    for (const ToolCall& c : m.tool_calls) {
      w.begin_object().key("id").string(c.id).key("type").string("function").key("function").begin_object();
      w.key("name").string(c.name).key("arguments").string(c.arguments).end_object().end_object();
    }
    w.end_array();
  } else {
    write_content(w, m);
  }
  w.end_object();
}

void write_tools(JsonWriter& w, const ChatRequest& req) {
  write_function_tools(w, req.tools);
  switch (req.tool_choice) {
    case ToolChoice::unset:
      break;
    case ToolChoice::automatic:
      w.key("tool_choice").string("auto");
      break;
    case ToolChoice::none:
      w.key("tool_choice").string("none");
      break;
    case ToolChoice::required:
      w.key("tool_choice").string("required");
      break;
    case ToolChoice::named:
      w.key("tool_choice").begin_object().key("type").string("function").key("function").begin_object();
      w.key("name").string(req.tool_choice_name).end_object().end_object();
      break;
  }
  if (req.parallel_tool_calls.set()) w.key("parallel_tool_calls").boolean(false);
}

void write_format(JsonWriter& w, const ChatRequest& req) {
  if (req.format == Format::json) {
    w.key("response_format").begin_object().key("type").string("json_object").end_object();
  } else if (req.format == Format::schema) {
    w.key("response_format").begin_object().key("type").string("json_schema").key("json_schema").begin_object();
    w.key("name").string(req.format_name.empty() ? std::string_view("response") : std::string_view(req.format_name));
    w.key("schema").raw(req.format_schema).end_object().end_object();
  }
}

}  // namespace

bool emit_openai_chat(const ChatRequest& req, const RequestOptions& opts, std::string& body, std::string& err) {
  if (!check_target(req, err)) return false;
  JsonWriter w(body);
  w.begin_object().key("model").string(opts.upstream_model.empty() ? std::string_view(req.model) : opts.upstream_model);
  w.key("messages").begin_array();
  for (const Message& m : req.messages) write_message(w, m);
  w.end_array();
  w.key("stream").boolean(req.stream);
  if (req.stream) w.key("stream_options").begin_object().key("include_usage").boolean(true).end_object();
  if (req.max_tokens.set()) {
    w.key(opts.max_completion_tokens ? "max_completion_tokens" : "max_tokens").raw(req.max_tokens.json);
  }
  const std::pair<std::string_view, const Param*> sampling[] = {{"temperature", &req.temperature},
                                                                {"top_p", &req.top_p},
                                                                {"seed", &req.seed},
                                                                {"presence_penalty", &req.presence_penalty},
                                                                {"frequency_penalty", &req.frequency_penalty},
                                                                {"stop", &req.stop},
                                                                {"user", &req.user}};
  for (const auto& [name, p] : sampling) {
    if (p->set()) w.key(name).raw(p->json);
  }
  write_format(w, req);
  if (!req.tools.empty()) write_tools(w, req);
  w.end_object();
  return true;
}

}  // namespace corral::api::detail
