"""Extensions are created here and initialised in :func:`wellness.create_app`.

The rate limiter is not here: it keeps its settings per instance, so each app builds its own
(see :mod:`wellness.ratelimit`).
"""

from __future__ import annotations

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from wellness.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
