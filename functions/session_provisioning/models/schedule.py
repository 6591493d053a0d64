"""The account-wide call schedule's settings, as a function's environment gives them."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CallScheduleSettings"]


class CallScheduleSettings(BaseModel):
    """``CALL_SCHEDULE_TABLE`` and the calls per second the workflow may make, per operation.

    A rate of 0 leaves that operation unscheduled; no table leaves every call unscheduled
    (a function invoked on its own, e.g. ``sam local invoke`` without the stack).
    """

    model_config = ConfigDict(frozen=True)

    table_name: str | None = Field(default=None, min_length=1)
    create_calls_per_second: float = Field(default=0, ge=0)
    get_calls_per_second: float = Field(default=0, ge=0)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> CallScheduleSettings:
        return cls.model_validate(
            {
                "table_name": environ.get("CALL_SCHEDULE_TABLE") or None,
                "create_calls_per_second": environ.get("CREATE_STREAMING_SESSION_CALLS_PER_SECOND") or 0,
                "get_calls_per_second": environ.get("GET_STREAMING_SESSION_CALLS_PER_SECOND") or 0,
            }
        )

    def rates(self) -> dict[str, float]:
        return {
            "CreateStreamingSession": self.create_calls_per_second,
            "GetStreamingSession": self.get_calls_per_second,
        }
