// The checks of text fields (field.hpp): names, labels and free text; the keys of items and signals.

#include "messages/field.hpp"

#include <nlohmann/json.hpp>

#include "messages/limits.hpp"
#include "messages/message.hpp"

namespace clusterio::wire {

namespace {

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n; // continuation bytes
    std::uint32_t cp;
    if (c < 0x80) {
      n = 0;
      cp = c;
    } else if ((c >> 5) == 0x6) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c >> 4) == 0xe) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c >> 3) == 0x1e) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size() && n > 0)
      return false;
    for (std::size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2)
        return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

} // namespace

result<void> check_name(std::string_view s) {
  if (s.empty())
    return failure("name is empty");
  if (s.size() > max_name_bytes)
    return failure("name longer than " + std::to_string(max_name_bytes) + " bytes");
  bool ascii = true;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f)
      return failure("name contains a control character");
    ascii = ascii && c < 0x80;
  }
  if (ascii) // most names: nothing more to check
    return done();
  if (!valid_utf8(s))
    return failure("name is not valid UTF-8");
  // The C1 controls U+0080..U+009F (UTF-8 C2 80..C2 9F): U+009B, for one, starts a terminal
  // escape sequence, and names end up in logs and on operators' terminals.
  for (std::size_t i = 0; i + 1 < s.size(); ++i)
    if (static_cast<unsigned char>(s[i]) == 0xc2 && static_cast<unsigned char>(s[i + 1]) <= 0x9f)
      return failure("name contains a control character");
  return done();
}

result<void> check_quality(std::string_view s) {
  if (auto named = check_name(s); !named)
    return named;
  if (s == normal_quality)
    return failure("quality \"normal\" is never spelled: leave it out");
  return done();
}

namespace {
constexpr char key_separator = '\x1f';
} // namespace

std::string item_key(std::string_view name, std::string_view quality) {
  std::string key(name);
  if (quality != normal_quality) {
    key += key_separator;
    key += quality;
  }
  return key;
}

item_count item_of_key(std::string_view key, std::int64_t count) {
  auto at = key.find(key_separator);
  if (at == std::string_view::npos)
    return {std::string(key), count};
  return {std::string(key.substr(0, at)), count, std::string(key.substr(at + 1))};
}

std::string item_text(std::string_view key) {
  auto item = item_of_key(key, 0);
  if (item.quality == normal_quality)
    return "'" + item.name + "'";
  return "'" + item.name + "' of quality '" + item.quality + "'";
}

std::string signal_key(std::string_view type, std::string_view name, std::string_view quality) {
  std::string key;
  key.reserve(type.size() + name.size() + quality.size() + 2);
  key.append(type).append(1, key_separator).append(name).append(1, key_separator).append(quality);
  return key;
}

std::string signal_text(const circuit_signal& s) {
  return "'" + s.name + "' (" + s.type + ", " + s.quality + ")";
}

result<void> check_signal_type(std::string_view s, bool quality_follows) {
  std::string known;
  for (auto t : signal_types) {
    if (s == t) {
      if (s == item_signal && !quality_follows)
        return failure("type \"item\" is spelled only before a quality: leave it out");
      return done();
    }
    known.append(known.empty() ? "" : ", ").append(t);
  }
  return failure("not a signal type (" + known + ")");
}

result<void> check_label(std::string_view s) {
  if (s.empty())
    return failure("name is empty");
  if (s.size() > max_label_bytes)
    return failure("name longer than " + std::to_string(max_label_bytes) + " bytes");
  if (s[0] == '.')
    return failure("name starts with '.'");
  // Explicit ASCII ranges: std::isalnum depends on the C locale and accepts bytes >= 0x80 in
  // single-byte locales.
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
      return failure("name may contain only letters, digits, '_', '-' and '.'");
  return done();
}

