// The report parser against reports captured from real runs of the programs in
// tests/parse/report_sources (scripts/capture-sample-reports.sh), with g++ 12 and clang 14. The
// reports were captured when that folder was tests/parser/, so their frames name that path.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "harness/parse/report_parser.h"

namespace faultline {
namespace {

std::string load(const std::string& name) {
  std::ifstream in(std::string(FAULTLINE_REPORTS_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << "missing sample " << name;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string top_function(const Symptom& s) {
  return s.frames.empty() ? std::string("<no frames>") : s.frames.front().function;
}

// One sample holding one report, and what the parser must make of it.
struct Sample {
  Sample(std::string file_name, std::string source_name, std::string kind_name, std::string top,
         std::string summary, std::uint64_t n = 1, std::string sub = "")
      : file(std::move(file_name)),
        source(std::move(source_name)),
        kind(std::move(kind_name)),
        top_function(std::move(top)),
        summary_part(std::move(summary)),
        count(n),
        subkind(std::move(sub)) {}

  std::string file;
  std::string source;
  std::string kind;
  std::string top_function;  // frames[0].function starts with this
  std::string summary_part;  // the summary contains this
  std::uint64_t count;
  std::string subkind;
};

std::ostream& operator<<(std::ostream& os, const Sample& s) {
  return os << s.file;
}

std::string test_name(const testing::TestParamInfo<Sample>& info) {
  std::string name = info.param.file.substr(0, info.param.file.rfind('.'));
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

class SingleReport : public testing::TestWithParam<Sample> {};

TEST_P(SingleReport, YieldsOneSymptomWithKindFramesAndSummary) {
  const Sample& want = GetParam();
  const std::string text = load(want.file);
  std::vector<Symptom> symptoms = parse_reports(text);
  ASSERT_EQ(symptoms.size(), 1u) << text;
  const Symptom& s = symptoms[0];
  EXPECT_EQ(s.source, want.source);
  EXPECT_EQ(s.kind, want.kind);
  EXPECT_EQ(s.subkind, want.subkind);
  EXPECT_EQ(s.count, want.count);
  EXPECT_FALSE(s.truncated);
  EXPECT_TRUE(top_function(s).starts_with(want.top_function))
      << "top frame: " << top_function(s) << " at "
      << (s.frames.empty() ? "" : s.frames.front().location);
  EXPECT_LE(s.frames.size(), 8u);
  EXPECT_NE(s.summary.find(want.summary_part), std::string::npos) << s.summary;
  EXPECT_EQ(s.summary.find('\n'), std::string::npos);
  EXPECT_EQ(s.summary.find("BuildId"), std::string::npos) << s.summary;
  EXPECT_FALSE(s.report.empty());
  EXPECT_NE(text.find(s.report), std::string::npos) << "the report must be the input's own text";
}

// Each C/C++ sample is expected from both compilers, with the same result.
std::vector<Sample> both_compilers(std::vector<Sample> samples) {
  std::vector<Sample> out;
  for (const auto& s : samples) {
    for (const char* compiler : {"gcc", "clang"}) {
      Sample c = s;
      c.file = s.file + "." + compiler + ".txt";
      out.push_back(c);
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(ThreadSanitizer, SingleReport,
                         testing::ValuesIn(both_compilers({
                             {"tsan_data_race", "tsan", "data_race", "bump_hits()", "data race"},
                             {"tsan_heap_use_after_free", "tsan", "heap_use_after_free",
                              "read_session_id(", "heap-use-after-free"},
                             {"tsan_thread_leak", "tsan", "thread_leak", "start_flushers()",
                              "thread leak", 3},
                             {"tsan_lock_order_inversion", "tsan", "lock_order_inversion",
                              "transfer()", "lock-order-inversion (potential deadlock)"},
                             {"tsan_signal_errno", "tsan", "signal_handler_spoils_errno",
                              "on_alarm(int)", "signal handler spoils errno"},
                             {"tsan_destroy_locked_mutex", "tsan", "destroy_locked_mutex",
                              "close_queue(", "destroy of a locked mutex"},
                             {"tsan_unlock_unlocked_mutex", "tsan", "unlock_unlocked_mutex",
                              "abort_enqueue()", "unlock of an unlocked mutex"},
                             {"tsan_vptr_race", "tsan", "data_race", "Listener::~Listener()",
                              "data race on vptr", 1, "vptr"},
                             {"tsan_segv", "tsan", "segv", "store_reply(int*)", "SEGV"},
                         })),
                         test_name);

INSTANTIATE_TEST_SUITE_P(
    AddressSanitizer, SingleReport,
    testing::ValuesIn(both_compilers({
        {"asan_heap_use_after_free", "asan", "heap_use_after_free", "read_after_release(int*)",
         "heap-use-after-free"},
        {"asan_stack_use_after_return", "asan", "stack_use_after_return", "use_reply(int*)",
         "stack-use-after-return"},
        {"asan_stack_use_after_scope", "asan", "stack_use_after_scope", "main",
         "stack-use-after-scope"},
        {"asan_double_free", "asan", "double_free", "release_twice", "double-free"},
        {"asan_heap_buffer_overflow", "asan", "heap_buffer_overflow", "sum_window(",
         "heap-buffer-overflow"},
        {"asan_stack_buffer_overflow", "asan", "stack_buffer_overflow", "fill_header(int)",
         "stack-buffer-overflow"},
        {"asan_global_buffer_overflow", "asan", "global_buffer_overflow", "lookup_status(int)",
         "global-buffer-overflow"},
        {"asan_bad_free", "asan", "bad_free", "release_buffer(void*)", "bad-free"},
        {"asan_segv", "asan", "segv", "store_reply(int*)", "SEGV"},
        {"asan_alloc_dealloc_mismatch", "asan", "alloc_dealloc_mismatch", "drop_batch(int*)",
         "alloc-dealloc-mismatch"},
        {"asan_new_delete_type_mismatch", "asan", "new_delete_type_mismatch",
         "drop_message(Message*)", "new-delete-type-mismatch"},
        {"asan_stack_overflow", "asan", "stack_overflow", "walk_tree(int)", "stack-overflow"},
        {"lsan_leak", "lsan", "memory_leak", "make_request()",
         "216 byte(s) leaked in 4 allocation(s)", 4},
        {"ubsan_signed_overflow", "ubsan", "undefined_behavior", "add_credit(int, int)",
         "signed integer overflow: 2147483646 + 2", 1, "signed-integer-overflow"},
    })),
    test_name);

INSTANTIATE_TEST_SUITE_P(
    Glibc, SingleReport,
    testing::Values(Sample{"glibc_double_free.txt", "glibc", "double_free", "<no frames>",
                           "free(): double free detected in tcache 2"},
                    Sample{"glibc_double_free_fasttop.txt", "glibc", "double_free", "<no frames>",
                           "double free or corruption (fasttop)"},
                    Sample{"glibc_invalid_free.txt", "glibc", "invalid_free", "<no frames>",
                           "free(): invalid pointer"},
                    Sample{"glibc_corrupted_top.txt", "glibc", "heap_corruption", "<no frames>",
                           "malloc(): corrupted top size"},
                    Sample{"glibc_stack_smashing.txt", "glibc", "stack_smashing", "<no frames>",
                           "stack smashing detected"},
                    Sample{"glibc_fortify.txt", "glibc", "buffer_overflow", "<no frames>",
                           "buffer overflow detected"},
                    Sample{"glibc_assert.txt", "glibc", "assertion_failure",
                           "void check_balance(long int)", "Assertion `balance >= 0' failed."},
                    Sample{"glibc_uncaught_exception.txt", "glibc", "uncaught_exception",
                           "<no frames>", "uncaught std::runtime_error: journal is corrupt"},
                    Sample{"glibc_pure_virtual.txt", "glibc", "pure_virtual_call", "<no frames>",
                           "pure virtual method called"}),
    test_name);

INSTANTIATE_TEST_SUITE_P(
    Go, SingleReport,
    testing::Values(
        Sample{"go_race.txt", "go", "data_race", "main.bumpHits", "data race go_race.go:13"},
        Sample{"go_concurrent_map_writes.txt", "go", "concurrent_map_writes", "main.storeSession",
               "fatal error: concurrent map writes"},
        Sample{"go_concurrent_map_read_write.txt", "go", "concurrent_map_read_and_write",
               "main.lookupSession", "concurrent map read and map write"},
        Sample{"go_concurrent_map_iteration_write.txt", "go", "concurrent_map_iteration_and_write",
               "main.countSessions", "concurrent map iteration and map write"},
        Sample{"go_deadlock.txt", "go", "deadlock", "main.awaitReply",
               "all goroutines are asleep - deadlock!"},
        Sample{"go_panic.txt", "go", "panic", "main.(*Registry).registerPeer",
               "panic: assignment to entry in nil map"}),
    test_name);

TEST(ParserFrames, TsanFrameHasFileAndLineAsPrinted) {
  auto gcc = parse_reports(load("tsan_data_race.gcc.txt"));
  ASSERT_EQ(gcc.size(), 1u);
  ASSERT_GE(gcc[0].frames.size(), 2u);
  EXPECT_EQ(gcc[0].frames[0].location, "tests/parser/report_sources/tsan_data_race.cpp:12");
  EXPECT_EQ(gcc[0].frames[1].function, "worker()");
  auto clang = parse_reports(load("tsan_data_race.clang.txt"));
  ASSERT_EQ(clang.size(), 1u);
  ASSERT_FALSE(clang[0].frames.empty());
  EXPECT_EQ(clang[0].frames[0].location, "tests/parser/report_sources/tsan_data_race.cpp:12:8");
}

TEST(ParserFrames, AsanFramesSkipTheAllocatorInterceptor) {
  // #0 is free() / operator delete inside the runtime; the program's frame comes first.
  for (const char* file : {"asan_double_free.gcc.txt", "asan_double_free.clang.txt"}) {
    auto symptoms = parse_reports(load(file));
    ASSERT_EQ(symptoms.size(), 1u) << file;
    ASSERT_GE(symptoms[0].frames.size(), 2u) << file;
    EXPECT_EQ(symptoms[0].frames[0].function, "release_twice") << file;
    EXPECT_EQ(symptoms[0].frames[1].function, "main") << file;
  }
}

TEST(ParserFrames, GoFramesDropArgumentValuesAndPcOffsets) {
  auto symptoms = parse_reports(load("go_panic.txt"));
  ASSERT_EQ(symptoms.size(), 1u);
  ASSERT_EQ(symptoms[0].frames.size(), 2u);
  EXPECT_EQ(symptoms[0].frames[0].location, "./go_panic.go:12");
  EXPECT_EQ(symptoms[0].frames[1].function, "main.main");
}

TEST(ParserFrames, AssertionGivesFunctionAndLocation) {
  auto symptoms = parse_reports(load("glibc_assert.txt"));
  ASSERT_EQ(symptoms.size(), 1u);
  ASSERT_EQ(symptoms[0].frames.size(), 1u);
  EXPECT_EQ(symptoms[0].frames[0].location, "tests/parser/report_sources/glibc_assert.cpp:7");
}

TEST(ParserTsan, SignalUnsafeCallsAreReportedPerCall) {
  // The handler calls malloc and free: TSan reports each.
  for (const char* file :
       {"tsan_signal_unsafe_call.gcc.txt", "tsan_signal_unsafe_call.clang.txt"}) {
    auto symptoms = parse_reports(load(file));
    ASSERT_EQ(symptoms.size(), 2u) << file;
    for (const auto& s : symptoms) {
      EXPECT_EQ(s.kind, "signal_unsafe_call") << file;
      EXPECT_EQ(top_function(s), "on_reload(int)") << file;
    }
  }
}

TEST(ParserTsan, LockingADestroyedMutexIsAnInvalidMutex) {
  // Lock and unlock of a destroyed mutex: invalid (lock), unlocked-unlock, invalid (unlock).
  for (const char* file : {"tsan_invalid_mutex.gcc.txt", "tsan_invalid_mutex.clang.txt"}) {
    auto symptoms = parse_reports(load(file));
    ASSERT_EQ(symptoms.size(), 3u) << file;
    EXPECT_EQ(symptoms[0].kind, "invalid_mutex") << file;
    EXPECT_EQ(symptoms[1].kind, "unlock_unlocked_mutex") << file;
    EXPECT_EQ(symptoms[2].kind, "invalid_mutex") << file;
    EXPECT_TRUE(top_function(symptoms[0]).starts_with("lock_after_shutdown(")) << file;
  }
}

TEST(ParserUbsan, RecoverableErrorsAreCountedPerCheck) {
  struct Want {
    std::string subkind;
    std::uint64_t count;
    std::string message;
  };
  // g++ adds an object-size error on the out-of-bounds read that clang does not make.
  for (const char* file : {"ubsan_recover.gcc.txt", "ubsan_recover.clang.txt"}) {
    std::vector<Want> want = {
        {"signed-integer-overflow", 2, "signed integer overflow: 2147483647 + 1"},
        {"shift", 1, "shift exponent 32 is too large"},
        {"alignment", 1, "load of misaligned address"},
        {"bounds", 1, "index 4 out of bounds"},
        {"null", 1, "reference binding to null pointer"}};
    if (std::string(file).find("gcc") != std::string::npos) {
      want.insert(want.begin() + 4, {"object-size", 1, "insufficient space"});
    }
    auto symptoms = parse_reports(load(file));
    ASSERT_EQ(symptoms.size(), want.size()) << file;
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(symptoms[i].source, "ubsan");
      EXPECT_EQ(symptoms[i].kind, "undefined_behavior");
      EXPECT_EQ(symptoms[i].subkind, want[i].subkind) << file;
      EXPECT_EQ(symptoms[i].count, want[i].count) << file << " " << want[i].subkind;
      EXPECT_NE(symptoms[i].summary.find(want[i].message), std::string::npos)
          << symptoms[i].summary;
      // No stack was printed: the one frame is the error's location.
      ASSERT_EQ(symptoms[i].frames.size(), 1u);
      EXPECT_TRUE(symptoms[i].frames[0].location.starts_with(
          "tests/parser/report_sources/ubsan_recover.cpp:"));
    }
  }
}

TEST(ParserClean, OutputWithoutReportsYieldsNothing) {
  EXPECT_TRUE(parse_reports("").empty());
  EXPECT_TRUE(parse_reports("\n\n").empty());
  // The programs' own lines from the samples, and lines that look close to headlines.
  EXPECT_TRUE(parse_reports("hits=2\nDONE\nThreadSanitizer: reported 1 warnings\n"
                            "Found 1 data race(s)\nexit status 66\n==================\n"
                            "SUMMARY: nothing to see\n#0 not a frame\n")
                  .empty());
  // A run of the data-race program that happened to be clean, as TSan's own tests check.
  std::string gcc = load("tsan_data_race.gcc.txt");
  EXPECT_TRUE(parse_reports(gcc.substr(gcc.find("ThreadSanitizer: reported"))).empty());
}

TEST(ParserMixed, ReportsBetweenProgramOutputAreAllFoundInOrder) {
  for (const char* file : {"mixed_interleaved.gcc.txt", "mixed_interleaved.clang.txt"}) {
    auto symptoms = parse_reports(load(file));
    ASSERT_EQ(symptoms.size(), 4u) << file;
    EXPECT_EQ(symptoms[0].kind, "data_race") << file;
    EXPECT_EQ(top_function(symptoms[0]), "bump_total()") << file;
    EXPECT_EQ(symptoms[1].kind, "undefined_behavior") << file;
    EXPECT_EQ(symptoms[1].subkind, "signed-integer-overflow") << file;
    EXPECT_EQ(symptoms[2].kind, "lock_order_inversion") << file;
    EXPECT_EQ(top_function(symptoms[2]), "main") << file;
    EXPECT_EQ(symptoms[3].kind, "thread_leak") << file;
    for (const auto& s : symptoms) {
      EXPECT_FALSE(s.truncated) << file << " " << s.kind;
      // No program output inside a report's text.
      EXPECT_EQ(s.report.find("worker 1: done"), std::string::npos) << file << " " << s.kind;
      EXPECT_EQ(s.report.find("DONE"), std::string::npos) << file << " " << s.kind;
    }
  }
}

TEST(ParserTruncated, CutReportKeepsItsKindAndSurvivingFrames) {
  auto symptoms = parse_reports(load("mixed_interleaved.truncated.txt"));
  ASSERT_EQ(symptoms.size(), 4u);
  EXPECT_EQ(symptoms[0].kind, "data_race");
  EXPECT_FALSE(symptoms[0].truncated);
  EXPECT_EQ(symptoms[1].kind, "undefined_behavior");

  // Cut in its third frame line: two frames survive, both in the runtime, so both are kept;
  // the half line before the marker is not read as a frame.
  const Symptom& cut = symptoms[2];
  EXPECT_EQ(cut.kind, "lock_order_inversion");
  EXPECT_TRUE(cut.truncated);
  EXPECT_EQ(cut.summary, "lock-order-inversion (potential deadlock)");
  ASSERT_EQ(cut.frames.size(), 2u);
  EXPECT_EQ(cut.frames[0].function, "pthread_mutex_lock");
  EXPECT_EQ(cut.frames[1].function, "__gthread_mutex_lock");
  EXPECT_EQ(cut.report.find("[faultline:"), std::string::npos);

  // The thread leak lost its head; its SUMMARY after the marker still names it.
  const Symptom& tail = symptoms[3];
  EXPECT_EQ(tail.source, "tsan");
  EXPECT_EQ(tail.kind, "thread_leak");
  EXPECT_TRUE(tail.truncated);
  EXPECT_NE(tail.summary.find("in main"), std::string::npos);
}

TEST(ParserTruncated, EveryCutOfAReportStillYieldsItsSymptom) {
  // Cut each sample after every line: the parser must not crash, and once the headline is in,
  // the symptom's kind must be the full report's.
  for (const char* file : {"asan_heap_use_after_free.gcc.txt", "tsan_vptr_race.clang.txt",
                           "lsan_leak.gcc.txt", "go_race.txt", "go_concurrent_map_writes.txt"}) {
    const std::string text = load(file);
    const auto full = parse_reports(text);
    ASSERT_EQ(full.size(), 1u) << file;
    std::size_t pos = 0;
    bool seen = false;
    while ((pos = text.find('\n', pos + 1)) != std::string::npos) {
      std::string head = text.substr(0, pos) + "\n[faultline: 99 bytes dropped here]\n";
      auto cut = parse_reports(head);
      ASSERT_LE(cut.size(), 1u) << file << " cut at " << pos;
      if (!cut.empty()) {
        seen = true;
        EXPECT_EQ(cut[0].kind, full[0].kind) << file << " cut at " << pos;
        EXPECT_LE(cut[0].frames.size(), 8u);
      }
    }
    EXPECT_TRUE(seen) << file;
  }
}

// Found by fuzz_report_parser (tests/fuzz/regressions/report_parser): a TSan headline whose
// kind is bytes that are not text gave a symptom with kind "".
TEST(ParserMangled, AHeadlineWithoutAReadableKindStillNamesAKind) {
  const std::string text =
      "==================\nWARNING: ThreadSanitizer: \xff\xfe\x05\x05 (pid=7)\n"
      "  #0 main /src/a.cpp:3 (a+0x1)\n\nSUMMARY: ThreadSanitizer: \xff\xfe /src/a.cpp:3 in "
      "main\n==================\n";
  const auto symptoms = parse_reports(text);
  ASSERT_EQ(symptoms.size(), 1u);
  EXPECT_EQ(symptoms[0].source, "tsan");
  EXPECT_EQ(symptoms[0].kind, "unrecognised_tsan_report");
  const auto bare = parse_reports("==4==ERROR: Sanitizer: ");
  ASSERT_EQ(bare.size(), 1u);
  EXPECT_EQ(bare[0].kind, "unrecognised_" + bare[0].source + "_report");
}

TEST(ParserScale, MegabytesOfOutputYieldEveryReport) {
  // 5 MB of program output with a report at each end and in the middle. Speed is measured by
  // bench/parser (BM_ParseReports), not asserted here.
  const std::string report = load("tsan_data_race.gcc.txt");
  std::string filler;
  for (int i = 0; i < 40000; ++i) filler += "worker 3: request 1234 served in 17 us\n";
  const std::string text = report + filler + report + filler + "x" + report + filler;
  auto symptoms = parse_reports(text);
  ASSERT_EQ(symptoms.size(), 3u);
  for (const auto& s : symptoms) EXPECT_EQ(s.kind, "data_race");
  // One very long line (a runaway log line) is not a report either.
  EXPECT_TRUE(parse_reports(std::string(4 << 20, 'a')).empty());
}

}  // namespace
}  // namespace faultline
