"""Who acts: members' Ed25519 keys, where they live, and signing (docs/identity.md).

A member's private key is a PKCS8 PEM file, 0600, in the configuration folder
(`keys/<practice id>/<handle>.pem`), encrypted with a passphrase unless the member chose none;
SWP_KEY (or --key) names another file. A sandbox practice (`swp init --sandbox`) makes its
members' keys itself: each derives (HKDF) from a random seed kept in the sandbox's practice row
and the member's handle, so copies of a sandbox keep working (tests, the demo).

The configuration folder is platformdirs' user config dir for "swp", or SWP_HOME when set; it
also keeps the last audit head each practice showed this user (`heads/<practice id>.json`).

The cryptography library is imported only when a key is made, loaded or checked: `--help` and
read-only commands never import it. Keys are never written to the database, printed or logged.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swp.errors import InputError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PUBLIC_KEY_HEX = 64  # an Ed25519 public key: 32 bytes


def home() -> Path:
    """The configuration folder: SWP_HOME, else the user's config dir (platformdirs)."""
    configured = os.environ.get("SWP_HOME", "").strip()
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("swp", appauthor=False))


def key_path(practice_uid: str, handle: str, override: str | None = None) -> Path:
    override = (override or os.environ.get("SWP_KEY", "")).strip()
    if override:
        return Path(override).expanduser()
    return home() / "keys" / practice_uid / f"{handle}.pem"


def fingerprint(public_hex: str) -> str:
    """A short, stable name of a public key: SHA-256 of its 32 bytes, first 32 hex digits."""
    return hashlib.sha256(bytes.fromhex(public_hex)).hexdigest()[:32]


def parse_public_key(text: str) -> str:
    """A public key given by a member: 64 hex digits, a PEM block, or a file holding either."""
    raw = (text or "").strip()
    if raw and not raw.startswith("-----") and len(raw) != PUBLIC_KEY_HEX and Path(raw).is_file():
        raw = Path(raw).read_text(encoding="utf-8").strip()
    if raw.startswith("-----BEGIN PUBLIC KEY-----"):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            key = serialization.load_pem_public_key(raw.encode("ascii"))
        except ValueError:
            raise InputError("not a public key: the PEM block cannot be read") from None
        if not isinstance(key, Ed25519PublicKey):
            raise InputError("not an Ed25519 public key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    raw = raw.removeprefix("swp-ed25519 ").strip().lower()
    if len(raw) != PUBLIC_KEY_HEX or any(c not in "0123456789abcdef" for c in raw):
        raise InputError("not a public key: give the 64 hex digits 'swp key show' prints, or its file")
    return raw


@dataclass
class Signer:
    """A loaded private key, held only in memory for one command."""

    handle: str
    _key: Ed25519PrivateKey

    @cached_property
    def public_hex(self) -> str:
        # the raw 32 bytes, without importing the serialization modules (a signed write needs
        # them only to read a key file)
        return self._key.public_key().public_bytes_raw().hex()

    @cached_property
    def fingerprint(self) -> str:
        return fingerprint(self.public_hex)

    def sign(self, event_hash: str) -> str:
        return self._key.sign(bytes.fromhex(event_hash)).hex()

    def __repr__(self) -> str:  # never show the key
        return f"Signer({self.handle!r})"


def sandbox_signer(seed_hex: str, handle: str) -> Signer:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    material = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=b"swp sandbox member key " + handle.encode("utf-8")).derive(bytes.fromhex(seed_hex))
    return Signer(handle, Ed25519PrivateKey.from_private_bytes(material))


def new_signer(handle: str) -> Signer:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Signer(handle, Ed25519PrivateKey.generate())


def _passphrase_for(handle: str, path: Path, interactive: bool = True) -> bytes:
    given = os.environ.get("SWP_PASSPHRASE")
    if given is not None:
        return given.encode("utf-8")
    if not interactive:
        raise InputError(f"{handle}'s key is protected by a passphrase, which this server cannot ask "
                         f"for: make the change with 'swp --as {handle}' at your own computer")
    if not sys.stdin.isatty():
        raise InputError(f"{handle}'s key {path} is protected by a passphrase: type it at a terminal, "
                         "or set SWP_PASSPHRASE in a script")
    import getpass

    return getpass.getpass(f"Passphrase for {handle}'s key: ").encode("utf-8")


def pem_private_key_loader() -> Callable[..., Any]:
    """cryptography's own `load_pem_private_key`. Its public name is in the serialization
    package, whose import also loads the SSH key and cipher modules (tens of ms a signed write
    does not need); that package re-exports it from the library's binding, where it is reached
    here when it is there (a test checks that both names are the one function)."""
    try:
        from cryptography.hazmat.bindings._rust import openssl

        return openssl.keys.load_pem_private_key
    except (ImportError, AttributeError):  # another version of the library: its public name
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        return load_pem_private_key


