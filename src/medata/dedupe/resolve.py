"""Resolution policies: every decision becomes a manifest row's status and reason, never a
silent deletion. Only rows that are kept now can change; other members give context."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import pandas as pd

from medata.dedupe.groups import DEFAULT_THRESHOLD, Groups, effective_label
from medata.records import Reason, Status

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


@dataclass(frozen=True)
class Decision:
    row: int
    status: Status
    reason: Reason | None
    ref: int | None  # the manifest row kept in its place
    labels: str = ""


def _rank(rows: pd.DataFrame, priority: tuple[str, ...]) -> list[int]:
    """Best first: larger image, then source priority, then path (a stated, stable rule)."""
    pri = {s: k for k, s in enumerate(priority)}
    keyed = sorted(
        rows.index,
        key=lambda i: (
            -int(rows.at[i, "width"] or 0) * int(rows.at[i, "height"] or 0),
            pri.get(rows.at[i, "source"], len(pri)),
            rows.at[i, "source"], rows.at[i, "input"], rows.at[i, "source_path"],
        ),
    )  # fmt: skip
    return keyed


def resolve(manifest: pd.DataFrame, groups: Groups, policy: DedupePolicy) -> tuple[
    list[Decision], dict[int, str]
]:  # fmt: skip
    """Decisions for kept rows, and the split each moved row goes to."""
    decisions: list[Decision] = []
    moves: dict[int, str] = {}
    labels_all = effective_label(manifest.loc[groups.member["row"]])
    for _, member in groups.member.groupby("group", sort=True):
        rows = manifest.loc[member["row"]]
        labels = labels_all.loc[member["row"]]
        active = rows[rows["status"] == Status.KEPT.value]
        if active.empty:
            continue
        active = _conflicts(active, labels, policy, decisions)
        if active.empty:
            continue
        active = _leaks(active, policy, decisions, moves)
        _duplicates(active, policy, decisions)
    return decisions, moves


def _conflicts(active: pd.DataFrame, labels: pd.Series, policy: DedupePolicy,
               decisions: list[Decision]) -> pd.DataFrame:  # fmt: skip
    counts = labels.value_counts()
    if len(counts) <= 1:
        return active
    listing = ", ".join(f"{k} x{v}" for k, v in sorted(counts.items()))
    winner = None
    if policy.conflicts is ConflictPolicy.MAJORITY and counts.iloc[0] > counts.iloc[1]:
        winner = counts.index[0]
    losers = active.index if winner is None else active.index[labels.loc[active.index] != winner]
    for i in losers:
        decisions.append(Decision(int(i), Status.CONFLICT, Reason.LABEL_CONFLICT, None, listing))
    return active.drop(index=losers)


def _leaks(active: pd.DataFrame, policy: DedupePolicy, decisions: list[Decision],
           moves: dict[int, str]) -> pd.DataFrame:  # fmt: skip
    if active["split"].nunique() <= 1:
        return active
    if policy.leaks is LeakPolicy.DROP_TEST:
        train = active[active["split"] == "train"]
        keeper = _rank(train, policy.source_priority)[0]
        test = active.index[active["split"] != "train"]
        for i in test:
            decisions.append(Decision(int(i), Status.LEAK, Reason.LEAK_OF, int(keeper)))
        return active.drop(index=test)
    target = "train" if policy.leaks is LeakPolicy.TO_TRAIN else "test"
    active = active.copy()
    for i in active.index[active["split"] != target]:
        moves[int(i)] = target
        active.at[i, "split"] = target
    return active


def _duplicates(active: pd.DataFrame, policy: DedupePolicy, decisions: list[Decision]) -> None:
    for _, same_split in active.groupby("split", sort=True):
        if len(same_split) < 2:
            continue
        ranked = _rank(same_split, policy.source_priority)
        for i in ranked[1:]:
            decisions.append(
                Decision(int(i), Status.DUPLICATE, Reason.DUPLICATE_OF, int(ranked[0]))
            )
