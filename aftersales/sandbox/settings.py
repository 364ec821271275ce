"""SandboxSettings: the simulated shop's options, as a store's settings or ``[sandbox]``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SandboxSettings"]


class SandboxSettings(BaseModel):
    """``[sandbox]`` (or a ``[stores.NAME]`` of adapter ``sandbox``): the simulated shop."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(default=0, description="the sandbox's random seed")
    orders: int = Field(default=100, ge=1, description="how many orders the sandbox shop has")
