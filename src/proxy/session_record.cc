// What a finished request tells the metrics shard, the analytics ring and the
// access log.
#include <algorithm>

#include "corral/analytics/service.h"
#include "corral/core/clock.h"
#include "corral/core/log.h"
#include "corral/proxy/session.h"

namespace corral::proxy {

void Session::count_started() {
  ex_->counted = true;
  metrics::bump(ctx_.metrics->requests_started);
}

void Session::count_finished() {
  Exchange& x = *ex_;
  if (!x.counted) return;
  x.counted = false;
  api::StreamStats st;
  if (AnswerTransform* transform = x.transform()) {
    st = api::stats_of(transform->usage());
  } else if ((metrics::kEnabled || ctx_.records || x.admission) && x.backend != metrics::kBackendNone &&
             x.status == 200) {
    st = api::extract_final_stats(x.sample.sample.tail());
  }
  record_metrics(st);
  if (ctx_.records && !api::is_local(x.endpoint)) record_analytics(st);
  if (x.admission) {  // tpm counts what the request cost; its concurrency slot comes back
    int64_t tokens = std::max<int64_t>(st.prompt_tokens, 0) + std::max<int64_t>(st.completion_tokens, 0);
    x.admission.finish(static_cast<uint64_t>(tokens), core::mono_us());
  }
  metrics::bump(ctx_.metrics->requests_finished);
}

void Session::record_metrics(const api::StreamStats& st) {
  if constexpr (!metrics::kEnabled) return;
  const Exchange& x = *ex_;
  metrics::RequestRecord r;
  int64_t now = core::mono_us();
  r.endpoint = x.endpoint;
  r.model = x.facts.model;
  if (!x.facts.model.empty()) {  // label values come from discovery: a name no backend lists is "other"
    const route::RoutingSnapshot& s = ctx_.snapshot();
    r.model_unknown = !s.route(x.facts.model) && s.unknown_lists.empty();
  }
  r.backend = x.backend;
  r.status = x.status;
  r.category = x.facts.category;
  r.complexity_score = x.facts.complexity_score;
  r.complexity = x.facts.complexity;
  if (x.key) r.key = x.key->key.name;
  r.duration_s = double(now - x.start_us) / 1e6;
  if (api::info(x.endpoint).generation && x.first_byte_us > 0) r.ttft_s = double(x.first_byte_us - x.start_us) / 1e6;
  if (x.backend != metrics::kBackendNone && x.client.connect_us() >= 0)
    r.connect_s = double(x.client.connect_us()) / 1e6;
  if (st.found) {
    r.prompt_tokens = st.prompt_tokens;
    r.completion_tokens = st.completion_tokens;
    r.eval_duration_ns = st.eval_duration_ns;
    r.load_duration_ns = st.load_duration_ns;
  }
  ctx_.metrics->record(r);
}

// Fills this thread's scratch record and copies what it uses into the worker's
// ring; a full ring drops the record (counted), never waits.
void Session::record_analytics(const api::StreamStats& st) {
  const Exchange& x = *ex_;
  thread_local analytics::Record scratch;
  analytics::Record* rec = &scratch;
  rec->reset();
  int64_t now = core::mono_us();
  analytics::RecordNumbers& n = rec->n;
  n.time_us = core::wall_us() - (now - x.start_us);
  n.duration_us = now - x.start_us;
  if (api::info(x.endpoint).generation && x.first_byte_us > 0) n.ttft_us = x.first_byte_us - x.start_us;
  if (st.found) {
    n.prompt_tokens = st.prompt_tokens;
    n.completion_tokens = st.completion_tokens;
    n.eval_duration_ns = st.eval_duration_ns;
    n.load_duration_ns = st.load_duration_ns;
  }
  n.bytes_in = x.body.size();
  n.bytes_out = x.bytes_out;
  n.prompt_chars = x.facts.prompt_chars;
  n.status = static_cast<int16_t>(x.status);
  n.stream = x.facts.stream;
  n.complexity = static_cast<int8_t>(x.facts.complexity_score);
  n.endpoint = x.endpoint;
  n.category = x.facts.category;
  const http::Head& h = x.req.head();
  rec->set(analytics::kRequestId, x.request_id);
  rec->set(analytics::kClientIp, client_ip_);
  rec->set(analytics::kUserAgent, h.get("user-agent"));
  if (x.key) rec->set(analytics::kKeyName, x.key->key.name);
  rec->set(analytics::kMethod, h.method());
  rec->set(analytics::kPath, h.path());
  rec->set(analytics::kModel, x.facts.model);
  rec->set(analytics::kModelAlias, x.alias());
  if (x.backend != metrics::kBackendNone) rec->set(analytics::kBackend, ctx_.backend(x.backend).name);
  if (x.status == 499) rec->set(analytics::kError, "client closed the connection before the answer was complete");
  rec->set(analytics::kPromptPreview, x.facts.prompt_preview);
  bool local = state_ == State::local && x.local_body_at <= x.out_head.size();
  rec->set(analytics::kResponseHead,
           local ? std::string_view(x.out_head).substr(x.local_body_at) : x.sample.sample.head());
  if (!ctx_.records->push(*rec)) metrics::bump(ctx_.metrics->analytics_dropped);
}

void Session::log_access() {
  if (!ctx_.cfg->access_log || !log::enabled(log::Level::info)) return;
  const Exchange& x = *ex_;
  const http::Head& h = x.req.head();
  std::string f;
  f.reserve(200);
  f.append("method=").append(h.method()).append(" path=").append(log::quote(h.path()));
  f.append(" status=").append(std::to_string(x.status));
  f.append(" ms=").append(std::to_string((core::mono_us() - x.start_us) / 1000));
  if (!x.facts.model.empty()) f.append(" model=").append(log::quote(x.facts.model));
  f.append(" bytes_out=").append(std::to_string(x.bytes_out)).append(" client=").append(client_ip_);
  f.append(" request_id=").append(x.request_id);
  if (x.key) f.append(" key=").append(log::quote(x.key->key.name));
  if (x.backend != metrics::kBackendNone) f.append(" backend=").append(ctx_.backend(x.backend).url);
  log::write(log::Level::info, "access", f);
}

}  // namespace corral::proxy
