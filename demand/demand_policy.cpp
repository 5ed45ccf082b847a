#include "demand/demand_policy.hpp"

#include <algorithm>
#include <list>
#include <unordered_map>
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

  // Plenty (stock covers every active ask) costs O(1) amortised, whatever the number of
  // instances; only scarcity divides, in O(instances) per request.
  std::int64_t allocate(std::uint64_t instance, std::int64_t count, std::int64_t stock,
                        std::uint64_t now_ms) override {
    if (count <= 0)
      return 0;
    stock = std::max<std::int64_t>(stock, 0);
    clock_ms_ = std::max(clock_ms_, now_ms); // a step back counts as "just now"
    expire();
    auto found = index_.find(instance);
    if (found == index_.end()) {
      // The claims were carved out before this instance was known: the next division starts
      // afresh from the stock present then, and it gets its share of that, no backlog.
      found = index_.emplace(instance, active_.insert(active_.end(), instance_state{instance})).first;
      divide_afresh_ = true;
    } else {
      active_.splice(active_.end(), active_, found->second); // latest ask last
    }
    auto& self = *found->second;
    settle(self);
    asked_ += count - self.ask;
    self.ask = count;
    self.last_ms = clock_ms_;
    // A smaller ask releases the part of the claim above it to the others.
    set_claim(self, std::min(self.claim, cap(self)));

    if (int128{stock} >= asked_) {
      // Plenty: this ask in full, and every other active ask is backed by what is left (stock -
      // count >= the others' asks): each holds a claim of its whole ask from now, so that when
      // stock runs short before its next request, it still gets what it asked for. Set lazily
      // (see settle), as this runs for every request while stock lasts.
      ++plenty_epoch_;
      self.epoch = plenty_epoch_;
      self.claim = 0;
      claimed_ = (asked_ - count) * one_unit;
      divide_afresh_ = false;
      return count;
    }
    if (divide_afresh_ || claimed_ > int128{stock} * one_unit) {
      // Start the division afresh from the stock present now, by weight: a newcomer (above), or
      // stock that shrank below the claims by other means than scarce grants (plenty grants).
      for (auto& s : active_) {
        s.claim = 0;
        s.epoch = plenty_epoch_;
      }
      claimed_ = 0;
      divide_afresh_ = false;
    }
    divide_unclaimed(stock);
    auto grant = static_cast<std::int64_t>(std::min<int128>({self.claim / one_unit, count, stock}));
    set_claim(self, self.claim - int128{grant} * one_unit);
    return grant;
  }

  void forget(std::uint64_t instance) override {
    if (auto it = index_.find(instance); it != index_.end())
      drop(it);
  }

private:
  struct instance_state {
    std::uint64_t id = 0;
    std::int64_t ask = 0;      ///< latest ask: the weight under scarcity, >= 1
    int128 claim = 0;          ///< claim on stored units, in 1/one_unit; 0 <= claim <= cap()
    std::uint64_t last_ms = 0; ///< time of the latest ask
    std::uint64_t epoch = 0;   ///< below plenty_epoch_: the claim is the whole ask (settle)
  };
  using active_list = std::list<instance_state>;

  static std::int64_t weight(const instance_state& s) { return std::min(s.ask, max_weight); }
  // A claim holds up to one whole ask plus one unit. The extra unit carries the fraction that
  // accrued while the instance waited for its next request; capping at the ask alone would hand
  // those fractions to the others and short small asks (an ask of 1 lost ~15% of its share).
  static int128 cap(const instance_state& s) { return (int128{weight(s)} + 1) * one_unit; }

  /// Applies a plenty grant's "every other claim is its whole ask" to `s` (claimed_ counts it
  /// so already).
  void settle(instance_state& s) {
    if (s.epoch < plenty_epoch_) {
      s.claim = int128{s.ask} * one_unit;
      s.epoch = plenty_epoch_;
    }
  }

  void set_claim(instance_state& s, int128 claim) {
    claimed_ += claim - s.claim;
    s.claim = claim;
  }

  void drop(std::unordered_map<std::uint64_t, active_list::iterator>::iterator it) {
    settle(*it->second);
    asked_ -= it->second->ask;
    claimed_ -= it->second->claim;
    active_.erase(it->second);
    index_.erase(it);
  }

  // Drops instances whose latest ask is older than the window (the oldest asks come first);
  // their claims become unclaimed stock for the next division.
  void expire() {
    while (!active_.empty() && clock_ms_ - active_.front().last_ms > window_ms_)
      drop(index_.find(active_.front().id));
  }

  // Water-filling: unclaimed stock is split by weight among instances below their cap. Shares
  // that would pass a cap are cut there and the rest goes round again. Each further pass follows
  // one that capped at least one more instance, so this ends within active_.size() + 1 passes.
  void divide_unclaimed(std::int64_t stock) {
    int128 unclaimed = int128{stock} * one_unit - claimed_;
    while (unclaimed > 0) {
      int128 weights = 0;
      for (auto& s : active_) {
        settle(s);
        if (s.claim < cap(s))
          weights += weight(s);
      }
      if (weights == 0)
        return; // every claim is at its cap: the rest waits for newcomers or larger asks
      const int128 pass_total = unclaimed;
      bool capped = false;
      for (auto& s : active_) {
        int128 room = cap(s) - s.claim;
        if (room <= 0)
          continue;
        int128 share = pass_total * weight(s) / weights;
        if (share >= room) {
          share = room;
          capped = true;
        }
        set_claim(s, s.claim + share);
        unclaimed -= share;
      }
      if (!capped)
        return; // what is left is rounding dust; the next request divides it again
    }
  }

  std::uint64_t window_ms_;
  std::uint64_t clock_ms_ = 0; ///< the latest now_ms seen
  active_list active_;         ///< instances that asked within the window, oldest ask first
  std::unordered_map<std::uint64_t, active_list::iterator> index_;
  int128 asked_ = 0;           ///< sum of the active instances' latest asks
  int128 claimed_ = 0;         ///< sum of their claims
  bool divide_afresh_ = false; ///< an instance joined since the last division
  std::uint64_t plenty_epoch_ = 0; ///< plenty grants so far
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

// 1.x's "doleDivisionRetardation" and the factor's ceiling.
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

result<policy_kind> parse_policy(std::string_view text) {
  for (auto kind : {policy_kind::fair, policy_kind::first_come, policy_kind::dole})
    if (text == to_string(kind))
      return kind;
  return failure("must be fair, first-come or dole (not '" + std::string(text) + "')");
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
