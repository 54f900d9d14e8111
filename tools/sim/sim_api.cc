// The Ollama and OpenAI-compatible endpoints corral-sim answers.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <simdjson.h>
#include <thread>

#include "sim.h"

namespace sim {
namespace {

using Clock = std::chrono::steady_clock;

std::string now_iso() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long>(us));
  return buf;
}

long unix_now() { return static_cast<long>(std::time(nullptr)); }

std::string digest(const std::string& name) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "%016zx%016zx%016zx%016zx", std::hash<std::string>{}(name),
                std::hash<std::string>{}(name + "1"), std::hash<std::string>{}(name + "2"),
                std::hash<std::string>{}(name + "3"));
  return buf;
}

std::string details(const Model& m) {
  std::string family = m.name.substr(0, m.name.find_first_of(":.0123456789"));
  return R"({"parent_model":"","format":"gguf","family":)" + json_str(family) + R"(,"families":[)" + json_str(family) +
         R"(],"parameter_size":")" + std::to_string(m.size / 600000000 + 1) + R"(B","quantization_level":"Q4_K_M"})";
}

std::string canonical(const std::string& name) { return name.find(':') == std::string::npos ? name + ":latest" : name; }

struct Body {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  bool ok = false;
  explicit Body(const std::string& text) {
    if (text.empty()) return;
    ok = parser.parse(text).get(root) == simdjson::SUCCESS && root.is_object();
  }
  std::string str(const char* key) const {
    std::string_view v;
    if (ok && root[key].get(v) == simdjson::SUCCESS) return std::string(v);
    return "";
  }
  bool flag(const char* key, bool dflt) const {
    bool v;
    if (ok && root[key].get(v) == simdjson::SUCCESS) return v;
    return dflt;
  }
  bool has(const char* key) const { return ok && root[key].error() == simdjson::SUCCESS; }
  // Words in prompt/messages/input: a stand-in for prompt tokens.
  int words() const {
    if (!ok) return 0;
    std::string all = str("prompt") + " " + str("system");
    simdjson::dom::array arr;
    if (root["messages"].get(arr) == simdjson::SUCCESS) {
      for (auto m : arr) {
        std::string_view c;
        if (m["content"].get(c) == simdjson::SUCCESS) all += " " + std::string(c);
      }
    }
    int n = 0;
    bool in = false;
    for (char c : all) {
      bool sp = c == ' ' || c == '\n' || c == '\t';
      if (!sp && !in) ++n;
      in = !sp;
    }
    return n + 1;
  }
  std::vector<std::string> inputs() const {
    std::vector<std::string> out;
    if (!ok) return out;
    std::string_view s;
    simdjson::dom::array arr;
    if (root["input"].get(s) == simdjson::SUCCESS) out.emplace_back(s);
    else if (root["input"].get(arr) == simdjson::SUCCESS) {
      for (auto v : arr) {
        std::string_view x;
        if (v.get(x) == simdjson::SUCCESS) out.emplace_back(x);
      }
    } else if (root["prompt"].get(s) == simdjson::SUCCESS) {
      out.emplace_back(s);
    }
    return out;
  }
};

std::string vec(const std::string& text) {
  size_t h = std::hash<std::string>{}(text);
  std::string out = "[";
  for (int i = 0; i < 8; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.6f", i ? "," : "", static_cast<double>((h >> (i * 7)) % 2001) / 1000.0 - 1.0);
    out += buf;
  }
  return out + "]";
}

