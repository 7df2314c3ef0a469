"""Read a ZStack API reference page in its published text form into an :class:`ApiSpec`.

The page is the text a browser shows for one API on ZStack's developer manual: a heading line that runs the
method, group, since-version, sync mode and auth flag together, bullet lists of parameters and response fields
(name and type also run together, e.g. ``registryPortint``), the endpoint, the operation id, a curl request
example and a JSON response example. Anything the importer does not recognise is an error naming the file and
line, never a silent guess.

The page is read by landmarks in order ("Request Inputs", "Responses", "Endpoint", "Operation ID", "Request
Example", "Response Example", "Change History"); everything before "Request Inputs" is portal navigation. Inside
a region each unindented line is a section heading and is read by its role (REQUEST_SECTIONS, NO_PARAMETERS,
RESPONSE_BLOCKS), so a heading the portal invents tomorrow is reported as such, not as a malformed bullet.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from zstack_contract.specs.spec import ApiSpec, Example, Field, Param

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

# Section headings under "Request Inputs", by the role they play. The portal has called body sections both ways.
REQUEST_SECTIONS = {
    "Query Parameters": "query",
    "Path Parameters": "path",
    "Body Parameters": "body",
    "Body Fields": "body",
}
NO_PARAMETERS = "This API requires no request parameters."
# Blocks under "Responses" after the status and description lines: the field list has no heading of its own.
RESPONSE_BLOCKS = ("Success Response", "Error Response")

_HEADING = re.compile(
    r"^(?P<method>" + "|".join(HTTP_METHODS) + r")(?P<group>.*?)Since (?P<since>\d+(?:\.\d+)*)"
    r"(?P<mode>Synchronous|Asynchronous)(?P<auth>Auth Required|No Auth Required|No Auth)$"
)
_BULLET = re.compile(r"^(?P<indent> *)\u2022 (?P<label>\S.*)$")
_ENDPOINT = re.compile(r"^(?P<method>" + "|".join(HTTP_METHODS) + r")(?P<path>/[^\s?]*)(?:\?(?P<query>\S*))?$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_QUERY_PAIR = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_.]*)=\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}")


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


@dataclass(frozen=True)
class _Bullet:
    indent: int
    line: _Line
    name: str
    type: str
    required: bool
    description: str


@dataclass(frozen=True)
class _Node:
    """A bullet with the bullets indented under it."""

    bullet: _Bullet
    children: tuple[_Node, ...]


@dataclass(frozen=True)
class _Section:
    """Lines ``start``..``end`` (exclusive) under ``heading``; the part before a region's first heading has none."""

    heading: _Line | None
    start: int
    end: int


@dataclass(frozen=True)
class _Heading:
    index: int
    method: str
    group: str
    since: str
    sync: bool
    auth_required: bool
    category: str
    title: str


@dataclass(frozen=True)
class _Responses:
    status: int | None
    description: str
    fields: tuple[Field, ...]
    blocks: dict[str, str]  # "Success Response"/"Error Response" -> verbatim JSON text


@dataclass(frozen=True)
class _Endpoint:
    line: _Line
    path: str
    query_names: tuple[str, ...]  # the {name} placeholders of the endpoint's query string, in order


def _parse_bullets(page: _Page, start: int, end: int, what: str) -> list[_Bullet]:
    """Bullets between two line indexes, each with its indented description."""
    items: list[_Bullet] = []
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
        indent = len(bullet.group("indent"))
        description, i = _description(page, i + 1, end, indent, bullet.group("label"), what)
        items.append(_Bullet(indent, line, *parts, description))
    return items


def _description(page: _Page, start: int, end: int, indent: int, label: str, what: str) -> tuple[str, int]:
    """The description lines under a bullet, up to the next bullet; returns the text and the next line index."""
    lines: list[str] = []
    j = start
    while j < end and not _BULLET.match(page.lines[j].text):
        text = page.lines[j].text
        if text.strip():
            if len(text) - len(text.lstrip(" ")) <= indent:
                # A description is indented under its bullet; a line level with it is a malformed bullet.
                raise page.error(
                    page.lines[j].number,
                    f"expected a {what} bullet ('  \u2022 <name><Type>[Required]') or a description indented "
                    f"under {label!r}, found {text.strip()!r}",
                )
            lines.append(text.strip())
        j += 1
    return " ".join(lines), j


