#include "servers/rpc/client_fleet.h"

#include <boost/system/system_error.hpp>

#include "harness/probe/resource_tally.h"
#include "servers/rpc/redialing_client.h"

namespace faultline::rpc {

ClientFleet::ClientFleet(int io_threads) : work_(boost::asio::make_work_guard(io_)) {
  for (int i = 0; i < io_threads; ++i) {
    if (!faultline::start_thread(threads_, [this] { io_.run(); })) break;
  }
}

ClientFleet::~ClientFleet() {
  stop();
}

std::shared_ptr<Client> ClientFleet::dial(std::uint16_t port) {
  try {
    return Client::dial(io_, port);
  } catch (const boost::system::system_error& e) {
    // Out of fds (Asio's no_descriptors is EMFILE) is the run's symptom, not a failed call.
    faultline::resource_tally().note_fd(e.code().value(), "socket/connect (Client::dial)");
  } catch (const std::exception&) {
  }
  return nullptr;
}

void ClientFleet::run(std::size_t clients, std::uint16_t port,
                      const std::function<void(Client&, std::size_t)>& body) {
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      if (auto client = dial(port)) {
        body(*client, c);
        client->close();
      }
    });
  }
  for (auto& t : threads) t.join();
}

void ClientFleet::run_redialing(std::size_t clients, std::uint16_t port,
                                const std::function<void(RedialingClient&, std::size_t)>& body) {
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      RedialingClient client(*this, port);
      if (client.connected()) body(client, c);
    });
  }
  for (auto& t : threads) t.join();
}

bool ClientFleet::drain(std::chrono::milliseconds grace) {
  work_.reset();
  const auto end = std::chrono::steady_clock::now() + grace;
  while (!io_.stopped() && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return io_.stopped();
}

void ClientFleet::stop() {
  work_.reset();
  io_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace faultline::rpc
