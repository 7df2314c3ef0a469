"""Wire pieces every mock handler shares: plain-text answers, the halt that carries one out, ErrorCode bodies.

They live apart from app.py so the async job routes (async_api.py) build their answers exactly the way the sync
APIs do, without importing the application class.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Response

JsonObject = dict[str, Any]

PLAIN_TEXT = "text/plain;charset=utf-8"
HTML = "text/html;charset=UTF-8"

# ZStack's error-code descriptions (conf/errorCodes/identity.xml and sys.xml).
DESCRIPTIONS: dict[str, str] = {
    "ID.1000": "Unable to authenticate a user",
    "ID.1001": "The session is invalid, either wrong session id or the session has been expired",
    "SYS.1000": "An internal error happened in system",
    "SYS.1003": "A resource can not be found",
    "SYS.1006": "An operation failed",
    "SYS.1007": "One or more API argument is invalid",
    "SYS.1016": "Cannot do an IO operation (e.g. network IO error, file IO error)",
}

# The message class named in "is mandatory" details: a known bug in current ZStack HEAD prints the
# validator's class instead of the API message's.
VALIDATOR_CLASS = "org.zstack.header.message.ApiMessageParamValidator"


class HaltError(Exception):
    """Carries a finished response out of nested parsing code, like RestServer's RestException."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class BareResponse(Response):
    # RestServer never calls setContentType, so JSON goes out without a Content-Type header.
    default_mimetype = None


def server_now() -> datetime:
    # The modelled JVM runs in UTC. Gson prints naive local time with whole seconds.
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def gson_token(value: object) -> str:
    if isinstance(value, dict):
        return "BEGIN_OBJECT"
    if isinstance(value, list):
        return "BEGIN_ARRAY"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int | float):
        return "NUMBER"
    return "STRING"


def error_code(code: str, details: str, cause: JsonObject | None = None) -> JsonObject:
    """An ErrorCode as Gson writes it: null fields (elaboration, opaque, cause...) are left out."""
    error: JsonObject = {"code": code, "description": DESCRIPTIONS[code], "details": details}
    if cause is not None:
        error["cause"] = cause
    return error


def mandatory(field: str) -> JsonObject:
    return error_code("SYS.1007", f"field[{field}] of message[{VALIDATOR_CLASS}] is mandatory, can not be null")


def plain_text(status: int, body: str) -> Response:
    return BareResponse(body.encode("utf-8"), status=status, content_type=PLAIN_TEXT)


def string_param(params: Mapping[str, object], field: str) -> str | None:
    """A String field as Gson's rehash fills it: scalars are coerced to text, objects and arrays fail."""
    value = params.get(field)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        text = f"java.lang.IllegalStateException: Expected a string but was {gson_token(value)} path $.{field}"
        raise HaltError(plain_text(500, text))
    return json.dumps(value)
