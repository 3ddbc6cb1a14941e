// faultline-rpc-server: the RPC server as a standalone program, for running by hand.
//
//   faultline-rpc-server [--port 0] [--threads 2] [--max-frame-bytes N] [--ledger-work-ms 0]
//                        [--ledger-jitter-pct 0] [--ledger-mode fixed|buggy] [--ledger-file F]
//                        [--seed 0]
//
// Prints "listening on 127.0.0.1:<port>" once bound, serves Arith.Divide and Ledger.Append
// (servers/rpc/ledger_service.h: fixed by default, the deadline checked before the commit and
// idempotency keys honoured; --ledger-mode buggy is deadline-race's incident), and stops cleanly
// on SIGINT or SIGTERM, printing what it served. The port is bound with SO_REUSEADDR, so a
// server killed and started again with the same --port gets it back (the nemesis's restart).
#include <fmt/format.h>

#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>
#include <csignal>
#include <iostream>
#include <memory>

#include "servers/rpc/ledger_service.h"
#include "servers/rpc/messages.h"
#include "servers/rpc/server.h"

namespace asio = boost::asio;
namespace po = boost::program_options;
using namespace faultline::rpc;

int main(int argc, char** argv) {
  po::options_description desc(
      "faultline-rpc-server: Arith.Divide and Ledger.Append over length-prefixed TCP frames "
      "(see docs/rpc.md)\n\nOptions");
  int port = 0;
  int threads = 2;
  std::uint32_t max_frame = kMaxFrameBytes;
  int work_ms = 0;
  int jitter_pct = 0;
  std::string ledger_mode = "fixed";
  std::string ledger_file;
  std::uint64_t seed = 0;
  desc.add_options()("help,h", "print this help and exit")(
      "port", po::value<int>(&port)->default_value(0),
      "TCP port on 127.0.0.1 (0: let the kernel pick one, printed at start)")(
      "threads", po::value<int>(&threads)->default_value(2), "io_context threads, 1..64")(
      "max-frame-bytes", po::value<std::uint32_t>(&max_frame)->default_value(kMaxFrameBytes),
      "largest frame payload accepted, in bytes (larger: BAD_FRAME and the connection closes)")(
      "ledger-work-ms", po::value<int>(&work_ms)->default_value(0),
      "time Ledger.Append works before it commits, in milliseconds (0..60000)")(
      "ledger-jitter-pct", po::value<int>(&jitter_pct)->default_value(0),
      "each request works ledger-work-ms x (1 +- jitter%), uniform, seeded by --seed (0..100)")(
      "ledger-mode", po::value<std::string>(&ledger_mode)->default_value("fixed"),
      "fixed: check the deadline before the commit and honour idempotency keys; buggy: commit "
      "whatever the deadline says (deadline-race's incident)")(
      "ledger-file", po::value<std::string>(&ledger_file),
      "journal every commit to this file (one JSON line each) and resume the ledger from it at "
      "start, so commits survive a kill and a restart")(
      "seed", po::value<std::uint64_t>(&seed)->default_value(0), "seed of the work-time draws");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "faultline-rpc-server: " << e.what() << " (see --help)\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << '\n';
    return 0;
  }
  if (port < 0 || port > 65535 || threads < 1 || threads > 64 || work_ms < 0 || work_ms > 60000 ||
      jitter_pct < 0 || jitter_pct > 100 || max_frame < 64) {
    std::cerr << "faultline-rpc-server: a value is out of range (see --help)\n";
    return 2;
  }

  if (ledger_mode != "buggy" && ledger_mode != "fixed") {
    std::cerr << "faultline-rpc-server: --ledger-mode is buggy or fixed, not '" << ledger_mode
              << "'\n";
    return 2;
  }

  Server server(ServerOptions{"127.0.0.1", static_cast<std::uint16_t>(port), threads, max_frame});
  register_arith(server);
  Ledger ledger;
  LedgerServiceStats ledger_stats;
  std::unique_ptr<LedgerJournal> journal;
  if (!ledger_file.empty()) {
    try {
      journal = std::make_unique<LedgerJournal>(ledger_file, ledger);
    } catch (const std::exception& e) {
      std::cerr << "faultline-rpc-server: " << e.what() << '\n';
      return 1;
    }
  }
  register_ledger(server, ledger, ledger_stats,
                  LedgerServiceOptions{ledger_mode == "fixed", std::chrono::milliseconds(work_ms),
                                       static_cast<double>(jitter_pct) / 100.0, seed});

  // The signal handler lives on its own io_context, run by this (the main) thread.
  asio::io_context signals_io;
  asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    std::cout << fmt::format("signal {}: stopping\n", sig) << std::flush;
  });
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "faultline-rpc-server: cannot listen on 127.0.0.1:" << port << ": " << e.what()
              << '\n';
    return 1;
  }
  std::cout << fmt::format("listening on 127.0.0.1:{}\n", server.port()) << std::flush;
  signals_io.run();
  server.stop();
  auto s = server.stats();
  std::cout << fmt::format(
                   "stopped: {} connections, {} requests, {} bad frames, {} peers gone, {} "
                   "ledger entries ({} late ok, {} deadline exceeded, {} key replays)\n",
                   s.accepted, s.requests, s.bad_frames, s.peer_closed, ledger.size(),
                   ledger_stats.late_ok.load(), ledger_stats.deadline_exceeded.load(),
                   ledger_stats.replays.load())
            << std::flush;
  return 0;
}
