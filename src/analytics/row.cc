#include "corral/analytics/row.h"

#include <simdjson.h>

#include <cstdio>
#include <ctime>

#include "corral/api/endpoint.h"
#include "corral/api/json.h"
#include "corral/api/prompt.h"
#include "corral/core/clock.h"

namespace corral::analytics {

const std::array<Column, kColumnCount> kColumns = {{
    {"time_ms", Type::integer},
    {"request_id", Type::text},
    {"client_ip", Type::text},
    {"user_agent", Type::text},
    {"key_name", Type::text},
    {"user", Type::text},
    {"method", Type::text},
    {"endpoint", Type::text},
    {"path", Type::text},
    {"model", Type::text},
    {"model_alias", Type::text},
    {"backend", Type::text},
    {"status", Type::integer},
    {"stream", Type::boolean},
    {"error", Type::text},
    {"prompt_preview", Type::text},
    {"response_preview", Type::text},
    {"prompt_chars", Type::integer},
    {"prompt_tokens", Type::integer},
    {"completion_tokens", Type::integer},
    {"ttft_ms", Type::real},
    {"duration_ms", Type::real},
    {"tokens_per_second", Type::real},
    {"load_ms", Type::real},
    {"complexity", Type::integer},
    {"category", Type::text},
    {"bytes_in", Type::integer},
    {"bytes_out", Type::integer},
}};

std::string_view cut_chars(std::string_view s, size_t n) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && chars++ == n) return s.substr(0, i);
  }
  return s;
}

namespace {

size_t count_chars(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The JSON string value after `"key":"` in a body that may be cut off anywhere;
// the text up to the cut when the closing quote is missing.
bool scan_string(std::string_view body, std::string_view key, std::string& out) {
  std::string pat;
  pat.append("\"").append(key).append("\":");
  size_t at = body.find(pat);
  if (at == std::string_view::npos) return false;
  size_t i = at + pat.size();
  while (i < body.size() && body[i] == ' ') ++i;
  if (i >= body.size() || body[i] != '"') return false;
  for (++i; i < body.size() && body[i] != '"'; ++i) {
    if (body[i] != '\\') {
      out += body[i];
      continue;
    }
    if (++i >= body.size()) break;
    char c = body[i];
    if (c == 'n') out += '\n';
    else if (c == 't') out += '\t';
    else if (c == 'r') out += '\r';
    else if (c == 'b' || c == 'f') out += ' ';
    else if (c == 'u') {
      if (i + 4 >= body.size()) break;
      uint32_t cp = static_cast<uint32_t>(std::strtoul(std::string(body.substr(i + 1, 4)).c_str(), nullptr, 16));
      put_utf8(out, cp >= 0xD800 && cp < 0xE000 ? 0xFFFD : cp);
      i += 4;
    } else out += c;
  }
  return true;
}

// The generated text in one parsed chunk or body, whichever API shaped it.
bool chunk_text(simdjson::dom::element e, std::string& out) {
  std::string_view s;
  for (const char* p :
       {"/response", "/message/content", "/choices/0/delta/content", "/choices/0/text", "/choices/0/message/content"}) {
    if (e.at_pointer(p).get_string().get(s) == simdjson::SUCCESS) {
      out.append(s);
      return true;
    }
  }
  return false;
}

}  // namespace

// One parser and one padded line buffer per thread (the ingest thread), reused for every record.
simdjson::dom::parser& json_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

simdjson::padded_string_view padded(std::string_view s) {
  thread_local std::string buf;
  buf.assign(s);
  buf.append(simdjson::SIMDJSON_PADDING, ' ');
  return simdjson::padded_string_view(buf.data(), s.size(), buf.size());
}

std::string response_preview(std::string_view head, size_t chars) {
  std::string out;
  if (chars == 0 || head.empty()) return out;
  simdjson::dom::parser& parser = json_parser();
  bool parsed_any = false;
  size_t pos = 0;
  while (pos < head.size() && count_chars(out) < chars) {
    size_t nl = head.find('\n', pos);
    std::string_view line = head.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? head.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.starts_with("data:")) line.remove_prefix(line.starts_with("data: ") ? 6 : 5);
    if (line.empty() || line == "[DONE]" || line.starts_with("event:") || line.starts_with(":")) continue;
    simdjson::dom::element e;
    if (line.front() != '{' || parser.parse(padded(line)).get(e) != simdjson::SUCCESS)
      continue;  // not JSON, or cut off
    parsed_any = true;
    chunk_text(e, out);
  }
  if (!parsed_any) {  // one JSON body longer than what was kept
    for (const char* key : {"response", "content", "text"}) {
      if (scan_string(head, key, out)) break;
    }
  }
  return std::string(cut_chars(out, chars));
}

