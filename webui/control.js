// Clusterio master page: the control panel (docs/webui.md, "Signing in and commands"). Built on
// Preact with htm (from npm, no build step); every string is rendered as text, never as HTML.
// Signed out it shows a sign-in form (a web user's name and password, or the admin token); a
// signed-in viewer sees who they are and "Sign out"; an admin (a session cookie plus the CSRF
// token the API gives) sees, per slave a "new instance" form and per instance its commands, settings, saves and a
// console with the game's live output; below, the audit log.
import { html, useState, useEffect, useCallback } from "/vendor/htm-preact.module.js";
import { api } from "/api.js";
import { sha256 } from "/vendor/sha256.module.js";

const LIST_MS = 3000; // how often the instances of every slave are listed
const POLL_MS = 500;  // how often a command's result is asked for
const FOLLOW_MS = 1000; // how often a followed console asks for new lines
const LOG_KEEP = 200;   // console lines a followed console shows at most
const PIECE = 512 * 1024; // bytes of a save per command (the wire's max_save_chunk_bytes)
const HASH_PIECE = 8 << 20; // bytes js-sha256 digests between two turns of the page's event loop
const SETTINGS = ["game_port", "autosave_interval", "max_players", "game_password", "public"];

/// Sends an instance command and waits for its slave's answer; throws with the error's message.
async function runCommand(csrf, command) {
  const { command_id } = await api("POST", "/api/commands", csrf, command);
  // The master answers every command within its command_timeout_ms (at most an hour).
  for (let i = 0; i < 3600 * 1000 / POLL_MS + 60; i++) {
    const state = await api("GET", "/api/commands?id=" + command_id, csrf);
    if (state.state === "done") {
      if (state.t === "error") throw new Error(state.code + ": " + state.message);
      return state;
    }
    await new Promise(r => setTimeout(r, POLL_MS));
  }
  throw new Error("no answer for command " + command_id);
}

/// Bytes as base64, for a save piece's `data`.
function toBase64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function fromBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

/// SHA-256 as lowercase hex. Browsers give crypto.subtle only to https and localhost pages; on
/// plain http elsewhere (a master on the LAN) js-sha256 computes it, a piece at a time so that
/// the page stays responsive through a large save.
async function sha256Hex(bytes) {
  if (window.crypto && window.crypto.subtle) {
    const digest = new Uint8Array(await window.crypto.subtle.digest("SHA-256", bytes));
    return Array.from(digest, b => b.toString(16).padStart(2, "0")).join("");
  }
  const hash = sha256.create();
  for (let at = 0; at < bytes.length; at += HASH_PIECE) {
    hash.update(bytes.subarray(at, at + HASH_PIECE));
    await new Promise(r => setTimeout(r));
  }
  return hash.hex();
}

/// Uploads a save in pieces (each its own command), reporting progress.
async function uploadSave(run, inst, file, progress) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const sha256 = await sha256Hex(bytes);
  let last = null;
  for (let offset = 0; offset < bytes.length; offset += PIECE) {
    last = await run({ action: "save-upload", slave: inst.slave, name: inst.name, save: file.name, size: bytes.length, sha256, offset,
                       data: toBase64(bytes.subarray(offset, offset + PIECE)) }, true);
    if (!last) return;
    progress(Math.min(offset + PIECE, bytes.length) + " of " + bytes.length + " bytes sent");
  }
  progress(last.message);
}

/// Downloads the instance's latest save in pieces, checks it, and hands it to the browser.
async function downloadSave(run, inst, progress) {
  const pieces = [];
  let first = null, received = 0;
  do {
    const r = await run({ action: "save-download", slave: inst.slave, name: inst.name, save: first ? first.save : undefined, offset: received }, true);
    if (!r) return;
    if (!first) first = r;
    if (r.size !== first.size) throw new Error("the save changed while it was downloaded: try again");
    const piece = fromBase64(r.data || "");
    if (piece.length === 0 && received < first.size) throw new Error("a bad piece of the save at " + received);
    pieces.push(piece);
    received += piece.length;
    progress(received + " of " + first.size + " bytes received");
  } while (received < first.size);
  const blob = new Blob(pieces, { type: "application/zip" });
  if (await sha256Hex(new Uint8Array(await blob.arrayBuffer())) !== first.sha256)
    throw new Error("the save changed while it was downloaded (its SHA-256 differs): try again");
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = first.save;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
  progress("downloaded save " + first.save + " (" + first.size + " bytes)");
}

