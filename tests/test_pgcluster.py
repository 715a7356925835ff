"""The throwaway PostgreSQL server used by the database tests starts, serves and stops."""

from __future__ import annotations

import os
import pathlib

import psycopg
import pytest

try:  # tests/ as a package (rootdir on sys.path) or as a plain directory (tests/ on sys.path)
    from tests.pgcluster import PostgresUnavailable, start_cluster
except ImportError:
    from pgcluster import PostgresUnavailable, start_cluster


def _start_or_skip(base_dir: pathlib.Path):
    try:
        return start_cluster(base_dir)
    except PostgresUnavailable as exc:
        if os.environ.get("SALESBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but unavailable: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")


def _conninfo(url: str) -> str:
    # SQLAlchemy URL -> libpq URL
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def test_cluster_creates_serves_and_drops_a_database(tmp_path: pathlib.Path) -> None:
    cluster = _start_or_skip(tmp_path)
    try:
        assert cluster.url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
        assert cluster.url.endswith("/postgres")

        url = cluster.create_database("salesbot_probe")
        assert url == cluster.url_for("salesbot_probe")
        with psycopg.connect(_conninfo(url)) as conn:
            conn.execute("CREATE TABLE leads (id serial PRIMARY KEY, company text NOT NULL)")
            conn.execute("INSERT INTO leads (company) VALUES (%s), (%s)", ("Acme", "Globex"))
            rows = conn.execute("SELECT company FROM leads ORDER BY id").fetchall()
            encoding = conn.execute("SHOW server_encoding").fetchone()
        assert rows == [("Acme",), ("Globex",)]
        assert encoding == ("UTF8",)

        # An open session must not stop the drop (WITH FORCE).
        lingering = psycopg.connect(_conninfo(url))
        cluster.drop_database("salesbot_probe")
        lingering.close()
        with psycopg.connect(_conninfo(cluster.url)) as conn:
            names = conn.execute("SELECT datname FROM pg_database").fetchall()
        assert ("salesbot_probe",) not in names
    finally:
        cluster.stop()

    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(_conninfo(cluster.url), connect_timeout=2)
    cluster.stop()  # a second stop is harmless


def test_database_names_are_checked(tmp_path: pathlib.Path) -> None:
    cluster = _start_or_skip(tmp_path)
    try:
        with pytest.raises(ValueError):
            cluster.create_database('x"; DROP DATABASE postgres; --')
    finally:
        cluster.stop()
