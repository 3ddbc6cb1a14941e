// The statistics behind `faultline compare`, checked against examples worked by hand, and the
// comparison and exports of the sample results files in tests/data/results (made by
// edit_samples.py from real runs of the sweep-probe test scenario, with known answers).
#include "harness/judge/compare.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "harness/judge/judge.h"
#include "harness/judge/stats.h"
#include "harness/judge/summary.h"
#include "harness/record/experiment_key.h"
#include "harness/record/results_file.h"
#include "harness/render/export.h"

namespace faultline {
namespace {

const std::string kData = RESULTS_DATA;

// Fisher, by hand. A reproduced 9 of 10 runs, B 1 of 10:
//
//        failed passed
//   A       9      1      10
//   B       1      9      10
//          10     10      20
//
// With the margins fixed, the count in the top-left cell x is hypergeometric:
// P(x) = C(10, x) C(10, 10 - x) / C(20, 10), and C(20, 10) = 184756.
// P(9) = P(1) = 10 * 10 / 184756 = 100 / 184756; P(10) = P(0) = 1 / 184756; every other table is
// more likely than the observed one. Two-sided p = (1 + 100 + 100 + 1) / 184756 = 0.0010933.
TEST(FisherExact, WorkedByHand) {
  EXPECT_NEAR(fisher_exact_two_sided(9, 1, 1, 9), 202.0 / 184756.0, 1e-12);
  // 0 of 10 against 6 of 10: P(x) = C(6, x) C(14, 10 - x) / 184756; only x = 0 and x = 6
  // (C(14, 10) = C(14, 4) = 1001 each) are as unlikely as the observed x = 0.
  EXPECT_NEAR(fisher_exact_two_sided(0, 10, 6, 4), 2002.0 / 184756.0, 1e-12);
  // Symmetric in the roles of A and B.
  EXPECT_NEAR(fisher_exact_two_sided(6, 4, 0, 10), 2002.0 / 184756.0, 1e-12);
}

TEST(FisherExact, NoEvidenceGivesOne) {
  EXPECT_DOUBLE_EQ(fisher_exact_two_sided(5, 5, 5, 5), 1.0);
  EXPECT_DOUBLE_EQ(fisher_exact_two_sided(0, 10, 0, 10), 1.0);  // nobody reproduced
  EXPECT_DOUBLE_EQ(fisher_exact_two_sided(0, 0, 3, 4), 1.0);    // A has no runs
}

// Mann-Whitney U, exact, by hand. A = {1.1, 2.3, 3.0}, B = {4.2, 5.0, 6.1, 7.7}: every A value is
// below every B value, so U_A = 0 (no pair with a > b). Under the null hypothesis each of the
// C(7, 3) = 35 ways to place A's three ranks among seven is equally likely, and only one gives
// U = 0: P(U <= 0) = 1/35, two-sided p = 2/35 = 0.0571: not significant at 0.05.
TEST(MannWhitney, ExactWorkedByHand) {
  UTestResult r = mann_whitney_u({1.1, 2.3, 3.0}, {4.2, 5.0, 6.1, 7.7});
  EXPECT_EQ(r.method, UTestMethod::kExact);
  EXPECT_FALSE(r.ties);
  EXPECT_DOUBLE_EQ(r.u, 0);
  EXPECT_NEAR(r.p_value, 2.0 / 35.0, 1e-12);
  // Five against five, completely separated: p = 2 / C(10, 5) = 2/252.
  r = mann_whitney_u({3.1, 3.4, 3.6, 3.9, 4.4}, {5.2, 5.8, 6.0, 6.3, 7.1});
  EXPECT_NEAR(r.p_value, 2.0 / 252.0, 1e-12);
  // A = {1, 4}, B = {2, 3}: pairs with a > b are (4,2) and (4,3), U = 2 = mn/2, the centre of
  // the distribution: p = 1.
  r = mann_whitney_u({1, 4}, {2, 3});
  EXPECT_DOUBLE_EQ(r.u, 2);
  EXPECT_DOUBLE_EQ(r.p_value, 1.0);
}

// With ties, by hand. A = {0, 0, 1, 1, 2}, B = {1, 2, 2, 3, 3}. Pooled midranks: 0 -> 1.5 (two),
// 1 -> 4 (three), 2 -> 7 (three), 3 -> 9.5 (two). R_A = 1.5 + 1.5 + 4 + 4 + 7 = 18, so
// U_A = 18 - 5*6/2 = 3; mean mn/2 = 12.5. Tie correction: sum(t^3 - t) = 6 + 24 + 24 + 6 = 60;
// variance = mn/12 * ((N + 1) - 60 / (N (N - 1))) = 25/12 * (11 - 60/90) = 21.5278.
// z = (|3 - 12.5| - 0.5) / sqrt(21.5278) = 9 / 4.63981 = 1.93974; p = 2 (1 - Phi(z)) = 0.052412.
TEST(MannWhitney, NormalApproximationWithTies) {
  UTestResult r = mann_whitney_u({0, 0, 1, 1, 2}, {1, 2, 2, 3, 3});
  EXPECT_EQ(r.method, UTestMethod::kNormal);
  EXPECT_TRUE(r.ties);
  EXPECT_DOUBLE_EQ(r.u, 3);
  EXPECT_NEAR(r.p_value, 0.052412, 1e-6);
}

TEST(MannWhitney, LargeSamplesUseTheNormalApproximation) {
  std::vector<double> x, y;
  for (int i = 0; i < 60; ++i) {
    x.push_back(i);
    y.push_back(i + 0.5);
  }
  UTestResult r = mann_whitney_u(x, y);
  EXPECT_EQ(r.method, UTestMethod::kNormal);
  EXPECT_GT(r.p_value, 0.5);  // a shift of half a step in 60 values is no evidence
  EXPECT_EQ(mann_whitney_u({}, {1.0}).method, UTestMethod::kNone);
}

TEST(Median, OddEvenAndEmpty) {
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(median({}), 0);
}

TEST(MetricDirection, NamesSayWhichWayIsBetter) {
  EXPECT_EQ(metric_better("latency_p99", {}), Better::kLower);
  EXPECT_EQ(metric_better("conn_refused", {}), Better::kLower);
  EXPECT_EQ(metric_better("throughput_rps", {}), Better::kHigher);
  EXPECT_EQ(metric_better("requests_per_s", {}), Better::kHigher);
  EXPECT_EQ(metric_better("stopwatch", {}), Better::kLower);  // words, not substrings
  EXPECT_EQ(metric_better("frames", {"frames"}), Better::kHigher);
}

const GroupComparison& find_group(const ComparisonReport& r, const std::string& variant,
                                  const std::string& level) {
  for (const auto& g : r.groups) {
    if (g.key.variant == variant && g.key.params.at("level") == level) return g;
  }
  throw std::runtime_error("no group " + variant + " level=" + level);
}

const MetricComparison& find_metric(const GroupComparison& g, const std::string& name) {
  for (const auto& m : g.metrics) {
    if (m.name == name) return m;
  }
  throw std::runtime_error("no metric " + name);
}

class Samples : public ::testing::Test {
 protected:
  std::vector<Record> before = read_records(kData + "/before.jsonl");
  std::vector<Record> after = read_records(kData + "/after.jsonl");
};

TEST_F(Samples, KnownAnswers) {
  ComparisonReport r = compare_records(before, after, {}, "before", "after");
  ASSERT_EQ(r.groups.size(), 4u);

  // The buggy variant lost its power: 9/10 -> 1/10, the unknown run in B not counted.
  const auto& lost = find_group(r, "buggy", "50");
  EXPECT_EQ(lost.rate.failed_b, 1u);
  EXPECT_EQ(lost.rate.decided_b, 10u);
  EXPECT_EQ(lost.rate.unknown_b, 1u);
  EXPECT_NEAR(lost.rate.p_value, 202.0 / 184756.0, 1e-12);
  EXPECT_TRUE(lost.rate.regression);
  // Same latencies on both sides (the unknown run's 999 ms is left out): no change.
  EXPECT_EQ(find_metric(lost, "latency_p99").n_b, 10u);
  EXPECT_DOUBLE_EQ(find_metric(lost, "latency_p99").test.p_value, 1.0);
  EXPECT_FALSE(find_metric(lost, "latency_p99").significant);

  // The fix stopped holding: 0/10 -> 6/10.
  const auto& broken = find_group(r, "fixed", "50");
  EXPECT_NEAR(broken.rate.p_value, 2002.0 / 184756.0, 1e-12);
  EXPECT_TRUE(broken.rate.regression);
  EXPECT_NEAR(broken.rate.interval_b.low, wilson_interval(6, 10).low, 1e-15);

  // Latency: p99 higher in every B run (exact p = 2/252, a regression); p50 higher too but on
  // 3 and 4 runs (exact p = 2/35): not significant.
  const auto& slow = find_group(r, "buggy", "90");
  EXPECT_FALSE(slow.rate.significant);
  const auto& p99 = find_metric(slow, "latency_p99");
  EXPECT_EQ(p99.test.method, UTestMethod::kExact);
  EXPECT_NEAR(p99.test.p_value, 2.0 / 252.0, 1e-12);
  EXPECT_DOUBLE_EQ(p99.median_a, 3.6);
  EXPECT_DOUBLE_EQ(p99.median_b, 6.0);
  EXPECT_NEAR(*p99.relative_change, 2.4 / 3.6, 1e-12);
  EXPECT_TRUE(p99.regression);
  EXPECT_EQ(p99.unit, "ms");
  const auto& p50 = find_metric(slow, "latency_p50");
  EXPECT_EQ(p50.n_a, 3u);
  EXPECT_EQ(p50.n_b, 4u);
  EXPECT_NEAR(p50.test.p_value, 2.0 / 35.0, 1e-12);
  EXPECT_FALSE(p50.regression);

  // The tied counts: normal approximation, p = 0.0524 (worked above).
  const auto& refused = find_metric(find_group(r, "fixed", "90"), "conn_refused");
  EXPECT_EQ(refused.test.method, UTestMethod::kNormal);
  EXPECT_NEAR(refused.test.p_value, 0.052412, 1e-6);
  EXPECT_FALSE(refused.significant);

  ASSERT_EQ(r.only_in_a.size(), 1u);
  EXPECT_EQ(r.only_in_a[0].key.params.at("level"), "30");
  EXPECT_EQ(r.only_in_a[0].runs, 2u);
  ASSERT_EQ(r.only_in_b.size(), 1u);
  EXPECT_EQ(r.only_in_b[0].key.params.at("level"), "70");

  EXPECT_EQ(r.regressions(), 3u);
  EXPECT_EQ(compare_exit_code(r, FailOn::kRegression), 1);
  EXPECT_EQ(compare_exit_code(r, FailOn::kNone), 0);
}

// Latency distributions in the records are merged over each side's decided runs: compare shows
// the percentiles of the merged distribution, the same as merging the runs' histograms by hand.
TEST_F(Samples, DistributionsAreMergedOverTheDecidedRuns) {
  auto with_latency = [](std::vector<Record> records, std::uint64_t base) {
    for (std::size_t i = 0; i < records.size(); ++i) {
      RecordedHistogram h;
      h.unit = "us";
      h.divisor = 1000;
      for (std::uint64_t k = 0; k < 200; ++k) h.histogram.record(base + (i * 37 + k * k) % 90000);
      records[i].histograms["latency_us"] = h;
    }
    return records;
  };
  const auto a = with_latency(before, 10000);
  const auto b = with_latency(after, 30000);
  const ComparisonReport r = compare_records(a, b, {}, "before", "after");
  const GroupComparison& g = find_group(r, "fixed", "90");
  ASSERT_EQ(g.distributions.size(), 1u);
  const DistributionComparison& d = g.distributions[0];
  EXPECT_EQ(d.name, "latency_us");
  LatencyHistogram expect_a, expect_b;
  std::size_t runs_a = 0;
  for (const auto* side : {&a, &b}) {
    for (const auto& rec : *side) {
      if (rec.variant != "fixed" || rec.params.at("level") != "90" ||
          !is_decided(judge(facts_of(rec), rec.expectation).outcome)) {
        continue;
      }
      (side == &a ? expect_a : expect_b).merge(rec.histograms.at("latency_us").histogram);
      runs_a += side == &a ? 1 : 0;
    }
  }
  EXPECT_EQ(d.runs_a, runs_a);
  EXPECT_TRUE(d.a == expect_a);
  EXPECT_TRUE(d.b == expect_b);
  EXPECT_DOUBLE_EQ(d.at_b(99), static_cast<double>(expect_b.percentile(99)) / 1000);
  EXPECT_GT(d.at_b(50), d.at_a(50));
  const std::string table = render_compare_table(r);
  EXPECT_NE(table.find("latency_us p99 (us)"), std::string::npos) << table;
  EXPECT_NE(render_compare_csv(r).find("latency_us_p99.9"), std::string::npos);
}

TEST_F(Samples, AlphaDecidesWhatIsSignificant) {
  CompareOptions loose;
  loose.alpha = 0.1;
  ComparisonReport r = compare_records(before, after, loose);
  // At 0.1 the tied counts (p = 0.0524) count, and more refused connections are worse.
  EXPECT_TRUE(find_metric(find_group(r, "fixed", "90"), "conn_refused").regression);
  CompareOptions strict;
  strict.alpha = 0.001;
  r = compare_records(before, after, strict);
  EXPECT_EQ(r.regressions(), 0u);
}

TEST_F(Samples, MetricFilterAndSelfComparison) {
  CompareOptions only_p99;
  only_p99.metrics = {"latency_p99"};
  ComparisonReport r = compare_records(before, after, only_p99);
  for (const auto& g : r.groups) {
    for (const auto& m : g.metrics) EXPECT_EQ(m.name, "latency_p99");
  }
  // A file against itself: nothing changed, nothing is one-sided, even --fail-on any passes.
  ComparisonReport same = compare_records(before, before, {});
  EXPECT_EQ(same.significant_changes(), 0u);
  EXPECT_EQ(compare_exit_code(same, FailOn::kAny), 0);
  EXPECT_EQ(compare_exit_code(r, FailOn::kAny), 1);
}

// The time to the first symptom is compared like a metric (lower is better): the same records
// with their symptom 10x later are a significant regression of first_symptom_s.
TEST_F(Samples, TheTimeToTheFirstSymptomIsComparedLikeAMetric) {
  std::vector<Record> soon = before, late = before;
  for (std::size_t i = 0; i < soon.size(); ++i) {
    soon[i].first_symptom_s = 0.010 + 0.001 * static_cast<double>(i % 5);
    late[i].first_symptom_s = 10 * *soon[i].first_symptom_s;
  }
  CompareOptions only;
  only.metrics = {std::string(kFirstSymptomMetric)};
  const ComparisonReport r = compare_records(soon, late, only);
  std::size_t compared = 0;
  for (const auto& g : r.groups) {
    for (const auto& m : g.metrics) {
      EXPECT_EQ(m.name, kFirstSymptomMetric);
      if (m.n_a >= 5) {
        ++compared;
        EXPECT_TRUE(m.regression) << g.key.variant;
      }
    }
  }
  EXPECT_GT(compared, 0u);
}

TEST_F(Samples, RenderingsCarryTheAnswers) {
  ComparisonReport r = compare_records(before, after, {}, "before", "after");
  const std::string table = render_compare_table(r);
  EXPECT_NE(table.find("REGRESSION: the fix shows the incident more often"), std::string::npos);
  EXPECT_NE(table.find("0.0079"), std::string::npos);
  EXPECT_NE(table.find("exact"), std::string::npos);
  EXPECT_NE(table.find("normal"), std::string::npos);
  nlohmann::json j = compare_to_json(r);
  EXPECT_EQ(j["regressions"], 3);
  EXPECT_EQ(j["only_in_b"].size(), 1u);
  const std::string md = render_compare_markdown(r);
  EXPECT_NE(md.find("| group | measure |"), std::string::npos);
  // CSV: a header and one row per group and measure (4 rate rows + 7 metric rows).
  const std::string csv = render_compare_csv(r);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 4 + 7);
}

// A tiny RFC 4180 reader, to check that the export reads back.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(field);
      field.clear();
    } else if (c == '\r') {
      continue;
    } else if (c == '\n') {
      rows.back().push_back(field);
      field.clear();
      rows.emplace_back();
    } else {
      field += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

TEST_F(Samples, CsvReadsBackToTheSameValues) {
  // A value with a comma, quotes and a newline must survive too.
  auto records = after;
  records[0].params["level"] = "odd, \"quoted\"\nlevel";
  auto rows = parse_csv(export_csv(records));
  ASSERT_EQ(rows.size(), records.size() + 1);
  const auto& header = rows[0];
  auto column = [&](const std::string& name) {
    auto it = std::find(header.begin(), header.end(), name);
    EXPECT_NE(it, header.end()) << name;
    return static_cast<std::size_t>(it - header.begin());
  };
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    const auto& row = rows[i + 1];
    ASSERT_EQ(row.size(), header.size());
    const Judgement j = judge_record(r);
    EXPECT_EQ(row[column("key")], run_key_of(r));
    EXPECT_EQ(row[column("verdict")], outcome_name(j.outcome));
    EXPECT_EQ(row[column("verdict_reason")], j.reason);
    EXPECT_EQ(row[column("expectation")], r.expectation.text());
    EXPECT_EQ(std::stod(row[column("duration_s")]), r.duration_s);
    EXPECT_EQ(row[column("param.level")], r.params.at("level"));
    EXPECT_EQ(row[column("symptom_kinds")], r.symptoms.empty() ? "" : "probe_race");
    for (const auto& [name, m] : r.metrics) {
      const std::string cell = row[column("metric." + name)];
      ASSERT_FALSE(cell.empty()) << name;
      EXPECT_EQ(std::stod(cell), m.value) << name;
    }
    if (!r.metrics.count("conn_refused")) {
      EXPECT_EQ(row[column("metric.conn_refused")], "");
    }
  }
}

