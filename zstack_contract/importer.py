"""Read a ZStack API reference page in its published text form into an :class:`ApiSpec`.

The page is the text a browser shows for one API on ZStack's developer manual: a heading line that runs the
method, group, since-version, sync mode and auth flag together, bullet lists of parameters and response fields
(name and type also run together, e.g. ``registryPortint``), the endpoint, the operation id, a curl request
example and a JSON response example. Anything the importer does not recognise is an error naming the file and
line, never a silent guess.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from zstack_contract.spec import ApiSpec, Example, Field, Param

HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD")

# Type names seen on ZStack's pages. Longest first so "LinkedHashMap" wins over "Map", "Integer" over "int".
KNOWN_TYPES = tuple(
    sorted(
        (
            "String",
            "int",
            "Integer",
            "long",
            "Long",
            "short",
            "Short",
            "boolean",
            "Boolean",
            "double",
            "Double",
            "float",
            "Float",
            "List",
            "Set",
            "Map",
            "LinkedHashMap",
            "HashMap",
            "Timestamp",
            "Date",
            "ErrorCode",
            "Object",
        ),
        key=len,
        reverse=True,
    )
)
# Class-typed fields (e.g. "inventoryVmInstanceInventory") end in one of these.
CLASS_TYPE_SUFFIXES = ("Inventory", "Struct", "View", "Info", "Reply", "Event")

PARAM_SECTIONS = {"Query Parameters": "query", "Path Parameters": "path", "Body Parameters": "body"}

_HEADING = re.compile(
    r"^(?P<method>" + "|".join(HTTP_METHODS) + r")(?P<group>.*?)Since (?P<since>\d+(?:\.\d+)*)"
    r"(?P<mode>Synchronous|Asynchronous)(?P<auth>Auth Required|No Auth Required|No Auth)$"
)
_BULLET = re.compile(r"^(?P<indent> *)\u2022 (?P<label>\S.*)$")
_ENDPOINT = re.compile(r"^(?P<method>" + "|".join(HTTP_METHODS) + r")(?P<path>/\S*)$")


class DocPageError(ValueError):
    """The page does not have the shape the importer knows; the message names file, line and expectation."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")
        self.source = source
        self.line = line


@dataclass(frozen=True)
class _Line:
    number: int  # 1-based, as an editor shows it
    text: str


