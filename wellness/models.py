"""Imports every model module so metadata is complete for Alembic and ``create_all``."""

from wellness.analytics.models import PrivacyRelease
from wellness.attendance.models import Attendance, AttendanceChange, AttendanceUpload, Certificate
from wellness.audit.models import AuditEvent
from wellness.auth.models import ApiToken, User, UserRole
from wellness.courses.models import (
    Course,
    CourseSession,
    Enrollment,
    Offering,
    OfferingEmployer,
    Provider,
)
from wellness.health.models import (
    ChecklistAnswer,
    ChecklistItem,
    ChecklistResponse,
    ChecklistTemplate,
    Consent,
    ErgonomicMeasure,
    ExerciseEntry,
    ExerciseLog,
    PainCheckin,
    PainScore,
)
from wellness.jobs.models import AttendanceImport
from wellness.notifications.models import OutboundMail
from wellness.tenants.models import Department, Employee, Employer, Site

__all__ = [
    "ApiToken",
    "Attendance",
    "AttendanceChange",
    "AttendanceImport",
    "AttendanceUpload",
    "AuditEvent",
    "Certificate",
    "ChecklistAnswer",
    "ChecklistItem",
    "ChecklistResponse",
    "ChecklistTemplate",
    "Consent",
    "Course",
    "CourseSession",
    "Department",
    "Employee",
    "Employer",
    "Enrollment",
    "ErgonomicMeasure",
    "ExerciseEntry",
    "ExerciseLog",
    "Offering",
    "OfferingEmployer",
    "OutboundMail",
    "PainCheckin",
    "PainScore",
    "PrivacyRelease",
    "Provider",
    "Site",
    "User",
    "UserRole",
]
