"""Which keys are secrets, and how containers are masked field by field.

The rule (README, Settings): the built-in and configured fragments match
anywhere in a key, case-insensitively; the built-in whole words match a
whole token of the key, the key split on ``_``, ``-``, ``.``, spaces, other
punctuation and camelCase boundaries.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from typing import Any, NamedTuple

import pytest

from eventlog import conf
from eventlog.signals import event_signal
from eventlog.write.values import Masker
from tests.helpers import raw_lines, read

SECRET_NAMES = [
    # HTTP headers and their WSGI/META spellings
    "Authorization",
    "Proxy-Authorization",
    "HTTP_AUTHORIZATION",
    "Cookie",
    "Set-Cookie",
    "HTTP_COOKIE",
    "X-Api-Key",
    "HTTP_X_API_KEY",
    "X-CSRFToken",
    "X-Auth-Token",
    # API keys, however they are spelled
    "api-key",
    "api_key",
    "apikey",
    "apiKey",
    "APIKey",
    "API_KEY",
    "KEY",
    "key",
    "private_key",
    "privateKey",
    "secret_key",
    "key_count",  # a whole "key" token: masked (the rule errs on the safe side)
    # passwords
    "password",
    "PASSWORD",
    "passwd",
    "pass",
    "db_pass",
    "passphrase",
    "pwd",
    "DB_PWD",
    "userpwd",
    "old_password1",
    # tokens, secrets, signatures
    "token",
    "access_token",
    "refreshToken",
    "csrftoken",
    "csrfmiddlewaretoken",
    "csrf",
    "client_secret",
    "secretary",  # "secret" is a fragment: masked, as before
    "signature",
    "X-Amz-Signature",
    "sig",
    "url_sig",
    "jwt",
    "credentials",
    # authentication and sessions
    "auth",
    "basic_auth",
    "authToken",
    "session",
    "sessionid",
    "SESSION_ID",
    "session_key",
    "session_data",
    "sessionKey",
]

INNOCENT_NAMES = [
    "monkey",
    "keyboard",
    "turkey",
    "hotkey",
    "keys",
    "passenger",  # "pass" is a whole word only: not a secret
    "passage",
    "compass",
    "bypass",
    "author",
    "authority",
    "oauth",
    "signal",
    "design",
    "assign",
    "sessions",
    "api_version",
    "api_url",
    "message",
    "order_id",
    "request_id",
]


@pytest.fixture
def masker() -> Masker:
    return Masker(conf.mask_fields())


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names_are_secret(masker, name):
    assert masker.is_secret(name), name


@pytest.mark.parametrize("name", INNOCENT_NAMES)
def test_innocent_names_are_not(masker, name):
    assert not masker.is_secret(name), name


def test_every_secret_name_is_masked_at_any_depth(eventlog_dir):
    """Each name, at the top, nested in dicts and in lists of dicts: never
    written in clear; the innocent names beside them are kept."""
    values = {name: f"v{i}-s3cr3t" for i, name in enumerate(SECRET_NAMES)}
    plain = {name: f"p{i}" for i, name in enumerate(INNOCENT_NAMES)}
    event_signal.send(
        sender="t",
        top={**values, **plain},
        deep={"a": [{"b": {**values, **plain}}]},
        headers=dict(values),
    )
    raw = raw_lines(eventlog_dir)[0]
    assert b"s3cr3t" not in raw
    (line,) = read(eventlog_dir)
    assert line["top"] == {**dict.fromkeys(SECRET_NAMES, "***"), **plain}
    assert line["deep"]["a"][0]["b"] == line["top"]


def test_secret_keyword_arguments_are_masked_on_repeated_events(eventlog_dir):
    """Keys seen before take the cached fast path; a secret one still is masked."""
    for _ in range(3):
        event_signal.send(sender="t", monkey="m", pwd="hunter2", sessionid="sid-abc123def")
    raw = b"".join(raw_lines(eventlog_dir))
    assert b"hunter2" not in raw
    assert b"sid-abc123def" not in raw
    assert [line["monkey"] for line in read(eventlog_dir)] == ["m"] * 3


class Creds(NamedTuple):
    user: str
    password: str


class Point(NamedTuple):
    x: int
    y: int


class Pair(tuple[Any, ...]):
    """A tuple subclass without field names."""


class Items(list[Any]):
    """orjson would serialize a list subclass itself, behind the masker's back."""


