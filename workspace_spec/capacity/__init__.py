"""The capacity probe: N workspaces from one template, at most C brought up at once, each judged usable as the
smoke judges it, then all removed through the cleanup ledger; where the time went, per phase.

    python -m workspace_spec.capacity --workspaces 12 --concurrency 6 [--template T] [--ssh] [--browser] --yes

Modules: `trace` (one workspace's moments and its phases), `figures` (p50/p95/max, failures by class, the
console table, reports/capacity.json), `timeline` (the SVG picture), `probe` (bringing the workspaces up and
down), `__main__` (the command line and its reports).
"""
