"""The web pages in a real browser: Playwright drives Debian's Chromium (headless)
against a real ``tutahi serve`` process on the demo data.

A visitor opens the list, follows a commitment and sees its timeline and pictures; a
community partner signs in, confirms and disputes joint actions naming it and sees the
result on the timeline at once (once with the keyboard alone); a stranger gets 404 for a
partners-only commitment; the pages fit a phone's width and axe-core finds no serious
or critical accessibility violation. Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from application.demo import DIA, HUI_E, PLAN, SECOND_PLAN, commitment_id, partner_id, plan_id
from domain.values import Actor, ActorRole, PartnerRole, Visibility
from interfaces.composition import open_ledger
from tests.e2e.server import running_server, tutahi

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
TIMEOUT_MS = 15_000
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason=f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium); in CI they must run",
)

NZ0004 = commitment_id("NZ0004")
NZ0004_TITLE = "Review progress of the Kia Tūtahi Relationship Accord"
PRIVATE_TITLE = "Kōrero with Hui E! on Ngā Mahinga (partners only)"
ACTIONS = {
    "confirm": "Wānanga on the accord's principles in Ōtautahi",
    "dispute": "Joint submission on the accord review to the Minister",
    "keyboard": "Co-designed the hui programme for Tāmaki Makaurau",
}


@dataclass(frozen=True)
class Site:
    base: str
    hui_e_token: str
    stranger_token: str
    stranger_id: UUID
    private_id: UUID
    private_action: UUID
    actions: dict[str, UUID]

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1].strip()


def api_post(base: str, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base}/api/v1{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        return json.loads(response.read())  # type: ignore[no-any-return]


def make_private_commitment(url: str) -> tuple[UUID, UUID]:
    """Before the server starts: a partners-only commitment led by DIA with Hui E! as
    community partner, a milestone and a joint action naming Hui E!."""
    dia = Actor(ActorRole.AGENCY, partner_id(DIA), DIA)
    ledger = open_ledger(url)
    try:
        created = ledger.create_commitment(
            title=PRIVATE_TITLE,
            description="Shared only with its partners while the kōrero goes on.",
            action_plan="New Zealand National Action Plan 2014–16",
            external_ref="NZ0004-P",
            starts_on=date(2015, 1, 1),
            ends_on=date(2016, 6, 30),
            ogp_values=[],
            visibility=Visibility.PARTNERS,
            actor=dia,
            request_id="browser-private-1",
        )
        assert created.created_id is not None
        cid = created.created_id
        ledger.add_partner(
            cid, partner_id=partner_id(HUI_E), role=PartnerRole.COMMUNITY, actor=dia, request_id="browser-private-2"
        )
        ledger.add_milestone(cid, title="First kōrero held", due_on=date(2015, 6, 30), actor=dia, request_id="bp-3")
        action = ledger.record_joint_action(
            cid,
            summary="Held the first kōrero together",
            occurred_on=date(2015, 5, 1),
            partner_ids=[partner_id(HUI_E)],
            actor=dia,
            request_id="browser-private-4",
        )
        assert action.created_id is not None
        return cid, action.created_id
    finally:
        ledger.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder}/browser.db"
    tutahi(url, "demo")
    stranger = UUID(
        last_line(tutahi(url, "partners", "add", "--name", "Ngāti Whātua Ōrākei", "--kind", "iwi_hapu").stdout)
    )
    hui_e_token = last_line(
        tutahi(url, "tokens", "issue", "--role", "community", "--partner", str(partner_id(HUI_E))).stdout
    )
    stranger_token = last_line(tutahi(url, "tokens", "issue", "--role", "community", "--partner", str(stranger)).stdout)
    dia_token = last_line(tutahi(url, "tokens", "issue", "--role", "agency", "--partner", str(partner_id(DIA))).stdout)
    private_id, private_action = make_private_commitment(url)

    with pytest.MonkeyPatch.context() as env:
        env.setenv("TUTAHI_INSTANCE_PATH", str(folder / "instance"))
        with running_server(url, folder / "server.log") as (base, _):
            # Fresh joint actions on NZ0004 naming Hui E!, recorded by DIA through the REST API.
            actions = {
                key: UUID(
                    api_post(
                        base,
                        f"/commitments/{NZ0004}/actions",
                        dia_token,
                        {"summary": summary, "occurred_on": "2016-02-10", "partner_ids": [str(partner_id(HUI_E))]},
                    )["id"]
                )
                for key, summary in ACTIONS.items()
            }
            yield Site(base, hui_e_token, stranger_token, stranger, private_id, private_action, actions)
    log = (folder / "server.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]


@pytest.fixture(scope="module", autouse=True)
def chromium_present() -> None:
    """Runs first: in CI (where the skip above does not apply) a missing browser fails."""
    if not CHROMIUM.exists():
        pytest.fail(f"CI is set but Debian's Chromium is missing at {CHROMIUM}: browser tests may not skip in CI")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        yield launch(playwright)


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, timeout=60_000)


@dataclass
class Visit:
    """A browser context with its page and every URL the page asked for."""

    context: BrowserContext
    page: Page
    requested: list[str]


def open_visit(browser: Browser, **options: Any) -> Visit:
    context = browser.new_context(locale="en-NZ", **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    return Visit(context, page, requested)


@pytest.fixture
def visit(browser: Browser) -> Iterator[Visit]:
    opened = open_visit(browser)
    try:
        yield opened
    finally:
        opened.context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Visit]:
    opened = open_visit(browser, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        yield opened
    finally:
        opened.context.close()


expect.set_options(timeout=TIMEOUT_MS)


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, timeout=TIMEOUT_MS)
    assert path.stat().st_size > 0
    return path


def goto(page: Page, url: str, status: int = 200) -> None:
    response = page.goto(url, wait_until="load")
    assert response is not None, url
    assert response.status == status, f"{url}: {response.status}"
    assert "text/html" in response.headers.get("content-type", "")
    body = page.content()
    assert "Traceback" not in body and 'File "' not in body, f"{url} shows a stack trace"


def sign_in(page: Page, site: Site, token: str, next_path: str) -> None:
    goto(page, site.url(f"/signin?next={next_path}"))
    page.fill("#token", token)
    page.locator("form.signin button[type=submit]").click()
    page.wait_for_load_state("load")


# -- a visitor --------------------------------------------------------------------------------


def test_a_visitor_opens_the_list_follows_a_commitment_and_sees_its_timeline_and_pictures(
    site: Site, visit: Visit
) -> None:
    page = visit.page
    goto(page, site.url("/"))
    expect(page.locator("h1")).to_have_text("Commitments made together")
    expect(page.get_by_role("heading", name="New Zealand National Action Plan 2014–16")).to_be_visible()
    expect(page.locator("figure.chart svg").first).to_be_visible()
    assert PRIVATE_TITLE not in page.content(), "a partners-only commitment is not listed for visitors"
    screenshot(page, "01-front-page")

    page.get_by_role("link", name=NZ0004_TITLE).click()
    page.wait_for_url(site.url(f"/commitments/{NZ0004}"))
    expect(page.locator("h1")).to_have_text(NZ0004_TITLE)
    expect(page).to_have_title(f"{NZ0004_TITLE} · Tūtahi")
    expect(page.locator(".description")).to_contain_text("Ngā Mahinga (putting the principles into practice)")
    partners = page.locator("section[aria-labelledby=partners-h]")
    expect(partners).to_contain_text("Te Puni Kōkiri")
    expect(partners).to_contain_text("Hui E! Community Aotearoa")

    # The progress pictures, each with a text alternative (caption and figures table).
    charts = page.locator("figure.chart")
    expect(charts).to_have_count(2)
    expect(charts.nth(0).locator("svg")).to_be_visible()
    expect(charts.nth(0).locator("svg")).to_have_attribute("aria-hidden", "true")
    expect(charts.nth(0).locator("figcaption")).to_contain_text("Milestones due and reached over time: 2 of 3 reached.")
    expect(charts.nth(0).locator("figcaption table")).to_contain_text("Community hui on Ngā Mahinga (illustrative)")
    completion = charts.nth(1).locator("figcaption")
    expect(completion).to_contain_text("as the lead agency reported it (substantial as of 22 September 2015)")
    expect(completion).to_contain_text("limited on 30 June 2015, substantial on 28 February 2017")
    expect(completion.locator("table")).to_contain_text("Independent Reporting Mechanism (independent)")
    assessments = page.locator("table.assessments")
    expect(assessments).to_contain_text("end-of-term")
    expect(page.locator(".badges")).to_contain_text("independently assessed: substantial")

    # The timeline, newest first, macrons intact.
    entries = page.locator("section.timeline-section li.entry")
    timeline = page.locator("section.timeline-section")
    expect(timeline).to_contain_text("Te Puni Kōkiri confirmed the joint action “Co-hosted a community hui")
    expect(timeline).to_contain_text("added the milestone “Community hui on Ngā Mahinga (illustrative)”")
    expect(timeline).to_contain_text("Department of Internal Affairs recorded a joint action with Hui E!")
    expect(timeline).not_to_contain_text("created the commitment")
    screenshot(page, "02-commitment-page")

    # Paged by cursor: the oldest entry is on the next page.
    assert entries.count() == 20
    page.get_by_role("link", name="Older entries").click()
    page.wait_for_url(re.compile(r".*\?after=[^#]+#timeline$"))
    expect(entries.last).to_contain_text("Department of Internal Affairs created the commitment “Review progress")
    # Recorded in the same instant, the lead's joining comes just after the creation.
    expect(entries.nth(entries.count() - 2)).to_contain_text("Department of Internal Affairs joined as lead agency")

    # The search box ignores capitals and macrons.
    goto(page, site.url("/"))
    page.fill("#q", "kia tutahi")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r".*\?q=kia\+tutahi$"))
    expect(page.locator("li.card")).to_have_count(1)
    expect(page.locator("li.card h3")).to_have_text(NZ0004_TITLE)
    screenshot(page, "03-search-kia-tutahi")

    # A partner's page, from the commitment's partner list.
    goto(page, site.url(f"/commitments/{NZ0004}"))
    page.get_by_role("link", name="Hui E! Community Aotearoa").click()
    page.wait_for_url(site.url(f"/partners/{partner_id(HUI_E)}"))
    expect(page.locator("h1")).to_have_text("Hui E! Community Aotearoa")
    expect(page.locator("section.timeline-section")).to_contain_text("Hui E! Community Aotearoa confirmed")
    screenshot(page, "04-partner-page")

    elsewhere = [url for url in visit.requested if not url.startswith(site.base + "/") and not url.startswith("data:")]
    assert not elsewhere, f"the pages fetched from another host: {elsewhere}"


# -- a community partner ----------------------------------------------------------------------


def action_item(page: Page, site: Site, key: str) -> Any:
    return page.locator(f"#action-{site.actions[key]}")


def test_a_community_partner_signs_in_confirms_a_joint_action_and_sees_it_on_the_timeline(
    site: Site, visit: Visit
) -> None:
    page = visit.page
    goto(page, site.url(f"/commitments/{NZ0004}"))
    assert page.locator("form.respond").count() == 0, "visitors get no response forms"
    page.get_by_role("link", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/signin\?next=.*"))
    expect(page.locator("h1")).to_have_text("Sign in")
    page.fill("#token", site.hui_e_token)
    screenshot(page, "05-signin")
    page.locator("form.signin button[type=submit]").click()
    page.wait_for_url(site.url(f"/commitments/{NZ0004}"))
    expect(page.locator(".flashes")).to_contain_text("Signed in as Hui E! Community Aotearoa.")
    expect(page.locator("header nav")).to_contain_text("Sign out")

    # The session cookie: HttpOnly, Secure, SameSite=Lax; scripts cannot read it.
    cookies = {cookie["name"]: cookie for cookie in visit.context.cookies()}
    session = cookies["tutahi_session"]
    assert session["httpOnly"] is True and session["secure"] is True and session["sameSite"] == "Lax", session
    assert "tutahi_session" not in page.evaluate("document.cookie")

    item = action_item(page, site, "confirm")
    expect(item).to_contain_text(ACTIONS["confirm"])
    expect(item).to_contain_text("Hui E! Community Aotearoa: no response yet")
    item.get_by_label("Note (optional)").fill("Kei te pai: we were there together.")
    item.get_by_role("button", name="Confirm").click()
    page.wait_for_url(site.url(f"/commitments/{NZ0004}#timeline"))

    expect(page.locator(".flashes")).to_contain_text("Thank you: your confirmation is on the timeline.")
    item = action_item(page, site, "confirm")
    expect(item.locator(".responses")).to_contain_text("Hui E! Community Aotearoa: confirmed")
    expect(item.locator("strong.resp-confirmed")).to_have_text("confirmed")
    expect(item.locator("form.respond")).to_have_count(0)
    newest = page.locator("section.timeline-section li.entry").first
    expect(newest).to_contain_text(
        f"Hui E! Community Aotearoa confirmed the joint action “{ACTIONS['confirm']}”. "
        "Note: Kei te pai: we were there together."
    )
    expect(newest.locator(".meta")).to_contain_text("Hui E! Community Aotearoa")
    screenshot(page, "06-confirmed-on-timeline")

    # Sign out (a form with its CSRF token); the forms go away.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(site.url("/"))
    expect(page.locator(".flashes")).to_contain_text("Signed out.")
    goto(page, site.url(f"/commitments/{NZ0004}"))
    expect(page.locator("form.respond")).to_have_count(0)


def test_a_community_partner_disputes_a_joint_action(site: Site, visit: Visit) -> None:
    page = visit.page
    sign_in(page, site, site.hui_e_token, f"/commitments/{NZ0004}")
    item = action_item(page, site, "dispute")
    item.get_by_label("Note (optional)").fill("We did not sign this submission.")
    item.get_by_role("button", name="Dispute").click()
    page.wait_for_url(site.url(f"/commitments/{NZ0004}#timeline"))
    expect(page.locator(".flashes")).to_contain_text("Your dispute is on the timeline.")
    expect(action_item(page, site, "dispute").locator("strong.resp-disputed")).to_have_text("disputed")
    expect(page.locator("section.timeline-section li.entry").first).to_contain_text(
        f"Hui E! Community Aotearoa disputed the joint action “{ACTIONS['dispute']}”. Note: We did not sign this"
    )
    screenshot(page, "07-disputed-on-timeline")


# -- partners-only commitments ----------------------------------------------------------------


def test_a_stranger_gets_404_for_a_partners_only_commitment(site: Site, visit: Visit) -> None:
    page = visit.page
    path = f"/commitments/{site.private_id}"
    goto(page, site.url(path), status=404)
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.locator(".lede")).to_contain_text("shared only with partners")
    assert PRIVATE_TITLE not in page.content()
    screenshot(page, "08-partners-only-404-visitor")

    for feed in ("feed.atom", "milestones.ics"):
        response = page.request.get(site.url(f"{path}/{feed}"), timeout=TIMEOUT_MS)
        assert response.status == 404, feed
        assert PRIVATE_TITLE not in response.text()

    # Signed in as a partner that is not a member: still 404.
    sign_in(page, site, site.stranger_token, "/")
    expect(page.locator(".flashes")).to_contain_text("Signed in as Ngāti Whātua Ōrākei.")
    goto(page, site.url(path), status=404)
    expect(page.locator("h1")).to_have_text("Not found")
    goto(page, site.url("/"))
    assert PRIVATE_TITLE not in page.content()
    screenshot(page, "09-partners-only-404-non-member")


def test_a_member_partner_sees_the_partners_only_commitment(site: Site, visit: Visit) -> None:
    page = visit.page
    sign_in(page, site, site.hui_e_token, f"/commitments/{site.private_id}")
    expect(page.locator("h1")).to_have_text(PRIVATE_TITLE)
    expect(page.locator(".badge.private")).to_have_text("partners only")
    expect(page.locator(f"#action-{site.private_action} form.respond")).to_have_count(1)
    goto(page, site.url("/"))
    expect(page.get_by_role("link", name=PRIVATE_TITLE)).to_be_visible()


def test_an_unknown_commitment_gets_a_friendly_404_page(site: Site, visit: Visit) -> None:
    page = visit.page
    goto(page, site.url("/commitments/00000000-0000-4000-8000-000000000000"), status=404)
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.get_by_role("link", name="Go to the list of commitments")).to_be_visible()
    screenshot(page, "10-unknown-404")


# -- the keyboard -----------------------------------------------------------------------------

FOCUSED = """() => {
  const e = document.activeElement;
  return {
    tag: e.tagName.toLowerCase(), id: e.id || "", cls: e.className || "",
    text: (e.innerText || e.value || "").trim().slice(0, 100),
    name: e.getAttribute("name") || "", value: e.getAttribute("value") || "",
    action: e.form ? (e.form.getAttribute("action") || "") : "", href: e.getAttribute("href") || "",
  };
}"""


def focused(page: Page) -> dict[str, str]:
    return page.evaluate(FOCUSED)  # type: ignore[no-any-return]


def tab_until(page: Page, wanted: Any, limit: int = 150) -> list[dict[str, str]]:
    """Presses Tab until ``wanted(focused)`` holds (at most ``limit`` times)."""
    seen: list[dict[str, str]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        seen.append(now)
        if wanted(now):
            return seen
    raise AssertionError(f"Tab never reached it; focus went through {[(s['tag'], s['text'][:30]) for s in seen]}")


def test_the_keyboard_reaches_the_skip_link_first_then_the_navigation_and_the_search(site: Site, visit: Visit) -> None:
    page = visit.page
    goto(page, site.url("/"))
    page.keyboard.press("Tab")
    first = focused(page)
    assert first["cls"] == "skip" and first["text"] == "Skip to content", first
    box = page.locator("a.skip").bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, "the skip link shows when focused"
    screenshot(page, "11-skip-link-focused")

    path = tab_until(page, lambda f: f["text"] == "Sign in")
    assert [f["text"] for f in path] == ["◆ Tūtahi", "Commitments", "API", "Sign in"]

    # The skip link moves focus to the main content; Tab then reaches the search box.
    goto(page, site.url("/"))
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    tab_until(page, lambda f: f["id"] == "q", limit=3)
    page.keyboard.type("kia tutahi")
    tab_until(page, lambda f: f["tag"] == "button" and f["text"] == "Search", limit=3)
    path = tab_until(page, lambda f: f["tag"] == "a" and f["text"] == NZ0004_TITLE)
    assert {f["text"] for f in path} >= {"Better Public Services (BPS) Results programme"}
    page.keyboard.press("Enter")
    page.wait_for_url(site.url(f"/commitments/{NZ0004}"))
    expect(page.locator("h1")).to_have_text(NZ0004_TITLE)


def test_a_partner_signs_in_and_confirms_with_the_keyboard_alone(site: Site, visit: Visit) -> None:
    page = visit.page
    goto(page, site.url(f"/signin?next=/commitments/{NZ0004}"))
    tab_until(page, lambda f: f["id"] == "token", limit=10)
    page.keyboard.type(site.hui_e_token)
    page.keyboard.press("Enter")
    page.wait_for_url(site.url(f"/commitments/{NZ0004}"))
    expect(page.locator(".flashes")).to_contain_text("Signed in as Hui E! Community Aotearoa.")

    action = str(site.actions["keyboard"])
    tab_until(page, lambda f: f["id"] == f"note-{action}")
    page.keyboard.type("Ka pai.")
    path = tab_until(page, lambda f: f["tag"] == "button" and action in f["action"], limit=3)
    assert path[-1]["value"] == "confirmed" and path[-1]["text"] == "Confirm"
    screenshot(page, "12-keyboard-confirm-focused")
    page.keyboard.press("Enter")
    page.wait_for_url(site.url(f"/commitments/{NZ0004}#timeline"))
    expect(page.locator(".flashes")).to_contain_text("Thank you: your confirmation is on the timeline.")
    expect(page.locator("section.timeline-section li.entry").first).to_contain_text(
        f"Hui E! Community Aotearoa confirmed the joint action “{ACTIONS['keyboard']}”. Note: Ka pai."
    )


# -- a phone's width --------------------------------------------------------------------------

PAGES = {
    "front": lambda site: "/",
    "commitment": lambda site: f"/commitments/{NZ0004}",
    "partner": lambda site: f"/partners/{partner_id(HUI_E)}",
    "history": lambda site: f"/commitments/{NZ0004}/history",
    "diff": lambda site: f"/commitments/{NZ0004}/diff?from=1&to=14",
    "as-of": lambda site: f"/commitments/{NZ0004}?as_of=2199-12-31",
    "plan": lambda site: f"/plans/{plan_id(PLAN)}",
    "second-plan": lambda site: f"/plans/{plan_id(SECOND_PLAN)}",
}


def assert_no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    assert inner == PHONE["width"], inner
    assert width <= PHONE["width"] + 1, f"the page is {width}px wide at a {PHONE['width']}px phone: it scrolls sideways"


@pytest.mark.parametrize("name", list(PAGES))
def test_pages_fit_a_phone_without_sideways_scrolling(site: Site, phone: Visit, name: str) -> None:
    page = phone.page
    goto(page, site.url(PAGES[name](site)))
    assert_no_horizontal_scroll(page)
    screenshot(page, f"13-phone-{name}")
    if name == "commitment":
        # Without the table's head, each date says what it is.
        row = page.locator("table.milestones tbody tr").first
        expect(row.locator("td").first).to_be_visible()
        label = row.locator("td").first.evaluate("e => getComputedStyle(e, '::before').content")
        assert label == '"Due: "', label
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("section[aria-labelledby=milestones-h]").screenshot(
            path=str(SCREENSHOTS / "13-phone-commitment-milestones.png"), timeout=TIMEOUT_MS
        )


def test_the_commitment_page_with_response_forms_fits_a_phone(site: Site, phone: Visit) -> None:
    page = phone.page
    sign_in(page, site, site.hui_e_token, f"/commitments/{site.private_id}")
    expect(page.locator("form.respond")).to_have_count(1)
    assert_no_horizontal_scroll(page)
    screenshot(page, "14-phone-commitment-signed-in")


# -- public history ---------------------------------------------------------------------------


def test_a_visitor_reads_the_history_opens_a_diff_and_the_page_as_of_a_day(site: Site, visit: Visit) -> None:
    page = visit.page
    goto(page, site.url(f"/commitments/{NZ0004}"))
    page.get_by_role("link", name="every version and what changed").click()
    page.wait_for_load_state("load")
    expect(page.locator("h1")).to_have_text(f"History of “{NZ0004_TITLE}”")
    rows = page.locator("table.history tbody tr")
    first = rows.last  # newest first: version 1 is at the bottom
    expect(first.locator("th")).to_have_text("1")
    expect(first).to_contain_text("created the commitment")
    expect(first).to_contain_text(f"{DIA} agency")
    screenshot(page, "20-history")
    # The version where Hui E! joined: its diff names the partner added.
    newest = int(rows.first.locator("th").inner_text())
    joined = rows.filter(has_text="added a partner").last
    number = int(joined.locator("th").inner_text())
    joined.get_by_role("link").click()
    page.wait_for_load_state("load")
    expect(page.locator("h1")).to_have_text(f"What changed from version {number - 1} to version {number}")
    expect(page.locator("table.diff tbody")).to_contain_text(": added")
    # Compare any two versions with the form.
    page.fill("#from", "1")
    page.fill("#to", str(newest))
    page.get_by_role("button", name="Compare").click()
    page.wait_for_load_state("load")
    expect(page.locator("table.diff tbody")).to_contain_text("Milestone “Survey of agencies on the accord")
    screenshot(page, "21-diff")
    # The page as it stood at the end of a day, from the history's date field.
    goto(page, site.url(f"/commitments/{NZ0004}/history"))
    page.fill("#as_of", "2199-12-31")
    page.get_by_role("button", name="Show it").click()
    page.wait_for_load_state("load")
    expect(page.locator(".notice.past")).to_contain_text(
        "as it stood at the end of 31 December 2199 (New Zealand time)"
    )
    expect(page.locator("h1")).to_have_text(NZ0004_TITLE)
    # A version that does not exist is a friendly page, not a trace.
    goto(page, site.url(f"/commitments/{NZ0004}/diff?from=1&to=9999"), status=404)
    goto(page, site.url(f"/commitments/{NZ0004}/diff?from=x&to=2"), status=400)


# -- action plans -----------------------------------------------------------------------------


def test_a_visitor_finds_the_plans_on_the_home_page_and_reads_a_plans_roll_up(site: Site, visit: Visit) -> None:
    page = visit.page
    goto(page, site.url("/"))
    plans = page.locator("section.plans li")
    expect(plans).to_have_count(2)
    expect(plans.first).to_contain_text(SECOND_PLAN)  # the latest first
    expect(plans.last).to_contain_text("ended")
    plans.last.get_by_role("link", name=PLAN).click()
    page.wait_for_load_state("load")
    assert page.url == site.url(f"/plans/{plan_id(PLAN)}")
    expect(page.locator("h1")).to_have_text(PLAN)
    # The four public commitments (the partners-only one is not the public's), their
    # completion as reported and as assessed, and milestones due and reached.
    expect(page.locator("#rollup-commitments")).to_have_text("4")
    expect(page.locator("#rollup-reached")).to_have_text("7 of 9")
    substantial = page.locator("table.completion-rollup tr", has_text="substantial")
    expect(substantial.locator("td")).to_have_text(["4", "4"])
    expect(page.locator("section[aria-labelledby=commitments-h] li.card")).to_have_count(4)
    expect(page.locator("figure.chart svg")).to_have_count(3)
    expect(page.locator("table.amendments")).to_contain_text("status: ended")
    screenshot(page, "22-plan")
    page.get_by_role("link", name=NZ0004_TITLE).click()
    page.wait_for_load_state("load")
    expect(page.locator("h1")).to_have_text(NZ0004_TITLE)


def test_the_second_plan_shows_the_extension_of_its_consultation(site: Site, visit: Visit) -> None:
    page = visit.page
    goto(page, site.url(f"/plans/{plan_id(SECOND_PLAN)}"))
    extension = page.locator("table.amendments tr", has_text="21 April 2016")
    expect(extension).to_contain_text("extended the consultation")
    expect(extension).to_contain_text("starts on: 1 October 2016")
    expect(page.locator("#rollup-commitments")).to_have_text("0")


def test_a_member_partner_sees_the_partners_only_commitment_counted_in_its_plan(site: Site, visit: Visit) -> None:
    page = visit.page
    sign_in(page, site, site.hui_e_token, f"/plans/{plan_id(PLAN)}")
    expect(page.locator("#rollup-commitments")).to_have_text("5")
    expect(page.get_by_role("link", name=PRIVATE_TITLE)).to_have_count(1)


# -- accessibility ----------------------------------------------------------------------------

AXE = Axe()


def serious_violations(page: Page) -> list[str]:
    results = AXE.run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in ("serious", "critical"):
            targets = [node.get("target") for node in violation.get("nodes", [])][:8]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']}; {targets}")
    return found


@pytest.mark.parametrize("name", list(PAGES))
def test_axe_finds_no_serious_or_critical_violations(site: Site, visit: Visit, name: str) -> None:
    page = visit.page
    goto(page, site.url(PAGES[name](site)))
    found = serious_violations(page)
    assert not found, "axe-core: " + "\n".join(found)


@pytest.mark.parametrize("path", ["/signin", "/commitments/{private}", "/nowhere"])
def test_axe_finds_none_on_the_signin_form_the_response_forms_and_the_404_page(
    site: Site, visit: Visit, path: str
) -> None:
    page = visit.page
    if "{private}" in path:
        sign_in(page, site, site.hui_e_token, path.format(private=site.private_id))
        expect(page.locator("form.respond")).to_have_count(1)
    else:
        goto(page, site.url(path), status=404 if path == "/nowhere" else 200)
    found = serious_violations(page)
    assert not found, "axe-core: " + "\n".join(found)
