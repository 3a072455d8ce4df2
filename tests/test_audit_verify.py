"""`swp audit verify` at speed: signatures checked in worker processes still name the first bad
event, and a later verify on the same computer trusts only signatures that are byte for byte
those an earlier verify checked."""

from __future__ import annotations

import json

import pytest
from conftest import audit_rows, execute

from swp.services.audit import event_hash


def _verify(db: str, **options):
    from swp.db import open_database
    from swp.services import audit

    database = open_database(db)
    try:
        return database.run(lambda session: audit.verify(session, **options), write=False)
    finally:
        database.dispose()


def _swap_signature(db: str, seq: int, other: int) -> None:
    rows = {r["seq"]: r for r in audit_rows(db)}
    execute(db, "DROP TRIGGER IF EXISTS audit_event_append_only_update ON audit_event",
            "UPDATE audit_event SET signature = :v WHERE seq = :q",
            params={"v": rows[other]["signature"], "q": seq})


def _rehash_from(db: str, seq: int, **changes) -> None:
    """Change event `seq` and recompute its hash and every later link (the signatures then fail)."""
    rows = audit_rows(db)
    statements = ["DROP TRIGGER IF EXISTS audit_event_append_only_update ON audit_event"]
    params: dict = {}
    previous = None
    for i, row in enumerate(r for r in rows if r["seq"] >= seq):
        row = dict(row, **(changes if row["seq"] == seq else {}))
        if previous is not None:
            row["prev_hash"] = previous
        row["hash"] = previous = event_hash(row)
        statements.append(f"UPDATE audit_event SET detail = :d{i}, prev_hash = :p{i}, hash = :h{i} "
                          f"WHERE seq = {row['seq']}")
        params.update({f"d{i}": row["detail"], f"p{i}": row["prev_hash"], f"h{i}": row["hash"]})
    execute(db, *statements, params=params)


def test_worker_processes_find_what_one_process_finds(lived, db, monkeypatch):
    from concurrent.futures import ProcessPoolExecutor

    sent: list[int] = []
    submit = ProcessPoolExecutor.submit
    monkeypatch.setattr(ProcessPoolExecutor, "submit",
                        lambda pool, fn, batch: sent.append(len(batch)) or submit(pool, fn, batch))
    clean = _verify(db, workers=1)
    assert clean.ok and clean.signed > 20 and not sent
    assert _verify(db, workers=2, batch=3) == clean
    assert sum(sent) >= clean.signed - 3  # the worker processes checked them (the last few here)
    signed = [r["seq"] for r in audit_rows(db) if r["signature"]]
    early, late = signed[4], signed[-3]
    # a bad signature in a later batch, and a broken hash after it: the signature comes first
    _swap_signature(db, late, early)
    alone = _verify(db, workers=1)
    assert not alone.ok and alone.first_bad == late and "its signature is not" in alone.reason
    assert _verify(db, workers=2, batch=3) == alone
    # a bad signature in an early batch comes before the later one
    _swap_signature(db, early, signed[5])
    first = _verify(db, workers=1)
    assert first.first_bad == early and _verify(db, workers=2, batch=3) == first
    assert _verify(db, workers=2, batch=2000) == first


def test_a_broken_hash_before_a_bad_signature_comes_first(lived, db):
    signed = [r["seq"] for r in audit_rows(db) if r["signature"]]
    _swap_signature(db, signed[-2], signed[3])
    execute(db, "DROP TRIGGER IF EXISTS audit_event_append_only_update ON audit_event",
            f"UPDATE audit_event SET detail = 'edited' WHERE seq = {signed[6]}")
    alone = _verify(db, workers=1)
    assert alone.first_bad == signed[6] and alone.reason == "its content does not match its hash"
    assert _verify(db, workers=2, batch=3) == alone


