#pragma once
// The commit log's record (table commit_log, storage_db.hpp): one commit's changes, statistics
// aside, as one msgpack array of seven entries, the fields of storage_changes in its order:
//
//   [ [[name, count]...],                                  levels (count 0: the row goes)
//     [[instance, batch]...],                              batches added
//     [[instance, pruned_below, max_batch]...],            batch states
//     [[grant_id, instance, name, count, reclaim]...],     grants made or changed
//     [grant_id...],                                       grants removed
//     [instance...],                                       instances dropped
//     next_grant_id ]                                      0: unchanged
//
// Names are strings, counts signed integers, ids and batches unsigned, reclaim a boolean; every
// value in its shortest msgpack form. This is the format msgpack-c's packer wrote before the
// project wrote records itself, byte for byte: master.db files written then load unchanged. The
// format is on disk: never reorder or retype an entry; add new ones only at the end.

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "store/storage_db.hpp"

namespace clusterio {

/// Writes `c`'s record into `buf` (kept by the caller from commit to commit: it only grows) and
/// returns a view of it, valid until `buf` changes.
std::string_view encode_record(const storage_changes& c, std::string& buf);

/// Reads a record written by encode_record. A record that is not exactly one (truncated,
/// retyped, with more or fewer entries, trailing bytes) is a failure naming what is wrong; no
/// partly read record is returned.
result<storage_changes> decode_record(std::string_view bytes);

} // namespace clusterio
