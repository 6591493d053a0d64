"""`make chaos`: many concurrent requests through the local stack while Nimble Studio misbehaves.

    make chaos                                   # 200 requests, seed 1
    CHAOS_REQUESTS=50 CHAOS_SEED=7 make chaos
    PYTHONPATH=functions:. python -m local.chaos --requests 30 --seed 3

It starts a private :class:`~local.stack.LocalStack` (emulator, engine, API, each on a free
port of 127.0.0.1, events to a temporary file) with fast polling (first check after 1 s, then
every second, giving up after ``--poll-budget`` s), and turns the emulator hostile through its
control endpoint, on every operation:

* 20% ``ThrottlingException`` and 5% ``InternalServerErrorException`` (any operation),
* 5% ``ConflictException`` on CreateStreamingSession,
* 5% of the sessions end ``CREATE_FAILED`` (a random failure statusCode), 5% never become READY,
* provisioning takes a random 1-10 s per session,
* and the emulator's request-rate limits are on (its assumed defaults; ``--no-rate-limits``
  turns them off), which the workflow's call schedule must keep it under.

Then it sends N requests over real HTTP to the local API, from a pool of client threads, each
with its own client token; 10% are sent a second time at the same moment (same token, same
body), which must give the same requestId. A client retries 429/502/503 and connection errors
with the same token, as the API asks. It waits until every accepted request has a terminal
event (or its workflow closed without one), lets pending deletions finish, and checks, as an
outside observer (the API, the events file and ``GET /_emulator/state``):

* lost: an accepted request with no terminal event;
* duplicate events: terminal events beyond the first for one requestId;
* duplicate sessions: sessions beyond the first for one (studio, client token);
* orphaned sessions: a session that is neither READY and announced by a Ready event, nor
  deleted (DELETED, or DELETE_IN_PROGRESS after the workflow asked), nor CREATE_FAILED;
* and, printed as violations too: a request not accepted, a replay answered with another
  requestId, a status (GET) that disagrees with the event, an event whose claims about the
  session (READY, deleted) the emulator contradicts.

It prints the outcome mix, the faults that fired, wall time and peak RSS, details of every
violation, and ends with one line::

    chaos: N requests, N terminal events, 0 duplicate events, 0 lost, 0 duplicate sessions, 0 orphaned sessions

The exit status is 0 when nothing was violated, 1 otherwise.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from local.chaos.client import Submission, http_json
from local.chaos.plan import ChaosConfig, Planned, emulator_faults
from local.chaos.runner import run
from local.chaos.verdict import ChaosReport, assess

__all__ = [
    "ChaosConfig",
    "ChaosReport",
    "Planned",
    "Submission",
    "assess",
    "emulator_faults",
    "http_json",
    "main",
    "run",
]


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=_env_int("CHAOS_REQUESTS", 200))
    parser.add_argument("--seed", type=int, default=_env_int("CHAOS_SEED", 1))
    parser.add_argument("--poll-budget", type=int, default=_env_int("CHAOS_POLL_BUDGET_SECONDS", 20))
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds the whole run may take")
    parser.add_argument(
        "--no-rate-limits",
        action="store_true",
        help="leave the emulator's request-rate limits off (they are on by default)",
    )
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    # The faults are the point: the engine's complaints about them (moto logs every failed
    # execution at ERROR) are noise here; the report names every violation.
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    # Handlers run with metrics disabled (EMF lines are for CloudWatch); keep it so after the
    # engine restores the environment, when late metric flushes would print everything kept.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    config = ChaosConfig(
        requests=args.requests,
        seed=args.seed,
        poll_budget_seconds=args.poll_budget,
        timeout_seconds=args.timeout,
        rate_limits=not args.no_rate_limits,
    )
    report = run(config)
    return 0 if report.ok else 1
