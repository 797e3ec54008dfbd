"""The mall hub proven with real processes (issue 13): a PostgreSQL hub served by
``mppdesk hub serve`` and desks that are processes of their own (own data dir, own key file),
joined with ``mppdesk hub join`` and driven through the real command line, or through
``hub_desk_child.py`` (the desk's own finalize and the sync worker's hub lane) where a desk has
to be killed in the middle of its work.

One fresh PostgreSQL database per module; one hub process for the module, killed and restarted
by the tests that need it. Needs ``MPPDESK_TEST_PG_URL`` (CI: ``.ci/postgres.sh``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, cli_json, fresh_pg_database, run_cli
from tests.integration.conftest import read_listening_line
from tests.integration.test_intake import example_visit, with_local_attachments
from tests.robustness.hub_desk_child import applicant_for

# Every test here drives several desk processes and a hub process (tens of seconds in all,
# most of it the shared module set-up): the whole module runs with the slow robustness tests.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("hub_desk_child.py")
KTP = "dukcapil/ktp-el"
HELD = "samsat/bbn-ii"  # needs a supervisor's approval before it goes to Samsat
START_S = 60.0

VISITS_PER_DESK = 300
HUB_KILLS = 17
DESK_KILLS = 12  # per desk: 17 + 3 x 12 = 53 kills in the run
SKEWS = (-600.0, 0.0, 600.0)  # the three desks' clocks: 10 minutes behind, right, ahead


# --- the hub process --------------------------------------------------------------------------


class HubProcess:
    """``mppdesk hub serve --db URL --port P`` in a child process; its stderr is the hub's log."""

    def __init__(self, db_url: str, env: dict[str, str], log: Path):
        self.db_url = db_url
        self.env = env
        self.log = log
        self.port = 0
        self.process: subprocess.Popen[str] | None = None
        self.extra: tuple[str, ...] = ()
        self.scheme = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self, *extra: str) -> HubProcess:
        self.extra = extra or self.extra
        with open(self.log, "a", encoding="utf-8") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "mppdesk", "hub", "serve", "--db", self.db_url,
                 "--port", str(self.port), *self.extra],
                stdout=subprocess.PIPE, stderr=log, text=True,
                env={**os.environ, **self.env, "PYTHONUNBUFFERED": "1"},
            )
        try:
            line = read_listening_line(process, START_S)
        except BaseException:
            process.kill()
            process.wait(10)
            process.stdout.close()
            raise
        assert line.startswith("listening on http"), (line, self.log.read_text())
        self.scheme, _, rest = line.removeprefix("listening on ").partition("://")
        self.port = int(rest.rsplit(":", 1)[1])
        self.process = process
        return self

    def _reap(self) -> None:
        assert self.process is not None
        self.process.wait(30)
        self.process.stdout.close()
        self.process = None

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self._reap()

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self._reap()


# --- desks ------------------------------------------------------------------------------------


@dataclass
class Site:
    """One desk PC: its data dir and its own desk key file."""

    code: str
    index: int
    data_dir: Path
    key_file: Path
    stored: list[str] = field(default_factory=list)  # visit ids reported stored, in order

    @property
    def env(self) -> dict[str, str]:
        return {"MPPDESK_KEY_FILE": str(self.key_file)}

    def cli(self, *args: str, stdin: str | None = None, timeout: float = 120):
        return run_cli(*args, stdin=stdin, data_dir=self.data_dir, env=self.env, timeout=timeout)

    def as_officer(self, *args: str, user: str = "ani", timeout: float = 120):
        return self.cli(*args, "--user", user, "--password-stdin", stdin=PASSWORD + "\n",
                        timeout=timeout)

    def drain(self, timeout: float = 60) -> dict:
        result = self.cli("sync", "--drain", "--timeout", str(timeout), "--json",
                          timeout=timeout + 60)
        assert result.returncode in (0, 5), result.stderr
        return cli_json(result)

    def report(self) -> dict:
        result = subprocess.run(
            [sys.executable, str(CHILD), "report", str(self.data_dir)],
            capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, **self.env, "PYTHONPATH": str(ROOT)},
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


