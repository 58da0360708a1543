"""The scenario registry: every scenario module registers its functions here."""

from __future__ import annotations

import dataclasses
from typing import Callable

BOTH = ("sealtrail", "moto")
SEALTRAIL = ("sealtrail",)


@dataclasses.dataclass
class Scenario:
    name: str
    group: str  # boto3 | cli | esdk | sdk-rust | enforcement | sigv4 | persistence
    fn: Callable
    targets: tuple = BOTH
    doc: str = ""


SCENARIOS: list[Scenario] = []


def scenario(name: str, group: str, targets: tuple = BOTH):
    def register(fn: Callable) -> Callable:
        if any(s.name == name for s in SCENARIOS):
            raise ValueError(f"scenario {name} registered twice")
        SCENARIOS.append(Scenario(name, group, fn, targets, (fn.__doc__ or "").strip().split("\n")[0]))
        return fn

    return register
