#include <gtest/gtest.h>

#include "servers/rpc/messages.h"

namespace faultline::rpc {
namespace {

TEST(Audit, CleanHistoryIsValid) {
  std::vector<LedgerEntry> ledger{{"a", 1, false}, {"b", 2, false}};
  std::vector<ClientOutcome> history{
      {"a", ClientView::kOk, 1}, {"b", ClientView::kOk, 2}, {"c", ClientView::kFailed, 3}};
  AuditResult r = audit_ledger(ledger, history);
  EXPECT_TRUE(r.valid());
  EXPECT_EQ(r.ops, 3u);
  EXPECT_EQ(r.committed_ops, 2u);
  EXPECT_EQ(r.duplicate_ops, 0u);
  EXPECT_EQ(r.inconsistent_ops, 0u);
  EXPECT_TRUE(r.examples.empty());
}

TEST(Audit, CountsDuplicateCommits) {
  std::vector<LedgerEntry> ledger{{"a", 1, true},  {"a", 2, false}, {"a", 3, false},
                                  {"b", 1, false}, {"b", 2, false}, {"c", 1, false}};
  std::vector<ClientOutcome> history{
      {"a", ClientView::kOk, 3}, {"b", ClientView::kOk, 2}, {"c", ClientView::kOk, 1}};
  AuditResult r = audit_ledger(ledger, history);
  EXPECT_FALSE(r.valid());
  EXPECT_EQ(r.duplicate_ops, 2u);
  EXPECT_EQ(r.extra_commits, 3u);  // a twice more, b once more
  EXPECT_EQ(r.inconsistent_ops, 0u);
  ASSERT_FALSE(r.examples.empty());
  EXPECT_NE(r.examples[0].find("a committed 3 times"), std::string::npos) << r.examples[0];
}

TEST(Audit, FailedButCommittedIsInconsistent) {
  std::vector<LedgerEntry> ledger{{"a", 2, true}};
  std::vector<ClientOutcome> history{{"a", ClientView::kFailed, 2}};
  AuditResult r = audit_ledger(ledger, history);
  EXPECT_EQ(r.inconsistent_ops, 1u);
  EXPECT_EQ(r.failed_but_committed, 1u);
  EXPECT_EQ(r.duplicate_ops, 0u);
}

// The times of the findings: a duplicate at its second commit (whatever the entries' order), a
// failed-yet-committed op once both the commit and the client's conclusion happened; an absence
// (seen OK, not in the ledger) has none.
TEST(Audit, TimesEachFindingWhenItCameToBe) {
  const std::chrono::steady_clock::time_point t0{std::chrono::seconds(100)};
  auto at = [&](int ms) { return t0 + std::chrono::milliseconds(ms); };
  std::vector<LedgerEntry> ledger{{"a", 3, false, at(30)},
                                  {"a", 1, false, at(10)},
                                  {"a", 2, false, at(20)},
                                  {"b", 1, true, at(5)},
                                  {"c", 1, true, at(50)}};
  std::vector<ClientOutcome> history{{"a", ClientView::kOk, 3, at(31)},
                                     {"b", ClientView::kFailed, 1, at(40)},
                                     {"c", ClientView::kFailed, 1, at(45)},
                                     {"d", ClientView::kOk, 1, at(1)}};
  AuditResult r = audit_ledger(ledger, history);
  EXPECT_EQ(r.duplicate_ops, 1u);
  EXPECT_EQ(r.first_duplicate, at(20));     // a's second commit
  EXPECT_EQ(r.inconsistent_ops, 3u);        // b, c failed yet committed; d OK yet absent
  EXPECT_EQ(r.first_inconsistent, at(40));  // b: committed at 5, concluded failed at 40
  // Entries without times (a journal from before t_ns): nothing is timed.
  AuditResult untimed = audit_ledger(std::vector<LedgerEntry>{{"a", 1, false}, {"a", 2, false}},
                                     std::vector<ClientOutcome>{{"a", ClientView::kFailed, 2}});
  EXPECT_EQ(untimed.duplicate_ops, 1u);
  EXPECT_FALSE(untimed.first_duplicate);
  EXPECT_FALSE(untimed.first_inconsistent);
}

TEST(Audit, OkButMissingIsInconsistent) {
  std::vector<ClientOutcome> history{{"a", ClientView::kOk, 1}};
  AuditResult r = audit_ledger({}, history);
  EXPECT_EQ(r.inconsistent_ops, 1u);
  EXPECT_EQ(r.ok_but_missing, 1u);
}

TEST(Audit, UnknownIsNeverAnAnomalyByItself) {
  std::vector<LedgerEntry> ledger{{"a", 1, false}};
  std::vector<ClientOutcome> history{{"a", ClientView::kUnknown, 3},
                                     {"b", ClientView::kUnknown, 3}};
  AuditResult r = audit_ledger(ledger, history);
  EXPECT_TRUE(r.valid());
  EXPECT_EQ(r.unknown_ops, 2u);
}

TEST(Audit, UnknownButCommittedTwiceIsStillADuplicate) {
  std::vector<LedgerEntry> ledger{{"a", 1, false}, {"a", 2, false}};
  std::vector<ClientOutcome> history{{"a", ClientView::kUnknown, 2}};
  EXPECT_EQ(audit_ledger(ledger, history).duplicate_ops, 1u);
}

TEST(Audit, ForeignOperationsAreFlagged) {
  std::vector<LedgerEntry> ledger{{"zz", 1, false}};
  AuditResult r = audit_ledger(ledger, {});
  EXPECT_EQ(r.foreign_ops, 1u);
  EXPECT_FALSE(r.valid());
}

TEST(Audit, ExamplesAreCapped) {
  std::vector<LedgerEntry> ledger;
  std::vector<ClientOutcome> history;
  for (int i = 0; i < 20; ++i) {
    std::string op = "op" + std::to_string(i);
    ledger.push_back({op, 1, false});
    ledger.push_back({op, 2, false});
    history.push_back({op, ClientView::kFailed, 2});
  }
  AuditResult r = audit_ledger(ledger, history, 4);
  EXPECT_EQ(r.duplicate_ops, 20u);
  EXPECT_EQ(r.inconsistent_ops, 20u);
  EXPECT_EQ(r.examples.size(), 4u);
}

TEST(Ledger, CommitChecksKeyThenDeadline) {
  Ledger ledger;
  auto past = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  auto future = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  EXPECT_EQ(ledger.commit({"a", 1, false}, std::string("k"), past),
            Ledger::Commit::kDeadlineExceeded);
  EXPECT_EQ(ledger.size(), 0u);
  EXPECT_EQ(ledger.commit({"a", 2, false}, std::string("k"), future), Ledger::Commit::kCommitted);
  // A replay of a committed key is a duplicate even after the deadline: the work is done.
  EXPECT_EQ(ledger.commit({"a", 3, false}, std::string("k"), past), Ledger::Commit::kDuplicate);
  EXPECT_EQ(ledger.size(), 1u);
  EXPECT_TRUE(ledger.append_once("k2", {"b", 1, false}));
  EXPECT_FALSE(ledger.append_once("k2", {"b", 2, false}));
  EXPECT_EQ(ledger.size(), 2u);
}

}  // namespace
}  // namespace faultline::rpc