class Mall:
    """The module's hub (database, key, process) and its desks."""

    def __init__(self, root: Path, db_url: str):
        self.root = root
        self.db_url = db_url
        self.hub_env = {"MPPDESK_HUB_KEY_FILE": str(root / "hub.key")}
        self.hub = HubProcess(db_url, self.hub_env, root / "hub.log")
        self.sites: dict[str, Site] = {}
        self.pii: set[str] = set()  # every NIK, name and phone number given to a desk

    def hub_cli(self, *args: str, stdin: str | None = None):
        return run_cli("hub", *args, "--db", self.db_url, stdin=stdin, env=self.hub_env)

    def hub_json(self, *args: str):
        result = self.hub_cli(*args, "--json")
        assert result.returncode == 0, result.stderr
        return cli_json(result)

    def add_site(self, code: str, index: int, *, join: bool = True, ca: Path | None = None) -> Site:
        site = Site(code, index, self.root / code, self.root / f"{code}-key" / "desk.key")
        site.key_file.parent.mkdir()
        assert site.cli("init").returncode == 0
        token = self.hub_json("desk", "add", code)["token"]
        if join:
            extra = ("--ca", str(ca)) if ca else ()
            joined = site.cli("hub", "join", self.hub.url, "--desk", code, "--token-stdin",
                              *extra, stdin=token + "\n")
            assert joined.returncode == 0, joined.stderr
            assert token not in (site.data_dir / "settings.toml").read_text()
        self.sites[code] = site
        return site

    def visit_file(self, site: Site, code: str = KTP, number: int | None = None) -> Path:
        """A visit file (attachments beside it) with a new applicant of the site's own."""
        folder = self.root / f"visit-{uuid.uuid4().hex[:8]}"
        folder.mkdir()
        visit = with_local_attachments(example_visit(code), folder)
        if number is not None:
            visit["applicant"].update(applicant_for(site.index, number))
        self.remember(visit["applicant"])
        path = folder / "visit.json"
        path.write_text(json.dumps(visit), encoding="utf-8")
        return path

    def remember(self, applicant: dict) -> None:
        for name in ("nik", "nama", "no_hp"):
            if applicant.get(name):
                self.pii.add(str(applicant[name]))


@pytest.fixture(scope="module")
def mall(tmp_path_factory):
    root = tmp_path_factory.mktemp("mall")
    with fresh_pg_database("mppdesk_hubmall") as db_url:
        mall = Mall(root, db_url)
        assert mall.hub_cli("init").returncode == 0
        for user, role in (("ani", "officer"), ("sari", "supervisor"), ("budi", "officer")):
            added = mall.hub_cli("user", "add", user, "--role", role, "--password-stdin",
                                 stdin=PASSWORD + "\n")
            assert added.returncode == 0, added.stderr
        mall.hub.start()
        try:
            with ThreadPoolExecutor(3) as pool:
                sites = list(pool.map(lambda i: mall.add_site(f"K0{i}", i), (1, 2, 3)))
                # Dukcapil by hand: the drains here wait for the hub, not for an agency.
                for made in pool.map(lambda s: s.cli("agency", "set", "dukcapil", "--manual"),
                                     sites):
                    assert made.returncode == 0, made.stderr
                for drained in pool.map(lambda s: s.drain(), sites):  # accounts come from the hub
                    assert drained["hub"]["pulled"] >= 3 and drained["hub"]["pending"] == 0
            yield mall
        finally:
            mall.hub.stop()


def desks(mall: Mall) -> list[Site]:
    return [mall.sites[c] for c in ("K01", "K02", "K03")]


def run_parallel(calls):
    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(c) for c in calls]]


# --- what a mall does, across desk processes --------------------------------------------------


