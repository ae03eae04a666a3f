"""One corpus repository carried out for real: git, real symlinks, the applier, validation.

The planning tests (tests/unit/reorg/test_corpus.py) cover every expectation on
snapshots; this one checks the same plan survives the disk: links read by
``read_links``, the project holding the outside link left in place with it, the
deploy script's cd chain rewritten in the committed tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from orchestra_ops.adapters.git import Git, read_links, read_snapshot
from orchestra_ops.adapters.reorg_apply import ReorgApplier
from orchestra_ops.domain.reorg.mapping import parse_mapping
from orchestra_ops.domain.reorg.plan import build_plan
from orchestra_ops.domain.reorg.validate import validate_layout
from tests.reorg_corpus.corpus import CORPUS, load


def _repo(tmp_path: Path) -> tuple[Path, Path]:
    repo, outside = tmp_path / "shell-chains", tmp_path / "vault"
    outside.mkdir()
    shutil.copytree(CORPUS / "shell-chains", repo, ignore=shutil.ignore_patterns("expect.yaml"))
    for link, target in load("shell-chains").links.items():
        (repo / link).parent.mkdir(parents=True, exist_ok=True)
        relative = os.path.relpath(repo / target, (repo / link).parent) if target else outside
        os.symlink(relative, repo / link)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=env)
    Git(repo).commit_all("corpus repository")
    return repo, outside


def test_shell_chains_applies_with_its_outside_links_left_in_place(tmp_path: Path) -> None:
    repo, outside = _repo(tmp_path)
    links = read_links(repo)
    assert links == {
        "infra/secrets/vault": None,
        "shared-docs": None,
        "docs/db-schema": "infra/db/schema",
    }
    snapshot = read_snapshot(repo)
    mapping = parse_mapping((repo / "reorg.yaml").read_text(encoding="utf-8"))
    plan = build_plan(snapshot, mapping, links)
    assert [r.split(" ", 1)[0] for r in plan.refused] == ["infra/secrets"]
    assert [c.path for c in plan.manual if "symlink" in c.reason] == ["docs/db-schema"]
    ReorgApplier(repo, durable=False).apply(plan)
    report = validate_layout(read_snapshot(repo), plan)
    assert report.ok, [str(p) for p in report.problems]
    deploy = (repo / "scripts/deploy.sh").read_text(encoding="utf-8").splitlines()
    assert deploy[4] == "cd ../../data/db" and deploy[6] == "cd ../../../scripts"
    assert (repo / "platform/data/db/schema/init.sql").is_file()
    assert (repo / "infra/secrets/vault").resolve() == outside.resolve()
    assert not (repo / "platform/secrets").exists()
    assert Git(repo).is_clean()
