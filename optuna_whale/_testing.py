"""Storages for the distributed tests and benchmarks (URLs from the environment, never logged).

``OPTUNA_WHALE_POSTGRES_URL`` (default ``postgresql+psycopg2://postgres@127.0.0.1:5432/test``),
``OPTUNA_WHALE_MYSQL_URL`` (default ``mysql+pymysql://root@127.0.0.1:3306/test``) and
``OPTUNA_WHALE_REDIS_URL`` (default ``redis://127.0.0.1:6379``) point at the servers; the
``OPTUNA_WHALE_TEST_*_URL`` spellings (for example ``OPTUNA_WHALE_TEST_POSTGRES_URL``) are
accepted too.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any
from urllib.parse import urlsplit

import optuna
from optuna.storages import BaseStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalRedisBackend, JournalStorage

KINDS = ("postgres", "mysql", "journal-file", "journal-redis")

_DEFAULTS = {
    "postgres": ("OPTUNA_WHALE_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"),
    "mysql": ("OPTUNA_WHALE_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
    "journal-redis": ("OPTUNA_WHALE_REDIS_URL", "redis://127.0.0.1:6379"),
}


def server_url(kind: str) -> str:
    """The server URL for ``kind`` from the environment (or the local default)."""
    env, default = _DEFAULTS[kind]
    # OPTUNA_WHALE_TEST_<SERVER>_URL is accepted as an alias (it wins when both are set)
    return os.environ.get(env.replace("OPTUNA_WHALE_", "OPTUNA_WHALE_TEST_"), os.environ.get(env, default))


def server_reachable(kind: str, timeout: float = 2.0) -> bool:
    """Can a TCP connection be opened to the server of ``kind``? (Journal files need none.)"""
    if kind == "journal-file":
        return True
    url = server_url(kind)
    # host and port after the userinfo's last "@": a password with URL characters cannot confuse it
    rest = url.split("://", 1)[-1]
    default_port = {"postgres": 5432, "mysql": 3306, "journal-redis": 6379}[kind]
    try:
        parts = urlsplit("tcp://" + rest[rest.rfind("@") + 1:])
        address = (parts.hostname or "127.0.0.1", parts.port or default_port)
    except ValueError:
        return False
    try:
        with socket.create_connection(address, timeout):
            return True
    except OSError:
        return False


def make_storage(kind: str, where: str, **rdb_kwargs: Any) -> BaseStorage:
    """A storage of ``kind``; ``where`` is the journal file path or the Redis key prefix."""
    if kind in ("postgres", "mysql"):
        return RDBStorage(server_url(kind), **rdb_kwargs)
    if kind == "journal-file":
        return JournalStorage(JournalFileBackend(where))
    if kind == "journal-redis":
        return JournalStorage(JournalRedisBackend(server_url(kind), prefix=where))
    raise ValueError(f"storage kind must be one of {KINDS}, got {kind!r}.")


def cleanup(kind: str, where: str, study_name: str) -> None:
    """Delete the study (RDB) or the Redis keys / journal file the run made."""
    if kind in ("postgres", "mysql"):
        with contextlib.suppress(KeyError):
            optuna.delete_study(study_name=study_name, storage=make_storage(kind, where))
    elif kind == "journal-redis":
        import redis

        client = redis.Redis.from_url(server_url(kind))
        keys = list(client.scan_iter(match=f"{where}:*"))
        if keys:
            client.delete(*keys)
    elif kind == "journal-file" and os.path.exists(where):
        os.remove(where)
