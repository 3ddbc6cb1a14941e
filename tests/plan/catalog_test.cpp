// Where the catalog finds a scenario: the build root first, then each scenario folder in order
// (--scenarios, FAULTLINE_SCENARIO_PATH), so a folder cannot shadow a built-in id; a binary
// missing from one flavour is looked for in the next root.
#include "harness/plan/catalog.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace faultline {
namespace {
namespace fs = std::filesystem;

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("faultline-catalog-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // An executable <dir>/<preset>/scenarios/<id> (never run: the catalog only looks).
  fs::path place(const fs::path& dir, const std::string& preset, const std::string& id) {
    fs::create_directories(dir / preset / "scenarios");
    const fs::path bin = dir / preset / "scenarios" / id;
    std::ofstream(bin) << "#!/bin/sh\n";
    fs::permissions(bin, fs::perms::owner_all);
    return bin;
  }
  fs::path root_;
};

TEST_F(CatalogTest, TheBuildRootComesFirstThenTheFoldersInOrder) {
  const fs::path build = root_ / "build", mine = root_ / "mine", theirs = root_ / "theirs";
  place(build, "release", "rpc-timeout-race");
  place(mine, "release", "rpc-timeout-race");  // may not shadow the built-in one
  place(mine, "release", "hit-counter");
  place(theirs, "release", "hit-counter");  // the earlier folder wins
  place(theirs, "tsan", "hit-counter");     // the only tsan build of it
  const Catalog catalog(build, {mine, theirs});
  EXPECT_EQ(catalog.binary("rpc-timeout-race", Sanitizer::kNone),
            build / "release" / "scenarios" / "rpc-timeout-race");
  EXPECT_EQ(catalog.binary("hit-counter", Sanitizer::kNone),
            mine / "release" / "scenarios" / "hit-counter");
  EXPECT_EQ(catalog.preset_dir("hit-counter", Sanitizer::kTsan), theirs / "tsan");
  EXPECT_EQ(catalog.ids(), (std::vector<std::string>{"hit-counter", "rpc-timeout-race"}));
  // A flavour no root has: the message names the scenario folder's install, not a preset.
  try {
    catalog.require_binary("hit-counter", Sanitizer::kAsan);
    FAIL() << "no asan build was found, yet require_binary passed";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("no asan build of hit-counter in its scenario folder"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(CatalogTest, TheEnvironmentNamesFoldersSeparatedByColons) {
  ::setenv("FAULTLINE_SCENARIO_PATH", "/a/b::/c:", 1);
  EXPECT_EQ(Catalog::env_scenario_dirs(), (std::vector<fs::path>{"/a/b", "/c"}));
  ::unsetenv("FAULTLINE_SCENARIO_PATH");
  EXPECT_TRUE(Catalog::env_scenario_dirs().empty());
}

}  // namespace
}  // namespace faultline