std::string error_text(std::string_view head) {
  std::string out;
  simdjson::dom::element e;
  std::string_view s;
  if (!head.empty() && head.front() == '{' && json_parser().parse(padded(head)).get(e) == simdjson::SUCCESS) {
    if (e["error"].get_string().get(s) == simdjson::SUCCESS ||
        e.at_pointer("/error/message").get_string().get(s) == simdjson::SUCCESS) {
      out.assign(s);
    }
    return out;
  }
  if (!scan_string(head, "error", out)) scan_string(head, "message", out);
  return out;
}

void decode(const Record& r, uint32_t preview_chars, Row& out) {
  const RecordNumbers& n = r.n;
  for (Value& v : out) v.clear();  // keeps the strings' storage for the next record
  out[cTimeMs].set(n.time_us / 1000);
  Col text_cols[] = {cRequestId, cClientIp, cUserAgent, cKeyName, cMethod, cPath, cModel, cModelAlias, cBackend};
  Field text_fields[] = {kRequestId, kClientIp, kUserAgent, kKeyName, kMethod, kPath, kModel, kModelAlias, kBackend};
  for (size_t i = 0; i < std::size(text_cols); ++i) {
    std::string_view s = r.get(text_fields[i]);
    if (!s.empty()) out[text_cols[i]].set(s);
  }
  // Who asked: the API key's name when the request was authenticated, else the client address.
  out[cUser].set(r.get(kKeyName).empty() ? r.get(kClientIp) : r.get(kKeyName));
  out[cEndpoint].set(api::endpoint_name(static_cast<api::Endpoint>(n.endpoint)));
  out[cStatus].set(n.status);
  if (n.stream >= 0) out[cStream].set(n.stream);
  std::string_view head = r.get(kResponseHead);
  std::string error(r.get(kError));
  if (error.empty() && n.status >= 400) error = error_text(head);
  if (!error.empty()) out[cError].set(error);
  if (preview_chars > 0) {
    std::string_view prompt = cut_chars(r.get(kPromptPreview), preview_chars);
    if (!prompt.empty()) out[cPromptPreview].set(prompt);
    if (n.status < 400) {
      std::string reply = response_preview(head, preview_chars);
      if (!reply.empty()) out[cResponsePreview].set(reply);
    }
  }
  out[cPromptChars].set(n.prompt_chars);
  if (n.prompt_tokens >= 0) out[cPromptTokens].set(n.prompt_tokens);
  if (n.completion_tokens >= 0) out[cCompletionTokens].set(n.completion_tokens);
  if (n.ttft_us >= 0) out[cTtftMs].set_real(double(n.ttft_us) / 1000);
  out[cDurationMs].set_real(double(n.duration_us) / 1000);
  if (n.completion_tokens > 0 && n.eval_duration_ns > 0) {
    out[cTokensPerSecond].set_real(double(n.completion_tokens) * 1e9 / double(n.eval_duration_ns));
  }
  if (n.load_duration_ns >= 0) out[cLoadMs].set_real(double(n.load_duration_ns) / 1e6);
  if (n.complexity >= 0) out[cComplexity].set(n.complexity);
  if (n.category < api::kCategoryCount) {
    out[cCategory].set(api::category_name(static_cast<api::Category>(n.category)));
  }
  out[cBytesIn].set(static_cast<int64_t>(n.bytes_in));
  out[cBytesOut].set(static_cast<int64_t>(n.bytes_out));
}

namespace {

void append_number(std::string& out, const Value& v, Type t) {
  char buf[32];
  if (t == Type::real) std::snprintf(buf, sizeof buf, "%.3f", v.d);
  else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v.i));
  out += buf;
}

void append_csv_field(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(s);
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

}  // namespace

void append_json(std::string& out, const Row& r) {
  out += "{\"time\":\"";
  out += core::iso_time(r[cTimeMs].i);
  out += '"';
  for (size_t c = 0; c < kColumnCount; ++c) {
    const Value& v = r[c];
    out += ",\"";
    out += kColumns[c].name;
    out += "\":";
    if (v.null) out += "null";
    else if (kColumns[c].type == Type::text) {
      out += '"';
      api::json_escape(out, v.s);
      out += '"';
    } else if (kColumns[c].type == Type::boolean) out += v.i ? "true" : "false";
    else append_number(out, v, kColumns[c].type);
  }
  out += '}';
}

void append_csv_header(std::string& out) {
  out += "time";
  for (const Column& c : kColumns) out.append(",").append(c.name);
  out += "\r\n";
}

void append_csv(std::string& out, const Row& r) {
  out += core::iso_time(r[cTimeMs].i);
  for (size_t c = 0; c < kColumnCount; ++c) {
    out += ',';
    const Value& v = r[c];
    if (v.null) continue;
    if (kColumns[c].type == Type::text) append_csv_field(out, v.s);
    else if (kColumns[c].type == Type::boolean) out += v.i ? "true" : "false";
    else append_number(out, v, kColumns[c].type);
  }
  out += "\r\n";
}

}  // namespace corral::analytics
