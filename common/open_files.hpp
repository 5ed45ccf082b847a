#pragma once
// The process's limit on open files. Every client connection of the master and every game,
// pipe and RCON connection of a slave takes one; a login shell's soft limit (often 1024) would
// let one credential's connections keep everyone else out, while the hard limit is far higher.

namespace clusterio {

/// Raises the soft limit on open files to the hard limit (capped at fs.nr_open), as Go's runtime
/// does at start, and logs it (a failure as a warning: the process runs on with the limit it
/// has). The master and the slave serve connections with epoll and poll, never select, so
/// descriptors above 1024 are safe.
void raise_open_files_limit();

} // namespace clusterio
