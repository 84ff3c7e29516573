"""The import graph has no cycles, no upward arrows, and a pure mail core."""
from __future__ import annotations

from tests.architecture.import_graph import cycles, graph

# The entry points and the composition root may wire anything; everything else is below them.
ENTRY_POINTS = ("connector.cli", "connector.admin", "connector.bootstrap")
# What the pure mail core may never reach: I/O, storage, Google, credentials, jobs, wiring.
IMPURE = ("connector.store", "connector.gmail", "connector.ticketing", "connector.inbound", "connector.outbound",
          "connector.dnscheck", "connector.settings", "oauth", "jobs", "sandbox", *ENTRY_POINTS)


def _under(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_there_are_modules_to_check():
    edges = graph()
    assert len(edges) > 100 and "connector.mail.parse" in edges and "jobs.sync_inbox" in edges


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_nothing_below_the_entry_points_imports_jobs():
    offenders = sorted(f"{name} imports {target}" for name, targets in graph().items()
                       if name.startswith("connector.") and not _under(name, ENTRY_POINTS)
                       for target in targets if _under(target, ("jobs",)))
    assert offenders == []


def test_jobs_do_not_import_the_entry_points():
    offenders = sorted(f"{name} imports {target}" for name, targets in graph().items()
                       if _under(name, ("jobs", "oauth")) for target in targets if _under(target, ENTRY_POINTS))
    assert offenders == []


def test_the_mail_core_is_pure():
    edges = graph()
    reach = {name for name in edges if name.startswith("connector.mail")}
    offenders = sorted(f"{name} imports {target}" for name in reach for target in edges[name]
                       if _under(target, IMPURE))
    assert offenders == []


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_gmail_port_leaves_tokens_to_oauth():
    """Stored grant → credentials → gateway, and what a token failure means, live in oauth/gmail_access.py."""
    offenders = sorted(f"{name} imports {target}" for name, targets in graph().items()
                       if _under(name, ("connector.gmail",)) for target in targets if _under(target, ("oauth",)))
    assert offenders == []