class _Page:
    """The page's lines with a cursor; every lookup failure becomes a DocPageError."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.lines = [_Line(i + 1, raw.rstrip()) for i, raw in enumerate(text.splitlines())]

    def error(self, line: int | None, message: str) -> DocPageError:
        return DocPageError(self.source, line, message)

    def find(self, predicate_text: str, start: int = 0, *, exact: bool = True) -> int:
        for i in range(start, len(self.lines)):
            text = self.lines[i].text.strip()
            if (text == predicate_text) if exact else text.startswith(predicate_text):
                return i
        after = f" after line {self.lines[start - 1].number}" if start else ""
        raise self.error(None, f"expected a line {predicate_text!r}{after}, found none")

    def next_nonblank(self, index: int) -> int:
        for i in range(index + 1, len(self.lines)):
            if self.lines[i].text.strip():
                return i
        raise self.error(self.lines[index].number, "expected more content after this line, the page ends here")


def split_label(label: str) -> tuple[str, str, bool] | None:
    """Split a run-together bullet label like ``sizeLongRequired`` into (name, type, required)."""
    required = label.endswith("Required")
    core = label[: -len("Required")] if required else label
    for type_name in KNOWN_TYPES:
        if core.endswith(type_name) and len(core) > len(type_name):
            name = core[: -len(type_name)]
            if re.fullmatch(r"[a-z][A-Za-z0-9_]*", name):
                return name, type_name, required
    # A class-typed field: the type is the trailing CamelCase run that ends in a known class suffix.
    match = re.fullmatch(r"(?P<name>[a-z][a-z0-9_]*(?:[A-Z][a-z0-9_]*)*?)(?P<type>(?:[A-Z][A-Za-z0-9_]*))", core)
    if match and match.group("type").endswith(CLASS_TYPE_SUFFIXES):
        return match.group("name"), match.group("type"), required
    return None


def _parse_bullets(page: _Page, start: int, end: int, what: str) -> list[tuple[int, _Line, str, str, bool, str]]:
    """Bullets between two line indexes as (indent, line, name, type, required, description)."""
    items: list[tuple[int, _Line, str, str, bool, str]] = []
    i = start
    while i < end:
        line = page.lines[i]
        if not line.text.strip():
            i += 1
            continue
        bullet = _BULLET.match(line.text)
        if bullet is None:
            raise page.error(
                line.number,
                f"expected a {what} bullet ('  \u2022 <name><Type>[Required]'), found {line.text.strip()!r}",
            )
        parts = split_label(bullet.group("label"))
        if parts is None:
            raise page.error(
                line.number,
                f"cannot split {bullet.group('label')!r} into a field name and a type; known types are "
                f"{', '.join(sorted(KNOWN_TYPES))} or a class name ending in {', '.join(CLASS_TYPE_SUFFIXES)}",
            )
        description_lines: list[str] = []
        j = i + 1
        indent = len(bullet.group("indent"))
        while j < end and not _BULLET.match(page.lines[j].text):
            text = page.lines[j].text
            if text.strip():
                if len(text) - len(text.lstrip(" ")) <= indent:
                    # A description is indented under its bullet; a line level with it is a malformed bullet.
                    raise page.error(
                        page.lines[j].number,
                        f"expected a {what} bullet ('  \u2022 <name><Type>[Required]') or a description indented "
                        f"under {bullet.group('label')!r}, found {text.strip()!r}",
                    )
                description_lines.append(text.strip())
            j += 1
        name, type_name, required = parts
        items.append((indent, line, name, type_name, required, " ".join(description_lines)))
        i = j
    return items


def _nest(page: _Page, items: Sequence[tuple[int, _Line, str, str, bool, str]]) -> tuple[Field, ...]:
    """Turn indented bullets into a field tree; indentation deeper than the parent's makes a child."""

    def build(index: int, indent: int) -> tuple[list[Field], int]:
        fields: list[Field] = []
        while index < len(items):
            item_indent, line, name, type_name, required, description = items[index]
            if item_indent < indent:
                break
            if item_indent > indent:
                raise page.error(line.number, f"field {name!r} is indented deeper than any parent field")
            children: list[Field] = []
            index += 1
            if index < len(items) and items[index][0] > indent:
                children, index = build(index, items[index][0])
            fields.append(Field(name, type_name, required, description, tuple(children)))
        return fields, index

    if not items:
        return ()
    top, consumed = build(0, items[0][0])
    if consumed != len(items):
        raise page.error(items[consumed][1].number, "field is indented less than the first field of its list")
    return tuple(top)


