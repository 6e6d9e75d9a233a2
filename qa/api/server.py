"""Run the service with uvicorn."""

from __future__ import annotations

import uvicorn

from qa.api.app import create_app
from qa.config import Settings


def run(settings: Settings) -> None:
    app = create_app(settings)
    # access_log off: our own middleware writes one structured line per request. proxy_headers off: uvicorn
    # would believe X-Forwarded-For from any local peer; the app trusts only QA_TRUSTED_PROXIES.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_config=None,
        proxy_headers=False,
        # on SIGTERM, requests still running after this long are cancelled (with any ingest they wait for)
        timeout_graceful_shutdown=3,
    )
