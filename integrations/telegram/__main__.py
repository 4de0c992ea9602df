"""``python -m integrations.telegram set-webhook|delete-webhook|webhook-info``."""

from __future__ import annotations

import argparse
import asyncio
from typing import List, Optional

from bot.settings import get_settings
from integrations.errors import ChannelError
from integrations.telegram.client import TelegramSender, register_webhook


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m integrations.telegram set-webhook|delete-webhook|webhook-info``."""
    parser = argparse.ArgumentParser(prog="python -m integrations.telegram", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    set_cmd = sub.add_parser("set-webhook", help="register {PUBLIC_BASE_URL}/webhooks/telegram/webhook")
    set_cmd.add_argument("--url", help="override the webhook URL")
    set_cmd.add_argument("--drop-pending-updates", action="store_true")
    sub.add_parser("delete-webhook", help="remove the webhook")
    sub.add_parser("webhook-info", help="show getWebhookInfo")
    args = parser.parse_args(argv)
    settings = get_settings()

    async def run() -> int:
        if args.command == "set-webhook":
            url = await register_webhook(settings, url=args.url, drop_pending_updates=args.drop_pending_updates)
            print(f"webhook set: {url}")
            return 0
        sender = TelegramSender.from_settings(settings)
        try:
            if args.command == "delete-webhook":
                await sender.delete_webhook()
                print("webhook deleted")
            else:
                print(await sender.webhook_info())
        finally:
            await sender.close()
        return 0

    try:
        return asyncio.run(run())
    except (ChannelError, ValueError) as exc:
        print(f"error: {exc}")
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
