"""Fake Telegram Bot API HTTP server for driving a real aiogram Bot in tests."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import islice
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

from aiohttp import web
from multidict import MultiDictProxy

from tests.support.fakes.chats import ChatsLedger
from tests.support.fakes.stars import FakeBadRequest, StarsLedger

__all__ = ["FAULT_KINDS", "BotCall", "FakeBotAPI", "SentMessage"]

FAULT_KINDS: Final[frozenset[str]] = frozenset(
    {"429", "403", "400", "401", "404", "409", "413", "500", "html", "timeout", "migrate"}
)
# Telegram: "1-4096 characters after entities parsing".
MAX_TEXT_LENGTH: Final = 4096

BOT_FIRST_NAME: Final = "SignalDesk Test"
BOT_USERNAME: Final = "signaldesk_test_bot"

# Free-text / opaque-id fields aiogram sends verbatim (not JSON-encoded). They must never be
# json-decoded, otherwise text "123" or callback_query_id "4711" would turn into ints.
_RAW_STR_KEYS: Final[frozenset[str]] = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "url",
        "secret_token",
        "ip_address",
        "language_code",
        "scope_language_code",
        "name",
        "title",
        "description",
        "short_description",
        "query",
        "emoji",
        "custom_title",
        "question",
        "explanation",
        "payload",
        "currency",
        "provider_token",
        "pre_checkout_query_id",
        "telegram_payment_charge_id",
        "error_message",
        "game_short_name",
        "file_id",
        "sticker",
        "photo",
        "document",
        "audio",
        "video",
        "animation",
        "voice",
        "video_note",
        "thumbnail",
    }
)
# aiogram json-dumps every non-str value (ints, bools, dicts, lists), so only values starting
# like a JSON number/object/array/literal are worth a json.loads attempt.
_JSON_START: Final[frozenset[str]] = frozenset("{[-0123456789tfn")

_ERRORS: Final[dict[str, tuple[int, str]]] = {
    "403": (403, "Forbidden: bot was blocked by the user"),
    "400": (400, "Bad Request: chat not found"),
    "401": (401, "Unauthorized"),
    "404": (404, "Not Found"),
    "409": (409, "Conflict: terminated by other getUpdates request"),
    "413": (413, "Request Entity Too Large"),
    "500": (500, "Internal Server Error"),
    "migrate": (400, "Bad Request: group chat was upgraded to a supergroup chat"),
}

_MAX_POLL_SECONDS: Final = 1.0
# send* methods whose result is a bool rather than a Message.
_TRUE_SENDS: Final[frozenset[str]] = frozenset(
    {
        "sendchataction",
        "sendchatjoinrequestwebapp",
        "sendgift",
        "sendmessagedraft",
        "sendrichmessagedraft",
    }
)


@dataclass(frozen=True, slots=True)
class BotCall:
    """One recorded Bot API request (successful or failed)."""

    token: str
    method: str
    params: dict[str, Any]
    at: float
    error: int | None = None
    # Injected fault kind ("429", "timeout", ...) or "throttled"; None for normal calls.
    fault: str | None = None
    # False while a "timeout" call is still sleeping or if the client hung up before the answer.
    delivered: bool = True


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A sendMessage call that the fake accepted and assigned a message_id to."""

    chat_id: int | str
    text: str
    message_id: int
    params: dict[str, Any]


@dataclass(slots=True)
class _Fault:
    """Pending injected failure; mutable so `times` can count down in place."""

    kind: str
    remaining: int
    retry_after: int
    migrate_to_chat_id: int | None


_TEXT_METHODS: Final = frozenset({"sendMessage", "editMessageText"})
_TAG = re.compile(r"<[^>]*>")


def _text_problem(params: dict[str, Any]) -> str | None:
    """Telegram's checks on a message text: not empty, and at most 4096 characters (UTF-16
    code units) after HTML entities are parsed."""
    text = str(params.get("text", ""))
    if params.get("parse_mode") == "HTML":
        text = html.unescape(_TAG.sub("", text))
    length = len(text.encode("utf-16-le")) // 2
    if not text.strip():
        return "Bad Request: message text is empty"
    if length > MAX_TEXT_LENGTH:
        return "Bad Request: message is too long"
    return None


def _webhook_url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme != "https":
        return "An HTTPS URL must be provided for webhook"
    try:
        port = parts.port or 443
    except ValueError:
        return "Failed to resolve host: Name or service not known"
    if port not in (80, 88, 443, 8443):
        return "Webhook can be set up only on ports 80, 88, 443 or 8443"
    host = parts.hostname or ""
    if not host or host == "invalid" or host.endswith(".invalid"):
        return "Failed to resolve host: Name or service not known"
    return None


