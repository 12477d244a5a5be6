"""The catalog in a real browser: headless Chromium opens index.html from file://, searches, follows a link
and reads the view page (owner, TTL, lineage picture, live row count)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from fstore_testing.catalog import Site
from selenium.webdriver.remote.webdriver import WebDriver

CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "install it with: apt-get update && apt-get install -y chromium chromium-driver"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"the catalog browser test needs Debian's chromium package; {INSTALL}", pytrace=False)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    binary = _chromium()
    if not CHROMEDRIVER.exists():
        pytest.fail(f"{CHROMEDRIVER} is missing (chromium-driver package); {INSTALL}", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--window-size=1280,1000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        opts.add_argument(arg)
    # An explicit driver path: Selenium Manager never looks for (or downloads) a driver.
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _visible(driver: WebDriver, selector: str, attribute: str) -> list[str]:
    from selenium.webdriver.common.by import By

    return [
        el.get_attribute(attribute)
        for el in driver.find_elements(By.CSS_SELECTOR, selector)
        if el.is_displayed()
    ]


def test_search_then_follow_a_link_to_the_view_page(browser: WebDriver, site: Site) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    index = site.out_dir / "index.html"
    driver.get(index.as_uri())
    all_views = _visible(driver, "#views tr.view-row", "data-view-id")
    assert all_views == ["user_purchase_features@1", "user_purchase_features@2", "user_session_features"]

    box = driver.find_element(By.ID, "search")
    box.send_keys("session")
    wait = WebDriverWait(driver, 10)
    wait.until(lambda d: len(_visible(d, "#views tr.view-row", "data-view-id")) == 1)
    assert _visible(driver, "#views tr.view-row", "data-view-id") == ["user_session_features"]
    features = _visible(driver, "#features tr.feature-row", "data-feature")
    assert features and all(f.startswith("session_") for f in features), features
    assert "5" in driver.find_element(By.CSS_SELECTOR, "[data-count-for=features]").text

    # An owner matches every view; a term that matches nothing shows the empty state.
    box.clear()
    box.send_keys("growth-ml")
    wait.until(lambda d: len(_visible(d, "#views tr.view-row", "data-view-id")) == 3)
    box.clear()
    box.send_keys("no-such-feature-xyz")
    wait.until(lambda d: d.find_element(By.ID, "no-results").is_displayed())
    box.clear()
    box.send_keys("session")
    wait.until(lambda d: len(_visible(d, "#views tr.view-row", "data-view-id")) == 1)

    link = driver.find_element(By.CSS_SELECTOR, 'tr[data-view-id="user_session_features"] a')
    link.click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "view-name"), "user_session_features"))
    assert driver.current_url.endswith("/views/user_session_features.html")

    facts = driver.find_element(By.CSS_SELECTOR, ".facts")
    assert "growth-ml@example.com" in facts.find_element(By.CSS_SELECTOR, ".fact.owner").text
    assert facts.find_element(By.CSS_SELECTOR, ".fact.ttl .v").text == "2d"
    assert facts.find_element(By.CSS_SELECTOR, ".fact.sla .v").text == "26h"

    svg = driver.find_element(By.CSS_SELECTOR, "svg.lineage")
    assert svg.is_displayed() and svg.size["width"] > 300
    texts = {t.text for t in svg.find_elements(By.CSS_SELECTOR, "g.node text")}
    assert {"training_churn", "training_fraud", "churn_model", "fraud_model"} <= texts, texts
    assert {"raw_sessions", "stg_sessions", "user_session_features"} <= texts, texts

    with duckdb.connect(str(site.duckdb_path), read_only=True) as con:
        row = con.execute("select count(*) from main.user_session_features").fetchone()
    assert row is not None
    rows = row[0]
    assert rows > 0
    shown = driver.find_element(By.ID, "profile-rows").text
    assert int(shown.replace(",", "")) == rows

    driver.back()
    wait.until(lambda d: d.find_element(By.ID, "search").is_displayed())