void sleep_ms(int ms) {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// Keeps the connection open, sending nothing, until the client closes it.
bool stall(Reply& out, Stats& stats) {
  char b[512];
  while (::recv(out.fd(), b, sizeof b, 0) > 0) {
  }
  ++stats.streams_aborted;
  return false;
}

std::string token(int i, int pad = 0) { return "token" + std::to_string(i) + std::string(static_cast<size_t>(pad), '.') + " "; }

struct Gen {
  const Request& req;
  Reply& out;
  Stats& stats;
  Body& body;
  std::string model;
  bool chat;
};

std::string stats_fields(int prompt, int tokens, long long total_ns, const Knobs& k) {
  long long load = 1000000, prompt_ns = static_cast<long long>(k.ttft_ms) * 1000000 + 1000;
  long long eval = std::max<long long>(static_cast<long long>(tokens) * k.token_delay_ms * 1000000, tokens * 1000ll);
  return ",\"total_duration\":" + std::to_string(std::max(total_ns, load + prompt_ns + eval)) +
         ",\"load_duration\":" + std::to_string(load) + ",\"prompt_eval_count\":" + std::to_string(prompt) +
         ",\"prompt_eval_duration\":" + std::to_string(prompt_ns) + ",\"eval_count\":" + std::to_string(tokens) +
         ",\"eval_duration\":" + std::to_string(eval);
}

bool generate(Gen& g) {
  const Knobs& k = g.req.knobs;
  auto start = Clock::now();
  bool stream = g.body.flag("stream", true);
  std::string head = "{\"model\":" + json_str(g.model) + ",\"created_at\":";
  std::string prompt = g.chat ? "" : g.body.str("prompt");
  bool load_only = g.chat ? !g.body.has("messages") : prompt.empty();
  int n = load_only ? 0 : k.tokens;
  auto piece = [&](const std::string& text) {
    return g.chat ? ",\"message\":{\"role\":\"assistant\",\"content\":" + json_str(text) + "}"
                  : ",\"response\":" + json_str(text);
  };
  auto final_obj = [&](const std::string& text) {
    long long ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    std::string o = head + json_str(now_iso()) + piece(text) + ",\"done\":true,\"done_reason\":" +
                    json_str(load_only ? "load" : "stop");
    if (!g.chat) o += ",\"context\":[1,2,3]";
    return o + stats_fields(g.body.words(), n, ns, k) + "}";
  };
  if (k.stall_after == 0) return stall(g.out, g.stats);
  if (!stream) {
    sleep_ms(k.ttft_ms + n * k.token_delay_ms);
    std::string text;
    for (int i = 0; i < n; ++i) text += token(i);
    return g.out.json(200, final_obj(text));
  }
  if (!g.out.begin_stream("application/x-ndjson")) return false;
  sleep_ms(k.ttft_ms);
  for (int i = 0; i < n; ++i) {
    if (i > 0) sleep_ms(k.token_delay_ms);
    if (!g.out.chunk(head + json_str(now_iso()) + piece(token(i, k.token_pad)) + ",\"done\":false}\n")) {
      ++g.stats.streams_aborted;
      return false;
    }
    if (k.stall_after == i + 1) return stall(g.out, g.stats);
    if (k.disconnect_after == i + 1) return false;
  }
  if (!g.out.chunk(final_obj("") + "\n")) return false;
  return g.out.end_stream();
}

bool openai_chat(Gen& g, bool completions) {
  const Knobs& k = g.req.knobs;
  bool stream = g.body.flag("stream", false);
  bool usage = false;
  simdjson::dom::element so;
  if (g.body.ok && g.body.root["stream_options"].get(so) == simdjson::SUCCESS) {
    bool v;
    if (so["include_usage"].get(v) == simdjson::SUCCESS) usage = v;
  }
  std::string id = (completions ? "cmpl-" : "chatcmpl-") + std::to_string(std::rand() % 1000);
  std::string common = "\"id\":" + json_str(id) + ",\"object\":\"" +
                       (completions ? "text_completion" : (stream ? "chat.completion.chunk" : "chat.completion")) +
                       "\",\"created\":" + std::to_string(unix_now()) + ",\"model\":" + json_str(g.model) +
                       ",\"system_fingerprint\":\"fp_ollama\"";
  int prompt = g.body.words();
  std::string usage_obj = "\"usage\":{\"prompt_tokens\":" + std::to_string(prompt) + ",\"completion_tokens\":" +
                          std::to_string(k.tokens) + ",\"total_tokens\":" + std::to_string(prompt + k.tokens) + "}";
  auto choice = [&](const std::string& text, bool delta, const std::string& finish) {
    std::string c = "{\"index\":0,";
    if (completions) c += "\"text\":" + json_str(text);
    else c += std::string(delta ? "\"delta\"" : "\"message\"") + ":{\"role\":\"assistant\",\"content\":" + json_str(text) + "}";
    return c + ",\"finish_reason\":" + (finish.empty() ? "null" : json_str(finish)) + "}";
  };
  if (k.stall_after == 0) return stall(g.out, g.stats);
  if (!stream) {
    sleep_ms(k.ttft_ms + k.tokens * k.token_delay_ms);
    std::string text;
    for (int i = 0; i < k.tokens; ++i) text += token(i);
    return g.out.json(200, "{" + common + ",\"choices\":[" + choice(text, false, "stop") + "]," + usage_obj + "}");
  }
  if (!g.out.begin_stream("text/event-stream")) return false;
  sleep_ms(k.ttft_ms);
  for (int i = 0; i < k.tokens; ++i) {
    if (i > 0) sleep_ms(k.token_delay_ms);
    if (!g.out.chunk("data: {" + common + ",\"choices\":[" + choice(token(i), true, "") + "]}\n\n")) {
      ++g.stats.streams_aborted;
      return false;
    }
    if (k.stall_after == i + 1) return stall(g.out, g.stats);
    if (k.disconnect_after == i + 1) return false;
  }
  if (!g.out.chunk("data: {" + common + ",\"choices\":[" + choice("", true, "stop") + "]}\n\n")) return false;
  if (usage && !g.out.chunk("data: {" + common + ",\"choices\":[]," + usage_obj + "}\n\n")) return false;
  if (!g.out.chunk("data: [DONE]\n\n")) return false;
  return g.out.end_stream();
}

bool progress(Reply& out, bool stream, const std::vector<std::string>& lines) {
  if (!stream) return out.json(200, "{\"status\":\"success\"}");
  if (!out.begin_stream("application/x-ndjson")) return false;
  for (const auto& l : lines) {
    if (!out.chunk(l + "\n")) return false;
  }
  return out.end_stream();
}

std::string not_found(const std::string& model) {
  return "{\"error\":\"model \\\"" + model + "\\\" not found, try pulling it first\"}";
}

}  // namespace

