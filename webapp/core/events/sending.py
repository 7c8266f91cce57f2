"""One webhook request: only to a public address, and its failure told in plain words.

A webhook is an address an admin typed that this server then calls, so it must not become a
way into the machine or the private network behind it (server-side request forgery).
Loopback, private, link-local, multicast, reserved and other non-public addresses are
refused -- when the webhook is saved (an address written as an IP, or ``localhost``) and
again when each request is sent: the host is resolved then, every address it resolves to is
checked, and the connection goes to a checked address rather than to whatever a second lookup
returns, so a DNS answer that changes after the check (DNS rebinding) cannot redirect it.
A deployment that needs private receivers (tests, a lab) allows them with
``STATEKEEPER_WEBHOOK_ALLOW_PRIVATE=1``; the caller passes that in as ``allow_private``.

Requests go straight to the receiver with ``http.client``: not through a proxy from the
environment (the check would then be of the proxy, not the receiver), and never following a
redirect, so a receiver cannot bounce the signed body somewhere else.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Sequence
from functools import partial
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

TIMEOUT = 5.0
PUBLIC_ONLY = "a webhook may only go to a public address"
#: Most specific first: 127.0.0.1 is also "private" to the ipaddress module.
_KINDS = (("loopback", "a loopback address"), ("unspecified", "the unspecified address"),
          ("link_local", "a link-local address"), ("multicast", "a multicast address"),
          ("private", "a private address"), ("reserved", "a reserved address"))

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Answer = tuple[int | None, str | None]


class Refused(Exception):
    """The receiver's address is not one a webhook may reach; nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def kind_of(address: Address) -> str | None:
    """What sort of non-public address this is ("a loopback address"); None when public."""
    embedded = getattr(address, "ipv4_mapped", None) or getattr(address, "sixtofour", None)
    if embedded is not None:
        return kind_of(embedded)
    for attribute, kind in _KINDS:
        if getattr(address, f"is_{attribute}"):
            return kind
    return None if address.is_global else "not a public address"


def literal_address(host: str) -> Address | None:
    """The address a host written as an IP stands for, including the old forms a resolver
    still accepts ("2130706433", "0x7f.1" are 127.0.0.1); None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def host_problem(host: str) -> str | None:
    """Why a webhook may not be saved for this host, judged without DNS (the name may not
    resolve yet; every request checks the address again when it is sent)."""
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return f"{host} is this machine; {PUBLIC_ONLY}."
    address = literal_address(name)
    kind = kind_of(address) if address is not None else None
    return f"{host} is {kind}; {PUBLIC_ONLY}." if kind else None


def resolve(host: str, port: int, allow_private: bool = False) -> list[tuple[str, int]]:
    """The (address, port) pairs to connect to; Refused when any of them is not public.

    Every address counts, not just the first: the connection may fall back to any of them.
    """
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    pairs = list(dict.fromkeys((info[4][0], port) for info in found))
    if not allow_private:
        for ip, _ in pairs:
            kind = kind_of(ipaddress.ip_address(ip.split("%")[0]))
            if kind:
                said = f"{host} is {kind}" if literal_address(host) else \
                    f"{host} resolves to {ip}, {kind}"
                raise Refused(f"not sent: {said}; {PUBLIC_ONLY}")
    return pairs


def on_the_wire(url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
    """Every header ``post`` sends, in order: the caller's plus those HTTP itself needs
    (sent explicitly, so that the pages can show exactly what went out)."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname or ""
    if parts.port and parts.port != (443 if parts.scheme == "https" else 80):
        host = f"{host}:{parts.port}"
    return {"Host": host, **headers, "Content-Length": str(len(body)),
            "Accept-Encoding": "identity"}


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT,
         allow_private: bool = False) -> Answer:
    """POST to a checked address: (status, None) on 2xx, else (status or None, the reason in
    words). Never raises for a refused address or network trouble."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None, f"not sent: the port in {url} is not a number from 1 to 65535"
    try:
        addresses = resolve(host, port, allow_private)
        status, reason = _send(parts, addresses, body, headers, timeout)
    except Refused as refused:
        return None, refused.message
    except (OSError, http.client.HTTPException) as exc:
        return None, describe(exc, host, port, timeout)
    if 200 <= status < 300:
        return status, None
    return status, " ".join(filter(None, (f"HTTP {status}", reason[:100], f"from {host}")))


def _send(parts: SplitResult, addresses: Sequence[tuple[str, int]], body: bytes,
          headers: dict[str, str], timeout: float) -> tuple[int, str]:
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=timeout)
    # Connect to the checked addresses; the Host header and the TLS certificate check still
    # use the name. (http.client keeps this hook per connection for exactly this purpose.)
    connection._create_connection = partial(_connect_to, addresses)  # type: ignore[attr-defined]
    try:
        path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        connection.request("POST", path, body=body,
                           headers=on_the_wire(parts.geturl(), body, headers))
        response = connection.getresponse()
        return response.status, response.reason or ""
    finally:
        connection.close()


def _connect_to(addresses: Sequence[tuple[str, int]], _asked: Any, timeout: float,
                source_address: Any = None) -> socket.socket:
    """The first checked address that accepts the connection (as socket.create_connection
    tries each address a name resolves to)."""
    failure: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection(address, timeout, source_address)
        except OSError as exc:
            failure = exc
    raise failure or OSError("no address to connect to")


#: Network failures as a person would say them; the first matching type wins.
_FAILURES: tuple[tuple[type[BaseException], str], ...] = (
    (socket.gaierror, "could not resolve host {host}"),
    (TimeoutError, "timed out after {timeout:g} s"),
    (ConnectionRefusedError, "connection refused by {host} (port {port})"),
    (http.client.RemoteDisconnected, "{host} closed the connection without answering"),
    (BrokenPipeError, "{host} closed the connection without answering"),  # before we sent
    (ssl.SSLCertVerificationError, "{host}'s TLS certificate was not accepted: {detail}"),
    (ssl.SSLError, "the TLS handshake with {host} failed: {detail}"),
    (http.client.HTTPException, "{host} did not answer in HTTP"),
    (ConnectionResetError, "connection reset by {host}"),
    (OSError, "could not connect to {host}: {detail}"),
    (Exception, "could not send to {host}: {detail}"),
)


def describe(exc: BaseException, host: str, port: int, timeout: float) -> str:
    """"could not resolve host hooks.example.com" rather than "URLError: [Errno -2] ..."."""
    detail = (getattr(exc, "verify_message", None) or getattr(exc, "reason", None)
              or getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)
    template = next(t for kind, t in _FAILURES if isinstance(exc, kind))
    return template.format(host=host, port=port, timeout=timeout, detail=detail)
