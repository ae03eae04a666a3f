"""Scanner adapters: pip-audit, safety and npm audit run as subprocesses, plus the OSV client.

Each runner takes its feed settings and a work directory (private HOME and caches) as
constructor parameters and returns the tool's parsed JSON report, or raises
:class:`~orchestra_ops.errors.ScanError` saying which tool failed on which manifest;
:mod:`.normalise` turns those reports (and OSV records) into domain findings.
"""
