"""Name lists for generated demo staff: common names in Germany, including the many families
with roots elsewhere, so the staff directory looks like a real German company."""

from __future__ import annotations

import unicodedata

FIRST_NAMES: tuple[str, ...] = (
    # female
    "Anna", "Julia", "Laura", "Lena", "Sarah", "Katharina", "Lisa", "Marie", "Sophie", "Hannah",
    "Johanna", "Christina", "Sabine", "Petra", "Andrea", "Claudia", "Nicole", "Stefanie",
    "Melanie", "Susanne", "Birgit", "Monika", "Karin", "Ursula", "Anja", "Kerstin", "Sandra",
    "Martina", "Jana", "Miriam", "Franziska", "Carolin", "Leonie", "Emily", "Mia", "Ayşe",
    "Elif", "Fatma", "Olga", "Natalia", "Aleksandra", "Jasmin", "Nadine", "Silke", "Heike",
    # male
    "Thomas", "Michael", "Andreas", "Stefan", "Christian", "Markus", "Frank", "Jürgen", "Peter",
    "Klaus", "Uwe", "Ralf", "Sven", "Jan", "Tim", "Jonas", "Lukas", "Leon", "Felix",
    "Maximilian", "Paul", "Niklas", "Florian", "Tobias", "Sebastian", "Daniel", "Matthias",
    "Alexander", "Dirk", "Holger", "Jens", "Oliver", "Björn", "Mehmet", "Ahmet", "Murat", "Emre",
    "Piotr", "Dmitri", "Luca", "Marco", "Kai", "Torsten", "Karsten",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
    "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt",
    "Werner", "Schmitz", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler",
    "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang",
    "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Schubert", "Vogel", "Friedrich", "Keller",
    "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Franke",
    "Albrecht", "Schuster", "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Martin", "Schumacher",
    "Krämer", "Vogt", "Stein", "Jäger", "Otto", "Sommer", "Groß", "Seidel", "Heinrich", "Brandt",
    "Haas", "Schreiber", "Graf", "Schulte", "Dietrich", "Ziegler", "Kuhn", "Kühn", "Pohl",
    "Engel", "Horn", "Busch", "Bergmann", "Thomas", "Voigt", "Sauer", "Arnold", "Wolff",
    "Pfeiffer", "Yılmaz", "Kaya", "Demir", "Şahin", "Öztürk", "Nowak", "Kowalski", "Wójcik",
    "Petrović", "Popović", "Nguyen", "Rossi", "Ivanov", "Schmitz-Kaiser",
)  # fmt: skip

_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ı": "i"})


def email_local_part(first: str, last: str) -> str:
    """``Jürgen Groß`` -> ``juergen.gross``: German transliteration, then plain ASCII."""
    text = f"{first}.{last}".lower().translate(_GERMAN).replace(" ", "-")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return ascii_text
