"""The version modules `rtc_startrecord/<module>.py` and `<module>_async.py`, written by
tools/regen.py.

`<module>.py` holds its version's models and TypedDicts and `RtcClient` (sync, on
`client.BaseRtcClient`); `<module>_async.py` holds `AsyncRtcClient` (asyncio, on
`client_async.BaseAsyncRtcClient`), so what a sync call needs never loads asyncio. The sync
module still gives `AsyncRtcClient` (loaded on first use, imported for type checkers). The two
classes come from one template (`client_class`), so a new method or overload reaches both; they
differ only in `async def`/`await`, their base and their module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class VersionEntry(Protocol):
    """What this module reads of a spec/versions.yaml entry (tools/regen.py's Version)."""

    @property
    def version(self) -> str: ...

    @property
    def module(self) -> str: ...


# The client's typed methods: method -> (action, request model, response model).
TYPED = {
    "start_record": ("StartRecord", "StartRecordRequest", "StartRecordResponse"),
    "stop_record": ("StopRecord", "StopRecordRequest", "StopRecordResponse"),
    "update_record": ("UpdateRecord", "UpdateRecordRequest", "UpdateRecordResponse"),
    "get_record_task": ("GetRecordTask", "GetRecordTaskRequest", "GetRecordTaskResponse"),
}

# flavour -> (class name, base class in the default module, what `def` and a call become,
# the suffix of the module that holds the class: rtc_startrecord/<module><suffix>.py)
FLAVOURS = {
    "sync": ("RtcClient", "BaseRtcClient", "def", "", ""),
    "async": ("AsyncRtcClient", "BaseAsyncRtcClient", "async def", "await ", "_async"),
}


def default_module(versions: Sequence[VersionEntry], default: str) -> str:
    return next(v.module for v in versions if v.version == default)


def client_class(
    v: VersionEntry, default: str, versions: Sequence[VersionEntry], flavour: str
) -> list[str]:
    """One client class of a version module, sync or async."""
    name, root, define, wait, suffix = FLAVOURS[flavour]
    others = [o for o in versions if o.version != default]
    is_default = v.version == default
    base = root if is_default else f"_{default_module(versions, default)}{suffix}.{name}"
    kind = "an asyncio client" if flavour == "async" else "a client"
    lines = [f"class {name}({base}):"]
    if is_default:
        lines += [
            f'    """{kind.capitalize()} of API version {v.version}, the default;',
            f"    `{name}(version=...)` gives the client of another version (a subclass of this",
            '    one), typed for that version."""',
        ]
    else:
        lines += [
            f'    """{kind.capitalize()} of API version {v.version};',
            f'    `rtc_startrecord.{name}(version=...)` with this version builds the same."""',
        ]
    lines += ["", f'    API_VERSION = "{v.version}"', "", "    if TYPE_CHECKING:", ""]
    if is_default:
        for o in others:
            lines += [
                "        @overload",
                "        def __new__(",
                "            cls,",
                "            credentials: Credentials | None = None,",
                "            *,",
                f'            version: Literal["{o.version}"],',
                "            **options: Unpack[ClientOptions],",
                f"        ) -> _{o.module}{suffix}.{name}: ...",
                "",
            ]
        lines += [
            "        @overload",
            "        def __new__(",
            "            cls,",
            "            credentials: Credentials | None = None,",
            "            *,",
            f'            version: Literal["{v.version}"] | None = None,',
            "            **options: Unpack[ClientOptions],",
            "        ) -> Self: ...",
            "",
            "        @overload",
            "        def __new__(",
            "            cls,",
            "            credentials: Credentials | None = None,",
            "            *,",
            "            version: str,",
            "            **options: Unpack[ClientOptions],",
            f"        ) -> {name}: ...",
            "",
            "        def __new__(cls, *args: Any, **kwargs: Any) -> Any: ...",
            "",
        ]
    # call(): the action's response for a literal action name; for any other string, one of
    # the four (the body then goes unchecked: the run-time validation still applies).
    for action, req, resp in TYPED.values():
        lines += [
            "        @overload",
            f"        {define} call(",
            f'            self, action: Literal["{action}"], request: {req} | {req}Dict',
            f"        ) -> {resp}: ...",
            "",
        ]
    responses = " | ".join(resp for _, _, resp in TYPED.values())
    lines += [
        "        @overload",
        f"        {define} call(self, action: str, request: object) -> {responses}: ...",
        "",
        f"        {define} call(self, action: str, request: object) -> Any:",
        '            """Run any action of this API version; returns its typed response model."""',
        "",
    ]
    for method, (action, req, resp) in TYPED.items():
        lines += [
            f"    {define} {method}(self, request: {req} | {req}Dict) -> {resp}:",
            f'        """{action} ({v.version}); returns {resp} or raises a typed RtcError.',
            "",
            f'        The body is a {req} or a dict literal ({req}Dict)."""',
            f'        return {wait}self.call("{action}", request)',
            "",
        ]
    lines += [
        f"    {define} wait_for_task(",
        "        self,",
        "        app_id: str,",
        "        room_id: str,",
        "        task_id: str,",
        "        *,",
        "        status: int,",
        "        **options: Unpack[WaitOptions],",
        "    ) -> RecordTask:",
        f'        """Poll GetRecordTask until the task reaches `status` (see {root})."""',
        f"        task = {wait}super().wait_for_task(",
        "            app_id, room_id, task_id, status=status, **options",
        "        )",
        "        return cast(RecordTask, task)",
    ]
    return lines


def _head(v: VersionEntry, default: str, command: str, doc: list[str]) -> list[str]:
    """The generated-file header, the module docstring and the imports every module needs."""
    return [
        f"# Generated by {command} from spec/versions.yaml and spec/{v.module}/.",
        f"# Do not edit: change the spec and run `{command}` again.",
        # Another version's client is the default one with other models on the same methods:
        # by design not a substitutable override.
        *([] if v.version == default else ['# mypy: disable-error-code="override"']),
        *doc,
        "",
        "from __future__ import annotations",
        "",
        "from typing import TYPE_CHECKING, Any, Literal, cast, overload",
        "",
    ]


def _client_imports(
    v: VersionEntry, default: str, versions: Sequence[VersionEntry], flavour: str
) -> list[str]:
    """The package imports of a module holding one client class, up to its `if TYPE_CHECKING:`
    block (left open for the caller)."""
    _, root, _, _, suffix = FLAVOURS[flavour]
    base_module = {"sync": "client", "async": "client_async"}[flavour]
    if v.version == default:
        return [
            f"from .{base_module} import {root}",
            "from .client_core import ClientOptions",
            "from .credentials import Credentials",
            "from .waiting import WaitOptions",
            "",
            "if TYPE_CHECKING:",
            "    from typing import Self, Unpack",
            "",
            *(
                f"    from . import {o.module}{suffix} as _{o.module}{suffix}"
                for o in versions
                if o.version != default
            ),
        ]
    parent = default_module(versions, default) + suffix
    return [
        f"from . import {parent} as _{parent}",
        "from .waiting import WaitOptions",
        "",
        "if TYPE_CHECKING:",
        "    from typing import Unpack",
    ]


def shim(
    v: VersionEntry,
    default: str,
    versions: Sequence[VersionEntry],
    names: list[str],
    dicts: list[str],
    command: str,
) -> str:
    """rtc_startrecord/<module>.py: the version's models and TypedDicts, and its sync client.
    The TypedDicts and `AsyncRtcClient` (from <module>_async.py) load on first use (PEP 562):
    type checkers see ordinary imports."""
    doc = [
        f'"""API version {v.version}: its models, its TypedDicts, and `RtcClient` typed for it.',
        "",
        f"    from rtc_startrecord.{v.module} import RtcClient, StartRecordRequest",
        f"    from rtc_startrecord.{v.module} import StartRecordRequestDict",
        "",
        "The models are the generated attrs classes of this version; each `<Model>Dict` is the",
        "same schema as a TypedDict of the wire form (PascalCase keys), so a dict literal passed",
        "to the client is type-checked too. The client is the package's sync client",
        "(rtc_startrecord.client.BaseRtcClient) with this version's types on its methods. Its",
        f"asyncio twin `AsyncRtcClient` lives in rtc_startrecord.{v.module}_async (so that a",
        "sync program never loads asyncio); this module gives it too, loaded on first use.",
        '"""',
    ]
    lines = _head(v, default, command, doc)
    lines += [
        f"from rtc_startrecord_models.{v.module} import API_VERSION as API_VERSION",
        f"from rtc_startrecord_models.{v.module} import (",
        *(f"    {n}," for n in names),
        ")",
        "",
        *_client_imports(v, default, versions, "sync"),
        f"    from .{v.module}_async import AsyncRtcClient as AsyncRtcClient",
        f"    from rtc_startrecord_models.{v.module}.dicts import (",
        *(f"        {n}," for n in dicts),
        "    )",
        "",
        "",
        *client_class(v, default, versions, "sync"),
        "",
        "",
    ]
    lines += [
        "if not TYPE_CHECKING:  # hidden from type checkers, which see the imports above",
        "",
        "    def __getattr__(name: str) -> Any:",
        '        """Load on first use what few need at run time: `AsyncRtcClient` (its module',
        '        loads asyncio) and the TypedDicts (they cost import time)."""',
        '        if name == "AsyncRtcClient":',
        f"            from .{v.module}_async import AsyncRtcClient",
        "",
        "            globals()[name] = AsyncRtcClient",
        "            return AsyncRtcClient",
        "        if name not in __all__:",
        '            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")',
        f"        from rtc_startrecord_models.{v.module} import dicts",
        "",
        '        missing = [n for n in __all__ if n.endswith("Dict") and n not in globals()]',
        "        globals().update({n: getattr(dicts, n) for n in missing})",
        "        return globals()[name]",
        "",
        "    def __dir__() -> list[str]:",
        "        return sorted({*globals(), *__all__})",
        "",
        "",
        "__all__ = [",
        *(
            f'    "{n}",'
            for n in sorted([*names, *dicts, "API_VERSION", "AsyncRtcClient", "RtcClient"])
        ),
        "]",
    ]
    return "\n".join(lines) + "\n"


def async_shim(
    v: VersionEntry,
    default: str,
    versions: Sequence[VersionEntry],
    command: str,
) -> str:
    """rtc_startrecord/<module>_async.py: the version's asyncio client, alone (it loads
    client_async, and so asyncio). Its annotations' models are imported; their TypedDicts
    for type checkers only."""
    doc = [
        f'"""API version {v.version}: `AsyncRtcClient`, the asyncio client typed for it.',
        "",
        f"    from rtc_startrecord.{v.module}_async import AsyncRtcClient",
        "",
        "The package's asyncio client (rtc_startrecord.client_async.BaseAsyncRtcClient) with",
        "this version's types on its methods. The models and TypedDicts are those of",
        f"rtc_startrecord.{v.module}, which gives this class too (loaded on first use).",
        '"""',
    ]
    models = sorted({"RecordTask", *(n for _, req, resp in TYPED.values() for n in (req, resp))})
    lines = _head(v, default, command, doc)
    lines += [
        f"from rtc_startrecord_models.{v.module} import (",
        *(f"    {n}," for n in models),
        ")",
        "",
        *_client_imports(v, default, versions, "async"),
        f"    from rtc_startrecord_models.{v.module}.dicts import (",
        *(f"        {req}Dict," for _, req, _ in TYPED.values()),
        "    )",
        "",
        "",
        *client_class(v, default, versions, "async"),
        "",
        "",
        '__all__ = ["AsyncRtcClient"]',
    ]
    return "\n".join(lines) + "\n"


def shims(
    v: VersionEntry,
    default: str,
    versions: Sequence[VersionEntry],
    names: list[str],
    dicts: list[str],
    command: str,
) -> dict[str, str]:
    """Both modules of a version, by path relative to the repository."""
    return {
        f"rtc_startrecord/{v.module}.py": shim(v, default, versions, names, dicts, command),
        f"rtc_startrecord/{v.module}_async.py": async_shim(v, default, versions, command),
    }
