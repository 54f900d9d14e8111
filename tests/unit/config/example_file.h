// packaging/corral.example.yaml, the file every config key is documented in: the
// config tests check that it loads and that it names the keys they cover.
#pragma once
#include <gtest/gtest.h>

#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>

inline std::string example_file_text() {
  std::ifstream in(std::string(SOURCE_ROOT) + "/packaging/corral.example.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A failure for each key `text` does not mention.
inline void expect_mentions(const std::string& text, std::initializer_list<const char*> keys) {
  for (const char* key : keys) EXPECT_NE(text.find(key), std::string::npos) << key;
}
