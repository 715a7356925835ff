"""manifest.yml declares every slash command with escaping, the Home tab and its event."""

from __future__ import annotations

import re
from pathlib import Path

from bot.ids import Shortcut

MANIFEST = (Path(__file__).parent.parent / "manifest.yml").read_text()


def test_every_command_is_declared_escaped() -> None:
    entries = re.findall(r"- command: (/\w+)\n((?:\s{6}.*\n)+)", MANIFEST)
    declared = {name: body for name, body in entries}
    assert set(declared) == {"/lead", "/log", "/kudos", "/coach", "/target", "/sales", "/away"}
    for name, body in declared.items():
        assert "should_escape: true" in body, name
        assert "/slack/events" in body, name


def test_home_tab_interactivity_and_events() -> None:
    assert "home_tab_enabled: true" in MANIFEST
    assert "app_home_opened" in MANIFEST
    assert re.search(r"interactivity:\n\s+is_enabled: true", MANIFEST)
    for scope in ("commands", "chat:write", "im:write", "users:read", "files:write"):
        assert f"- {scope}\n" in MANIFEST, scope


def test_the_message_shortcut_is_the_one_the_app_listens_to() -> None:
    assert re.search(
        rf"type: message\n\s+callback_id: {Shortcut.LOG_ACTIVITY.value}\n", MANIFEST
    ), "manifest.yml and bot/ids.py disagree on the shortcut's callback_id"
    assert "message_menu_options_url: https://YOUR-HOST/slack/events" in MANIFEST


def test_the_new_lead_shortcut_is_declared() -> None:
    assert re.search(
        rf"name: New lead\n\s+type: message\n\s+callback_id: {Shortcut.NEW_LEAD.value}\n",
        MANIFEST,
    ), "manifest.yml and bot/ids.py disagree on the New lead shortcut's callback_id"
