// `faultline compare` and `faultline export` as a user runs them: exit codes, and bad input
// named by file and line.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/record/results_file.h"

namespace {

const std::string kData = RESULTS_DATA;

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Outcome faultline(const std::string& args) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto out = dir / ("fl_compare_cli_" + std::to_string(::getpid()) + ".out");
  const auto err = dir / ("fl_compare_cli_" + std::to_string(::getpid()) + ".err");
  const std::string cmd =
      std::string(FAULTLINE_BIN) + " " + args + " >" + out.string() + " 2>" + err.string();
  int status = std::system(cmd.c_str());
  Outcome o;
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  o.out = slurp(out);
  o.err = slurp(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return o;
}

const std::string kBefore = kData + "/before.jsonl";
const std::string kAfter = kData + "/after.jsonl";

TEST(CompareCli, RegressionsGiveExitOne) {
  Outcome o = faultline("compare " + kBefore + " " + kAfter);
  EXPECT_EQ(o.code, 1) << o.err;
  EXPECT_NE(o.out.find("3 regressions"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("only in A"), std::string::npos);
}

TEST(CompareCli, FailOnChoosesWhatCounts) {
  EXPECT_EQ(faultline("compare " + kBefore + " " + kAfter + " --fail-on none").code, 0);
  EXPECT_EQ(faultline("compare " + kBefore + " " + kAfter + " --alpha 0.0001").code, 0);
  // Only latency_p50, which did not change significantly: no regression.
  EXPECT_EQ(
      faultline("compare " + kBefore + " " + kAfter + " --metric latency_p50 --alpha 0.0005").code,
      0);
}

TEST(CompareCli, Formats) {
  Outcome json = faultline("compare " + kBefore + " " + kAfter + " --format json");
  EXPECT_EQ(json.code, 1);
  EXPECT_NE(json.out.find("\"regressions\": 3"), std::string::npos) << json.out.substr(0, 500);
  Outcome csv = faultline("compare " + kBefore + " " + kAfter + " --format csv");
  EXPECT_EQ(
      csv.out.rfind("scenario,variant,sanitizer,params,injection,by,value_a,value_b,measure", 0),
      0u);
  Outcome md = faultline("compare " + kBefore + " " + kAfter + " --format markdown");
  EXPECT_NE(md.out.find("| group | measure |"), std::string::npos);
}

// Every bad input: exit 2 and one line naming the file (and the line, where there is one).
TEST(CompareCli, BadInputNamesFileAndLine) {
  struct Case {
    std::string file;
    std::string expected;
  };
  const Case cases[] = {
      {kData + "/bad_not_json.jsonl", "bad_not_json.jsonl:2: not a JSON record"},
      {kData + "/bad_schema_version.jsonl",
       "bad_schema_version.jsonl:2: schema version 3 is newer"},
      {kData + "/bad_missing_field.jsonl", "bad_missing_field.jsonl:3: missing field 'verdict'"},
      {kData + "/empty.jsonl", "empty.jsonl holds no run records"},
      // Root reads any file whatever its mode, so "unreadable" is a file that is not there.
      {kData + "/no_such_file.jsonl", "cannot read results file"},
  };
  for (const auto& c : cases) {
    Outcome as_b = faultline("compare " + kBefore + " " + c.file);
    EXPECT_EQ(as_b.code, 2) << c.file;
    EXPECT_NE(as_b.err.find(c.expected), std::string::npos) << as_b.err;
    Outcome as_a = faultline("compare " + c.file + " " + kBefore);
    EXPECT_EQ(as_a.code, 2) << c.file;
    Outcome exported = faultline("export " + c.file + " --format csv");
    EXPECT_EQ(exported.code, 2) << c.file;
    EXPECT_NE(exported.err.find(c.expected), std::string::npos) << exported.err;
  }
}

TEST(CompareCli, BadOptions) {
  Outcome o = faultline("compare " + kBefore);
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("exactly two results files"), std::string::npos) << o.err;
  EXPECT_EQ(faultline("compare " + kBefore + " " + kAfter + " --alpha 2").code, 2);
  EXPECT_EQ(faultline("compare " + kBefore + " " + kAfter + " --fail-on maybe").code, 2);
  EXPECT_EQ(faultline("compare " + kBefore + " " + kAfter + " --format yaml").code, 2);
  o = faultline("compare " + kBefore + " " + kAfter + " --metric latency_p999");
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("latency_p99"), std::string::npos) << o.err;  // lists the real ones
  EXPECT_EQ(faultline("export " + kBefore + " --format xlsx").code, 2);
}

