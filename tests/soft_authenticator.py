"""A software passkey for tests that cannot drive a browser: it answers WebAuthn options the
way an authenticator does (attestation "none", ES256), with the `cryptography` and CBOR
helpers py_webauthn itself uses. Browser tests use Chromium's virtual authenticator instead."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, encode_cbor

FLAGS_UP_UV = 0x01 | 0x04
FLAG_AT = 0x40


class SoftPasskey:
    def __init__(self, origin: str, rp_id: str):
        self.origin, self.rp_id = origin, rp_id
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.count = 0

    @property
    def id(self) -> str:
        return bytes_to_base64url(self.credential_id)

    def _cose(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return encode_cbor({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin,
                           "crossOrigin": False}).encode()

    def _auth_data(self, flags: int, extra: bytes = b"") -> bytes:
        self.count += 1
        return (hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags])
                + struct.pack(">I", self.count) + extra)

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        client = self._client_data("webauthn.create", options["challenge"])
        attested = (bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id
                    + self._cose())
        auth = self._auth_data(FLAGS_UP_UV | FLAG_AT, attested)
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth})
        return {"id": self.id, "rawId": self.id, "type": "public-key",
                "response": {"clientDataJSON": bytes_to_base64url(client),
                             "attestationObject": bytes_to_base64url(attestation)},
                "clientExtensionResults": {}}

    def get(self, options: dict[str, Any], *, flags: int = FLAGS_UP_UV) -> dict[str, Any]:
        client = self._client_data("webauthn.get", options["challenge"])
        auth = self._auth_data(flags)
        signature = self.key.sign(auth + hashlib.sha256(client).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": self.id, "rawId": self.id, "type": "public-key",
                "response": {"clientDataJSON": bytes_to_base64url(client),
                             "authenticatorData": bytes_to_base64url(auth),
                             "signature": bytes_to_base64url(signature), "userHandle": None},
                "clientExtensionResults": {}}


__all__ = ["SoftPasskey", "base64url_to_bytes"]
