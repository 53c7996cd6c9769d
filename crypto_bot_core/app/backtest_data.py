"""The data section of ``cryptobot backtest``: which files, at which timeframe, with which gaps.

Real exchange files miss bars and do not always say their timeframe. Before
anything runs, every OHLCV series is scanned (timestamps only, see
:mod:`crypto_bot_core.builtins.replay.gaps`): its timeframe is the most
common spacing of its rows unless one is given, a given one that the file
contradicts is refused with the one to pass, and its gaps are reported and
refused, skipped or carried forward as the user chose.

A config passed with ``--config`` keeps its data settings: a replay source
there gives its gap setting and its per-file settings (tick and lot sizes,
minimum notional, format...) to the files ``--data`` names, and lists the
files when ``--data`` is left out. What cannot be merged is refused, saying
why and what to do, never silently replaced: a data source of another kind
(a synthetic market, a live feed), several replay sources, a file of the
config that ``--data`` leaves out, an explicit option contradicting the
file's entry, or files on several venues (a backtest trades one paper venue).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crypto_bot_core.builtins.replay.config import GAP_MODES, timeframe_ms
from crypto_bot_core.builtins.replay.gaps import SeriesScan, scan_series
from crypto_bot_sdk import DataSourceError

DEFAULT_SYMBOL = "BTC/USDT"
DEFAULT_VENUE = "backtest"
REPLAY_PLUGIN = "replay"

USAGE_EXIT = 2
"""Options or config that cannot be used as given (the one to pass is named)."""
DATA_EXIT = 7
"""The data is refused: before the run (gaps under ``--gaps refuse``, a file with no rows) or
at a row while it is replayed (3 to 6 are the run's refusals: see docs/engine.md)."""


class DataRefusedError(DataSourceError):
    """A row of the data refused while it was replayed (a value out of range, a row out of
    order...): the message names the file and the row; the command ends with ``DATA_EXIT``."""

    exit_code = DATA_EXIT


def data_refusal(exc: BaseException) -> DataRefusedError | None:
    """``exc`` as a refusal of the data when a data source's refusal caused it (the plugin
    fence wraps it, naming the plugin), else None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DataSourceError):
            refused = DataRefusedError(str(exc))
            refused.__cause__ = exc
            return refused
        seen = seen.__cause__
    return None


class BacktestDataError(Exception):
    """A refusal of the backtest's data section, with the exit status it ends the command with."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Options:
    """What the command line said; None: not given (a config entry or a default applies)."""

    data: tuple[Path, ...]
    symbol: str | None = None
    venue: str | None = None
    timeframe: str | None = None
    gaps: str | None = None
    config: Path | None = None


@dataclass
class Prepared:
    """The data section to run: the replay source, its venue and what to tell the user."""

    data_source: dict[str, Any]
    venue: str
    notes: list[str] = field(default_factory=list)


def _replay_of(
    document: Mapping[str, Any], config: Path | None, data: tuple[Path, ...], notes: list[str]
) -> dict[str, Any] | None:
    """The config's one replay source, None without data sources; refuses what cannot merge.

    A config whose only data is another kind of source (the synthetic market of
    ``cryptobot config default``, a live feed) is the usual start of a backtest of
    one's own agents: with ``--data`` those sources are set aside and the user is
    told so; without it there is nothing to replay, and a mix of both is ambiguous.
    """
    sources = list(document.get("data_sources") or [])
    if config is None or not sources:
        return None
    others = [s for s in sources if s.get("plugin") != REPLAY_PLUGIN]
    if others and data and len(others) == len(sources):
        names = ", ".join(f"{s.get('name')!r} ({s.get('plugin')})" for s in others)
        notes.append(
            f"{config}: data_sources {names} not used: the backtest replays the --data files "
            "(the config's agents, policies, sizing and risk rules apply)"
        )
        return None
    if others:
        other = others[0]
        raise BacktestDataError(
            f"{config}: data_sources lists {other.get('name')!r} ({other.get('plugin')}); "
            "backtest replays recorded files, so it takes data settings only from a replay "
            f"source. Remove {other.get('name')!r} from data_sources, or run the config as it "
            f"is with `cryptobot run -c {config}`",
            USAGE_EXIT,
        )
    if len(sources) > 1:
        raise BacktestDataError(
            f"{config}: data_sources lists {len(sources)} replay sources; backtest merges its "
            "--data files into one. List every file in one replay source",
            USAGE_EXIT,
        )
    return dict(sources[0])


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _entries(options: Options, replay: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """One file entry per file to replay: the config's entry merged with the options."""
    configured: list[dict[str, Any]] = []
    if replay is not None:
        files = (replay.get("config") or {}).get("files") or []
        if not isinstance(files, list) or not all(
            isinstance(f, dict) and f.get("path") for f in files
        ):
            raise BacktestDataError(
                f"{options.config}: the replay source's files must be a list of entries "
                "with a path each ({path: FILE, symbol: ..., venue: ...})",
                USAGE_EXIT,
            )
        configured = [dict(f) for f in files]
    if not options.data:
        if not configured:
            raise BacktestDataError(
                "no data: pass --data FILE (a CSV or Parquet file of OHLCV bars), or a --config "
                "whose replay source lists files",
                USAGE_EXIT,
            )
        paths = [Path(str(f.get("path"))) for f in configured]
    else:
        paths = list(options.data)
        for entry in configured:
            path = Path(str(entry.get("path")))
            if not any(_same_file(path, p) for p in paths):
                raise BacktestDataError(
                    f"{options.config}: the replay source also lists {path}, which --data does "
                    f"not name; add --data {path}, or leave --data out to replay the config's "
                    "files",
                    USAGE_EXIT,
                )
    entries: list[dict[str, Any]] = []
    for path in paths:
        entry = next((dict(f) for f in configured if _same_file(Path(str(f["path"])), path)), {})
        for key, given, default in (
            ("symbol", options.symbol, DEFAULT_SYMBOL),
            ("venue", options.venue, DEFAULT_VENUE),
            ("timeframe", options.timeframe, None),
        ):
            known = entry.get(key)
            if given is not None and known is not None and given != known:
                raise BacktestDataError(
                    f"{options.config}: the replay source's entry for {path} says {key}: "
                    f"{known}, and --{key} says {given}; correct one of them",
                    USAGE_EXIT,
                )
            value = given if given is not None else known if known is not None else default
            if value is not None:
                entry[key] = value
        entry["path"] = str(path)
        entries.append(entry)
    venues = sorted({str(e["venue"]) for e in entries})
    if len(venues) > 1:
        raise BacktestDataError(
            f"the files are on {len(venues)} venues ({', '.join(venues)}); a backtest trades one "
            "paper venue: replay one venue's files, or run a config with a paper exchange per "
            "venue (`cryptobot run -c`)",
            USAGE_EXIT,
        )
    return entries


def _format(entry: Mapping[str, Any]) -> str:
    given = entry.get("format")
    if given:
        return str(given)
    return "parquet" if Path(str(entry["path"])).suffix.lower() in (".parquet", ".pq") else "csv"


def _scan(entries: list[dict[str, Any]], options: Options, mode: str) -> list[str]:
    """Fill in each OHLCV series' timeframe from its files, and check its gaps against ``mode``;
    returns the lines reporting the gaps accepted."""
    series: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for entry in entries:
        if entry.get("kind", "ohlcv") == "ohlcv":
            series.setdefault((str(entry["symbol"]), str(entry["venue"])), []).append(entry)
    notes: list[str] = []
    for files in series.values():
        given = next((str(f["timeframe"]) for f in files if f.get("timeframe")), None)
        try:
            interval = timeframe_ms(given) if given is not None else None
        except ValueError as exc:
            raise BacktestDataError(f"--timeframe: {exc}", USAGE_EXIT) from exc
        scan = scan_series([(Path(str(f["path"])), _format(f)) for f in files], interval)
        where = ", ".join(str(f["path"]) for f in files)
        if scan.empty_files:
            raise BacktestDataError(
                f"{scan.empty_files[0]}: has a header but no data rows; a replayed file needs at "
                "least one bar (was it cut short while being written?)",
                DATA_EXIT,
            )
        timeframe = _timeframe(scan, given, where, options)
        for f in files:
            f["timeframe"] = timeframe
        if scan.gaps:
            report = f"{where}: {scan.report(timeframe)}"
            if mode == "refuse":
                raise BacktestDataError(
                    f"{report}. Real exchange data often misses bars; choose --gaps skip "
                    "(replay the bars there are) or --gaps carry-forward (a flat bar at the last "
                    "close, volume 0, in every missing slot)",
                    DATA_EXIT,
                )
            done = "skipped" if mode == "skip" else "carried forward"
            notes.append(f"gaps {done}: {report}")
    return notes


def _timeframe(scan: SeriesScan, given: str | None, where: str, options: Options) -> str:
    """The series' timeframe: the given one if the files agree, else the files' spacing."""
    spacing = scan.timeframe
    if given is not None:
        if scan.spacing_ms is not None and scan.spacing_ms != timeframe_ms(given):
            said = "--timeframe" if options.timeframe is not None else f"{options.config}"
            shown = spacing or f"{scan.spacing_ms} ms"
            raise BacktestDataError(
                f"{where}: its bars are {shown} apart (the most common spacing of its "
                f"{scan.rows:,} rows), not the {given} {said} says; pass --timeframe {shown} "
                "(or leave --timeframe out to take the files' own)",
                USAGE_EXIT,
            )
        return given
    if spacing is None:
        found = "a single row" if scan.spacing_ms is None else f"rows {scan.spacing_ms} ms apart"
        raise BacktestDataError(
            f"{where}: cannot tell the timeframe from {found}; pass --timeframe (e.g. 1m, 30m, 1h)",
            USAGE_EXIT,
        )
    return spacing


def prepare(document: Mapping[str, Any], options: Options) -> Prepared:
    """The replay source the backtest runs on (see the module docstring); raises
    :class:`BacktestDataError` with the message and exit status of a refusal."""
    if options.gaps is not None and options.gaps not in GAP_MODES:
        raise BacktestDataError(
            f"--gaps {options.gaps!r}: choose one of {', '.join(GAP_MODES)}", USAGE_EXIT
        )
    set_aside: list[str] = []
    replay = _replay_of(document, options.config, options.data, set_aside)
    settings = dict((replay or {}).get("config") or {})
    mode = options.gaps
    if mode is None:
        mode = settings.get("gaps") or ("skip" if settings.get("allow_gaps") else "refuse")
    entries = _entries(options, replay)
    notes = _scan(entries, options, str(mode))
    settings.pop("allow_gaps", None)  # said as gaps below: the two may not contradict
    settings.update({"files": entries, "gaps": mode})
    source = {
        "name": (replay or {}).get("name", REPLAY_PLUGIN),
        "plugin": REPLAY_PLUGIN,
        "config": settings,
    }
    return Prepared(source, str(entries[0]["venue"]), set_aside + notes)
