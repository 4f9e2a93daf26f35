"""Result files are whole or absent: a write interrupted half-way leaves neither a result nor a
temp file (and an earlier result untouched); a truncated or corrupt result file is said, not
counted as done, and left out of reports with a warning."""
import json

import pytest

import bench.record.store as store_module
from bench.record.store import SCHEMA_VERSION, ResultStore, load_records, write_json_atomic


def record(cell_id: str, status: str = "ok", **extra) -> dict:
    return {"schema_version": SCHEMA_VERSION, "cell_id": cell_id, "status": status, **extra}


def interrupt_mid_write(monkeypatch) -> None:
    """json.dump writes the first part of the file, then the process 'dies' (an exception)."""
    def half_dump(data, handle, **kwargs):
        text = json.dumps(data, **kwargs)
        handle.write(text[:len(text) // 2])
        handle.flush()
        raise KeyboardInterrupt

    monkeypatch.setattr(store_module.json, "dump", half_dump)


def test_an_interrupted_write_leaves_neither_result_nor_temp_file(tmp_path, monkeypatch):
    interrupt_mid_write(monkeypatch)
    target = tmp_path / "cell.json"
    with pytest.raises(KeyboardInterrupt):
        write_json_atomic(target, record("cell", figures=list(range(1000))))
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_rewrite_keeps_the_earlier_result_whole(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    store.save(record("cell", accuracy=0.5))
    before = store.ok_path("cell").read_bytes()
    interrupt_mid_write(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        store.save(record("cell", accuracy=0.9, figures=list(range(1000))))
    assert store.ok_path("cell").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["cell.json"]


def test_the_file_appears_only_complete(tmp_path, monkeypatch):
    """At the moment the result takes its name, its content is already whole on disk."""
    seen = []
    real_replace = store_module.os.replace

    def checking_replace(src, dst):
        seen.append((json.loads(open(src).read()), (tmp_path / "cell.json").exists()))
        real_replace(src, dst)

    monkeypatch.setattr(store_module.os, "replace", checking_replace)
    write_json_atomic(tmp_path / "cell.json", record("cell", accuracy=0.75))
    assert seen == [(record("cell", accuracy=0.75), False)]


@pytest.mark.parametrize("content, says", [
    ('{"schema_version": 1, "cell_id": "cell", "status": "o', "unreadable result file"),
    ("", "unreadable result file"),
    (b"\xff\xfe{}", "unreadable result file"),
    ('{"schema_version": 1, "cell_id": "cell", "status": "running"}', "not a whole run"),
    ('{"schema_version": 99, "cell_id": "cell", "status": "ok"}', "schema version 99"),
])
def test_a_corrupt_result_is_not_done_and_says_why(tmp_path, content, says):
    store = ResultStore(tmp_path)
    path = store.ok_path("cell")
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert not store.is_done("cell")
    message = store.broken_result("cell")
    assert str(path) in message and says in message and "runs again" in message


def test_a_whole_result_is_done_and_not_broken(tmp_path):
    store = ResultStore(tmp_path)
    store.save(record("cell"))
    assert store.is_done("cell") and store.broken_result("cell") is None
    assert not store.is_done("other") and store.broken_result("other") is None


def test_reports_skip_a_corrupt_file_with_a_warning(tmp_path, capsys):
    store = ResultStore(tmp_path)
    store.save(record("good"))
    store.ok_path("bad").write_text('{"schema_version": 1, "cell_id": "bad", "sta')
    (tmp_path / "figures.json").write_text('{"speedup": 2.0}')  # not a record: no warning
    assert [r["cell_id"] for r in load_records(tmp_path)] == ["good"]
    err = capsys.readouterr().err
    assert f"warning: {store.ok_path('bad')}: unreadable result file" in err
    assert "figures.json" not in err
