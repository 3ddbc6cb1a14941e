#include "harness/nemesis/scenario_server.h"

#include <fmt/format.h>
#include <sys/wait.h>

namespace faultline::nemesis {

ParamSpec server_param() {
  return {"server",
          ParamType::kString,
          "in-process",
          "where the server runs: in-process (threads of this binary) or process (the standalone "
          "server binary, which --nemesis pauses, kills and restarts; any --nemesis implies it)",
          {},
          {},
          {"in-process", "process"}};
}

bool wants_server_process(const Context& ctx) {
  return !ctx.nemesis.empty() || ctx.params.text("server") == "process";
}

ServerUnderNemesis::ServerUnderNemesis(Context& ctx, std::string_view name,
                                       std::vector<std::string> args)
    : ctx_(ctx) {
  auto specs = parse_nemesis_specs(ctx.nemesis);  // before anything starts
  server_ = std::make_unique<ServerProcess>(find_server_binary(name), std::move(args));
  server_->start();
  ctx.report.note(fmt::format("server process {} pid {} listening on 127.0.0.1:{}", name,
                              server_->pid(), server_->port()));
  if (!specs.empty()) {
    nemesis_ = std::make_unique<Nemesis>(std::move(specs), ctx.seed, *server_, ctx.report);
  }
}

ServerUnderNemesis::~ServerUnderNemesis() {
  stop();
}

void ServerUnderNemesis::start() {
  if (nemesis_) nemesis_->start();
}

void ServerUnderNemesis::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (nemesis_) nemesis_->stop();
  int status = server_->stop();
  std::string out = server_->output();
  while (!out.empty() && out.back() == '\n') out.pop_back();
  if (status == -1) {
    ctx_.report.note("server process: down at the end of the run (killed, not restarted)");
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    ctx_.report.note(fmt::format("server process stopped: {}", out));
  } else {
    ctx_.report.note(
        fmt::format("server process ended badly (wait status {:#x}): {}", status, out));
  }
}

}  // namespace faultline::nemesis
