"""Given and family names per language, and the ASCII form used in addresses.

Lists are short on purpose: common names of each language, enough that names repeat the
way they do in a real list. Address uniqueness never relies on names (see world.py).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        ("James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
         "William", "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
         "Thomas", "Sarah", "Chris", "Karen", "Daniel", "Emily", "Matthew", "Ashley", "Anthony",
         "Emma", "Mark", "Olivia", "Steven", "Hannah", "Paul", "Megan", "Andrew", "Laura"),
        ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
         "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White",
         "Harris", "Clark", "Lewis", "Walker", "Hall", "Allen", "Young", "King", "Wright",
         "Scott", "Green", "Baker", "Adams", "Nelson", "Campbell", "Mitchell", "Roberts",
         "Murphy", "Kelly", "O'Brien", "Evans", "Hughes"),
    ),
    "es": (
        ("María", "José", "Lucía", "Antonio", "Carmen", "Manuel", "Laura", "Francisco",
         "Marta", "David", "Ana", "Javier", "Sofía", "Carlos", "Elena", "Miguel", "Paula",
         "Alejandro", "Cristina", "Pablo", "Isabel", "Sergio", "Raquel", "Jorge"),
        ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez",
         "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno",
         "Muñoz", "Álvarez", "Romero", "Navarro", "Torres", "Domínguez", "Vázquez"),
    ),
    "fr": (
        ("Marie", "Jean", "Camille", "Pierre", "Léa", "Nicolas", "Julie", "Thomas", "Chloé",
         "Antoine", "Manon", "Julien", "Sophie", "Mathieu", "Émilie", "François", "Claire",
         "Louis", "Inès", "Hugo", "Céline", "Maxime", "Élodie", "Guillaume"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
         "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
         "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "Lambert", "Bonnet"),
    ),
    "de": (
        ("Anna", "Lukas", "Lena", "Jonas", "Laura", "Felix", "Julia", "Maximilian", "Sarah",
         "Paul", "Katharina", "Leon", "Sophie", "Tobias", "Hannah", "Stefan", "Lisa", "Jan",
         "Sabine", "Michael", "Jürgen", "Petra", "Andreas", "Claudia", "Thomas", "Birgit"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
         "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
         "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann",
         "Hartmann", "Lange", "Werner"),
    ),
    "it": (
        ("Giulia", "Marco", "Francesca", "Alessandro", "Chiara", "Luca", "Sara", "Andrea",
         "Valentina", "Matteo", "Federica", "Lorenzo", "Elisa", "Davide", "Martina",
         "Giuseppe", "Alessia", "Simone", "Paola", "Riccardo"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
         "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa",
         "Giordano", "Rizzo", "Lombardi", "Moretti"),
    ),
    "nl": (
        ("Emma", "Daan", "Sophie", "Lucas", "Julia", "Sem", "Anna", "Bram", "Lotte", "Thijs",
         "Sanne", "Jeroen", "Fleur", "Ruben", "Eva", "Joost", "Iris", "Pieter", "Lieke",
         "Wouter"),
        ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
         "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters",
         "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "Peeters", "Maes"),
    ),
    "pl": (
        ("Anna", "Piotr", "Katarzyna", "Krzysztof", "Małgorzata", "Tomasz", "Agnieszka",
         "Paweł", "Magdalena", "Michał", "Joanna", "Marcin", "Aleksandra", "Łukasz", "Monika",
         "Jakub", "Ewa", "Kamil"),
        ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski",
         "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski",
         "Mazur", "Kwiatkowski", "Krawczyk"),
    ),
    "sv": (
        ("Erik", "Anna", "Lars", "Maria", "Karl", "Eva", "Johan", "Karin", "Anders", "Sara",
         "Per", "Emma", "Nils", "Elin", "Oskar", "Linnea", "Gustav", "Ida"),
        ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
         "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Lindberg", "Berg"),
    ),
    "ja": (
        ("Hiroshi", "Yuki", "Takashi", "Akiko", "Kenji", "Yumi", "Daiki", "Haruka", "Sho",
         "Aoi", "Ryo", "Misaki", "Takumi", "Naoko", "Kazuki", "Sakura", "Yuto", "Emi"),
        ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura",
         "Kobayashi", "Kato", "Yoshida", "Yamada", "Sasaki", "Yamaguchi", "Matsumoto", "Inoue"),
    ),
    "in": (
        ("Aarav", "Priya", "Rahul", "Ananya", "Vikram", "Sneha", "Arjun", "Pooja", "Rohan",
         "Divya", "Amit", "Neha", "Karthik", "Kavya", "Sanjay", "Meera", "Aditya", "Isha"),
        ("Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy", "Iyer", "Nair", "Mehta",
         "Joshi", "Rao", "Das", "Chopra", "Malhotra", "Bose", "Menon", "Verma", "Agarwal"),
    ),
    "sg": (
        ("Wei Ling", "Jun Jie", "Hui Min", "Kai", "Siti", "Muhammad", "Priya", "Rachel",
         "Jonathan", "Mei", "Darren", "Nurul", "Ethan", "Xin Yi", "Ravi", "Chloe"),
        ("Tan", "Lim", "Lee", "Ng", "Ong", "Wong", "Goh", "Chua", "Koh", "Teo", "Chan",
         "Rahman", "Abdullah", "Kumar", "Pillai", "Yeo"),
    ),
}

# Which name list a locale uses.
_LOCALE_LANGUAGE = {
    "es-US": "es", "es-ES": "es", "fr-FR": "fr", "fr-CA": "fr", "fr-BE": "fr", "de-DE": "de",
    "it-IT": "it", "nl-NL": "nl", "nl-BE": "nl", "pl-PL": "pl", "sv-SE": "sv", "ja-JP": "ja",
    "en-IN": "in", "hi-IN": "in", "en-SG": "sg",
}

# German umlauts are written out in addresses (Müller -> mueller); other marks are dropped.
_ASCII_SPECIAL = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ł": "l",
                                "æ": "ae", "ø": "o", "å": "a"})


def names_for(locale: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(given names, family names) for a locale; English for locales without a list."""
    return _NAMES[_LOCALE_LANGUAGE.get(locale, "en")]


@lru_cache(maxsize=4096)
def ascii_local(name: str) -> str:
    """Lower-case ASCII form of a name for an address local part ("O'Brien" -> "obrien")."""
    lowered = name.lower().translate(_ASCII_SPECIAL)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum())