def parse_doc_page(text: str, source: str = "<page>") -> ApiSpec:
    """Parse the text of one published API page. Raises DocPageError on anything unexpected."""
    page = _Page(source, text)
    if not page.lines:
        raise page.error(None, "the page is empty")

    heading_index = next((i for i, line in enumerate(page.lines) if _HEADING.match(line.text.strip())), None)
    if heading_index is None:
        raise page.error(
            None,
            "expected a heading line like 'GET<group>Since 3.0.0SynchronousAuth Required' "
            "(method, group, since-version, Synchronous|Asynchronous, auth), found none",
        )
    heading = _HEADING.match(page.lines[heading_index].text.strip())
    assert heading is not None  # matched just above
    category_index = heading_index - 1
    while category_index >= 0 and not page.lines[category_index].text.strip():
        category_index -= 1
    category = page.lines[category_index].text.strip() if category_index >= 0 else ""
    title = page.lines[page.next_nonblank(heading_index)].text.strip()

    request_index = page.find("Request Inputs")
    params: list[Param] = []
    responses_index = page.find("Responses", request_index)
    section_starts = [
        (i, PARAM_SECTIONS[page.lines[i].text.strip()])
        for i in range(request_index + 1, responses_index)
        if page.lines[i].text.strip() in PARAM_SECTIONS
    ]
    for n, (start, location) in enumerate(section_starts):
        end = section_starts[n + 1][0] if n + 1 < len(section_starts) else responses_index
        bullets = _parse_bullets(page, start + 1, end, "parameter")
        for indent, line, name, type_name, required, description in bullets:
            if indent != bullets[0][0]:
                raise page.error(line.number, f"parameter {name!r} is nested; parameters are a flat list")
            params.append(Param(name, location, type_name, required, description))

    status_index = page.next_nonblank(responses_index)
    status_match = re.fullmatch(r"(\d{3}) .+", page.lines[status_index].text.strip())
    if status_match is None:
        raise page.error(page.lines[status_index].number, "expected a status line like '200 OK' after 'Responses'")
    description_index = page.next_nonblank(status_index)
    endpoint_index = page.find("Endpoint", description_index)
    field_items = _parse_bullets(page, description_index + 1, endpoint_index, "response field")
    fields = _nest(page, field_items)

    endpoint_line = page.lines[page.next_nonblank(endpoint_index)]
    endpoint = _ENDPOINT.match(endpoint_line.text.strip())
    if endpoint is None:
        raise page.error(endpoint_line.number, "expected '<METHOD>/zstack/v1/...' after 'Endpoint'")
    if endpoint.group("method") != heading.group("method"):
        raise page.error(
            endpoint_line.number,
            f"endpoint method {endpoint.group('method')} differs from the heading's {heading.group('method')}",
        )
    operation_index = page.find("Operation ID", endpoint_index)
    operation_id = page.lines[page.next_nonblank(operation_index)].text.strip()
    if not re.fullmatch(r"[A-Z][A-Za-z0-9]+", operation_id):
        raise page.error(page.lines[page.next_nonblank(operation_index)].number, "expected a CamelCase operation id")

    request_example_index = page.find("Request Example", operation_index)
    response_example_index = page.find("Response Example", request_example_index)
    curl = "\n".join(
        line.text for line in page.lines[request_example_index + 1 : response_example_index] if line.text.strip()
    )
    if not curl.startswith("curl "):
        raise page.error(page.lines[request_example_index].number, "expected a curl command after 'Request Example'")
    example_status_index = page.next_nonblank(response_example_index)
    example_status_line = page.lines[example_status_index]
    if not re.fullmatch(r"\d{3}", example_status_line.text.strip()):
        raise page.error(example_status_line.number, "expected the example's HTTP status (e.g. '200')")
    history_index = page.find("Change History", example_status_index)
    example_text = "\n".join(line.text for line in page.lines[example_status_index + 1 : history_index]).strip()
    try:
        json.loads(example_text)
    except json.JSONDecodeError as exc:
        first = page.lines[example_status_index + 1].number
        raise page.error(first + exc.lineno - 1, f"the response example is not valid JSON: {exc.msg}") from exc
    history = " ".join(line.text.strip() for line in page.lines[history_index + 1 :] if line.text.strip())

    return ApiSpec(
        operation_id=operation_id,
        title=title,
        category=category,
        group=heading.group("group").strip(),
        method=heading.group("method"),
        path=endpoint.group("path"),
        since=heading.group("since"),
        sync=heading.group("mode") == "Synchronous",
        auth_required=heading.group("auth") == "Auth Required",
        parameters=tuple(params),
        response_status=int(status_match.group(1)),
        response_description=page.lines[description_index].text.strip(),
        response_fields=fields,
        example=Example(
            request_curl=curl, response_status=int(example_status_line.text.strip()), response_text=example_text
        ),
        change_history=history,
        source_file=Path(source).name,
        source_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def import_doc_page(path: Path) -> ApiSpec:
    """Read and parse one page; an unreadable file is a DocPageError too."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocPageError(str(path), None, f"cannot read the page: {exc}") from exc
    return parse_doc_page(text, str(path))
