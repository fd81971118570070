"""Sign-in in a real browser against a real OpenID Connect provider on loopback (oidc-provider-mock): a
stranger is refused, an allowed user enters, signs out, comes back to their history, and one person's
requests beyond MAX_QUEUED_PER_USER get a message."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import image_bytes
from tests.e2e.browser import ANSWERS, ask, go_to, longest_answers, shortest_answers, upload, wait_idle
from tests.e2e.conftest import ARTIFACTS, Server, free_port, start_server, stop_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ALLOWED = "alice@example.com"
STRANGER = "mallory@elsewhere.example"


@pytest.fixture(scope="module")
def identity_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OpenID Connect provider: any subject typed into its form signs in, with that e-mail."""
    port = free_port()
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    with log.open("w") as sink:
        process = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--port", str(port)],
                                   stdout=sink, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/.well-known/openid-configuration", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the OIDC provider did not start:\n{log.read_text()}") from None
            time.sleep(0.2)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def signed_server(identity_provider: str, tiny_smolvlm: Path, tiny_models: dict[str, Path],
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:  # fmt: skip
    """The dashboard with [auth] configured: answers slowed so a second and third request really wait."""
    folder = tmp_path_factory.mktemp("signed")
    port = free_port()
    secrets = folder / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "e2e-cookie-secret-not-for-production"\n'
        'client_id = "vlm-studio-e2e"\n'
        'client_secret = "e2e-client-secret"\n'
        f'server_metadata_url = "{identity_provider}/.well-known/openid-configuration"\n'
    )
    server = start_server(tiny_smolvlm, tiny_models, folder, slow_tokens_s=0.05, port=port,
                          extra_env={"ALLOWED_DOMAINS": "example.com", "ALLOWED_EMAILS": "bob@partner.example",
                                     "MAX_QUEUED_PER_USER": "1"},
                          extra_args=("--secrets.files", str(secrets)))  # fmt: skip
    try:
        yield server
    finally:
        stop_server(server, "-signed")


def _sign_in(tab, server: Server, email: str) -> None:
    tab.goto(server.url)
    tab.get_by_text("This server is open only after signing in.").wait_for()
    tab.get_by_role("button", name="Sign in").click()
    tab.locator('input[name="sub"]').fill(email)  # the provider's own form
    tab.get_by_role("button", name="Authorize").click()
    tab.wait_for_url(re.compile(re.escape(server.url)))
    wait_idle(tab)


def _sign_out(tab, where, server: Server) -> None:
    """Sign out as a person does: the app's button, then the provider's own end-of-session page, back to the app."""
    where.get_by_role("button", name="Sign out").click()
    tab.get_by_role("button", name="End session").click()
    tab.wait_for_url(re.compile(re.escape(server.url)))
    tab.goto(server.url)
    tab.get_by_text("This server is open only after signing in.").wait_for()


def test_a_stranger_is_refused_and_an_allowed_user_finds_their_history_after_signing_out(browser, signed_server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    _sign_in(tab, signed_server, STRANGER)
    tab.get_by_text(f"The account {STRANGER} may not use this server").wait_for()
    assert tab.locator('[data-testid="stFileUploaderDropzoneInput"]').count() == 0  # nothing of the app
    _sign_out(tab, tab, signed_server)
    context.close()

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    _sign_in(tab, signed_server, ALLOWED)
    tab.locator('[data-testid="stSidebar"]').get_by_text(f"Signed in as {ALLOWED}").wait_for()
    assert "s=" not in tab.url  # the history belongs to the user, not to a link
    picture = Path(ARTIFACTS) / "sign-in-picture.png"
    picture.parent.mkdir(exist_ok=True)
    picture.write_bytes(image_bytes((320, 240), "olive"))
    upload(tab, signed_server.url, picture, "320×240 px")
    go_to(tab, "Chat", "Chat")
    shortest_answers(tab)  # the answer only has to be there after signing in again
    ask(tab, "Who am I talking to?")
    tab.locator(ANSWERS).nth(1).get_by_text("tokens").wait_for(timeout=120_000)
    wait_idle(tab)

    _sign_out(tab, tab.locator('[data-testid="stSidebar"]'), signed_server)
    _sign_in(tab, signed_server, ALLOWED)
    go_to(tab, "Chat", "Chat")
    tab.locator(ANSWERS).nth(1).wait_for()
    assert tab.locator(ANSWERS).nth(0).inner_text().strip().endswith("Who am I talking to?")
    tab.screenshot(path=str(ARTIFACTS / "sign-in-history.png"), full_page=True)
    context.close()


def test_one_persons_requests_beyond_the_limit_get_a_message(browser, signed_server, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    first = context.new_page()
    first.set_default_timeout(60_000)
    _sign_in(first, signed_server, "bob@partner.example")
    picture = tmp_path / "photo.png"
    picture.write_bytes(image_bytes((320, 240), "maroon"))
    upload(first, signed_server.url, picture, "320×240 px")
    tabs = [first]
    for _ in range(2):  # the same person in two more tabs (one sign-in for the browser)
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        tab.goto(f"{signed_server.url}/Chat")
        wait_idle(tab)
        tabs.append(tab)
    go_to(first, "Chat", "Chat")
    for tab in tabs:
        longest_answers(tab)
    ask(tabs[0], "First, a long answer")
    tabs[0].locator(ANSWERS).nth(1).locator('[data-testid="stMarkdownContainer"]').first.wait_for()
    ask(tabs[1], "Second, it waits")
    tabs[1].get_by_text(re.compile(r"1st in line|in line")).first.wait_for()
    ask(tabs[2], "Third, one too many")
    tabs[2].get_by_text("Your requests already waiting: 1 — the limit for one person").wait_for()
    tabs[2].screenshot(path=str(ARTIFACTS / "sign-in-queue-limit.png"), full_page=True)
    for tab in tabs[:2]:
        tab.get_by_role("button", name="Stop").first.click()
    context.close()