def _tree(page: _Page, items: Sequence[_Bullet]) -> tuple[_Node, ...]:
    """Turn indented bullets into a tree; indentation deeper than the parent's makes a child."""

    def build(index: int, indent: int) -> tuple[list[_Node], int]:
        nodes: list[_Node] = []
        while index < len(items):
            item = items[index]
            if item.indent < indent:
                break
            if item.indent > indent:
                raise page.error(item.line.number, f"field {item.name!r} is indented deeper than any parent field")
            children: list[_Node] = []
            index += 1
            if index < len(items) and items[index].indent > indent:
                children, index = build(index, items[index].indent)
            nodes.append(_Node(item, tuple(children)))
        return nodes, index

    if not items:
        return ()
    top, consumed = build(0, items[0].indent)
    if consumed != len(items):
        raise page.error(items[consumed].line.number, "field is indented less than the first field of its list")
    return tuple(top)


def _field(node: _Node) -> Field:
    b = node.bullet
    return Field(b.name, b.type, b.required, b.description, tuple(_field(c) for c in node.children))


def _param(node: _Node, location: str, documented_in: str | None = None) -> Param:
    b = node.bullet
    children = tuple(_param(c, "body") for c in node.children)
    return Param(b.name, location, b.type, b.required, b.description, children, documented_in)


def _sections(
    page: _Page, start: int, end: int, known: Sequence[str], region: str, *, raw_blocks: bool = False
) -> list[_Section]:
    """Split a region at its unindented lines, each of which must be one of the ``known`` headings.

    Bullets and their descriptions are indented on these pages, so an unindented line is a heading; one the
    importer does not know is an error naming it, never content folded into the section above it. With
    ``raw_blocks`` a headed section holds verbatim text (JSON, whose braces are unindented) up to the next heading.
    """
    sections: list[_Section] = []
    heading: _Line | None = None
    content_start = start
    for i in range(start, end):
        line = page.lines[i]
        if not line.text.strip() or line.text.startswith(" "):
            continue
        if line.text.strip() not in known:
            if raw_blocks and heading is not None:
                continue
            raise page.error(
                line.number,
                f"expected a section heading under {region!r} (one of {', '.join(map(repr, known))}), "
                f"found unknown heading {line.text.strip()!r}",
            )
        sections.append(_Section(heading, content_start, i))
        heading, content_start = line, i + 1
    sections.append(_Section(heading, content_start, end))
    return sections


def _first_nonblank(page: _Page, start: int, end: int) -> int | None:
    return next((i for i in range(start, end) if page.lines[i].text.strip()), None)


def _expect_empty(page: _Page, section: _Section, expected: str) -> None:
    index = _first_nonblank(page, section.start, section.end)
    if index is not None:
        raise page.error(page.lines[index].number, f"expected {expected}, found {page.lines[index].text.strip()!r}")


def _read_heading(page: _Page) -> _Heading:
    """The heading line (method, group, since, sync label, auth label), the category above it, the title below."""
    index = next((i for i, line in enumerate(page.lines) if _HEADING.match(line.text.strip())), None)
    if index is None:
        raise page.error(
            None,
            "expected a heading line like 'GET<group>Since 3.0.0SynchronousAuth Required' "
            "(method, group, since-version, Synchronous|Asynchronous, auth), found none",
        )
    match = _HEADING.match(page.lines[index].text.strip())
    assert match is not None  # matched just above
    category_index = index - 1
    while category_index >= 0 and not page.lines[category_index].text.strip():
        category_index -= 1
    # The title is either the operation id or a plain-English name ("Get Database Backup"); both are kept as shown.
    return _Heading(
        index=index,
        method=match.group("method"),
        group=match.group("group").strip(),
        since=match.group("since"),
        sync=match.group("mode") == "Synchronous",
        auth_required=match.group("auth") == "Auth Required",
        category=page.lines[category_index].text.strip() if category_index >= 0 else "",
        title=page.lines[page.next_nonblank(index)].text.strip(),
    )


