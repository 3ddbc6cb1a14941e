#include "harness/record/results_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "harness/plan/catalog.h"

namespace faultline {
namespace {
namespace fs = std::filesystem;

nlohmann::json valid_record(const std::string& key = "toy|buggy|none||r0") {
  return {{"schema_version", 1},
          {"run_id", "r1"},
          {"key", key},
          {"scenario", "toy"},
          {"variant", "buggy"},
          {"sanitizer", "none"},
          {"params", {{"a", "1"}}},
          {"seed", 7},
          {"repeat_index", 0},
          {"replay", "faultline run toy"},
          {"started_at", "2026-11-23T10:00:00.000Z"},
          {"duration_s", 0.5},
          {"exit", {{"code", 0}}},
          {"symptoms", nlohmann::json::array()},
          {"metrics", nlohmann::json::object()},
          {"verdict", "passed"},
          {"verdict_reason", "completed with no symptom"}};
}

class ResultsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("fl-results-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write_text(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
  }
  std::string read_error(const fs::path& p) {
    try {
      read_records(p);
    } catch (const ResultsFileError& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir_;
};

TEST_F(ResultsFileTest, AppendsWholeLinesAndReadsThemBack) {
  fs::path p = dir_ / "sub" / "runs.jsonl";  // the folder is created
  {
    ResultsWriter w(p);
    w.append(valid_record("a"));
    w.append(valid_record("b"));
  }
  auto records = read_records(p);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].key, "a");
  EXPECT_EQ(records[1].key, "b");
}

TEST_F(ResultsFileTest, OpeningCutsATornLastLine) {
  fs::path p = dir_ / "runs.jsonl";
  std::string good = valid_record("a").dump() + "\n";
  write_text(p, good + "{\"schema_version\": 1, \"run_id\": \"torn");
  {
    ResultsWriter w(p);
    EXPECT_EQ(w.repaired_bytes(), std::string("{\"schema_version\": 1, \"run_id\": \"torn").size());
    w.append(valid_record("b"));
  }
  auto records = read_records(p);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].key, "b");
}

TEST_F(ResultsFileTest, ReaderSkipsATornLastLineWithAWarning) {
  fs::path p = dir_ / "runs.jsonl";
  write_text(p, valid_record("a").dump() + "\n{\"schema_ver");
  std::vector<std::string> warnings;
  auto records = read_records(p, &warnings);
  EXPECT_EQ(records.size(), 1u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(":2: skipped a torn last line"), std::string::npos);
}

TEST_F(ResultsFileTest, BadFilesNameTheFileAndLine) {
  fs::path p = dir_ / "bad.jsonl";
  write_text(p, valid_record().dump() + "\nnot json at all\n");
  EXPECT_NE(read_error(p).find("bad.jsonl:2: not a JSON record"), std::string::npos);

  auto old = valid_record();
  old["schema_version"] = 0;
  write_text(p, old.dump() + "\n");
  EXPECT_NE(read_error(p).find("bad.jsonl:1: schema version 0"), std::string::npos);

  auto missing = valid_record();
  missing.erase("verdict");
  write_text(p, valid_record().dump() + "\n" + missing.dump() + "\n");
  EXPECT_NE(read_error(p).find("bad.jsonl:2: missing field 'verdict'"), std::string::npos);

  auto wrong = valid_record();
  wrong["verdict"] = "maybe";
  write_text(p, wrong.dump() + "\n");
  EXPECT_NE(read_error(p).find("verdict 'maybe'"), std::string::npos);

  write_text(p, "");
  EXPECT_NE(read_error(p).find("holds no run records"), std::string::npos);

  EXPECT_NE(read_error(dir_ / "absent.jsonl").find("cannot read results file"), std::string::npos);
}

TEST_F(ResultsFileTest, AFieldOfTheWrongTypeIsNamedWithItsPath) {
  fs::path p = dir_ / "typed.jsonl";
  auto expect_problem = [&](const nlohmann::json& r, const std::string& want) {
    write_text(p, valid_record().dump() + "\n" + r.dump() + "\n");
    const std::string got = read_error(p);
    EXPECT_NE(got.find("typed.jsonl:2: " + want), std::string::npos) << got;
  };
  auto seed = valid_record();
  seed["seed"] = "7";
  expect_problem(seed, "field 'seed': expected a whole number >= 0, found string");
  auto negative = valid_record();
  negative["repeat_index"] = -1;
  expect_problem(negative, "field 'repeat_index': expected a whole number >= 0");
  auto kind = valid_record();
  kind["symptoms"] = {{{"kind", "data_race"}}, {{"kind", 3}}};
  expect_problem(kind, "field 'symptoms[1].kind': expected a string, found number");
  auto metric = valid_record();
  metric["metrics"] = {{"ops", {{"value", "many"}}}};
  expect_problem(metric, "field 'metrics.ops.value': expected a number, found string");
  auto code = valid_record();
  code["exit"] = {{"code", "zero"}};
  expect_problem(code, "field 'exit.code': expected a whole number or null, found string");
  auto limits = valid_record();
  limits["limits"] = {{"timeout_s", 5}, {"open_files", true}};
  expect_problem(limits, "field 'limits.open_files': expected a whole number >= 0, found boolean");
}

// Every sample record reads into a Record and writes back to the same JSON: one reader and one
// writer that agree, field for field.
TEST(Record, SampleRecordsRoundTripFieldForField) {
  for (const char* name : {"before.jsonl", "after.jsonl"}) {
    std::ifstream in(std::string(RESULTS_DATA) + "/" + name);
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const auto original = nlohmann::json::parse(line);
      const Record r = record_from_json(original);
      EXPECT_EQ(record_to_json(r), original) << name << " line " << n + 1;
      ++n;
    }
    EXPECT_GT(n, 10u) << name;
  }
}