def test_an_applicant_registered_at_desk_1_is_prefilled_at_desk_3(mall):
    first, _, third = desks(mall)
    visit = mall.visit_file(first, number=901)
    nik = applicant_for(first.index, 901)["nik"]
    before = third.as_officer("applicant", "show", "--nik", nik, "--json")
    assert before.returncode == 0, before.stderr
    assert cli_json(before) == {"found": False, "applicant": None}

    intake = first.as_officer("intake", "--input", str(visit), "--json")
    assert intake.returncode == 0, intake.stderr
    assert first.drain()["hub"]["pending"] == 0

    shown = third.as_officer("applicant", "show", "--nik", nik, "--json")
    assert shown.returncode == 0, shown.stderr
    answer = cli_json(shown)
    assert answer["found"] is True and answer["source"] == "hub"
    applicant = answer["applicant"]
    sent = json.loads(visit.read_text())["applicant"]
    assert applicant["id_number"] == nik and applicant["name"] == sent["nama"]
    for name in ("tanggal_lahir", "alamat", "no_kk", "no_hp"):
        assert applicant["profile"][name] == sent[name], name
    assert nik not in shown.stderr


def test_a_supervisor_at_desk_2_approves_desk_1s_held_submission_and_desk_1_delivers_it(
    mall, agency_sim
):
    first, second, _ = desks(mall)
    assert first.cli("agency", "set", "samsat", "--url", agency_sim.agency_url("samsat")
                     ).returncode == 0
    intake = first.as_officer("intake", "--input", str(mall.visit_file(first, HELD)), "--json")
    assert intake.returncode == 0, intake.stderr
    (submission,) = cli_json(intake)["submissions"]
    first.drain(timeout=10)
    assert agency_sim.stats("samsat")["submissions"] == 0  # held: nothing went to Samsat

    decided = subprocess.run(
        [sys.executable, "-c", _SUPERVISOR_AT_DESK_2, str(second.data_dir), "sari", PASSWORD,
         submission["submission_id"]],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, **second.env, "PYTHONPATH": str(ROOT)},
    )
    assert decided.returncode == 0, decided.stderr
    assert json.loads(decided.stdout) == {"in_queue": True, "decision": "approved", "desk": "K01"}

    for _ in range(3):  # the pull releases it; the next drain (or this one) delivers it
        first.drain(timeout=20)
        if agency_sim.stats("samsat")["submissions"] == 1:
            break
    assert agency_sim.stats("samsat")["submissions"] == 1
    listed = cli_json(first.cli("submissions", "list", "--json"))
    mine = [s for s in listed if s["tracking_number"] == submission["tracking_number"]]
    assert len(mine) == 1 and mine[0]["status"] not in ("held", "queued"), mine


# A supervisor's session at desk 2, in desk 2's own process: logs in at that desk, reads the
# mall's review queue through the desk, and decides through the desk's own hub client.
_SUPERVISOR_AT_DESK_2 = """
import json, sys
from pathlib import Path
from mppdesk.desk.auth import login
from mppdesk.desk.hub import mall_review_queue
from mppdesk.desk.runtime import open_runtime
from mppdesk.sync.hub_sync import client_for
data_dir, user, password, submission_id = sys.argv[1:5]
runtime = open_runtime(Path(data_dir), create=False)
actor = login(runtime, user, password)
queue = mall_review_queue(runtime, actor)["items"]
client = client_for(runtime.settings, runtime.store)
result = client.review(submission_id, "approved", None, actor.username)
client.close()
runtime.close()
assert result.ok, result.message
print(json.dumps({"in_queue": any(i["submission_id"] == submission_id for i in queue),
                  "decision": result.body["decision"], "desk": result.body["desk"]}))
"""


def test_a_user_disabled_at_the_hub_cannot_log_in_at_any_desk_after_one_pull(mall):
    sites = desks(mall)
    nik = "3578036801959999"

    def show(site: Site):
        return site.as_officer("applicant", "show", "--nik", nik, "--json", user="budi")

    assert [r.returncode for r in run_parallel([lambda s=s: show(s) for s in sites])] == [0] * 3
    assert mall.hub_cli("user", "disable", "budi").returncode == 0
    run_parallel([s.drain for s in sites])  # one pull each
    refused = run_parallel([lambda s=s: show(s) for s in sites])
    assert [r.returncode for r in refused] == [4, 4, 4], [r.stderr for r in refused]
    assert sites[0].as_officer("applicant", "show", "--nik", nik, "--json").returncode == 0


