#include "corral/api/framer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "corral/api/json.h"

using namespace corral::api;

namespace {

std::vector<std::string> all_lines(LineFramer& f) {
  std::vector<std::string> out;
  std::string_view line;
  while (f.next(line)) out.emplace_back(line);
  return out;
}

}  // namespace

TEST(LineFramer, LinesComeOutWhateverTheSplit) {
  const std::string body = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}";
  for (size_t split = 0; split <= body.size(); ++split) {
    LineFramer f;
    f.push(std::string_view(body).substr(0, split));
    std::vector<std::string> got = all_lines(f);
    f.push(std::string_view(body).substr(split));
    for (auto& l : all_lines(f)) got.push_back(l);
    std::string_view rest;
    ASSERT_TRUE(f.take_rest(rest)) << split;
    got.emplace_back(rest);
    EXPECT_EQ(got, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "", "{\"c\":3}"})) << "split at " << split;
    EXPECT_FALSE(f.take_rest(rest));
  }
}

TEST(LineFramer, LongLineOverflowsInsteadOfGrowing) {
  LineFramer f(16);
  f.push("short\n");
  std::string_view line;
  ASSERT_TRUE(f.next(line));
  EXPECT_EQ(line, "short");
  f.push(std::string(17, 'x'));
  EXPECT_FALSE(f.next(line));
  EXPECT_TRUE(f.overflowed());
  f.push("\n");
  EXPECT_FALSE(f.next(line));  // stays failed
}

TEST(SseFramer, EventsFollowTheSpec) {
  const std::string body =
      ": keep-alive comment\n"
      "event: message_start\n"
      "data: {\"a\":1}\n\n"
      "data: line one\r\n"
      "data:line two\r\n"
      "id: 7\r\n\r\n"
      "event: ping\n\n"  // no data: not dispatched
      "data: [DONE]\n\n";
  for (size_t split = 0; split <= body.size(); ++split) {
    SseFramer f;
    std::vector<std::pair<std::string, std::string>> got;
    SseEvent ev;
    f.push(std::string_view(body).substr(0, split));
    while (f.next(ev)) got.emplace_back(ev.event, ev.data);
    f.push(std::string_view(body).substr(split));
    while (f.next(ev)) got.emplace_back(ev.event, ev.data);
    ASSERT_EQ(got.size(), 3u) << split;
    EXPECT_EQ(got[0], (std::pair<std::string, std::string>{"message_start", "{\"a\":1}"}));
    EXPECT_EQ(got[1], (std::pair<std::string, std::string>{"", "line one\nline two"}));
    EXPECT_EQ(got[2], (std::pair<std::string, std::string>{"", "[DONE]"}));
  }
}

TEST(SseFramer, UnterminatedLastEventIsTakenAtTheEnd) {
  SseFramer f;
  f.push("data: {\"x\":1}\n\ndata: {\"y\":2}");
  SseEvent ev;
  ASSERT_TRUE(f.next(ev));
  EXPECT_EQ(ev.data, "{\"x\":1}");
  EXPECT_FALSE(f.next(ev));
  ASSERT_TRUE(f.take_rest(ev));
  EXPECT_EQ(ev.data, "{\"y\":2}");
  EXPECT_FALSE(f.take_rest(ev));
}

TEST(SseFramer, OversizedEventOverflows) {
  SseFramer f(32);
  f.push("data: " + std::string(20, 'a') + "\ndata: " + std::string(20, 'b') + "\n");
  SseEvent ev;
  EXPECT_FALSE(f.next(ev));
  EXPECT_TRUE(f.overflowed());
}

TEST(JsonWriter, EscapesAndCommas) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("s").string("q\"b\\n\n\t\x01 é").key("a").begin_array().number(-3).boolean(true).null();
  w.begin_object().end_object().end_array().key("r").raw("1.5").end_object();
  EXPECT_EQ(out, R"({"s":"q\"b\\n\n\t\u0001 é","a":[-3,true,null,{}],"r":1.5})");
}
