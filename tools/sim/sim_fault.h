// corral-sim: injected connection faults (X-Sim-Fault, X-Sim-Fault-At), so
// tests can see what a proxy does when a backend misbehaves at a given point of
// its answer: before any byte, partway through the response head, or after N
// token chunks of a stream.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace sim {

enum class Fault : uint8_t {
  none,
  close,       // FIN: the connection closes cleanly, the answer unfinished
  reset,       // RST (SO_LINGER 0): the connection is torn down
  half_close,  // shutdown(SHUT_WR): no more bytes, but the socket stays open and reads
  stall,       // nothing more is sent; the connection stays open
  garbage,     // bytes that are not HTTP (or not valid chunking), then silence
};

inline constexpr int kFaultMidHead = -1;  // X-Sim-Fault-At: mid-head

// "close" | "reset" | "half-close" | "stall" | "garbage"; false when unknown.
bool parse_fault(std::string_view v, Fault& out);
// "mid-head" -> kFaultMidHead, or a token-chunk count; false when malformed.
bool parse_fault_at(std::string_view v, int& out);

// The part of a response head sent before a mid-head fault: its first half, or
// for garbage its status line (the garbage then takes the place of the headers).
std::string head_before_fault(Fault f, const std::string& head);
// What a garbage fault sends: at 0 something that is not HTTP at all, mid-head a
// line that is no header, after K chunks a line that is no chunk size.
std::string_view garbage_at(int fault_at);
// Garbage past the end of a complete response on a kept-alive connection.
std::string_view garbage_after_response();

}  // namespace sim