def load_signer(practice_uid: str, handle: str, key_file: str | None = None,
                interactive: bool = True) -> Signer:
    """The member's private key from its file (exit 1 with one line if missing or locked)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = key_path(practice_uid, handle, key_file)
    if not path.is_file():
        raise InputError(f"no key for {handle} at {path}: make one with 'swp --as {handle} key new' "
                         "(or name the key file with --key / SWP_KEY)")
    data = path.read_bytes()
    load_pem_private_key = pem_private_key_loader()
    try:
        key = load_pem_private_key(data, password=None)
    except TypeError:  # encrypted
        try:
            key = load_pem_private_key(data, password=_passphrase_for(handle, path, interactive))
        except ValueError:
            raise InputError(f"wrong passphrase for {handle}'s key {path}; nothing was changed") from None
    except ValueError:
        raise InputError(f"{path} is not a private key swp can read") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path} is not an Ed25519 key")
    return Signer(handle, key)


KEY_TAKEN = "swp never overwrites a key"  # the end of the line refusing an existing key file


def check_key_file(path: Path, *, taken: str = KEY_TAKEN) -> Path:
    """Refuse, before a key is made, a place a private key must not be written, as every file
    swp writes is checked (swp.files.check_path): a symbolic link, a folder, the practice's
    database, a file on the way to it, a NUL byte, and any file already there (never replaced:
    `taken` says why)."""
    from swp import files  # imported by the commands that write a key, not by every command

    return files.check_path(path, taken=taken)


def public_key_file(path: Path) -> Path:
    """The public key's file, beside the private key's: its name with `.pub` for its suffix. A
    private key's own file named `.pub` is refused: its public key would be written over it."""
    if path.suffix == ".pub":
        raise InputError(f"{path} ends in .pub, the name swp gives the public key written beside "
                         "the private key; name the private key's file otherwise (say, .pem)")
    return path.with_suffix(".pub")


def check_public_key_file(path: Path) -> Path:
    """Refuse, before a key is made, a place its public key must not be written. An earlier
    public key file there is replaced (it is no secret, and a key moved aside leaves its own
    behind), but never a link, a folder or the database."""
    from swp import files

    return files.check_path(path, force=True)


def save_signer(signer: Signer, path: Path, passphrase: str | None, *, taken: str = KEY_TAKEN) -> None:
    """Write the private key as PKCS8 PEM, encrypted when a passphrase is given, as every file
    swp writes (swp.files): whole or not at all, 0600, never through a symbolic link, never
    over the database, and never over any file (`taken`: the end of the line refusing it)."""
    from cryptography.hazmat.primitives import serialization

    encryption = (serialization.BestAvailableEncryption(passphrase.encode("utf-8")) if passphrase
                  else serialization.NoEncryption())
    pem = signer._key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8, encryption)
    folder_existed = path.parent.is_dir()
    from swp import files

    files.write_many([(path, pem)], taken=taken)  # checked as check_key_file checks it
    # swp's own keys folder is kept 0700 (swp.files makes a missing folder so); a folder of the
    # member's own choosing (--key) keeps the mode they gave it
    if folder_existed and path.parent.resolve().is_relative_to((home() / "keys").resolve()):
        try:
            os.chmod(path.parent, 0o700)
        except OSError:
            pass


def save_public_key(path: Path, public_hex: str) -> None:
    """Write (or replace) the public key's file: `swp-ed25519 <hex>` (see `check_public_key_file`)."""
    from swp import files

    files.write_many([(path, f"swp-ed25519 {public_hex}\n".encode("ascii"))], force=True)


# --- the remembered head: the last event this user saw, per practice -----------------------

def head_path(practice_uid: str) -> Path:
    return home() / "heads" / f"{practice_uid}.json"


