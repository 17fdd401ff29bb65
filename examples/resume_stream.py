"""Resuming a run's event stream where it was left, from the run id and an event index.

A connection that drops mid-stream the clients resume by themselves (Yandex reopens ``Listen``
after the last event seen, OpenAI goes on by polling). This is for when your process lost the
stream, say it restarted: keep the run id and the index of the last event you handled, and
``listen`` from the next index. Yandex replays the run's own event log, so nothing is lost or
repeated; OpenAI keeps no log, so ``listen`` polls and yields the status changes, the answer
message and ``done``, numbered on from that index.

    python examples/resume_stream.py
"""

from __future__ import annotations

from itertools import islice

from _emulator import API_KEY, emulator

from runbind import RunStreamEvent, openai, yandex
from runbind.emulator import Emulator

QUESTION = "Tell me about the fjords, slowly."


def show(event: RunStreamEvent) -> None:
    text = f" {event.text!r}" if event.text else ""
    print(f"  [{event.event_index}] {event.status_name}{text}")


def resume_yandex(emu: Emulator) -> None:
    print("Yandex: read three events, drop the stream, listen from the next index")
    with yandex.Runs(endpoint=emu.grpc_target, api_key=API_KEY) as runs:
        ids = emu.seed("yandex", QUESTION, behaviour="echo chunks=6")
        with runs.create(*ids, stream=True) as stream:
            seen = list(islice(stream, 3))
            for event in seen:
                show(event)
            run_id, last = stream.current_run.id, seen[-1].event_index
        # ... later, perhaps in another process: the run id and the index are all it takes
        for event in runs.listen(run_id, events_start_idx=last + 1):
            show(event)


def resume_openai(emu: Emulator) -> None:
    print("OpenAI: the same; the events after the index are the run's state, by polling")
    with openai.Runs(base_url=emu.openai_base_url, api_key=API_KEY) as runs:
        assistant_id, thread_id = emu.seed("openai", QUESTION, behaviour="echo chunks=6")
        with runs.create(assistant_id, thread_id, stream=True) as stream:
            seen = list(islice(stream, 3))
            for event in seen:
                show(event)
            run_id, last = stream.current_run.id, seen[-1].event_index
        for event in runs.listen(run_id, thread_id=thread_id, events_start_idx=last + 1):
            show(event)
        print(f"answer: {runs.get_result(run_id, thread_id=thread_id).text}")


def main() -> None:
    with emulator() as emu:
        resume_yandex(emu)
        resume_openai(emu)


if __name__ == "__main__":
    main()