result<void> check_address(std::string_view s) {
  if (s.empty())
    return done(); // not public
  // The port follows the last ':' (an IPv6 host has colons of its own, bracketed or not).
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos)
    return failure("must be host:port");
  auto host = s.substr(0, colon), port = s.substr(colon + 1);
  if (host.empty() || host.size() > max_host_bytes)
    return failure("host must be 1.." + std::to_string(max_host_bytes) + " bytes");
  for (char c : host)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == ':' || c == '[' ||
          c == ']'))
      return failure("host may contain only letters, digits, '.', '-', '_', ':', '[' and ']'");
  unsigned long n = 0;
  for (char c : port) {
    if (c < '0' || c > '9' || (n = n * 10 + static_cast<unsigned long>(c - '0')) > 65535)
      return failure("port must be 1..65535");
  }
  if (port.empty() || port.size() > 5 || n == 0) // no padding zeros: the address has a bounded length
    return failure("port must be 1..65535");
  return done();
}

result<void> check_subscription(std::string_view prefix) {
  auto starts = [&](std::string_view topic) { return topic.substr(0, prefix.size()) == prefix; };
  if (starts(topic_inventory) || starts(topic_instance_event) || starts(topic_signal_prefix) || starts(topic_signal_source_prefix))
    return done();
  for (auto channel_topic : {topic_signal_prefix, topic_signal_source_prefix})
    if (prefix.substr(0, channel_topic.size()) == channel_topic) {
      // The rest is the start of a channel name, and a start of a label is a label.
      if (auto channel = check_label(prefix.substr(channel_topic.size())); !channel)
        return channel.error().in("channel");
      return done();
    }
  return failure("no topic starts with it (topics: inventory, event/instance, signal/<channel>, signal-src/<channel>)");
}

result<void> check_text(std::string_view s) {
  if (s.size() > max_text_bytes)
    return failure("text longer than " + std::to_string(max_text_bytes) + " bytes");
  if (s.find('\0') != std::string_view::npos)
    return failure("text contains NUL");
  if (!valid_utf8(s))
    return failure("text is not valid UTF-8");
  return done();
}

result<void> check_base64(std::string_view s) {
  if (s.size() > max_save_chunk_text)
    return failure("base64 longer than " + std::to_string(max_save_chunk_text) + " characters");
  if (s.size() % 4 != 0)
    return failure("base64 of a length that is not a multiple of 4");
  std::size_t padding = 0;
  while (padding < s.size() && s[s.size() - 1 - padding] == '=')
    ++padding;
  if (padding > 2)
    return failure("base64 with more than two '=' at its end");
  for (std::size_t i = 0; i < s.size() - padding; ++i) {
    auto c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
      return failure("base64 with a character outside A-Z a-z 0-9 + / (at " + std::to_string(i) + ")");
  }
  return done();
}

result<void> check_json_object(std::string_view s) {
  if (s.size() > max_json_text_bytes)
    return failure("JSON longer than " + std::to_string(max_json_text_bytes) + " bytes");
  if (s.find('\0') != std::string_view::npos || !valid_utf8(s))
    return failure("JSON that is not valid UTF-8 text");
  // The parser keeps its nesting on the heap; the callback only bounds it.
  bool too_deep = false;
  auto within_depth = [&too_deep](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    if ((event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start) &&
        depth >= static_cast<int>(max_json_depth))
      too_deep = true;
    return !too_deep;
  };
  auto doc = nlohmann::json::parse(s, within_depth, false);
  if (too_deep)
    return failure("JSON nested deeper than " + std::to_string(max_json_depth) + " levels");
  if (doc.is_discarded())
    return failure("not valid JSON");
  if (!doc.is_object())
    return failure("JSON that is not an object ({...})");
  return done();
}

std::string fit_text(std::string_view s) {
  constexpr std::string_view cut_mark = " [cut]";
  std::string out;
  std::size_t fits = 0; // the length to cut back to: whole characters, room for the mark
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    auto ch = s.substr(i, n);
    bool good = ch.size() == n && c != 0 && valid_utf8(ch);
    out += good ? ch : std::string_view("?");
    i += good ? n : 1;
    if (out.size() <= max_text_bytes - cut_mark.size())
      fits = out.size();
    if (out.size() > max_text_bytes) {
      out.resize(fits);
      return out += cut_mark;
    }
  }
  return out;
}

} // namespace clusterio::wire
