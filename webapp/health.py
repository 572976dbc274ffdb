"""GET /healthz (the process is up) and GET /readyz (it can do its work: webapp/readiness.py
says what ready means)."""

from __future__ import annotations

from aiohttp import web

from webapp.errors import json_error
from webapp.keys import BILLING, PREMIUM, READINESS, SIGNAL_CHAT

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    problem = await request.app[READINESS].problem()
    if problem is not None:
        return json_error(503, problem)
    body: dict[str, object] = {"status": "ready"}
    # A premium chat the bot cannot guard is the provider's to fix; the rest of the bot
    # works, so the instance stays in the load balancer, and says so here.
    premium = request.app[PREMIUM].problems
    if premium:
        body["premium_chats"] = {str(chat): problem for chat, problem in premium.items()}
    # So is a signal channel the bot cannot post in (SIGNAL_CHAT_ID).
    channel = request.app[SIGNAL_CHAT].problems
    if channel:
        body["signal_chat"] = {str(chat): problem for chat, problem in channel.items()}
    # Likewise a price (or the key) Stripe refuses: the other plans are still offered.
    stripe = request.app[BILLING].plan_problems
    if stripe:
        body["stripe"] = dict(stripe)
    return web.json_response(body)
