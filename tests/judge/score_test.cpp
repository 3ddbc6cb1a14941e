// The detector matrix from records whose answers are worked out by hand.
#include "harness/judge/score.h"

#include <gtest/gtest.h>

#include "harness/scenario/expectation.h"

namespace faultline {
namespace {

Record run(const std::string& scenario, const std::string& sanitizer, const Expectation& e,
           std::uint64_t repeat, const std::string& kind, bool ok = true) {
  Record r;
  r.scenario = scenario;
  r.variant = e.variant;
  r.sanitizer = sanitizer;
  r.repeat_index = repeat;
  r.duration_s = 2.0;
  if (!kind.empty()) r.symptoms.push_back({.kind = kind});
  r.expectation = e;
  r.completion = {ok, ok ? "" : "timed out"};
  return r;
}

TEST(Score, CountsTheMatrixFromExpectationsAndTheJudge) {
  Expectation race = expect_incident("buggy", "tsan", {{"data_race"}});
  Expectation clean = expect_clean("fixed", "tsan", {}, "test");
  clean.incident = {{"data_race"}};
  Expectation none = expect_nothing("buggy", "none", "no detector", {{"corrupt_output"}});
  Expectation other = expect_nothing("other", "none", "no incident");
  std::vector<Record> records = {
      // tsan: buggy misses twice, then sees it (runs to first = 3, 6 s); fixed: one false alarm.
      run("s", "tsan", race, 0, ""), run("s", "tsan", race, 1, "crash"),
      run("s", "tsan", race, 2, "data_race"), run("s", "tsan", race, 3, "data_race"),
      run("s", "tsan", clean, 0, ""), run("s", "tsan", clean, 1, "data_race"),
      run("s", "tsan", clean, 2, "", false),  // unknown: counted apart
      // none: a build not judged that still says what the incident looks like: a positive.
      run("s", "none", none, 0, "corrupt_output"), run("s", "none", none, 1, ""),
      // a variant of no incident is left out
      run("s", "none", other, 0, "crash")};
  auto cells = score_records(records);
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[0].detector, "none");  // detectors in the order none, tsan, asan
  EXPECT_EQ(cells[0].tp, 1u);
  EXPECT_EQ(cells[0].fn, 1u);
  EXPECT_EQ(cells[0].fp + cells[0].tn, 0u);
  EXPECT_EQ(*cells[0].median_runs_to_first, 1.0);
  const auto& t = cells[1];
  EXPECT_EQ(t.tp, 2u);
  EXPECT_EQ(t.fn, 2u);
  EXPECT_EQ(t.fp, 1u);
  EXPECT_EQ(t.tn, 1u);
  EXPECT_EQ(t.unknown, 1u);
  EXPECT_DOUBLE_EQ(*t.recall(), 0.5);
  EXPECT_NEAR(*t.precision(), 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(*t.median_runs_to_first, 3.0);
  EXPECT_DOUBLE_EQ(*t.median_seconds_to_first, 6.0);
  const std::string table = render_score_table(cells);
  EXPECT_NE(table.find("0.67"), std::string::npos) << table;
  EXPECT_NE(render_score_markdown(cells).find("| s | tsan | 2 | 2 | 1 | 1 | 1 | 0.50 | 0.67 | 3 |"),
            std::string::npos)
      << render_score_markdown(cells);
  const std::string csv = render_score_csv(cells);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);
}

}  // namespace
}  // namespace faultline