def remembered_head(practice_uid: str) -> tuple[int, str] | None:
    path = head_path(practice_uid)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return int(data["seq"]), str(data["hash"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember_head(practice_uid: str, seq: int, event_hash: str, *, force: bool = False) -> None:
    """Remember the head, never moving it back (two programs finishing in the other order),
    unless `force` (a restore that was accepted). Each writer has its own temporary file, so
    programs finishing at once never tear the file."""
    import tempfile

    path = head_path(practice_uid)
    seen = remembered_head(practice_uid)
    if seen == (seq, event_hash) or (not force and seen is not None and seen[0] > seq):
        return  # already remembered (every read command ends here), or a later one is
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    except OSError:
        return  # a read-only home: the database's own checks still stand
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(json.dumps({"seq": seq, "hash": event_hash}))
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


# --- verified through: how far `swp audit verify` checked every signature, per practice ------

def verified_path(key: str) -> Path:
    return home() / "heads" / f"{key}.verified.json"


def verified_through(key: str) -> tuple[int, str, str] | None:
    """(seq, hash, digest of every signature up to it) of the last `audit verify` on this
    computer that checked every signature and found none bad; None if there is none."""
    try:
        data = json.loads(verified_path(key).read_text(encoding="utf-8"))
        return int(data["seq"]), str(data["hash"]), str(data["signatures"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember_verified(key: str, seq: int, event_hash: str, signatures: str) -> None:
    """Keep what `verified_through` reads (each writer with its own temporary file)."""
    import tempfile

    path = verified_path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    except OSError:
        return  # a read-only home: the next verify checks every signature again
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(json.dumps({"seq": seq, "hash": event_hash, "signatures": signatures}))
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


# --- passkeys (WebAuthn): a member's passkey signs an event as a key file does ----------------

PASSKEY_FINGERPRINT = "passkey"  # an event's key_fingerprint when a passkey signed it
PASSKEY_SIGNATURE = "webauthn:"  # ... and its signature: this, then the assertion's JSON
INTENT_VERSION = 1  # the form of a request a passkey signs (`passkey_intent`)


def passkey_intent(member: str, command: str, args: str, seen: tuple[int, str], nonce: str) -> str:
    """What a member asks for on the page, as the text their passkey signs (its sha256 is the
    WebAuthn challenge): who asks, the command and its arguments exactly as the change's event
    records them (`args`: canonical JSON text), the last event of the history they saw (`seen`:
    seq and hash), and a random `nonce` (hex), so that no two requests are the same text."""
    return json.dumps({"v": INTENT_VERSION, "member": member, "command": command, "args": args,
                       "seen": [int(seen[0]), str(seen[1])], "nonce": nonce},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def read_passkey_intent(text: str) -> dict[str, Any] | None:
    """The request an intent's text holds (None: not one this version of swp made: it must be
    exactly the canonical text `passkey_intent` makes of its own fields)."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict) or set(value) != {"v", "member", "command", "args", "seen", "nonce"}:
        return None
    seen = value["seen"]
    if (value["v"] != INTENT_VERSION or not all(isinstance(value[k], str) for k in ("member", "command", "args", "nonce"))
            or not isinstance(seen, list) or len(seen) != 2 or type(seen[0]) is not int
            or not isinstance(seen[1], str)):
        return None
    if passkey_intent(value["member"], value["command"], value["args"], (seen[0], seen[1]), value["nonce"]) != text:
        return None
    return value


def intent_digest(text: str) -> str:
    """The challenge (hex) a passkey signs for an intent: sha256 of its text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def passkey_signature(credential_id: str, authenticator_data: str, client_data_json: str,
                      signature: str, intent: str | None = None) -> str:
    """The text kept in an event's `signature` when a passkey signed it: the WebAuthn
    assertion (all base64url) and the intent it signed (`passkey_intent`: its sha256 is the
    assertion's challenge). Without an intent (events the page wrote before it signed
    intents), the challenge is the event's own hash."""
    body = {"credential_id": credential_id, "authenticator_data": authenticator_data,
            "client_data_json": client_data_json, "signature": signature}
    if intent is not None:
        body["intent"] = intent
    return PASSKEY_SIGNATURE + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def read_passkey_signature(text: str | None) -> dict[str, str] | None:
    """The assertion kept in an event's signature, with its "intent" when it holds one (None:
    not a passkey's, or malformed)."""
    if not text or not text.startswith(PASSKEY_SIGNATURE):
        return None
    try:
        value = json.loads(text[len(PASSKEY_SIGNATURE):])
    except ValueError:
        return None
    fields = ("credential_id", "authenticator_data", "client_data_json", "signature")
    if not isinstance(value, dict) or not all(isinstance(value.get(f), str) for f in fields):
        return None
    found = {f: value[f] for f in fields}
    if "intent" in value:
        if not isinstance(value["intent"], str):
            return None
        found["intent"] = value["intent"]
    return found


def check_passkey_signature(assertion: dict[str, str], challenge: str, public_key: str,
                            rp_id: str | None, origin: str | None) -> str | None:
    """Why this WebAuthn assertion is not a passkey's signature over `challenge` (hex: the
    digest of the request a member made on the page, or an older event's own hash) (None: it
    is): the challenge it signed must be that one, made for this page (its origin and RP id, as
    the passkey's enrolment recorded them), with the member verified (fingerprint, face or PIN),
    and its signature must stand under the enrolled public key (COSE, base64url). Checked
    offline, with py_webauthn, from what the database holds alone."""
    from urllib.parse import urlsplit

    from webauthn import verify_authentication_response
    from webauthn.helpers import base64url_to_bytes, parse_client_data_json

    try:
        client = parse_client_data_json(base64url_to_bytes(assertion["client_data_json"]))
    except Exception:  # noqa: BLE001 - anything malformed is one answer
        return "its passkey assertion cannot be read"
    if origin is None:  # enrolled before the page recorded it: the origin the browser named
        origin = client.origin
    if rp_id is None:
        rp_id = urlsplit(origin).hostname or ""
    credential = {"id": assertion["credential_id"], "rawId": assertion["credential_id"],
                  "type": "public-key",
                  "response": {"authenticatorData": assertion["authenticator_data"],
                               "clientDataJSON": assertion["client_data_json"],
                               "signature": assertion["signature"]}}
    try:
        verify_authentication_response(
            credential=credential, expected_challenge=bytes.fromhex(challenge),
            expected_rp_id=rp_id, expected_origin=origin,
            credential_public_key=base64url_to_bytes(public_key),
            credential_current_sign_count=0, require_user_verification=True)
    except Exception as exc:  # noqa: BLE001 - py_webauthn raises several kinds
        return f"its passkey assertion does not stand ({str(exc)[:120]})"
    return None
