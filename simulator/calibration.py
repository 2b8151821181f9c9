"""Calibration targets for the synthetic world, each with its source.

Every figure comes from ``/work/shared/reference-figures.md`` (section numbers in the
sources below). ``[V]`` marks a vendor's data about its own customers, ``[W]`` a weakly
sourced figure, ``[A]`` an assumption of ours where the reference figures have no number.
The model modules read their sourced parameters from here, and the tests check the
simulated world against the ranges.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """A closed interval of plausible values and where it comes from."""

    low: float
    high: float
    source: str

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in [low, high]."""
        return self.low <= value <= self.high

    def widened(self, by: float) -> Range:
        """The same range widened by ``by`` (absolute) on both sides."""
        return Range(self.low - by, self.high + by, self.source)

    def __str__(self) -> str:
        return f"[{self.low:g}, {self.high:g}] ({self.source})"


@dataclass(frozen=True)
class Value:
    """A single sourced model parameter."""

    value: float
    source: str


# --- §1 engagement benchmarks, marketing email, per delivered message -------------------
HUMAN_OPEN_RATE = Range(
    0.18, 0.25, "§1 Mailchimp 2019 [V] open 22.71%; Campaign Monitor 2019 [V] 17.92%"
)
REPORTED_OPEN_RATE = Range(
    0.26, 0.40, "§1 GetResponse 2023 [V] 26.8%; MailerLite 2023 [V] 37.65% (MPP-inflated)"
)
CLICK_RATE_CAMPAIGN = Range(
    0.013, 0.03, "§1 Mailchimp 2019 2.91%; Campaign Monitor 2.69%; Omnisend 2023 1.5% [V]"
)
TRIGGERED_CLICK_MULTIPLIER = Range(3.0, 4.0, "§1 Klaviyo flows vs campaigns, via bsandco.us [W]")
CLICK_TO_OPEN = Range(
    0.07, 0.14, "§1 GetResponse 2023 CTOR 7.01%; Campaign Monitor 2019 14.10% [V]"
)
UNSUBSCRIBE_RATE = Range(0.0010, 0.0030, "§1 Mailchimp 2019 0.25%; Campaign Monitor 2019 0.17% [V]")
HARD_BOUNCE_RATE = Range(0.002, 0.008, "§1 Mailchimp 2019 [V] 0.40%, by industry 0.07-0.86%")
SOFT_BOUNCE_RATE = Range(0.003, 0.013, "§1 Mailchimp 2019 [V] 0.61%, up to 1.28% by industry")
COMPLAINT_RATE = Range(
    0.0001, 0.0005, "§1 Mailchimp 2018 [V] abuse 0.012%; 2016 edition 0.01-0.04%"
)
# Flows open 48.57% vs campaigns 37.93% (Klaviyo via bsandco.us [W]).
TRIGGERED_OPEN_MULTIPLIER = Value(1.28, "§1 Klaviyo flows vs campaigns [W]")
# Transactional 51.3% vs newsletters 36.6% [W]; no solid benchmark exists (§1).
TRANSACTIONAL_OPEN_MULTIPLIER = Value(1.40, "§1 ilovetranslation mirror [W]")

