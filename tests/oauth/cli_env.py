"""Running the command line, and reading what it stored, in the environment the `env` fixture set up."""
from __future__ import annotations

import os

from connector.bootstrap import bootstrap
from connector.cli import main
from connector.settings import Settings


def cli(env, *args: str) -> int:
    return main(["--env-file", "/dev/null", *args])


def runtime_of(env, sandbox):
    # The database `env` gave the command line.
    return bootstrap(Settings(data_dir=env / "data", database_url=os.environ["DATABASE_URL"],
                              gmail_api_endpoint=sandbox.url))
