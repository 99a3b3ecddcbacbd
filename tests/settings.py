"""Test settings: the project's, plus the zoo app of every field type."""

from config.settings import *  # noqa: F403
from config.settings import EVENTLOG_MODELS, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.zoo"]
EVENTLOG_MODELS = [*EVENTLOG_MODELS, ("zoo.Animal", {"exclude": ["notes"]}), "zoo.Dog"]
