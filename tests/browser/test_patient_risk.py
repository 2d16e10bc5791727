"""Journey: create a patient, record two risk factors, see the expected cards."""

from playwright.sync_api import expect


def test_it_creates_a_patient_and_shows_the_cards(page, live_catalog, browser_user, log_in, screenshot):
    csp_errors = []
    page.on("console", lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None)
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
    # Catalog names are offered as you type; choosing one keeps the dose already written.
    row_two = page.locator("#id_meds-1-name")
    row_two.fill("tram 50mg qds")
    row_two.press("ArrowDown")
    expect(page.get_by_role("option", name="Tramacet")).to_have_attribute("aria-selected", "true")
    page.get_by_role("option", name="Tramadol", exact=True).click()
    expect(row_two).to_have_value("Tramadol 50mg qds")
    # Any number of rows: two more than the five offered.
    page.get_by_role("button", name="Add another medicine").click()
    page.get_by_role("button", name="Add another medicine").click()
    page.locator("#id_meds-6-name").fill("Prozac 20 mg OD")
    screenshot("risk-form")
    page.get_by_role("button", name="Save as a new version").click()

    expect(page.get_by_text("Risk profile saved as version 1.")).to_be_visible()
    page.get_by_label("Indication", exact=True).select_option("migraine-prophylaxis")
    page.get_by_role("button", name="Check").click()
    cards = page.locator("article[data-code]")
    expect(page.locator('article[data-code="older-age"]')).to_be_visible()
    expect(page.locator('article[data-code="angle-closure-glaucoma"]')).to_be_visible()
    expect(page.locator('article[data-code="serotonergic-drug"]')).to_be_visible()
    expect(page.locator('article[data-code="cyp2d6-reduced"]')).to_be_visible()
    assert csp_errors == []
    codes = cards.evaluate_all("els => els.map(e => e.dataset.code)")
    # A stacked risk first (76, female, tramadol with amitriptyline: a QT tally of 8), warnings before information.
    assert codes[0] == "qt-tally-raised" and "baseline-ecg" not in codes  # the ECG card folds under the tally
    assert codes.index("serotonergic-drug") < codes.index("angle-closure-glaucoma") < codes.index("seizure-threshold")
    expect(page.get_by_text("warnings need a recorded reason")).to_be_visible()
    screenshot("cards")