def _read_request_inputs(page: _Page, start: int, end: int) -> list[tuple[str, _Node]]:
    """The parameters under "Request Inputs" as (section location, bullet tree), in page order."""
    known = (*REQUEST_SECTIONS, NO_PARAMETERS)
    lead, *headed = _sections(page, start, end, known, "Request Inputs")
    _expect_empty(page, lead, f"a section heading under 'Request Inputs' (one of {', '.join(map(repr, known))})")
    if not headed:
        raise page.error(
            page.lines[start - 1].number, f"expected a parameter section or {NO_PARAMETERS!r}, found nothing"
        )
    seen: dict[str, int] = {}
    listed: list[tuple[str, _Node]] = []
    for section in headed:
        assert section.heading is not None  # only the lead section has none
        title = section.heading.text.strip()
        if title in seen:
            raise page.error(
                section.heading.number,
                f"expected each section once, found {title!r} again (first at line {seen[title]})",
            )
        seen[title] = section.heading.number
        if title == NO_PARAMETERS:
            if len(headed) > 1:
                others = ", ".join(repr(s.heading.text.strip()) for s in headed if s is not section and s.heading)
                raise page.error(
                    section.heading.number, f"expected no parameter section with {NO_PARAMETERS!r}, found {others}"
                )
            _expect_empty(page, section, f"nothing after {NO_PARAMETERS!r}")
            continue
        listed.extend(_read_parameter_section(page, section, title))
    return listed


def _read_parameter_section(page: _Page, section: _Section, title: str) -> list[tuple[str, _Node]]:
    location = REQUEST_SECTIONS[title]
    nodes = _tree(page, _parse_bullets(page, section.start, section.end, "parameter"))
    assert section.heading is not None
    if not nodes:
        raise page.error(section.heading.number, f"expected parameter bullets under {title!r}, found none")
    for node in nodes:
        if location != "body" and node.children:
            child = node.children[0].bullet
            raise page.error(
                child.line.number,
                f"expected a flat list under {title!r} (only body fields nest), "
                f"found {child.name!r} nested under {node.bullet.name!r}",
            )
    return [(location, node) for node in nodes]


def _read_responses(page: _Page, start: int, end: int) -> _Responses:
    """Optional status line ('200 OK'), a description line, the field bullets, then Success/Error Response."""
    index = _first_nonblank(page, start, end)
    if index is None:
        raise page.error(page.lines[start - 1].number, "expected a status line like '200 OK' or a description")
    status: int | None = None
    status_match = re.fullmatch(r"(\d{3}) .+", page.lines[index].text.strip())
    if status_match is not None:
        status = int(status_match.group(1))
        index = page.next_nonblank(index)
    description = page.lines[index]
    if _BULLET.match(description.text) or description.text.strip() in RESPONSE_BLOCKS or index >= end:
        raise page.error(description.number, "expected a line describing the response after 'Responses'")
    lead, *blocks = _sections(page, index + 1, end, RESPONSE_BLOCKS, "Responses", raw_blocks=True)
    fields = tuple(_field(node) for node in _tree(page, _parse_bullets(page, lead.start, lead.end, "response field")))
    texts: dict[str, str] = {}
    for block in blocks:
        assert block.heading is not None  # only the lead section has none
        name = block.heading.text.strip()
        if name in texts:
            raise page.error(block.heading.number, f"expected each block once, found {name!r} again")
        texts[name] = _json_block(page, block.start, block.end, f"under {name!r}")
    return _Responses(status, description.text.strip(), fields, texts)


