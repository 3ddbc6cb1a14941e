#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "harness/record/experiment_key.h"
#include "harness/run/executor.h"

namespace faultline {
namespace {

RunResult exited(int code) {
  RunResult r;
  r.started = true;
  r.exit_code = code;
  return r;
}

ScenarioReport done_report() {
  ScenarioReport report;
  report.done = true;
  return report;
}

TEST(Completion, CleanCompletedRunIsComplete) {
  EXPECT_FALSE(run_broken(exited(0), {}, done_report(), true).has_value());
}

TEST(Completion, ASymptomExplainsANonZeroExit) {
  Symptom s;
  s.kind = "data_race";
  EXPECT_FALSE(run_broken(exited(66), {s}, done_report(), true).has_value());
}

TEST(Completion, BrokenRunsSayWhy) {
  RunResult timed_out = exited(0);
  timed_out.exit_code.reset();
  timed_out.signal = SIGKILL;
  timed_out.timed_out = true;
  EXPECT_NE(run_broken(timed_out, {}, done_report(), true).value().find("timed out"),
            std::string::npos);
  // A timeout is never a completed run, even with symptoms seen before it.
  Symptom s;
  s.kind = "stuck_worker";
  EXPECT_TRUE(run_broken(timed_out, {s}, done_report(), true).has_value());

  RunResult not_started;
  not_started.start_error = "no such file";
  EXPECT_NE(run_broken(not_started, {}, {}, true).value().find("no such file"), std::string::npos);

  EXPECT_NE(run_broken(exited(3), {}, done_report(), true).value().find("code 3"),
            std::string::npos);
  // A scenario that exits 0 without `done` did not prove it ran to the end.
  EXPECT_NE(run_broken(exited(0), {}, ScenarioReport{}, true).value().find("no done"),
            std::string::npos);
  // Any other command has no `done` to give.
  EXPECT_FALSE(run_broken(exited(0), {}, ScenarioReport{}, false).has_value());
}

TEST(Symptoms, SignalTheDriverDidNotSendIsACrash) {
  RunResult r;
  r.started = true;
  r.signal = SIGSEGV;
  auto symptoms = collect_symptoms(r, {});
  ASSERT_EQ(symptoms.size(), 1u);
  EXPECT_EQ(symptoms[0].kind, "crash");
  EXPECT_EQ(symptoms[0].source, "signal");
  EXPECT_NE(symptoms[0].summary.find("SIGSEGV"), std::string::npos);

  r.timed_out = true;  // SIGTERM/SIGKILL from the driver's timeout is not the program's crash
  r.signal = SIGKILL;
  EXPECT_TRUE(collect_symptoms(r, {}).empty());
}

TEST(Symptoms, ObservationsAboveZeroBecomeSymptoms) {
  ScenarioReport report;
  report.observations = {{"conn_refused", 12, "12 connects refused"}, {"fd_reuse", 0}};
  auto symptoms = collect_symptoms(exited(0), report);
  ASSERT_EQ(symptoms.size(), 1u);
  EXPECT_EQ(symptoms[0].kind, "conn_refused");
  EXPECT_EQ(symptoms[0].source, "scenario");
  EXPECT_EQ(symptoms[0].count, 12u);
}

TEST(ScenarioReportFile, ReadsEventsAndCountsBadLines) {
  auto path = std::filesystem::temp_directory_path() /
              ("fl-report-" + std::to_string(::getpid()) + ".jsonl");
  {
    std::ofstream out(path);
    out << R"({"type":"metric","name":"ops","value":42,"unit":"count"})"
        << "\n"
        << R"({"type":"observation","kind":"corrupt_output","count":2})"
        << "\n"
        << R"({"type":"sample","series":"threads","t":0.5,"value":9})"
        << "\n"
        << R"({"type":"note","text":"hello"})"
        << "\n"
        << R"({"type":"done"})"
        << "\n"
        << R"({"type":"metric","name":)";  // torn by a crash
  }
  auto report = read_scenario_report(path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(report.metrics["ops"].value, 42);
  EXPECT_EQ(report.metrics["ops"].unit, "count");
  EXPECT_EQ(report.observations.size(), 1u);
  ASSERT_EQ(report.samples["threads"].size(), 1u);
  EXPECT_EQ(report.samples["threads"][0].second, 9.0);
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_TRUE(report.done);
  EXPECT_EQ(report.bad_lines, 1u);
}

// The report channel is bounded in the record: a note the size of a film and a million metric
// names used to become a 100 MB record line and a 27 MB record.
TEST(ScenarioReport, HugeEventsAreCutAndCountedNotCopied) {
  auto path = std::filesystem::temp_directory_path() /
              ("fl-report-caps-" + std::to_string(::getpid()) + ".jsonl");
  {
    std::ofstream out(path);
    out << R"({"type":"note","text":")" << std::string(3 << 20, 'n') << "\"}\n";  // 3 MiB line
    out << R"({"type":"note","text":")" << std::string(100000, 'm') << "\"}\n";
    for (int i = 0; i < 20000; ++i) {
      out << R"({"type":"metric","name":"m)" << i << R"(","value":1})"
          << "\n";
    }
    // Series were not capped (seen while writing fuzz_report_channel's cap checks).
    for (int i = 0; i < 500; ++i) {
      out << R"({"type":"sample","series":"s)" << i << R"(","t":0,"value":1})"
          << "\n";
    }
    out << R"({"type":"done"})"
        << "\n";
  }
  auto report = read_scenario_report(path.string());
  std::filesystem::remove(path);
  EXPECT_TRUE(report.done);
  EXPECT_EQ(report.metrics.size(), 1000u);
  EXPECT_EQ(report.samples.size(), 100u);
  EXPECT_EQ(report.bad_lines, 1u);  // the 3 MiB line, skipped unread
  ASSERT_EQ(report.notes.size(), 2u);
  EXPECT_LT(report.notes[0].size(), 4200u);
  EXPECT_NE(report.notes[0].find("[cut: 95904 bytes more]"), std::string::npos);
  EXPECT_NE(report.notes[1].find("1 event line(s) over 1048576 bytes skipped, 19400 event(s)"),
            std::string::npos)
      << report.notes[1];
}

TEST(ScenarioReport, HistogramsAreKeptWholeAndBadOnesCountAsBadLines) {
  auto path = std::filesystem::temp_directory_path() /
              ("fl-report-hist-" + std::to_string(::getpid()) + ".jsonl");
  LatencyHistogram h;
  for (std::uint64_t v = 1; v < 100000; v *= 3) h.record(v * 1000);
  {
    std::ofstream out(path);
    out << R"({"type":"histogram","name":"latency_us","unit":"us","divisor":1000,"h":")"
        << h.encode() << "\"}\n";
    out << R"({"type":"histogram","name":"broken","h":"h1:1:1:1:1:"})"
        << "\n";
    out << R"({"type":"histogram","name":"zero","divisor":0,"h":")" << h.encode() << "\"}\n";
  }
  auto report = read_scenario_report(path.string());
  std::filesystem::remove(path);
  ASSERT_EQ(report.histograms.size(), 1u);
  EXPECT_TRUE(report.histograms.at("latency_us").histogram == h);
  EXPECT_EQ(report.histograms.at("latency_us").divisor, 1000);
  EXPECT_EQ(report.bad_lines, 2u);
}

