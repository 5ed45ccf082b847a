#include "client/master_web.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/sha256.hpp"

namespace clusterio {

namespace {

/// A GET that must answer 200.
result<std::string> get(const master_web& web, const std::string& path) {
  auto host = web.host.size() > 1 && web.host.front() == '[' ? web.host.substr(1, web.host.size() - 2) : web.host;
  httplib::Client http(host, web.port);
  auto seconds = static_cast<time_t>(web.timeout.count() / 1000), micros = static_cast<time_t>(web.timeout.count() % 1000 * 1000);
  http.set_connection_timeout(seconds, micros);
  http.set_read_timeout(seconds, micros);
  auto r = http.Get(path);
  if (!r)
    return failure("no answer from the master's web interface at " + web.url() + path + ": " + httplib::to_string(r.error()));
  if (r->status != 200) {
    auto body = nlohmann::json::parse(r->body, nullptr, false);
    auto why = body.is_object() && body.contains("error") && body["error"].is_string() ? body["error"].get<std::string>() : r->body.substr(0, 200);
    return failure(web.url() + path + " answered " + std::to_string(r->status) + ": " + why);
  }
  return std::move(r->body);
}

} // namespace

result<mod_identity> fetch_mod_identity(const master_web& web) {
  auto body = get(web, "/api/mod");
  if (!body)
    return body.error();
  auto j = nlohmann::json::parse(*body, nullptr, false);
  try {
    mod_identity id{j.at("file").get<std::string>(), j.at("version").get<std::string>(), j.at("sha256").get<std::string>(),
                    j.at("size").get<std::uint64_t>()};
    if (mod_zip_version(id.file) != id.version)
      return failure(web.url() + "/api/mod names '" + id.file + "', not a clusterio mod zip of version " + id.version);
    return id;
  } catch (const nlohmann::json::exception& e) {
    return failure(web.url() + "/api/mod: not the reply of a clusterio master (" + e.what() + ")");
  }
}

result<std::string> fetch_mod_zip(const master_web& web, const mod_identity& id) {
  auto bytes = get(web, "/mod/" + id.file);
  if (!bytes)
    return bytes.error();
  if (bytes->size() != id.size || sha256_hex(*bytes) != id.sha256)
    return failure(web.url() + "/mod/" + id.file + ": the download's size or SHA-256 differs from what /api/mod says (" +
                   std::to_string(bytes->size()) + " bytes); try again");
  return bytes;
}

} // namespace clusterio
