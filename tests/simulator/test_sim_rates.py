"""Engagement and deliverability rates of a played world match the reference figures.

Each test names the figure of /work/shared/reference-figures.md it reproduces; the ranges
and their sources live in simulator.calibration.
"""

from __future__ import annotations

import math

from simulator import calibration as cal
from simulator.ground_truth import true_click_rate


def _rate(hits: int, total: int) -> float:
    assert total > 0
    return hits / total


def _poisson_ok(observed: int, expected: float) -> bool:
    return abs(observed - expected) <= 4.0 * math.sqrt(expected) + 2


def test_the_sample_is_large_enough(played) -> None:
    assert len(played.sends) > 20_000


def test_human_unique_open_rate_matches_mailchimp_and_campaign_monitor(played) -> None:
    """§1 Mailchimp 2019 (22.71%) and Campaign Monitor 2019 (17.92%): 0.18-0.25."""
    sends = played.of_type("marketing")
    rate = _rate(sum(s.human_opened for s in sends), len(sends))
    assert cal.HUMAN_OPEN_RATE.contains(rate), f"{rate:.3f} not in {cal.HUMAN_OPEN_RATE}"


def test_reported_open_rate_including_mpp_matches_post_mpp_benchmarks(played) -> None:
    """§1 GetResponse 2023 (26.8%), MailerLite 2023 (37.65%): 0.26-0.40 with MPP opens."""
    sends = played.of_type("marketing")
    rate = _rate(sum(s.first("opened") is not None for s in sends), len(sends))
    assert cal.REPORTED_OPEN_RATE.contains(rate), f"{rate:.3f} not in {cal.REPORTED_OPEN_RATE}"


def test_click_to_open_matches_getresponse_and_campaign_monitor(played) -> None:
    """§1 CTOR 7.01% (GetResponse 2023) to 14.10% (Campaign Monitor 2019)."""
    opened = [s for s in played.of_type("marketing") if s.human_opened]
    rate = _rate(sum(s.human_clicked for s in opened), len(opened))
    assert cal.CLICK_TO_OPEN.contains(rate), f"{rate:.3f} not in {cal.CLICK_TO_OPEN}"


def test_campaign_click_rate_per_delivered_matches_benchmarks(played) -> None:
    """§1 click per delivered 1.3-3% (Mailchimp 2.91%, Campaign Monitor 2.69%, Omnisend 1.5%)."""
    sends = played.of_type("marketing")
    rate = _rate(sum(s.human_clicked for s in sends), len(sends))
    assert cal.CLICK_RATE_CAMPAIGN.contains(rate), f"{rate:.4f} not in {cal.CLICK_RATE_CAMPAIGN}"


def test_triggered_mail_gets_three_to_four_times_the_clicks(played) -> None:
    """§1 Klaviyo flows vs campaigns [W]: triggered mail gets 3-4x the clicks."""
    people = played.recipients[:2000]
    truth = sum(true_click_rate(r, None, "triggered") for r in people) / sum(
        true_click_rate(r, None, "marketing") for r in people
    )
    assert cal.TRIGGERED_CLICK_MULTIPLIER.contains(truth), f"latent ratio {truth:.2f}"
    triggered = played.of_type("triggered")
    marketing = played.of_type("marketing")
    simulated = _rate(sum(s.human_clicked for s in triggered), len(triggered)) / _rate(
        sum(s.human_clicked for s in marketing), len(marketing)
    )
    assert 2.5 <= simulated <= 5.0, f"simulated ratio {simulated:.2f} (small triggered sample)"


def test_hard_bounce_rate_matches_a_clean_list(played) -> None:
    """§1 Mailchimp 2019 hard bounce 0.40%, 0.07-0.86% by industry; clean list 0.2-0.8%."""
    rate = _rate(sum(s.bounced("hard") for s in played.sends), len(played.sends))
    assert cal.HARD_BOUNCE_RATE.contains(rate), f"{rate:.4f} not in {cal.HARD_BOUNCE_RATE}"


def test_soft_bounce_rate_matches_mailchimp(played) -> None:
    """§1 Mailchimp 2019 soft bounce 0.61%, up to 1.28% by industry."""
    rate = _rate(sum(s.bounced("soft") for s in played.sends), len(played.sends))
    assert cal.SOFT_BOUNCE_RATE.contains(rate), f"{rate:.4f} not in {cal.SOFT_BOUNCE_RATE}"


def test_complaint_rate_matches_mailchimp_abuse_rate(played) -> None:
    """§1 Mailchimp abuse rate 0.012% (2018), 0.01-0.04% (2016): 0.01-0.05% per delivered.

    Complaints are rare (a handful in the sample), so the latent expected rate is checked
    against the range and the observed count against the expectation.
    """
    delivered = [s for s in played.sends if s.delivered]
    expected = sum(s.p_complaint for s in delivered)
    observed = sum(s.first("complained") is not None for s in delivered)
    assert cal.COMPLAINT_RATE.contains(expected / len(delivered)), expected / len(delivered)
    assert _poisson_ok(observed, expected), (observed, expected)


def test_unsubscribe_rate_matches_mailchimp_and_campaign_monitor(played) -> None:
    """§1 Mailchimp 2019 0.25%, Campaign Monitor 2019 0.17% per delivered: 0.10-0.30%."""
    delivered = [s for s in played.sends if s.delivered and s.plan.campaign_type != "transactional"]
    expected = sum(s.p_unsubscribe for s in delivered)
    observed = sum(s.first("unsubscribed") is not None for s in delivered)
    rate = observed / len(delivered)
    assert cal.UNSUBSCRIBE_RATE.contains(rate), f"{rate:.4f} not in {cal.UNSUBSCRIBE_RATE}"
    assert _poisson_ok(observed, expected), (observed, expected)


def test_mobile_share_of_human_opens_matches_campaign_monitor_and_litmus(played) -> None:
    """§2 Campaign Monitor 2013 (42% mobile), §3 Litmus 2016 (54%): 0.42-0.55."""
    devices = [
        e.details["device"]
        for s in played.sends
        for e in s.events
        if e.type == "opened" and not e.is_bot and "device" in e.details
    ]
    rate = _rate(devices.count("mobile"), len(devices))
    assert cal.MOBILE_SHARE_OF_OPENS.contains(rate), rate


def test_scanner_clicks_are_a_minority_of_b2b_clicks(played) -> None:
    """§3 heuristics [W]: 10-30% of B2B clicks come from bots."""
    b2b = [s for s in played.sends if s.recipient.provider == "corporate"]
    bot = sum(any(e.type == "clicked" and e.is_bot for e in s.events) for s in b2b)
    human = sum(any(e.type == "clicked" and not e.is_bot for e in s.events) for s in b2b)
    share = _rate(bot, bot + human)
    assert cal.SCANNER_SHARE_OF_B2B_CLICKS.widened(0.03).contains(share), share
