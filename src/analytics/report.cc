#include "corral/analytics/report.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <type_traits>
#include <variant>
#include <vector>

#include "corral/analytics/row.h"
#include "corral/api/errors.h"
#include "corral/api/json.h"
#include "corral/core/clock.h"
#include "corral/core/log.h"
#include "corral/core/net.h"
#include "corral/http/response.h"

namespace corral::analytics {
namespace {

constexpr size_t kChunkBytes = 64 * 1024;
constexpr int kSendTimeoutMs = 10000;

bool send_all(int fd, std::string_view data) { return core::send_all(fd, data, kSendTimeoutMs); }

// WHERE clause for the filters, with its arguments bound in order.
struct Where {
  std::string sql;
  std::vector<std::variant<int64_t, std::string>> args;

  explicit Where(const Filters& f) {
    sql = " WHERE time_ms >= ? AND time_ms < ?";
    args = {f.start_ms, f.end_ms};
    auto text = [&](const char* col, const std::string& v) {
      if (v.empty()) return;
      sql.append(" AND ").append(col).append(" = ?");
      args.emplace_back(v);
    };
    text("model", f.model);
    text("user", f.user);
    text("backend", f.backend);
    text("endpoint", f.endpoint);
    if (!f.prompt_search.empty()) {
      std::string like = "%";
      for (char c : f.prompt_search) {
        if (c == '%' || c == '_' || c == '\\') like += '\\';
        like += c;
      }
      sql += " AND prompt_preview LIKE ? ESCAPE '\\'";
      args.emplace_back(like + "%");
    }
    if (f.status) {
      sql += " AND status = ?";
      args.emplace_back(int64_t(f.status));
    }
    if (f.status_class) {
      sql += " AND status >= ? AND status < ?";
      args.emplace_back(int64_t(f.status_class) * 100);
      args.emplace_back(int64_t(f.status_class) * 100 + 100);
    }
    if (f.errors_only) sql += " AND status >= 400";
  }
  int bind(Stmt& s, int first = 1) const {
    int i = first;
    for (const auto& a : args) {
      if (const int64_t* n = std::get_if<int64_t>(&a)) s.bind(i++, *n);
      else s.bind(i++, std::get<std::string>(a));
    }
    return i;
  }
};

std::string select_columns() {
  std::string s;
  for (const Column& c : kColumns) s.append(s.empty() ? "" : ",").append(c.name);
  return s;
}

void read_row(const Stmt& s, Row& r) {
  for (size_t c = 0; c < kColumnCount; ++c) {
    Value& v = r[c];
    v.clear();
    int i = static_cast<int>(c);
    if (s.null_at(i)) continue;
    if (kColumns[c].type == Type::text) v.set(s.text_at(i));
    else if (kColumns[c].type == Type::real) v.set_real(s.real_at(i));
    else v.set(s.int_at(i));
  }
}

void number(std::string& out, const Stmt& s, int i, bool real) {
  char buf[32];
  if (s.null_at(i)) out += "null";
  else if (real) std::snprintf(buf, sizeof buf, "%.3f", s.real_at(i)), out += buf;
  else out += std::to_string(s.int_at(i));
}

// {"requests":…,"errors":…,…} from a row of COUNT, SUM(errors), AVG(duration), AVG(ttft), tokens…
constexpr const char* kAggregates =
    "COUNT(*), COALESCE(SUM(status >= 400), 0), AVG(duration_ms), AVG(ttft_ms), COALESCE(SUM(prompt_tokens), 0), "
    "COALESCE(SUM(completion_tokens), 0), AVG(tokens_per_second)";
void aggregates(std::string& out, const Stmt& s, int first) {
  static constexpr const char* names[] = {"requests",         "errors",        "avg_duration_ms",
                                          "avg_ttft_ms",      "prompt_tokens", "completion_tokens",
                                          "tokens_per_second"};
  for (int k = 0; k < 7; ++k) {
    out.append(k ? ",\"" : "\"").append(names[k]).append("\":");
    number(out, s, first + k, k == 2 || k == 3 || k == 6);
  }
}

class Builder {
 public:
  Builder(Db& db, const Query& q, std::string& out, std::string& err) : db_(db), w_(q.f), out_(out), err_(err) {}