// A latency distribution rides in the record whole, and one that does not decode makes the
// record unreadable, naming the field; a key holding a newline is shown escaped.
TEST(Record, HistogramsRoundTripAndABadOneNamesItsField) {
  auto j = valid_record();
  LatencyHistogram h;
  for (std::uint64_t v = 1000; v < 200000; v += 997) h.record(v);
  j["histograms"] = {{"latency_us", {{"unit", "us"}, {"divisor", 1000}, {"h", h.encode()}}}};
  const Record r = record_from_json(j);
  ASSERT_EQ(r.histograms.size(), 1u);
  EXPECT_TRUE(r.histograms.at("latency_us").histogram == h);
  EXPECT_EQ(r.histograms.at("latency_us").unit, "us");
  EXPECT_EQ(record_to_json(r)["histograms"], j["histograms"]);
  j["histograms"]["latency_us"]["h"] = "h1:5:1:2:3:AAAA";
  try {
    (void)record_from_json(j);
    ADD_FAILURE() << "accepted a histogram that does not decode";
  } catch (const RecordError& e) {
    EXPECT_NE(std::string(e.what()).find("field 'histograms.latency_us.h': not a faultline "
                                         "histogram"),
              std::string::npos)
        << e.what();
  }
  j["histograms"] = {{"a\nb", {{"unit", 5}, {"h", h.encode()}}}};
  try {
    (void)record_from_json(j);
    ADD_FAILURE() << "accepted a unit that is not text";
  } catch (const RecordError& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST(Record, SchemaOneReadsAsNotJudgedAndABrokenRunFromItsVerdict) {
  auto j = valid_record();
  j["verdict"] = "unknown";
  j["verdict_reason"] = "timed out after 5 s";
  const Record r = record_from_json(j);
  EXPECT_EQ(r.schema_version, 1);
  EXPECT_EQ(r.expectation.expect, Expect::kNone);
  EXPECT_FALSE(r.completion.ok);
  EXPECT_EQ(r.completion.reason, "timed out after 5 s");
  EXPECT_EQ(r.params.at("a"), "1");
  EXPECT_EQ(r.exit.code, 0);
  EXPECT_TRUE(r.perturb.empty());
}

// A folder where a results file goes (compare, replay, export) is a bad input, not an internal
// error from the stream library.
// Found by fuzz_results_file (tests/fuzz/regressions/results_file): a number beyond a double
// made the JSON parser throw out_of_range, which escaped the reader as an internal error.
TEST_F(ResultsFileTest, ANumberBeyondADoubleIsNamedAsNotARecord) {
  const fs::path file = dir_ / "overflow.jsonl";
  write_text(file, "{\"seed\": 1e999}\n");
  try {
    (void)read_records(file);
    ADD_FAILURE() << "read a record holding 1e999";
  } catch (const ResultsFileError& e) {
    EXPECT_NE(std::string(e.what()).find(":1: not a JSON record"), std::string::npos) << e.what();
  }
}

TEST_F(ResultsFileTest, AFolderIsNamedAsNotAResultsFile) {
  EXPECT_NE(read_error(dir_).find("is a folder, not a results file"), std::string::npos)
      << read_error(dir_);
}

TEST_F(ResultsFileTest, UnwritablePathIsAUsageErrorNamingTheFix) {
  fs::path blocker = dir_ / "file";
  write_text(blocker, "x");
  try {
    ResultsWriter w(blocker / "runs.jsonl");  // a folder cannot be made inside a file
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--out"), std::string::npos) << e.what();
  }
}

// Two drivers on one file (two shards given the same --out): while one appends long records, the
// other opens the file again and again (each open repairs a torn tail) and appends short ones.
// Without the lock an open could cut the first writer's line in the middle of its write.
TEST_F(ResultsFileTest, ConcurrentWritersLoseNothing) {
  const fs::path path = dir_ / "shared.jsonl";
  nlohmann::json big = valid_record("big|buggy|none||r0");
  big["notes"] = nlohmann::json::array({std::string(4 << 20, 'x')});  // a 4 MiB line
  constexpr int kBig = 12;
  constexpr int kSmall = 200;
  std::atomic<bool> done{false};
  std::thread long_writer([&] {
    ResultsWriter w(path);
    for (int i = 0; i < kBig; ++i) w.append(big);
    done = true;
  });
  std::size_t cut = 0;
  int small = 0;
  while (small < kSmall || !done) {
    ResultsWriter w(path);
    cut += w.repaired_bytes();
    w.append(valid_record());
    ++small;
  }
  long_writer.join();
  EXPECT_EQ(cut, 0u) << "an open cut a live writer's line";
  EXPECT_EQ(read_records(path).size(), static_cast<std::size_t>(kBig + small));
}

// --out naming something that is not a results file: refused, and the file left as it was.
TEST_F(ResultsFileTest, AFileThatIsNotResultsIsRefusedAndLeftAlone) {
  const fs::path text = dir_ / "c.txt";
  write_text(text, "cfg");  // one line, no newline: used to be cut away as a torn record
  const fs::path config = dir_ / "config.ini";
  write_text(config, "[server]\nport = 8080\n");
  for (const fs::path& p : {text, config}) {
    try {
      ResultsWriter w(p);
      FAIL() << "expected a refusal for " << p;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("is not a run record"), std::string::npos) << e.what();
    }
  }
  std::ifstream in(text);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "cfg");
  try {
    ResultsWriter w("/dev/full");
    FAIL() << "a device is not a results file";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace faultline