# --- §2 time-to-open and time of day/week -----------------------------------------------
OPENS_BY_1H = Range(0.20, 0.33, "§2 Mailchimp 2006 ~33%; GetResponse 2020 21.5%; 2022 19.66% [V]")
OPENS_BY_6H = Range(0.50, 0.61, "§2 Mailchimp 2006 53%; MailerMailer 51.8%; Inntopia 61% [V/W]")
OPENS_BY_24H = Range(0.73, 0.79, "§2 Mailchimp 78%; MailerMailer 78.9%; GetResponse 73% [V]")
OPENS_BY_7D = Range(0.93, 0.97, "§2 Mailchimp 2006 [V]: 95% by 7 d")
OPENS_AFTER_30D = Range(0.02, 0.06, "§2 Inntopia [W]: ~4% of opens after 30 d")
# Local hour-of-day mass of opens (Campaign Monitor 2013 [V], 192M opens): 16% midnight-8am,
# 53% 9am-5pm excluding lunch, 7% in the 1pm hour, 24% 6-11pm.
OPEN_HOURS_NIGHT = Range(0.12, 0.20, "§2 Campaign Monitor 2013 [V]: 16% of opens 0-8h (hours 0-8)")
OPEN_HOURS_WORK = Range(0.49, 0.57, "§2 Campaign Monitor 2013 [V]: 53% 9-17h excl. 13h")
OPEN_HOURS_LUNCH = Range(0.04, 0.10, "§2 Campaign Monitor 2013 [V]: 7% in the 13h hour")
OPEN_HOURS_EVENING = Range(0.20, 0.28, "§2 Campaign Monitor 2013 [V]: 24% 18-23h")
MORNING_PEAK_HOURS = (8, 10)  # §2 GetResponse 2012 [V]: peaks 8-10 am and 3-4 pm
AFTERNOON_PEAK_HOURS = (15, 16)
WEEKEND_OPEN_DROP = Range(
    0.20, 0.40, "§2 GetResponse via MarketingCharts [V]: Sat/Sun opens 20-40% below Tue/Wed"
)
# Sends on a weekend day are 1/4 to 1/6 of a weekday's (eROI 2005 [V]).
WEEKEND_SEND_WEIGHT = Value(0.2, "§2 eROI 2005 [V]: weekend send volume 1/4-1/6 of a weekday")
MOBILE_SHARE_OF_OPENS = Range(0.42, 0.55, "§2 Campaign Monitor 2013 42%; §3 Litmus 2016 54% [V]")
DESKTOP_CTOR_RATIO = Value(1.8, "§2 Knotice via mailerforum [W]: desktop CTR about 2x mobile")

# --- §3 providers, clients, machine opens and clicks -----------------------------------
US_GMAIL_SHARE = Range(0.40, 0.50, "§3 Mapp [V] 50.1%; daniel-lange [W] 39%")
US_YAHOO_AOL_SHARE = Range(0.18, 0.23, "§3 Mapp [V] Verizon 22.6%; daniel-lange [W] 18%")
US_MICROSOFT_SHARE = Range(0.12, 0.35, "§3 Mapp [V] 12.4%; daniel-lange [W] 35%")
DE_GMX_WEBDE_SHARE = Range(0.36, 0.44, "§3 Mapp [V] GMX/Web.de 39.9%")
DE_GMAIL_SHARE = Range(0.12, 0.19, "§3 Mapp [V] Gmail 15.3%")
DE_TONLINE_SHARE = Range(0.09, 0.15, "§3 Mapp [V] T-Online 11.9%")
FR_GMAIL_SHARE = Range(0.23, 0.31, "§3 Mapp [V] Gmail 26.9%")
FR_MICROSOFT_SHARE = Range(0.22, 0.30, "§3 Mapp [V] Microsoft 25.9%")
FR_ORANGE_SHARE = Range(0.14, 0.22, "§3 Mapp [V] Orange 17.8%")
MPP_ADOPTION_AMONG_APPLE_MAIL = Value(0.93, "§3 SocketLabs: MPP adoption of at least 90%")
SCANNER_SHARE_OF_B2B_CLICKS = Range(0.10, 0.30, "§3 heuristics [W]: 10-30% of B2B clicks are bots")
SCANNER_CLICK_WINDOW_SECONDS = Value(5.0, "§3 [W]: every link clicked within 1-5 s of arrival")

# --- §4 deliverability -------------------------------------------------------------------
# "About 2% a month" list decay (HubSpot via vendors [W]); we let it delete mailboxes.
MAILBOX_DELETION_PER_MONTH = Value(0.02, "§4 list decay ~2%/month, HubSpot via vendors [W]")

# --- §5 fatigue ------------------------------------------------------------------------
FATIGUE_SENDS_PER_WEEK = Value(5.0, "§5 Validity 'Frequency Matters' [V]: ~5/week tolerated")
# 2/week -> daily cut opens 28% -> 19% (peasy.nu [W]): (5/7)^1.1 ~ 0.69.
FATIGUE_OPEN_EXPONENT = Value(1.1, "§5 peasy.nu [W]: daily sending cut open rate 28% -> 19%")

# --- §6 A/B variants ---------------------------------------------------------------------
VARIANT_EFFECT_SPREAD = Value(
    0.15, "§6 Upworthy archive [W]: lifts centred near 0, heavy-tailed, a few over 50%"
)

# --- population mix (no figure in the reference; the brief's assumption) -----------------
REGION_MIX = {"na": 0.45, "eu": 0.35, "apac": 0.20}  # [A] Postwise brief
REGION_MIX_TOLERANCE = 0.03
