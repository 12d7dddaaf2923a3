"""Mutation testing of the code that decides verdicts or protects users: `bin/mutation [module ...]`.

mutmut (requirements-dev.txt; `[tool.mutmut]` in pyproject.toml) copies the project to mutants/, makes one
small change at a time to the functions of TARGETS (a condition inverted, a constant changed, a call
dropped) and runs the unit tests that reach that function, without the lab (`-m "not lab"`). A change that
no test notices survives. The score is the share of changes killed; a survivor is either killed by a new
test or listed in docs/mutation.md as an equivalent mutant (a change that cannot alter what the code
does), with why. docs/mutation.md also says how long a run takes.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
DOC = ROOT / "docs" / "mutation.md"
RESULTS = ROOT / "reports" / "mutation"
MINIMUM_SCORE = 90.0
PACKAGE = "workspace_spec"

# The functions whose verdicts count, per module of workspace_spec ("*": all of it). Properties are not
# here: mutmut leaves decorated functions alone (docs/mutation.md).
TARGETS: dict[str, tuple[str, ...]] = {
    "apps": (
        "AppLocation.contains",
        "app_location",
        "open_app",
        "_target",
        "_auth_redirect",
        "_is_login",
        "_without_query_secrets",
    ),
    "browser": (
        "judge",
        "unexpected_failures",
        "page_problem",
        "connection_problem",
        "repository_problem",
        "asset_problem",
        "time_to_interactive",
        "Socket.lifetime",
        "_how_it_failed",
        "_connection_messages",
        "_app_base",
        "without_query",
        "_clean",
    ),
    "cleanup": ("*",),
    "coder": (
        "Provisioners.from_json",
        "Script.from_json",
        "Agent.failed_scripts",
        "Workspace.never_picked_up",
        "Workspace.ide_agent",
        "Workspace.deadline_passed",
        "_is_transient",
        "_was_not_acted_on",
    ),
    "codeserver": ("judge", "health_port"),
    "github": ("_changed_lines",),
    "gitwork": ("stored_credentials", "changed_files", "Credentials.git"),
    "journal": ("*",),
    "kube": ("Cluster.missing_rights",),
    "naming": ("Namer.owns",),
    "promotion": ("*",),
    "reachability": ("_probe", "services"),
    "secrets": ("*",),
    "sweep": ("find", "sweep", "_remover", "sweep_ledger", "sweep_ledgers", "_age"),
}

# mutmut's exit codes of a mutant's test run (mutmut/stats.py), as this report groups them.
KILLED = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout"}
NOT_KILLED = {0: "survived", 33: "no tests", 5: "no tests"}


def patterns(module: str) -> list[str]:
    """mutmut's names of the mutants of a module's targets: `pkg.mod.x_func__mutmut_3` for a function,
    `pkg.mod.xǁClassǁmethod__mutmut_3` for a method."""
    names = []
    for target in TARGETS[module]:
        if target == "*":
            names.append(f"{PACKAGE}.{module}.*")
            continue
        owner, _, function = target.rpartition(".")
        mangled = f"xǁ{owner}ǁ{function}" if owner else f"x_{function}"
        names.append(f"{PACKAGE}.{module}.{mangled}__mutmut_*")
    return names


def function_of(mutant: str) -> str:
    """`mod.Class.method` or `mod.func` of a mutant's name."""
    module, _, mangled = mutant.partition("__mutmut_")[0].removeprefix(f"{PACKAGE}.").rpartition(".")
    if mangled.startswith("xǁ"):
        owner, _, function = mangled[2:].partition("ǁ")
        return f"{module}.{owner}.{function}"
    return f"{module}.{mangled.removeprefix('x_')}"


@dataclass(frozen=True)
class Equivalent:
    function: str  # mod.func or mod.Class.method
    mutated: str  # the changed line as the mutant has it, stripped
    why: str


def equivalents(doc: Path = DOC) -> list[Equivalent]:
    """The table of docs/mutation.md's "Equivalent mutants" section: | `function` | `mutated line` | why |."""
    if not doc.is_file():
        return []
    section = doc.read_text(encoding="utf-8").partition("## Equivalent mutants")[2].partition("\n## ")[0]
    found = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 3 and cells[0].startswith("`"):
            function, mutated = (cell.strip("`").replace("\\|", "|") for cell in cells[:2])
            found.append(Equivalent(function, mutated, cells[2]))
    return found


def mutated_lines(diff: str) -> str:
    """The lines a mutant's unified diff adds, stripped and joined: what docs/mutation.md names it by."""
    return " / ".join(
        line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")
    )


@dataclass(frozen=True)
class Outcome:
    mutant: str
    status: str  # killed | timeout | survived | no tests | other statuses of mutmut
    diff: str = ""

    @property
    def killed(self) -> bool:
        return self.status in ("killed", "timeout")


def selected(mutant: str, modules: list[str]) -> bool:
    return any(fnmatch.fnmatch(mutant, pattern) for module in modules for pattern in patterns(module))


def outcomes(modules: list[str], mutants: Path = MUTANTS) -> list[Outcome]:
    """The mutants of the targets, as the last run left them in mutants/<module>.py.meta."""
    found = []
    for module in modules:
        meta = mutants / PACKAGE / f"{module}.py.meta"
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"] if meta.is_file() else {}
        for mutant, code in sorted(codes.items()):
            if selected(mutant, [module]):
                status = KILLED.get(code) or NOT_KILLED.get(code) or ("not checked" if code is None else str(code))
                found.append(Outcome(mutant, status))
    return found


