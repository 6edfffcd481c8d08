"""Mailing a digest over SMTP: the HTML as the body, the CSV and the PDF attached. smtplib is synchronous, so it
runs in a worker thread."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from typing import Any

from services.reporting.digests.render import title, to_csv, to_html, to_pdf

TIMEOUT_S = 30.0


class Mailer:
    def __init__(self, host: str, port: int, sender: str, recipients: list[str]) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.recipients = recipients

    def message(self, content: dict[str, Any]) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = title(content)
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message.set_content(f"{title(content)}: open the HTML part, or the attached CSV and PDF.")
        message.add_alternative(to_html(content), subtype="html")
        name = content["report_id"]
        message.add_attachment(to_csv(content).encode(), maintype="text", subtype="csv", filename=f"{name}.csv")
        message.add_attachment(to_pdf(content), maintype="application", subtype="pdf", filename=f"{name}.pdf")
        return message

    async def send(self, content: dict[str, Any]) -> None:
        message = self.message(content)
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_S) as smtp:
            smtp.send_message(message)
