"""DATABASE_URL as hosting platforms hand it out (db/urls.py): mapped to the async driver
and its TLS options, checked against the local PostgreSQL, and refused in one line when a
parameter cannot be used."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.core.settings import SettingsError, load_settings
from db import urls
from db.engine import PoolOptions, create_engine
from tests.support.processes import TOKEN, assert_one_line, base_env, run_cli

POSTGRES = os.environ.get("TEST_DATABASE_URL") or None
needs_postgres = pytest.mark.skipif(POSTGRES is None, reason="TEST_DATABASE_URL is not set")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # Heroku, Fly (postgres://), Render and Railway (postgresql://), Supabase (pooler).
        ("postgres://u:p%40ss@ec2-1-2.compute-1.amazonaws.com:5432/d8", "postgresql+asyncpg://u:p%40ss@ec2-1-2.compute-1.amazonaws.com:5432/d8"),
        ("postgresql://u:p@dpg-abc-a.oregon-postgres.render.com/app", "postgresql+asyncpg://u:p@dpg-abc-a.oregon-postgres.render.com/app"),
        ("postgres://u:p@app-db.flycast:5432/app?sslmode=disable", "postgresql+asyncpg://u:p@app-db.flycast:5432/app?sslmode=disable"),
        ("postgresql://postgres.ref:pw@aws-0.pooler.supabase.com/postgres?sslmode=require", "postgresql+asyncpg://postgres.ref:pw@aws-0.pooler.supabase.com/postgres?sslmode=require"),
        ("postgresql+psycopg2://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("sqlite+aiosqlite:///./data/x.db", "sqlite+aiosqlite:///./data/x.db"),
    ],
)  # fmt: skip
def test_platform_urls_are_mapped_to_the_async_driver(given: str, expected: str) -> None:
    assert urls.normalise(given) == expected
    assert load_settings(_env_file=None, bot_token=TOKEN, database_url=given).database_url == (
        expected
    )


def test_libpq_parameters_become_asyncpg_arguments() -> None:
    address, args = urls.split(
        "postgresql+asyncpg://u:p@h:5432/d?sslmode=require&connect_timeout=7"
        "&application_name=signal%20desk"
    )
    assert address == "postgresql+asyncpg://u:p@h:5432/d"
    assert args == {
        "ssl": "require",
        "timeout": 7.0,
        "server_settings": {"application_name": "signal desk"},
    }
    assert urls.split("sqlite+aiosqlite:///x.db?mode=ro") == (
        "sqlite+aiosqlite:///x.db?mode=ro",
        {},
    )


def test_sslrootcert_checks_the_server_against_that_ca(tmp_path: Path) -> None:
    ca = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
    if not ca.exists():
        pytest.skip("no CA bundle on this machine")
    _, args = urls.split(f"postgresql+asyncpg://h/d?sslmode=verify-full&sslrootcert={ca}")
    context = args["ssl"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    _, args = urls.split(f"postgresql+asyncpg://h/d?sslmode=verify-ca&sslrootcert={ca}")
    assert args["ssl"].check_hostname is False


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql://u@h/d", "must start with"),
        ("postgres://u@h/d?target_session_attrs=any", "'target_session_attrs' is not supported"),
        ("postgres://u@h/d?sslmode=maybe", "sslmode must be one of"),
        ("postgres://u@h/d?connect_timeout=²", "connect_timeout must be whole seconds"),
        ("postgres://u@h/d?connect_timeout=0", "connect_timeout must be whole seconds"),
        ("postgres://u@h/d?sslmode=require&sslrootcert=/x.pem", "goes with sslmode=verify"),
        ("postgres://u@h/d?sslrootcert=/no/such/ca.pem", "cannot be read"),
        ("postgres://u@h/d?sslmode", "cannot be read"),
    ],
)
def test_a_url_that_cannot_be_used_is_one_line_naming_what(url: str, words: str) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(_env_file=None, bot_token=TOKEN, database_url=url)
    message = str(error.value)
    assert message.startswith("DATABASE_URL: ") and words in message
    assert "\n" not in message


def test_the_database_password_is_a_secret_for_the_logs() -> None:
    settings = load_settings(
        _env_file=None, bot_token=TOKEN, database_url="postgres://app:s3cr3t-pw@h/d"
    )
    assert "s3cr3t-pw" in settings.secret_values()


@pytest.mark.parametrize(
    ("name", "value"),
    [("DATABASE_POOL_SIZE", "0"), ("DATABASE_MAX_OVERFLOW", "-1"), ("DATABASE_POOL_TIMEOUT", "x")],
)
def test_pool_settings_are_checked(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name}: "):
        load_settings(_env_file=None, bot_token=TOKEN, **{name.lower(): value})


@needs_postgres
async def test_a_platform_url_connects_to_postgresql_with_its_parameters() -> None:
    assert POSTGRES is not None
    local = make_url(POSTGRES)
    given = (
        f"postgres://{local.username}@{local.host}:{local.port}/{local.database}"
        "?sslmode=disable&connect_timeout=5&application_name=signaldesk-test"
    )
    engine = create_engine(given, pool=PoolOptions(size=1, overflow=0, timeout=5))
    try:
        async with engine.connect() as connection:
            name = await connection.scalar(text("SHOW application_name"))
            in_use = await connection.scalar(
                text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            )
        assert name == "signaldesk-test"
        assert in_use is False  # sslmode=disable was kept
        assert engine.pool.size() == 1  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


@needs_postgres
async def test_migrate_with_an_unsupported_parameter_is_one_line_and_exit_2(
    tmp_path: Path,
) -> None:
    assert POSTGRES is not None
    local = make_url(POSTGRES).set(drivername="postgres", query={"target_session_attrs": "any"})
    url = local.render_as_string(hide_password=False)
    status, stderr = await run_cli(
        ["migrate"], base_env(BOT_TOKEN=TOKEN, DATABASE_URL=url), tmp_path
    )
    assert status == 2
    assert_one_line(stderr, "DATABASE_URL", "target_session_attrs")
