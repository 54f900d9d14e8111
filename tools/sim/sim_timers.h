// corral-sim: per-thread timer min-heap (token delays, TTFT, delayed replies).
// Entries are (deadline, connection id, sequence); a connection cancels or
// re-arms by bumping its sequence, so stale entries are skipped when they fire.
#pragma once
#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

namespace sim {

int64_t now_ns();  // CLOCK_MONOTONIC

class Timers {
 public:
  void push(int64_t at_ns, uint64_t id, uint64_t seq) { heap_.push({at_ns, id, seq}); }
  // Milliseconds until the earliest deadline, rounded up; -1 when none.
  int timeout_ms(int64_t now) const;
  // Fires every entry due at `now` (not ones pushed while firing).
  void run_due(int64_t now, const std::function<void(uint64_t id, uint64_t seq)>& fire);
  size_t size() const { return heap_.size(); }

 private:
  struct Entry {
    int64_t at;
    uint64_t id, seq;
    bool operator>(const Entry& o) const { return at > o.at; }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
};

}  // namespace sim
