"""The embedded server's health routes and error shape."""

from __future__ import annotations

from tests.support.harness import Harness, MakeHarness


async def test_healthz_and_readyz(harness: Harness) -> None:
    for path, status in (("/healthz", "ok"), ("/readyz", "ready")):
        async with harness.http.get(harness.base_url + path) as response:
            assert response.status == 200
            assert (await response.json())["status"] == status


async def test_readyz_reports_an_unreachable_database(make_harness: MakeHarness) -> None:
    harness = await make_harness(database_url="postgresql+asyncpg://nobody@127.0.0.1:9/none")
    async with harness.http.get(harness.base_url + "/readyz") as response:
        assert response.status == 503
        assert (await response.json())["error"]["code"] == "unavailable"
    async with harness.http.get(harness.base_url + "/healthz") as response:
        assert response.status == 200


async def test_unknown_route_and_wrong_method_are_json(harness: Harness) -> None:
    async with harness.http.get(harness.base_url + "/nope") as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"
    async with harness.http.get(harness.base_url + "/stripe/webhook") as response:
        assert response.status == 405
        assert (await response.json())["error"]["code"] == "method_not_allowed"
