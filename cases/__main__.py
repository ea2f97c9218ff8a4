"""Command line of the case side: `python -m cases migrate|serve`."""

from __future__ import annotations

import argparse
import logging
import sys

from cases.settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    """Runs one sub-command; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="python -m cases", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="bring the database to the newest schema")
    serve = commands.add_parser("serve", help="run the staff API (case service)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2

    if args.command == "migrate":
        from cases.migrate import upgrade

        upgrade(settings.database_url, pii_key=settings.pii_key)
        return 0

    import uvicorn

    from cases.api import create_app
    from cases.db import make_engine, make_sessionmaker
    from cases.notifier import Notifier, NotifierConfig
    from cases.pii import PiiCipher

    if not settings.api_token:
        print("configuration error: CASES_API_TOKEN is not set", file=sys.stderr)
        return 2
    pii = PiiCipher(settings.pii_key) if settings.pii_key else None
    sessions = make_sessionmaker(make_engine(settings.database_url), pii=pii)
    notifier = None
    if settings.rasa_token:
        config = NotifierConfig(rasa_url=settings.rasa_url, rasa_token=settings.rasa_token)
        notifier = Notifier(sessions, config)
        notifier.start()
    else:
        logging.getLogger(__name__).warning("RASA_TOKEN not set: the outbox is not pushed")
    try:
        uvicorn.run(
            create_app(settings, sessions), host=args.host, port=args.port, log_level="info"
        )
    finally:
        if notifier is not None:
            notifier.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
