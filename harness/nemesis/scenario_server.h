// The scenario side of the "process" fault family: a scenario that lists it runs its server in
// process by default (its measured figures) and, with server=process or any --nemesis, as the
// standalone binary under a Nemesis instead:
//
//   std::optional<ServerUnderNemesis> proc;
//   if (wants_server_process(ctx)) proc.emplace(ctx, "faultline-rpc-server", args);  // started
//   ... clients dial proc->port() ...
//   proc->start();           // t = 0 of the nemesis's schedule: the load begins
//   ... load ...
//   proc->stop();            // the schedule ends, the server is resumed, then stopped
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "harness/nemesis/nemesis.h"
#include "harness/nemesis/server_process.h"
#include "harness/scenario/scenario_api.h"

namespace faultline::nemesis {

// The `server` parameter: in-process (default) or process.
ParamSpec server_param();

// server=process, or any --nemesis (a nemesis needs the server in its own process).
bool wants_server_process(const Context& ctx);

class ServerUnderNemesis {
 public:
  // Parses ctx.nemesis (std::invalid_argument for a bad spec), finds and starts the standalone
  // server `name` with `args` (std::runtime_error if it cannot), and notes where it listens.
  ServerUnderNemesis(Context& ctx, std::string_view name, std::vector<std::string> args);
  ~ServerUnderNemesis();  // stop()

  std::uint16_t port() const { return server_->port(); }
  ServerProcess& server() { return *server_; }
  void start();  // starts the nemesis (if any spec): its t = 0
  // Ends the nemesis (reporting its metrics), then stops the server and notes what it printed.
  // Idempotent.
  void stop();

 private:
  Context& ctx_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Nemesis> nemesis_;
  bool stopped_ = false;
};

}  // namespace faultline::nemesis
