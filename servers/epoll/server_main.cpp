// faultline-epoll-server: the raw epoll echo reactor as a standalone program.
//
//   faultline-epoll-server [--host 127.0.0.1] [--port 0] [--reactors N] [--duration-s S]
//
// Prints "listening on HOST:PORT" once every reactor polls its listener, then serves until
// SIGINT/SIGTERM (or --duration-s), and prints its counters. With --reactors N > 1 each reactor
// has its own listener on the same port (SO_REUSEPORT) and the kernel spreads connections.
#include <fmt/format.h>
#include <signal.h>

#include <boost/program_options.hpp>
#include <ctime>
#include <iostream>
#include <memory>
#include <vector>

#include "harness/probe/loopback.h"
#include "servers/epoll/reactor.h"

namespace po = boost::program_options;
using faultline::epoll::Listener;
using faultline::epoll::Reactor;
using faultline::epoll::ReactorOptions;

int main(int argc, char** argv) {
  std::string host;
  int port = 0;
  int reactors = 1;
  double duration_s = 0;
  std::size_t max_connections = 0;
  std::size_t max_output = 0;
  po::options_description desc("faultline-epoll-server: framed echo over raw epoll\noptions");
  desc.add_options()("help,h", "print this help")(
      "host", po::value(&host)->default_value("127.0.0.1"), "IPv4 address to bind")(
      "port", po::value(&port)->default_value(0), "TCP port; 0 lets the kernel choose")(
      "reactors", po::value(&reactors)->default_value(1),
      "reactor threads, each with its own SO_REUSEPORT listener (1..64)")(
      "duration-s", po::value(&duration_s)->default_value(0),
      "stop after this many seconds; 0 serves until SIGINT/SIGTERM")(
      "max-connections", po::value(&max_connections)->default_value(8192),
      "connections per reactor; more are closed on accept")(
      "max-output-bytes", po::value(&max_output)->default_value(256 * 1024),
      "unsent reply bytes per connection before the reactor stops reading from it");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "faultline-epoll-server: " << e.what() << " (see --help)\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (reactors < 1 || reactors > 64 || port < 0 || port > 65535 || duration_s < 0) {
    std::cerr << "faultline-epoll-server: --reactors must be 1..64, --port 0..65535, "
                 "--duration-s >= 0\n";
    return 2;
  }

  if (!faultline::is_loopback_host(host)) {
    std::cerr << "faultline-epoll-server: " << faultline::beyond_loopback_warning(host) << "\n";
  }

  // Block the stop signals before any thread starts, so only sigtimedwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  ReactorOptions options;
  options.max_connections = max_connections;
  options.max_output_bytes = max_output;
  std::vector<std::unique_ptr<Reactor>> running;
  try {
    auto bound_port = static_cast<std::uint16_t>(port);
    for (int i = 0; i < reactors; ++i) {
      auto listener = Listener::open(host, bound_port, reactors > 1);
      bound_port = listener->port();
      auto reactor = std::make_unique<Reactor>(listener->fd(), options);
      reactor->own(std::move(listener));  // the reactor owns its listener for its whole life
      reactor->start();
      running.push_back(std::move(reactor));
    }
    std::cout << fmt::format("listening on {}:{}", host, bound_port) << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "faultline-epoll-server: " << e.what() << "\n";
    return 1;
  }

  timespec wait{};
  timespec* timeout = nullptr;
  if (duration_s > 0) {
    wait.tv_sec = static_cast<time_t>(duration_s);
    wait.tv_nsec = static_cast<long>((duration_s - static_cast<double>(wait.tv_sec)) * 1e9);
    timeout = &wait;
  }
  while (sigtimedwait(&stop_signals, nullptr, timeout) < 0 && errno == EINTR) {
  }
  std::uint64_t accepted = 0, echoed = 0, resets = 0, protocol = 0;
  for (auto& r : running) {
    r->stop();
    accepted += r->stats().accepted.load();
    echoed += r->stats().frames_echoed.load();
    resets += r->stats().resets.load();
    protocol += r->stats().protocol_errors.load();
  }
  std::cout << fmt::format(
                   "accepted {} connections, echoed {} frames, {} resets, {} protocol "
                   "errors",
                   accepted, echoed, resets, protocol)
            << std::endl;
  return 0;
}
