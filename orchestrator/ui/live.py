"""The live display: per wave and org, what is done, what failed, the rate, the ETA.

A rich ``Live`` area at the bottom of the terminal, redrawn a few times a
second from a :class:`~orchestrator.ui.counts.RunCounts`. While it is up, ``sys.stderr``
(and ``sys.stdout`` when it is the same terminal) go through rich, so log lines
print whole above the area instead of through it. The area is transient: a
question (``suspend``) and the end of the run (``close``) replace it with a
static summary that stays on the screen.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TextIO

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from orchestrator.engine.events import ItemDone, Observer, RunStarted, WaveFinished, WaveStarted
from orchestrator.logs import printable, redact
from orchestrator.ui.counts import OrgCount, RunCounts, WaveCount, clock_text

WAVE_STYLES = {
    "succeeded": "green",
    "partial": "yellow",
    "halted": "bold red",
    "skipped": "dim",
    "pending": "dim",
    "running": "cyan",
}


class LiveObserver(Observer):
    """Draws the run live on a terminal; leaves a static summary when it ends."""

    def __init__(
        self,
        stream: TextIO,
        *,
        refresh_per_second: float = 4.0,
        max_orgs: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._console = Console(file=stream, highlight=False)
        self._counts = RunCounts(clock)
        self._refresh = refresh_per_second
        self._max_orgs = max_orgs  # rows per wave: big runs show the busiest, sum the rest
        self._live: Live | None = None
        self._closed = False

    def run_started(self, event: RunStarted) -> None:
        self._counts.start(event)
        self._show()

    def phase(self, text: str) -> None:
        self._counts.set_phase(text)
        self._show()

    def wave_started(self, event: WaveStarted) -> None:
        self._counts.wave_started(event.index, event.name)
        self._show()

    def item_done(self, event: ItemDone) -> None:
        self._counts.item_done(event)
        self._show()

    def wave_finished(self, event: WaveFinished) -> None:
        self._counts.wave_finished(event)
        self._show()

    def waiting(self, what: str, seconds: float) -> None:
        self._counts.waiting(what, seconds)
        self._show()

    def note(self, text: str) -> None:
        self._counts.note(text)
        self._show()

    def suspend(self) -> None:
        """Clear the live area and leave the summary so far above the question."""
        if self._live is not None:
            self._hide()
            self._console.print(self._summary())

    def close(self) -> None:
        """Stop for good, leaving the final summary on the screen (once)."""
        if self._closed:
            return
        self._closed = True
        self._hide()
        if self._counts.run_id is not None:
            self._console.print(self._summary())

    def _show(self) -> None:
        if self._live is not None or self._closed:
            return
        live = Live(
            console=self._console,
            get_renderable=self._frame,
            refresh_per_second=self._refresh,
            transient=True,  # suspend and close print a summary of their own
            redirect_stderr=True,
            # stdout carries the report: redirect it only when it shares the terminal
            redirect_stdout=sys.stdout is not None and sys.stdout.isatty(),
        )
        live.start(refresh=True)
        self._live = live

    def _hide(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    def _frame(self) -> RenderableType:
        with self._counts.lock:
            frame = render(self._counts, self._max_orgs, final=False)
        return Frozen(self._console.render_lines(frame, pad=False))

    def _summary(self) -> RenderableType:
        with self._counts.lock:
            return render(self._counts, self._max_orgs, final=True)


class Frozen:
    """A frame laid out once per refresh.

    rich redraws the live area under every line printed above it; with a log
    line per item, laying the table out each time would cost milliseconds per
    item. Re-emitting the segments of the last refresh costs next to nothing.
    """

    def __init__(self, lines: list[list[Segment]]) -> None:
        self._lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self._lines:
            yield from line
            yield Segment.line()


def render(counts: RunCounts, max_orgs: int, *, final: bool) -> RenderableType:
    """The whole area: headline, what runs now, the wave/org table, recent notes and failures."""
    parts: list[RenderableType] = [headline(counts)]
    if not final:
        parts.append(Text(f"> {printable(counts.activity())}", style="cyan"))
    parts.append(wave_table(counts, max_orgs, final=final))
    recent = counts.recent()
    if recent:
        parts.append(Text("recent:", style="bold"))
        parts.extend(  # notes and failures carry server text: escaped, never obeyed
            Text(
                f"  {printable(redact(text))}",
                style="red" if failure else "",
                no_wrap=True,
                overflow="ellipsis",
            )
            for text, failure in recent
        )
    if final and counts.count.failed > len(counts.failures):
        parts.append(Text(f"  ({counts.count.failed} failed in all: the report lists them)"))
    return Group(*parts)


def headline(counts: RunCounts) -> Text:
    """``run ID  12/20 done: 10 ok, 2 failed  0:07``."""
    count = counts.count
    line = Text()
    line.append(f"run {counts.run_id}", style="bold")
    line.append(f"  {count.done}/{count.total} done: {count.ok} ok, ")
    line.append(f"{count.failed} failed", style="bold red" if count.failed else "")
    if count.skipped:
        line.append(f", {count.skipped} skipped")
    if counts.started is not None:
        line.append(f"  {clock_text(counts.clock() - counts.started)}", style="dim")
    return line


def wave_table(counts: RunCounts, max_orgs: int, *, final: bool) -> Table:
    """One row per wave; org rows under the running wave (under every wave at the end)."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, header_style="bold")
    table.add_column("wave / org", overflow="ellipsis", max_width=32)
    table.add_column("done", justify="right")
    table.add_column("failed", justify="right")
    if not final:
        table.add_column("req/min", justify="right")
    table.add_column("status" if final else "eta / status")
    now = counts.clock()
    for wave in counts.ordered_waves():
        running = wave.name == counts.current
        table.add_row(*_wave_cells(wave, now, final=final, running=running))
        if running or (final and wave.status not in ("pending", "skipped")):
            for cells in _org_rows(wave, now, max_orgs, final=final):
                table.add_row(*cells)
    return table


