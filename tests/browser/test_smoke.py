"""Smoke journey: log in, open the indication library, open an indication."""

from playwright.sync_api import expect


def test_it_logs_in_and_browses_the_library(page, live_catalog, browser_user, log_in, screenshot):
    page.goto("/")
    assert "/login/" in page.url
    screenshot("login")

    log_in(browser_user.username)
    expect(page.get_by_role("heading", name="Follow-ups")).to_be_visible()
    page.get_by_role("link", name="Indication library").click()
    expect(page.get_by_role("heading", name="Indication library")).to_be_visible()
    rows = page.locator("table tbody tr th[scope=row] a")
    expect(rows).to_have_count(9)
    expect(page.get_by_text("supports clinical judgement")).to_be_visible()
    screenshot("library")

    page.get_by_role("link", name="Fibromyalgia", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Fibromyalgia")).to_be_visible()
    expect(page.get_by_text("How a low dose can help")).to_be_visible()
    expect(page.get_by_role("heading", name="Dose protocol")).to_be_visible()
    screenshot("indication")

    page.locator(".source-tag").first.click()
    expect(page.get_by_role("heading", name="Source register")).to_be_visible()
