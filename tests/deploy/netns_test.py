#!/usr/bin/env python3
"""Multi-host cluster across network namespaces (needs root and iproute2).

Three namespaces made by this test (names carry its pid): the master in one, a slave in each of
the other two (host-a: a factorio-sim "producer" world; host-b: a "consumer" world), joined by
veth pairs with addresses from 10.201.7.0/24 that exist only inside these namespaces. CURVE is
on: each slave uses the credential file `clusterio-master add-slave` wrote, with the master's
address. Items flow; then host-a's link is cut (`ip link set ... down`) for 10 s and restored;
items flow again; finally the exact conservation ledger of docs/transfers.md (as tests/slave/cluster.hpp)
shows nothing was lost or duplicated: produced = producer world + unacknowledged batches +
storage + reservations + consumer world + mod buffer + consumed. Everything stops on SIGTERM
with exit status 0. The namespaces are always deleted (finally, and on SIGTERM/SIGINT).

Env: CLUSTERIO_BUILD_DIR (binaries), CLUSTERIO_SOURCE_DIR.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("CLUSTERIO_BUILD_DIR") or sys.exit("set CLUSTERIO_BUILD_DIR")
MASTER_BIN = os.path.join(BUILD, "master/clusterio-master")
SLAVE_BIN = os.path.join(BUILD, "slave/clusterio-slave")
FACTORIO = os.path.join(BUILD, "factorio-sim")
PID = os.getpid()
NS = {"m": f"clio-m-{PID}", "a": f"clio-a-{PID}", "b": f"clio-b-{PID}"}
# veth names are at most 15 characters.
VETH = {"ma": f"cm{PID}a", "am": f"ca{PID}m", "mb": f"cm{PID}b", "bm": f"cb{PID}m"}
ADDR = {"ma": "10.201.7.1", "am": "10.201.7.2", "mb": "10.201.7.5", "bm": "10.201.7.6"}
CONTROL, HTTP = 7100, 8080  # fresh namespaces: the documented ports are free
ITEMS = ("iron-plate", "water")

tmp = tempfile.mkdtemp(prefix="clusterio-netns-")
procs = {}
created_ns = []
passed = False


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Failure(Exception):
    pass


def run(*cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise Failure(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip() or r.stdout.strip()}")
    return r


def nsexec(n, *cmd):
    return ["ip", "netns", "exec", NS[n], *cmd]


# ---- network ------------------------------------------------------------------------------------
def make_network():
    for n in ("m", "a", "b"):
        r = run("ip", "netns", "add", NS[n], check=False)
        if r.returncode != 0:
            raise Failure(f"cannot create network namespace {NS[n]}: {r.stderr.strip()}\n"
                          "This test needs root (CAP_SYS_ADMIN) and iproute2; CI runs as root.")
        created_ns.append(NS[n])
        run("ip", "-n", NS[n], "link", "set", "lo", "up")
    for here, there, peer in (("ma", "am", "a"), ("mb", "bm", "b")):
        # Both ends are born inside the namespaces: nothing appears in the caller's namespace.
        run("ip", "link", "add", VETH[here], "netns", NS["m"], "type", "veth", "peer", "name", VETH[there], "netns", NS[peer])
        run("ip", "-n", NS["m"], "addr", "add", ADDR[here] + "/30", "dev", VETH[here])
        run("ip", "-n", NS[peer], "addr", "add", ADDR[there] + "/30", "dev", VETH[there])
        run("ip", "-n", NS["m"], "link", "set", VETH[here], "up")
        run("ip", "-n", NS[peer], "link", "set", VETH[there], "up")


def cleanup():
    for p in procs.values():
        if p.poll() is None:
            p.kill()
    for name in created_ns:
        # Whatever still runs inside (a game left behind) goes with the namespace.
        r = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
        for pid in r.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    for p in procs.values():
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            pass
    if passed:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"state kept in {tmp}", file=sys.stderr)


def on_signal(sig, _frame):
    cleanup()
    sys.exit(128 + sig)


# ---- processes ----------------------------------------------------------------------------------
def start(key, n, argv):
    logf = open(os.path.join(tmp, key + ".log"), "ab")
    procs[key] = subprocess.Popen(nsexec(n, *argv), stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop(key, timeout=60):
    p = procs[key]
    p.send_signal(signal.SIGTERM)  # `ip netns exec` execs the program: the signal reaches it
    try:
        code = p.wait(timeout)
    except subprocess.TimeoutExpired:
        raise Failure(f"{key} did not stop within {timeout} s of SIGTERM")
    if code != 0:
        raise Failure(f"{key} exited with status {code} after SIGTERM")
    log(f"{key} stopped on SIGTERM, exit 0")


def tail(key, lines=40):
    try:
        with open(os.path.join(tmp, key + ".log"), errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def api(path):
    """GET from the master's web API, from inside the master's namespace."""
    r = run(*nsexec("m", sys.executable, "-c",
                    "import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())",
                    f"http://127.0.0.1:{HTTP}{path}"), check=False)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


RCON_HELPER = r"""
import json, socket, struct, sys
port, password, commands = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
def send(i, t, body):
    b = body.encode() + b"\0\0"
    s.sendall(struct.pack("<iii", len(b) + 8, i, t) + b)
