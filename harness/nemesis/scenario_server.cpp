#include "harness/nemesis/scenario_server.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "harness/scenario/server_counters.h"

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

ServerUnderNemesis::ServerUnderNemesis(Context& ctx, const std::filesystem::path& binary,
                                       std::vector<std::string> args)
    : ctx_(ctx) {
  auto specs = parse_nemesis_specs(ctx.nemesis);  // before anything starts
  server_ = std::make_unique<ServerProcess>(binary, std::move(args));
  server_->start();
  ctx.report.note(fmt::format("server process {} pid {} listening on 127.0.0.1:{}",
                              binary.filename().string(), server_->pid(), server_->port()));
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

RunningServer::RunningServer(Context& ctx) {
  if (ctx.serve == nullptr) {
    throw std::logic_error(
        fmt::format("{} runs a server but gave scenario_main no serve function", ctx.spec.id));
  }
  if (!wants_server_process(ctx)) {
    local_ = (*ctx.serve)(ctx, ServeOptions{});
    ctx.report.note(fmt::format("server listening on 127.0.0.1:{}", local_->port()));
    return;
  }
  // This binary again, with the run's variant, seed and parameters; ServerProcess adds --port.
  state_path_ = std::filesystem::temp_directory_path() /
                fmt::format("faultline-{}-{}.state", ctx.spec.id, ::getpid());
  std::filesystem::remove(state_path_);
  ScenarioArgs args{.variant = ctx.variant, .seed = ctx.seed};
  for (const auto& [key, value] : ctx.params.all()) args.sets.push_back(key + "=" + value);
  args.perturb = ctx.perturb;
  args.serve = true;
  args.state_path = state_path_.string();
  process_ = std::make_unique<ServerUnderNemesis>(
      ctx, std::filesystem::read_symlink("/proc/self/exe"), scenario_argv(args));
}

RunningServer::~RunningServer() {
  stop();
  if (!state_path_.empty()) {
    std::error_code ignored;
    std::filesystem::remove(state_path_, ignored);
    std::filesystem::remove(server_counters_path(state_path_.string()), ignored);
  }
}

std::uint16_t RunningServer::port() const {
  return local_ ? local_->port() : process_->port();
}

void RunningServer::start() {
  if (process_) process_->start();
}

void RunningServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (local_) local_->stop();
  if (process_) process_->stop();
}

pid_t RunningServer::pid() const {
  return local_ ? ::getpid() : process_->server().pid();
}

bool RunningServer::poke() {
  if (local_) {
    local_->poke();
    return true;
  }
  const pid_t server = process_->server().pid();
  return server > 0 && ::kill(server, SIGUSR1) == 0;
}

Measures RunningServer::measures() const {
  if (local_) return local_->measures();
  return read_server_counters(server_counters_path(state_path_.string()));
}

bool RunningServer::wait_for(std::string_view measure, double at_least,
                             std::chrono::milliseconds timeout) const {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (measure_value(measures(), measure) < at_least) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

bool RunningServer::down_between(std::chrono::steady_clock::time_point from,
                                 std::chrono::steady_clock::time_point to) const {
  if (local_) return false;
  for (const auto& outage : process_->server().outages()) {
    if (outage.from <= to && (!outage.to || *outage.to >= from)) return true;
  }
  return false;
}

}  // namespace faultline::nemesis