bool handle(const Request& req, Reply& out, State& state, Stats& stats, const Options& opt) {
  const std::string& p = req.path;
  const std::string& m = req.method;
  if (p == "/" && (m == "GET" || m == "HEAD")) return out.text(200, "text/plain; charset=utf-8", "Ollama is running");
  if (p == "/sim/stats") {
    return out.json(200, "{\"connections_open\":" + std::to_string(stats.connections_open.load()) +
                             ",\"connections_total\":" + std::to_string(stats.connections_total.load()) +
                             ",\"requests_total\":" + std::to_string(stats.requests_total.load()) +
                             ",\"streams_aborted\":" + std::to_string(stats.streams_aborted.load()) + "}");
  }
  if (p == "/api/version" && m == "GET") return out.json(200, "{\"version\":" + json_str(opt.version) + "}");
  if (req.knobs.status) {
    return out.json(req.knobs.status, "{\"error\":\"simulated status " + std::to_string(req.knobs.status) + "\"}");
  }
  if ((p == "/api/tags" || p == "/api/ps") && m == "GET") {
    std::string list;
    for (const Model& md : state.models()) {
      if (p == "/api/ps" && !md.loaded) continue;
      if (!list.empty()) list += ",";
      list += "{\"name\":" + json_str(md.name) + ",\"model\":" + json_str(md.name) + ",";
      if (p == "/api/tags") list += "\"modified_at\":\"2024-06-01T12:00:00.000000Z\",";
      list += "\"size\":" + std::to_string(md.size) + ",\"digest\":" + json_str(digest(md.name)) + ",\"details\":" + details(md);
      if (p == "/api/ps") list += ",\"expires_at\":\"2099-01-01T00:00:00Z\",\"size_vram\":" + std::to_string(md.size);
      list += "}";
    }
    return out.json(200, "{\"models\":[" + list + "]}");
  }
  if (p == "/v1/models" && m == "GET") {
    std::string list;
    for (const Model& md : state.models()) {
      if (!list.empty()) list += ",";
      list += "{\"id\":" + json_str(md.name) + ",\"object\":\"model\",\"created\":1717243200,\"owned_by\":\"library\"}";
    }
    return out.json(200, "{\"object\":\"list\",\"data\":[" + list + "]}");
  }
  Body body(req.body);
  bool post = m == "POST" || m == "DELETE";
  if (post && !req.body.empty() && !body.ok) return out.json(400, "{\"error\":\"invalid JSON request body\"}");
  std::string name = body.str("model");
  if (name.empty()) name = body.str("name");
  Model md;
  bool known = state.find(canonical(name), &md);
  if (p == "/api/show" && m == "POST") {
    if (!known) return out.json(404, "{\"error\":\"model '" + name + "' not found\"}");
    return out.json(200, R"({"modelfile":"FROM )" + md.name + R"(","parameters":"stop \"<|eot_id|>\"","template":"{{ .Prompt }}","details":)" +
                             details(md) + R"(,"model_info":{"general.architecture":"llama","general.parameter_count":)" +
                             std::to_string(md.size / 2) + R"(},"capabilities":["completion"]})");
  }
  bool gen = p == "/api/generate" || p == "/api/chat";
  bool oai = p == "/v1/chat/completions" || p == "/v1/completions";
  bool embed = p == "/api/embed" || p == "/api/embeddings" || p == "/v1/embeddings";
  if ((gen || oai || embed) && m == "POST") {
    if (!known) {
      if (oai || p == "/v1/embeddings") {
        return out.json(404, "{\"error\":{\"message\":\"model \\\"" + name + "\\\" not found, try pulling it first\",\"type\":\"api_error\",\"param\":null,\"code\":null}}");
      }
      return out.json(404, not_found(name));
    }
    if (opt.fail_status) return out.json(opt.fail_status, "{\"error\":\"simulated failure\"}");
    Gen g{req, out, stats, body, name, p == "/api/chat"};
    if (gen) return generate(g);
    if (oai) return openai_chat(g, p == "/v1/completions");
    std::vector<std::string> in = body.inputs();
    if (p == "/api/embeddings") return out.json(200, "{\"embedding\":" + vec(in.empty() ? "" : in[0]) + "}");
    std::string vs;
    for (size_t i = 0; i < in.size(); ++i) {
      if (p == "/api/embed") vs += (i ? "," : "") + vec(in[i]);
      else vs += std::string(i ? "," : "") + "{\"object\":\"embedding\",\"embedding\":" + vec(in[i]) + ",\"index\":" + std::to_string(i) + "}";
    }
    if (p == "/api/embed") {
      return out.json(200, "{\"model\":" + json_str(name) + ",\"embeddings\":[" + vs + "],\"total_duration\":1000000,\"load_duration\":1000,\"prompt_eval_count\":" + std::to_string(in.size()) + "}");
    }
    return out.json(200, "{\"object\":\"list\",\"data\":[" + vs + "],\"model\":" + json_str(name) + ",\"usage\":{\"prompt_tokens\":" + std::to_string(in.size()) + ",\"total_tokens\":" + std::to_string(in.size()) + "}}");
  }
  bool stream = body.flag("stream", true);
  if ((p == "/api/pull" || p == "/api/push") && m == "POST") {
    std::string d = "sha256:" + digest(name);
    if (p == "/api/pull") state.add(canonical(name), 1000000000);
    std::string verb = p == "/api/pull" ? "pulling " : "pushing ";
    return progress(out, stream, {p == "/api/pull" ? "{\"status\":\"pulling manifest\"}" : "{\"status\":\"retrieving manifest\"}",
                                  "{\"status\":\"" + verb + d.substr(7, 12) + "\",\"digest\":\"" + d + "\",\"total\":1000,\"completed\":500}",
                                  "{\"status\":\"" + verb + d.substr(7, 12) + "\",\"digest\":\"" + d + "\",\"total\":1000,\"completed\":1000}",
                                  "{\"status\":\"verifying sha256 digest\"}", "{\"status\":\"writing manifest\"}",
                                  "{\"status\":\"success\"}"});
  }
  if (p == "/api/create" && m == "POST") {
    state.add(canonical(name), 2000000000);
    return progress(out, stream, {"{\"status\":\"using existing layer sha256:" + digest(name) + "\"}",
                                  "{\"status\":\"writing manifest\"}", "{\"status\":\"success\"}"});
  }
  if (p == "/api/copy" && m == "POST") {
    Model src;
    if (!state.find(canonical(body.str("source")), &src)) return out.json(404, "{\"error\":\"model '" + body.str("source") + "' not found\"}");
    state.add(canonical(body.str("destination")), src.size);
    return out.text(200, "", "");
  }
  if (p == "/api/delete" && m == "DELETE") {
    if (!state.remove(canonical(name))) return out.json(404, "{\"error\":\"model '" + name + "' not found\"}");
    return out.text(200, "", "");
  }
  return out.text(404, "text/plain", "404 page not found");
}

}  // namespace sim
