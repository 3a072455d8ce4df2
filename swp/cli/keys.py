"""`swp key`: a member's own signing key (docs/identity.md)."""

from __future__ import annotations

import typer

from swp.cli._common import acting, call, emit, state

key_app = typer.Typer(help="Your signing key: every change you make is signed with it.",
                      no_args_is_help=True)


WHOSE_KEY = "say whose key: swp --as HANDLE key ..."


def _passphrase(no_passphrase: bool) -> str | None:
    import os
    import sys

    from swp.errors import InputError

    if no_passphrase:
        return None
    given = os.environ.get("SWP_PASSPHRASE")
    if given is not None:
        return given or None
    if not sys.stdin.isatty():
        raise InputError("choose a passphrase at a terminal, set SWP_PASSPHRASE in a script, "
                         "or pass --no-passphrase")
    return typer.prompt("Passphrase for the new key", hide_input=True,
                        confirmation_prompt=True) or None


@key_app.command("new")
def new(ctx: typer.Context,
        no_passphrase: bool = typer.Option(False, "--no-passphrase",
                                           help="Keep the key unencrypted (anyone who can read the file can sign as you).")) -> None:
    """Make your key pair (for the member named by --as): the private key stays in a 0600 file
    in swp's configuration folder, protected by a passphrase (asked for, or SWP_PASSPHRASE).

    A newcomer gives the public key it prints to the manager who admits them; a founding
    member is admitted with it at once; a member admitted before keys existed enrols it now.
    A member whose enrolled key is lost (no key file here) gets a new key pair, not enrolled:
    the members enrol it by a resolution (swp proposal new --re-enrol HANDLE --public-key KEY).

    Example: swp --as dee key new
    """
    from swp import identity
    from swp.errors import PreconditionError
    from swp.services import keys

    actor = acting(ctx, needed=WHOSE_KEY)
    st = state(ctx)
    found = call(ctx, lambda s: keys.status(s, actor), write=False)
    public: str | None
    if found.sandbox:
        raise PreconditionError("a sandbox makes its members' keys itself; 'swp key new' is for a real practice")
    path = identity.key_path(found.practice_uid, actor, st.key)
    lost = bool(found.fingerprint) and found.member and not found.left and not path.exists()
    if found.fingerprint and not lost:
        raise PreconditionError(f"{actor} already has a key enrolled ({found.fingerprint}); "
                                "change it with 'swp key rotate'"
                                + (f" (lost its passphrase? move {path} aside and run 'swp key new' "
                                   "again)" if path.exists() and not found.left else ""))
    pub = identity.public_key_file(path)
    identity.check_key_file(path)  # both refused before a passphrase is asked for
    identity.check_public_key_file(pub)
    passphrase = _passphrase(no_passphrase)
    signer = identity.new_signer(actor)
    identity.save_signer(signer, path, passphrase)
    public = signer.public_hex
    identity.save_public_key(pub, public)
    enrolled = False
    if lost:  # the enrolled key is lost: the members re-enrol this one by a resolution
        emit(ctx, {"handle": actor, "key_file": str(path), "public_key": public,
                   "fingerprint": identity.fingerprint(public), "enrolled": False,
                   "enrolled_key": found.fingerprint},
             lambda: f"Made {actor}'s key {identity.fingerprint(public)} in {path}.\n"
                     f"Not enrolled: the practice has {found.fingerprint} enrolled for {actor}, "
                     "and only a passed resolution enrols another. If you lost that key, ask "
                     "another member to propose it:\n"
                     f"  swp --as HANDLE proposal new --kind special --title \"Re-enrol {actor}'s "
                     f"key\" --re-enrol {actor} --public-key {public}")
        return
    if found.member and not found.left:
        from swp.services.uow import perform

        perform(st.db, lambda s: keys.enrol(s, actor=actor, public_key=public), write=True,
                command="key new", args={}, actor=actor, signer_override=signer)
        enrolled = True
    emit(ctx, {"handle": actor, "key_file": str(path), "public_key": public,
               "fingerprint": identity.fingerprint(public), "enrolled": enrolled},
         lambda: f"Made {actor}'s key {identity.fingerprint(public)} in {path}.\n"
                 + ("Enrolled it: your changes are now signed with it." if enrolled else
                    f"Public key (give it to the manager who admits you): swp-ed25519 {public}"))


