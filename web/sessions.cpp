#include "web/sessions.hpp"

#include <algorithm>

#include "common/random_hex.hpp"
#include "common/sha256.hpp"

namespace clusterio::web {

session_store::started session_store::start(std::uint64_t now_ms, bool admin, std::string who, bool web_user) {
  started s{random_hex(32), random_hex(32)};
  std::lock_guard lock(mu_);
  for (auto it = sessions_.begin(); it != sessions_.end();)
    it = it->second.expires_ms <= now_ms ? sessions_.erase(it) : std::next(it);
  if (sessions_.size() >= max_sessions) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(),
                                   [](const auto& a, const auto& b) { return a.second.expires_ms < b.second.expires_ms; });
    sessions_.erase(oldest);
  }
  sessions_[sha256_hex(s.token)] = {s.csrf, now_ms + lifetime_ms, admin, std::move(who), web_user};
  return s;
}

std::optional<session_store::session> session_store::find(const std::string& token, std::uint64_t now_ms) {
  if (token.empty())
    return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = sessions_.find(sha256_hex(token));
  if (it == sessions_.end() || it->second.expires_ms <= now_ms)
    return std::nullopt;
  return it->second;
}

void session_store::end(const std::string& token) {
  std::lock_guard lock(mu_);
  sessions_.erase(sha256_hex(token));
}

std::string session_token_in(std::string_view cookie_header) {
  while (!cookie_header.empty()) {
    auto semi = cookie_header.find(';');
    auto part = cookie_header.substr(0, semi);
    while (!part.empty() && part.front() == ' ')
      part.remove_prefix(1);
    if (part.size() > session_cookie.size() && part.substr(0, session_cookie.size()) == session_cookie && part[session_cookie.size()] == '=')
      return std::string(part.substr(session_cookie.size() + 1));
    if (semi == std::string_view::npos)
      break;
    cookie_header.remove_prefix(semi + 1);
  }
  return {};
}

bool same_secret(std::string_view a, std::string_view b) {
  // Constant time in the secret's length: do not leak how much of a guess was right.
  if (a.size() != b.size())
    return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

} // namespace clusterio::web
