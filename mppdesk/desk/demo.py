"""The demo desk: a throwaway data dir with accounts, a day of visits and a live agency server.

Used by ``mppdesk demo`` (and the UI tour). The reference agency server runs in this process
on loopback, so everything the demo started ends with it.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from pathlib import Path

from mppdesk.desk.auth import Actor, add_user, login, os_actor
from mppdesk.desk.errors import InvalidInput
from mppdesk.desk.intake import VisitRequest, finalize_visit, parse_visit
from mppdesk.desk.runtime import Runtime, open_runtime
from mppdesk.settings import AgencyEndpoint, DeskSettings, QrisSettings, Settings, save_settings
from mppdesk.sync.sim.server import AgencySim, SimConfig

log = logging.getLogger(__name__)

DEMO_ACCOUNTS = (
    ("admin", "admin", "admin-demo-1", "Admin Demo"),
    ("sari", "supervisor", "supervisor-demo-1", "Sari Supervisor"),
    ("ani", "officer", "petugas-demo-1", "Ani Petugas"),
    ("budi", "officer", "petugas-demo-2", "Budi Petugas"),
)
MANUAL_AGENCIES = ("bpn",)  # no API: shows the handover list
# The demo MPP collects PDAM's connection fee itself, so a PDAM receipt shows a dynamic QRIS
# beside the billing code. An illustrative merchant: no acquirer knows these numbers.
DEMO_QRIS = QrisSettings(
    agencies="pdam",
    merchant_name="MPP DEMO KOTA CONTOH",
    merchant_city="KOTA CONTOH",
    acquirer_domain="ID.CO.BANKDAERAH.WWW",
    merchant_pan="9360012300000012345",
    merchant_id="MPPDEMO01",
    nmid="ID1026000000001",
    criteria="URE",
    mcc="9399",
)


@dataclass
class DemoEnvironment:
    runtime: Runtime
    sim: AgencySim
    accounts: tuple[tuple[str, str, str, str], ...] = DEMO_ACCOUNTS
    visits: list[str] = field(default_factory=list)

    def close(self) -> None:
        try:
            self.runtime.close()
        finally:
            self.sim.stop()


def demo_settings(sim: AgencySim, agencies: list[str]) -> Settings:
    settings = Settings(desk=DeskSettings(code="K01", mpp_name="MPP Demo Kota Contoh"))
    for code in agencies:
        if code in MANUAL_AGENCIES:
            settings = settings.with_agency(AgencyEndpoint(code=code, mode="manual"))
        else:
            settings = settings.with_agency(
                AgencyEndpoint(code=code, base_url=sim.agency_url(code), read_timeout_s=10.0)
            )
    if set(DEMO_QRIS.agency_codes) <= set(agencies):
        settings = replace(settings, qris=DEMO_QRIS)
    return settings


def start_demo(
    data_dir: Path, *, visits: int = 12, seed: int = 7, advance_after_s: float = 20.0
) -> DemoEnvironment:
    """Create (or reuse) a demo data dir and start the agency server beside it."""
    from mppdesk.forms.catalog import builtin_catalog_dirs, load_catalog

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    catalog = load_catalog(builtin_catalog_dirs(data_dir))
    sim = AgencySim(
        SimConfig(db_path=str(data_dir / "agency-sim.sqlite"), advance_after_s=advance_after_s)
    ).start()
    try:
        save_settings(data_dir, demo_settings(sim, sorted(catalog.agencies)))
        runtime = open_runtime(data_dir)
    except BaseException:
        sim.stop()
        raise
    env = DemoEnvironment(runtime=runtime, sim=sim)
    try:
        from mppdesk.desk.auth import has_users

        if not has_users(runtime):
            for username, role, password, full_name in DEMO_ACCOUNTS:
                add_user(runtime, os_actor(), username, role, password, full_name)
            env.visits = seed_visits(runtime, visits, seed)
    except BaseException:
        env.close()
        raise
    return env


def seed_visits(runtime: Runtime, count: int, seed: int) -> list[str]:
    """A morning of visits made from the catalog's worked examples, spread over the hours."""
    rng = random.Random(seed)
    officers: list[Actor] = [
        login(runtime, username, password)
        for username, role, password, _ in DEMO_ACCOUNTS
        if role == "officer"
    ]
    codes = sorted(runtime.catalog.services)
    local_now = runtime.local_now()
    midnight = datetime.combine(local_now.date(), time(0, 1), tzinfo=runtime.tz)
    # The visits of the last few hours, so the day's views have something to show.
    opening = max(midnight, local_now - timedelta(minutes=12 * count + 30))
    # Just after midnight the day is too short for 12-minute visits: squeeze them into the
    # minutes there are, so the demo never opens on an empty day whatever the time.
    room = max(timedelta(), local_now - opening)
    step = min(timedelta(minutes=12), room / (count + 1)) if count else timedelta()
    scale = step / timedelta(minutes=12)
    real_clock = runtime.clock
    visit_ids = []
    try:
        for i in range(count):
            chosen = rng.sample(codes, k=1 if rng.random() < 0.6 else 2)
            started = opening + timedelta(minutes=12 * i + rng.randint(0, 8)) * scale
            finalized = started + timedelta(minutes=rng.randint(4, 15)) * scale
            if finalized > real_clock():
                break
            request = _visit_from_examples(runtime, chosen, ticket=f"A-{i + 1:03d}")
            request = VisitRequest(
                applicant=request.applicant,
                services=request.services,
                ticket=request.ticket,
                proxy=request.proxy,
                ticket_at=started - timedelta(minutes=rng.randint(2, 25)),
                started_at=started,
            )
            runtime.clock = lambda at=finalized: at
            officer = officers[i % len(officers)]
            try:
                result = finalize_visit(runtime, officer, request)
            except InvalidInput:
                # Two examples describe different people; serve the first service alone.
                single = VisitRequest(
                    applicant=request.applicant,
                    services=request.services[:1],
                    ticket=request.ticket,
                    proxy=request.proxy,
                    ticket_at=request.ticket_at,
                    started_at=request.started_at,
                )
                try:
                    result = finalize_visit(runtime, officer, single)
                except InvalidInput as exc:
                    log.warning("demo visit %s skipped: %s", chosen[0], exc)
                    continue
            finally:
                runtime.clock = real_clock
            visit_ids.append(result.visit_id)
    finally:
        runtime.clock = real_clock
    return visit_ids


def _visit_from_examples(runtime: Runtime, codes: list[str], ticket: str) -> VisitRequest:
    """One applicant (the first service's example) asking for every service in ``codes``.

    Fields the first example lacks are borrowed from the other services' examples.
    """
    catalog = runtime.catalog
    first = catalog.service(codes[0]).examples[0]
    applicant = dict(first.applicant)
    services = []
    for code in codes:
        example = catalog.service(code).examples[0]
        for key, value in example.applicant.items():
            applicant.setdefault(key, value)
        attachments = [str(p) for p in map(catalog.resolve_path, example.attachments) if p]
        services.append(
            {
                "service": code,
                "answers": dict(example.answers),
                "checklist": dict(example.checklist),
                "attachments": attachments,
            }
        )
    document = {
        "ticket": ticket,
        "applicant": applicant,
        "proxy": dict(first.proxy) if first.proxy else None,
        "services": services,
    }
    return parse_visit(document)
