// vector-growth-alias: a reference, or an in-flight write buffer, into a std::vector outlives
// the vector's storage once an append outgrows the capacity.
//
// Incident (seed 003, part 2, Go): a function appended to a slice it was given and then set
// s[0]. Within the capacity the append reused the caller's backing array, so the write reached
// the caller; past the capacity append moved the elements to a new array and the write silently
// stopped reaching the caller. Go's GC keeps the old array alive; in C++ the old storage is
// freed, so the alias dangles.
// Root cause: holding on to an element's address across an operation that may reallocate.
// Fix: a container whose push_back at the end never moves elements (std::deque), or buffers the
// writer owns.
//
// Mode `reference` (the seed's own shape, sequential as in the seed): a batch starts with one
// record and room for `capacity`; a handler keeps `Record& first = batch.front()`, appends
// 1..max-append records, then marks `first`.
//   handler                         batch storage
//   first = &slot0 of block A       block A [r0, _ ]          (capacity 2)
//   push_back(r1)                   block A [r0, r1]          within capacity: first still ok
//   push_back(r2)                   block B [r0, r1, r2, _]   block A freed
//   first.status = kMarked          writes into freed block A: ASan heap-use-after-free;
//                                   without ASan the batch's r0 stays unmarked: a lost write
//
// Mode `async` (the classic async-server form): a Boost.Asio server keeps each connection's
// write queue in a std::vector<std::string>; async_write sends queue.front() while a publisher
// thread posts more frames to the connection's strand. Frames are short enough (15 bytes) to
// sit in the std::string's inline buffer, so the bytes being sent live in the vector's storage.
//   strand (server)                              kernel / reactor
//   async_write(buffer(queue.front()))           socket full: the send waits for room
//   deliver(frame): queue.push_back(frame)
//     size == capacity: new storage, strings
//     moved, old storage freed
//                                                socket writable: send() reads the buffer,
//                                                which points into the freed storage
//   ASan: heap-use-after-free in send(); without ASan the client gets whatever the freed bytes
//   hold by then, and its checksum fails: corrupt_frame.
// With libstdc++ a longer frame lives on the heap and a move keeps that heap block, so the
// vector variant stops failing above 15 bytes (see frame-bytes): the hazard hides behind the
// small-string optimisation.
// Times (first_symptom_s): lost_write when the handler's check first found its mark missing,
// corrupt_frame when a client's check first failed (servers/queue/client.cpp).
#include <fmt/format.h>

#include <deque>
#include <random>
#include <stdexcept>
#include <vector>

#include "harness/fault/route.h"
#include "harness/scenario/scenario_api.h"
#include "servers/queue/load.h"

