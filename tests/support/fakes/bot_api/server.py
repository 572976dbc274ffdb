"""The fake Bot API's server: FakeBotAPI on 127.0.0.1 records every call and answers it, in
turn, with an injected fault (faults.py), a 429 from its rate limits, Telegram's refusal of
a bad text, or the method's result (messages.py, updates.py, and the Stars and chats
ledgers in ../stars.py and ../chats.py)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Any, Final

from aiohttp import web
from multidict import MultiDictProxy

from tests.support.fakes.bot_api.faults import GROUP_PER_MINUTE, FaultInjection, _Fault
from tests.support.fakes.bot_api.messages import (
    _TEXT_METHODS,
    Messages,
    SentMessage,
    _text_problem,
)
from tests.support.fakes.bot_api.paid import PAID_RATE, REFUSAL, PaidLane, is_paid
from tests.support.fakes.bot_api.updates import _MAX_POLL_SECONDS, Updates, _UpdateQueue
from tests.support.fakes.bot_api.wire import BotCall, _decode, _dumps
from tests.support.fakes.chats import ChatsLedger
from tests.support.fakes.stars import FakeBadRequest, StarsLedger

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


class FakeBotAPI(FaultInjection, PaidLane, Messages, Updates):
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
        paid_rate: float | None = PAID_RATE,
    ) -> None:
        self.global_rate = global_rate
        self.per_chat_rate = per_chat_rate
        # The paid lane (paid.py): its own limit, and each bot's Stars (unset: unlimited).
        self.paid_rate = paid_rate
        self.paid_sent = 0
        self._paid_window: deque[float] = deque()
        self._star_tenths: dict[str, int] = {}
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
        self.group_per_minute: int | None = GROUP_PER_MINUTE
        self._group_windows: dict[int | str, deque[float]] = {}
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
            "getmystarbalance": self._get_my_star_balance,
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

    def after_sends(self, count: int, callback: Callable[[], None]) -> None:
        """Call `callback` once, right after the `count`-th accepted sendMessage from now
        (a fault suite's trigger: cut the database mid-broadcast)."""
        self._on_send.append((len(self._sent) + count, callback))

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
        if fault is None and method == "sendMessage":
            # A group's minute (its own retry_after), else the per-second limits (1 s).
            wait = self._group_wait(params, now) or int(self._is_throttled(params, now))
            if wait:
                self.throttled += 1
                self._record(BotCall(token, method, params, now, 429, "throttled"))
                return self._error_response(
                    429, f"Too Many Requests: retry after {wait}", retry_after=wait
                )

        refusal = self._refusal(token, method, params, now)
        if refusal is not None:
            return refusal
        if fault is None:
            self._record(BotCall(token, method, params, now))
            try:
                result = await self._dispatch(token, method, params)
            except FakeBadRequest as error:
                return self._error_response(400, f"Bad Request: {error}")
            return self._ok(result)
        return await self._answer_late(request, token, method, params, now)

    def _refusal(
        self, token: str, method: str, params: dict[str, Any], now: float
    ) -> web.Response | None:
        """Telegram's 400 for a text it will not take, or a paid send the bot cannot pay."""
        if method in _TEXT_METHODS:
            problem = _text_problem(params)
            if problem is not None:
                self._record(BotCall(token, method, params, now, 400, "text"))
                return self._error_response(400, problem)
        if method == "sendMessage" and is_paid(params) and self._paid_refused(token):
            self._record(BotCall(token, method, params, now, 400, "balance"))
            return self._error_response(400, REFUSAL)
        return None

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
                # Uploaded InputFile: its name, type and bytes (a /mydata test reads them).
                params[key] = {
                    "filename": value.filename,
                    "content_type": value.content_type,
                    "content": value.file.read(),
                }
            else:
                params[key] = value
        return params

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
