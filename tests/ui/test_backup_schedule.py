"""The scheduled backup in the running desk: the real store backed up to a real folder
through the window's TaskRunner, and its outcome in the status-bar label."""

from __future__ import annotations

import json
from dataclasses import replace

from mppdesk.desk.backup import read_status
from mppdesk.settings import BackupSettings
from mppdesk.ui.backup_schedule import ScheduledBackup
from mppdesk.ui.tasks import TaskRunner
from tests.example_visits import KTP, finalize


def _schedule(qtbot, runtime, target, hours=24.0):
    runtime.settings = replace(
        runtime.settings, backup=BackupSettings(dir=str(target), interval_hours=hours)
    )
    tasks = TaskRunner()
    schedule = ScheduledBackup(runtime, tasks, check_ms=3_600_000, first_check_ms=0)
    qtbot.addWidget(schedule.label)
    return schedule, tasks


def test_a_due_backup_runs_in_the_background_and_the_label_shows_it(
    qtbot, tmp_path, runtime, officer
):
    finalize(runtime, officer, KTP)
    usb = tmp_path / "usb"
    usb.mkdir()
    schedule, tasks = _schedule(qtbot, runtime, usb)

    with qtbot.waitSignal(schedule.finished, timeout=30_000) as done:
        schedule.start()

    status = done.args[0]
    assert not status.failed and status.last_success_at is not None
    (backup,) = [p for p in usb.iterdir()]
    assert json.loads((backup / "manifest.json").read_text())["counts"]["submissions"] == 1
    assert schedule.label.text().startswith(("Cadangan terakhir", "Last backup"))
    assert str(backup) in schedule.label.toolTip()
    assert read_status(runtime.data_dir).last_backup == str(backup)

    schedule.check()  # the next tick: not due again for 24 hours
    qtbot.waitUntil(lambda: not schedule.running, timeout=10_000)
    assert len(list(usb.iterdir())) == 1
    schedule.stop()
    assert tasks.wait_idle(10_000)


def test_a_missing_target_shows_the_failure_and_keeps_the_desk_working(qtbot, tmp_path, runtime):
    schedule, tasks = _schedule(qtbot, runtime, tmp_path / "not-plugged-in")

    with qtbot.waitSignal(schedule.finished, timeout=30_000) as done:
        schedule.start()

    status = done.args[0]
    assert status.error_code == "backup.target_missing"  # a code, worded by the label
    assert "does not exist" in status.error_text("en")
    assert schedule.label.text().startswith(("Cadangan gagal", "Backup failed"))
    assert not (tmp_path / "not-plugged-in").exists()
    schedule.stop()
    assert tasks.wait_idle(10_000)


def test_no_target_means_the_schedule_is_off(qtbot, tmp_path, runtime):
    runtime.settings = replace(runtime.settings, backup=BackupSettings(dir=""))
    tasks = TaskRunner()
    schedule = ScheduledBackup(runtime, tasks, first_check_ms=0)
    qtbot.addWidget(schedule.label)
    schedule.start()
    schedule.check()
    assert not schedule.running
    assert schedule.label.text() in ("Cadangan otomatis tidak aktif", "Scheduled backup off")
    schedule.stop()
