#!/usr/bin/python3
"""Watch and send Clusterio circuit signals, speaking only what docs/protocol.md says.

Needs Debian's python3-zmq and python3-msgpack (apt-get install python3-zmq python3-msgpack);
run it with /usr/bin/python3.

    signals.py --credential grafana.cred.json watch [CHANNEL] [--count N] [--sources]
    signals.py --credential tool.cred.json send CHANNEL signal-A=5 iron-plate=-3 water=2:fluid iron-plate=1:item:rare

The credential file is made by `clusterio-master add-tool NAME --role subscriber|publisher`.
Exit status: 0 done, 1 the master refused, 2 no answer or bad use.
"""

import argparse
import json
import re
import signal
import sys
import time

import msgpack
import zmq

PROTOCOL_VERSION = 1
SUM_TOPIC = "signal/"            # + channel: the channel's sum (signal_sum)
SOURCE_TOPIC = "signal-src/"     # + channel: every source's frames (signal)


class Failure(Exception):
    def __init__(self, why, status=2):
        super().__init__(why)
        self.status = status


def load_credential(path):
    """Reads a credential file: name, role, public_key, secret_key, master_public_key, master."""
    try:
        with open(path) as f:
            cred = json.load(f)
    except (OSError, ValueError) as e:
        raise Failure(f"cannot read credential {path}: {e}")
    for key in ("name", "public_key", "secret_key", "master_public_key"):
        if not isinstance(cred.get(key), str):
            raise Failure(f"{path}: missing '{key}'")
    return cred


def apply_curve(sock, cred):
    """CURVE client options (docs/protocol.md §2): set before connecting."""
    if cred is None:
        return
    sock.curve_serverkey = cred["master_public_key"].encode()
    sock.curve_publickey = cred["public_key"].encode()
    sock.curve_secretkey = cred["secret_key"].encode()


class Client:
    """A DEALER on the control socket: one msgpack map per ZeroMQ frame, replies matched by id."""

    def __init__(self, ctx, endpoint, cred, timeout_ms):
        self.endpoint = endpoint
        self.timeout_ms = timeout_ms
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        apply_curve(self.sock, cred)
        self.sock.connect(endpoint)
        self.next_id = 1

    def call(self, t, **fields):
        request_id = self.next_id
        self.next_id += 1
        frame = {"v": PROTOCOL_VERSION, "t": t, "id": request_id}
        frame.update(fields)
        self.sock.send(msgpack.packb(frame, use_bin_type=True))
        deadline = time.monotonic() + self.timeout_ms / 1000
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000) + 1):
                raise Failure(f"no answer from the master at {self.endpoint} within {self.timeout_ms} ms "
                              "(is it running? is this credential on its allow-list?)")
            reply = msgpack.unpackb(self.sock.recv(), raw=False)
            if reply.get("id") != request_id:
                continue  # a late reply to an earlier request
            if reply.get("t") == "error":
                field = f" ({reply['field']})" if reply.get("field") else ""
                raise Failure(f"the master refused '{t}': {reply.get('code')}{field}: {reply.get('message')}", 1)
            return reply


def endpoints(args, cred):
    control = args.master
    if not control:
        address = cred.get("master") if cred else None
        control = f"tcp://{address}" if address else "tcp://127.0.0.1:7100"
    bus = args.bus
    if not bus:
        host, _, port = control.rpartition(":")
        if not port.isdigit():
            raise Failure(f"cannot find the port in '{control}' (expected tcp://host:port)")
        bus = f"{host}:{int(port) + 1}"
    return control, bus


def format_signal(entry):
    """name=value, then :type and :quality as the wire's entry has them (§9)."""
    return f"{entry[0]}=" + ":".join(str(x) for x in entry[1:])


def format_frame(f):
    signals = " ".join(format_signal(e) for e in f["signals"]) or "(withdrawn)"
    return f"{f['channel']} {f.get('source', '')} seq={f['seq']} {signals}"


def format_sum(s):
    sources = ",".join(f"{x['source']}:{x['seq']}" for x in s["sources"]) or "-"
    signals = " ".join(format_signal(e) for e in s["signals"]) or "(empty)"
    return f"{s['channel']} gen={s['generation']} sources={sources} {signals}"


SIGNAL_TYPES = ("item", "fluid", "virtual", "entity", "recipe", "space-location", "asteroid-chunk", "quality")
VALUE = re.compile(r"(-?[0-9]+)(?::(" + "|".join(SIGNAL_TYPES) + r")(?::(.+))?)?")


