#include <gtest/gtest.h>

#include "corral/api/merge.h"

using namespace corral;

TEST(Merge, DeduplicatesAndReportsFailures) {
  std::vector<api::LegAnswer> legs(3);
  legs[0] = {200, R"({"models":[{"name":"a","size":1},{"name":"b","size":2}]})", ""};
  legs[1] = {200, R"({"models":[{"name":"b","size":9},{"name":"c","size":3}]})", ""};
  legs[2] = {0, "", "connect: Connection refused"};
  api::Merged r = api::merge_lists(legs, "models", "name", "{\"models\":[");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"models":[{"name":"a","size":1},{"name":"b","size":2},{"name":"c","size":3}]})");
  std::vector<api::LegAnswer> down(1);
  down[0] = {0, "", "timed out"};
  EXPECT_EQ(api::merge_lists(down, "models", "name", "{\"models\":[").status, 502);
  std::vector<api::LegAnswer> del(2);
  del[0] = {404, R"({"error":"model 'x' not found"})", ""};
  del[1] = {200, "", ""};
  EXPECT_EQ(api::merge_outcomes(del).status, 200);
  del[1].status = 404;
  EXPECT_EQ(api::merge_outcomes(del).body, R"({"error":"model 'x' not found"})");
}
