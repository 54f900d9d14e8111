#include "corral/proxy/exchange.h"

#include "corral/proxy/context.h"
#include "corral/proxy/fanout.h"

namespace corral::proxy {
namespace {
constexpr size_t kKeepBytes = 16384;   // buffers larger than this are given back after the request
constexpr size_t kFreeExchanges = 64;  // exchanges kept for reuse per worker
// Every open stream holds an exchange, and mimalloc's size classes step 1024, 1280, 1536
// bytes: a field that takes it past 1280 costs each stream 256 bytes. What few requests
// need belongs in Uncommon.
static_assert(sizeof(Exchange) <= 1280, "Exchange outgrew mimalloc's 1280-byte size class");
}  // namespace

Exchange::Exchange(const http::Limits& limits, upstream::Pool& pool, upstream::ClientUser& user)
    : req(http::MessageParser::Kind::request, limits), client(pool, user) {}

Exchange::~Exchange() = default;

void Uncommon::clear() {
  refusal = http::LocalResponse();
  plain_body.text.clear();
  error_body.text.clear();
  holding_for.clear();
  alias.clear();
  copy_source.clear();
  attempt_path.clear();
  attempt_body.clear();
  transform.reset();
}

void Exchange::begin(int64_t now_us, uint32_t response_sample_bytes) {
  req.reset();
  req.set_sink(nullptr);
  endpoint = api::kOther;
  head_only = false;
  keep_alive = true;
  counted = false;
  request_id.clear();
  facts.model.clear();
  facts.affinity = 0;
  facts.pull = false;
  facts.category = metrics::kCategoryNone;
  facts.complexity_score = -1;
  facts.complexity = api::kLow;
  facts.prompt_chars = 0;
  facts.stream = -1;
  facts.prompt_preview.clear();
  body.clear();
  up_request.clear();
  keys.reset();
  key = nullptr;
  admission = auth::Admission();
  denied = false;
  route.begin();
  fanout.reset();
  sample.sample.clear(response_sample_bytes);
  plan.reset();
  backend = metrics::kBackendNone;
  attempt_open = false;
  if (uncommon_) uncommon_->clear();
  status = 0;
  response_done = head_queued = false;
  relayed_line_end = true;
  out_head.clear();
  local_body_at = 0;
  start_us = now_us;
  first_byte_us = 0;
  bytes_out = 0;
}

void Exchange::trim() {
  out.trim();
  for (std::string* s : {&body, &up_request, &out_head}) {
    if (s->capacity() > kKeepBytes) std::string().swap(*s);
  }
  if (uncommon_) {
    for (std::string* s : {&uncommon_->plain_body.text, &uncommon_->error_body.text, &uncommon_->attempt_body}) {
      if (s->capacity() > kKeepBytes) std::string().swap(*s);
    }
  }
}

ExchangePool::ExchangePool() = default;

ExchangePool::~ExchangePool() {
  for (Exchange* e : free_) delete e;
}

Exchange* ExchangePool::take(WorkerContext& ctx, upstream::ClientUser& user) {
  if (free_.empty()) return new Exchange(ctx.limits, *ctx.pool, user);
  Exchange* e = free_.back();
  free_.pop_back();
  e->client.set_user(user);
  return e;
}

void Exchange::release() {
  client.abort();
  fanout.reset();
  if (uncommon_) uncommon_->transform.reset();
  admission = auth::Admission();  // the key's concurrency slot, if it still held one
  keys.reset();
}

void ExchangePool::give(Exchange* e) {
  e->release();
  if (free_.size() >= kFreeExchanges) {
    delete e;
    return;
  }
  e->trim();
  free_.push_back(e);
}

}  // namespace corral::proxy
