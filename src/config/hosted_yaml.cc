#include "hosted_yaml.h"

#include <yaml-cpp/yaml.h>

#include "corral/core/net.h"

namespace corral::config::yaml {

Setter backend_kind(BackendKind& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    std::string s;
    if (scalar(n, s)) {
      for (BackendKind k : {BackendKind::ollama, BackendKind::openai, BackendKind::anthropic}) {
        if (s == kind_name(k)) {
          dst = k;
          return true;
        }
      }
    }
    err = "expected ollama, openai or anthropic";
    return false;
  };
}

Setter backend_tls(BackendTls& dst, const std::string& key) {
  return [&dst, key](const YAML::Node& n, std::string& err) {
    auto nullable = [](std::string& s) {
      return [&s](const YAML::Node& v, std::string& e) { return v.IsNull() ? (s.clear(), true) : str(s)(v, e); };
    };
    return apply_map(n, key + ".tls",
                     {{"ca_file", nullable(dst.ca_file)},
                      {"verify", boolean(dst.verify)},
                      {"server_name", nullable(dst.server_name)}},
                     err);
  };
}

Setter env_name(std::string& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    std::string s;
    bool ok = scalar(n, s) && !s.empty() && !(s[0] >= '0' && s[0] <= '9');
    for (char c : s)
      ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    if (!ok) {
      err = "expected the name of an environment variable (letters, digits and _)";
      return false;
    }
    dst = s;
    return true;
  };
}

Setter aliases(std::vector<std::pair<std::string, std::string>>& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    if (!n.IsMap()) {
      err = "expected a mapping of alias to model name";
      return false;
    }
    dst.clear();
    for (const auto& kv : n) {
      std::string alias = kv.first.Scalar();
      if (!kv.second.IsScalar() || kv.second.Scalar().empty() || kv.second.Scalar() == alias) {
        err = alias + ": expected the name of another model";
        return false;
      }
      dst.emplace_back(alias, kv.second.Scalar());
    }
    return true;
  };
}

Setter tls_listen(TlsListenConfig& dst) {
  return [&dst](const YAML::Node& n, std::string& err) {
    return apply_map(n, "tls_listen", {{"address", str(dst.address)}, {"cert", str(dst.cert)}, {"key", str(dst.key)}},
                     err);
  };
}

}  // namespace corral::config::yaml

namespace corral::config {

bool finalize_hosted(const Config& cfg, std::string& err) {
  for (size_t i = 0; i < cfg.backends.size(); ++i) {
    const BackendConfig& b = cfg.backends[i];
    std::string key = "backends[" + std::to_string(i) + "]";
    bool tls_set = !b.tls.ca_file.empty() || !b.tls.verify || !b.tls.server_name.empty();
    if (tls_set && !b.https) {
      err = key + ".tls: only for https:// backends (url " + b.url + ")";
      return false;
    }
    if (!b.api_key_env.empty() && b.kind == BackendKind::ollama) {
      err = key + ".api_key_env: only for kind openai or anthropic";
      return false;
    }
  }
  const TlsListenConfig& l = cfg.tls_listen;
  if (!l.address.empty()) {
    std::string host;
    int port;
    if (!core::split_host_port(l.address, host, port)) {
      err = "tls_listen.address: expected HOST:PORT, got '" + l.address + "'";
      return false;
    }
    if (l.cert.empty() || l.key.empty()) {
      err = std::string("tls_listen.") + (l.cert.empty() ? "cert" : "key") + ": required with tls_listen.address";
      return false;
    }
  }
  return true;
}

}  // namespace corral::config
