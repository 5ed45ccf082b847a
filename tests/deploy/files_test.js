// Checks the deployment files that no Docker engine or systemd runs here:
// - Dockerfile: dockerfile-utils lint (syntax and instruction errors; hadolint is not installable
//   from the registries these machines reach), plus the facts the docs rely on: two stages on
//   debian:bookworm / bookworm-slim, every COPY source exists, the entrypoint is the one copied,
//   the ports 7100, 7101, 8080 exposed, the volumes /data, /instances, /factorio.
// - docker-compose.yml: parses; a master and two slaves, each slave with MODE=slave, MASTER,
//   INSTANCE and a credentials volume; every MODE it uses is one the entrypoint handles.
// - scripts/demo, scripts/docker-entrypoint, the entrypoint test: shellcheck.
// - scripts/systemd/*.service: `systemd-analyze verify` with ExecStart pointed at /bin/true;
//   any warning fails; Restart=on-failure, KillSignal=SIGTERM, TimeoutStopSec present.
'use strict';
const fs = require('fs');
const path = require('path');
const os = require('os');
const { execFileSync, spawnSync } = require('child_process');
const yaml = require('js-yaml');

const src = process.env.CLUSTERIO_SOURCE_DIR || path.resolve(__dirname, '../..');
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
};

// ---- Dockerfile
const dockerfile = path.join(src, 'Dockerfile');
const lint = spawnSync(process.execPath, [require.resolve('dockerfile-utils/bin/dockerfile-utils'), 'lint', dockerfile], { encoding: 'utf8' });
check(lint.status === 0 && (lint.stdout + lint.stderr).trim() === '', `dockerfile-utils lint Dockerfile${lint.stdout ? '\n' + lint.stdout : ''}`);
const text = fs.readFileSync(dockerfile, 'utf8').replace(/\\\n/g, ' ');
const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const froms = lines.filter((l) => /^FROM /i.test(l));
check(froms.length === 2 && /^FROM debian:bookworm AS build$/i.test(froms[0]) && /^FROM debian:bookworm-slim$/i.test(froms[1]), 'two stages: debian:bookworm build, debian:bookworm-slim runtime');
for (const l of lines.filter((l) => /^COPY /i.test(l) && !/--from=/i.test(l))) {
  const args = l.split(/\s+/).slice(1);
  for (const s of args.slice(0, -1)) check(fs.existsSync(path.join(src, s)), `COPY source ${s} exists`);
}
const entry = lines.find((l) => /^ENTRYPOINT /i.test(l));
check(entry && JSON.parse(entry.slice(11))[0] === '/usr/local/bin/docker-entrypoint' && lines.some((l) => l === 'COPY scripts/docker-entrypoint /usr/local/bin/docker-entrypoint'), 'ENTRYPOINT is scripts/docker-entrypoint');
const expose = lines.filter((l) => /^EXPOSE /i.test(l)).join(' ');
for (const p of ['7100/tcp', '7101/tcp', '8080/tcp']) check(expose.includes(p), `EXPOSE ${p}`);
// A VOLUME would give every container anonymous volumes for the modes it does not run.
check(!lines.some((l) => /^VOLUME /i.test(l)), 'no VOLUME: each mode mounts what it uses');

// ---- docker-compose.yml
const compose = yaml.load(fs.readFileSync(path.join(src, 'docker-compose.yml'), 'utf8'));
const services = compose.services || {};
const entrySrc = fs.readFileSync(path.join(src, 'scripts/docker-entrypoint'), 'utf8');
const modes = Object.values(services).map((s) => (s.environment || {}).MODE);
for (const m of new Set(modes)) check(new RegExp(`^${m}\\)`, 'm').test(entrySrc), `compose MODE=${m} is handled by the entrypoint`);
check(modes.filter((m) => m === 'master').length === 1, 'compose: one master');
const slaves = Object.entries(services).filter(([, s]) => (s.environment || {}).MODE === 'slave');
check(slaves.length === 2, 'compose: two slaves');
for (const [name, s] of slaves) {
  const env = s.environment;
  check(env.MASTER && env.INSTANCE && (s.volumes || []).some((v) => v.startsWith('credentials:/credentials')), `compose ${name}: MASTER, INSTANCE and the credentials volume`);
  check((s.volumes || []).some((v) => /:\/factorio(:|$)/.test(v)), `compose ${name}: a /factorio volume (switch to a real install there)`);
}
check(Object.values(services).some((s) => (s.ports || []).includes('8080:8080')), 'compose: the web port is published');

// ---- shell scripts: shellcheck (Debian package), warnings and errors fail
const scripts = ['scripts/demo', 'scripts/docker-entrypoint', 'tests/deploy/entrypoint_test.sh'];
const sc = spawnSync('shellcheck', ['-S', 'warning', ...scripts.map((f) => path.join(src, f))], { encoding: 'utf8' });
check(sc.status === 0, `shellcheck -S warning ${scripts.join(' ')}${sc.error ? ': ' + sc.error.message : ''}${sc.stdout ? '\n' + sc.stdout : ''}`);

// ---- systemd units
const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
check(analyze.status === 0, 'systemd-analyze is installed (scripts/setup installs systemd)');
if (analyze.status === 0) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clusterio-units-'));
  for (const unit of ['clusterio-master.service', 'clusterio-slave.service']) {
    const body = fs.readFileSync(path.join(src, 'scripts/systemd', unit), 'utf8');
    for (const key of ['Restart=on-failure', 'KillSignal=SIGTERM', 'TimeoutStopSec=', 'ExecStart=/usr/local/bin/'])
      check(body.includes(key), `${unit}: ${key}`);
    fs.writeFileSync(path.join(dir, unit), body.replace(/^ExecStart=.*$/m, 'ExecStart=/bin/true'));
    const r = spawnSync('systemd-analyze', ['verify', path.join(dir, unit)], { encoding: 'utf8' });
    const out = (r.stdout + r.stderr).split('\n').filter((l) => l.includes(unit)).join('\n');
    check(r.status === 0 && out === '', `systemd-analyze verify ${unit}${out ? '\n' + out : ''}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

console.log(failures ? `${failures} failure(s)` : 'PASS');
process.exit(failures ? 1 : 0);