def test_a_published_catalog_reaches_every_desk_and_a_broken_one_none(mall):
    from mppdesk.paths import catalog_dir

    sites = desks(mall)
    shipped = (catalog_dir() / "services" / "dukcapil" / "ktp-el.yaml").read_text("utf-8")
    good = mall.root / "catalog-good" / "services" / "dukcapil"
    good.mkdir(parents=True)
    text = shipped.replace("keywords:\n", "keywords:\n  - kartu identitas mall\n", 1)
    assert text != shipped
    (good / "ktp-el.yaml").write_text(text, encoding="utf-8")
    published = mall.hub_cli("catalog", "publish", str(good.parents[1]))
    assert published.returncode == 0, published.stderr
    sha = published.stdout.split("sha256 ")[1].split()[0]

    broken = mall.root / "catalog-broken" / "services" / "dukcapil"
    broken.mkdir(parents=True)
    (broken / "ktp-el.yaml").write_text(text.replace("agency: dukcapil", "agency: nowhere"),
                                        encoding="utf-8")
    refused = mall.hub_cli("catalog", "publish", str(broken.parents[1]))
    assert refused.returncode == 2 and refused.stderr.strip(), refused.stderr
    run_parallel([s.drain for s in sites])

    for site in sites:
        status = cli_json(site.cli("hub", "status", "--json"))
        assert status["catalog"]["sha256"] == sha and status["catalog_error"] is None, status
        placed = site.data_dir / "catalog" / "services" / "dukcapil" / "ktp-el.yaml"
        assert placed.read_text(encoding="utf-8") == text
        shown = cli_json(site.cli("catalog", "show", KTP, "--json"))
        assert "kartu identitas mall" in json.dumps(shown)


# --- kill -9, clock skew, the hub down --------------------------------------------------------


class DeskRun:
    """A ``hub_desk_child.py run`` process of one site, restarted after every kill."""

    def __init__(self, site: Site, visit_file: Path, target: int, skew_s: float,
                 changed: threading.Condition, *, exit_when_finalized: bool = False):
        self.site = site
        self.visit_file = visit_file
        self.target = target
        self.skew_s = skew_s
        self.changed = changed
        self.exit_when_finalized = exit_when_finalized
        self.process: subprocess.Popen[str] | None = None
        self.reader: threading.Thread | None = None
        self.in_push = False
        self.pushes = 0
        self.finished = False
        self.lives = 0

    def start(self) -> None:
        command = [sys.executable, str(CHILD), "run", str(self.site.data_dir),
                   str(self.visit_file), "ani", PASSWORD, str(self.site.index),
                   str(self.target), str(self.skew_s)]
        if self.exit_when_finalized:
            command.append("--exit")
        log = open(self.site.data_dir.parent / f"{self.site.code}-child.log", "a",  # noqa: SIM115
                   encoding="utf-8")
        with log:
            self.process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=log, text=True,
                env={**os.environ, **self.site.env, "PYTHONPATH": str(ROOT)},
            )
        self.lives += 1
        self.in_push = False
        self.reader = threading.Thread(target=self._read, args=(self.process,), daemon=True)
        self.reader.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        for line in process.stdout:
            word, *rest = line.split()
            with self.changed:
                if word == "stored":
                    self.site.stored.append(rest[0])
                elif word == "push":
                    self.in_push = True
                    self.pushes += 1
                elif word == "acked":
                    self.in_push = False
                elif word == ("finalized" if self.exit_when_finalized else "drained"):
                    self.finished = True
                self.changed.notify_all()

    def reap(self) -> int:
        code = self.process.wait(60)
        self.reader.join(10)
        self.process.stdout.close()
        return code

    def kill9(self) -> bool:
        """Kill the child; True when it was in the middle of a push."""
        with self.changed:
            during_push = self.in_push
        self.process.send_signal(signal.SIGKILL)
        self.reap()
        with self.changed:
            self.in_push = False
        return during_push


