"""Country to region-cell mapping (ISO 3166-1 alpha-2).

Each region is a cell with its own database; a recipient's personal data is stored only in
the cell of the region their country belongs to. EU/EEA countries, and the rest of Europe,
the Middle East and Africa whose data is handled under EU adequacy rules, map to ``eu``;
the Americas to ``na``; Asia and Oceania to ``apac``.
"""

from __future__ import annotations

from .errors import UnknownRegion

EU_EEA = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE "
    "IS LI NO".split()
)
OTHER_EMEA = frozenset(
    "GB CH AL AD BA BY FO GI GG IM JE XK MD MC ME MK RU SM RS UA VA TR "
    "AE BH IL IQ IR JO KW LB OM PS QA SA SY YE "
    "DZ AO BJ BW BF BI CM CV CF TD KM CD CG CI DJ EG GQ ER SZ ET GA GM GH GN GW KE LS LR LY "
    "MG MW ML MR MU MA MZ NA NE NG RW ST SN SC SL SO ZA SS SD TZ TG TN UG ZM ZW".split()
)
AMERICAS = frozenset(
    "US CA MX GT BZ SV HN NI CR PA CU DO HT JM BS BB TT AG DM GD KN LC VC PR "
    "AR BO BR CL CO EC GY PY PE SR UY VE".split()
)
ASIA_PACIFIC = frozenset(
    "AU NZ JP KR CN HK MO TW SG MY ID TH VN PH IN PK BD LK NP BT MV MM KH LA BN TL MN "
    "KZ KG TJ TM UZ AF FJ PG SB VU WS TO KI TV NR PW FM MH".split()
)

_REGION_OF_COUNTRY: dict[str, str] = {
    **dict.fromkeys(EU_EEA | OTHER_EMEA, "eu"),
    **dict.fromkeys(AMERICAS, "na"),
    **dict.fromkeys(ASIA_PACIFIC, "apac"),
}


def region_for_country(country: str) -> str:
    """The region cell that stores personal data of a recipient in ``country``."""
    try:
        return _REGION_OF_COUNTRY[country.strip().upper()]
    except KeyError:
        raise UnknownRegion(country) from None


def is_eu(country: str) -> bool:
    """True for EU/EEA member states (the GDPR's territorial scope for residency)."""
    return country.strip().upper() in EU_EEA
