// AnswerWatch (--end-at-answer) against real reports from tests/data/reports, fed in chunks cut
// at every size from 1 byte up: the answer comes exactly when the report's closing line has
// arrived, never before, and only for the incident the run expects.
#include "harness/judge/answer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace faultline {
namespace {

std::string report(const std::string& name) {
  std::ifstream in(std::string(REPORTS_DATA) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty()) << name;
  return text.str();
}

Expectation incident(std::vector<SymptomPattern> patterns) {
  return expect_incident("buggy", "tsan", std::move(patterns));
}

// Feeds `text` in chunks of `size`; returns the offset just past the chunk after which the
// watch first said yes, or npos.
std::size_t answered_at(AnswerWatch& watch, const std::string& text, std::size_t size) {
  for (std::size_t at = 0; at < text.size(); at += size) {
    const std::size_t n = std::min(size, text.size() - at);
    if (watch.feed(std::string_view(text).substr(at, n))) return at + n;
  }
  return std::string::npos;
}

// Where the answer is due: just past the end of the first line of `text` that starts with
// `closing` after `from`.
std::size_t due(const std::string& text, const std::string& closing, std::size_t from = 0) {
  const std::size_t at = text.find(closing, from);
  return at == std::string::npos ? at : text.find('\n', at) + 1;
}

TEST(AnswerWatch, ATsanRaceIsAnsweredAtItsSummaryWhateverTheChunks) {
  const std::string text = report("tsan_data_race.gcc.txt");
  const std::size_t expected = due(text, "SUMMARY: ThreadSanitizer");
  for (std::size_t size : {1u, 2u, 7u, 64u, 333u, 4096u, 1u << 20}) {
    AnswerWatch watch(incident({{"data_race"}}));
    const std::size_t at = answered_at(watch, text, size);
    // The chunk that brings the summary's newline is the one that answers.
    ASSERT_NE(at, std::string::npos) << "chunk size " << size;
    EXPECT_GE(at, expected) << "chunk size " << size;
    EXPECT_LT(at - std::min(at, expected), size) << "chunk size " << size;
    EXPECT_TRUE(watch.feed("more output\n"));  // yes stays yes
  }
}

TEST(AnswerWatch, AFrameMustMatchTheIncidentsFrame) {
  const std::string text = report("tsan_data_race.gcc.txt");
  AnswerWatch right(incident({{"data_race", "bump_hits"}}));
  AnswerWatch wrong(incident({{"data_race", "decode_reply"}}));
  EXPECT_NE(answered_at(right, text, 100), std::string::npos);
  EXPECT_EQ(answered_at(wrong, text, 100), std::string::npos);
}

TEST(AnswerWatch, AnotherKindOfReportIsNoAnswer) {
  AnswerWatch watch(incident({{"heap_use_after_free"}}));
  EXPECT_EQ(answered_at(watch, report("tsan_data_race.gcc.txt"), 50), std::string::npos);
  // ...and a later report of the expected kind still is.
  const std::string uaf = report("asan_heap_use_after_free.gcc.txt");
  EXPECT_NE(answered_at(watch, uaf, 50), std::string::npos);
}

TEST(AnswerWatch, AReportCutBeforeItsSummaryIsNoAnswer) {
  const std::string text = report("tsan_data_race.gcc.txt");
  AnswerWatch watch(incident({{"data_race"}}));
  EXPECT_FALSE(watch.feed(text.substr(0, text.find("SUMMARY:"))));
}

TEST(AnswerWatch, TheGoRaceDetectorIsAnsweredAtItsClosingLine) {
  const std::string text = report("go_race.txt");
  const std::size_t start = text.find("WARNING: DATA RACE");
  ASSERT_NE(start, std::string::npos);
  const std::size_t expected = due(text, "==================", start);
  AnswerWatch watch(incident({{"data_race"}}));
  EXPECT_EQ(answered_at(watch, text, 1), expected);
}

TEST(AnswerWatch, OnlyAnIncidentCanBeAnsweredEarly) {
  EXPECT_TRUE(AnswerWatch::applies(incident({{"data_race"}})));
  EXPECT_FALSE(AnswerWatch::applies(expect_clean("fixed", "tsan", {"late>0"})));
  EXPECT_FALSE(AnswerWatch::applies(expect_nothing("buggy", "none", "no detector")));
  AnswerWatch clean(expect_clean("fixed", "tsan", {"late>0"}));
  EXPECT_EQ(answered_at(clean, report("tsan_data_race.gcc.txt"), 64), std::string::npos);
}

}  // namespace
}  // namespace faultline
