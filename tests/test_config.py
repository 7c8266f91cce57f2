"""Deploy-time settings (CONTRACT.md §2): the secret key kept in the instance folder."""
from __future__ import annotations

import stat
import threading
from concurrent.futures import ThreadPoolExecutor

from config import Config


def instance_config(instance):
    return type("InstanceConfig", (Config,), {"INSTANCE_DIR": instance})()


def test_the_secret_key_is_generated_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)

    first, second = instance_config(tmp_path).SECRET_KEY, instance_config(tmp_path).SECRET_KEY

    assert first == second and len(first) >= 32
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_a_secret_key_from_the_environment_wins_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")

    assert instance_config(tmp_path).SECRET_KEY == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()



def test_processes_starting_together_agree_on_one_complete_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    start = threading.Barrier(8)

    def read_key() -> str:
        start.wait()
        return instance_config(tmp_path).SECRET_KEY

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: read_key(), range(8)))

    assert len(keys) == 1 and len(keys.pop()) == 64
