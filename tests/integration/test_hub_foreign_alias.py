"""A foreigner found at the mall hub by either of their numbers (issue 13 × issue 12).

A desk keys a foreign applicant by the KITAS/KITAP when they have one and keeps the passport in
the profile (``no_paspor``), or the reverse (``no_kitas``). The hub keeps the keyed hash of that
other number as the applicant's alias (hub revision 0005), so a joined desk that does not hold
the person finds them by either number with one hub request and one hub access-log row.

Real PostgreSQL (one fresh database for the module, another for the upgrade; SQLite too, the
hub's embedded store), the hub served on loopback, real desks (their own encrypted SQLite stores, joined with real tokens) replicating
through the lane their sync worker runs.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
import requests
from alembic import command
from sqlalchemy import text

from mppdesk.desk import counter
from mppdesk.desk import hub as desk_hub
from mppdesk.desk.auth import login
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.hub import database
from mppdesk.hub.server import init_hub, serve_in_thread
from mppdesk.sync.hub_client import answers_for
from tests.conftest import PASSWORD, cli_json, fresh_pg_database, run_cli
from tests.example_visits import example_visit, free_port
from tests.hub_fixtures import Hub, add_counter_staff, hub_on_backend
from tests.integration.test_hub_desk import Desk
from tests.integration.test_hub_server import DeskClient

BANK = "bri/pembukaan-rekening"  # example 0: a foreigner with passport and KITAS


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    return tmp_path_factory.mktemp("hubkey") / "hub.key"


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def hub(request, key_file, tmp_path_factory):
    """One hub per backend for the module (PostgreSQL: the module's fresh database)."""
    with hub_on_backend(request, key_file, tmp_path_factory) as handle:
        add_counter_staff(handle)
        yield handle


@pytest.fixture
def desks(tmp_path, hub):
    made: list[Desk] = []

    def make() -> Desk:
        code = "F" + uuid.uuid4().hex[:4].upper()
        desk = Desk(tmp_path / code, hub, code)
        desk.sync()  # the mall's accounts
        made.append(desk)
        return desk

    yield make
    for desk in made:
        desk.close()


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def fresh_foreigner() -> dict:
    """The catalog's foreigner with numbers of their own (the module's hub is shared)."""
    applicant = example_visit(BANK)["applicant"]
    tail = uuid.uuid4().hex[:6].upper()
    applicant["no_paspor"] = "X" + tail + "1"
    applicant["no_kitas"] = "2C21" + tail + "-W"
    return applicant


def access_rows(hub, desk_code: str) -> list[tuple[str, bool]]:
    with hub.store.engine.connect() as conn:
        return [
            (r[0], r[1])
            for r in conn.execute(
                text(
                    "SELECT subject_hash, found FROM hub_access_log WHERE desk = :d ORDER BY id"
                ),
                {"d": desk_code},
            )
        ]


def ask(client: DeskClient, kind: str, number: str) -> dict:
    answer = client.post("/v1/applicants/lookup", {"id_kind": kind, "id_number": number}, "ani")
    assert answer.status_code == 200, answer.text
    return answer.json()


def pushed_applicant(client: DeskClient, kind: str, number: str, name: str, **profile) -> None:
    body = {
        "id": str(uuid.uuid4()),
        "id_kind": kind,
        "id_number": number,
        "name": name,
        "profile": profile,
        "base_version": None,
    }
    answer = client.push([client.record("applicant", body["id"], body)])
    assert answer.status_code == 200, answer.text


def test_a_passport_finds_at_another_desk_the_foreigner_keyed_by_kitas(desks, hub):
    first, second = desks(), desks()
    foreigner = fresh_foreigner()
    visit = example_visit(BANK)
    visit["applicant"] = foreigner
    finalize_visit(first.runtime, login(first.runtime, "ani", PASSWORD), parse_visit(visit))
    assert first.sync().pending == 0
    with first.runtime.store.read() as session:  # the desk's own key: the KITAS
        kinds = session.execute(text("SELECT id_kind, id_number FROM applicants")).all()
    assert [tuple(k) for k in kinds] == [("kitas", foreigner["no_kitas"])]

    ani2 = login(second.runtime, "ani", PASSWORD)
    # As the counter types it: lower case, a space; the desk normalises it.
    typed = foreigner["no_paspor"][:3].lower() + " " + foreigner["no_paspor"][3:]
    record = counter.lookup_applicant(second.runtime, ani2, typed, "paspor")
    assert record is not None and record.source == "hub" and record.applicant_id == ""
    assert (record.id_kind, record.id_number) == ("kitas", foreigner["no_kitas"])
    assert record.name == foreigner["nama"]
    assert record.profile["no_paspor"] == foreigner["no_paspor"]
    assert record.profile["tanggal_lahir"] == foreigner["tanggal_lahir"]
    # One hub request, one access-log row: naming the person found (their own key's hash).
    kitas_hash = hub.store.key.lookup_hash("kitas", foreigner["no_kitas"])
    assert access_rows(hub, second.runtime.settings.desk.code) == [(kitas_hash, True)]

    # Offline (the hub's address answers nothing), the hub's answer kept at this desk
    # still pre-fills by the passport.
    hub_url = second.runtime.settings.hub.url
    second.runtime.settings = replace(
        second.runtime.settings,
        hub=replace(second.runtime.settings.hub, url=f"http://127.0.0.1:{free_port()}"),
    )
    cached = counter.lookup_applicant(second.runtime, ani2, foreigner["no_paspor"], "paspor")
    assert cached is not None and cached.source == "hub" and cached.cached
    assert (cached.id_kind, cached.id_number) == ("kitas", foreigner["no_kitas"])
    second.runtime.settings = replace(
        second.runtime.settings, hub=replace(second.runtime.settings.hub, url=hub_url)
    )
    assert len(access_rows(hub, second.runtime.settings.desk.code)) == 1

    # The KITAS itself still finds them, and a passport nobody has finds nobody.
    assert counter.lookup_applicant(second.runtime, ani2, foreigner["no_kitas"], "kitas")
    assert counter.lookup_applicant(second.runtime, ani2, "ZZ9999999", "paspor") is None
    rows = access_rows(hub, second.runtime.settings.desk.code)
    assert [found for _h, found in rows] == [True, True, False]


def test_applicant_show_by_passport_at_a_joined_desk_answers_from_the_hub(desks, hub):
    """``mppdesk applicant show --passport P`` (issue 13's command line) at a desk that never
    saw the foreigner: the KITAS-keyed record, from the hub, in one request."""
    first, second = desks(), desks()
    foreigner = fresh_foreigner()
    visit = example_visit(BANK)
    visit["applicant"] = foreigner
    finalize_visit(first.runtime, login(first.runtime, "ani", PASSWORD), parse_visit(visit))
    assert first.sync().pending == 0
    shown = run_cli("applicant", "show", "--passport", foreigner["no_paspor"], "--user", "ani",
                    "--password-stdin", "--json", stdin=PASSWORD + "\n",
                    data_dir=second.runtime.data_dir)
    assert shown.returncode == 0, shown.stderr
    answer = cli_json(shown)
    assert answer["found"] is True and answer["source"] == "hub"
    assert answer["applicant"]["id_kind"] == "kitas"
    assert answer["applicant"]["id_number"] == foreigner["no_kitas"]
    assert foreigner["no_paspor"] not in shown.stderr
    assert len(access_rows(hub, second.runtime.settings.desk.code)) == 1


def test_the_first_desk_holding_the_person_answers_from_the_hub_key_it_holds(desks, hub):
    """A joined desk that holds the person under the KITAS opens its own row (history,
    local id) when the hub answers a passport with that KITAS record."""
    desk = desks()
    foreigner = fresh_foreigner()
    visit = example_visit(BANK)
    visit["applicant"] = foreigner
    ani = login(desk.runtime, "ani", PASSWORD)
    finalize_visit(desk.runtime, ani, parse_visit(visit))
    assert desk.sync().pending == 0
    found = desk_hub.lookup(desk.runtime, ani, foreigner["no_paspor"], "paspor")
    assert found is not None and found.source == "hub"
    assert found.applicant_id  # this store's own row, found under the hub's key
    assert len(access_rows(hub, desk.runtime.settings.desk.code)) == 1


def test_a_kitas_finds_the_foreigner_keyed_by_passport(desks, hub, http):
    """The reverse kind: a desk pushed a passport-keyed foreigner whose profile also holds
    the KITAS (added later); another desk asking by the KITAS is pre-filled."""
    pusher = DeskClient(hub, http)
    passport, kitas = "P" + uuid.uuid4().hex[:7].upper(), "2C11" + uuid.uuid4().hex[:6].upper()
    pushed_applicant(pusher, "paspor", passport, "ANNA MÜLLER", no_kitas=kitas.lower(),
                     tanggal_lahir="1990-01-02")
    reader = desks()
    ani = login(reader.runtime, "ani", PASSWORD)
    record = counter.lookup_applicant(reader.runtime, ani, kitas, "kitas")
    assert record is not None and record.source == "hub"
    assert (record.id_kind, record.id_number) == ("paspor", passport)
    assert record.name == "ANNA MÜLLER" and record.profile["tanggal_lahir"] == "1990-01-02"
    assert access_rows(hub, reader.runtime.settings.desk.code) == [
        (hub.store.key.lookup_hash("paspor", passport), True)
    ]


def test_an_alias_never_hijacks_the_applicant_keyed_by_that_number(hub, http):
    """Person A is keyed by passport P; person B (KITAS K) carries P as their passport, pushed
    later. P finds A, K finds B; when B's passport changes, the new one finds B and P still
    finds A."""
    desk = DeskClient(hub, http)
    passport = "C" + uuid.uuid4().hex[:7].upper()
    kitas = "2C31" + uuid.uuid4().hex[:6].upper()
    pushed_applicant(desk, "paspor", passport, "PERSON A", kota="Osaka")
    pushed_applicant(desk, "kitas", kitas, "PERSON B", no_paspor=passport)
    assert ask(desk, "paspor", passport)["applicant"]["name"] == "PERSON A"
    assert ask(desk, "kitas", kitas)["applicant"]["name"] == "PERSON B"
    # B's passport corrected at a desk: the merged profile moves B's alias with it.
    renewed = "R" + uuid.uuid4().hex[:7].upper()
    body = {"id": str(uuid.uuid4()), "id_kind": "kitas", "id_number": kitas,
            "name": "PERSON B", "profile": {"no_paspor": renewed}, "base_version": 1}
    assert desk.push([desk.record("applicant", body["id"], body)]).status_code == 200
    assert ask(desk, "paspor", renewed)["applicant"]["name"] == "PERSON B"
    assert ask(desk, "paspor", passport)["applicant"]["name"] == "PERSON A"
    # Two foreigners carrying the same other number and nobody keyed by it: the one changed
    # last answers (as a desk's own store does).
    shared = "2C41" + uuid.uuid4().hex[:6].upper()
    pushed_applicant(desk, "paspor", "D" + uuid.uuid4().hex[:7].upper(), "OLD", no_kitas=shared)
    pushed_applicant(desk, "paspor", "E" + uuid.uuid4().hex[:7].upper(), "NEW", no_kitas=shared)
    assert ask(desk, "kitas", shared)["applicant"]["name"] == "NEW"
    # A number beyond the hub's bound is kept in the profile but never indexed.
    long_number = "F" * 70
    pushed_applicant(desk, "kitas", "2C51" + uuid.uuid4().hex[:6].upper(), "LONG",
                     no_paspor=long_number)
    with hub.store.engine.connect() as conn:
        aliases = conn.execute(
            text("SELECT count(*) FROM hub_applicants WHERE alias_hash = :h"),
            {"h": hub.store.key.lookup_hash("paspor", long_number)},
        ).scalar_one()
    assert aliases == 0
    rows = access_rows(hub, desk.code)
    assert [found for _h, found in rows] == [True] * 5
    # Each row names the person found by their own key, whichever number was asked.
    assert rows[0][0] == rows[3][0] == hub.store.key.lookup_hash("paspor", passport)
    assert rows[1][0] == rows[2][0] == hub.store.key.lookup_hash("kitas", kitas)


def test_an_applicant_pushed_before_0005_is_found_by_passport_after_hub_init(
    tmp_path, key_file, http
):
    with fresh_pg_database("mppdesk_hubalias_up") as url:
        handle = serve_after_init(url, key_file)
        desk = DeskClient(handle, http)
        passport, kitas = "U" + uuid.uuid4().hex[:7].upper(), "2C61" + uuid.uuid4().hex[:6].upper()
        try:
            pushed_applicant(desk, "kitas", kitas, "UPGRADED", no_paspor=passport)
        finally:
            handle.stop()
        # The hub as it was before this revision: no alias column, the row as pushed then.
        engine = database.create_hub_engine(url)
        try:
            with engine.begin() as conn:
                command.downgrade(database._alembic_config(conn), "0004")
            assert database.current_revision(engine) == "0004"
        finally:
            engine.dispose()
        handle = serve_after_init(url, key_file)  # `mppdesk hub init` then serve
        try:
            desk.hub = handle
            answer = ask(desk, "paspor", passport)
            assert answer["found"] is True
            assert answer["applicant"]["id_kind"] == "kitas"
            assert answer["applicant"]["id_number"] == kitas
            assert handle.store.fill_applicant_aliases() == 0  # repeatable: nothing left
        finally:
            handle.stop()


def serve_after_init(url: str, key_file):
    assert init_hub(url, key_file=key_file) == database.head_revision()
    return serve_in_thread(url, key_file=key_file)


def test_the_desk_takes_an_alias_answer_only_for_the_person_asked_about():
    """The desk's guard against pre-filling another person's record (``answers_for``): a
    KITAS-keyed answer to a passport only when its profile holds that passport."""
    kitas_keyed = {"id_kind": "kitas", "id_number": "2C21JE4583-W",
                   "profile": {"no_paspor": "TR4812736"}}
    assert answers_for(kitas_keyed, "kitas", "2C21JE4583-W")
    assert answers_for(kitas_keyed, "paspor", "TR4812736")
    assert not answers_for(kitas_keyed, "paspor", "TR4812737")  # someone else's
    assert not answers_for(kitas_keyed, "nik", "TR4812736")  # a NIK has no alias
    passport_keyed = {"id_kind": "paspor", "id_number": "TR4812736",
                      "profile": {"no_kitas": "2c21je4583-w"}}
    assert answers_for(passport_keyed, "kitas", "2C21JE4583-W")
    assert not answers_for(passport_keyed, "paspor", "2C21JE4583-W")
    assert not answers_for({"id_kind": "kitas", "id_number": "X", "profile": []}, "paspor", "X")


def test_offline_a_joined_desk_still_finds_its_own_foreigner_by_passport(tmp_path):
    """The hub down: the desk's own store answers the passport of the foreigner it keyed by
    the KITAS (the stand-alone desk's mapping), without an error."""
    running = Hub(tmp_path)
    add_counter_staff(running)
    desk = Desk(tmp_path / "K09", running, "K09")
    try:
        desk.sync()
        foreigner = fresh_foreigner()
        visit = example_visit(BANK)
        visit["applicant"] = foreigner
        ani = login(desk.runtime, "ani", PASSWORD)
        finalize_visit(desk.runtime, ani, parse_visit(visit))
        running.stop()
        record = counter.lookup_applicant(desk.runtime, ani, foreigner["no_paspor"], "paspor")
        assert record is not None and record.source == "local" and record.applicant_id
        assert (record.id_kind, record.id_number) == ("kitas", foreigner["no_kitas"])
    finally:
        desk.close()
        running.stop()
