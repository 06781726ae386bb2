"""The floor: the least a turn on Temporal can cost, on the same dev server.

A workflow written for the benchmark, nothing of the project's: an update
handler that runs two no-op activities (the first may sleep, standing in for
the model) and returns. Its update round trip, from the client's call to the
result, is what a turn is compared with. Its worker runs as a process of its
own, like the project's workers, so its CPU time can be read from ``/proc``:

    python -m bench.floor --address 127.0.0.1:7233 --task-queue bench-floor
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.worker import Worker

__all__ = ["FloorWorkflow", "floor_turns", "start_floors"]

_TIMEOUT = timedelta(seconds=60)


@activity.defn(name="bench_floor_model")
async def model_call(delay_ms: int) -> None:
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)


@activity.defn(name="bench_floor_noop")
async def noop() -> None:
    return None


@workflow.defn(name="BenchFloor")
class FloorWorkflow:
    def __init__(self) -> None:
        self._turns = 0
        self._done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._done and workflow.all_handlers_finished())
        return self._turns

    @workflow.update
    async def turn(self, delay_ms: int) -> int:
        await workflow.execute_activity(model_call, delay_ms, start_to_close_timeout=_TIMEOUT)
        await workflow.execute_activity(noop, start_to_close_timeout=_TIMEOUT)
        self._turns += 1
        return self._turns

    @workflow.signal
    def end(self) -> None:
        self._done = True


async def start_floors(client: Client, task_queue: str, count: int) -> list[WorkflowHandle]:
    """``count`` floor workflows, started and waiting for updates."""

    async def start() -> WorkflowHandle:
        workflow_id = f"bench-floor-{uuid.uuid4().hex[:12]}"
        return await client.start_workflow(FloorWorkflow.run, id=workflow_id, task_queue=task_queue)

    return list(await asyncio.gather(*(start() for _ in range(count))))


async def floor_turns(handle: WorkflowHandle, turns: int, delay_ms: int = 0) -> list[float]:
    """``turns`` updates one after another; each round trip in milliseconds.

    Like the project's client, an update whose wait times out (the server gives
    up a long poll under load) is asked again under the same update id, which
    Temporal answers with the first result.
    """
    took = []
    for _ in range(turns):
        started = time.perf_counter()
        update_id = uuid.uuid4().hex
        for attempt in range(10):
            try:
                await handle.execute_update(FloorWorkflow.turn, delay_ms, id=update_id)
                break
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                if attempt == 9:
                    raise
        took.append((time.perf_counter() - started) * 1000)
    return took


async def _serve(address: str, task_queue: str, max_activities: int) -> None:
    client = await Client.connect(address)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[FloorWorkflow],
        activities=[model_call, noop],
        max_concurrent_activities=max_activities,
    )
    async with worker:
        print(f"floor worker polling {task_queue}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="the benchmark floor's worker")
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--max-activities", type=int, default=50)
    args = parser.parse_args()
    try:
        asyncio.run(_serve(args.address, args.task_queue, args.max_activities))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
