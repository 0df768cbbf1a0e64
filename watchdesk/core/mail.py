"""E-mail plumbing shared by every kind of message Watchdesk sends."""

import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


class OutboxBackend(BaseEmailBackend):
    """Write each message as an .eml file under EMAIL_FILE_PATH (``var/outbox/`` by default).

    The development default: every message can be opened in a mail client, and nothing leaves the
    machine. Files are written under a temporary name and renamed, so a reader never sees half a message.
    """

    def __init__(self, *args, file_path=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.directory = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages):
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            name = f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
            temporary = self.directory / f".{name}.tmp"
            temporary.write_bytes(message.message().as_bytes(linesep="\r\n"))
            os.replace(temporary, self.directory / name)
            sent += 1
        return sent
