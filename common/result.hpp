#pragma once
// The one result type of every call that can fail: a value, or a failure that says what went
// wrong in words a person can act on. Callers add context on the way up
// ("master.db: commit: database or disk is full"), and test `ok()` and return early, as
// leveldb's Status is used. No exceptions cross these calls.
//
//   result<int> parse_port(std::string_view text);
//   if (auto port = parse_port(text); !port) return port.error().in("control_port");
//   use(*port);

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace clusterio {

/// Why a call failed. `code` is for the callers that must tell failures apart (an errno value
/// such as EWOULDBLOCK, or a domain's own enum as an int); most only show `what`.
class failure {
public:
  explicit failure(std::string what, int code = 0) : what_(std::move(what)), code_(code) {}

  const std::string& what() const { return what_; }
  int code() const { return code_; }

  /// The same failure, with `context` in front: "context: what".
  failure in(std::string_view context) const& { return failure(std::string(context) + ": " + what_, code_); }
  failure in(std::string_view context) && {
    what_.insert(0, std::string(context) + ": ");
    return std::move(*this);
  }

private:
  std::string what_;
  int code_;
};

/// A value of type T, or a failure.
template <class T> class [[nodiscard]] result {
public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(failure f) : v_(std::in_place_index<1>, std::move(f)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  /// REQUIRES: ok().
  T& value() & { return assert(ok()), std::get<0>(v_); }
  const T& value() const& { return assert(ok()), std::get<0>(v_); }
  T&& value() && { return assert(ok()), std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  /// The value, or `fallback` on failure.
  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

  /// REQUIRES: !ok().
  const failure& error() const { return assert(!ok()), std::get<1>(v_); }
  /// The failure's text, or "" when ok (for messages and logs).
  const std::string& why() const {
    static const std::string none;
    return ok() ? none : error().what();
  }

private:
  std::variant<T, failure> v_;
};

/// Success without a value, or a failure.
template <> class [[nodiscard]] result<void> {
public:
  result() = default;
  result(failure f) : err_(std::move(f)) {}

  bool ok() const { return !err_; }
  explicit operator bool() const { return ok(); }
  /// REQUIRES: !ok().
  const failure& error() const { return assert(!ok()), *err_; }
  const std::string& why() const {
    static const std::string none;
    return ok() ? none : err_->what();
  }

private:
  std::optional<failure> err_;
};

/// The successful result<void>, for `return done();` where the type is not spelled out.
inline result<void> done() { return {}; }

} // namespace clusterio
