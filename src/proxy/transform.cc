#include "corral/proxy/transform.h"

#include <cstdio>

namespace corral::proxy {

void AnswerTransform::start(std::unique_ptr<api::ResponseTranslator> t, ClientOutput& out, api::BodySample& sample) {
  t_ = std::move(t);
  out_ = &out;
  sample_ = &sample;
  produced_ = false;
}

void AnswerTransform::on_body(const char* p, size_t n) {
  t_->feed(std::string_view(p, n), scratch_);
  emit();
}

void AnswerTransform::finish() {
  t_->finish(scratch_);
  emit();
  out_->push("0\r\n\r\n", 5);
}

void AnswerTransform::abort() {
  t_->finish(scratch_);
  emit();
}

// What the translator produced, as one HTTP chunk.
void AnswerTransform::emit() {
  if (scratch_.empty()) return;
  produced_ = true;
  sample_->add(scratch_.data(), scratch_.size());
  char len[20];
  int k = std::snprintf(len, sizeof len, "%zx\r\n", scratch_.size());
  std::string chunk;
  chunk.reserve(static_cast<size_t>(k) + scratch_.size() + 2);
  chunk.append(len, static_cast<size_t>(k)).append(scratch_).append("\r\n");
  scratch_.clear();
  out_->push_owned(std::move(chunk));
}

void AnswerTransform::reset() {
  t_.reset();
  out_ = nullptr;
  sample_ = nullptr;
  scratch_.clear();
  produced_ = false;
}

void ErrorBody::on_body(const char* p, size_t n) {
  if (text.size() + n <= kMax) text.append(p, n);
}

}  // namespace corral::proxy