def _wave_cells(wave: WaveCount, now: float, *, final: bool, running: bool) -> list[Text]:
    count = wave.count
    if running:
        eta = count.eta(now)
        status = Text(f"eta {clock_text(eta)}" if eta is not None else "running", style="cyan")
    else:
        status = Text(wave.status, style=WAVE_STYLES.get(wave.status, ""))
    cells = [Text(wave.name, style="bold"), _done(count.done, count.total), _failed(count.failed)]
    if not final:
        cells.append(_rate(wave.rate, wave.limit) if running else Text(""))
    return [*cells, status]


def _org_rows(wave: WaveCount, now: float, max_orgs: int, *, final: bool) -> Iterable[list[Text]]:
    orgs = sorted(wave.orgs.values(), key=_final_rank if final else _live_rank)
    shown, hidden = orgs[:max_orgs], orgs[max_orgs:]
    if len(hidden) == 1:  # a summary row would take the same room as the org itself
        shown, hidden = orgs, []
    for org in shown:
        yield _org_cells(org, now, final=final)
    if hidden:
        yield _hidden_cells(hidden, final=final)


def _live_rank(org: OrgCount) -> tuple[bool, int, int, int, str]:
    """Unfinished before finished, then the busiest, the most failed, the most left."""
    count = org.count
    left = count.total - count.done
    return (left == 0, -org.rate, -count.failed, -left, org.name)


def _final_rank(org: OrgCount) -> tuple[int, int, str]:
    """The most failed first, then the least finished."""
    count = org.count
    return (-count.failed, count.done - count.total, org.name)


def _org_cells(org: OrgCount, now: float, *, final: bool) -> list[Text]:
    count = org.count
    left = count.total - count.done
    if left == 0:
        status = Text("done" + (f", {count.skipped} skipped" if count.skipped else ""))
    else:
        eta = None if final else count.eta(now)
        status = Text(f"eta {clock_text(eta)}" if eta is not None else f"{left} left")
    cells = [Text(f"  {org.name}"), _done(count.done, count.total), _failed(count.failed)]
    if not final:
        cells.append(_rate(org.rate, org.limit))
    return [*cells, status]


def _hidden_cells(orgs: Sequence[OrgCount], *, final: bool) -> list[Text]:
    done = sum(o.count.done for o in orgs)
    total = sum(o.count.total for o in orgs)
    finished = sum(1 for o in orgs if o.count.done == o.count.total)
    label = (
        f"  + {len(orgs)} orgs done"
        if finished == len(orgs)
        else f"  + {len(orgs)} more orgs ({finished} done)"
    )
    cells = [
        Text(label, style="dim"),
        _done(done, total),
        _failed(sum(o.count.failed for o in orgs)),
    ]
    if not final:
        cells.append(_rate(sum(o.rate for o in orgs), sum(o.limit for o in orgs)))
    return [*cells, Text("")]


def _done(done: int, total: int) -> Text:
    return Text(f"{done}/{total}", style="green" if done == total else "")


def _failed(failed: int) -> Text:
    return Text(str(failed), style="bold red") if failed else Text("0", style="dim")


def _rate(rate: int, limit: int) -> Text:
    """``212/300``, yellow near the quota (the pacer is holding requests back)."""
    near = limit > 0 and rate >= 0.9 * limit
    return Text(f"{rate}/{limit}", style="yellow" if near else "")
