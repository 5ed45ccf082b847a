#include "common/credentials.hpp"

#include <fstream>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <zmq.h>

#include "common/files.hpp"

namespace clusterio {

const char* to_string(role r) {
  switch (r) {
    case role::slave: return "slave";
    case role::publisher: return "publisher";
    case role::subscriber: return "subscriber";
    case role::admin: return "admin";
  }
  return "subscriber";
}

std::optional<role> parse_role(const std::string& text) {
  for (auto r : {role::slave, role::publisher, role::subscriber, role::admin})
    if (text == to_string(r))
      return r;
  return std::nullopt;
}

key_pair make_key_pair() {
  char pub[41], sec[41];
  zmq_curve_keypair(pub, sec);
  return {pub, sec};
}

bool valid_z85_key(const std::string& key) {
  if (key.size() != 40)
    return false;
  unsigned char out[32];
  return zmq_z85_decode(out, key.c_str()) != nullptr;
}

result<credential> load_credential(const std::string& path) {
  auto text = read_file(path);
  if (!text)
    return text.error();
  try {
    auto j = nlohmann::json::parse(*text);
    credential c;
    c.name = j.at("name").get<std::string>();
    auto r = parse_role(j.at("role").get<std::string>());
    if (!r)
      return failure(path + ": unknown role '" + j.at("role").get<std::string>() + "'");
    c.role = *r;
    c.keys.public_key = j.at("public_key").get<std::string>();
    c.keys.secret_key = j.at("secret_key").get<std::string>();
    c.master_public_key = j.at("master_public_key").get<std::string>();
    c.master_address = j.value("master", "");
    for (auto* k : {&c.keys.public_key, &c.keys.secret_key, &c.master_public_key})
      if (!valid_z85_key(*k))
        return failure(path + ": a key is not 40 characters of Z85");
    return c;
  } catch (const std::exception& e) {
    return failure(path + ": not a valid credential file: " + e.what());
  }
}

result<void> save_credential(const std::string& path, const credential& c) {
  nlohmann::json j{{"name", c.name},
                   {"role", to_string(c.role)},
                   {"public_key", c.keys.public_key},
                   {"secret_key", c.keys.secret_key},
                   {"master_public_key", c.master_public_key},
                   {"master", c.master_address}};
  return write_file_atomic(path, j.dump(2) + "\n", 0600);
}

result<key_pair> load_or_create_master_key(const std::string& data_dir) {
  auto path = data_dir + "/master_key.json";
  if (!file_exists(path)) {
    auto k = make_key_pair();
    nlohmann::json j{{"public_key", k.public_key}, {"secret_key", k.secret_key}};
    auto created = create_file_exclusive(path, j.dump(2) + "\n", 0600);
    if (!created)
      return created.error();
    if (*created)
      return k;
  }
  auto text = read_file(path);
  if (!text)
    return text.error();
  try {
    auto j = nlohmann::json::parse(*text);
    key_pair k{j.at("public_key").get<std::string>(), j.at("secret_key").get<std::string>()};
    if (!valid_z85_key(k.public_key) || !valid_z85_key(k.secret_key))
      return failure(path + ": keys are not 40 characters of Z85");
    return k;
  } catch (const std::exception& e) {
    return failure(path + ": " + e.what());
  }
}

} // namespace clusterio