TEST(Export, XmlEscapesEverythingXmlCannotHold) {
  EXPECT_EQ(xml_escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
  EXPECT_EQ(xml_escape(std::string("x\x01y\tz", 5)), "x\xef\xbf\xbdy\tz");
}

TEST_F(Samples, JunitIsWellFormedAndCountsFailures) {
  auto records = before;
  records.insert(records.end(), after.begin(), after.end());
  records[0].params["level"] = "<50> & \"friends\"";  // must be escaped in the name
  const std::string xml = export_junit(records, "samples");
  const auto path = std::filesystem::temp_directory_path() / "faultline_junit_test.xml";
  std::ofstream(path) << xml;
  // One testcase per experiment, judged over every run of it in both files: the renamed run
  // is an experiment of its own (met), so 7. One failure: fixed level=50, which showed the
  // incident in 6 runs; its body carries the example run's symptom. No errors: the one unknown
  // run is in an experiment whose other runs decided it. Python's parser checks the document
  // is well-formed XML.
  const std::string check =
      "python3 -c \"import sys, xml.etree.ElementTree as ET; r = ET.parse(sys.argv[1]).getroot(); "
      "cases = r.findall('.//testcase'); "
      "assert len(cases) == 7, len(cases); "
      "f = r.findall('.//testcase/failure'); "
      "assert len(f) == 1 and 'SHOWED the incident in 6 of 20' in f[0].get('message'), f; "
      "assert 'symptom probe_race' in f[0].text and 'replay: faultline run' in f[0].text; "
      "assert len(r.findall('.//testcase/error')) == 0; "
      "assert r.get('failures') == '1' and r.get('errors') == '0'; "
      "assert all(c.find('system-out') is not None for c in cases); "
      "assert all(s.get('hostname') and s.get('timestamp') for s in r.findall('testsuite')); "
      "assert any('<50>' in c.get('name') for c in cases)\" " +
      path.string();
  EXPECT_EQ(std::system(check.c_str()), 0) << xml.substr(0, 2000);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace faultline

namespace faultline {
namespace {

TEST(OldRecords, SchemaOneFilesAreStillReadAndCompared) {
  // before.jsonl as schema 1 wrote it: verdict failed/passed/unknown, no expectation.
  auto old = read_records(kData + "/schema1_before.jsonl");
  ASSERT_EQ(old.size(), 32u);
  EXPECT_EQ(old[0].schema_version, 1);
  // Nothing says what the incident is: not judged, every symptom counted as schema 1 did.
  for (const auto& g : summarise(old)) EXPECT_EQ(g.status, GroupStatus::kNotJudged);
  // Compared with the same runs in schema 2, every experiment matches and the rates agree.
  auto now = read_records(kData + "/before.jsonl");
  ComparisonReport r = compare_records(old, now, {}, "old", "new");
  EXPECT_EQ(r.groups.size(), 5u);
  EXPECT_TRUE(r.only_in_a.empty());
  EXPECT_TRUE(r.only_in_b.empty());
  for (const auto& g : r.groups) {
    EXPECT_EQ(g.rate.failed_a, g.rate.failed_b) << g.key.label();
    EXPECT_FALSE(g.rate.regression);  // the expectations differ: no direction to call worse
  }
}

}  // namespace
}  // namespace faultline
