"""Journey: create a patient, record two risk factors, see the expected cards."""

from playwright.sync_api import expect


def test_it_creates_a_patient_and_shows_the_cards(page, live_catalog, browser_user, log_in, screenshot):
    log_in(browser_user.username)
    page.get_by_role("link", name="Patients").click()
    page.get_by_role("link", name="New patient").click()
    page.get_by_label("Display name").fill("Gloria Journey")
    page.get_by_label("MRN").fill("J-100")
    page.get_by_label("Date of birth").fill("1950-06-01")
    page.get_by_label("Sex").select_option("female")
    page.get_by_role("button", name="Add patient").click()

    expect(page.get_by_role("heading", name="Risk factors for Gloria Journey")).to_be_visible()
    page.get_by_label("Angle-closure (narrow-angle) glaucoma").check()
    page.locator("#id_meds-0-name").fill("Sertraline")
    screenshot("risk-form")
    page.get_by_role("button", name="Save as a new version").click()

    expect(page.get_by_text("Risk profile saved as version 1.")).to_be_visible()
    page.get_by_label("Indication", exact=True).select_option("migraine-prophylaxis")
    page.get_by_role("button", name="Check").click()
    cards = page.locator("article[data-code]")
    expect(page.locator('article[data-code="older-age"]')).to_be_visible()
    expect(page.locator('article[data-code="angle-closure-glaucoma"]')).to_be_visible()
    expect(page.locator('article[data-code="serotonergic-drug"]')).to_be_visible()
    codes = cards.evaluate_all("els => els.map(e => e.dataset.code)")
    assert codes.index("angle-closure-glaucoma") < codes.index("baseline-ecg")
    expect(page.get_by_text("warnings need a recorded reason")).to_be_visible()
    screenshot("cards")