TEST(ExportCli, WritesCsvAndJunitFiles) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto csv = dir / "fl_export_cli.csv";
  Outcome o = faultline("export " + kAfter + " --format csv --out " + csv.string());
  EXPECT_EQ(o.code, 0) << o.err;
  const std::string text = slurp(csv);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1 + 33);
  const auto xml = dir / "fl_export_cli.xml";
  o = faultline("export " + kAfter + " --format junit --out " + xml.string());
  EXPECT_EQ(o.code, 0) << o.err;
  // One testcase per experiment (5 in after.jsonl); the one failure is fixed level=50, which
  // showed the incident; the summary of `faultline run` would say the same.
  EXPECT_NE(slurp(xml).find("<testsuites name=\"after.jsonl\" tests=\"5\" failures=\"1\" "
                            "errors=\"0\""),
            std::string::npos)
      << slurp(xml).substr(0, 400);
  std::filesystem::remove(csv);
  std::filesystem::remove(xml);
}

// Writes `records` to a results file in the temp folder and returns its path.
std::string write_records(const std::string& name, const std::vector<faultline::Record>& records) {
  const auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream out(path);
  for (const auto& r : records) out << faultline::record_to_json(r).dump() << "\n";
  return path.string();
}

TEST(CompareCli, NeverPassesVacuously) {
  // The same file twice proves nothing.
  Outcome same = faultline("compare " + kBefore + " " + kBefore);
  EXPECT_EQ(same.code, 2);
  EXPECT_NE(same.err.find("the same file"), std::string::npos) << same.err;
  // A baseline against the same runs with --perturb: no key matches, so compare says why and
  // names the axis that would compare them.
  auto perturbed = faultline::read_records(kAfter);
  for (auto& r : perturbed) r.perturb = "probability=0.1,max-us=200";
  const std::string b = write_records("fl_compare_perturbed.jsonl", perturbed);
  Outcome none = faultline("compare " + kBefore + " " + b + " --fail-on regression");
  EXPECT_EQ(none.code, 2) << none.out;
  EXPECT_NE(none.err.find("no experiment is in both files"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("differ in perturb"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("--by perturb"), std::string::npos) << none.err;
  // Along the axis they compare, with the same answers as the file comparison.
  Outcome by = faultline("compare " + kBefore + " " + b + " --by perturb");
  EXPECT_EQ(by.code, 1) << by.err;
  EXPECT_NE(by.out.find("perturb: A = (off), B = probability=0.1,max-us=200"), std::string::npos)
      << by.out;
  EXPECT_NE(by.out.find("3 regressions"), std::string::npos) << by.out;
  std::filesystem::remove(b);
}

TEST(CompareCli, ByVariantComparesBuggyWithFixedInOneFile) {
  Outcome o = faultline("compare " + kBefore + " --by variant --format json");
  EXPECT_EQ(o.code, 0) << o.err;  // the variants differ, but neither is a regression of the other
  auto j = nlohmann::json::parse(o.out);
  EXPECT_EQ(j["by"], "variant");
  // level=50 and level=90 have both variants; level=30 only fixed.
  ASSERT_EQ(j["groups"].size(), 2u) << o.out;
  for (const auto& g : j["groups"]) {
    EXPECT_EQ(g["value_a"], "buggy");
    EXPECT_EQ(g["value_b"], "fixed");
    EXPECT_TRUE(g["reproduction"]["significant"]) << g.dump();
    EXPECT_FALSE(g["reproduction"]["regression"]);
  }
  EXPECT_EQ(j["only_in_a"].size(), 1u);
  Outcome bad = faultline("compare " + kBefore + " --by colour");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("not an axis"), std::string::npos) << bad.err;
  Outcome missing = faultline("compare " + kBefore + " --by param=nope");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("no record has that parameter"), std::string::npos) << missing.err;
  // An axis with one value everywhere compares nothing: said, exit 2.
  Outcome flat = faultline("compare " + kBefore + " --by sanitizer");
  EXPECT_EQ(flat.code, 2);
  EXPECT_NE(flat.err.find("nothing to compare along sanitizer"), std::string::npos) << flat.err;
}

TEST(CompareCli, WarnsWhenTooFewRunsCanEverBeSignificant) {
  Outcome o = faultline("compare " + kBefore + " " + kAfter);
  EXPECT_EQ(o.err.find("level=30"), std::string::npos);  // only in A: no warning for it
  EXPECT_NE(o.err.find("can reach alpha"), std::string::npos) << o.err;
}

}  // namespace
