"""Resolution policies: every decision becomes a manifest row's status and reason, never a
silent deletion. Only rows that are kept now can change; other members give context."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from enum import Enum

import pandas as pd

from medata.dedupe.groups import DEFAULT_THRESHOLD, Groups, effective_label
from medata.errors import UsageError
from medata.problems import Code
from medata.records import Status

DEFAULT_PRIORITY = ("kmirfan", "ziya07", "kori", "generic")


class LeakPolicy(str, Enum):
    DROP_TEST = "drop-test"  # the test copies go: the test set stays clean
    TO_TRAIN = "to-train"  # the whole group moves to train
    TO_TEST = "to-test"  # the whole group moves to test


class ConflictPolicy(str, Enum):
    QUARANTINE = "quarantine"  # the whole group leaves train and test
    MAJORITY = "majority"  # keep the members with the majority label (a tie quarantines)


@dataclass(frozen=True)
class DedupePolicy:
    threshold: int = DEFAULT_THRESHOLD
    leaks: LeakPolicy = LeakPolicy.DROP_TEST
    conflicts: ConflictPolicy = ConflictPolicy.QUARANTINE
    source_priority: tuple[str, ...] = DEFAULT_PRIORITY

    def __post_init__(self) -> None:
        # Names as the CLI spells them ("to-train", "majority") are accepted from Python too.
        for name, kind in (("leaks", LeakPolicy), ("conflicts", ConflictPolicy)):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, kind(value))
            except ValueError:
                known = ", ".join(k.value for k in kind)
                raise UsageError(f"{name} must be one of {known}, got {value!r}") from None
        object.__setattr__(self, "source_priority", tuple(self.source_priority))
        if not 0 <= self.threshold <= 32:
            raise UsageError(
                f"--threshold must be between 0 and 32 (bits of a 64-bit pHash), got "
                f"{self.threshold}"
            )


@dataclass(frozen=True)
class Decision:
    row: int
    status: Status
    reason: Code | None
    ref: int | None  # the manifest row kept in its place
    labels: str = ""

    def detail(self, kept: str | None, group: object) -> str:
        """The manifest detail: the file kept in this row's place, or the conflicting labels."""
        if self.ref is None:
            return f"labels in the group: {self.labels}"
        return f"kept {kept} (group {group})"


@dataclass
class _Member:
    row: int
    kept: bool
    label: str
    split: str
    area: int
    key: tuple[str, str, str]  # (source, input, source_path)


def _members(manifest: pd.DataFrame, groups: Groups) -> dict[str, list[_Member]]:
    """Plain records per group: resolution loops over a few thousand small groups, where
    pandas indexing per group would cost seconds."""
    rows = groups.member["row"].to_numpy()
    sub = manifest.loc[rows]
    labels = effective_label(sub).tolist()
    cols = {
        c: sub[c].astype(object).where(sub[c].notna(), None).tolist()
        for c in ("status", "split", "width", "height", "source", "input", "source_path")
    }
    out: dict[str, list[_Member]] = {}
    for k, (row, gid) in enumerate(zip(rows.tolist(), groups.member["group"].tolist(),
                                       strict=True)):  # fmt: skip
        area = int(cols["width"][k] or 0) * int(cols["height"][k] or 0)
        out.setdefault(gid, []).append(_Member(
            row, cols["status"][k] == Status.KEPT.value, labels[k], cols["split"][k] or "",
            area, (cols["source"][k], cols["input"][k], cols["source_path"][k]),
        ))  # fmt: skip
    return out


def _best(members: list[_Member], priority: tuple[str, ...]) -> _Member:
    """Larger image, then source priority, then path (a stated, stable rule)."""
    pri = {s: k for k, s in enumerate(priority)}
    return min(members, key=lambda m: (-m.area, pri.get(m.key[0], len(pri)), m.key))


def resolve(manifest: pd.DataFrame, groups: Groups, policy: DedupePolicy) -> tuple[
    list[Decision], dict[int, str]
]:  # fmt: skip
    """Decisions for kept rows, and the split each moved row goes to."""
    decisions: list[Decision] = []
    moves: dict[int, str] = {}
    for _, members in sorted(_members(manifest, groups).items()):
        active = [m for m in members if m.kept]
        if active:
            active = _conflicts(members, active, policy, decisions)
        if active:
            active = _leaks(active, policy, decisions, moves)
            _duplicates(active, policy, decisions)
    return decisions, moves


def _conflicts(members: list[_Member], active: list[_Member], policy: DedupePolicy,
               decisions: list[Decision]) -> list[_Member]:  # fmt: skip
    counts = Counter(m.label for m in members)
    if len(counts) <= 1:
        return active
    ranked = counts.most_common()
    listing = ", ".join(f"{k} x{v}" for k, v in sorted(counts.items()))
    winner = None
    if policy.conflicts is ConflictPolicy.MAJORITY and ranked[0][1] > ranked[1][1]:
        winner = ranked[0][0]
    for m in active:
        if m.label != winner:
            decisions.append(Decision(m.row, Status.CONFLICT, Code.LABEL_CONFLICT, None, listing))
    return [m for m in active if m.label == winner]


def _leaks(active: list[_Member], policy: DedupePolicy, decisions: list[Decision],
           moves: dict[int, str]) -> list[_Member]:  # fmt: skip
    if len({m.split for m in active}) <= 1:
        return active
    if policy.leaks is LeakPolicy.DROP_TEST:
        keeper = _best([m for m in active if m.split == "train"], policy.source_priority)
        for m in active:
            if m.split != "train":
                decisions.append(Decision(m.row, Status.LEAK, Code.LEAK_OF, keeper.row))
        return [m for m in active if m.split == "train"]
    target = "train" if policy.leaks is LeakPolicy.TO_TRAIN else "test"
    for m in active:
        if m.split != target:
            moves[m.row] = target
            m.split = target
    return active


def _duplicates(active: list[_Member], policy: DedupePolicy, decisions: list[Decision]) -> None:
    for split in sorted({m.split for m in active}):
        same = [m for m in active if m.split == split]
        if len(same) < 2:
            continue
        keeper = _best(same, policy.source_priority)
        for m in sorted(same, key=lambda m: m.key):
            if m is not keeper:
                decisions.append(Decision(m.row, Status.DUPLICATE, Code.DUPLICATE_OF, keeper.row))


def dedupe_meta(policy: DedupePolicy | None) -> str:
    if policy is None:
        return json.dumps({"enabled": False})
    return json.dumps({
        "enabled": True, "hash": "phash", "threshold": policy.threshold,
        "leaks": policy.leaks.value, "conflicts": policy.conflicts.value,
        "source_priority": list(policy.source_priority),
    }, sort_keys=True)  # fmt: skip