def test_named_tuples_are_masked_field_by_field_and_written_as_objects(eventlog_dir):
    """A NamedTuple is written as an object, like a dataclass, whether or not
    it holds a secret; it used to be written as its str(), secrets included."""
    event_signal.send(
        sender="t",
        creds=Creds("bob", "hunter2"),
        nested={"list": [Creds("amy", "pw-amy")]},
        point=Point(1, 2),
    )
    raw = raw_lines(eventlog_dir)[0]
    assert b"hunter2" not in raw
    assert b"pw-amy" not in raw
    (line,) = read(eventlog_dir)
    assert line["creds"] == {"user": "bob", "password": "***"}
    assert line["nested"] == {"list": [{"user": "amy", "password": "***"}]}
    assert line["point"] == {"x": 1, "y": 2}


def test_other_sequences_are_masked_item_by_item_and_written_as_lists(eventlog_dir):
    """Tuple and list subclasses, deques and dict views are written as lists
    (items views as objects), masked inside."""
    event_signal.send(
        sender="t",
        pair=Pair(({"token": "t-pair"}, 1)),
        items=Items([{"token": "t-items"}]),
        queue=collections.deque([{"token": "t-deque"}]),
        plain=Pair((1, 2)),
        view={"Authorization": "t-view", "n": 1}.items(),
        values={"a": {"token": "t-values"}}.values(),
    )
    raw = raw_lines(eventlog_dir)[0]
    for secret in (b"t-pair", b"t-items", b"t-deque", b"t-view", b"t-values"):
        assert secret not in raw
    (line,) = read(eventlog_dir)
    assert line["pair"] == [{"token": "***"}, 1]
    assert line["items"] == [{"token": "***"}]
    assert line["queue"] == [{"token": "***"}]
    assert line["plain"] == [1, 2]
    assert line["view"] == {"Authorization": "***", "n": 1}
    assert line["values"] == [{"token": "***"}]


def test_containers_inside_dataclasses_and_named_tuples_are_masked(eventlog_dir):
    @dataclasses.dataclass
    class Request:
        headers: dict[str, str]
        creds: Creds

    event_signal.send(
        sender="t", request=Request({"Authorization": "Bearer abc.def"}, Creds("bob", "hunter2"))
    )
    raw = raw_lines(eventlog_dir)[0]
    assert b"abc.def" not in raw
    assert b"hunter2" not in raw
    (line,) = read(eventlog_dir)
    assert line["request"] == {
        "headers": {"Authorization": "***"},
        "creds": {"user": "bob", "password": "***"},
    }


def test_hostile_named_tuples_never_lose_the_event(eventlog_dir):
    """A tuple subclass with a ``_fields`` that lies, and a self-containing
    one: the event is still written, nothing raises into the sender."""

    class Liar(tuple[Any, ...]):
        _fields = ("a", "b", "c")

        def _asdict(self) -> dict[str, Any]:
            raise RuntimeError("no")

    event_signal.send(sender="t", liar=Liar(({"token": "t-liar"},)), ok=1)
    raw = raw_lines(eventlog_dir)[0]
    assert b"t-liar" not in raw
    (line,) = read(eventlog_dir)
    assert line["ok"] == 1
    assert line["liar"] == [{"token": "***"}]


def test_configured_fragments_still_match_anywhere(eventlog_dir, settings):
    """EVENTLOG_MASK_FIELDS entries are substrings, as documented."""
    settings.EVENTLOG_MASK_FIELDS = ["iban", "SSN"]
    event_signal.send(sender="t", customer_iban="DE00", ssnumber="123", IBAN2="x", mine="m")
    (line,) = read(eventlog_dir)
    assert line["customer_iban"] == line["ssnumber"] == line["IBAN2"] == "***"
    assert line["mine"] == "m"


def test_django_jsonl_extras_use_the_same_rule(eventlog_dir):
    logging.getLogger("speedy").warning(
        "careful",
        extra={"headers": {"Cookie": "sessionid=abc", "X-Api-Key": "key-Zq1"}, "monkey": "m"},
    )
    raw = raw_lines(eventlog_dir, "django.jsonl")[0]
    assert b"sessionid=abc" not in raw
    assert b"key-Zq1" not in raw
    (line,) = read(eventlog_dir, "django.jsonl")
    assert line["headers"] == {"Cookie": "***", "X-Api-Key": "***"}
    assert line["monkey"] == "m"


def test_the_readme_names_every_built_in_fragment_and_word():
    from eventlog.conf.table import DEFAULT_MASK_FIELDS, MASK_WORDS
    from tests.helpers import ROOT

    section = (ROOT / "README.md").read_text().split("### Masking", 1)[1].split("\n## ", 1)[0]
    missing = [n for n in (*DEFAULT_MASK_FIELDS, *MASK_WORDS) if f"`{n}`" not in section]
    assert missing == []
