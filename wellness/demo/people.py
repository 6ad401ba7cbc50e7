"""Demo employers, their organisation and staff, and the six accounts people can sign in with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from wellness.auth.models import Role, User, UserRole
from wellness.auth.services import NewUser, create_user
from wellness.courses.models import Provider
from wellness.demo.context import Demo, Person
from wellness.demo.names import FIRST_NAMES, LAST_NAMES, email_local_part
from wellness.extensions import db
from wellness.tenants.models import Department, Employee, Employer, Site

DEMO_PASSWORD = "wellness-demo"  # noqa: S105 - printed by `wellness demo`; demo only  # nosec B105

#: (name, parent): two levels, eight departments.
MUSTERFIRMA_DEPARTMENTS: tuple[tuple[str, str | None], ...] = (
    ("Produktion", None),
    ("Montage", "Produktion"),
    ("Logistik", "Produktion"),
    ("Verwaltung", None),
    ("Personal", "Verwaltung"),
    ("Finanzen", "Verwaltung"),
    ("IT", "Verwaltung"),
    ("Vertrieb", None),
)
HAMBURG, KOELN, MUENCHEN = "Werk Hamburg-Harburg", "Zentrale Köln", "Vertriebsbüro München"
MUSTERFIRMA_SITES: tuple[tuple[str, str, str], ...] = (
    (HAMBURG, "Hamburg", "21079"),
    (KOELN, "Köln", "50667"),
    (MUENCHEN, "München", "80335"),
)


@dataclass(frozen=True)
class Staffing:
    """Head count of a department, where its people work and how many work partly from home."""

    count: int
    sites: dict[str, float]
    home_office_share: float
    #: Physically demanding work: more low back pain, rarely a screen workstation.
    manual: bool = False


#: 400 people in total, the sign-in accounts included.
MUSTERFIRMA_STAFF: dict[str, Staffing] = {
    "Produktion": Staffing(4, {HAMBURG: 1.0}, 0.0),
    "Montage": Staffing(128, {HAMBURG: 1.0}, 0.0, manual=True),
    "Logistik": Staffing(78, {HAMBURG: 0.8, KOELN: 0.2}, 0.05, manual=True),
    "Verwaltung": Staffing(4, {KOELN: 1.0}, 0.25),
    "Personal": Staffing(26, {KOELN: 0.8, HAMBURG: 0.2}, 0.3),
    "Finanzen": Staffing(33, {KOELN: 0.7, HAMBURG: 0.3}, 0.35),
    "IT": Staffing(52, {KOELN: 0.6, HAMBURG: 0.3, MUENCHEN: 0.1}, 0.6),
    "Vertrieb": Staffing(75, {MUENCHEN: 0.5, KOELN: 0.3, HAMBURG: 0.2}, 0.4),
}
BEISPIEL_STAFF: dict[str, int] = {"Technik": 18, "Kaufmännischer Bereich": 12}
BEISPIEL_SITE = ("Standort Stuttgart", "Stuttgart", "70173")


@dataclass(frozen=True)
class Login:
    email: str
    name: str
    label: str
    roles: tuple[Role, ...]
    employer: str | None = None
    provider: str | None = None
    department: str | None = None
    site: str | None = None


LOGINS: tuple[Login, ...] = (
    Login(
        "employee@musterfirma.example",
        "Erika Mustermann",
        "employee",
        (Role.EMPLOYEE,),
        "musterfirma",
        department="Finanzen",
        site=HAMBURG,
    ),
    Login(
        "hr@musterfirma.example",
        "Hanna Schulte",
        "hr",
        (Role.HR, Role.EMPLOYEE),
        "musterfirma",
        department="Personal",
        site=KOELN,
    ),
    Login(
        "admin@musterfirma.example",
        "Andreas Keller",
        "admin",
        (Role.ADMIN, Role.EMPLOYEE),
        "musterfirma",
        department="IT",
        site=KOELN,
    ),
    Login(
        "trainer@rueckenfit.example",
        "Tobias Brandt",
        "provider",
        (Role.PROVIDER,),
        provider="rueckenfit",
    ),
    Login(
        "hr@beispiel.example",
        "Sabine Vogt",
        "hr",
        (Role.HR, Role.EMPLOYEE),
        "beispiel",
        department="Kaufmännischer Bereich",
        site=BEISPIEL_SITE[0],
    ),
    Login("operator@wellness.example", "Olaf Berger", "operator", (Role.OPERATOR,)),
)


def _pain_base(demo: Demo, manual: bool) -> dict[str, float]:
    """Latent pain per region: manual work loads the low back, screen work neck and shoulders."""
    rng = demo.rng

    def clamp(value: float) -> float:
        return min(8.5, max(0.0, value))

    return {
        "low_back": clamp(rng.gauss(3.0, 1.9) + (0.9 if manual else 0.0)),
        "neck": clamp(rng.gauss(2.3, 1.7) + (0.0 if manual else 0.7)),
        "shoulders": clamp(rng.gauss(2.0, 1.6) + (0.4 if manual else 0.3)),
    }


def _weighted(demo: Demo, weights: dict[str, float]) -> str:
    return demo.rng.choices(list(weights), weights=list(weights.values()))[0]


def _unique_name(demo: Demo, used: set[str]) -> tuple[str, str]:
    while True:
        first, last = demo.rng.choice(FIRST_NAMES), demo.rng.choice(LAST_NAMES)
        local_part = email_local_part(first, last)
        if local_part not in used:
            used.add(local_part)
            return f"{first} {last}", local_part


def _org(
    employer: Employer,
    departments: tuple[tuple[str, str | None], ...],
    sites: tuple[tuple[str, str, str], ...],
) -> tuple[dict[str, Department], dict[str, Site]]:
    by_name: dict[str, Department] = {}
    for name, parent in departments:
        by_name[name] = Department(
            employer=employer,
            name=name,
            parent=by_name[parent] if parent else None,
            external_id=f"ORG-{len(by_name) + 1:03d}",
        )
    site_rows = {
        name: Site(employer=employer, name=name, city=city, postal_code=postal_code)
        for name, city, postal_code in sites
    }
    db.session.add_all([*by_name.values(), *site_rows.values()])
    return by_name, site_rows


def _create_logins(
    demo: Demo, employers: dict[str, Employer], providers: dict[str, Provider]
) -> None:
    for login in LOGINS:
        employer = employers.get(login.employer or "")
        provider = providers.get(login.provider or "")
        demo.logins[login.email] = create_user(
            NewUser(
                email=login.email,
                name=login.name,
                roles=login.roles,
                employer_id=employer.id if employer else None,
                provider_id=provider.id if provider else None,
                password=DEMO_PASSWORD,
            )
        )


def seed_people(demo: Demo, providers: dict[str, Provider]) -> None:
    """Employers with departments, sites and staff; every employee has a password-less account
    (as if provisioned by SSO), only the six demo logins can sign in with a password."""
    rng = demo.rng
    musterfirma = Employer(slug="musterfirma", name="Musterfirma GmbH", locale="de")
    beispiel = Employer(slug="beispiel", name="Beispiel AG", locale="de")
    db.session.add_all([musterfirma, beispiel])
    db.session.flush()
    demo.employers.update(musterfirma=musterfirma, beispiel=beispiel)
    departments, sites = _org(musterfirma, MUSTERFIRMA_DEPARTMENTS, MUSTERFIRMA_SITES)
    b_departments, b_sites = _org(
        beispiel, tuple((name, None) for name in BEISPIEL_STAFF), (BEISPIEL_SITE,)
    )
    _create_logins(demo, demo.employers, providers)

    used: set[str] = set()
    rows: list[object] = []

    def add_person(
        employer: Employer,
        number: str,
        name: str,
        user: User,
        department: Department,
        site: Site,
        staffing: Staffing | None,
    ) -> Person:
        employee = Employee(
            employer=employer,
            user=user,
            employee_number=number,
            department=department,
            site=site,
            hired_on=demo.today - timedelta(days=rng.randint(60, 365 * 22)),
            pain_reminder_opt_in=rng.random() < 0.3,
        )
        rows.append(employee)
        manual = staffing.manual if staffing else department.name == "Technik"
        home = rng.random() < (staffing.home_office_share if staffing else 0.3)
        return Person(
            employee, user, name, department.name, site.name, home, _pain_base(demo, manual)
        )

    fixed = {login.department: login for login in LOGINS if login.employer == "musterfirma"}
    number = 10000
    for department_name, staffing in MUSTERFIRMA_STAFF.items():
        for index in range(staffing.count):
            number += 1
            login = fixed.get(department_name) if index == 0 else None
            if login is not None:
                user = demo.logins[login.email]
                name, site_name = login.name, login.site or HAMBURG
            else:
                name, local_part = _unique_name(demo, used)
                user = _passwordless_user(musterfirma, name, f"{local_part}@musterfirma.example")
                rows.append(user)
                site_name = _weighted(demo, staffing.sites)
            demo.people.append(
                add_person(
                    musterfirma,
                    f"MF-{number}",
                    name,
                    user,
                    departments[department_name],
                    sites[site_name],
                    staffing,
                )
            )

    b_site = b_sites[BEISPIEL_SITE[0]]
    number = 0
    for department_name, count in BEISPIEL_STAFF.items():
        for index in range(count):
            number += 1
            if department_name == "Kaufmännischer Bereich" and index == 0:
                user = demo.logins["hr@beispiel.example"]
                name = user.name
            else:
                name, local_part = _unique_name(demo, used)
                user = _passwordless_user(beispiel, name, f"{local_part}@beispiel.example")
                rows.append(user)
            demo.beispiel_people.append(
                add_person(
                    beispiel,
                    f"B-{number:04d}",
                    name,
                    user,
                    b_departments[department_name],
                    b_site,
                    None,
                )
            )
    db.session.add_all(rows)
    db.session.flush()


def _passwordless_user(employer: Employer, name: str, email: str) -> User:
    user = User(email=email, name=name, employer_id=employer.id)
    user.roles = [UserRole(role=Role.EMPLOYEE.value)]
    return user
