"""Listing 250 runs of one thread: newest first, each once, lazy, resumable, in both flavours."""

from __future__ import annotations

import asyncio

import pytest

from runbind import RunStatus
from runbind.emulator import Emulator
from runbind.openai import AsyncRuns
from tests._flavours import TIMEOUT, Flavour

from .conftest import make

COUNT = 250
PAGE = 7


async def _create_all(emu: Emulator, assistant: str, thread: str) -> list[str]:
    """``COUNT`` runs made one after the other (each streamed to its end), oldest first."""
    ids: list[str] = []
    async with AsyncRuns(base_url=emu.openai_base_url) as runs:
        for _ in range(COUNT):
            stream = await runs.create(assistant, thread, stream=True, timeout=TIMEOUT)
            async for _event in stream:
                pass
            assert stream.run is not None
            assert stream.run.status is RunStatus.COMPLETED
            ids.append(stream.run.id)
    return ids


@pytest.fixture(scope="module")
def many(emulator: Emulator) -> tuple[str, list[str]]:
    """A thread with ``COUNT`` finished runs, and their ids newest first."""
    assistant, thread = make(emulator, "echo chunks=0")
    ids = asyncio.run(_create_all(emulator, assistant, thread))
    assert len(set(ids)) == COUNT
    return thread, ids[::-1]


def test_all_runs_newest_first_each_once(runs: Flavour, many: tuple[str, list[str]]) -> None:
    thread, newest_first = many
    listing = runs.list(thread, page_size=PAGE)
    seen = [run.id for run in listing]
    assert seen == newest_first
    assert listing.next_page_token is None
    assert list(listing) == []  # exhausted stays exhausted


def test_listing_is_lazy(runs: Flavour, many: tuple[str, list[str]]) -> None:
    thread, newest_first = many
    listing = runs.list(thread, page_size=PAGE)
    assert listing.next_page_token is None  # nothing fetched yet
    taken = [next(listing).id for _ in range(3)]
    assert taken == newest_first[:3]
    # one page fetched: the token points after its last run, not after a second page
    assert listing.next_page_token == newest_first[PAGE - 1]
    for _ in range(PAGE - 3):
        next(listing)
    assert listing.next_page_token == newest_first[PAGE - 1]
    next(listing)
    assert listing.next_page_token == newest_first[2 * PAGE - 1]


def test_pages_resume_from_next_page_token(runs: Flavour, many: tuple[str, list[str]]) -> None:
    thread, newest_first = many
    listing = runs.list(thread, page_size=PAGE)
    pages = listing.pages()
    first = [next(pages) for _ in range(5)]
    assert [run.id for page in first for run in page.runs] == newest_first[: 5 * PAGE]
    token = listing.next_page_token
    assert token == first[-1].next_page_token == newest_first[5 * PAGE - 1]

    rest = list(runs.list(thread, page_size=PAGE, page_token=token).pages())
    assert [run.id for page in rest for run in page.runs] == newest_first[5 * PAGE :]
    sizes = [len(page.runs) for page in rest]
    assert sizes == [PAGE] * (len(sizes) - 1) + [(COUNT - 5 * PAGE) % PAGE or PAGE]
    assert [page.next_page_token is None for page in rest] == [False] * (len(rest) - 1) + [True]


def test_pages_after_some_runs_start_with_the_buffered_rest(
    runs: Flavour, many: tuple[str, list[str]]
) -> None:
    thread, newest_first = many
    listing = runs.list(thread, page_size=PAGE)
    taken = [next(listing).id for _ in range(3)]
    pages = list(listing.pages())
    assert len(pages[0].runs) == PAGE - 3
    assert taken + [run.id for page in pages for run in page.runs] == newest_first


@pytest.mark.parametrize("size", [1, 50, 100])
def test_page_sizes_at_the_edges(runs: Flavour, many: tuple[str, list[str]], size: int) -> None:
    thread, newest_first = many
    if size == 1:
        listing = runs.list(thread, page_size=1)
        assert [next(listing).id for _ in range(4)] == newest_first[:4]
        assert listing.next_page_token == newest_first[3]
        return
    pages = list(runs.list(thread, page_size=size).pages())
    assert len(pages) == -(-COUNT // size)  # no empty page after an exact fit
    assert [run.id for page in pages for run in page.runs] == newest_first
