"""``python -m console``: serve the staff console with uvicorn on CONSOLE_HOST:CONSOLE_PORT."""

from __future__ import annotations

import logging

import uvicorn

from bot.settings import get_settings
from console.app import create_app


def main() -> None:
    """Run the console until stopped."""
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(), host=settings.console_host, port=settings.console_port,
                log_level=settings.log_level.lower(), proxy_headers=False, access_log=False,
                ws="none")  # no websockets: Rasa pins an older websockets than uvicorn's probe expects


if __name__ == "__main__":
    main()