def _decode(key: str, value: str) -> Any:
    """Undo aiogram's per-field JSON encoding of form values."""
    if not value or key in _RAW_STR_KEYS or value[0] not in _JSON_START:
        return value
    try:
        return json.loads(value)
    except ValueError:
        # e.g. chat_id="@channel" or free text in a field we do not know about
        return value


def _dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _chat_type(chat_id: int | str) -> str:
    if isinstance(chat_id, str):
        return "channel"
    return "private" if chat_id > 0 else "supergroup"


@dataclass
class _UpdateQueue:
    """Pending updates plus a wake-up event for long-polling getUpdates."""

    items: deque[dict[str, Any]] = field(default_factory=deque)
    next_id: int = 1
    event: asyncio.Event = field(default_factory=asyncio.Event)


class FakeBotAPI:
    """In-process Telegram Bot API server on 127.0.0.1 with recording and fault injection."""

    def __init__(
        self,
        global_rate: float | None = None,
        per_chat_rate: float | None = None,
        *,
        timeout_delay: float = 5.0,
        poll_cap: float = _MAX_POLL_SECONDS,
        port: int = 0,
        round_trip: float = 0.0,
        jitter: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.global_rate = global_rate
        self.per_chat_rate = per_chat_rate
        # The clock the limits count on; a test may put it on the app's skipping clock so
        # that the app's waits count here as they would at Telegram.
        self.monotonic: Callable[[], float] = time.monotonic
        # A sendMessage takes `round_trip` (± `jitter`): half on the way in, before the
        # limit counts it, half on the way back, as over a real network to Telegram.
        self.round_trip = round_trip
        self.jitter = jitter
        self._random = random.Random(seed)
        self.timeout_delay = timeout_delay
        self.poll_cap = poll_cap
        self.calls: list[BotCall] = []
        self.throttled = 0
        self.webhook_url = ""
        self._by_method: dict[str, list[dict[str, Any]]] = {}
        self._sent: list[SentMessage] = []
        self._sent_by_chat: dict[int | str, list[SentMessage]] = {}
        self._next_message_id: dict[int | str, int] = {}
        self._faults: dict[tuple[str, int | str | None], deque[_Fault]] = {}
        self._global_window: deque[float] = deque()
        self._chat_windows: dict[int | str, deque[float]] = {}
        self._bot_users: dict[str, dict[str, Any]] = {}
        self._updates = _UpdateQueue()
        self._on_send: list[tuple[int, Callable[[], None]]] = []
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._wanted_port = port  # 0: any free one
        # Sync handlers keyed by lower-case method name (Telegram method names are
        # case-insensitive); getUpdates is async and dispatched separately.
        self._handlers: dict[str, Callable[[str, dict[str, Any]], Any]] = {
            "getme": lambda token, _p: self._bot_user(token),
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
        }
        # The command menus set, by language_code ("" for the default one).
        self.menus: dict[str, list[dict[str, str]]] = {}
        self.stars = StarsLedger()
        self._handlers.update(self.stars.handlers())
        self.chats = ChatsLedger()
        self._handlers.update(self.chats.handlers())

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind an ephemeral port on 127.0.0.1 and start serving."""
        if self._runner is not None:
            return
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # access_log=None: per-request logging would dominate the benchmark's profile.
        # Short shutdown_timeout so close() never waits on a sleeping "timeout" handler.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self._wanted_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._closing.clear()

    async def close(self) -> None:
        """Stop the server, waking any long-poll or delayed handlers first."""
        self._closing.set()
        self._updates.event.set()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """Base URL for ``TelegramAPIServer.from_base``."""
        if self._port is None:
            raise RuntimeError("FakeBotAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    # -- test-facing helpers ---------------------------------------------------------------

    def calls_for(self, method: str) -> list[dict[str, Any]]:
        """Params of every recorded call to ``method`` (including failed ones), in order."""
        return list(self._by_method.get(method, ()))

    def sent_messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """Successfully answered sendMessage calls, optionally for one chat."""
        if chat_id is None:
            return list(self._sent)
        return list(self._sent_by_chat.get(chat_id, ()))

    def clear(self) -> None:
        """Forget recorded calls, sent messages and the throttle counter.

        Message-id counters, queued updates and pending faults are kept so ids stay unique.
        """
        self.calls.clear()
        self._by_method.clear()
        self._sent.clear()
        self._sent_by_chat.clear()
        self.throttled = 0

    def fail_next(
        self,
        method: str,
        kind: str,
        *,
        times: int = 1,
        chat_id: int | None = None,
        retry_after: int = 1,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id`` if given) fail."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if times < 1:
            raise ValueError("times must be >= 1")
        fault = _Fault(kind, times, retry_after, migrate_to_chat_id)
        self._faults.setdefault((method, chat_id), deque()).append(fault)

    def after_sends(self, count: int, callback: Callable[[], None]) -> None:
        """Call `callback` once, right after the `count`-th accepted sendMessage from now
        (a fault suite's trigger: cut the database mid-broadcast)."""
        self._on_send.append((len(self._sent) + count, callback))

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; assigns update_id if missing and returns it."""
        q = self._updates
        update_id = update.get("update_id")
        if update_id is None:
            update = {"update_id": q.next_id, **update}
            update_id = q.next_id
        q.next_id = max(q.next_id, int(update_id) + 1)
        q.items.append(update)
        q.event.set()
        return int(update_id)

    @property
    def pending_updates(self) -> int:
        """Number of updates not yet confirmed via offset."""
        return len(self._updates.items)

    # -- request pipeline ------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        params = await self._read_params(request)
        trip = self._trip() if self.round_trip and method == "sendMessage" else 0.0
        if trip:
            await asyncio.sleep(trip / 2)
        response = await self._answer(request, token, method, params)
        if trip:
            await asyncio.sleep(trip / 2)
        return response

    def _trip(self) -> float:
        return max(0.0, self.round_trip + self._random.uniform(-self.jitter, self.jitter))

    async def _answer(
        self, request: web.Request, token: str, method: str, params: dict[str, Any]
    ) -> web.Response:
        now = self.monotonic()
        fault: _Fault | None = None
        if self._faults:  # fast path: no dict probing when nothing is armed
            fault = self._take_fault(method, params.get("chat_id"))
        if fault is not None and fault.kind != "timeout":
            return self._fail(token, method, params, now, fault)
        if fault is None and method == "sendMessage" and self._is_throttled(params, now):
            self.throttled += 1
            self._record(BotCall(token, method, params, now, 429, "throttled"))
            return self._error_response(429, "Too Many Requests: retry after 1", retry_after=1)

        if method in _TEXT_METHODS:
            problem = _text_problem(params)
            if problem is not None:
                self._record(BotCall(token, method, params, now, 400, "text"))
                return self._error_response(400, problem)
        if fault is None:
            self._record(BotCall(token, method, params, now))
            try:
                result = await self._dispatch(token, method, params)
            except FakeBadRequest as error:
                return self._error_response(400, f"Bad Request: {error}")
            return self._ok(result)
        return await self._answer_late(request, token, method, params, now)

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if request.query:
            # Telegram also accepts GET/query-string parameters.
            params.update((k, _decode(k, v)) for k, v in request.query.items())
        if not request.body_exists:
            return params
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
            return params
        form: MultiDictProxy[Any] = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = _decode(key, value)
            elif isinstance(value, web.FileField):
                # Uploaded InputFile: keep metadata only; tests rarely need the bytes.
                params[key] = {"filename": value.filename, "content_type": value.content_type}
            else:
                params[key] = value
        return params

    def _take_fault(self, method: str, chat_id: Any) -> _Fault | None:
        keys: tuple[tuple[str, Any], ...] = ((method, None),)
        if chat_id is not None:
            # Chat-scoped faults win over method-wide ones.
            keys = ((method, chat_id), (method, None))
        for key in keys:
            pending = self._faults.get(key)
            if not pending:
                continue
            fault = pending[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                pending.popleft()
                if not pending:
                    del self._faults[key]
            return fault
        return None

    def _is_throttled(self, params: dict[str, Any], now: float) -> bool:
        """Sliding 1 s window check; only accepted sends consume quota."""
        if self.global_rate is None and self.per_chat_rate is None:
            return False
        cutoff = now - 1.0
        window = self._global_window
        if self.global_rate is not None:
            while window and window[0] <= cutoff:
                window.popleft()
            if len(window) >= self.global_rate:
                return True
        chat_window: deque[float] | None = None
        if self.per_chat_rate is not None:
            chat_key: int | str = params.get("chat_id", 0)
            chat_window = self._chat_windows.get(chat_key)
            if chat_window is None:
                chat_window = self._chat_windows[chat_key] = deque()
            while chat_window and chat_window[0] <= cutoff:
                chat_window.popleft()
            if len(chat_window) >= self.per_chat_rate:
                return True
            chat_window.append(now)
        if self.global_rate is not None:
            window.append(now)
        return False

    def _fail(
        self, token: str, method: str, params: dict[str, Any], now: float, fault: _Fault
    ) -> web.Response:
        if fault.kind == "429":
            code = 429
            self._record(BotCall(token, method, params, now, code, fault.kind))
            return self._error_response(
                code,
                f"Too Many Requests: retry after {fault.retry_after}",
                retry_after=fault.retry_after,
            )
        if fault.kind == "html":
            # A proxy's error page, as nginx or a load balancer serves it: not JSON, and it
            # echoes the request path, which carries the bot token.
            self._record(BotCall(token, method, params, now, 502, fault.kind))
            page = (
                "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 "
                f"Bad Gateway</h1></center><p>/bot{token}/{method}</p><hr>nginx</body></html>"
            )
            return web.Response(text=page, status=502, content_type="text/html")
        code, description = _ERRORS[fault.kind]
        self._record(BotCall(token, method, params, now, code, fault.kind))
        if fault.kind == "migrate":
            target = fault.migrate_to_chat_id
            if target is None:
                chat_id = params.get("chat_id")
                # Mimic Telegram's supergroup id scheme: -100 prefix on the old group id.
                base = abs(chat_id) if isinstance(chat_id, int) else 1234567890
                target = -1_000_000_000_000 - base
            return self._error_response(code, description, migrate_to_chat_id=target)
        return self._error_response(code, description)

    async def _answer_late(
        self, request: web.Request, token: str, method: str, params: dict[str, Any], now: float
    ) -> web.Response:
        """Handle a "timeout" fault: side effects happen now, the answer comes too late."""
        call = BotCall(token, method, params, now, None, "timeout", delivered=False)
        index = len(self.calls)
        self._record(call)
        # Process before sleeping: models "Telegram did it, the response got lost", which is
        # the case that matters for duplicate-on-retry tests.
        result = await self._dispatch(token, method, params)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), self.timeout_delay)
        transport = request.transport
        delivered = (
            not self._closing.is_set() and transport is not None and not transport.is_closing()
        )
        if delivered and index < len(self.calls) and self.calls[index] is call:
            self.calls[index] = replace(call, delivered=True)
        return self._ok(result)

    def _record(self, call: BotCall) -> None:
        self.calls.append(call)
        per_method = self._by_method.get(call.method)
        if per_method is None:
            per_method = self._by_method[call.method] = []
        per_method.append(call.params)

    async def _dispatch(self, token: str, method: str, params: dict[str, Any]) -> Any:
        name = method.lower()
        handler = self._handlers.get(name)
        if handler is not None:
            return handler(token, params)
        if name == "getupdates":
            return await self._get_updates(params)
        if (name.startswith("send") and name not in _TRUE_SENDS) or name == "forwardmessage":
            # Other send* methods return a Message in aiogram's models; answering True would
            # make aiogram raise ClientDecodeError, so give them a minimal valid Message.
            return self._send_other(token, name, params)
        return True

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.Response(
            text=_dumps({"ok": True, "result": result}), content_type="application/json"
        )

    @staticmethod
    def _error_response(code: int, description: str, **parameters: int) -> web.Response:
        payload: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            payload["parameters"] = parameters
        # Telegram uses the error_code as the HTTP status; aiogram's mapping relies on it.
        return web.Response(text=_dumps(payload), status=code, content_type="application/json")

    # -- method implementations ------------------------------------------------------------

    def _set_my_commands(self, _token: str, params: dict[str, Any]) -> bool:
        """As Telegram checks them: at most 100 commands, names of 1-32 of a-z, 0-9 and _,
        descriptions of 1-256 characters, and a two-letter ISO 639-1 language code."""
        commands = params.get("commands")
        if isinstance(commands, str):
            commands = json.loads(commands)
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise FakeBadRequest("invalid language code specified")
        if not isinstance(commands, list) or len(commands) > 100:
            raise FakeBadRequest("too many commands specified")
        for command in commands:
            name, text = command.get("command", ""), command.get("description", "")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise FakeBadRequest("BOT_COMMAND_INVALID")
            if not 1 <= len(text) <= 256:
                raise FakeBadRequest("BOT_COMMAND_DESCRIPTION_INVALID")
        self.menus[language] = commands
        return True

    def _get_my_commands(self, _token: str, params: dict[str, Any]) -> list[dict[str, str]]:
        return self.menus.get(params.get("language_code") or "", [])

    def _bot_user(self, token: str) -> dict[str, Any]:
        user = self._bot_users.get(token)
        if user is None:
            prefix = token.split(":", 1)[0]
            user = {
                "id": int(prefix) if prefix.isdigit() else 1,
                "is_bot": True,
                "first_name": BOT_FIRST_NAME,
                "username": BOT_USERNAME,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
            self._bot_users[token] = user
        return user

    def _message(
        self, token: str, chat_id: int | str, message_id: int, params: dict[str, Any]
    ) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": _chat_type(chat_id)}
        if isinstance(chat_id, str):
            # Telegram answers with a numeric id; keep the username so tests can still match.
            chat = {"id": -1_000_000_000_001, "type": "channel", "username": chat_id.lstrip("@")}
        elif chat["type"] != "private":
            chat["title"] = "SignalDesk Test Chat"
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": self._bot_user(token),
            "text": params.get("text", ""),
        }
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            # Telegram only echoes inline keyboards on the returned Message.
            message["reply_markup"] = markup
        return message

    def _next_id(self, chat_id: int | str) -> int:
        message_id = self._next_message_id.get(chat_id, 0) + 1
        self._next_message_id[chat_id] = message_id
        return message_id

    def _send_message(self, token: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id: int | str = params.get("chat_id", 0)
        message_id = self._next_id(chat_id)
        sent = SentMessage(chat_id, str(params.get("text", "")), message_id, params)
        self._sent.append(sent)
        per_chat = self._sent_by_chat.get(chat_id)
        if per_chat is None:
            per_chat = self._sent_by_chat[chat_id] = []
        per_chat.append(sent)
        for trigger in [t for t in self._on_send if t[0] == len(self._sent)]:
            self._on_send.remove(trigger)
            trigger[1]()
        return self._message(token, chat_id, message_id, params)

    def _send_other(
        self, token: str, name: str, params: dict[str, Any]
    ) -> dict[str, Any] | list[dict[str, Any]]:
        """Media/other send*: consume a message_id but stay out of ``sent_messages``."""
        chat_id: int | str = params.get("chat_id", 0)
        message = self._message(token, chat_id, self._next_id(chat_id), params)
        del message["text"]
        if "caption" in params:
            message["caption"] = params["caption"]
        if name == "sendmediagroup":
            return [message]
        return message

    def _edit_message_text(self, token: str, params: dict[str, Any]) -> dict[str, Any] | bool:
        if "inline_message_id" in params:
            return True  # Telegram returns True for inline messages
        message = self._message(
            token, params.get("chat_id", 0), int(params.get("message_id", 1)), params
        )
        message["edit_date"] = int(time.time())
        return message

    def _set_webhook(self, _token: str, params: dict[str, Any]) -> bool:
        """Refuses what Telegram refuses, in its words: no https, a port it does not call,
        a host it cannot resolve (here: any name under .invalid, RFC 2606)."""
        url = str(params.get("url", ""))
        if url:
            problem = _webhook_url_problem(url)
            if problem is not None:
                raise FakeBadRequest(f"bad webhook: {problem}")
        self.webhook_url = url
        if params.get("drop_pending_updates"):
            self._updates.items.clear()
        return True

    def _delete_webhook(self, _token: str, params: dict[str, Any]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.items.clear()
        return True

    def _webhook_info(self, _token: str, _params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates.items),
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        q = self._updates
        offset = params.get("offset")
        if isinstance(offset, int):
            if offset < 0:
                # Telegram semantics: negative offset keeps only the last -offset updates.
                while len(q.items) > -offset:
                    q.items.popleft()
            else:
                # Confirmed updates are gone for good, as on the real server.
                while q.items and q.items[0]["update_id"] < offset:
                    q.items.popleft()
        limit = params.get("limit")
        limit = limit if isinstance(limit, int) and 0 < limit <= 100 else 100
        timeout = params.get("timeout")
        wait = min(float(timeout), self.poll_cap) if isinstance(timeout, int | float) else 0.0
        deadline = time.monotonic() + wait
        while not q.items and not self._closing.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # No await between the emptiness check and clear(), so a push can't be lost.
            q.event.clear()
            try:
                await asyncio.wait_for(q.event.wait(), remaining)
            except TimeoutError:
                break
        return list(islice(q.items, limit))
