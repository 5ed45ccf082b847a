#include "actors/demand_policy.hpp"

#include <algorithm>
#include <vector>

namespace clusterio::demand {

namespace {

using int128 = __int128;

// ---- fair -----------------------------------------------------------------------------------

// Claims are kept in 1/2^20 units: fine enough that the rounding dust of one division is far below
// a unit, coarse enough that stock (< 2^63) times the unit (2^20) times a weight (<= 2^40) fits the
// 127 value bits of an int128.
constexpr int fraction_bits = 20;
constexpr int128 one_unit = int128{1} << fraction_bits;
constexpr std::int64_t max_weight = std::int64_t{1} << 40;

class fair_allocator final : public item_allocator {
public:
  explicit fair_allocator(const policy_config& config) : window_ms_(config.demand_window_ms) {}

  std::int64_t allocate(std::uint64_t instance, std::int64_t count, std::int64_t stock,
                        std::uint64_t now_ms) override {
    if (count <= 0)
      return 0;
    stock = std::max<std::int64_t>(stock, 0);
    expire(now_ms);
    auto it = std::find_if(instances_.begin(), instances_.end(),
                           [instance](const instance_state& s) { return s.id == instance; });
    const bool newcomer = it == instances_.end();
    if (newcomer)
      it = instances_.insert(it, instance_state{instance});
    int128 claimed = 0;
    for (const auto& s : instances_)
      claimed += s.claim;
    if (newcomer || claimed > int128{stock} * one_unit) {
      // Start the division afresh from the stock present now, by weight: either the claims were
      // carved out before this instance was known (it gets its share of what is here, no
      // backlog), or the stock shrank below them by other means than our grants.
      for (auto& s : instances_)
        s.claim = 0;
    }
    auto& self = *it;
    self.ask = count;
    self.last_ms = now_ms;
    // A smaller ask releases the part of the claim above it to the others.
    self.claim = std::min(self.claim, cap(self));

    divide_unclaimed(stock);

    int128 demand = 0;
    for (const auto& s : instances_)
      demand += s.ask;
    if (stock >= demand && self.claim < int128{count} * one_unit) {
      // Plenty, yet the division left this claim short: the others hold carried fractions above
      // their asks (at most one unit each), or this ask is above max_weight. Stock covers every
      // ask, so drop those carries and serve this ask in full; every remaining claim is then at
      // most its ask and stays backed by what is left: sum(asks) - count <= stock - count.
      for (auto& s : instances_)
        s.claim = std::min(s.claim, int128{s.ask} * one_unit);
      self.claim = 0;
      return count;
    }
    auto grant = static_cast<std::int64_t>(std::min<int128>({self.claim / one_unit, count, stock}));
    self.claim -= grant * one_unit;
    return grant;
  }

  void forget(std::uint64_t instance) override {
    instances_.erase(std::remove_if(instances_.begin(), instances_.end(),
                                    [instance](const instance_state& s) { return s.id == instance; }),
                     instances_.end());
  }

private:
  struct instance_state {
    std::uint64_t id = 0;
    std::int64_t ask = 0;      ///< latest ask: the weight under scarcity, >= 1
    int128 claim = 0;          ///< claim on stored units, in 1/one_unit; 0 <= claim <= cap()
    std::uint64_t last_ms = 0; ///< time of the latest ask
  };

  static std::int64_t weight(const instance_state& s) { return std::min(s.ask, max_weight); }
  // A claim holds up to one whole ask plus one unit. The extra unit carries the fraction that
  // accrued while the instance waited for its next request; capping at the ask alone would hand
  // those fractions to the others and short small asks (an ask of 1 lost ~15% of its share).
  static int128 cap(const instance_state& s) { return (int128{weight(s)} + 1) * one_unit; }

  // Drops instances whose latest ask is older than the window; their claims become unclaimed
  // stock for the next division.
  void expire(std::uint64_t now_ms) {
    auto stale = [this, now_ms](const instance_state& s) {
      return now_ms > s.last_ms && now_ms - s.last_ms > window_ms_;
    };
    instances_.erase(std::remove_if(instances_.begin(), instances_.end(), stale), instances_.end());
  }

