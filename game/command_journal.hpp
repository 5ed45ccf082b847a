#pragma once
// The slave's journal of the master's instance commands, so that each is applied at most once
// (messages/command.hpp). A command is written down as "applying" before it is applied and as
// "done" with its result after, each time to disk (write_file_atomic) before going on. A command
// id met again is not applied again: a done one is answered with its result, one still applying
// in this process waits for it, and one left "applying" by a slave process that died meanwhile is
// answered with an error saying its outcome is unknown. Keeps the latest max_entries commands.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

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

  /// Reads the journal at `path` (none there: empty). A journal that cannot be read is a failure:
  /// starting without it could apply a command twice.
  static result<command_journal> open(const std::string& path);

  /// The entry of command `id`, if the journal has it.
  const entry* find(std::uint64_t id) const;
  /// Writes command `id` down as being applied.
  result<void> begin(std::uint64_t id);
  /// Writes its result down.
  result<void> finish(const wire::command_result& r);

private:
  explicit command_journal(std::string path) : path_(std::move(path)) {}
  result<void> save() const;

  std::string path_;
  std::deque<entry> entries_; ///< oldest first
};

} // namespace clusterio
