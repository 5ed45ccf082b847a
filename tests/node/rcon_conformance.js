// RCON conformance of factorio-sim against an independent client: npm rcon-client, the client
// Clusterio runs against real Factorio. Usage: node rcon_conformance.js <build dir>
"use strict";
const { Rcon } = require("rcon-client");
const { spawn, spawnSync } = require("child_process");
const fs = require("fs");
const net = require("net");
const os = require("os");
const path = require("path");
const assert = require("assert");

const build = process.argv[2];
const exe = path.join(build, "factorio-sim/bin/x64/factorio");

function freePort() {
  return new Promise(resolve => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => { const p = srv.address().port; srv.close(() => resolve(p)); });
  });
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clusterio-node-"));
  fs.writeFileSync(path.join(dir, "config.ini"),
    `[path]\nread-data=${build}/factorio-sim/data\nwrite-data=${dir}\n`);
  const created = spawnSync(exe, ["-c", `${dir}/config.ini`, "--create", `${dir}/saves/w.zip`]);
  assert.strictEqual(created.status, 0, String(created.stdout));
  // A free port can be taken by another test before the server binds it: then try new ports
  // (a few times, never forever).
  let proc, rconPort;
  for (let attempt = 1; ; attempt++) {
    rconPort = await freePort();
    proc = spawn(exe, ["-c", `${dir}/config.ini`, "--start-server", `${dir}/saves/w.zip`,
      "--port", String(await freePort()), "--rcon-port", String(rconPort), "--rcon-password", "pw"]);
    let out = "";
    const started = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no RCON start line:\n" + out)), 10000);
      proc.stdout.on("data", d => {
        out += d;
        if (out.includes("Starting RCON interface")) { clearTimeout(timer); resolve(true); }
        else if (out.includes("Can't bind socket") && attempt < 5) { clearTimeout(timer); resolve(false); }
      });
    });
    if (started) break;
    if (proc.exitCode === null && proc.signalCode === null) { // else its exit event has been emitted
      proc.kill("SIGKILL");
      await new Promise(resolve => proc.on("exit", resolve));
    }
  }
  try {
    // Wrong password: rejected with id -1, as Factorio does.
    await assert.rejects(Rcon.connect({ host: "127.0.0.1", port: rconPort, password: "nope", timeout: 5000 }));

    const rcon = await Rcon.connect({ host: "127.0.0.1", port: rconPort, password: "pw", timeout: 10000, maxPending: 10 });
    // Achievement two-step, then plain replies.
    const first = await rcon.send("/sc rcon.print('disabled')");
    assert.notStrictEqual(first, "disabled\n");
    assert.strictEqual(await rcon.send("/sc rcon.print('disabled')"), "disabled\n");
    assert.strictEqual(await rcon.send("/sc local x = 1"), "");
    // A reply over 64 KB in one packet.
    const big = await rcon.send("/sc rcon.print(string.rep('y', 200000))");
    assert.strictEqual(big.length, 200001);
    // Several commands in flight, each answered once with its own id.
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => rcon.send(`/sc rcon.print(${i} * 2)`)));
    replies.forEach((r, i) => assert.strictEqual(r, `${i * 2}\n`));
    // The mod-free world still has the level environment; Lua errors come back as text.
    assert.match(await rcon.send("/sc error('x')"), /^Cannot execute command\. Error:/);
    await rcon.end();
  } finally {
    proc.kill("SIGINT");
    await new Promise(resolve => proc.on("exit", resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log("rcon conformance: ok");
}

main().catch(err => { console.error(err); process.exit(1); });