def test_a_trusted_checkpoint_is_used_only_while_it_holds(lived, db):
    clean = _verify(db, workers=1)
    seq, digest, signatures = clean.through
    assert (seq, digest) == (clean.events, audit_rows(db)[-1]["hash"])
    again = _verify(db, trusted=clean.through, workers=2, batch=3)
    assert again.ok and again.signatures_trusted == clean.signed and again.through == clean.through
    # every event is still hashed and linked: an edited event is found
    middle = [r["seq"] for r in audit_rows(db) if r["signature"]][10]
    _rehash_from(db, middle, detail="edited")
    found = _verify(db, trusted=clean.through)
    assert found.first_bad == middle and "its signature is not" in found.reason
    assert found == _verify(db, workers=1)


@pytest.mark.parametrize("where", ["before", "at"])
def test_a_signature_changed_under_a_checkpoint_is_checked_again(lived, db, where):
    clean = _verify(db, workers=1)
    signed = [r["seq"] for r in audit_rows(db) if r["signature"]]
    bad = signed[3] if where == "before" else signed[-1]
    _swap_signature(db, bad, signed[2])
    found = _verify(db, trusted=clean.through, workers=2, batch=3)
    assert found.first_bad == bad and found.signatures_trusted == 0
    assert found == _verify(db, workers=1)


def test_audit_verify_remembers_how_far_it_checked(lived, db):
    first = lived.ok("audit", "verify", json=True).json
    assert first["ok"] and first["signatures_checked_before"] == 0
    later = lived.ok("audit", "verify", json=True).json
    assert later["signatures_checked_before"] == later["signed"] == first["signed"]
    assert "unchanged since an earlier verify on this computer" in lived.ok("audit", "verify").out
    assert lived.ok("audit", "verify", "--full", json=True).json["signatures_checked_before"] == 0
    # a signature swapped after the checkpoint was kept is still found
    signed = [r["seq"] for r in audit_rows(db) if r["signature"]]
    _swap_signature(db, signed[3], signed[4])
    run = lived("audit", "verify")
    assert run.code == 4 and f"event {signed[3]}: its signature is not" in run.err


def test_an_edited_checkpoint_file_trusts_nothing(lived, db):
    from swp import identity

    lived.ok("audit", "verify")
    files = list((identity.home() / "heads").glob("*.verified.json"))
    assert len(files) == 1
    kept = json.loads(files[0].read_text())
    files[0].write_text(json.dumps(dict(kept, signatures="0" * 64)))
    run = lived.ok("audit", "verify", json=True).json
    assert run["ok"] and run["signatures_checked_before"] == 0
    assert json.loads(files[0].read_text()) == kept  # the full check put it right
    files[0].write_text("not json")
    assert lived.ok("audit", "verify", json=True).json["signatures_checked_before"] == 0


def test_the_key_file_loader_is_cryptographys_own():
    from cryptography.hazmat.primitives import serialization

    from swp.identity import pem_private_key_loader

    assert pem_private_key_loader() is serialization.load_pem_private_key


@pytest.mark.parametrize("kind", ["sandbox", "key file"])
def test_a_signed_write_imports_only_the_cryptography_it_needs(practice, tmp_path, kind):
    """Signing needs the Ed25519 module (and the key derivation in a sandbox), not the
    serialization package with its SSH and cipher modules."""
    import os
    import subprocess
    import sys

    env = {**os.environ}
    if kind == "key file":
        from swp import identity

        key = tmp_path / "mo.pem"
        identity.save_signer(identity.sandbox_signer(_seed(practice.db), "mo"), key, "a passphrase")
        env.update(SWP_KEY=str(key), SWP_PASSPHRASE="a passphrase")
    code = ("import sys; from swp.cli import app; "
            "app(['--db', sys.argv[1], '--as', 'mo', 'ledger', 'income', '1.00', '--date', '2026-06-30', "
            "'--category', 'grants'], standalone_mode=False); "
            "print('MODULES', sorted(m for m in sys.modules if m.startswith('cryptography.hazmat.primitives')))")
    out = subprocess.run([sys.executable, "-c", code, practice.db], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    modules = out.stdout.split("MODULES", 1)[1]
    assert "asymmetric.ed25519" in modules
    assert "primitives.serialization'" not in modules and "serialization.ssh" not in modules
    assert "primitives.ciphers" not in modules


def _seed(db: str) -> str:
    from conftest import query

    return query(db, "SELECT sandbox_seed FROM practice")[0][0]