def _json_block(page: _Page, start: int, end: int, where: str) -> str:
    """Lines ``start``..``end`` as JSON text, kept verbatim; invalid JSON is an error at its own line."""
    first = _first_nonblank(page, start, end)
    if first is None:
        raise page.error(page.lines[start - 1].number, f"expected a JSON body {where}, found none")
    text = "\n".join(line.text for line in page.lines[first:end]).strip()
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise page.error(page.lines[first].number + exc.lineno - 1, f"expected valid JSON {where}: {exc.msg}") from exc
    return text


def _read_endpoints(page: _Page, start: int, end: int, method: str) -> list[_Endpoint]:
    """Each '<METHOD>/path[?query]' line; the portal repeats each path alone on the next line (skipped)."""
    endpoints: list[_Endpoint] = []
    for i in range(start, end):
        line = page.lines[i]
        text = line.text.strip()
        if not text:
            continue
        match = _ENDPOINT.match(text)
        if match is None:
            if endpoints and text == endpoints[-1].line.text.strip()[len(method) :]:
                continue
            raise page.error(line.number, f"expected '<METHOD>/zstack/v1/...' after 'Endpoint', found {text!r}")
        if match.group("method") != method:
            raise page.error(
                line.number, f"endpoint method {match.group('method')} differs from the heading's {method}"
            )
        query = _query_names(page, line, match.group("query"))
        if endpoints and query:
            raise page.error(line.number, f"expected a query string on the first endpoint only, found {text!r}")
        endpoints.append(_Endpoint(line, match.group("path"), query))
    if not endpoints:
        raise page.error(page.lines[start - 1].number, "expected '<METHOD>/zstack/v1/...' after 'Endpoint'")
    return endpoints


def _query_names(page: _Page, line: _Line, query: str | None) -> tuple[str, ...]:
    """``a={a}&b={b}`` -> ("a", "b"); a pair in any other shape is an error."""
    if query is None:
        return ()
    names: list[str] = []
    for pair in query.split("&"):
        match = _QUERY_PAIR.fullmatch(pair)
        if match is None or match.group("key") != match.group("name"):
            raise page.error(line.number, f"expected query pairs like 'name={{name}}' in the endpoint, found {pair!r}")
        names.append(match.group("name"))
    return tuple(names)


def _place_parameters(page: _Page, listed: Sequence[tuple[str, _Node]], endpoint: _Endpoint) -> tuple[Param, ...]:
    """Put each listed parameter where the endpoint puts it: a ``{name}`` in the path is a path parameter, one in
    the endpoint's query string a query parameter (optional unless the page marks it Required), whatever section
    the page lists it under; that section is kept as ``documented_in`` for a doc finding."""
    path_names = _PLACEHOLDER.findall(endpoint.path)
    first_line: dict[str, int] = {}
    params: list[Param] = []
    for section_location, node in listed:
        b = node.bullet
        if b.name in first_line:
            raise page.error(
                b.line.number,
                f"expected each parameter once, found {b.name!r} again (first at line {first_line[b.name]})",
            )
        first_line[b.name] = b.line.number
        location = section_location
        if section_location != "body":
            if b.name in path_names:
                location = "path"
            elif b.name in endpoint.query_names:
                location = "query"
            elif section_location == "path":
                raise page.error(
                    b.line.number,
                    f"expected {{{b.name}}} in the endpoint {endpoint.line.text.strip()!r} for path parameter "
                    f"{b.name!r}, found none",
                )
        params.append(_param(node, location, section_location if location != section_location else None))
    placed = {p.name: p.location for p in params}
    for name, location in [*((n, "path") for n in path_names), *((n, "query") for n in endpoint.query_names)]:
        if placed.get(name) != location:
            raise page.error(
                endpoint.line.number,
                f"expected a Path or Query Parameters entry for {{{name}}} of the endpoint, found none",
            )
    return tuple(params)


def _read_operation_id(page: _Page, heading_index: int) -> _Line:
    line = page.lines[page.next_nonblank(heading_index)]
    if not re.fullmatch(r"[A-Z][A-Za-z0-9]+", line.text.strip()):
        raise page.error(line.number, f"expected a CamelCase operation id, found {line.text.strip()!r}")
    return line


