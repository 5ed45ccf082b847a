// Clusterio master page: the control panel (docs/webui.md, "Signing in and commands"). Built on
// Preact with htm (from npm, no build step); every string is rendered as text, never as HTML.
// Signed out it shows a sign-in form; signed in (a session cookie plus the CSRF token the API
// gives), per slave a "new instance" form and per instance its commands and a console.
import { html, render, useState, useEffect, useCallback } from "/vendor/htm-preact.module.js";

const LIST_MS = 3000; // how often the instances of every slave are listed
const POLL_MS = 500;  // how often a command's result is asked for

async function api(method, url, csrf, body) {
  const headers = { "Content-Type": "application/json" };
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || url + ": HTTP " + res.status);
  return data;
}

/// Sends an instance command and waits for its slave's answer; throws with the error's message.
async function runCommand(csrf, command) {
  const { command_id } = await api("POST", "/api/commands", csrf, command);
  for (let i = 0; i < 240; i++) { // the master answers every command within 60 s
    const state = await api("GET", "/api/commands?id=" + command_id, csrf);
    if (state.state === "done") {
      if (state.t === "error") throw new Error(state.code + ": " + state.message);
      return state;
    }
    await new Promise(r => setTimeout(r, POLL_MS));
  }
  throw new Error("no answer for command " + command_id);
}

function SignIn({ onSignedIn }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState("");
  const submit = async e => {
    e.preventDefault();
    try {
      onSignedIn(await api("POST", "/api/session", null, { token }));
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<form class="sign-in" onSubmit=${submit}>
    <label>Admin token <input id="token" type="password" autocomplete="off" value=${token} onInput=${e => setToken(e.target.value)} /></label>
    <button id="sign-in" type="submit">Sign in</button>
    ${error && html`<span class="error" role="alert">${error}</span>`}
  </form>`;
}

function NewInstance({ slave, run }) {
  const [name, setName] = useState("");
  const [scenario, setScenario] = useState("");
  const submit = e => {
    e.preventDefault();
    const command = { action: "create", slave, name };
    if (scenario) command.scenario = scenario;
    run(command).then(() => setName(""));
  };
  return html`<form class="new-instance" data-slave=${slave} onSubmit=${submit}>
    <input class="new-name" placeholder="new instance" aria-label="New instance name" value=${name} onInput=${e => setName(e.target.value)} />
    <input class="new-scenario" placeholder="scenario (factorio-sim)" aria-label="Scenario" value=${scenario} onInput=${e => setScenario(e.target.value)} />
    <button type="submit" class="create">Create</button>
  </form>`;
}

function Console({ inst, run }) {
  const [line, setLine] = useState("");
  const [output, setOutput] = useState(null);
  const [log, setLog] = useState([]);
  const send = e => {
    e.preventDefault();
    run({ action: "command", slave: inst.slave, name: inst.name, text: line }).then(r => r && setOutput(r.output));
  };
  const showLog = () => run({ action: "log", slave: inst.slave, name: inst.name, count: 20 }).then(r => r && setLog(r.lines));
  return html`<div class="console">
    <form onSubmit=${send}>
      <input class="console-line" placeholder="/c rcon.print(game.tick)" aria-label="Console command" value=${line} onInput=${e => setLine(e.target.value)} />
      <button type="submit" class="send">Send</button>
      <button type="button" class="show-log" onClick=${showLog}>Log</button>
    </form>
    ${output !== null && html`<pre class="console-output">${output}</pre>`}
    ${log.length > 0 && html`<pre class="console-log">${log.map(l => l.text).join("\n")}</pre>`}
  </div>`;
}

function InstanceRow({ inst, run }) {
  const act = action => () => {
    if (action === "delete" && !window.confirm("Delete instance " + inst.name + " on " + inst.slave + " and its saves?")) return;
    run({ action, slave: inst.slave, name: inst.name });
  };
  const running = inst.state !== "stopped" && inst.state !== "unknown";
  return html`<li class="control-instance" data-name=${inst.name} data-slave=${inst.slave}>
    <span class="name">${inst.name}</span> <span class="state">${inst.state}</span>
    <span class="buttons">
      <button class="start" disabled=${running} onClick=${act("start")}>Start</button>
      <button class="stop" disabled=${!running} onClick=${act("stop")}>Stop</button>
      <button class="restart" disabled=${!running} onClick=${act("restart")}>Restart</button>
      <button class="delete" disabled=${running} onClick=${act("delete")}>Delete</button>
    </span>
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
  const run = command => runCommand(session.csrf, command).then(
    r => { setMessage((r.slave ? r.slave + ": " : "") + r.message); refresh(); return r; },
    e => { setMessage(e.message); return null; });
  const signOut = () => api("DELETE", "/api/session", session.csrf).then(onSignedOut, e => setMessage(e.message));
  const slaves = [...new Set(instances.map(i => i.slave).concat(known))].sort();
  return html`<div class="panel">
    <p>Signed in as admin <button id="sign-out" onClick=${signOut}>Sign out</button></p>
    <p id="control-message" class="muted" role="status">${message}</p>
    ${slaves.length === 0 && html`<p class="muted">No slave takes commands yet (clusterio-slave run).</p>`}
    ${slaves.map(slave => html`<div class="control-slave" data-slave=${slave}>
      <h3>${slave}</h3>
      <${NewInstance} slave=${slave} run=${run} />
      <ul>${instances.filter(i => i.slave === slave).map(i => html`<${InstanceRow} key=${i.name} inst=${i} run=${run} />`)}</ul>
    </div>`)}
  </div>`;
}

function App() {
  const [session, setSession] = useState(null);
  useEffect(() => { api("GET", "/api/session").then(setSession, () => setSession({ signed_in: false })); }, []);
  if (!session) return html`<p class="muted">…</p>`;
  return session.signed_in
    ? html`<${Panel} session=${session} onSignedOut=${() => setSession({ signed_in: false })} />`
    : html`<${SignIn} onSignedIn=${setSession} />`;
}

render(html`<${App} />`, document.getElementById("control"));
