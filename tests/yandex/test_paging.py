"""Runs.list / AsyncRuns.list over 250 runs: every run once, pages of 7, lazy, resumable."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from grpclib.client import Channel
from runbind_generated.proto.yandex.cloud.ai.assistants.v1 import runs as yruns

from runbind import ApiError, Run, RunPage
from runbind.emulator import Emulator
from runbind.yandex import AsyncRuns
from tests._flavours import TIMEOUT, Connect, Flavour

from .conftest import make_many

FOLDER = "paging"
COUNT = 250
SIZE = 7  # 250 = 35 * 7 + 5


async def _create_runs(emu: Emulator, assistant: str, thread_ids: list[str]) -> None:
    channel = Channel(emu.host, emu.grpc_port)
    try:
        stub = yruns.RunServiceStub(channel)
        await asyncio.gather(
            *(
                stub.create(yruns.CreateRunRequest(assistant_id=assistant, thread_id=t))
                for t in thread_ids
            )
        )
    finally:
        channel.close()


@pytest.fixture(scope="module")
def expected(emulator: Emulator) -> list[str]:
    """Ids of the 250 runs of folder ``paging``, in the server's listing order (newest first)."""
    assistant, thread_ids = make_many(emulator, "echo chunks=0", COUNT, folder=FOLDER)
    make_many(emulator, "echo chunks=0", 3, folder="elsewhere")  # threads, no runs
    asyncio.run(_create_runs(emulator, assistant, thread_ids))
    ids = [r.id for r in emulator.yandex_store.runs.values() if r.assistant_id == assistant]
    assert len(ids) == COUNT
    return ids[::-1]


@pytest.fixture
def rpc_count(monkeypatch: pytest.MonkeyPatch) -> list[yruns.ListRunsRequest]:
    """Every ListRuns request any client sends during the test (counted at the stub)."""
    sent: list[yruns.ListRunsRequest] = []
    original = yruns.RunServiceStub.list

    async def counting(
        self: yruns.RunServiceStub, request: yruns.ListRunsRequest, **options: Any
    ) -> yruns.ListRunsResponse:
        sent.append(request)
        return await original(self, request, **options)

    monkeypatch.setattr(yruns.RunServiceStub, "list", counting)
    return sent


def ids_of(found: Iterator[Run] | list[Run] | tuple[Run, ...]) -> list[str]:
    return [r.id for r in found]


def test_every_run_exactly_once_in_order(runs: Flavour, expected: list[str]) -> None:
    listing = runs.list(folder_id=FOLDER, page_size=SIZE)
    found = ids_of(listing)
    assert found == expected
    assert len(set(found)) == COUNT
    assert listing.next_page_token is None
    assert next(listing, None) is None


def test_pages_of_seven_and_a_short_last_one(
    runs: Flavour, expected: list[str], rpc_count: list[yruns.ListRunsRequest]
) -> None:
    listing = runs.list(folder_id=FOLDER, page_size=SIZE)
    pages = list(listing.pages())
    assert all(isinstance(p, RunPage) for p in pages)
    assert [len(p.runs) for p in pages] == [SIZE] * 35 + [5]
    assert [r.id for p in pages for r in p.runs] == expected
    # as on the service, the last page has a token too: the empty page it gives ends the
    # listing and is not yielded
    assert all(p.next_page_token for p in pages)
    assert listing.next_page_token is None
    assert len(rpc_count) == 37, "one ListRuns call per page, and one for the empty page"
    assert {(r.folder_id, r.page_size) for r in rpc_count} == {(FOLDER, SIZE)}
    assert rpc_count[0].page_token == ""
    assert [r.page_token for r in rpc_count[1:]] == [p.next_page_token for p in pages]


