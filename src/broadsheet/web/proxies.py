"""Which reverse proxies `broadsheet serve` believes when they name the client in `X-Forwarded-For`."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from ..errors import UsageError

_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
"""IPv4 addresses as a dual-stack server sees them (`::ffff:192.0.2.1`)."""


def trusted_proxies(given: str) -> str:
    """`given` (a comma-separated list of addresses and networks, as `--forwarded-allow-ips` takes) when it can
    be trusted; raises `UsageError` otherwise.

    Refused: anything that is not an address or a network written exactly
    (10.0.0.0/8, not 10.0.0.1/8: uvicorn reads them so), and `*` or any set of
    networks that together cover every address of IPv4 or IPv6 (0.0.0.0/0,
    ::/0, 0.0.0.0/1 with 128.0.0.0/1, ::ffff:0:0/96): every client could then
    name its own address and escape the per-client sign-up limit.
    """
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for part in filter(None, (part.strip() for part in given.split(","))):
        if part == "*":
            raise UsageError(
                "--forwarded-allow-ips: '*' would let every client name its own address in X-Forwarded-For "
                "and so escape the per-client sign-up limit; give the proxy's address or network (such as 10.0.0.0/8)"
            )
        try:
            networks.append(ipaddress.ip_network(part))
        except ValueError:
            raise UsageError(
                f"--forwarded-allow-ips: Expected an IP address or a network such as 10.0.0.0/8 but received: {part!r}"
            ) from None
    v4 = [network for network in networks if isinstance(network, ipaddress.IPv4Network)]
    v6 = [network for network in networks if isinstance(network, ipaddress.IPv6Network)]
    mapped = [
        *v6,
        *(
            ipaddress.IPv6Network(f"::ffff:{network.network_address}/{96 + network.prefixlen}")
            for network in v4
        ),
    ]
    for family, everything, among in (
        ("IPv4", ipaddress.IPv4Network("0.0.0.0/0"), v4),
        ("IPv6", ipaddress.IPv6Network("::/0"), v6),
        ("IPv4 (as IPv6)", _MAPPED, mapped),
    ):
        if _covered(everything, among):
            raise UsageError(
                f"--forwarded-allow-ips: {given.strip()!r} covers every {family} address, as '*' would: every client "
                "could name its own address in X-Forwarded-For and so escape the per-client sign-up limit; "
                "give the proxy's address or network (such as 10.0.0.0/8)"
            )
    return given


def _covered(
    everything: ipaddress.IPv4Network | ipaddress.IPv6Network,
    networks: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> bool:
    """Whether `networks` (all of `everything`'s family) together hold every address of `everything`."""
    merged = ipaddress.collapse_addresses(networks)  # type: ignore[type-var]
    return any(everything.subnet_of(network) for network in merged)  # type: ignore[arg-type]
