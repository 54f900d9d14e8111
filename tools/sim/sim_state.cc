#include "sim_state.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "sim_json.h"

namespace sim {

std::string canonical_name(std::string_view name) {
  std::string n(name);
  size_t slash = n.rfind('/');
  if (n.find(':', slash == std::string::npos ? 0 : slash) == std::string::npos) n += ":latest";
  return n;
}

State::State(const std::vector<ModelSpec>& specs) {
  std::string now = rfc3339_now(-86400);
  for (const ModelSpec& s : specs) models_.push_back({s.name, s.size, s.loaded, now});
}

std::vector<Model> State::models() {
  std::lock_guard<std::mutex> l(mu_);
  return models_;
}

bool State::find(std::string_view name, Model* out) {
  if (name.empty()) return false;
  std::string n = canonical_name(name);
  std::lock_guard<std::mutex> l(mu_);
  for (const Model& m : models_) {
    if (m.name == n) {
      if (out) *out = m;
      return true;
    }
  }
  return false;
}

int64_t State::add(std::string_view name, int64_t size) {
  std::string n = canonical_name(name);
  std::string now = rfc3339_now();
  std::lock_guard<std::mutex> l(mu_);
  for (Model& m : models_) {
    if (m.name == n) {
      m.modified_at = now;
      return m.size;
    }
  }
  models_.push_back({n, size, false, now});
  return size;
}

bool State::remove(std::string_view name) {
  std::string n = canonical_name(name);
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = models_.begin(); it != models_.end(); ++it) {
    if (it->name == n) {
      models_.erase(it);
      return true;
    }
  }
  return false;
}

void State::set_loaded(std::string_view name, bool loaded) {
  std::string n = canonical_name(name);
  std::lock_guard<std::mutex> l(mu_);
  for (Model& m : models_) {
    if (m.name == n) m.loaded = loaded;
  }
}

uint64_t fnv1a(std::string_view s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

std::string model_digest(std::string_view name) {
  std::string n = canonical_name(name);
  char buf[72];
  for (int i = 0; i < 4; ++i) std::snprintf(buf + 16 * i, 17, "%016llx", static_cast<unsigned long long>(fnv1a(n, i)));
  return std::string(buf, 64);
}

std::string model_family(std::string_view name) {
  if (is_embedding_model(name)) return "nomic-bert";
  size_t i = name.rfind('/');
  i = i == std::string_view::npos ? 0 : i + 1;
  size_t start = i;
  while (i < name.size() && ((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z'))) ++i;
  if (name.substr(start, i - start) == "qwen" && i < name.size() && name[i] == '2') ++i;  // Ollama says "qwen2"
  return i > start ? std::string(name.substr(start, i - start)) : "llama";
}

bool is_embedding_model(std::string_view name) { return name.find("embed") != std::string_view::npos; }

std::string parameter_size(const Model& m) {
  double params = static_cast<double>(m.size) / 0.6;  // ~Q4_K_M: 0.6 bytes per parameter
  char buf[32];
  if (params >= 1e9) std::snprintf(buf, sizeof buf, "%.1fB", params / 1e9);
  else std::snprintf(buf, sizeof buf, "%.0fM", params / 1e6);
  return buf;
}

std::string details_json(const Model& m) {
  std::string fam = model_family(m.name);
  Json j;
  j.begin_object().str("parent_model", "").str("format", "gguf").str("family", fam);
  j.key("families").begin_array().str(fam).end_array();
  j.str("parameter_size", parameter_size(m)).str("quantization_level", is_embedding_model(m.name) ? "F16" : "Q4_K_M");
  return j.end_object().take();
}

std::string rfc3339_now(int64_t offset_seconds) {
  auto now = std::chrono::system_clock::now() + std::chrono::seconds(offset_seconds);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::time_t t = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(ns % 1000000000));
  return buf;
}

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace sim