def check_hub_holds_every_desk(mall: Mall, sites: list[Site]) -> dict:
    """Hub totals equal the desks' own counts, nothing twice, every chain verified with the
    desks' own heads, every visit reported stored at the hub in its desk's order."""
    import sqlalchemy

    reports = {s.code: s.report() for s in mall.sites.values()}
    stats = mall.hub_json("stats")
    listed = {d["desk"]: d for d in mall.hub_json("desk", "list")["desks"]}
    assert stats["duplicates"] == 0
    for what in ("visits", "submissions", "applicants"):
        assert stats["totals"][what] == sum(r[what] for r in reports.values()), (what, stats)
    engine = sqlalchemy.create_engine(mall.db_url)
    try:
        for site in sites:
            mine, desk = reports[site.code], listed[site.code]
            assert mine["pending"] == 0, mine
            for what in ("visits", "submissions", "applicants"):
                assert stats["desks"][site.code][what] == mine[what], (site.code, what)
            assert desk["chain_error"] is None, desk
            assert desk["audit_head"] == mine["audit_head"] and desk["acked"] == mine["acked"]
            with engine.connect() as conn:
                order = [r[0] for r in conn.exec_driver_sql(
                    "SELECT entity_id FROM hub_records WHERE desk = %(d)s AND kind = 'visit' "
                    "ORDER BY seq", {"d": site.code})]
            reported = set(site.stored)
            assert reported <= set(order), f"{len(reported - set(order))} visits missing"
            assert [v for v in order if v in reported] == site.stored, "visits out of order"
    finally:
        engine.dispose()
    return stats


def test_kill_minus_nine_of_hub_and_desks_during_pushes_loses_and_doubles_nothing(mall):
    """3 desks x 300 visits, their clocks 10 minutes behind, right and 10 minutes ahead; the
    hub and the desks killed (-9) 53 times, almost always while a push is in flight."""
    sites = desks(mall)
    rng = random.Random(20261202)
    changed = threading.Condition()
    runs = []
    for site, skew in zip(sites, SKEWS, strict=True):
        site.stored.clear()
        target = site.report()["visits"] + VISITS_PER_DESK
        # The child gives every visit its own applicant; the file's own is never stored (the
        # catalog's example person is published in clear with the catalog itself).
        runs.append(DeskRun(site, mall.visit_file(site, number=999), target, skew, changed,
                            exit_when_finalized=True))
        mall.pii.update(v for n in range(1, target + 1) for v in applicant_for(site.index, n).values())
    hub_points = sorted(rng.sample(range(30, len(sites) * VISITS_PER_DESK - 90), HUB_KILLS))
    # Points leave room for the visits a kill keeps from being reported (stored, not printed).
    desk_points = {r.site.code: sorted(rng.sample(range(5, VISITS_PER_DESK - 60), DESK_KILLS))
                   for r in runs}
    kills: Counter[str] = Counter()
    for run in runs:
        run.start()
    deadline = time.monotonic() + 600
    try:
        while not all(r.finished for r in runs):
            assert time.monotonic() < deadline, "the kill run did not finish in time"
            with changed:
                changed.wait(0.5)
                total = sum(len(r.site.stored) for r in runs)
                pushing = any(r.in_push for r in runs)
                victims = [r for r in runs if desk_points[r.site.code] and not r.finished
                           and len(r.site.stored) >= desk_points[r.site.code][0]
                           and (r.in_push or len(r.site.stored) >= desk_points[r.site.code][0] + 15)]
            for run in runs:  # a child that ended without finishing: its stderr says why
                if run.process.poll() is not None and not run.finished:
                    run.reader.join(10)  # the lines it wrote before it ended are read first
                if run.process.poll() is not None and not run.finished:
                    log = run.site.data_dir.parent / f"{run.site.code}-child.log"
                    pytest.fail(f"{run.site.code} child ended: {log.read_text()[-2000:]}")
            for run in victims:
                desk_points[run.site.code].pop(0)
                kills["desk during push" if run.kill9() else "desk"] += 1
                run.start()
            if hub_points and (total >= hub_points[0] + 30
                               or (total >= hub_points[0] and pushing)):
                hub_points.pop(0)
                mall.hub.kill9()
                kills["hub during push" if pushing else "hub"] += 1
                mall.hub.start()
        for run in runs:
            assert run.reap() == 0
        started = time.monotonic()
        drained = run_parallel([s.drain for s in sites])  # what the last lives left unpushed
        drain_s = time.monotonic() - started
        assert all(d["hub"]["pending"] == 0 for d in drained), drained
    finally:
        for run in runs:
            if run.process is not None and run.process.poll() is None:
                run.process.kill()
                run.reap()
    total_kills = sum(kills.values())
    stats = check_hub_holds_every_desk(mall, sites)
    print(f"\nhub kill run: {total_kills} kills ({dict(kills)}), desk lives "
          f"{[r.lives for r in runs]}, final drain {drain_s:.1f} s, pushed then "
          f"{[d['hub']['pushed'] for d in drained]}, totals {stats['totals']}, "
          f"duplicates {stats['duplicates']}")
    assert total_kills >= 50 and not hub_points and not any(desk_points.values()), kills
    assert kills["desk during push"] >= 10, kills
    for run in runs:  # each desk stopped at its target; visits committed but not yet
        # reported when a kill came are at the hub too (counted, not in ``stored``)
        assert stats["desks"][run.site.code]["visits"] == run.target
        assert len(set(run.site.stored)) == len(run.site.stored) > VISITS_PER_DESK - DESK_KILLS


