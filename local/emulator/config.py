"""What the emulator is started with: the studios fixture, timings, quota, faults, seed.

The same document configures it three ways: :class:`EmulatorConfig` from Python, the body of
``POST /_emulator/config``, and the ``NIMBLE_EMULATOR_CONFIG`` start-up variable
(:func:`load_config`). Keys are camelCase or snake_case.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from local.emulator.authorization import IamSettings
from local.emulator.exceptions import NimbleError
from local.emulator.faults import CamelModel, FaultSpec
from local.emulator.ratelimit import RateLimits

__all__ = ["EmulatorConfig", "StudioFixture", "load_config", "setting_names"]


class StudioFixture(CamelModel):
    """A studio the emulator knows, with its launch profiles and streaming images."""

    studio_id: str = Field(min_length=1)
    launch_profile_ids: list[str] = Field(default_factory=list)
    streaming_image_ids: list[str] = Field(default_factory=list)
    #: Used when a request names no image; the first image when unset.
    default_streaming_image_id: str | None = None

    @model_validator(mode="after")
    def _default_image(self) -> StudioFixture:
        if self.default_streaming_image_id is None and self.streaming_image_ids:
            self.default_streaming_image_id = self.streaming_image_ids[0]
        if (
            self.default_streaming_image_id is not None
            and self.default_streaming_image_id not in self.streaming_image_ids
        ):
            raise ValueError("defaultStreamingImageId must be one of streamingImageIds")
        return self


def _default_studios() -> list[StudioFixture]:
    return [
        StudioFixture(
            studio_id="studio-local",
            launch_profile_ids=["lp-local", "lp-local-2"],
            streaming_image_ids=["image-local"],
        )
    ]


class EmulatorConfig(CamelModel):
    """Everything the emulator can be started with (keys camelCase or snake_case).

    ``faults`` and ``live_sessions_per_owner`` are installed when the backend starts (or
    when posted to ``/_emulator/config``); ``reset()`` clears them like any injected fault.
    """

    studios: list[StudioFixture] = Field(default_factory=_default_studios)
    #: Seconds from create (or start) to READY; ``[min, max]`` draws one per session.
    provisioning_seconds: float | tuple[float, float] = 3.0
    #: Seconds from delete (or stop) to DELETED (or STOPPED).
    deletion_seconds: float = Field(default=1.0, ge=0)
    region: str = "us-east-1"
    account_id: str = "123456789012"
    list_page_size: int = Field(default=50, ge=1, le=1000)
    live_sessions_per_owner: int | None = Field(default=None, ge=0)
    faults: list[FaultSpec] = Field(default_factory=list)
    #: Seed for probabilities and random durations/status codes (reproducible runs).
    seed: int | None = None
    #: Roles and policies: when set, every API call is decided by IAM's rules (see
    #: :mod:`local.emulator.authorization`); unset, any signed request is accepted.
    iam: IamSettings | None = None
    #: Per-account, per-operation request-rate limits (token buckets); off unless enabled.
    rate_limits: RateLimits = Field(default_factory=RateLimits)

    @field_validator("provisioning_seconds")
    @classmethod
    def _check_provisioning(cls, value: float | tuple[float, float]) -> float | tuple[float, float]:
        low, high = value if isinstance(value, tuple) else (value, value)
        if low < 0 or high < low:
            raise ValueError("must be >= 0, or a [min, max] range with 0 <= min <= max")
        return value

    @model_validator(mode="after")
    def _unique_studios(self) -> EmulatorConfig:
        ids = [studio.studio_id for studio in self.studios]
        if len(ids) != len(set(ids)):
            raise ValueError("studio ids must be unique")
        return self

    @classmethod
    def parse(cls, data: EmulatorConfig | Mapping[str, Any] | None) -> EmulatorConfig:
        """A config from a config, a mapping (JSON body) or None; ValidationException if bad."""
        return cls() if data is None else cls.from_body(data, "config")

    def settings(self) -> dict[str, Any]:
        """The configuration minus the one-off faults/quota (shown elsewhere in snapshots)."""
        return self.model_dump(by_alias=True, mode="json", exclude=ONE_OFFS | {"iam"})

    def one_off_free(self) -> EmulatorConfig:
        """This configuration once its faults and quota have been installed."""
        return self.model_copy(update={"faults": [], "live_sessions_per_owner": None})


#: Settings installed once (added to the faults, set as the quota) rather than kept.
ONE_OFFS = frozenset({"faults", "live_sessions_per_owner"})

#: Each field's camelCase name, as the JSON body spells it.
CAMEL_NAMES: dict[str, str] = {
    name: info.alias or to_camel(name) for name, info in EmulatorConfig.model_fields.items()
}


def setting_names() -> dict[str, str]:
    """Every accepted key (snake_case or camelCase) → the field name."""
    return {**{name: name for name in CAMEL_NAMES}, **{alias: name for name, alias in CAMEL_NAMES.items()}}


def load_config(source: str | None) -> EmulatorConfig:
    """A config from JSON text or from the path of a JSON file (empty/None: defaults).

    This is how ``NIMBLE_EMULATOR_CONFIG`` is read. Raises ValueError with a readable
    message when the file is missing or the content is not a valid configuration.
    """
    if source is None or not source.strip():
        return EmulatorConfig()
    text = source
    origin = "NIMBLE_EMULATOR_CONFIG"
    if not source.lstrip().startswith("{"):
        path = Path(source).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read emulator config file {str(path)!r}: {exc.strerror}") from None
        origin = str(path)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{origin} is not valid JSON: {exc}") from None
    try:
        return EmulatorConfig.parse(data)
    except NimbleError as exc:
        raise ValueError(f"{origin}: {exc.message}") from None