def recv():
    def n(k):
        d = b""
        while len(d) < k:
            c = s.recv(k - len(d))
            if not c: raise SystemExit("RCON closed")
            d += c
        return d
    size, = struct.unpack("<i", n(4))
    d = n(size)
    i, t = struct.unpack("<ii", d[:8])
    return i, d[8:-2].decode()
send(1, 3, password)
if recv()[0] != 1: raise SystemExit("RCON auth refused")
# As in Factorio, the first Lua command on a save is refused with a warning: probe first.
send(2, 2, "/sc rcon.print('probe')")
if recv()[1] != "probe\n":
    send(3, 2, "/sc rcon.print('probe')"); recv()
send(4, 2, "/sc " + commands[0])
sys.stdout.write(recv()[1])
"""


def lua(host, instance, code):
    """Runs Lua in a world over RCON, from inside the slave's namespace (RCON is not routed)."""
    with open(os.path.join(tmp, host, "instances", instance, "config.json")) as f:
        cfg = json.load(f)
    r = run(*nsexec(host[-1], sys.executable, "-c", RCON_HELPER, str(cfg["rcon_port"]), cfg["rcon_password"], code))
    return r.stdout.rstrip("\n")


def mod(host, instance, function, arg=None):
    def lit(s):
        return '"' + "".join(f"\\{ord(c):03d}" if ord(c) < 0x20 or c in "\"\\'" else c for c in s) + '"'
    return json.loads(lua(host, instance, f"remote.call(\"clusterio\", {lit(function)}, {lit(json.dumps(arg or {}))})"))