def test_the_hub_down_for_the_whole_intake_then_up_everything_arrives_in_order(mall):
    """The desks (clocks skewed the other way round) take their whole intake without a hub."""
    sites = desks(mall)
    mall.hub.stop()
    changed = threading.Condition()
    runs = []
    try:
        for site, skew in zip(sites, reversed(SKEWS), strict=True):
            site.stored.clear()
            target = site.report()["visits"] + 25
            runs.append(DeskRun(site, mall.visit_file(site, number=950), target, skew, changed,
                                exit_when_finalized=True))
            mall.pii.update(applicant_for(site.index, n)["nik"] for n in range(target + 1))
        for run in runs:
            run.start()
        assert [run.reap() for run in runs] == [0, 0, 0]
        assert all(run.finished for run in runs)
        pending = [s.report()["pending"] for s in sites]
        assert all(p > 0 for p in pending), pending  # nothing reached the hub yet
    finally:
        mall.hub.start()
    drained = run_parallel([s.drain for s in sites])
    for site, report, waiting in zip(sites, drained, pending, strict=True):
        assert report["hub"]["pending"] == 0 and report["hub"]["pushed"] >= waiting, report
        assert len(site.stored) == 25
    check_hub_holds_every_desk(mall, sites)


# --- TLS and personal data --------------------------------------------------------------------