/// A web user's name and password, or (no name) the admin token.
function SignIn({ onSignedIn, required }) {
  const [user, setUser] = useState("");
  const [token, setToken] = useState("");
  const [error, setError] = useState("");
  const submit = async e => {
    e.preventDefault();
    try {
      onSignedIn(await api("POST", "/api/session", null, user ? { user, password: token } : { token }));
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<form class="sign-in" onSubmit=${submit}>
    ${required && html`<p class="muted">This master shows the cluster to signed-in users only.</p>`}
    <label>User <input id="user" autocomplete="username" placeholder="(none: the admin token)" value=${user} onInput=${e => setUser(e.target.value)} /></label>
    <label>Password or admin token <input id="token" type="password" autocomplete="off" value=${token} onInput=${e => setToken(e.target.value)} /></label>
    <button id="sign-in" type="submit">Sign in</button>
    ${error && html`<span class="error" role="alert">${error}</span>`}
  </form>`;
}

/// A signed-in viewer: who, and sign-out; no controls.
function SignedInViewer({ session, onSignedOut }) {
  const [message, setMessage] = useState("");
  const signOut = () => api("DELETE", "/api/session", session.csrf).then(onSignedOut, e => setMessage(e.message));
  return html`<p>Signed in as ${session.user} (viewer) <button id="sign-out" onClick=${signOut}>Sign out</button>
    <span class="error">${message}</span></p>`;
}

/// A new instance: its name, and for its new map a scenario (factorio-sim) or Factorio's map
/// settings (JSON objects, as map-gen-settings.json and map-settings.json) and seed.
function NewInstance({ slave, run }) {
  const [fields, setFields] = useState({ name: "", scenario: "", map_gen_seed: "", map_gen_settings: "", map_settings: "" });
  const field = (key, props) => html`<input class=${"new-" + key.replace(/_/g, "-")} value=${fields[key]}
    onInput=${e => setFields(f => ({ ...f, [key]: e.target.value }))} ...${props} />`;
  const text = (key, label) => html`<label>${label} <textarea class=${"new-" + key.replace(/_/g, "-")} rows="3" placeholder="{}"
    value=${fields[key]} onInput=${e => setFields(f => ({ ...f, [key]: e.target.value }))}></textarea></label>`;
  const submit = e => {
    e.preventDefault();
    const command = { action: "create", slave, name: fields.name };
    for (const key of ["scenario", "map_gen_settings", "map_settings"]) if (fields[key].trim()) command[key] = fields[key].trim();
    if (fields.map_gen_seed) command.map_gen_seed = Number(fields.map_gen_seed);
    run(command).then(r => r && setFields(f => ({ ...f, name: "" })));
  };
  return html`<form class="new-instance" data-slave=${slave} onSubmit=${submit}>
    ${field("name", { placeholder: "new instance", "aria-label": "New instance name" })}
    ${field("scenario", { placeholder: "scenario (factorio-sim)", "aria-label": "Scenario" })}
    ${field("map_gen_seed", { placeholder: "map seed (optional)", "aria-label": "Map seed", inputmode: "numeric" })}
    <button type="submit" class="create">Create</button>
    <details><summary>Map settings (JSON)</summary>${text("map_gen_settings", "map-gen-settings")}${text("map_settings", "map-settings")}</details>
  </form>`;
}

function Console({ inst, run }) {
  const [line, setLine] = useState("");
  const [output, setOutput] = useState(null);
  const [log, setLog] = useState([]);
  const [follow, setFollow] = useState(false);
  const send = e => {
    e.preventDefault();
    run({ action: "command", slave: inst.slave, name: inst.name, text: line }).then(r => r && setOutput(r.output));
  };
  const showLog = () => run({ action: "log", slave: inst.slave, name: inst.name, count: 20 }, true).then(r => r && setLog(r.lines));
  useEffect(() => { // following: what follows the latest line, once a second, while the box is ticked
    if (!follow) return;
    let after = 0, stopped = false;
    const next = () => run({ action: "log", slave: inst.slave, name: inst.name, after, count: 200 }, true).then(r => {
      if (stopped || !r) return;
      after = r.next_line;
      if (r.lines.length) setLog(old => old.concat(r.lines).slice(-LOG_KEEP));
      setTimeout(next, FOLLOW_MS);
    });
    setLog([]);
    next();
    return () => { stopped = true; };
  }, [follow, inst.slave, inst.name]);
  return html`<div class="console">
    <form onSubmit=${send}>
      <input class="console-line" placeholder="/c rcon.print(game.tick)" aria-label="Console command" value=${line} onInput=${e => setLine(e.target.value)} />
      <button type="submit" class="send">Send</button>
      <button type="button" class="show-log" onClick=${showLog}>Log</button>
      <label><input type="checkbox" class="follow" checked=${follow} onChange=${e => setFollow(e.target.checked)} /> Follow</label>
    </form>
    ${output !== null && html`<pre class="console-output">${output}</pre>`}
    ${log.length > 0 && html`<pre class="console-log">${log.map(l => l.text).join("\n")}</pre>`}
  </div>`;
}

/// An instance's settings, read when opened; only what was changed is sent.
function Settings({ inst, run }) {
  const [values, setValues] = useState(null);
  const [edits, setEdits] = useState({});
  useEffect(() => {
    run({ action: "settings", slave: inst.slave, name: inst.name }, true).then(r => r && setValues(Object.fromEntries(r.settings.map(s => [s.key, s.value]))));
  }, [inst.slave, inst.name]);
  if (!values) return html`<p class="muted">…</p>`;
  const edit = (key, value) => setEdits(old => ({ ...old, [key]: value }));
  const submit = e => {
    e.preventDefault();
    const settings = Object.entries(edits).map(([key, value]) => ({ key, value }));
    if (settings.length === 0) return;
    run({ action: "set", slave: inst.slave, name: inst.name, settings }).then(r => {
      if (!r) return;
      setValues(Object.fromEntries(r.settings.map(s => [s.key, s.value])));
      setEdits({});
    });
  };
  return html`<form class="settings" onSubmit=${submit}>
    ${SETTINGS.map(key => key === "public"
      ? html`<label>public <input type="checkbox" name=${key} checked=${(edits[key] ?? values[key]) === "true"}
          onChange=${e => edit(key, e.target.checked ? "true" : "false")} /></label>`
      : html`<label>${key} <input name=${key} type=${key === "game_password" ? "password" : "text"} autocomplete="off"
          placeholder=${key === "game_password" ? (values[key] === "(set)" ? "(set: type to change)" : "(none)") : ""}
          value=${edits[key] ?? (key === "game_password" ? "" : values[key])} onInput=${e => edit(key, e.target.value)} /></label>`)}
    <button type="submit" class="save-settings">Save settings</button>
  </form>`;
}

/// Upload a save to a stopped instance, download its latest.
function Saves({ inst, run }) {
  const [status, setStatus] = useState("");
  const fail = e => setStatus(e.message);
  const upload = e => {
    e.preventDefault();
    const file = e.target.querySelector("input[type=file]").files[0];
    if (file) uploadSave(run, inst, file, setStatus).catch(fail);
  };
  return html`<form class="saves" onSubmit=${upload}>
    <input type="file" class="save-file" accept=".zip" aria-label="Save to upload" />
    <button type="submit" class="upload-save">Upload save</button>
    <button type="button" class="download-save" onClick=${() => downloadSave(run, inst, setStatus).catch(fail)}>Download latest save</button>
    <span class="save-status muted" role="status">${status}</span>
  </form>`;
}

function InstanceRow({ inst, run }) {
  const act = action => () => {
    if (action === "delete" && !window.confirm("Delete instance " + inst.name + " on " + inst.slave + " and its saves?")) return;
    run({ action, slave: inst.slave, name: inst.name });
  };
  const [open, setOpen] = useState(false);
  const running = inst.state !== "stopped" && inst.state !== "unknown";
  return html`<li class="control-instance" data-name=${inst.name} data-slave=${inst.slave}>
    <span class="name">${inst.name}</span> <span class="state">${inst.state}</span>
    <span class="buttons">
      <button class="start" disabled=${running} onClick=${act("start")}>Start</button>
      <button class="stop" disabled=${!running} onClick=${act("stop")}>Stop</button>
      <button class="restart" disabled=${!running} onClick=${act("restart")}>Restart</button>
      <button class="delete" disabled=${running} onClick=${act("delete")}>Delete</button>
      <button class="more" aria-expanded=${open} onClick=${() => setOpen(!open)}>Settings and saves</button>
    </span>
    ${open && html`<${Settings} inst=${inst} run=${run} />`}
    ${open && html`<${Saves} inst=${inst} run=${run} />`}
    ${running && html`<${Console} inst=${inst} run=${run} />`}
  </li>`;
}

function Panel({ session, onSignedOut }) {
  const [instances, setInstances] = useState([]);
  const [known, setKnown] = useState([]); // slaves the master has heard from, with or without instances
  const [message, setMessage] = useState("");
  const refresh = useCallback(() => Promise.all([runCommand(session.csrf, { action: "list" }), api("GET", "/api/instances?limit=500")]).then(
    ([list, overview]) => { setInstances(list.instances); setKnown(overview.slaves.map(s => s.name)); }, e => setMessage(e.message)),
  [session.csrf]);
  useEffect(() => {
    refresh();
    const t = setInterval(refresh, LIST_MS);
    return () => clearInterval(t);
  }, [refresh]);
  // A command; its outcome goes to the message line, unless it only reads (`quiet`).
  const run = (command, quiet) => runCommand(session.csrf, command).then(
    r => { if (!quiet) { setMessage((r.slave ? r.slave + ": " : "") + r.message); refresh(); } return r; },
    e => { setMessage(e.message); return null; });
  const signOut = () => api("DELETE", "/api/session", session.csrf).then(onSignedOut, e => setMessage(e.message));
  const slaves = [...new Set(instances.map(i => i.slave).concat(known))].sort();
  return html`<div class="panel">
    <p>Signed in as ${session.user} (admin) <button id="sign-out" onClick=${signOut}>Sign out</button></p>
    <p id="control-message" class="muted" role="status">${message}</p>
    ${slaves.length === 0 && html`<p class="muted">No slave takes commands yet (clusterio-slave run).</p>`}
    ${slaves.map(slave => html`<div class="control-slave" data-slave=${slave}>
      <h3>${slave}</h3>
      <${NewInstance} slave=${slave} run=${run} />
      <ul>${instances.filter(i => i.slave === slave).map(i => html`<${InstanceRow} key=${i.name} inst=${i} run=${run} />`)}</ul>
    </div>`)}
    <${AuditLog} csrf=${session.csrf} />
  </div>`;
}

/// The latest state changes, newest first (GET /api/audit), refreshed with the instances.
function AuditLog({ csrf }) {
  const [entries, setEntries] = useState([]);
  const [error, setError] = useState("");
  useEffect(() => {
    const load = () => api("GET", "/api/audit?limit=20", csrf).then(a => { setEntries(a.entries); setError(""); }, e => setError(e.message));
    load();
    const t = setInterval(load, LIST_MS);
    return () => clearInterval(t);
  }, [csrf]);
  return html`<div class="audit">
    <h3>Audit log</h3>
    ${error && html`<p class="error">${error}</p>`}
    <table id="audit-log">
      <thead><tr><th>When</th><th>Who</th><th>Action</th><th>Slave</th><th>Instance</th><th>Detail</th><th>Result</th><th>Message</th></tr></thead>
      <tbody>${entries.map(e => html`<tr key=${e.seq}>
        <td>${new Date(e.at_ms).toLocaleString()}</td><td>${e.who}</td><td>${e.action}</td><td>${e.slave}</td><td>${e.name}</td>
        <td>${e.detail}</td><td>${e.result}</td><td>${e.message}</td></tr>`)}</tbody>
    </table>
  </div>`;
}

export function Control() {
  const [session, setSession] = useState(null);
  useEffect(() => { api("GET", "/api/session").then(setSession, () => setSession({ signed_in: false })); }, []);
  if (!session) return html`<p class="muted">…</p>`;
  const signedOut = () => setSession({ signed_in: false, sign_in_required: session.sign_in_required });
  if (!session.signed_in) return html`<${SignIn} onSignedIn=${setSession} required=${session.sign_in_required} />`;
  return session.role === "admin"
    ? html`<${Panel} session=${session} onSignedOut=${signedOut} />`
    : html`<${SignedInViewer} session=${session} onSignedOut=${signedOut} />`;
}
