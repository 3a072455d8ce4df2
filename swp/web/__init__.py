"""The members' page (`swp serve`): a small web application over the same services as the CLI.

Imported only by `swp serve` (and tests): Starlette, Jinja2 and py_webauthn are never loaded
by the rest of swp.
"""
