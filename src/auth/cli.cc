#include "corral/auth/cli.h"

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "corral/auth/admin_api.h"
#include "corral/auth/manage.h"
#include "corral/config/config.h"
#include "corral/core/clock.h"

namespace corral::auth {

namespace {

constexpr const char* kUsage =
    "usage: corral keys create NAME [--admin] [--models M1,M2] [--rpm N] [--tpm N] [--concurrency N]\n"
    "                        [--priority high|normal|low] [--expires 30d|12h|never] [--note TEXT]\n"
    "       corral keys list [--json]\n"
    "       corral keys set NAME [--admin|--no-admin] [--models M1,M2] [--rpm N] … (the fields to change)\n"
    "       corral keys revoke NAME\n"
    "       corral keys rotate NAME\n"
    "Every command takes --data-dir DIR and --config FILE like the server (keys.db lives in the data dir).\n"
    "Limits: 0 = no limit. --models \"\" allows every model; M* matches names starting with M.\n";

constexpr int kOk = 0, kFailed = 1, kBadInput = 2;

struct Args {
  std::string command, name;
  bool json = false;
  KeySpec spec;
  config::Flags flags;  // --data-dir, --config
};

int bad_input(const std::string& msg) {
  std::fprintf(stderr, "corral keys: %s\n", msg.c_str());
  return kBadInput;
}

// Reads the flags after the command; returns kOk or the exit code for bad input.
int parse_flags(int argc, char** argv, Args& a) {
  bool changes = a.command == "create" || a.command == "set";
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with("--")) {
      if (!a.name.empty() || a.command == "list") {
        return bad_input(a.command + ": unexpected argument '" + std::string(arg) + "'");
      }
      a.name = std::string(arg);
      continue;
    }
    size_t eq = arg.find('=');
    std::string flag(arg.substr(0, eq));
    std::optional<std::string> inline_value;
    if (eq != std::string_view::npos) inline_value = std::string(arg.substr(eq + 1));
    auto value = [&](std::string& out) {  // the next argument, unless it is a flag (--note=--x says it anyway)
      if (inline_value) out = *inline_value;
      else if (i + 1 < argc && !std::string_view(argv[i + 1]).starts_with("--")) out = argv[++i];
      else return false;
      return true;
    };
    std::string v, err;
    const Field* field = changes ? find_field(flag.substr(2)) : nullptr;
    if (flag == "--json" && a.command == "list" && !inline_value) {
      a.json = true;
    } else if ((flag == "--admin" || flag == "--no-admin") && changes && !inline_value) {
      if (flag == "--no-admin" && a.command == "create") return bad_input("create: unknown flag '--no-admin'");
      set_flag(a.spec, flag == "--admin");
    } else if (flag == "--data-dir" || flag == "--config") {
      if (!value(v)) return bad_input(flag + " needs a value");
      (flag == "--data-dir" ? a.flags.data_dir : a.flags.config_file) = v;
    } else if (field && field->kind != FieldKind::flag) {
      if (!value(v)) return bad_input(flag + " needs a value");
      if (!set_from_text(a.spec, *field, v, err)) return bad_input(flag + ": " + err);
    } else {
      return bad_input(a.command + ": unknown flag '" + std::string(arg) + "'");
    }
  }
  if (a.command != "list" && a.name.empty()) return bad_input(a.command + ": needs the key's NAME");
  std::string err;
  if (a.command == "create" && !valid_key_name(a.name, err)) return bad_input(err);
  return kOk;
}

std::string limit_text(uint64_t v) { return v == 0 ? "-" : std::to_string(v); }

std::string when(int64_t ms) {
  if (ms == 0) return "-";
  std::string t = core::iso_time(ms);  // 2026-11-27T07:01:32.123Z
  return t.substr(0, 19) + "Z";
}

std::string models_text(const Key& k) {
  std::string s;
  for (const std::string& m : k.models) s.append(s.empty() ? "" : ",").append(m);
  return s.empty() ? "all" : s;
}

std::string summary(const Key& k) {
  return "admin " + std::string(k.admin ? "yes" : "no") + ", models " + models_text(k) + ", rpm " +
         limit_text(k.limits.rpm) + ", tpm " + limit_text(k.limits.tpm) + ", concurrency " +
         limit_text(k.limits.concurrency) + ", priority " + std::string(priority_name(k.priority)) + ", expires " +
         (k.expires_ms ? when(k.expires_ms) : "never");
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t c = 0; c < r.size(); ++c) {
      line += r[c];
      if (c + 1 < r.size()) line.append(width[c] - r[c].size() + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    std::printf("%s\n", line.c_str());
  }
}