  // Runs sql (with the filters' WHERE inserted at {W}) and calls row(stmt) per result row.
  // `before` and `after` are arguments bound ahead of and after the filters'.
  template <typename F>
  bool each(std::string sql, F&& row, std::vector<int64_t> after = {}, std::vector<int64_t> before = {}) {
    size_t at = sql.find("{W}");
    sql.replace(at, 3, w_.sql);
    Stmt s(db_.get(), sql, err_);
    if (!s) return false;
    int i = 1;
    for (int64_t v : before) s.bind(i++, v);
    i = w_.bind(s, i);
    for (int64_t v : after) s.bind(i++, v);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      if constexpr (std::is_same_v<decltype(row(s)), bool>) {
        if (!row(s)) return true;  // the caller has what it wants (or nowhere to put it)
      } else {
        row(s);
      }
    }
    if (rc != SQLITE_DONE) err_ = "sqlite: " + db_.error();
    return rc == SQLITE_DONE;
  }

  bool group(const char* key, const char* column, bool numeric_key) {
    out_.append(",\"by_").append(key).append("\":[");
    bool first = true;
    bool ok = each(
        std::string("SELECT ") + column + ", " + kAggregates + " FROM requests{W} GROUP BY 1 ORDER BY 2 DESC LIMIT 100",
        [&](const Stmt& s) {
          out_.append(first ? "{\"" : ",{\"").append(key).append("\":");
          first = false;
          if (s.null_at(0)) out_ += "null";
          else if (numeric_key) out_ += std::to_string(s.int_at(0));
          else {
            out_ += '"';
            api::json_escape(out_, s.text_at(0));
            out_ += '"';
          }
          out_ += ',';
          aggregates(out_, s, 1);
          out_ += '}';
        });
    out_ += ']';
    return ok;
  }

  // p50/p95/p99 by walking the sorted column once.
  bool percentiles(const char* name, const char* column, int64_t count) {
    out_.append(",\"").append(name).append("\":{");
    const double ps[] = {50, 95, 99};
    int64_t want[3];
    for (int k = 0; k < 3; ++k)
      want[k] = count > 0 ? std::max<int64_t>(0, int64_t(std::ceil(ps[k] / 100 * count)) - 1) : -1;
    double got[3] = {};
    int64_t idx = 0;
    bool ok = each(std::string("SELECT ") + column + " FROM requests{W} AND " + column + " IS NOT NULL ORDER BY 1",
                   [&](const Stmt& s) {
                     for (int k = 0; k < 3; ++k) {
                       if (want[k] == idx) got[k] = s.real_at(0);
                     }
                     ++idx;
                   });
    for (int k = 0; k < 3; ++k) {
      char buf[48];
      if (count > 0) std::snprintf(buf, sizeof buf, "%s\"p%g\":%.3f", k ? "," : "", ps[k], got[k]);
      else std::snprintf(buf, sizeof buf, "%s\"p%g\":null", k ? "," : "", ps[k]);
      out_ += buf;
    }
    out_ += '}';
    return ok;
  }

  bool series(int64_t bucket_ms) {
    out_.append(",\"bucket_seconds\":").append(std::to_string(bucket_ms / 1000)).append(",\"series\":[");
    bool first = true;
    bool ok =
        each("SELECT (time_ms / ?) * ?, " + std::string(kAggregates) + " FROM requests{W} GROUP BY 1 ORDER BY 1",
             [&](const Stmt& s) {
               out_.append(first ? "{\"time\":\"" : ",{\"time\":\"").append(core::iso_time(s.int_at(0))).append("\",");
               first = false;
               aggregates(out_, s, 1);
               out_ += '}';
             },
             {}, {bucket_ms, bucket_ms});
    out_ += ']';
    return ok;
  }

  Db& db_;
  Where w_;
  std::string& out_;
  std::string& err_;
};

// Bucket by range: minutes up to 3 hours, hours up to 3 days, else days.
int64_t bucket_for(int64_t range_ms) {
  if (range_ms <= 3 * 3600000ll) return 60000;
  if (range_ms <= 3 * 86400000ll) return 3600000;
  return 86400000;
}

}  // namespace

bool Reports::ready(std::string& err) {
  if (!open_) open_ = db_.open(path_, true, err);
  return open_;
}

bool Reports::stats_json(const Query& q, std::string& out, std::string& err) {
  if (!ready(err)) return false;
  Builder b(db_, q, out, err);
  out.append("{\"start_time\":\"")
      .append(core::iso_time(q.f.start_ms))
      .append("\",\"end_time\":\"")
      .append(core::iso_time(q.f.end_ms));
  out.append("\",\"totals\":{");
  int64_t count = 0, ttft_count = 0;
  bool ok = b.each(std::string("SELECT ") + kAggregates +
                       ", COUNT(ttft_ms), COALESCE(SUM(bytes_in), 0), COALESCE(SUM(bytes_out), 0) FROM requests{W}",
                   [&](const Stmt& s) {
                     count = s.int_at(0);
                     ttft_count = s.int_at(7);
                     aggregates(out, s, 0);
                     out.append(",\"bytes_in\":").append(std::to_string(s.int_at(8)));
                     out.append(",\"bytes_out\":").append(std::to_string(s.int_at(9)));
                   });
  out += '}';
  ok = ok && b.percentiles("duration_ms", "duration_ms", count) && b.percentiles("ttft_ms", "ttft_ms", ttft_count);
  ok = ok && b.group("model", "model", false) && b.group("backend", "backend", false) &&
       b.group("category", "category", false) && b.group("status", "status", true) &&
       b.group("endpoint", "endpoint", false);
  ok = ok && b.series(bucket_for(q.f.end_ms - q.f.start_ms));
  out += '}';
  return ok;
}

