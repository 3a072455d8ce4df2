"""`swp serve`: the members' page, where members read their statements and vote."""

from __future__ import annotations

import typer

from swp.cli._common import state

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="Port to listen on."),
    origin: str | None = typer.Option(None, "--origin", envvar="SWP_URL", metavar="URL",
                                      help="The page's address as members reach it (default http://localhost:PORT); "
                                           "passkeys are bound to it."),
    certfile: str | None = typer.Option(None, "--ssl-certfile", metavar="FILE", help="Serve TLS with this certificate..."),
    keyfile: str | None = typer.Option(None, "--ssl-keyfile", metavar="FILE", help="...and this private key."),
) -> None:
    """Serve the members' page: members sign in with a passkey (see 'swp member invite'), read
    their statements, the books' summary, the register and the rules, and vote. It listens on
    the loopback address; on any other address it must sit behind TLS (docs/members-page.md).

    Example: swp serve --port 8080
    """
    from swp.db import open_database
    from swp.errors import InputError

    st = state(ctx)
    database = open_database(st.db)  # refuse a missing or foreign database before listening
    try:
        database.run(lambda session: None, write=False)  # and check its schema (a server's too)
    finally:
        database.dispose()
    if bool(certfile) != bool(keyfile):
        raise InputError("give both --ssl-certfile and --ssl-keyfile, or neither")
    tls = bool(certfile)
    scheme = "https" if tls else "http"
    origin = (origin or f"{scheme}://localhost:{port}").rstrip("/")
    secure = origin.startswith("https://")
    if host not in LOOPBACK and not tls:
        typer.echo(f"swp: warning: listening on {host}, not the loopback address: the page must sit "
                   "behind TLS (a reverse proxy, or --ssl-certfile/--ssl-keyfile); see "
                   "docs/members-page.md", err=True)
    try:
        import uvicorn

        from swp.web.app import Config, create_app
    except ImportError:
        raise InputError("the members' page needs its libraries: pip install -e '.[web]'") from None
    app = create_app(Config(db=st.db or "swp.db", origin=origin, secure=secure))
    typer.echo(f"Members' page at {origin} (listening on {scheme}://{host}:{port}); Ctrl-C stops it.")
    uvicorn.run(app, host=host, port=port, log_level="warning", ssl_certfile=certfile,
                ssl_keyfile=keyfile, proxy_headers=True, server_header=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