  // Water-filling: unclaimed stock is split by weight among instances below their cap. Shares
  // that would pass a cap are cut there and the rest goes round again. Each further pass follows
  // one that capped at least one more instance, so this ends within instances_.size() + 1 passes.
  void divide_unclaimed(std::int64_t stock) {
    int128 unclaimed = int128{stock} * one_unit;
    for (const auto& s : instances_)
      unclaimed -= s.claim;
    while (unclaimed > 0) {
      int128 weights = 0;
      for (const auto& s : instances_)
        if (s.claim < cap(s))
          weights += weight(s);
      if (weights == 0)
        return; // every claim is at its cap: the rest waits for newcomers or larger asks
      const int128 pass_total = unclaimed;
      bool capped = false;
      for (auto& s : instances_) {
        int128 room = cap(s) - s.claim;
        if (room <= 0)
          continue;
        int128 share = pass_total * weight(s) / weights;
        if (share >= room) {
          share = room;
          capped = true;
        }
        s.claim += share;
        unclaimed -= share;
      }
      if (!capped)
        return; // what is left is rounding dust; the next request divides it again
    }
  }

  std::uint64_t window_ms_;
  // Active instances in order of arrival. A vector: every request walks all of them anyway.
  std::vector<instance_state> instances_;
};

// ---- first-come -----------------------------------------------------------------------------

class first_come_allocator final : public item_allocator {
public:
  std::int64_t allocate(std::uint64_t, std::int64_t count, std::int64_t stock,
                        std::uint64_t) override {
    return std::max<std::int64_t>(std::min(count, stock), 0);
  }
  void forget(std::uint64_t) override {}
};

// ---- dole -----------------------------------------------------------------------------------

// 1.x's "doleDivisionRetardation" and the factor's ceiling (reference §1.5 A).
constexpr std::int64_t dole_retardation = 10;
constexpr std::int64_t max_dole_factor = 250;

class dole_allocator final : public item_allocator {
public:
  std::int64_t allocate(std::uint64_t, std::int64_t count, std::int64_t stock,
                        std::uint64_t) override {
    if (count <= 0)
      return 0;
    stock = std::max<std::int64_t>(stock, 0);
    // round(R * count / (F + R)) with halves up: floor((2 * R * count + divisor) / (2 * divisor)).
    const int128 divisor = factor_ + dole_retardation;
    const auto scaled =
        static_cast<std::int64_t>((2 * int128{dole_retardation} * count + divisor) / (2 * divisor));
    if (stock >= scaled) {
      factor_ = std::max<std::int64_t>(factor_ - 1, 0);
      return scaled;
    }
    factor_ = std::min(max_dole_factor, std::max<std::int64_t>(factor_, 1) * 2);
    return stock;
  }
  // The factor belongs to the item, not to any instance.
  void forget(std::uint64_t) override {}

private:
  std::int64_t factor_ = 0; ///< F, 0..max_dole_factor
};

} // namespace

bool parse_policy(std::string_view text, policy_kind& out) {
  for (auto kind : {policy_kind::fair, policy_kind::first_come, policy_kind::dole}) {
    if (text == to_string(kind)) {
      out = kind;
      return true;
    }
  }
  return false;
}

std::string_view to_string(policy_kind kind) {
  switch (kind) {
    case policy_kind::fair:
      return "fair";
    case policy_kind::first_come:
      return "first-come";
    case policy_kind::dole:
      return "dole";
  }
  return "fair"; // unreachable for valid enumerators; keeps -Wreturn-type quiet
}

std::unique_ptr<item_allocator> make_allocator(policy_kind kind, const policy_config& config) {
  switch (kind) {
    case policy_kind::first_come:
      return std::make_unique<first_come_allocator>();
    case policy_kind::dole:
      return std::make_unique<dole_allocator>();
    case policy_kind::fair:
      break;
  }
  return std::make_unique<fair_allocator>(config);
}

} // namespace clusterio::demand