def _ca(name: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _server_cert(ca_key, ca_cert):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub.mpp.test")]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _pem_files(folder: Path, name: str, key, cert) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization

    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_a_desk_refuses_a_hub_whose_certificate_its_ca_did_not_sign(mall):
    folder = mall.root / "tls"
    mall_ca_key, mall_ca = _ca("MPP Mall CA")
    rogue_ca_key, rogue_ca = _ca("Someone Else's CA")
    mall_ca_file, _ = _pem_files(folder, "mall-ca", mall_ca_key, mall_ca)
    rogue_ca_file, _ = _pem_files(folder, "rogue-ca", rogue_ca_key, rogue_ca)
    cert, key = _pem_files(folder, "hub", *_server_cert(rogue_ca_key, rogue_ca))
    hub = HubProcess(mall.db_url, mall.hub_env, mall.root / "hub-tls.log")
    hub.start("--cert", str(cert), "--key", str(key))
    try:
        assert hub.url.startswith("https://")
        site = Site("K09", 9, mall.root / "K09", mall.root / "K09-key" / "desk.key")
        site.key_file.parent.mkdir()
        assert site.cli("init").returncode == 0
        token = mall.hub_json("desk", "add", "K09")["token"]
        refused = site.cli("hub", "join", hub.url, "--desk", "K09", "--token-stdin",
                           "--ca", str(mall_ca_file), stdin=token + "\n")
        assert refused.returncode != 0
        assert "Traceback" not in refused.stderr and token not in refused.stderr
        settings = site.data_dir / "settings.toml"
        assert not settings.exists() or "[hub]" not in settings.read_text(encoding="utf-8")
        # The same hub, the same token: only the CA that signed it makes the desk trust it.
        accepted = site.cli("hub", "join", hub.url, "--desk", "K09", "--token-stdin",
                            "--ca", str(rogue_ca_file), stdin=token + "\n")
        assert accepted.returncode == 0, accepted.stderr
        mall.sites["K09"] = site
    finally:
        hub.stop()


def test_no_nik_name_or_phone_in_clear_in_postgresql_or_the_hub_log(mall):
    first = desks(mall)[0]
    intake = first.as_officer("intake", "--input", str(mall.visit_file(first, number=990)),
                              "--json")
    assert intake.returncode == 0, intake.stderr
    assert first.drain()["hub"]["pending"] == 0
    nik = applicant_for(first.index, 990)["nik"]
    assert cli_json(desks(mall)[1].as_officer("applicant", "show", "--nik", nik, "--json")
                    )["found"]  # the hub holds it (and logged the look-up)
    dump = _dump(mall.db_url)
    assert "hub_records" in dump and "K01" in dump  # the dump holds the hub's data
    log = "".join(p.read_text(encoding="utf-8") for p in mall.root.glob("hub*.log"))
    assert "/v1/push" in log  # the log holds the hub's requests
    needles = {v for v in mall.pii if v} | {v.lstrip("+") for v in mall.pii if v.startswith("+")}
    # The catalog's worked examples are fictional people published in clear with the catalog
    # itself (hub_catalog_publications, the pull feed): a generated applicant who happens to
    # share such a name is left out of the search.
    from mppdesk.paths import catalog_dir

    shipped = "\n".join(f.read_text("utf-8") for f in catalog_dir().rglob("*.yaml")).upper()
    needles = {v for v in needles if v.upper() not in shipped}
    assert len(needles) >= 4
    for text, where in ((dump, "PostgreSQL"), (log, "hub log")):
        upper = text.upper()
        found = sorted(v for v in needles if v.upper() in upper)
        assert found == [], f"{len(found)} personal values in clear in the {where}: {found[:3]}"


def _dump(db_url: str) -> str:
    """The hub database as text: pg_dump when installed, else every text and bytea column."""
    import sqlalchemy

    url = sqlalchemy.engine.make_url(db_url)
    pg_dump = shutil.which("pg_dump")
    if pg_dump:
        result = subprocess.run(
            [pg_dump, "--data-only", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
             "-U", url.username, url.database],
            capture_output=True, text=True, timeout=120, check=False,
            env={**os.environ, "PGPASSWORD": url.password or ""},
        )
        if result.returncode == 0:
            return result.stdout
    engine = sqlalchemy.create_engine(db_url)
    parts = []
    try:
        with engine.connect() as conn:
            columns = conn.exec_driver_sql(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public'").all()
            for table, column, kind in columns:
                parts.append(table)
                if kind in ("text", "character varying", "bytea", "json", "jsonb"):
                    for (value,) in conn.exec_driver_sql(f'SELECT "{column}" FROM "{table}"'):
                        if value is not None:
                            parts.append(bytes(value).decode("latin-1")
                                         if isinstance(value, bytes | memoryview) else str(value))
    finally:
        engine.dispose()
    return "\n".join(parts)
