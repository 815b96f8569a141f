#!/usr/bin/python3
"""Calls grpc.health.v1 Health/Check every --interval through --address until stdin closes, then prints one JSON
line: {"calls": N, "failed": F, "codes": {...}}. Each line read from stdin before that prints the counts so far in
the same form. Used by the bench's edge, rollout and soak modes (bench/Rollout/ClientSet.cs).

--client fresh        a new channel (and TCP connection) per call
--client fast-backoff one long-lived channel whose reconnect backoff is 20-50 ms

Needs python3-grpcio only: the call sends an empty HealthCheckRequest and reads the raw reply (field 1 = 1: SERVING).
"""
import argparse
import json
import sys
import threading
import time

import grpc

SERVING = b"\x08\x01"
METHOD = "/grpc.health.v1.Health/Check"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--client", choices=["fresh", "fast-backoff"], required=True)
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--deadline", type=float, default=0.5)
    parser.add_argument("--max-seconds", type=float, default=900)
    args = parser.parse_args()

    stop = threading.Event()
    report = threading.Event()

    def read_stdin():
        for _ in sys.stdin:
            report.set()
        stop.set()

    threading.Thread(target=read_stdin, daemon=True).start()

    fast = [("grpc.initial_reconnect_backoff_ms", 20), ("grpc.min_reconnect_backoff_ms", 20),
            ("grpc.max_reconnect_backoff_ms", 50), ("grpc.enable_retries", 0)]
    shared = grpc.insecure_channel(args.address, options=fast) if args.client == "fast-backoff" else None
    calls = failed = 0
    codes = {}
    started = time.monotonic()
    next_at = started
    print("ready", flush=True)
    while not stop.is_set() and time.monotonic() - started < args.max_seconds:
        channel = shared or grpc.insecure_channel(args.address, options=[("grpc.enable_retries", 0)])
        check = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
        calls += 1
        try:
            reply = check(b"", timeout=args.deadline)
            if reply != SERVING:
                failed += 1
                codes["NOT_SERVING"] = codes.get("NOT_SERVING", 0) + 1
        except grpc.RpcError as error:
            failed += 1
            name = error.code().name
            codes[name] = codes.get(name, 0) + 1
        finally:
            if shared is None:
                channel.close()
        if report.is_set():
            report.clear()
            print(json.dumps({"calls": calls, "failed": failed, "codes": codes}), flush=True)
        next_at += args.interval
        delay = next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        else:
            next_at = time.monotonic()
    print(json.dumps({"calls": calls, "failed": failed, "codes": codes}), flush=True)


if __name__ == "__main__":
    main()
