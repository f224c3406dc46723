"""Which webhook URLs are accepted at submit, and why the others are refused."""

from __future__ import annotations

import ipaddress

import pytest

from outframe.services.errors import BadRequest
from outframe.webhooks.addresses import AddressPolicy, AddressRefused, is_public, parse_networks
from outframe.webhooks.urls import check_subscription


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("Name or service not known")
        return table[host]

    return resolve


POLICY = AddressPolicy(
    resolver=resolver(
        {
            "hooks.example.com": ["93.184.216.34"],
            "sneaky.example.com": ["127.0.0.1"],
            "mixed.example.com": ["93.184.216.34", "10.1.2.3"],
            "v6.example.com": ["2606:4700::6810:85e5"],
            "translated.example.com": ["::ffff:0:7f00:1"],
            "compatible.example.com": ["::7f00:1"],
            "site-local.example.com": ["fec0::1"],
        }
    )
)


def check(url: str, events: list[str] | None = None, allow_http: bool = False) -> list[str] | None:
    return check_subscription(url, events, allow_http=allow_http, policy=POLICY)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/h", "https"),
        ("ftp://hooks.example.com/h", "https"),
        ("https://127.0.0.1/h", "not a public address"),
        ("https://10.0.0.1/h", "not a public address"),
        ("https://169.254.169.254/latest/meta-data", "not a public address"),
        ("https://[::ffff:127.0.0.1]/h", "not a public address"),
        ("https://[::1]/h", "not a public address"),
        ("https://[64:ff9b::a00:1]/h", "not a public address"),  # NAT64 of 10.0.0.1
        ("https://[2002:a00:1::1]/h", "not a public address"),  # 6to4 of 10.0.0.1
        ("https://100.64.0.1/h", "not a public address"),  # CGNAT
        # IPv6 forms an audit found accepted: IPv4-translated, IPv4-compatible, site-local,
        # and names that resolve to them; and two ranges that are not public unicast.
        ("https://[::ffff:0:127.0.0.1]/h", "not a public address"),
        ("https://[::127.0.0.1]/h", "not a public address"),
        ("https://[fec0::1]/h", "not a public address"),
        ("https://translated.example.com/h", "::ffff:0:7f00:1"),
        ("https://compatible.example.com/h", "::7f00:1"),
        ("https://site-local.example.com/h", "fec0::1"),
        ("https://[3fff::1]/h", "not a public address"),  # documentation, RFC 9637
        ("https://[5f00::1]/h", "not a public address"),  # SRv6 SIDs, RFC 9602
        ("https://0.0.0.0/h", "not a public address"),
        ("https://224.0.0.1/h", "not a public address"),
        ("https://sneaky.example.com/h", "127.0.0.1"),
        ("https://mixed.example.com/h", "10.1.2.3"),
        ("https://nowhere.invalid/h", "does not resolve"),
        ("https://user:secret@hooks.example.com/h", "user name or password"),
        ("https://hooks.example.com/" + "x" * 2048, "longer than 2048"),
        ("https:///nohost", "no host"),
        ("https://hooks.example.com:99999/h", "not a valid URL"),
    ],
)
def test_refused(url: str, reason: str) -> None:
    with pytest.raises(BadRequest) as err:
        check(url)
    assert reason in err.value.message
    assert err.value.code == "invalid_webhook"


def test_decimal_ip_is_resolved_and_refused() -> None:
    """https://2130706433 is 127.0.0.1 to the system resolver (inet_aton's legacy forms)."""
    with pytest.raises(BadRequest, match=r"127\.0\.0\.1"):
        check_subscription("https://2130706433/h", None, allow_http=False, policy=AddressPolicy())
    with pytest.raises(BadRequest, match=r"127\.0\.0\.1"):
        check_subscription("https://localhost/h", None, allow_http=False, policy=AddressPolicy())


def test_accepted() -> None:
    assert check("https://hooks.example.com/h") == ["completed", "failed"]
    assert check("https://v6.example.com:8443/h", ["progress"]) == ["progress"]
    assert check("http://hooks.example.com/h", allow_http=True) == ["completed", "failed"]
    assert check_subscription(None, None, allow_http=False, policy=POLICY) is None


def test_events_must_be_known() -> None:
    with pytest.raises(BadRequest, match="webhookEvents"):
        check("https://hooks.example.com/h", ["completed", "started"])


def test_allow_networks_opens_private_ranges() -> None:
    policy = AddressPolicy(allow_networks=parse_networks("127.0.0.0/8, fd00::/8"))
    assert policy.resolve("127.0.0.1", 443) == [ipaddress.ip_address("127.0.0.1")]
    with pytest.raises(AddressRefused):
        policy.resolve("10.0.0.1", 443)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1", True),
        ("::ffff:8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
        ("::ffff:0:808:808", False),  # IPv4-translated, even of a public address
        ("::808:808", False),  # IPv4-compatible
        ("fec0::1", False),
        ("3fff:0fff::1", False),
        ("3fff:1000::1", True),  # just past 3fff::/20
        ("5f00::1", False),
        ("4000::1", False),  # outside 2000::/3
        ("fe80::1", False),
        ("fc00::1", False),
        ("240.0.0.1", False),
        ("192.168.1.1", False),
        ("172.16.0.1", False),
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public
