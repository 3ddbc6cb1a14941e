// faultline-rpc-server: the RPC server as a standalone program, for running by hand.
//
//   faultline-rpc-server [--port 0] [--threads 2] [--max-frame-bytes N] [--spin-us 20]
//
// Prints "listening on 127.0.0.1:<port>" once bound, serves Arith.Divide, and stops cleanly on
// SIGINT or SIGTERM, printing what it served. (Ledger.Append is deadline-race's: that scenario's
// binary serves it with `--serve`.) The port is bound with SO_REUSEADDR, so a
// server killed and started again with the same --port gets it back (the nemesis's restart).
#include <fmt/format.h>

#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>

#include "servers/rpc/messages.h"
#include "servers/rpc/server.h"

namespace asio = boost::asio;
namespace po = boost::program_options;
using namespace faultline::rpc;

namespace {

// The options, checked; nullopt after --help (printed) or a refusal (printed, with `exit_code`).
std::optional<ServerOptions> parse_options(int argc, char** argv, int& exit_code) {
  po::options_description desc(
      "faultline-rpc-server: Arith.Divide over length-prefixed TCP frames "
      "(see docs/rpc.md)\n\nOptions");
  int port = 0;
  int threads = 2;
  std::uint32_t max_frame = kMaxFrameBytes;
  int spin_us = static_cast<int>(ServerOptions{}.spin.count());
  desc.add_options()("help,h", "print this help and exit")(
      "port", po::value<int>(&port)->default_value(0),
      "TCP port on 127.0.0.1 (0: let the kernel pick one, printed at start)")(
      "threads", po::value<int>(&threads)->default_value(2),
      "io threads, 1..64, each with an io_context of its own")(
      "max-frame-bytes", po::value<std::uint32_t>(&max_frame)->default_value(kMaxFrameBytes),
      "largest frame payload accepted, in bytes (larger: BAD_FRAME and the connection closes)")(
      "spin-us", po::value<int>(&spin_us)->default_value(spin_us),
      "how long an io thread that just had work polls for more before it sleeps, in "
      "microseconds, 0..1000 (0: never; docs/rpc.md)");
  po::variables_map vm;
  exit_code = 2;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "faultline-rpc-server: " << e.what() << " (see --help)\n";
    return std::nullopt;
  }
  if (vm.count("help")) {
    std::cout << desc << '\n';
    exit_code = 0;
    return std::nullopt;
  }
  const char* bad = port < 0 || port > 65535        ? "--port must be 0..65535"
                    : threads < 1 || threads > 64   ? "--threads must be 1..64"
                    : max_frame < 64                ? "--max-frame-bytes must be at least 64"
                    : spin_us < 0 || spin_us > 1000 ? "--spin-us must be 0..1000"
                                                    : nullptr;
  if (bad) {
    std::cerr << "faultline-rpc-server: " << bad << " (see --help)\n";
    return std::nullopt;
  }
  ServerOptions options{"127.0.0.1", static_cast<std::uint16_t>(port), threads, max_frame};
  options.spin = std::chrono::microseconds(spin_us);
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  const auto options = parse_options(argc, argv, exit_code);
  if (!options) return exit_code;
  Server server(*options);
  register_arith(server);

  // The signal handler lives on its own io_context, run by this (the main) thread.
  asio::io_context signals_io;
  asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    std::cout << fmt::format("signal {}: stopping\n", sig) << std::flush;
  });
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "faultline-rpc-server: cannot listen on 127.0.0.1:" << options->port << ": "
              << e.what() << '\n';
    return 1;
  }
  std::cout << fmt::format("listening on 127.0.0.1:{}\n", server.port()) << std::flush;
  signals_io.run();
  server.stop();
  auto s = server.stats();
  std::cout << fmt::format("stopped: {} connections, {} requests, {} bad frames, {} peers gone\n",
                           s.accepted, s.requests, s.bad_frames, s.peer_closed)
            << std::flush;
  return 0;
}
