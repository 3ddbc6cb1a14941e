// The describe cache: an entry is found only for the binary exactly as it was stored, a binary
// changed in the last seconds is not stored, and FAULTLINE_SPEC_CACHE=0 turns it off.
#include "harness/plan/spec_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace faultline {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

class SpecCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("fl-spec-cache-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "bin");
    binary_ = (root_ / "bin" / "scenario").string();
    std::ofstream(binary_) << "#!/bin/sh\n";
  }
  void TearDown() override { fs::remove_all(root_); }
  std::size_t entries() const {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(root_ / "cache")) n += e.is_regular_file();
    return n;
  }

  fs::path root_;
  std::string binary_;
};

TEST_F(SpecCacheTest, KeepsTheDescriptionOfTheBinaryAsItWasAndNoOther) {
  const SpecCache cache((root_ / "cache").string());
  cache.store(binary_, "{\"id\":\"fresh\"}");  // just written: not keyed safely yet
  EXPECT_FALSE(cache.find(binary_).has_value());
  std::this_thread::sleep_for(3200ms);  // past the settle time (mtime and ctime)
  cache.store(binary_, "{\"id\":\"one\"}");
  ASSERT_EQ(cache.find(binary_).value_or(""), "{\"id\":\"one\"}");
  EXPECT_EQ(entries(), 1u);  // and no temporary file left beside it

  // Rebuilt in place: another size and time, so the old entry no longer applies.
  std::ofstream(binary_, std::ios::app) << "exit 0\n";
  EXPECT_FALSE(cache.find(binary_).has_value());
}

TEST_F(SpecCacheTest, AnEntryForAnotherKeyOrATornFileIsNotBelieved) {
  const SpecCache cache((root_ / "cache").string());
  std::this_thread::sleep_for(3200ms);
  cache.store(binary_, "{\"id\":\"one\"}");
  ASSERT_EQ(entries(), 1u);
  const fs::path entry = fs::directory_iterator(root_ / "cache")->path();
  std::ofstream(entry) << "{\"key\":\"/elsewhere|1|2|3|4|5\",\"describe\":\"{}\"}\n";
  EXPECT_FALSE(cache.find(binary_).has_value());
  std::ofstream(entry) << "{\"key\":";
  EXPECT_FALSE(cache.find(binary_).has_value());
}

TEST_F(SpecCacheTest, TheEnvironmentChoosesTheFolderOrTurnsItOff) {
  ::setenv("FAULTLINE_CACHE_DIR", (root_ / "cache").c_str(), 1);
  ::setenv("FAULTLINE_SPEC_CACHE", "0", 1);
  std::this_thread::sleep_for(3200ms);
  SpecCache::from_environment().store(binary_, "{}");
  EXPECT_FALSE(fs::exists(root_ / "cache"));
  ::unsetenv("FAULTLINE_SPEC_CACHE");
  SpecCache::from_environment().store(binary_, "{}");
  EXPECT_EQ(entries(), 1u);
  ::unsetenv("FAULTLINE_CACHE_DIR");
}

}  // namespace
}  // namespace faultline
