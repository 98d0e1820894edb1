"""The version modules `rtc_startrecord/<module>.py`, written by tools/regen.py.

Each holds its version's models and TypedDicts, and two client classes typed for it: `RtcClient`
(sync, on `client.BaseRtcClient`) and `AsyncRtcClient` (asyncio, on
`client_async.BaseAsyncRtcClient`). The two classes come from one template (`client_class`), so
a new method or overload reaches both; they differ only in `async def`/`await` and their base.
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

# flavour -> (class name, base class in the default module, what `def` and a call become)
FLAVOURS = {
    "sync": ("RtcClient", "BaseRtcClient", "def", ""),
    "async": ("AsyncRtcClient", "BaseAsyncRtcClient", "async def", "await "),
}


def default_module(versions: Sequence[VersionEntry], default: str) -> str:
    return next(v.module for v in versions if v.version == default)


def client_class(
    v: VersionEntry, default: str, versions: Sequence[VersionEntry], flavour: str
) -> list[str]:
    """One client class of a version module, sync or async."""
    name, root, define, wait = FLAVOURS[flavour]
    others = [o for o in versions if o.version != default]
    is_default = v.version == default
    base = root if is_default else f"_{default_module(versions, default)}.{name}"
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
                f"        ) -> _{o.module}.{name}: ...",
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


def shim(
    v: VersionEntry,
    default: str,
    versions: Sequence[VersionEntry],
    names: list[str],
    dicts: list[str],
    command: str,
) -> str:
    """rtc_startrecord/<module>.py: the version's models and TypedDicts, and its two clients.
    The TypedDicts load on first use (PEP 562): type checkers see ordinary imports."""
    others = [o for o in versions if o.version != default]
    is_default = v.version == default
    lines = [
        f"# Generated by {command} from spec/versions.yaml and spec/{v.module}/.",
        f"# Do not edit: change the spec and run `{command}` again.",
        # Another version's client is the default one with other models on the same methods:
        # by design not a substitutable override.
        *([] if is_default else ['# mypy: disable-error-code="override"']),
        f'"""API version {v.version}: its models, its TypedDicts, and `RtcClient` and',
        "`AsyncRtcClient` typed for it.",
        "",
        f"    from rtc_startrecord.{v.module} import RtcClient, StartRecordRequest",
        f"    from rtc_startrecord.{v.module} import StartRecordRequestDict",
        "",
        "The models are the generated attrs classes of this version; each `<Model>Dict` is the",
        "same schema as a TypedDict of the wire form (PascalCase keys), so a dict literal passed",
        "to the client is type-checked too. The clients are the package's two clients",
        "(rtc_startrecord.client.BaseRtcClient, rtc_startrecord.client_async.BaseAsyncRtcClient)",
        "with this version's types on their methods.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import TYPE_CHECKING, Any, Literal, cast, overload",
        "",
    ]
    lines += [
        f"from rtc_startrecord_models.{v.module} import API_VERSION as API_VERSION",
        f"from rtc_startrecord_models.{v.module} import (",
        *(f"    {n}," for n in names),
        ")",
        "",
    ]
    if is_default:
        lines += [
            "from .client import BaseRtcClient",
            "from .client_async import BaseAsyncRtcClient",
            "from .client_core import ClientOptions, WaitOptions",
            "from .credentials import Credentials",
            "",
            "if TYPE_CHECKING:",
            "    from typing import Self, Unpack",
            "",
            *(f"    from . import {o.module} as _{o.module}" for o in others),
        ]
    else:
        parent = default_module(versions, default)
        lines += [
            f"from . import {parent} as _{parent}",
            "from .client_core import WaitOptions",
            "",
            "if TYPE_CHECKING:",
            "    from typing import Unpack",
        ]
    lines += [
        f"    from rtc_startrecord_models.{v.module}.dicts import (",
        *(f"        {n}," for n in dicts),
        "    )",
        "",
        "",
        *client_class(v, default, versions, "sync"),
        "",
        "",
        *client_class(v, default, versions, "async"),
        "",
        "",
    ]
    lines += [
        "if not TYPE_CHECKING:  # hidden from type checkers, which see the imports above",
        "",
        "    def __getattr__(name: str) -> Any:",
        '        """Load the TypedDicts on first use (they cost import time and few need them at',
        '        run time)."""',
        "        if name not in __all__:",
        '            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")',
        f"        from rtc_startrecord_models.{v.module} import dicts",
        "",
        "        globals().update({n: getattr(dicts, n) for n in __all__ if n not in globals()})",
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
