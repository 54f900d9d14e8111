// The plan stage of a session: what the body says (model, stream flag, prompt
// facts — the bytes stay as they are), an alias resolved to the real model,
// and, per attempt, how the chosen backend gets the request: as the client
// sent it, renamed (an alias), or translated into the backend's API.
#include "corral/api/alias.h"
#include "corral/api/provider.h"
#include "corral/api/sniff.h"
#include "corral/http/rewrite.h"
#include "corral/proxy/session.h"

namespace corral::proxy {
namespace {

// The translatable API a client called, if it called one.
bool call_of(api::Endpoint e, api::Call& out) {
  switch (e) {
    case api::kChat:
      out = api::Call::ollama_chat;
      return true;
    case api::kGenerate:
      out = api::Call::ollama_generate;
      return true;
    case api::kOaiChat:
      out = api::Call::openai_chat;
      return true;
    case api::kMessages:
      out = api::Call::anthropic_messages;
      return true;
    default:
      return false;
  }
}

}  // namespace

void Session::plan() {
  Exchange& x = *ex_;
  std::string_view path = x.req.head().path();
  if (x.endpoint == api::kOaiModels && path.starts_with("/v1/models/")) x.facts.model.assign(path.substr(11));
  std::string& body = x.sent_body();
  if (!body.empty()) {
    api::RequestInfo info = api::analyze_request(body, ctx_.prompt_preview_bytes);
    if (!info.json) return;
    RequestFacts& f = x.facts;
    if (info.has_stream) f.stream = info.stream;
    f.prompt_preview = std::move(info.prompt_preview);
    f.model = std::move(info.model);
    if (!info.source.empty()) x.uncommon().copy_source = std::move(info.source);
    f.affinity = info.prefix_hash;
    f.prompt_chars = static_cast<uint32_t>(info.prompt_chars);
    if (info.prompt_chars > 0) {
      f.category = info.category;
      f.complexity_score = info.complexity.score;
      f.complexity = info.complexity.cls;
    }
  }
  resolve_alias();
}

// models.aliases: routing, limits and the backend see the real name.
void Session::resolve_alias() {
  RequestFacts& f = ex_->facts;
  if (f.model.empty() || api::info(ex_->endpoint).pull_like) return;
  for (const auto& [alias, real] : ctx_.snapshot().models_cfg.aliases) {
    if (alias != f.model) continue;
    ex_->uncommon().alias = std::move(f.model);
    f.model = real;
    return;
  }
}

// How the backend in `slot` gets this request; false when it cannot (answered).
bool Session::prepare_attempt(uint8_t slot) {
  Exchange& x = *ex_;
  AttemptPlan& p = x.plan;
  p.reset();
  const route::MemberView* m = ctx_.snapshot().member(slot);
  p.backend = m ? route::dialect_of(m->cfg) : api::Dialect::ollama;
  const std::string& body = x.sent_body();
  if (call_of(x.endpoint, p.call) && api::translates(p.call, p.backend)) {
    api::RequestOptions opts;
    opts.upstream_model = x.facts.model;
    api::UpstreamRequest up;
    std::string err;
    if (!api::translate_request(p.call, p.backend, body, opts, up, err)) {
      refuse_attempt(400, err + " (model \"" + x.facts.model + "\" is served by " +
                              std::string(api::dialect_name(p.backend)) + " backend " + ctx_.backend(slot).name + ")");
      return false;
    }
    p.translate = p.rewritten = true;
    x.uncommon().attempt_path = std::move(up.path);
    x.uncommon().attempt_body = std::move(up.body);
    p.stream = up.stream;
    p.include_usage = up.include_usage;
    return true;
  }
  if (p.backend != api::Dialect::ollama && !call_of(x.endpoint, p.call) && x.endpoint != api::kOaiModels) {
    refuse_attempt(400, std::string(api::endpoint_name(x.endpoint)) + " is not available for model \"" + x.facts.model +
                            "\": backend " + ctx_.backend(slot).name + " is " +
                            std::string(api::dialect_name(p.backend)));
    return false;
  }
  if (!x.alias().empty() && !body.empty()) {
    Uncommon& u = x.uncommon();
    u.attempt_path.clear();  // the client's (an earlier attempt may have translated)
    p.rename = api::with_model(body, x.facts.model, u.attempt_body);
    p.rewritten = p.rename;
  }
  return true;
}

// A request this backend cannot take: the client gets the 400 and nothing is tried elsewhere.
void Session::refuse_attempt(int status, std::string why) {
  ex_->route.release(ctx_);
  respond_error(status, why);
}

// The request as the backend in `slot` gets it.
void Session::build_request(uint8_t slot, std::string& out) {
  Exchange& x = *ex_;
  const http::Head& h = x.req.head();
  const route::MemberView* m = ctx_.snapshot().member(slot);
  api::Dialect d = m ? route::dialect_of(m->cfg) : api::Dialect::ollama;
  http::ForwardInfo fi;
  fi.path_prefix_strip = api::strip_proxy_prefix(h.path()).size() != h.path().size() ? api::kProxyPrefix : "";
  fi.upstream_host = ctx_.backend(slot).host_header;
  fi.client_ip = client_ip_;
  fi.request_id = x.request_id;
  // corral's token is never forwarded, nor a client's credentials to a provider or another API
  fi.drop_credentials = ctx_.keys != nullptr || d != api::Dialect::ollama || x.plan.translate;
  if (x.plan.rewritten) {
    fi.path_override = x.uncommon().attempt_path;
    fi.body_length = static_cast<int64_t>(x.uncommon().attempt_body.size());
  }
  std::string provider;
  if (d != api::Dialect::ollama) {
    fi.identity_encoding = true;  // corral reads the answer (usage, translation)
    bool client_version = d == api::Dialect::anthropic && !x.plan.rewritten && h.has("anthropic-version");
    if (client_version) provider = "x-api-key: " + m->cfg.api_key + "\r\n";  // its body, its version
    else provider = api::provider_headers(d, m->cfg.api_key);
  }
  fi.extra_headers = provider;
  http::build_upstream_request(h, fi, out);
}

}  // namespace corral::proxy