def status(host, instance):
    try:
        with open(os.path.join(tmp, host, "instances", instance, "status.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


# ---- the ledger (tests/slave/cluster.hpp) -------------------------------------------------------
PRODUCER_LUA = """
local r = {plates = 0, water = 0}
for _, c in pairs(game.surfaces[1].find_entities_filtered{name = 'put-chest'}) do
  r.plates = r.plates + c.get_inventory(defines.inventory.chest).get_item_count('iron-plate') end
for _, t in pairs(game.surfaces[1].find_entities_filtered{name = 'put-tank'}) do
  local f = t.fluidbox[1]; r.water = r.water + (f and f.amount or 0) end
r.produced = storage.produced or {}
rcon.print(helpers.table_to_json(r))"""
CONSUMER_LUA = """
local r = {plates = 0, water = 0}
for _, c in pairs(game.surfaces[1].find_entities_filtered{name = 'get-chest'}) do
  r.plates = r.plates + c.get_inventory(defines.inventory.chest).get_item_count('iron-plate') end
for _, t in pairs(game.surfaces[1].find_entities_filtered{name = 'get-tank'}) do
  local f = t.fluidbox[1]; r.water = r.water + (f and f.amount or 0) end
r.consumed = storage.consumed or {}
rcon.print(helpers.table_to_json(r))"""


def count():
    led = {k: {n: 0.0 for n in ITEMS} for k in
           ("produced", "producer_world", "pending_exports", "stock", "reserved", "consumer_world", "buffered", "consumed")}
    p = json.loads(lua("host-a", "producer", PRODUCER_LUA))
    led["producer_world"]["iron-plate"], led["producer_world"]["water"] = p["plates"], p["water"]
    for k, v in (p["produced"] or {}).items():
        led["produced"][k] = v
    for batch in mod("host-a", "producer", "pending_exports").get("batches") or []:
        for name, n in batch["items"]:
            led["pending_exports"][name] = led["pending_exports"].get(name, 0) + n
    c = json.loads(lua("host-b", "consumer", CONSUMER_LUA))
    led["consumer_world"]["iron-plate"], led["consumer_world"]["water"] = c["plates"], c["water"]
    for k, v in (c["consumed"] or {}).items():
        led["consumed"][k] = v
    st = mod("host-b", "consumer", "status")
    if isinstance(st.get("buffered"), dict):
        for k, by_quality in st["buffered"].items():  # {name: {quality: count}}
            led["buffered"][k] = by_quality.get("normal", 0)
    storage = api("/api/storage?rate_minutes=60")
    if storage is None:
        raise Failure("the master's API did not answer")
    for it in storage["items"]:
        led["stock"][it["name"]] = it["count"]
    # The API gives the reserved units in total; at rest they must be 0, which is checked.
    led["reserved"]["iron-plate"] = storage["reserved_units"]
    return led


def accounted(led, n):
    return sum(led[k].get(n, 0) for k in ("producer_world", "pending_exports", "stock", "reserved", "consumer_world", "buffered", "consumed"))


def describe(led, n):
    return (f"{n}: produced {led['produced'].get(n, 0)} = producer world {led['producer_world'].get(n, 0)} + unacknowledged "
            f"batches {led['pending_exports'].get(n, 0)} + storage {led['stock'].get(n, 0)} + reservations "
            f"{led['reserved'].get(n, 0)} + consumer world {led['consumer_world'].get(n, 0)} + mod buffer "
            f"{led['buffered'].get(n, 0)} + consumed {led['consumed'].get(n, 0)}")


def received(led):
    return led["consumer_world"]["iron-plate"] + led["consumed"]["iron-plate"] + led["buffered"]["iron-plate"]


def wait_for(what, pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        for key, p in procs.items():
            if p.poll() is not None:
                raise Failure(f"{key} exited ({p.returncode}) while waiting for {what}:\n{tail(key)}")
        v = pred()
        if v:
            return v
        time.sleep(0.5)
    raise Failure(f"timed out ({timeout} s) waiting for {what}")


def exported(name="iron-plate"):
    s = api("/api/storage?rate_minutes=60") or {"items": []}
    return next((i["exported"] for i in s["items"] if i["name"] == name), 0)


# ---- the test -----------------------------------------------------------------------------------
def main():
    global passed
    for b in (MASTER_BIN, SLAVE_BIN, os.path.join(FACTORIO, "bin/x64/factorio")):
        if not os.path.exists(b):
            raise Failure(f"missing {b}: build first")
    make_network()
    log(f"namespaces {', '.join(NS.values())}; master at {ADDR['ma']} (host-a side) and {ADDR['mb']} (host-b side)")

    # Credentials: one per slave host, with the master's address as that host reaches it.
    data = os.path.join(tmp, "master")
    slave_ns = {"host-a": ("a", ADDR["ma"], "producer"), "host-b": ("b", ADDR["mb"], "consumer")}
    for host, (n, master_ip, world) in slave_ns.items():
        os.makedirs(os.path.join(tmp, host))
        run(MASTER_BIN, "add-slave", host, "--data", data, "--out", os.path.join(tmp, host, host + ".cred.json"),
            "--master", f"{master_ip}:{CONTROL}")
    start("master", "m", [MASTER_BIN, "run", "--data", data, "--control-port", str(CONTROL), "--bus-port", str(CONTROL + 1),
                          "--http-port", str(HTTP)])
    wait_for("the master's API", lambda: api("/api/health"), 20)

    for host, (n, master_ip, world) in slave_ns.items():
        d = os.path.join(tmp, host)
        with open(os.path.join(d, "slave.json"), "w") as f:
            json.dump({"name": host, "master": f"{master_ip}:{CONTROL}", "credential": host + ".cred.json",
                       "factorio_dir": FACTORIO, "public_address": master_ip, "scenario": world,
                       "heartbeat_ms": 1000, "sync_interval_ms": 2000}, f)
        cfg = os.path.join(d, "slave.json")
        run(SLAVE_BIN, "--config", cfg, "mod", "install")
        run(SLAVE_BIN, "--config", cfg, "create", world)
        start(host, n, [SLAVE_BIN, "--config", cfg, "--log-level", "debug", "start", world])
    for host, (n, master_ip, world) in slave_ns.items():
        wait_for(f"{world} on {host} running", lambda: status(host, world).get("state") == "running" and status(host, world).get("instance_id", 0) > 0, 40)
    online = wait_for("both worlds online at the master", lambda: (lambda i: i and sorted(
        w["name"] + "@" + w["slave"] for w in i["instances"] if w["online"]) == ["consumer@host-b", "producer@host-a"] and i)(api("/api/instances")), 30)
    log("online: " + ", ".join(w["name"] + "@" + w["slave"] for w in online["instances"]))

    wait_for("iron plates to reach the consumer", lambda: received(count()) >= 100, 60)
    log(f"flowing: consumer received {received(count()):.0f} plates")

    # Cut host-a's link for 10 s: nothing it exports can reach the master meanwhile.
    run("ip", "-n", NS["a"], "link", "set", VETH["am"], "down")
    cut_at = time.time()
    log("host-a's link is down")
    time.sleep(2)  # what was in the air when the link went down has settled
    before = exported()
    time.sleep(max(0.0, 10 - (time.time() - cut_at)))
    during = exported()
    pending = sum(sum(n for _, n in b["items"]) for b in mod("host-a", "producer", "pending_exports").get("batches") or [])
    log(f"during the cut: exports at the master {before} -> {during}; unacknowledged batches on host-a: {pending}")
    if during != before:
        raise Failure(f"exports reached the master while host-a's link was down ({before} -> {during}): the cut did not cut")
    run("ip", "-n", NS["a"], "link", "set", VETH["am"], "up")
    log("host-a's link is up again")
    got_before = received(count())
    wait_for("exports from host-a to resume", lambda: exported() > during, 60)
    wait_for("the consumer to receive more", lambda: received(count()) > got_before + 50, 60)
    log(f"flowing again: exported {exported()}, consumer received {received(count()):.0f}")

    # Stop production and consumption; wait until nothing is in flight, then account for all.
    lua("host-a", "producer", "storage.halt = true rcon.print('ok')")
    lua("host-b", "consumer", "storage.halt = true rcon.print('ok')")
    led, prev = None, None
    for _ in range(60):
        time.sleep(1)
        prev, led = led, count()
        quiet = prev is not None and all(
            led["pending_exports"][n] == 0 and led["reserved"][n] == 0 and describe(led, n) == describe(prev, n) for n in ITEMS)
        if quiet:
            break
    bad = []
    for n in ITEMS:
        log(describe(led, n))
        if not (led["produced"][n] > 0 and led["pending_exports"][n] == 0 and led["reserved"][n] == 0 and accounted(led, n) == led["produced"][n]):
            bad.append(describe(led, n))
    if bad:
        raise Failure("conservation broken:\n" + "\n".join(bad))

    stop("host-a")
    stop("host-b")
    stop("master")
    passed = True
    log("PASS: a link cut lost nothing; every unit produced is accounted for exactly once")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        main()
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        for key in procs:
            print(f"---- {key} log (tail)\n{tail(key)}", file=sys.stderr)
        sys.exit(1)
    finally:
        cleanup()
