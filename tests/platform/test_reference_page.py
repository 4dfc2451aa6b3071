"""The reference page in a real headless Chromium: it renders every operation of /openapi.json from
the package alone (no network beyond the server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apikit import Server

from imprint.api.operations import OPERATIONS

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs Debian's chromium and chromium-driver "
                    "(apt-get install -y chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_reference_page_renders_every_operation(mock_server: Server, browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver: Any = browser
    driver.get(f"http://{mock_server.endpoint}/reference")
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "div.op"))
    shown = {e.get_attribute("id") for e in driver.find_elements(By.CSS_SELECTOR, "div.op")}
    assert shown == {op.action for op in OPERATIONS}
    train = driver.find_element(By.ID, "Personalizedtxt2imgAddModelTrainJob").text
    assert "objectType" in train and "JSON body" in train and "callbackUrl" in train
    assert driver.find_element(By.ID, "title").text.startswith("imprint personalized text-to-image API")