int list(KeyStore& store, const std::string& analytics_db, const Args& a, int64_t now_ms) {
  if (a.json) {
    http::LocalResponse r = handle_keys_request(AdminContext{store, analytics_db, now_ms}, "GET", "/admin/keys", "");
    if (r.status != 200) {
      std::fprintf(stderr, "corral keys: %s\n", r.body.c_str());
      return kFailed;
    }
    std::printf("%s\n", r.body.c_str());
    return kOk;
  }
  std::vector<Key> keys;
  std::string err;
  if (!store.load(keys, err)) {
    std::fprintf(stderr, "corral keys: %s\n", err.c_str());
    return kFailed;
  }
  ActivityByKey activity;
  bool have = !analytics_db.empty() && read_activity(analytics_db, now_ms - kActivityWindowMs, activity, err);
  if (!analytics_db.empty() && !have) std::fprintf(stderr, "corral keys: last 24 h not shown: %s\n", err.c_str());
  std::vector<std::vector<std::string>> rows = {{"NAME", "STATE", "ADMIN", "PRIORITY", "RPM", "TPM", "CONCURRENCY",
                                                 "MODELS", "CREATED", "EXPIRES", "LAST_USED", "REQUESTS_24H",
                                                 "TOKENS_24H", "NOTE"}};
  for (const Key& k : keys) {
    auto it = activity.find(k.name);
    KeyActivity act = it == activity.end() ? KeyActivity{} : it->second;
    rows.push_back({k.name, std::string(shown_state(k, now_ms)), k.admin ? "yes" : "no",
                    std::string(priority_name(k.priority)), limit_text(k.limits.rpm), limit_text(k.limits.tpm),
                    limit_text(k.limits.concurrency), models_text(k), when(k.created_ms), when(k.expires_ms),
                    when(k.last_used_ms), have ? std::to_string(act.requests) : "-",
                    have ? std::to_string(act.tokens) : "-", k.note});
  }
  print_table(rows);
  return kOk;
}

int finish(StoreStatus st, const std::string& name, const std::string& err) {
  if (st == StoreStatus::not_found) std::fprintf(stderr, "corral keys: no key named '%s'\n", name.c_str());
  else if (st == StoreStatus::exists) std::fprintf(stderr, "corral keys: key '%s' already exists\n", name.c_str());
  else std::fprintf(stderr, "corral keys: %s\n", err.c_str());
  return kFailed;
}

int run(KeyStore& store, const std::string& analytics_db, const Args& a) {
  int64_t now_ms = core::wall_us() / 1000;
  if (a.command == "list") return list(store, analytics_db, a, now_ms);
  Key k;
  std::string token, err;
  StoreStatus st;
  if (a.command == "create") st = create_key(store, a.name, a.spec, now_ms, k, token, err);
  else if (a.command == "rotate") st = rotate_key(store, a.name, k, token, err);
  else if (a.command == "revoke") st = revoke_key(store, a.name, k, err);
  else st = change_key(store, a.name, a.spec, now_ms, k, err);
  if (st != StoreStatus::ok) return finish(st, a.name, err);
  if (a.command == "create") std::printf("key %s created: %s\n", k.name.c_str(), summary(k).c_str());
  else if (a.command == "rotate") std::printf("key %s rotated: the old token no longer works\n", k.name.c_str());
  else if (a.command == "revoke") std::printf("key %s revoked\n", k.name.c_str());
  else std::printf("key %s updated: %s\n", k.name.c_str(), summary(k).c_str());
  if (!token.empty()) std::printf("the token is shown this once (corral keeps only its SHA-256):\n%s\n", token.c_str());
  return kOk;
}

bool is_command(std::string_view c) {
  return c == "create" || c == "list" || c == "set" || c == "revoke" || c == "rotate";
}

}  // namespace

int keys_main(int argc, char** argv, char** envp) {
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? kBadInput : kOk;
  }
  Args a;
  a.command = argv[1];
  if (!is_command(a.command)) {
    std::fprintf(stderr, "corral keys: unknown command '%s'\n%s", a.command.c_str(), kUsage);
    return kBadInput;
  }
  if (int rc = parse_flags(argc, argv, a); rc != kOk) return rc;
  if (a.command == "set" && a.spec.empty()) return bad_input("set: nothing to change (give --rpm, --models, …)");
  config::Config cfg;
  std::string err;
  if (!config::load(a.flags, envp, cfg, err)) return bad_input("config error: " + err);
  auto store = open_sqlite_store(keys_db_path(cfg), err, 5000);
  if (!store) {
    std::fprintf(stderr, "corral keys: %s\n", err.c_str());
    return kFailed;
  }
  return run(*store, cfg.analytics.backend == "sqlite" ? cfg.analytics.path : "", a);
}

}  // namespace corral::auth
