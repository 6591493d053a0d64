"""What a chaos run does: its settings, the faults it asks the emulator for, and the requests
it sends (each with its own client token; some sent twice at once)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

__all__ = ["LAUNCH_PROFILES", "STUDIO", "ChaosConfig", "Planned", "emulator_faults", "plan_requests"]

STUDIO = "studio-local"
LAUNCH_PROFILES = ("lp-local", "lp-local-2")
INSTANCE_TYPES = ("g4dn.xlarge", "g4dn.2xlarge", "g5.xlarge", None)


@dataclass(frozen=True)
class ChaosConfig:
    """The run's size, seed, fault mix and timings (the defaults are ``make chaos``'s)."""

    requests: int = 200
    seed: int = 1
    #: Share of the requests sent a second time at the same moment (same token, same body).
    duplicate_fraction: float = 0.10
    # Chance per call: throttled (any operation), then a server error, then (Create) a conflict.
    throttling: float = 0.20
    internal_errors: float = 0.05
    create_conflicts: float = 0.05
    #: The emulator's per-account request-rate limits (its assumed defaults) on top of the
    #: injected faults: the workflow must stay under them by design (README, Performance).
    rate_limits: bool = True
    # Share of the sessions that end CREATE_FAILED, and that never become READY.
    create_failed: float = 0.05
    never_ready: float = 0.05
    #: A random provisioning time per session, between these.
    provisioning_seconds: tuple[float, float] = (1.0, 10.0)
    # The workflow's polling: first check after this long, then every interval.
    poll_initial_wait_seconds: int = 1
    poll_interval_seconds: int = 1
    #: Never-ready sessions give up (and are deleted) after this many seconds of polling.
    poll_budget_seconds: int = 20
    deletion_seconds: float = 1.0
    #: Share of the requests cancelled (DELETE) at a random moment, and of those, cancelled twice.
    cancel_fraction: float = 0.10
    cancel_twice_fraction: float = 0.3
    #: Share of the requests whose execution is stopped directly (StopExecution, no cancel).
    stop_fraction: float = 0.05
    #: The cancel or stop comes this many seconds after the request was accepted (random).
    intervention_seconds: tuple[float, float] = (0.0, 8.0)
    #: How long, after an execution ended without an event, the reconciler's event is awaited
    #: (it is asynchronous, and retried after a failed attempt).
    reconcile_grace_seconds: float = 90.0
    #: Capacity by type: a g5.xlarge session ends CREATE_FAILED INSUFFICIENT_CAPACITY this often,
    #: a g4dn.2xlarge create is refused with ServiceQuotaExceededException this often.
    no_capacity_g5: float = 0.3
    quota_g4dn_2xlarge: float = 0.1
    #: Share of the requests (with a type) that list the other types as fallbacks.
    fallback_fraction: float = 0.3
    #: Share of the requests with a readyBy, whose provisioning starts this many seconds after
    #: the request is sent (random), with this lead time.
    scheduled_fraction: float = 0.1
    scheduled_start_seconds: tuple[float, float] = (2.0, 10.0)
    ready_by_lead_seconds: int = 30
    #: Client threads sending the requests.
    workers: int = 50
    #: The whole run (submission to the last terminal event) must end within this.
    timeout_seconds: float = 900.0


@dataclass(frozen=True)
class Planned:
    """One request of the run: its token and body, whether it is sent twice at once, and what
    is done to it once accepted: cancelled (``cancels`` DELETEs) or stopped, ``delay`` s later."""

    index: int
    token: str
    body: dict[str, Any]
    duplicate: bool
    cancels: int = 0
    stop: bool = False
    delay: float = 0.0
    #: A scheduled request's readyBy, in seconds from its first send (client.body_to_send).
    ready_in: float | None = None


def emulator_faults(config: ChaosConfig) -> list[dict[str, Any]]:
    """The fault rules of the run, in the emulator's ``POST /_emulator/faults`` format.

    Error rules are tried in this order, so a call gets at most one error: 20% throttled, then
    5% of the rest fail with a server error, then (Create only) 5% of the rest conflict.
    """
    return [
        {"operation": "*", "error": "ThrottlingException", "probability": config.throttling},
        {"operation": "*", "error": "InternalServerErrorException", "probability": config.internal_errors},
        {
            "operation": "CreateStreamingSession",
            "error": "ConflictException",
            "probability": config.create_conflicts,
        },
        {"sessionOutcome": "CREATE_FAILED", "random": True, "probability": config.create_failed},
        # Of the sessions that did not draw CREATE_FAILED: about 5% of all.
        {"sessionOutcome": "NEVER_READY", "probability": config.never_ready / (1 - config.create_failed)},
        # Capacity by type (tried after the rules above, so the mix above is unchanged): G5s run
        # short, and the g4dn.2xlarge quota sometimes refuses; fallbacks move on to the next type.
        {
            "operation": "CreateStreamingSession",
            "error": "ServiceQuotaExceededException",
            "probability": config.quota_g4dn_2xlarge,
            "match": {"ec2InstanceType": "g4dn.2xlarge"},
        },
        {
            "sessionOutcome": "CREATE_FAILED",
            "statusCode": "INSUFFICIENT_CAPACITY",
            "probability": config.no_capacity_g5,
            "match": {"ec2InstanceType": "g5.xlarge"},
        },
    ]


def plan_requests(config: ChaosConfig, rng: random.Random) -> list[Planned]:
    """The run's requests; a scheduled one's readyBy is set when it is sent (``ready_in``)."""
    run_tag = f"chaos-{config.seed}-{rng.getrandbits(32):08x}"
    duplicates = set(rng.sample(range(config.requests), round(config.requests * config.duplicate_fraction)))
    # Cancelled and stopped requests are drawn apart from each other (a request gets one or none).
    others = list(range(config.requests))
    rng.shuffle(others)
    cancelled = others[: round(config.requests * config.cancel_fraction)]
    twice = set(cancelled[: round(len(cancelled) * config.cancel_twice_fraction)])
    stopped = set(others[len(cancelled) : len(cancelled) + round(config.requests * config.stop_fraction)])
    planned = []
    for index in range(config.requests):
        body: dict[str, Any] = {
            "launchProfileId": rng.choice(LAUNCH_PROFILES),
            "ownedBy": f"artist-{index % 17}@example.com",
        }
        instance_type = rng.choice(INSTANCE_TYPES)
        if instance_type is not None:
            body["ec2InstanceType"] = instance_type
            if rng.random() < config.fallback_fraction:
                others = [t for t in INSTANCE_TYPES if t is not None and t != instance_type]
                body["fallbackInstanceTypes"] = rng.sample(others, len(others))
        ready_in = None
        if rng.random() < config.scheduled_fraction:
            ready_in = config.ready_by_lead_seconds + rng.uniform(*config.scheduled_start_seconds)
        if rng.random() < 0.3:
            body["tags"] = {"project": f"shot-{index % 5}", "run": run_tag}
        planned.append(
            Planned(
                index,
                f"{run_tag}-{index:04d}",
                body,
                index in duplicates,
                cancels=2 if index in twice else 1 if index in cancelled else 0,
                stop=index in stopped,
                delay=round(rng.uniform(*config.intervention_seconds), 2),
                ready_in=ready_in,
            )
        )
    return planned