def _read_examples(page: _Page, start: int) -> tuple[Example, int]:
    """The curl request and the status + JSON response example; returns them and the 'Change History' index."""
    request_index = page.find("Request Example", start)
    response_index = page.find("Response Example", request_index)
    curl = "\n".join(line.text for line in page.lines[request_index + 1 : response_index] if line.text.strip())
    if not curl.startswith("curl "):
        raise page.error(page.lines[request_index].number, "expected a curl command after 'Request Example'")
    status_index = page.next_nonblank(response_index)
    status_line = page.lines[status_index]
    if not re.fullmatch(r"\d{3}", status_line.text.strip()):
        raise page.error(status_line.number, "expected the example's HTTP status (e.g. '200')")
    history_index = page.find("Change History", status_index)
    text = _json_block(page, status_index + 1, history_index, "as the response example")
    return Example(request_curl=curl, response_status=int(status_line.text.strip()), response_text=text), history_index


def _parse(text: str, source: str) -> tuple[ApiSpec, _Line]:
    """The page as an ApiSpec, and the line of its operation id (for errors that span pages)."""
    page = _Page(source, text)
    if not page.lines:
        raise page.error(None, "the page is empty")
    heading = _read_heading(page)
    # The landmarks in page order; everything before "Request Inputs" (tabs, "Try It Out") is navigation.
    request_index = page.find("Request Inputs", heading.index + 1)
    responses_index = page.find("Responses", request_index)
    endpoint_index = page.find("Endpoint", responses_index)
    operation_index = page.find("Operation ID", endpoint_index)

    listed = _read_request_inputs(page, request_index + 1, responses_index)
    responses = _read_responses(page, responses_index + 1, endpoint_index)
    endpoint, *alternates = _read_endpoints(page, endpoint_index + 1, operation_index, heading.method)
    operation_line = _read_operation_id(page, operation_index)
    example, history_index = _read_examples(page, operation_index)
    history = " ".join(line.text.strip() for line in page.lines[history_index + 1 :] if line.text.strip())
    spec = ApiSpec(
        operation_id=operation_line.text.strip(),
        title=heading.title,
        category=heading.category,
        group=heading.group,
        method=heading.method,
        path=endpoint.path,
        since=heading.since,
        sync=heading.sync,
        auth_required=heading.auth_required,
        parameters=_place_parameters(page, listed, endpoint),
        # A page without a status line ("DELETE endpoints return an empty object") states it in its example.
        response_status=responses.status if responses.status is not None else example.response_status,
        response_description=responses.description,
        response_fields=responses.fields,
        example=example,
        change_history=history,
        source_file=Path(source).name,
        source_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        alternate_paths=tuple(e.path for e in alternates),
        success_response_text=responses.blocks.get("Success Response"),
        error_response_text=responses.blocks.get("Error Response"),
    )
    return spec, operation_line


def parse_doc_page(text: str, source: str = "<page>") -> ApiSpec:
    """Parse the text of one published API page. Raises DocPageError on anything unexpected."""
    return _parse(text, source)[0]


def _read_page(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocPageError(str(path), None, f"cannot read the page: {exc}") from exc


def import_doc_page(path: Path) -> ApiSpec:
    """Read and parse one page; an unreadable file is a DocPageError too."""
    return parse_doc_page(_read_page(path), str(path))


def import_doc_pages(paths: Iterable[Path]) -> list[ApiSpec]:
    """Read pages as one catalogue, in the order given. Two pages with one operation id are an error naming both:
    the second would otherwise overwrite the first's spec without a word."""
    specs: list[ApiSpec] = []
    first: dict[str, tuple[Path, int]] = {}
    for path in paths:
        spec, line = _parse(_read_page(path), str(path))
        if spec.operation_id in first:
            other, other_line = first[spec.operation_id]
            raise DocPageError(
                str(path),
                line.number,
                f"expected an operation id no other page has, found {spec.operation_id!r}, "
                f"already defined at {other}:{other_line}",
            )
        first[spec.operation_id] = (path, line.number)
        specs.append(spec)
    return specs
