"""``optuna-whale compare`` against real storages: no password in any output, the README's URLs
open, report files never written through a planted symbolic link."""

from __future__ import annotations

import re
import secrets
import urllib.parse
from pathlib import Path
from typing import Any

import optuna
import pytest

from optuna_whale import cli
from optuna_whale._testing import server_reachable, server_url
from optuna_whale.bench.runner import open_storage, redact_text, redact_url, release_storage

#: a password made of 3-character tokens between URL-special characters; every token must be
#: absent from every output (a partly masked password leaks its tokens)
PASSWORD = "Sx1#Qz9/Pw4?Km7:Tr5[Nd%Vb2@Lb3]Hy6"
TOKENS = re.findall(r"[A-Za-z0-9]{3}", PASSWORD)
TEXT_FILES = ("report.md", "runs.jsonl", "results.csv", "summary.json")
FAST = ["--task", "bbob:f1:d2", "--trials", "2", "--seeds", "1", "--samplers", "random", "--no-progress"]


def _in_rdb_url(password: str) -> str:
    """``password`` as SQLAlchemy reads it back from a URL: only ``@`` (and ``%``) encoded."""
    return password.replace("%", "%25").replace("@", "%40")


def _leaks(text: str) -> list[str]:
    return [t for t in TOKENS if t in text]


def _assert_nothing_leaks(out: Path, streams: str) -> None:
    assert not _leaks(streams), (_leaks(streams), streams)
    for path in out.iterdir():
        data = path.read_bytes()
        if path.name in TEXT_FILES:
            assert not _leaks(data.decode()), (path.name, _leaks(data.decode()))
        for form in (PASSWORD, urllib.parse.quote(PASSWORD, safe=""), _in_rdb_url(PASSWORD)):
            assert form.encode() not in data, path.name


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg2", "mysql+pymysql", "redis"])
@pytest.mark.parametrize("password", [PASSWORD, "a[b", "x#y/z?w", "p@ss:w@rd", "[::1]", "%zz%40"])
def test_redact_url_masks_every_special_password_and_never_raises(scheme: str, password: str) -> None:
    for written in (password, urllib.parse.quote(password, safe=""), _in_rdb_url(password)):
        url = f"{scheme}://bob:{written}@db.example:5432/optuna?sslmode=require"
        shown = redact_url(url)
        assert written not in shown and ":***@" in shown and shown.startswith(f"{scheme}://bob:***@")
        if password == PASSWORD:
            assert not _leaks(shown), shown
        # a driver's message quoting the password in any spelling
        assert written not in redact_text(f"failed for {url} with password {password}", url)


def test_redact_url_uses_sqlalchemys_rendering_and_leaves_paths_alone() -> None:
    url = f"postgresql+psycopg2://bob:{_in_rdb_url(PASSWORD)}@db.example:5432/optuna"
    from sqlalchemy.engine import make_url

    assert make_url(url).password == PASSWORD  # what the driver receives
    assert redact_url(url) == make_url(url).render_as_string(hide_password=True) == \
        "postgresql+psycopg2://bob:***@db.example:5432/optuna"
    for plain in ("sqlite:////tmp/o:u@t#x/studies.db", "/tmp/a:b@c/journal.log", "postgresql://bob@h/db", "not-a-url"):
        assert redact_url(plain) == plain


def _skip_unless(kind: str) -> None:
    if not server_reachable(kind):
        pytest.skip(f"{kind} server not reachable")


def _unique_seed() -> int:
    return 10**6 + secrets.randbelow(10**6)  # studies of parallel test runs never collide