namespace {
using namespace faultline;
using Clock = std::chrono::steady_clock;
// The window: a batch outgrew its room (reference), or a frame was queued mid-write (async).
const std::vector<std::string> kReach{"appends_past_capacity>0", "pushes_during_write>0"};
const ScenarioSpec kSpec{
    "vector-growth-alias",
    "003",
    "a reference / in-flight buffer into a std::vector dangles after growth",
    "heap_use_after_free (ASan); without sanitizer lost_write (mode reference) or corrupt_frame "
    "(mode async)",
    {"buggy", "fixed"},
    {text_param(
         "mode", "reference", {"reference", "async"},
         "reference: the seed's alias kept across appends; async: an Asio server's write queue"),
     int_param("batches", 10000, 1, 100'000'000, "reference: batches handled"),
     int_param(
         "capacity", 2, 1, 1'000'000,
         "reference: room reserved in a batch holding one record (seed: make([]string, 1, 2))"),
     int_param(
         "max-append", 2, 1, 1'000'000,
         "reference: a handler appends 1..max-append records (seed: 1 within, 2 past capacity)"),
     int_param("connections", 4, 1, 256, "async: client connections, one thread each"),
     int_param("frames", 2000, 1, 1'000'000, "async: frames sent on each connection"),
     int_param("frame-bytes", 15, 11, 4096,
               "async: frame size; up to 15 the bytes sit inside the std::string (libstdc++ SSO)"),
     int_param("burst", 32, 1, 100'000, "async: frames the publisher posts per connection at once"),
     int_param("burst-gap-us", 200, 0, 1'000'000, "async: publisher pause between bursts, in us"),
     int_param("io-threads", 2, 1, 64, "async: server io_context threads"),
     int_param("sndbuf-bytes", 4096, 1024, 16 << 20,
               "async: SO_SNDBUF of server sockets (small, so sends wait for room as under a slow "
               "client)"),
     int_param("rcvbuf-bytes", 4096, 1024, 16 << 20, "async: SO_RCVBUF of client sockets"),
     int_param("client-stall-ms", 50, 0, 60'000,
               "async: a client waits this long after connecting before its first read, in ms"),
     int_param("client-read-delay-us", 2000, 0, 1'000'000,
               "async: a slow consumer's pause after each read of up to 16 frames, in us"),
     int_param("time-limit-ms", 8000, 100, 600'000,
               "async: publisher and clients give up after this many milliseconds")},
    {"tcp"},  // mode async only: mode reference has no network and refuses --fault
    {expect_incident("buggy", "none", {{"lost_write"}, {"corrupt_frame"}}, kReach),
     expect_incident("buggy", "tsan",
                     {{"heap_use_after_free"}, {"lost_write"}, {"corrupt_frame"}, {"data_race"}},
                     kReach),
     expect_incident("buggy", "asan", {{"heap_use_after_free"}}, kReach),
     expect_clean("fixed", "*", kReach)}};

struct Record {
  std::uint64_t order_id = 0, amount = 0, status = 0, version = 0;
};
constexpr std::uint64_t kFresh = 1, kMarked = 2;

// The buggy and fixed lines: mode reference's batch, mode async's write queue (servers/queue/).
using BuggyBatch = std::vector<Record>;       // BUG: push_back past capacity moves every record
using FixedBatch = std::deque<Record>;        // FIX: push_back at the end never moves a record
using BuggyQueue = std::vector<std::string>;  // BUG: growth moves the frame being sent
using FixedQueue = std::deque<std::string>;   // FIX: growth at the end moves nothing

template <class Batch>
int run_reference(Context& ctx) {
  const auto batches = ctx.params.count("batches"), capacity = ctx.params.count("capacity");
  std::mt19937_64 rng(ctx.seed);
  std::uniform_int_distribution<std::int64_t> append_dist(1, ctx.params.integer("max-append"));
  std::uint64_t lost = 0;  // marks that went to storage the batch left (the rest reached it)
  std::optional<Clock::time_point> first_lost;  // when the first lost one was found
  std::uint64_t moved = 0, past_room = 0;  // the first record moved / the appends outgrew the room
  for (std::uint64_t b = 0; b < batches; ++b) {
    Batch batch;
    if constexpr (std::is_same_v<Batch, std::vector<Record>>) batch.reserve(capacity);
    batch.push_back({b, 100, kFresh, 1});
    Record& first = batch.front();  // the handler's alias: valid while the record stays put
    const auto* first_address = &first;
    const auto appended = static_cast<std::uint64_t>(append_dist(rng));
    for (std::uint64_t i = 0; i < appended; ++i) batch.push_back({b, i, kFresh, 1});
    if (appended + 1 > capacity) ++past_room;
    if (&batch.front() != first_address) ++moved;
    first.status = kMarked;  // the seed's s[0] = "..." after the appends
    if (batch.front().status != kMarked && lost++ == 0) first_lost = Clock::now();
  }
  ctx.report.metrics(Measures{{"batches", batches, "batches"},
                              {"appends_past_capacity", past_room, "batches"},
                              {"alias_moved", moved, "batches"},
                              {"writes_reached", batches - lost, "writes"}});
  ctx.report.observation("lost_write", lost,
                         fmt::format("{} of {} marks written through the alias never reached "
                                     "the batch ({} batches outgrew the reserved room)",
                                     lost, batches, past_room),
                         first_lost);
  fmt::print("{} {} reference: {} batches, {} past capacity, {} alias moved, {} lost writes\n",
             kSpec.id, ctx.variant, batches, past_room, moved, lost);
  return 0;
}

template <class Queue>
int run_async(Context& ctx) {
  const auto& p = ctx.params;
  const queue::LoadOptions o = queue::load_options(
      p.count("connections"), p.count("frames"), p.count("frame-bytes"), p.count("burst"),
      p.us("burst-gap-us"), p.count("io-threads"), p.number("sndbuf-bytes"),
      p.number("rcvbuf-bytes"), p.ms("client-stall-ms"), p.us("client-read-delay-us"),
      p.ms("time-limit-ms"), ctx.seed, kSpec.id);
  queue::Load<Queue> load(o);  // the server listens
  ctx.report.metric("server_port", load.port());
  ctx.report.note(fmt::format("server listening on 127.0.0.1:{}", load.port()));
  load.start();
  // With --fault (TCP), the clients dial the fault proxy in front of the server.
  // The proxy's sockets get the clients' buffer size, so the server's socket still fills up.
  const auto route = fault::route_tcp(ctx, load.port(), "tcp", o.rcvbuf_bytes);
  const auto r = load.run({route.port(), [&](std::uint16_t local) {
                             return route.server_side_port(local, std::chrono::seconds(2));
                           }});
  ctx.report.metrics(r.measures());
  ctx.report.histogram("frame_gap", r.frame_gap, 1000.0, "us");
  ctx.report.observation("corrupt_frame", r.frames_corrupt, r.corrupt_detail(), r.first_corrupt);
  fmt::print(
      "{} {} async: port {}, {}/{} connections complete, {} frames ok, {} corrupt, front "
      "moved mid-write {} times\n",
      kSpec.id, ctx.variant, load.port(), r.complete, o.connections, r.frames_ok, r.frames_corrupt,
      r.front_moved_during_write);
  fault::report_route(ctx, route);
  return 0;
}

int run(Context& ctx) {
  const bool fixed = ctx.is("fixed"), reference = ctx.params.text("mode") == "reference";
  if (reference && !ctx.faults.empty()) {
    throw std::invalid_argument(
        "--fault: mode=reference has no network to put faults on; use --set mode=async");
  }
  if (reference) return fixed ? run_reference<FixedBatch>(ctx) : run_reference<BuggyBatch>(ctx);
  return fixed ? run_async<FixedQueue>(ctx) : run_async<BuggyQueue>(ctx);
}

}  // namespace

int main(int argc, char** argv) {
  return scenario_main(argc, argv, kSpec, run);
}
