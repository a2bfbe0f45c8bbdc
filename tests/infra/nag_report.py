"""Read cdk-nag's report of one synthesized stack and hold it against the pinned suppressions."""

from __future__ import annotations

import csv
import fnmatch
import re
from collections import Counter
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from infra.nag_suppressions import Suppression, relative_path

_FINDING = re.compile(r"^\[(?P<finding>[^\]]+)\] (?P<reason>.*)$", re.DOTALL)


def report_rows(outdir: Path, stack: cdk.Stack) -> list[dict[str, str]]:
    (path,) = [
        p for p in outdir.glob("AwsSolutions-*-NagReport.csv") if p.name.endswith(f"-{stack.artifact_id}-NagReport.csv")
    ]
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    # Each synthesis of the app appends its rows again; one finding is one (rule, resource, reason).
    unique = {(r["Rule ID"], r["Resource ID"], r["Compliance"], r["Exception Reason"]): r for r in rows}
    return list(unique.values())


def suppressed_by_rule(rows: list[dict[str, str]]) -> Counter[str]:
    return Counter(row["Rule ID"].removeprefix("AwsSolutions-") for row in rows if row["Compliance"] == "Suppressed")


def problems(outdir: Path, stack: cdk.Stack, template: dict[str, Any], pinned: tuple[Suppression, ...]) -> list[str]:
    """Every way the stack's findings differ from the pinned list: unsuppressed findings, suppressed findings
    no entry covers, suppressions attached that are not listed, and entries covering a different count."""
    found: list[str] = []
    used: Counter[Suppression] = Counter()
    prefix = stack.node.path + "/"
    for row in report_rows(outdir, stack):
        rule, path, compliance = row["Rule ID"], row["Resource ID"].removeprefix(prefix), row["Compliance"]
        if compliance in ("Compliant", "N/A"):
            continue
        if compliance != "Suppressed":
            found.append(f"{compliance}: {rule} on {path}")
            continue
        reason, finding = row["Exception Reason"], ""
        parsed = _FINDING.match(reason)
        if parsed:
            reason, finding = parsed["reason"], parsed["finding"]
        entries = [
            e
            for e in pinned
            if e.rule == rule
            and e.matches(path)
            and e.reason == reason
            and (e.finding is None or (finding and e.covers(finding)))
        ]
        if len(entries) != 1:
            found.append(f"suppressed, not pinned exactly once: {rule} [{finding}] on {path}")
            continue
        used[entries[0]] += 1
    for entry in pinned:
        if used[entry] != entry.count:
            found.append(
                f"pinned {entry.rule} on {entry.path} [{entry.finding}] covers {used[entry]} findings, "
                f"not {entry.count}"
            )
    paths = {
        stack.get_logical_id(c): relative_path(stack, c)
        for c in stack.node.find_all()
        if isinstance(c, cdk.CfnResource)
    }
    for logical_id, resource in template.get("Resources", {}).items():
        for attached in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            path = paths.get(logical_id, logical_id)
            if not any(
                e.rule == attached["id"] and e.reason == attached["reason"] and fnmatch.fnmatchcase(path, e.path)
                for e in pinned
            ):
                found.append(f"suppression not in the pinned list: {attached['id']} on {path}")
    return found