def test_listing_is_lazy(
    runs: Flavour, expected: list[str], rpc_count: list[yruns.ListRunsRequest]
) -> None:
    listing = runs.list(folder_id=FOLDER, page_size=SIZE)
    assert rpc_count == [], "list() itself must not call"
    first = [next(listing) for _ in range(3)]
    assert ids_of(first) == expected[:3]
    assert len(rpc_count) == 1
    token = listing.next_page_token
    assert token is not None
    # the token points after the one page fetched, not further
    assert ids_of(runs.list(folder_id=FOLDER, page_size=SIZE, page_token=token))[0] == expected[7]
    del rpc_count[:]
    assert ids_of(next(listing) for _ in range(4)) == expected[3:7]
    assert rpc_count == [], "the rest of the first page is buffered"
    assert next(listing).id == expected[7]
    assert len(rpc_count) == 1
    assert rpc_count[0].page_token == token


def test_resume_after_five_pages(runs: Flavour, expected: list[str]) -> None:
    listing = runs.list(folder_id=FOLDER, page_size=SIZE)
    pages = listing.pages()
    seen = [r.id for _ in range(5) for r in next(pages).runs]
    assert seen == expected[:35]
    token = listing.next_page_token
    assert token is not None
    rest = ids_of(runs.list(folder_id=FOLDER, page_size=SIZE, page_token=token))
    assert rest == expected[35:]
    assert sorted(seen + rest) == sorted(expected)


def test_pages_after_some_runs_start_with_the_buffered_rest(
    runs: Flavour, expected: list[str]
) -> None:
    listing = runs.list(folder_id=FOLDER, page_size=SIZE)
    taken = [next(listing).id for _ in range(3)]
    pages = listing.pages()
    buffered = next(pages)
    assert ids_of(buffered.runs) == expected[3:7]
    assert ids_of(next(pages).runs) == expected[7:14]
    assert taken == expected[:3]


def test_folder_from_the_constructor_and_the_environment(
    connect: Connect,
    emulator: Emulator,
    expected: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert ids_of(connect(emulator, folder_id=FOLDER).list(page_size=100)) == expected
    monkeypatch.setenv("YC_FOLDER_ID", FOLDER)
    assert ids_of(connect(emulator).list(page_size=100)) == expected
    # an explicit folder wins over the client's
    assert ids_of(connect(emulator, folder_id=FOLDER).list(folder_id="elsewhere")) == []


def test_one_big_page(
    runs: Flavour, expected: list[str], rpc_count: list[yruns.ListRunsRequest]
) -> None:
    listing = runs.list(folder_id=FOLDER, page_size=1000)
    assert ids_of(listing) == expected
    assert len(rpc_count) == 2, "the page, then the empty page its token gives"


def test_empty_folder(runs: Flavour, expected: list[str]) -> None:
    listing = runs.list(folder_id="elsewhere", page_size=SIZE)
    assert list(listing.pages()) == [RunPage((), None)]
    assert listing.next_page_token is None
    assert ids_of(runs.list(folder_id="no-such-folder")) == []


def test_a_bad_page_token_is_an_api_error(runs: Flavour, expected: list[str]) -> None:
    listing = runs.list(folder_id=FOLDER, page_size=SIZE, page_token="not-a-token")
    assert listing.next_page_token == "not-a-token"
    with pytest.raises(ApiError) as caught:
        next(listing)
    assert caught.value.code == "INVALID_ARGUMENT"


def test_native_async_listing(emulator: Emulator, expected: list[str]) -> None:
    async def main() -> tuple[list[str], list[int], list[str]]:
        async with AsyncRuns(endpoint=emulator.grpc_target, folder_id=FOLDER) as client:
            every = [run.id async for run in client.list(page_size=SIZE, timeout=TIMEOUT)]
            listing = client.list(page_size=SIZE, timeout=TIMEOUT)
            sizes = []
            async for page in listing.pages():
                sizes.append(len(page.runs))
                if len(sizes) == 5:
                    break
            assert listing.next_page_token is not None
            resumed = client.list(page_token=listing.next_page_token, page_size=SIZE)
            rest = [run.id async for run in resumed]
            return every, sizes, rest

    every, sizes, rest = asyncio.run(main())
    assert every == expected
    assert sizes == [SIZE] * 5
    assert rest == expected[35:]