def _compare(argv: list[str], capfd: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        status = cli.main(["compare", *argv])
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capfd.readouterr()
    return status, out, err


def _delete_studies(storage: optuna.storages.BaseStorage, seed: int) -> None:
    for name in optuna.get_all_study_names(storage):
        if name.endswith(f"|seed{seed}"):
            optuna.delete_study(study_name=name, storage=storage)


def test_compare_on_postgresql_never_writes_the_password(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """README URL spelling ``postgresql://user:password@host/db`` (psycopg 3 or psycopg2), a
    password of URL-special characters; the server trusts local connections, so it accepts it."""
    pytest.importorskip("cocoex")
    _skip_unless("postgres")
    base = urllib.parse.urlsplit(server_url("postgres"))
    url = f"postgresql://{base.username or 'postgres'}:{_in_rdb_url(PASSWORD)}@{base.hostname}:{base.port or 5432}{base.path}"
    seed, out = _unique_seed(), tmp_path / "pg"
    status, stdout, stderr = _compare([*FAST, "--first-seed", str(seed), "--storage", url, "--out", str(out)], capfd)
    storage = open_storage(url)
    try:
        assert status == 0, stderr
        names = [n for n in optuna.get_all_study_names(storage) if n.endswith(f"|seed{seed}")]
        assert names == [f"bbob-f01-d02-i01|random|seed{seed}"]
        study = optuna.load_study(study_name=names[0], storage=storage)
        assert sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials) == 2
        _assert_nothing_leaks(out, stdout + stderr)
        report = (out / "report.md").read_text()
        assert "--storage 'postgresql://postgres:***@" in report  # the Command: line, masked
        assert "studies in postgresql://postgres:***@" in stdout
        assert re.search(r"optuna-dashboard 'postgresql(\+psycopg2)?://postgres:\*\*\*@", stdout)
    finally:
        _delete_studies(storage, seed)
        release_storage(storage)


def test_a_password_its_parser_reads_differently_is_refused_without_echo(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # a raw "@" (and "%40"-less): SQLAlchemy would read "Sx1#Qz9/Pw4?Km7:Tr5[Nd%Vb2" and a host
    # "Lb3]Hy6@127.0.0.1", and its error message quoted that host: a piece of the password
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/test"
    status, stdout, stderr = _compare([*FAST, "--storage", url, "--out", str(tmp_path / "x")], capfd)
    assert status == 2 and stdout == "" and stderr.count("\n") == 1, stderr
    assert "percent-encoded" in stderr and "Traceback" not in stderr
    assert not _leaks(stderr), stderr
    assert not (tmp_path / "x").exists()


def test_compare_on_redis_opens_a_journal_storage_and_masks_the_password(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """``redis://user:password@host:port/db`` (the README lists Redis): a Redis ACL user with a
    password of URL-special characters, percent-encoded in the URL as redis-py reads it."""
    pytest.importorskip("cocoex")
    redis = pytest.importorskip("redis")
    _skip_unless("journal-redis")
    base = urllib.parse.urlsplit(server_url("journal-redis"))
    admin = redis.Redis(host=base.hostname or "127.0.0.1", port=base.port or 6379, db=13)
    user = f"optuna_whale_test_{secrets.token_hex(4)}"
    admin.acl_setuser(user, enabled=True, passwords=[f"+{PASSWORD}"], keys=["*"], channels=["*"], commands=["+@all"])
    before = set(admin.keys("*"))
    url = f"redis://{user}:{urllib.parse.quote(PASSWORD, safe='')}@{base.hostname}:{base.port or 6379}/13"
    seed, out = _unique_seed(), tmp_path / "redis"
    try:
        status, stdout, stderr = _compare([*FAST, "--first-seed", str(seed), "--storage", url, "--out", str(out)], capfd)
        assert status == 0, stderr
        storage = open_storage(url)
        assert isinstance(storage, optuna.storages.JournalStorage)
        name = f"bbob-f01-d02-i01|random|seed{seed}"
        assert len(optuna.load_study(study_name=name, storage=storage).trials) == 2
        _assert_nothing_leaks(out, stdout + stderr)
        assert f"studies in redis://{user}:***@" in stdout
        assert f"--storage 'redis://{user}:***@" in (out / "report.md").read_text()
        # nothing pickled is written (Optuna's snapshots), only the JSON logs
        assert not admin.exists(":snapshot")
    finally:
        created = set(admin.keys("*")) - before
        if created:
            admin.delete(*created)
        admin.acl_deluser(user)


def test_compare_on_a_sqlite_path_with_url_characters(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("cocoex")
    out = tmp_path / "o:u@t#x"
    status, stdout, stderr = _compare([*FAST, "--out", str(out)], capfd)
    assert status == 0, stderr
    db = (out / "studies.db").resolve()
    assert f"open the studies: optuna-dashboard 'sqlite:///{db}'\n" in stdout  # the path, unmasked
    assert optuna.get_all_study_names(f"sqlite:///{db}") == ["bbob-f01-d02-i01|random|seed0"]


@pytest.mark.parametrize("name", ["report.md", "summary.json", "runs.jsonl", "studies.db", "studies.db-wal"])
def test_compare_refuses_a_planted_symlink_before_running(
    name: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside.txt"
    out.mkdir()
    outside.write_text("precious\n")
    (out / name).symlink_to(outside)
    status, stdout, stderr = _compare([*FAST, "--out", str(out)], capfd)
    assert status == 2 and "symbolic link" in stderr and name in stderr, stderr
    assert outside.read_text() == "precious\n"
    assert (out / name).is_symlink() and sorted(p.name for p in out.iterdir()) == [name]  # no run, no file


def test_report_files_replace_a_link_planted_during_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A link that appears after the check (a race) is replaced, never written through."""
    out, outside = tmp_path / "out", tmp_path / "outside.txt"
    out.mkdir()
    outside.write_text("precious\n")

    def write(folder: Path) -> str:
        (out / "report.md").symlink_to(outside)  # planted while the report is being written
        (folder / "report.md").write_text("# report\n")
        return "rows"

    monkeypatch.setattr(cli, "_check_targets", lambda out, names: None)
    assert cli.write_report_safely(out, write) == "rows"
    assert outside.read_text() == "precious\n"
    assert not (out / "report.md").is_symlink() and (out / "report.md").read_text() == "# report\n"
    assert sorted(p.name for p in out.iterdir()) == ["report.md"]  # the private folder is gone


def test_report_writer_refuses_a_planted_link(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside.txt"
    out.mkdir()
    outside.write_text("precious\n")
    (out / "results.csv").symlink_to(outside)

    def write(folder: Path) -> Any:
        for name in ("report.md", "results.csv"):
            (folder / name).write_text("new\n")

    with pytest.raises(cli.OutputError, match="results.csv is a symbolic link"):
        cli.write_report_safely(out, write)
    assert outside.read_text() == "precious\n" and not (out / "report.md").exists()
    assert sorted(p.name for p in out.iterdir()) == ["results.csv"]


def test_postgresql_url_opens_with_either_driver() -> None:
    """``postgresql://`` is what SQLAlchemy >= 2.1 maps to psycopg 3; with only psycopg2
    installed the runner opens it through psycopg2."""
    _skip_unless("postgres")
    import importlib.util

    from optuna_whale.bench.runner import storage_url

    base = urllib.parse.urlsplit(server_url("postgres"))
    url = f"postgresql://{base.username or 'postgres'}@{base.hostname}:{base.port or 5432}{base.path}"
    expected = url if importlib.util.find_spec("psycopg") else url.replace("postgresql://", "postgresql+psycopg2://")
    assert storage_url(url) == expected
    storage = open_storage(url)
    try:
        storage.get_all_studies()
    finally:
        release_storage(storage)
    assert storage_url("postgresql+psycopg2://u@h/d") == "postgresql+psycopg2://u@h/d"
