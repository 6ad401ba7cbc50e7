"""Demo providers, certified courses and their dated offerings, past, running and upcoming."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from wellness.courses.models import (
    Course,
    CourseFormat,
    CourseSession,
    FieldOfAction,
    Offering,
    OfferingEmployer,
    Provider,
)
from wellness.demo.context import Demo, PlannedOffering, local
from wellness.extensions import db

PROVIDERS: tuple[tuple[str, str, str, str], ...] = (
    ("rueckenfit", "RückenFit Studio", "Hamburg", "kontakt@rueckenfit.example"),
    ("physio-am-dom", "Physiotherapie am Dom", "Köln", "praxis@physio-am-dom.example"),
    ("bewegt-online", "BewegtOnline – Prävention digital", "Berlin", "team@bewegt-online.example"),
)
STUDIO = "RückenFit Studio, Harburger Rathausstraße 12, 21073 Hamburg"
IN_HOUSE = "Musterfirma GmbH, Werk Hamburg-Harburg, Gesundheitsraum Halle 2"
PRAXIS = "Physiotherapie am Dom, Komödienstraße 8, 50667 Köln"
#: Offering with this key is booked out with a waitlist, to show promotion from the waitlist.
FULL_OFFERING = "rueckenkraft-3"
#: Musterfirma pays movement courses in full and three quarters of the others.
SUBSIDY_SHARE = {FieldOfAction.MOVEMENT: 1.0, FieldOfAction.STRESS: 0.75}
BEISPIEL_SUBSIDY_CENTS = 7500


@dataclass(frozen=True)
class CourseSpec:
    slug: str
    provider: str
    title: str
    title_en: str
    description: str
    description_en: str
    field: FieldOfAction
    format: CourseFormat
    sessions: int
    capacity: int
    price_cents: int
    #: Start of each offering in days relative to the reference day (moved to ``weekday``).
    starts: tuple[int, ...]
    weekday: int
    hour: int
    minute: int
    instructor: str
    location: str | None = None
    city: str | None = None
    online_url: str | None = None
    #: Indices into ``starts`` that Beispiel AG opened for its staff as well.
    beispiel: tuple[int, ...] = ()
    #: Certification ends within 90 days of the reference day, to show the warning.
    expiring: bool = False


COURSES: tuple[CourseSpec, ...] = (
    CourseSpec(
        "neue-rueckenschule",
        "rueckenfit",
        "Neue Rückenschule",
        "New Back School",
        "Das Präventionsprogramm nach den Leitlinien der Konföderation der deutschen "
        "Rückenschulen (KddR): gezieltes Kräftigen und Dehnen, rückengerechtes Verhalten im "
        "Alltag und am Arbeitsplatz und der Umgang mit Stress und Schmerz. In kleinen Gruppen "
        "mit zertifizierten Rückenschullehrer:innen.",
        "The prevention programme following the guidelines of the German back school "
        "confederation (KddR): targeted strengthening and stretching, back-friendly habits at "
        "work and at home, and coping with stress and pain. In small groups with certified "
        "back school instructors.",
        FieldOfAction.MOVEMENT,
        CourseFormat.IN_PERSON,
        10,
        12,
        15000,
        (-350, -245, -140, -35, 20, 62),
        1,
        17,
        30,
        "Tobias Brandt",
        location=STUDIO,
        city="Hamburg",
    ),
    CourseSpec(
        "rueckenkraft",
        "rueckenfit",
        "Rückenkräftigung – Krafttraining für den Rücken",
        "Back strength – strength training for your back",
        "Angeleitetes Krafttraining für Rumpf, Gesäß und Beine: Brücke, Vierfüßlerstand, "
        "Kniebeugen und Kreuzheben mit leichten Gewichten, Schritt für Schritt gesteigert. "
        "Dazu ein kurzes Heimprogramm für zweimal pro Woche. Im Gesundheitsraum im Werk.",
        "Guided strength training for trunk, glutes and legs: bridge, bird-dog, squats and "
        "deadlifts with light weights, increased step by step. Plus a short home programme for "
        "twice a week. In the on-site health room.",
        FieldOfAction.MOVEMENT,
        CourseFormat.IN_PERSON,
        12,
        10,
        16500,
        (-320, -200, -90, 12, 75),
        3,
        16,
        0,
        "Miriam Seidel",
        location=IN_HOUSE,
        city="Hamburg",
    ),
    CourseSpec(
        "pilates-ruecken",
        "rueckenfit",
        "Pilates für einen starken Rücken",
        "Pilates for a strong back",
        "Pilates-Training für die tiefe Rumpfmuskulatur, Beweglichkeit und Haltung – im Studio "
        "oder live von zu Hause. Für Einsteigerinnen und Einsteiger geeignet.",
        "Pilates training for the deep trunk muscles, mobility and posture – in the studio or "
        "live from home. Suitable for beginners.",
        FieldOfAction.MOVEMENT,
        CourseFormat.HYBRID,
        8,
        14,
        12000,
        (-300, -150, -10, 40),
        0,
        12,
        15,
        "Miriam Seidel",
        location=STUDIO,
        city="Hamburg",
        online_url="https://live.rueckenfit.example/pilates",
    ),
    CourseSpec(
        "rueckenschule-kompakt",
        "physio-am-dom",
        "Rückenschule kompakt für Büro und Homeoffice",
        "Compact back school for office and home office",
        "Physiotherapeutisch geleitete Rückenschule für Menschen, die viel sitzen: "
        "Ausgleichsübungen, Arbeitsplatzeinstellung, Bewegungspausen und ein Übungsplan für "
        "zu Hause.",
        "Back school led by physiotherapists for people who sit a lot: compensating exercises, "
        "workstation set-up, movement breaks and an exercise plan for home.",
        FieldOfAction.MOVEMENT,
        CourseFormat.IN_PERSON,
        8,
        12,
        13000,
        (-330, -210, -100, -30),
        2,
        17,
        0,
        "Katrin Albers",
        location=PRAXIS,
        city="Köln",
        expiring=True,
    ),
    CourseSpec(
        "nacken-schultern",
        "physio-am-dom",
        "Nacken und Schultern entspannt – Haltungstraining",
        "Relaxed neck and shoulders – posture training",
        "Kräftigung und Mobilisation von Nacken, Schultergürtel und Brustwirbelsäule, "
        "Entspannungstechniken und Tipps für die Bildschirmarbeit.",
        "Strengthening and mobilising the neck, shoulder girdle and thoracic spine, relaxation "
        "techniques and tips for screen work.",
        FieldOfAction.MOVEMENT,
        CourseFormat.IN_PERSON,
        10,
        12,
        14000,
        (-280, -160, -50, 30),
        0,
        17,
        30,
        "Katrin Albers",
        location=PRAXIS,
        city="Köln",
    ),
    CourseSpec(
        "rueckenfit-online",
        "bewegt-online",
        "Rücken aktiv – Live-Onlinetraining",
        "Active back – live online training",
        "Live-Rückentraining per Video in kleinen Gruppen: Kräftigung, Mobilisation und "
        "Entspannung, mit persönlicher Korrektur durch die Trainerin. Ideal für Homeoffice und "
        "Außendienst.",
        "Live back training by video in small groups: strengthening, mobilisation and "
        "relaxation, with personal feedback from the trainer. Ideal for home office and field "
        "staff.",
        FieldOfAction.MOVEMENT,
        CourseFormat.ONLINE,
        10,
        15,
        12000,
        (-260, -170, -75, 10, 55),
        2,
        7,
        30,
        "Lea Sommer",
        online_url="https://live.bewegt-online.example/ruecken-aktiv",
        beispiel=(2, 3),
    ),
    CourseSpec(
        "stress-achtsamkeit",
        "bewegt-online",
        "Stressbewältigung durch Achtsamkeit",
        "Stress management through mindfulness",
        "Achtsamkeitsbasiertes Stressmanagement: Atem- und Körperwahrnehmung, kurze "
        "Meditationen für den Arbeitstag und Strategien für einen gelasseneren Umgang mit "
        "Belastungen.",
        "Mindfulness-based stress management: breath and body awareness, short meditations for "
        "the working day and strategies for handling pressure more calmly.",
        FieldOfAction.STRESS,
        CourseFormat.ONLINE,
        8,
        15,
        14000,
        (-230, -110, 25),
        1,
        19,
        0,
        "Dr. Jonas Petersen",
        online_url="https://live.bewegt-online.example/achtsamkeit",
        beispiel=(1, 2),
    ),
    CourseSpec(
        "gesund-essen",
        "bewegt-online",
        "Gesund essen im Arbeitsalltag",
        "Healthy eating at work",
        "Ausgewogen essen trotz Schichtdienst, Kantine und Homeoffice: Grundlagen nach den "
        "Empfehlungen der DGE, Meal-Prep und kleine Veränderungen mit großer Wirkung.",
        "Eating well despite shifts, canteen and home office: basics following the German "
        "Nutrition Society's recommendations, meal prep and small changes with a big effect.",
        FieldOfAction.NUTRITION,
        CourseFormat.ONLINE,
        8,
        15,
        9900,
        (-190, -60, 45),
        3,
        12,
        30,
        "Lea Hansen",
        online_url="https://live.bewegt-online.example/gesund-essen",
    ),
)
ZPP_FIELD_CODE = {
    FieldOfAction.MOVEMENT: "BE",
    FieldOfAction.STRESS: "ST",
    FieldOfAction.NUTRITION: "ER",
    FieldOfAction.ADDICTION: "SU",
}


def years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def seed_providers() -> dict[str, Provider]:
    providers = {
        slug: Provider(slug=slug, name=name, city=city, contact_email=email)
        for slug, name, city, email in PROVIDERS
    }
    db.session.add_all(providers.values())
    db.session.flush()
    return providers


def _certification(demo: Demo, spec: CourseSpec) -> tuple[date, date]:
    """Three years of validity; the expiring course ends 60 days after the reference day."""
    if spec.expiring:
        until = demo.today + timedelta(days=60)
        return years_later(until, -3) + timedelta(days=1), until
    start = demo.today - timedelta(days=demo.rng.randint(420, 800))
    return start, years_later(start, 3) - timedelta(days=1)


def seed_catalogue(demo: Demo, providers: dict[str, Provider]) -> None:
    rows: list[object] = []
    for spec in COURSES:
        certified_from, certified_until = _certification(demo, spec)
        course = Course(
            provider=providers[spec.provider],
            title=spec.title,
            title_en=spec.title_en,
            description=spec.description,
            description_en=spec.description_en,
            language="de",
            field_of_action=spec.field.value,
            format=spec.format.value,
            zpp_course_id=f"KU-{ZPP_FIELD_CODE[spec.field]}-{demo.code(6)}",
            certified_from=certified_from,
            certified_until=certified_until,
            attendance_threshold_pct=80,
            default_capacity=spec.capacity,
            default_price_cents=spec.price_cents,
        )
        rows.append(course)
        for index, offset in enumerate(spec.starts):
            first = demo.today + timedelta(days=offset)
            first += timedelta(days=(spec.weekday - first.weekday()) % 7)
            days = [first + timedelta(weeks=n) for n in range(spec.sessions)]
            offering = Offering(
                course=course,
                starts_on=days[0],
                ends_on=days[-1],
                capacity=spec.capacity,
                price_cents=spec.price_cents,
                format=spec.format.value,
                instructor_name=spec.instructor,
                location=spec.location,
                city=spec.city,
                online_url=spec.online_url,
                enrollment_opens_at=local(days[0] - timedelta(days=56), 8),
                enrollment_closes_at=local(days[0] - timedelta(days=2), 23, 59),
                cancellation_deadline=local(days[0] - timedelta(days=7), 23, 59),
            )
            offering.sessions = [
                CourseSession(
                    starts_at=local(day, spec.hour, spec.minute),
                    ends_at=local(day, spec.hour + 1, spec.minute),
                )
                for day in days
            ]
            share = SUBSIDY_SHARE.get(spec.field, 0.5)
            opened_at = local(days[0] - timedelta(days=63), 9)
            offering.employer_links = [
                OfferingEmployer(
                    employer=demo.musterfirma,
                    subsidy_cents=round(spec.price_cents * share / 100) * 100,
                    opened_at=opened_at,
                )
            ]
            if index in spec.beispiel:
                offering.employer_links.append(
                    OfferingEmployer(
                        employer=demo.beispiel,
                        subsidy_cents=BEISPIEL_SUBSIDY_CENTS,
                        opened_at=opened_at,
                    )
                )
            rows.append(offering)
            key = f"{spec.slug}-{index}"
            demo.offerings.append(
                PlannedOffering(
                    key=key,
                    course=course,
                    offering=offering,
                    session_days=days,
                    open_to_beispiel=index in spec.beispiel,
                    full_with_waitlist=key == FULL_OFFERING,
                )
            )
    db.session.add_all(rows)
    db.session.flush()
    demo.offerings.sort(key=lambda planned: (planned.offering.starts_on, planned.key))