bool Reports::search_json(const Query& q, std::string& out, std::string& err) {
  if (!ready(err)) return false;
  Builder b(db_, q, out, err);
  int64_t total = 0;
  if (!b.each("SELECT COUNT(*) FROM requests{W}", [&](const Stmt& s) { total = s.int_at(0); })) return false;
  out.append("{\"total\":").append(std::to_string(total)).append(",\"limit\":").append(std::to_string(q.limit));
  out.append(",\"offset\":").append(std::to_string(q.offset)).append(",\"results\":[");
  Row row;
  bool first = true;
  bool ok = b.each("SELECT " + select_columns() + " FROM requests{W} ORDER BY time_ms DESC, id DESC LIMIT ? OFFSET ?",
                   [&](const Stmt& s) {
                     if (!first) out += ',';
                     first = false;
                     read_row(s, row);
                     append_json(out, row);
                   },
                   {int64_t(q.limit), int64_t(q.offset)});
  out += "]}";
  return ok;
}

void Reports::export_rows(int fd, const Query& q, std::string_view request_id) {
  std::string err;
  if (!ready(err)) {
    std::string resp;
    http::write_response(resp, http::json_response(500, api::ollama_error("analytics store: " + err)), request_id,
                         true);
    send_all(fd, resp);
    return;
  }
  time_t now = time(nullptr);
  tm t{};
  gmtime_r(&now, &t);
  char name[64];
  std::strftime(name, sizeof name, "corral-analytics-%Y%m%d-%H%M%S", &t);
  std::string head = "HTTP/1.1 200 OK\r\nContent-Type: ";
  head += q.csv ? "text/csv; charset=utf-8" : "application/json; charset=utf-8";
  head.append("\r\nContent-Disposition: attachment; filename=\"").append(name).append(q.csv ? ".csv\"" : ".json\"");
  head.append("\r\nTransfer-Encoding: chunked\r\nX-Request-Id: ")
      .append(request_id)
      .append("\r\nConnection: close\r\n\r\n");
  if (!send_all(fd, head) || q.head_only) return;
  std::string buf;
  bool alive = true;
  auto flush = [&](bool last) {
    if (!buf.empty() && alive) {
      char size[24];
      std::snprintf(size, sizeof size, "%zx\r\n", buf.size());
      alive = send_all(fd, size) && send_all(fd, buf) && send_all(fd, "\r\n");
    }
    buf.clear();
    if (last && alive) send_all(fd, "0\r\n\r\n");
  };
  if (q.csv) append_csv_header(buf);
  else buf += '[';
  Row row;
  bool first = true;
  std::string ignored_out;
  Builder b(db_, q, ignored_out, err);
  bool ok = b.each("SELECT " + select_columns() + " FROM requests{W} ORDER BY time_ms DESC, id DESC LIMIT ? OFFSET ?",
                   [&](const Stmt& s) {
                     read_row(s, row);
                     if (q.csv) {
                       append_csv(buf, row);
                     } else {
                       buf += first ? "\n" : ",\n";
                       append_json(buf, row);
                     }
                     first = false;
                     if (buf.size() >= kChunkBytes) flush(false);
                     return alive;  // a client gone stops the query
                   },
                   {int64_t(q.limit == ~0u ? -1 : int64_t(q.limit)), int64_t(q.offset)});
  if (!ok) {  // the status line is gone already: end the body short so the client sees it was cut
    log::write(log::Level::error, "analytics_export_failed", "error=" + log::quote(err));
    return;
  }
  if (!q.csv) buf += "\n]\n";
  flush(true);
}

void Reports::answer(int fd, const Query& q, std::string_view request_id) {
  if (q.kind == QueryKind::export_) {
    export_rows(fd, q, request_id);
    return;
  }
  http::LocalResponse r;
  std::string err;
  bool ok = q.kind == QueryKind::stats ? stats_json(q, r.body, err) : search_json(q, r.body, err);
  if (!ok) r = http::json_response(500, api::ollama_error("analytics store: " + err));
  std::string resp;
  http::write_response(resp, r, request_id, true, q.head_only);
  send_all(fd, resp);
}

}  // namespace corral::analytics