TEST(RunKey, IsDeterministicAndIncludesEveryParameter) {
  RunPlan plan;
  plan.scenario = "s";
  plan.variant = "fixed";
  plan.sanitizer = Sanitizer::kTsan;
  plan.params = {{"b", "2"}, {"a", "1"}};
  plan.repeat_index = 4;
  EXPECT_EQ(run_key(plan, {}), "s|fixed|tsan|a=1,b=2|r4");
  // Injections and limits are part of the experiment, named after the parameters.
  plan.injection.perturb = "probability=0.1";
  RunLimits limits;
  limits.open_files = 24;
  EXPECT_EQ(run_key(plan, limits),
            "s|fixed|tsan|a=1,b=2|perturb=probability=0.1|limits=open_files=24|r4");
  EXPECT_EQ(experiment_key(plan, limits).label(),
            "s fixed tsan a=1,b=2 @perturb=probability=0.1 @limits=open_files=24");
}

TEST(SanitizerEnv, UserOptionsComeLastSoTheyWin) {
  ::setenv("TSAN_OPTIONS", "history_size=7", 1);
  auto env = sanitizer_env(Sanitizer::kTsan);
  ::unsetenv("TSAN_OPTIONS");
  ASSERT_EQ(env.size(), 1u);
  EXPECT_NE(env[0].second.find("halt_on_error=0"), std::string::npos);
  EXPECT_EQ(env[0].second.rfind("history_size=7"), env[0].second.size() - 14);
}

}  // namespace
}  // namespace faultline
