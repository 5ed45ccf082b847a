#pragma once
// The slave's journal of the master's instance commands, so that each is applied at most once
// (messages/command.hpp). A command is written down as "applying" before it is applied and as
// "done" with its result after, each time to disk (write_file_atomic) before going on. A command
// id met again is not applied again: a done one is answered with its result, one still applying
// in this process waits for it, and one left "applying" by a slave process that died meanwhile is
// answered with an error saying its outcome is unknown. Keeps the latest max_entries commands.
// One process at a time writes a journal (a claim on `<path>.lock`): two `clusterio-slave run`
// of one slave folder, each with its own copy, could apply a command twice.

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "common/files.hpp"
#include "common/result.hpp"
#include "messages/command.hpp"

namespace clusterio {

class command_journal {
public:
  static constexpr std::size_t max_entries = 1000;

  struct entry {
    std::uint64_t id = 0;
    bool done = false;
    wire::command_result result; ///< when done
  };

  /// Claims and reads the journal at `path` (none there: empty). A journal that cannot be read,
  /// or that another process holds, is a failure: going on without it could apply a command twice.
  static result<command_journal> open(const std::string& path);

  /// The entry of command `id`, if the journal has it.
  const entry* find(std::uint64_t id) const;
  /// Writes command `id` down as being applied.
  result<void> begin(std::uint64_t id);
  /// Writes its result down.
  result<void> finish(const wire::command_result& r);

private:
  command_journal(std::string path, file_claim claim) : path_(std::move(path)), claim_(std::make_unique<file_claim>(std::move(claim))) {}
  result<void> save() const;

  std::string path_;
  std::unique_ptr<file_claim> claim_; ///< held while the journal is open
  std::deque<entry> entries_; ///< oldest first
};

} // namespace clusterio
