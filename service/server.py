"""`byline serve`: uvicorn running the `create_app` factory, with the safety checks that
must happen before binding a socket."""

from __future__ import annotations

import ipaddress
import logging
import logging.config

from rag.errors import BylineError
from service.config import ServiceSettings
from service.keys import KeyRing
from service.logs import log_config

log = logging.getLogger("byline.service")


class ServeRefused(BylineError):
    """A configuration `byline serve` won't start with (exit code 2)."""

    status_code = 400
    title = "Refusing to serve"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check(settings: ServiceSettings, host: str, workers: int, allow_open: bool) -> KeyRing:
    keys = KeyRing(settings)
    if workers > 1 and not settings.chroma_host:
        raise ServeRefused(
            f"--workers {workers} needs a Chroma server: the embedded store belongs to one process",
            "run `chroma run --path DIR` and set CHROMA_HOST (and CHROMA_PORT), or use --workers 1",
        )
    if keys.open and not is_loopback(host) and not (allow_open or settings.allow_open):
        raise ServeRefused(
            f"no API keys are configured, so serving on {host} would open every route to the network",
            "set BYLINE_ADMIN_KEYS / BYLINE_PUBLIC_KEYS, bind 127.0.0.1, "
            "or pass --allow-open (BYLINE_ALLOW_OPEN=true) if that is really meant",
        )
    return keys


def run(*, host: str, port: int, workers: int, allow_open: bool, log_level: str = "info") -> None:
    import uvicorn

    settings = ServiceSettings()
    keys = check(settings, host, workers, allow_open)
    config = log_config(log_level.upper())
    logging.config.dictConfig(config)
    if keys.open:
        where = "loopback only" if is_loopback(host) else "OPEN TO THE NETWORK (--allow-open)"
        log.warning(
            f"no API keys configured: serving http://{host}:{port} with every route open, {where}; "
            "set BYLINE_ADMIN_KEYS / BYLINE_PUBLIC_KEYS to require keys",
            extra={"host": host, "port": port},
        )
    log.info(
        "starting",
        extra={"host": host, "port": port, "workers": workers, "backend": settings.resolved_llm_backend},
    )
    uvicorn.run(
        "service.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=config,
        log_level=log_level.lower(),
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=30,
    )