def parse_signal(text):
    """name=value[:type[:quality]] as the wire's entry (§9): the type spelled only when not item
    or before a quality, the quality only when not normal. A name may contain '=' and ':': the
    '=' is the last one followed by a value."""
    eq = text.rfind("=")
    while eq > 0:
        m = VALUE.fullmatch(text[eq + 1:])
        if m:
            value, type_, quality = int(m[1]), m[2] or "item", m[3] or "normal"
            entry = [text[:eq], value]
            if type_ != "item" or quality != "normal":
                entry.append(type_)
            if quality != "normal":
                entry.append(quality)
            return entry
        eq = text.rfind("=", 0, eq)
    raise Failure(f"expected name=count[:type[:quality]], got '{text}'")


def watch(args, cred, ctx):
    control, bus = endpoints(args, cred)
    # Subscribe first (the master republishes the current sums, or frames, to a new
    # subscription), then say hello, which proves the master is there and knows our key.
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    apply_curve(sub, cred)
    sub.setsockopt_string(zmq.SUBSCRIBE, (SOURCE_TOPIC if args.sources else SUM_TOPIC) + (args.channel or ""))
    sub.connect(bus)
    client = Client(ctx, control, cred, args.timeout)
    client.call("hello", name=cred["name"] if cred else "signals.py", software="signals.py/0.1")
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    shown = 0
    while not stop and (args.count == 0 or shown < args.count):
        if not sub.poll(200):
            continue
        topic, body = sub.recv_multipart()
        frame = msgpack.unpackb(body, raw=False)
        # "signal/ab" also matches the subscription "signal/a": keep only the channel asked for.
        wanted = "signal" if args.sources else "signal_sum"
        if frame.get("t") != wanted or (args.channel and frame["channel"] != args.channel):
            continue
        print(format_frame(frame) if args.sources else format_sum(frame), flush=True)
        shown += 1
    return 0


def send(args, cred, ctx):
    signals = [parse_signal(pair) for pair in args.signals]
    seq = args.seq or time.time_ns() // 1000  # epoch microseconds: a later run wins
    control, _ = endpoints(args, cred)
    client = Client(ctx, control, cred, args.timeout)
    fields = {"channel": args.channel, "seq": seq, "signals": signals}
    if args.source:
        fields["source"] = args.source
    client.call("signal", **fields)
    print(f"sent {args.channel} seq={seq} " + " ".join(format_signal(e) for e in signals), flush=True)
    return 0


def main():
    parser = argparse.ArgumentParser(description="Watch and send Clusterio circuit signals.")
    parser.add_argument("--credential", help="credential file (clusterio-master add-tool ...)")
    parser.add_argument("--insecure", action="store_true", help="no credential: a master run with --insecure")
    parser.add_argument("--master", help="control socket tcp://host:port (default: the credential's master)")
    parser.add_argument("--bus", help="bus socket tcp://host:port (default: control port + 1)")
    parser.add_argument("--timeout", type=int, default=3000, help="milliseconds to wait for each answer")
    commands = parser.add_subparsers(dest="command", required=True)
    w = commands.add_parser("watch", help="print each channel's sum as the master publishes it (Ctrl-C stops)")
    w.add_argument("channel", nargs="?", help="only this channel")
    w.add_argument("--count", type=int, default=0, help="stop after this many lines")
    w.add_argument("--sources", action="store_true", help="print every source's frames instead of the sums (topic signal-src/)")
    s = commands.add_parser("send", help="send the complete set of signals this tool transmits on CHANNEL")
    s.add_argument("channel")
    s.add_argument("signals", nargs="*", help="name=count[:type[:quality]] (item and normal when left out); none withdraws this tool's contribution")
    s.add_argument("--seq", type=int, default=0, help="sequence number (default: epoch microseconds)")
    s.add_argument("--source", default="", help="sub-source (shown as <credential name>/<source>)")
    args = parser.parse_args()

    ctx = zmq.Context()
    try:
        if not args.credential and not args.insecure:
            raise Failure("give --credential FILE, or --insecure for a master run with --insecure")
        cred = load_credential(args.credential) if args.credential else None
        return watch(args, cred, ctx) if args.command == "watch" else send(args, cred, ctx)
    except Failure as f:
        print(f"signals.py: {f}", file=sys.stderr)
        return f.status
    finally:
        ctx.destroy(linger=0)


if __name__ == "__main__":
    sys.exit(main())
