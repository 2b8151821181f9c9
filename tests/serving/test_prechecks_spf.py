"""SPF evaluation as pure logic over a table of DNS answers: mechanisms, qualifiers,
includes, redirects, and the look-up limit."""

from __future__ import annotations

from serving.dns import DnsTemporaryError, SpfResult, check_host


class Table:
    """DNS answers from a dict; names in ``failing`` time out."""

    def __init__(
        self, records: dict[tuple[str, str], list[str]], failing: set[str] = frozenset()
    ) -> None:  # type: ignore[assignment]
        self.records = records
        self.failing = failing

    def _get(self, name: str, kind: str) -> list[str]:
        if name in self.failing:
            raise DnsTemporaryError(f"{name}: timeout")
        return self.records.get((name, kind), [])

    def txt(self, name: str) -> list[str]:
        return self._get(name, "TXT")

    def addresses(self, name: str, family: int) -> list[str]:
        return self._get(name, "A" if family == 4 else "AAAA")

    def mx(self, name: str) -> list[str]:
        return self._get(name, "MX")


def test_ip4_and_ip6_networks_match_with_their_qualifier() -> None:
    dns = Table({("acme.example", "TXT"): ["v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"]})

    assert check_host(dns, "192.0.2.7", "acme.example")[0] is SpfResult.PASS
    assert check_host(dns, "2001:db8::1", "acme.example")[0] is SpfResult.PASS
    assert check_host(dns, "198.51.100.1", "acme.example")[0] is SpfResult.FAIL


def test_a_mx_and_include_are_followed() -> None:
    dns = Table({
        ("acme.example", "TXT"): ["v=spf1 a mx:mail.acme.example include:esp.example ~all"],
        ("acme.example", "A"): ["192.0.2.1"],
        ("mail.acme.example", "MX"): ["mx1.acme.example"],
        ("mx1.acme.example", "A"): ["192.0.2.2"],
        ("esp.example", "TXT"): ["v=spf1 ip4:203.0.113.0/28 -all"],
    })  # fmt: skip

    assert check_host(dns, "192.0.2.1", "acme.example")[0] is SpfResult.PASS
    assert check_host(dns, "192.0.2.2", "acme.example")[0] is SpfResult.PASS
    assert check_host(dns, "203.0.113.5", "acme.example")[0] is SpfResult.PASS
    # The include's -all does not end the evaluation: it only fails to match.
    assert check_host(dns, "198.51.100.1", "acme.example")[0] is SpfResult.SOFTFAIL


def test_a_with_a_prefix_length_covers_the_network() -> None:
    dns = Table({
        ("acme.example", "TXT"): ["v=spf1 a/24 -all"],
        ("acme.example", "A"): ["192.0.2.1"],
    })  # fmt: skip

    assert check_host(dns, "192.0.2.200", "acme.example")[0] is SpfResult.PASS


def test_redirect_applies_when_nothing_matched() -> None:
    dns = Table({
        ("acme.example", "TXT"): ["v=spf1 redirect=_spf.acme.example"],
        ("_spf.acme.example", "TXT"): ["v=spf1 ip4:192.0.2.1 -all"],
    })  # fmt: skip

    assert check_host(dns, "192.0.2.1", "acme.example")[0] is SpfResult.PASS
    assert check_host(dns, "192.0.2.9", "acme.example")[0] is SpfResult.FAIL


def test_no_record_is_none_and_two_records_are_a_permerror() -> None:
    two = Table({("acme.example", "TXT"): ["v=spf1 -all", "v=spf1 +all", "other"]})

    assert check_host(Table({}), "192.0.2.1", "acme.example")[0] is SpfResult.NONE
    assert check_host(two, "192.0.2.1", "acme.example")[0] is SpfResult.PERMERROR


def test_more_than_ten_lookups_is_a_permerror_and_loops_end() -> None:
    chain = {(f"d{i}.example", "TXT"): [f"v=spf1 include:d{i + 1}.example -all"] for i in range(12)}
    loop = Table({("a.example", "TXT"): ["v=spf1 include:a.example -all"]})

    result, reason = check_host(Table(chain), "192.0.2.1", "d0.example")

    assert result is SpfResult.PERMERROR and "look-ups" in reason
    assert check_host(loop, "192.0.2.1", "a.example")[0] is SpfResult.PERMERROR


def test_a_resolver_that_does_not_answer_is_a_temperror() -> None:
    dns = Table(
        {("acme.example", "TXT"): ["v=spf1 include:slow.example -all"]}, frozenset({"slow.example"})
    )

    assert check_host(dns, "192.0.2.1", "acme.example")[0] is SpfResult.TEMPERROR
