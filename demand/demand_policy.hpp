#pragma once
// Demand policies: how much of ONE item the master grants to each request that asks for it.
//
// Pure logic: no CAF, no I/O, no clock. Time comes in as an argument, so tests drive it. The
// storage's ledger (actors/master/storage_ledger.hpp) keeps one allocator per item and asks it
// once per requested item, with the stock as it is.
//
// Thread safety: none. An allocator belongs to the one actor that calls it.
//
// Common guarantees, every policy:
//   * 0 <= grant <= min(count, stock). A grant never exceeds the ask or the stock.
//   * A request with count <= 0 gets 0 and changes nothing. (1.x's dole path treated a negative
//     count as success and so *added* items.) A negative stock counts as 0.
//   * Arithmetic never overflows, whatever the int64 inputs: products use 128 bits.
//
// The policies:
//
// fair (the default)
//   * Plenty: when stock >= the sum of the latest asks of every instance that asked within
//     policy_config::demand_window_ms (this ask included), the ask is granted in full at once.
//   * Scarcity: stock is divided among the instances that asked within the window, in proportion to
//     their latest ask. The division does not depend on the order in which requests arrive: the
//     instance that happens to ask first after new stock arrives does not get more. Long-run shares
//     match the weights within a few percent (tests/demand/demand_policy_test.cpp measures it).
//   * Nobody starves: fractions of a unit are carried over, so even 1 unit per second shared by
//     many instances reaches each of them in turn.
//   * No hoarding: an instance never holds more than its latest ask plus one unit of carried
//     fractions; what it cannot hold goes to the others. A grant never exceeds the ask.
//   * An instance that has not asked within the window, or that was forget()-ed, drops out of the
//     division, and what it held goes back to the others. A newcomer (or one returning after the
//     window) gets its weighted share of the stock present from then on, no backlog.
//   How: each instance holds a claim on stored units, in 1/2^20 units. At each request, stock that
//   nobody claims (new production, released claims) is divided among the active instances by
//   weight (latest ask), each claim capped at ask + 1 unit; what a capped instance cannot take goes
//   round again to the others (water-filling). The request is granted the whole units of its own
//   claim, at most its ask. Rounding dust is never lost: it stays unclaimed stock and is divided
//   again at the next request. Under plenty (stock covers every active ask) the ask is granted in
//   full and every other active instance holds a claim of exactly its own ask, which what is left
//   backs. When a scarce request finds a newcomer arrived since the last division, or claims above
//   the stock (it shrank by other means than scarce grants), all claims are dropped and the stock
//   present is divided afresh by weight.
//   Why claims and not "cumulative grants G_i per scarcity episode, target = pool * d_i / D - G_i":
//   that scheme re-weights the whole episode by the *latest* asks, so an instance whose ask drops
//   and later rises again (or a newcomer mid-episode) is owed the whole backlog and starves the
//   others for as long. A claim only ever covers stock that exists now.
//   Trade-off: claims reserve stock for instances that asked recently, including ones just served
//   in full, because under steady demand they ask again next second. So at a cold start, when
//   stock only just covers the first round of asks, the last askers may get part now and the rest
//   at their next request (from then on the same supply serves everybody in full); and an
//   instance that went quiet keeps up to its ask + 1 reserved until the window runs out.
//   Limits: under scarcity an ask above 2^40 units counts as 2^40 (weight and claim cap) so that the
//   fixed-point products fit 128 bits; under plenty it is granted in full as usual.
//   Cost: under plenty O(1) amortised, whatever the number of instances (running sums, an index,
//   expiry from the oldest ask; the others' claims are set lazily). Under scarcity O(active
//   instances) per request, times the passes of a division (one, plus one per instance that
//   reaches its cap in it). bench/demand_alloc.cpp measures both.
//
// first-come
//   Grants min(count, stock). One instance can take everything (1.x's disableFairItemDistribution).
//
// dole
//   The 1.x dole division, made per item. A factor F, starting at 0, scales every
//   ask down: c' = round(10 * count / (F + 10)), halves rounded up (JavaScript Math.round), exactly,
//   in integers. If stock >= c' the grant is c' and F = max(F - 1, 0); otherwise the grant is what
//   is left (the stock) and F doubles: F = min(250, max(F, 1) * 2), i.e. 0 -> 2 -> 4 ... -> 128 -> 250.
//   A grant of 0 with c' == 0 still counts as served, as in 1.x. Known weakness: requests are served
//   in arrival order, so under scarcity the same instances tend to be short. Prefer fair.
//   Deviations from 1.x, all fixes of its known faults:
//   * Not a deviation, a clarification: F is per item (one allocator per item, like 1.x's
//     F[name]), never one factor for all items. It is shared by all instances asking for that item
//     (it looks like a quirk, but it is what dole means; use fair to avoid it), so forget()
//     leaves it alone.
//   * ">=" instead of 1.x's strict ">": a request equal to the stock succeeds, the last unit can be
//     taken.
//   * A short request gets what is left instead of 1.x's all-or-nothing 0.
//   * Zero stock is not special-cased (1.x returned 0 with F unchanged when stock was 0 in
//     0feaab83..1.1.0): it is an ordinary short request, so it grants 0 and doubles F.
//   * Negative or zero counts grant 0 and leave F unchanged (1.x added items).
//   * F starts at 0 on every start, like 1.x; it is not persisted.

#include <cstdint>
#include <memory>
#include <string_view>

#include "common/result.hpp"

namespace clusterio::demand {

/// Which policy divides an item among the instances that ask for it. See the file comment.
enum class policy_kind { fair, first_come, dole };

/// Parses "fair", "first-come" or "dole" (exact spelling); any other text is a failure.
result<policy_kind> parse_policy(std::string_view text);

/// The text parse_policy() accepts for `kind`.
std::string_view to_string(policy_kind kind);

struct policy_config {
  /// Fair policy: an instance that asked within this window (milliseconds) counts as demanding.
  /// Instances ask about once a second, so this should span a few request intervals. Longer: an
  /// instance that went quiet keeps its claim on scarce stock longer. Shorter: one late request
  /// drops an instance out of the division. Default 5000.
  std::uint64_t demand_window_ms = 5000;
};

/// Decides grants for ONE item. Requests arrive one at a time, asynchronously, from many instances
/// (each instance asks about once a second for what its chests miss).
class item_allocator {
public:
  virtual ~item_allocator() = default;

  /// Instance `instance` asks for `count` units at time `now_ms`; `stock` units are in storage.
  /// Returns the amount to grant now: 0 <= grant <= min(count, stock). Never more. The caller
  /// deducts the grant from the stock it passes next time.
  /// REQUIRES: count >= 1 and stock >= 0 (anything else grants 0, see the file comment).
  /// REQUIRES: now_ms from one monotonic clock (a step back counts as "just now").
  virtual std::int64_t allocate(std::uint64_t instance, std::int64_t count, std::int64_t stock,
                                std::uint64_t now_ms) = 0;

  /// The instance went away (deleted/offline): drop its state. Unknown instances are ignored.
  virtual void forget(std::uint64_t instance) = 0;
};

/// A fresh allocator for one item. Never returns null.
std::unique_ptr<item_allocator> make_allocator(policy_kind kind, const policy_config& config);

} // namespace clusterio::demand
