// A child's output as lines, and as log lines; exit statuses as text.
#include <signal.h>
#include <string.h>

#include "corral/core/log.h"
#include "corral/fleet/child.h"

namespace corral::fleet {

std::string_view stream_name(Stream s) { return s == Stream::out ? "stdout" : "stderr"; }

std::string ExitStatus::describe() const {
  if (signal == 0) return "code=" + std::to_string(code);
  const char* abbrev = sigabbrev_np(signal);
  return "signal=" + (abbrev ? "SIG" + std::string(abbrev) : std::to_string(signal));
}

void LineSplitter::feed(std::string_view bytes, const Emit& emit) {
  while (!bytes.empty()) {
    size_t nl = bytes.find('\n');
    std::string_view piece = bytes.substr(0, nl);
    size_t room = max_line_ - partial_.size();
    if (piece.size() > room) {
      partial_.append(piece.substr(0, room));
      emit(partial_);
      partial_.clear();
      bytes.remove_prefix(room);
      continue;
    }
    partial_.append(piece);
    if (nl == std::string_view::npos) return;
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    emit(partial_);
    partial_.clear();
    bytes.remove_prefix(nl + 1);
  }
}

void LineSplitter::flush(const Emit& emit) {
  if (partial_.empty()) return;
  emit(partial_);
  partial_.clear();
}

Child::OnLine log_lines(std::string backend, std::string_view event) {
  return [backend = log::quote(backend), event = std::string(event)](Stream s, std::string_view line) {
    if (line.empty()) return;
    std::string clean(line);
    for (char& c : clean) {
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') c = ' ';  // escapes and CRs stay off the log
    }
    log::write(log::Level::info, event,
               "backend=" + backend + " stream=" + std::string(stream_name(s)) + " line=" + log::quote(clean));
  };
}

}  // namespace corral::fleet