@key_app.command("show")
def show(ctx: typer.Context) -> None:
    """Show your public key and its fingerprint, and the key the practice has enrolled for you.

    Example: swp --as dee key show
    """
    from swp import identity
    from swp.services import keys

    actor = acting(ctx, needed=WHOSE_KEY)
    found = call(ctx, lambda s: keys.status(s, actor), write=False)
    public: str | None
    if found.sandbox:
        public = identity.sandbox_signer(found.sandbox_seed or "", actor).public_hex
    else:
        pub_file = identity.key_path(found.practice_uid, actor, state(ctx).key).with_suffix(".pub")
        public = identity.parse_public_key(pub_file.read_text(encoding="utf-8")) if pub_file.is_file() else None
    mine = identity.fingerprint(public) if public else None
    emit(ctx, {"handle": actor, "public_key": public, "fingerprint": mine, "enrolled": found.fingerprint},
         lambda: (f"{actor}'s public key: swp-ed25519 {public}\nfingerprint: {mine}\n" if public else
                  f"no public key for {actor} on this machine\n")
         + f"enrolled for {actor} in the practice: {found.fingerprint or 'none'}"
         + ("" if not mine or not found.fingerprint or mine == found.fingerprint else
            "  (NOT the key on this machine: see docs/identity.md)"))


@key_app.command("rotate")
def rotate(ctx: typer.Context,
           no_passphrase: bool = typer.Option(False, "--no-passphrase",
                                              help="Keep the new key unencrypted.")) -> None:
    """Replace your key with a new one; the change is signed with the old key, which stops
    working at once (kept beside the new one as <handle>.pem.retired-<fingerprint>).

    Example: swp --as dee key rotate
    """
    import os

    from swp import identity
    from swp.errors import PreconditionError
    from swp.services import keys

    actor = acting(ctx, needed=WHOSE_KEY)
    st = state(ctx)
    found = call(ctx, lambda s: keys.status(s, actor), write=False)
    public: str | None
    if found.sandbox:
        raise PreconditionError("a sandbox makes its members' keys itself; there is nothing to rotate")
    path = identity.key_path(found.practice_uid, actor, st.key)
    pending = path.with_name(path.name + ".new")
    retired = path.with_name(f"{path.name}.retired-{found.fingerprint}")
    pub = identity.public_key_file(path)
    # a key left by a rotation that did not finish may be the one enrolled now: never removed
    left_over = ("swp never overwrites a key (a 'swp key rotate' that did not finish left it, "
                 "and it may be the key now enrolled for you); move it aside, then rotate again")
    identity.check_key_file(pending, taken=left_over)  # all refused before anything is done
    identity.check_key_file(retired)
    identity.check_public_key_file(pub)
    passphrase = _passphrase(no_passphrase)
    signer = identity.new_signer(actor)
    identity.save_signer(signer, pending, passphrase, taken=left_over)
    public = signer.public_hex
    try:
        fp = call(ctx, lambda s: keys.rotate(s, actor=actor, public_key=public), args={})
    except BaseException:
        pending.unlink()
        raise
    os.replace(path, retired)
    os.replace(pending, path)
    identity.save_public_key(pub, public)
    emit(ctx, {"handle": actor, "fingerprint": fp, "key_file": str(path)},
         lambda: f"{actor}'s new key {fp} is enrolled; the old one no longer signs.")


def register(app: typer.Typer) -> None:
    app.add_typer(key_app, name="key")
