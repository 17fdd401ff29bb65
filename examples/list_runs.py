"""Listing runs: lazily, page by page, and resumed from a page token.

A listing fetches its pages as you iterate (``page_size`` runs each); ``.pages()`` gives whole
pages, and a listing's ``next_page_token`` passed as ``page_token`` goes on after the pages seen
so far, from a later request or another process. Yandex lists the runs of a folder, OpenAI the
runs of a thread (newest first).

    python examples/list_runs.py
"""

from __future__ import annotations

import uuid

from _emulator import API_KEY, emulator

from runbind import openai, yandex
from runbind.emulator import Emulator

RUNS = 5


def list_yandex(emu: Emulator) -> None:
    """Runs of one folder (a fresh one, so that only this example's runs are in it)."""
    folder = f"examples-{uuid.uuid4().hex[:8]}"
    with yandex.Runs(endpoint=emu.grpc_target, api_key=API_KEY, folder_id=folder) as runs:
        for n in range(RUNS):
            ids = emu.seed("yandex", f"question {n}", folder_id=folder)
            runs.wait(runs.create(*ids))
        for number, page in enumerate(runs.list(page_size=2).pages(), 1):
            print(f"yandex page {number}: {[run.status_name for run in page.runs]}")
        print(f"yandex: {sum(1 for _ in runs.list())} runs in folder {folder}")


def list_openai(emu: Emulator) -> None:
    """Runs of one thread, newest first (a thread has one active run at a time)."""
    with openai.Runs(base_url=emu.openai_base_url, api_key=API_KEY) as runs:
        assistant_id, thread_id = emu.seed("openai", "question 0")
        created = [runs.wait(runs.create(assistant_id, thread_id)).run.id for _ in range(RUNS)]
        listing = runs.list(thread_id, page_size=2)
        first = next(listing.pages())  # one page now ...
        token = listing.next_page_token
        print(f"openai first page: {[run.id for run in first.runs]}, then after {token}")
        # ... and the rest later, from the token alone
        rest = [run.id for run in runs.list(thread_id, page_size=2, page_token=token)]
        newest_first = [run.id for run in first.runs] + rest
        assert newest_first == created[::-1], "every run once, newest first"
        print(f"openai: {len(newest_first)} runs on thread {thread_id}, newest first")


def main() -> None:
    with emulator() as emu:
        list_yandex(emu)
        list_openai(emu)


if __name__ == "__main__":
    main()