def score(results: list[Outcome], known: list[Equivalent]) -> tuple[float, list[Outcome], list[Outcome]]:
    """Percent killed of the mutants that are not equivalent; the survivors that are not, and the ones that are."""
    equivalent = [r for r in results if not r.killed and _equivalent_of(r, known) is not None]
    survivors = [r for r in results if not r.killed and r not in equivalent]
    counted = len(results) - len(equivalent)
    killed = sum(r.killed for r in results)
    return (100.0 * killed / counted if counted else 100.0), survivors, equivalent


def _equivalent_of(result: Outcome, known: list[Equivalent]) -> Equivalent | None:
    function, mutated = function_of(result.mutant), mutated_lines(result.diff)
    return next((e for e in known if e.function == function and e.mutated == mutated), None)


def _diffs(mutants: list[str]) -> dict[str, str]:
    """Each mutant's unified diff, as `mutmut show` prints it (mutmut's own reader, in this process)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant  # imported here: only bin/mutation needs mutmut

    return {mutant: get_diff_for_mutant(mutant) for mutant in mutants}


def run(modules: list[str], children: int) -> int:
    """A fresh mutmut run over the targets of `modules` (log: reports/mutation/mutmut.log); each module's
    results are kept in reports/mutation/<module>.json, so that runs of single modules add up."""
    shutil.rmtree(MUTANTS, ignore_errors=True)  # a stale copy, or stale test stats, would mislead the run
    RESULTS.mkdir(parents=True, exist_ok=True)
    names = [pattern for module in modules for pattern in patterns(module)]
    started = time.monotonic()
    with (RESULTS / "mutmut.log").open("w", encoding="utf-8") as log:
        done = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "mutmut"), "run", "--max-children", str(children), *names],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        return done.returncode
    for module in modules:
        results = outcomes([module])
        diffs = _diffs([r.mutant for r in results if not r.killed])
        kept = {"seconds": round(seconds), "modules_in_run": modules, "jobs": children}
        kept["mutants"] = {r.mutant: {"status": r.status, "diff": diffs.get(r.mutant, "")} for r in results}
        (RESULTS / f"{module}.json").write_text(json.dumps(kept, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


def kept(module: str) -> tuple[list[Outcome], tuple[tuple[str, ...], int]]:
    """A module's results as its last run kept them, and that run: its modules, how long it took."""
    path = RESULTS / f"{module}.json"
    if not path.is_file():
        return [], ((), 0)
    data = json.loads(path.read_text(encoding="utf-8"))
    results = [Outcome(name, fact["status"], fact["diff"]) for name, fact in data["mutants"].items()]
    return results, (tuple(data["modules_in_run"]), data["seconds"])


def report(modules: list[str]) -> int:
    results, runs = [], {}
    for module in modules:
        mine, (run_modules, seconds) = kept(module)
        if not mine:
            print(f"bin/mutation: no results for {module}: run `bin/mutation {module}`", file=sys.stderr)
            return 2
        results += mine
        runs[run_modules] = seconds
        counts = Counter(r.status for r in mine)
        print(f"{module:14} {len(mine):5} mutants  " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    known = equivalents()
    percent, survivors, equivalent = score(results, known)
    for survivor in survivors:
        print(f"\nSURVIVED ({survivor.status}): {survivor.mutant}")
        print(
            "\n".join(
                line for line in survivor.diff.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")
            )
        )
    matched = _matched(equivalent, known)
    stale = [e for e in known if e.function.split(".")[0] in modules and e not in matched]
    for entry in stale:
        print(f"\nlisted as equivalent in docs/mutation.md, but no such survivor: {entry.function}: {entry.mutated}")
    took = sum(runs.values())
    print(
        f"\nmutation score {percent:.1f} % ({sum(r.killed for r in results)} killed of {len(results)} mutants, "
        f"{len(equivalent)} equivalent, {len(survivors)} survivors; {took / 60:.1f} min of mutmut runs); "
        f"minimum {MINIMUM_SCORE:g} %"
    )
    return 0 if percent >= MINIMUM_SCORE and not stale else 1


def _matched(equivalent: list[Outcome], known: list[Equivalent]) -> list[Equivalent]:
    return [e for e in (_equivalent_of(r, known) for r in equivalent) if e is not None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"modules of workspace_spec (default: all of {', '.join(TARGETS)})")
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--report-only", action="store_true", help="report the kept results again (reports/mutation/)")
    options = parser.parse_args(argv)
    unknown = [module for module in options.modules if module not in TARGETS]
    if unknown:
        print(f"bin/mutation: not a target module: {', '.join(unknown)} (known: {', '.join(TARGETS)})", file=sys.stderr)
        return 2
    modules = options.modules or list(TARGETS)
    if not options.report_only:
        code = run(modules, options.jobs)
        if code != 0:
            print(f"bin/mutation: mutmut failed (exit {code}): see {RESULTS / 'mutmut.log'}", file=sys.stderr)
            return 2
    return report(modules)


if __name__ == "__main__":
    sys.exit(main())
