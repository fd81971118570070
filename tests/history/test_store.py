"""The history store on SQLite and on a real PostgreSQL server: the same tests, both backends."""

from __future__ import annotations

import time
from pathlib import Path

from core.engines.types import GenerationFailed, GenerationStats, Role
from core.history import HistoryStore
from core.tasks.chat import ChatTurn

OWNER, STRANGER = "t:owner-token", "t:someone-else"


def _conversation(store: HistoryStore, sha: str | None = None) -> str:
    item = store.save_item(OWNER, "chat", None, file_sha=sha, file_name="page.png", media_digest="d1", model="m")
    store.add_turn(item, ChatTurn(Role.USER, "What is on the page?"))
    answer = store.add_turn(item, ChatTurn(Role.ASSISTANT, ""), writing=True)
    store.finish_turn(answer, ChatTurn(Role.ASSISTANT, "A cat.", stats=GenerationStats(10, 3, 5, 320)))
    return item


def test_files_are_kept_once_under_their_hash_and_read_back(store: HistoryStore) -> None:
    first = store.put_file(b"picture bytes")
    assert store.put_file(b"picture bytes") == first
    assert store.read_file(first) == b"picture bytes"
    assert store.read_file("0" * 64) is None
    stored = list(store.files.root.rglob("*"))
    assert [path.name for path in stored if path.is_file()] == [first]  # no temporary file left beside it


def test_a_conversation_comes_back_with_its_turns_and_stats(store: HistoryStore) -> None:
    item = _conversation(store)
    found = store.item(OWNER, item)
    assert found is not None and found.summary.kind == "chat" and found.media_digest == "d1"
    question, answer = found.payload
    assert (question.role, question.text) == (Role.USER, "What is on the page?")
    assert (answer.role, answer.text, answer.interrupted) == (Role.ASSISTANT, "A cat.", False)
    assert answer.stats == GenerationStats(10, 3, 5, 320)


def test_an_answer_left_writing_by_a_dead_process_reads_as_interrupted_with_its_text(
    store: HistoryStore, database_url: str, tmp_path: Path
) -> None:
    item = store.save_item(OWNER, "chat", None, media_digest="d1")
    store.add_turn(item, ChatTurn(Role.USER, "Read it"))
    answer = store.add_turn(item, ChatTurn(Role.ASSISTANT, ""), writing=True)
    store.write_answer(answer, "The first two lines")
    assert store.item(OWNER, item).payload[1].interrupted is False  # its writer is alive: still streaming

    restarted = HistoryStore.open(tmp_path / "data", database_url)  # the server after a restart
    try:
        turn = restarted.item(OWNER, item).payload[1]
        assert (turn.text, turn.interrupted) == ("The first two lines", True)
    finally:
        restarted.close()


def test_another_owner_neither_sees_nor_deletes_an_item(store: HistoryStore) -> None:
    item = _conversation(store)
    assert store.item(STRANGER, item) is None
    assert store.items(STRANGER) == []
    assert store.delete_item(STRANGER, item) is False
    assert store.item(OWNER, item) is not None
    # saving under a stranger's name with the owner's id makes a new item instead of taking it over
    taken = store.save_item(STRANGER, "ocr", "text", item_id=item)
    assert taken != item and store.item(OWNER, item).summary.kind == "chat"


def test_items_list_newest_first_and_replace_in_place(store: HistoryStore) -> None:
    first = store.save_item(OWNER, "ocr", "first text", file_name="a.png", model="tesseract")
    time.sleep(0.01)
    second = store.save_item(OWNER, "detection", {"phrases": ["cat"]}, file_name="b.png")
    assert [summary.id for summary in store.items(OWNER)] == [second, first]
    time.sleep(0.01)
    assert store.save_item(OWNER, "ocr", "edited text", item_id=first, file_name="a.png") == first
    assert [summary.id for summary in store.items(OWNER)] == [first, second]
    assert store.item(OWNER, first).payload == "edited text"
    assert [summary.id for summary in store.items(OWNER, "detection")] == [second]


def test_place_keeps_the_file_page_and_each_pages_current_item(store: HistoryStore) -> None:
    assert store.place(OWNER) is None
    store.save_place(OWNER, file_sha="a" * 64, file_name="scan.pdf", page=3, current={"chat": "c1"})
    store.save_place(OWNER, current={"ocr": "o1"})
    store.save_place(OWNER, page=2, current={"chat": None})
    place = store.place(OWNER)
    assert (place.file_sha, place.file_name, place.page, place.current) == ("a" * 64, "scan.pdf", 2, {"ocr": "o1"})


def test_deleting_an_item_removes_its_turns_and_a_file_no_one_uses(store: HistoryStore) -> None:
    sha = store.put_file(b"only this conversation uses me")
    shared = store.put_file(b"the workspace still shows me")
    store.save_place(OWNER, file_sha=shared)
    item, other = _conversation(store, sha), _conversation(store, shared)
    store.save_place(OWNER, current={"chat": item})

    assert store.delete_item(OWNER, item)
    assert store.item(OWNER, item) is None
    assert store.read_file(sha) is None and not store.files.path(sha).exists()
    assert store.place(OWNER).current == {}
    assert store.delete_item(OWNER, other)
    assert store.read_file(shared) == b"the workspace still shows me"  # Home still shows it


def test_errors_in_results_come_back_as_errors(store: HistoryStore) -> None:
    failed = ChatTurn(Role.ASSISTANT, "cut", error=GenerationFailed("boom", error_id="e-42"))
    item = store.save_item(OWNER, "ocr", [failed])
    [turn] = store.item(OWNER, item).payload
    assert isinstance(turn.error, GenerationFailed) and turn.error.params["error_id"] == "e-42"


def test_clean_drops_old_items_then_the_oldest_until_the_files_fit(store: HistoryStore) -> None:
    old = store.save_item(OWNER, "ocr", "old", file_sha=store.put_file(b"x" * 100))
    with store._writing() as session:  # a month ago
        from core.history.schema import Item

        session.get(Item, old).updated -= 31 * 86400
    middle = store.save_item(OWNER, "ocr", "middle", file_sha=store.put_file(b"y" * 300))
    time.sleep(0.01)
    newest = store.save_item(OWNER, "ocr", "newest", file_sha=store.put_file(b"z" * 300))

    cleaned = store.clean(older_than_days=30, max_bytes=None)
    assert (cleaned.items, cleaned.files, cleaned.bytes_freed) == (1, 1, 100)
    assert store.item(OWNER, old) is None and store.item(OWNER, middle) is not None

    cleaned = store.clean(older_than_days=30, max_bytes=400)
    assert (cleaned.items, cleaned.bytes_freed) == (1, 300)
    assert store.item(OWNER, middle) is None and store.item(OWNER, newest) is not None
