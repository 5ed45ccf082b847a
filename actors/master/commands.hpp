#pragma once
// The commands actor relays admins' instance commands to the slaves that run them, and keeps
// the audit log. It owns what the master knows of each slave that takes commands (the routing
// id of its `clusterio-slave run` process, when it last reported, its instances), the commands
// in flight, and the `audit` table of master.db: every state-changing command, who sent it, when,
// and its result (docs/webui.md, /api/audit). Commands come from admins on the control socket
// and from the web page (POST /api/commands), whose answers are kept until the page fetches them.
//
// A command is applied at most once (messages/command.hpp): one already answered by its slave is
// answered again from the audit log, one in flight gets the same answer as the first, and the
// slave itself refuses to apply an id twice (its command journal). A slave whose process is
// replaced (it reports under a new routing id) gets its unanswered commands again at once, and
// every command_resend_ms while it reports: a command or its answer lost with a connection that
// broke and was made again by the same process is answered in seconds. A slave that does not
// answer within command_timeout_ms gets its admin an `unavailable` error saying that
// the command may have been applied and that sending it again with the same id is safe.
//
// Runs detached in the master (its own thread): it writes master.db.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/master/jobs.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"

namespace clusterio {

class outbox;

/// An admin's command, from the gateway.
struct command_job {
  route to;
  std::string admin; ///< who sent it (the audit log's `who`)
  wire::instance_command cmd;
};

/// One row of the audit log.
struct audit_entry {
  std::uint64_t seq = 0;   ///< ascending
  std::uint64_t at_ms = 0; ///< Unix epoch ms of the result
  std::string who, slave, action, name, detail;
  std::uint64_t command_id = 0;
  std::string result;  ///< "ok", or the error code's name
  std::string message; ///< what was done, or why not
};
using audit_page = std::vector<audit_entry>;

/// Where a command sent from the web page stands (GET /api/commands?id=).
struct web_command_state {
  enum { unknown, pending, done } state = unknown;
  wire::message answer; ///< done: the command_result, or the error
};

using host_report_atom = caf::atom_constant<caf::atom("cl_hostrep")>;
using command_atom = caf::atom_constant<caf::atom("cl_cmd")>;
using command_result_atom = caf::atom_constant<caf::atom("cl_cmdres")>;
using web_audit_atom = caf::atom_constant<caf::atom("web_audit")>;
using web_command_atom = caf::atom_constant<caf::atom("web_cmd")>;
using web_command_state_atom = caf::atom_constant<caf::atom("web_cmdst")>;

using commands_actor = caf::typed_actor<
  /// From the gateway: a slave that takes commands reports its instances; reply ok.
  caf::reacts_to<host_report_atom, route, std::string, wire::host_report>,
  /// From the gateway: an admin's command; relayed, answered when its slave answers.
  caf::reacts_to<command_atom, command_job>,
  /// From the gateway: a slave's result (slave name, result); not answered.
  caf::reacts_to<command_result_atom, std::string, wire::command_result>,
  /// To itself, every second: commands whose slave did not answer in time are answered.
  caf::reacts_to<tick_atom>,
  /// From the web server: the latest audit rows, newest first (at most `limit`).
  caf::replies_to<web_audit_atom, std::uint64_t>::with<audit_page>,
  /// From the web server: an admin's command (who, command with its command_id set), taken at
  /// once; its answer is kept for web_command_state_atom (the last max_web_answers).
  caf::replies_to<web_command_atom, std::string, wire::instance_command>::with<std::uint64_t>,
  caf::replies_to<web_command_state_atom, std::uint64_t>::with<web_command_state>>;

/// Answers of commands from the web page kept for their page to fetch.
inline constexpr std::size_t max_web_answers = 1000;
/// Bytes of save pieces (`save-download`) among them: some 90 pieces of 512 KiB.
inline constexpr std::size_t max_web_answer_bytes = 64u << 20;

struct commands_config {
  std::string db_path;
  std::uint64_t host_timeout_ms = 15000;    ///< a slave that has not reported for this long is offline
  std::uint64_t command_timeout_ms = 60000; ///< a relayed command's slave must answer within this
  std::uint64_t command_resend_ms = 5000;   ///< an unanswered command is sent to its slave again this often
  std::uint64_t max_audit_rows = 100000;    ///< older rows are deleted
  const clock* time = &machine_clock();
  bool own_thread = true; ///< detached; false: on the scheduler (deterministic tests)
};

/// Opens master.db, creates the audit table if needed and spawns the actor.
result<commands_actor> spawn_commands(caf::actor_system& sys, const commands_config& cfg, outbox& out);

} // namespace clusterio

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::command_job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::audit_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::web_command_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::wire::instance_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::wire::host_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(clusterio::wire::command_result)
