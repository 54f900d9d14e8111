// `corral keys` as a process: the token alone on the last line and never shown
// again, every command's exit code and message, --data-dir / --config / env
// precedence, the file's mode, a corrupt store, and `keys list` reading the
// analytics store of a corral that is running and serving.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "harness.h"

using namespace harness;

namespace {

class Keys : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/corral-keys-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // corral keys ARGS… with only env in its environment.
  Ran keys(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), {bin("CORRAL_BIN"), "keys"});
    return run_command(args, dir_ + "/", &env);
  }
  Ran in_dir(std::vector<std::string> args) {
    args.insert(args.end(), {"--data-dir", dir_});
    return keys(args);
  }

  std::string dir_;
};

}  // namespace

TEST_F(Keys, CreatePrintsTheTokenOnceOnTheLastLine) {
  Ran r = in_dir(
      {"create", "alice", "--rpm", "10", "--models", "llama3.2,qwen*", "--priority", "high", "--note", "team a"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string token = r.last_line();
  EXPECT_EQ(token.size(), 47u);
  EXPECT_EQ(token.rfind("crl_", 0), 0u);
  EXPECT_EQ(r.out.find(token), r.out.rfind(token)) << "printed once";
  EXPECT_NE(r.out.find("rpm 10"), std::string::npos) << r.out;

  Ran list = in_dir({"list"});
  ASSERT_EQ(list.status, 0) << list.err;
  EXPECT_TRUE(list.out.starts_with("NAME")) << list.out;
  EXPECT_NE(list.out.find("alice  active"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find(token), std::string::npos) << "never shown again";
  Ran json = in_dir({"list", "--json"});
  ASSERT_EQ(json.status, 0) << json.err;
  EXPECT_TRUE(json.out.starts_with(R"({"keys":[{"name":"alice","state":"active","admin":false,"models":)"
                                   R"(["llama3.2","qwen*"],"rpm":10,"tpm":0,"concurrency":0,"priority":"high")"))
      << json.out;
  EXPECT_EQ(json.out.find(token), std::string::npos);

  struct stat st;
  ASSERT_EQ(stat((dir_ + "/keys.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(slurp(dir_ + "/keys.db").find(token), std::string::npos) << "only the digest is stored";
}

TEST_F(Keys, SetRevokeRotate) {
  std::string first = in_dir({"create", "alice"}).last_line();
  Ran set = in_dir({"set", "alice", "--rpm", "5", "--tpm=1000", "--concurrency", "2", "--admin", "--expires", "12h"});
  ASSERT_EQ(set.status, 0) << set.err;
  EXPECT_NE(set.out.find("admin yes"), std::string::npos) << set.out;
  EXPECT_NE(set.out.find("rpm 5, tpm 1000, concurrency 2"), std::string::npos) << set.out;
  EXPECT_EQ(set.out.find("crl_"), std::string::npos) << "set shows no token";

  Ran rotated = in_dir({"rotate", "alice"});
  ASSERT_EQ(rotated.status, 0) << rotated.err;
  std::string second = rotated.last_line();
  EXPECT_EQ(second.size(), 47u);
  EXPECT_NE(second, first);

  Ran revoked = in_dir({"revoke", "alice"});
  ASSERT_EQ(revoked.status, 0) << revoked.err;
  EXPECT_NE(in_dir({"list", "--json"}).out.find(R"("state":"revoked")"), std::string::npos);
  EXPECT_NE(in_dir({"list"}).out.find("alice  revoked"), std::string::npos);
}

TEST_F(Keys, BadInputExitsTwoNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {{"create", "alice", "--rpm", "ten"}, "--rpm: expected a whole number, got 'ten'"},
           {{"create", "alice", "--rpm", "100001"}, "--rpm: expected a whole number from 0 (no limit) to 100000"},
           {{"create", "alice", "--priority", "urgent"}, "--priority: expected high, normal or low"},
           {{"create", "alice", "--expires", "soon"}, "--expires: expected a duration like 30d"},
           {{"create", "alice", "--models", "a b"}, "--models: 'a b' is not a model name"},
           {{"create", "alice", "--colour", "red"}, "unknown flag '--colour'"},
           {{"create", "alice", "--no-admin"}, "unknown flag '--no-admin'"},
           {{"create", "alice", "--rpm"}, "--rpm needs a value"},
           {{"create", "bad name!"}, "key name 'bad name!'"},
           {{"create"}, "create: needs the key's NAME"},
           {{"list", "--rpm", "5"}, "unknown flag '--rpm'"},
           {{"set", "alice"}, "set: nothing to change"},
           {{"launch"}, "unknown command 'launch'"},
       }) {
    Ran r = in_dir(c.args);
    EXPECT_EQ(r.status, 2) << c.args[0] << " " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/keys.db")) << "nothing opened for bad input";
}

TEST_F(Keys, UnknownKeyOrTakenNameExitsOne) {
  ASSERT_EQ(in_dir({"create", "alice"}).status, 0);
  Ran taken = in_dir({"create", "alice"});
  EXPECT_EQ(taken.status, 1);
  EXPECT_NE(taken.err.find("key 'alice' already exists"), std::string::npos) << taken.err;
  for (const char* cmd : {"revoke", "rotate"}) {
    Ran r = in_dir({cmd, "bob"});
    EXPECT_EQ(r.status, 1) << cmd;
    EXPECT_NE(r.err.find("no key named 'bob'"), std::string::npos) << r.err;
  }
  Ran set = in_dir({"set", "bob", "--rpm", "1"});
  EXPECT_EQ(set.status, 1);
  EXPECT_NE(set.err.find("no key named 'bob'"), std::string::npos) << set.err;
}

TEST_F(Keys, DataDirFromConfigEnvAndFlagLikeTheServer) {
  std::string from_file = dir_ + "/file", from_env = dir_ + "/env", from_flag = dir_ + "/flag";
  std::string cfg = dir_ + "/corral.yaml";
  std::ofstream(cfg) << "data_dir: " << from_file << "\n";
  ASSERT_EQ(keys({"create", "a", "--config", cfg}).status, 0);
  EXPECT_TRUE(std::filesystem::exists(from_file + "/keys.db"));
  ASSERT_EQ(keys({"create", "b", "--config", cfg}, {"CORRAL_DATA_DIR=" + from_env}).status, 0);
  EXPECT_TRUE(std::filesystem::exists(from_env + "/keys.db")) << "env beats the file";
  ASSERT_EQ(keys({"create", "c", "--config", cfg, "--data-dir", from_flag}, {"CORRAL_DATA_DIR=" + from_env}).status, 0);
  EXPECT_TRUE(std::filesystem::exists(from_flag + "/keys.db")) << "the flag beats env";
  std::ofstream(cfg) << "data_dri: x\n";
  Ran bad = keys({"list", "--config", cfg});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("data_dri: unknown key"), std::string::npos) << bad.err;
}

TEST_F(Keys, CorruptStoreIsAnErrorNamingTheFile) {
  std::ofstream(dir_ + "/keys.db") << std::string(8192, 'x');
  Ran r = in_dir({"list"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("key store '" + dir_ + "/keys.db': file is not a database"), std::string::npos) << r.err;
}

TEST_F(Keys, ListReadsTheAnalyticsOfARunningCorral) {
  Sim sim;
  Corral corral({sim.url()}, "epoll", "", {"--data-dir", dir_});
  for (int i = 0; i < 3; ++i) {
    Response resp =
        request(corral.port, "POST", "/api/generate", R"({"model":"llama3.2","prompt":"hi","stream":false})");
    ASSERT_EQ(resp.status, 200) << resp.body;
  }
  long stored = -1;  // the ingest thread stores in batches: wait (bounded) until the three are in the file
  for (int i = 0; i < 100 && stored != 3; ++i, std::this_thread::sleep_for(std::chrono::milliseconds(50))) {
    stored = json_int(request(corral.port, "GET", "/analytics/search?limit=1").body, "total");
  }
  ASSERT_EQ(stored, 3);
  ASSERT_EQ(in_dir({"create", "alice"}).status, 0) << "keys.db beside the live analytics store";
  Ran list = in_dir({"list", "--json"});
  ASSERT_EQ(list.status, 0) << list.err;
  EXPECT_TRUE(list.err.empty()) << list.err;
  EXPECT_NE(list.out.find(R"("requests_24h":0,"tokens_24h":0)"), std::string::npos)
      << "read from the running store (requests carry no key until auth is on): " << list.out;
}
