"""Headless Chromium (Debian's, through chromedriver) gets the block page for chatgpt.com."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.xdist_group("proxy-browser")]

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
CERTUTIL = shutil.which("certutil")
PAGE_TITLE = "Blocked by your organisation's AI use policy"
CHATGPT_NAME = "ChatGPT (web, desktop, mobile)"

needs_browser = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER and CERTUTIL),
    reason="needs Debian's chromium, chromedriver and certutil (libnss3-tools): apt-get install chromium "
           "chromium-driver libnss3-tools",
)


def nss_home(tmp_path: Path, ca: Path) -> Path:
    """A HOME whose NSS database trusts `ca` as a root for TLS servers (what Chromium on Linux reads)."""
    home = tmp_path / "home"
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True)
    for args in (["-N", "--empty-password"], ["-A", "-n", "shadowgate-test", "-t", "C,,", "-i", str(ca)]):
        subprocess.run([CERTUTIL, "-d", f"sql:{db}", *args], check=True, capture_output=True, timeout=30)
    listed = subprocess.run([CERTUTIL, "-d", f"sql:{db}", "-L"], check=True, capture_output=True, text=True)
    assert "shadowgate-test" in listed.stdout
    return home


def start_chromium(proxy_url: str, home: Path, profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,900", f"--proxy-server={proxy_url}",
                 f"--user-data-dir={profile}",
                 # nothing resolves but the proxy's own address: a leak would fail, not reach the internet
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "SE_OFFLINE": "true",
           "SE_AVOID_STATS": "true"}
    service = Service(executable_path=CHROMEDRIVER, env=env,
                      log_output=str(profile.parent / f"{profile.name}-chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    return driver


@needs_browser
def test_chromium_shows_block_page_with_logged_event_id(proxy, tmp_path, monkeypatch):
    from selenium.webdriver.common.by import By

    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download anything
    monkeypatch.setenv("SE_AVOID_STATS", "true")
    driver = start_chromium(proxy.url, nss_home(tmp_path, proxy.ca), tmp_path / "profile")
    try:
        driver.get("https://chatgpt.com/")  # an untrusted CA would show Chromium's interstitial instead
        shot = tmp_path / "block-page.png"
        assert driver.save_screenshot(str(shot))
        title = driver.title
        heading = driver.find_element(By.TAG_NAME, "h1").text
        event_id = driver.find_element(By.ID, "sg-event-id").text.strip()
        data_id = driver.find_element(By.TAG_NAME, "main").get_attribute("data-event-id")
        body_text = driver.find_element(By.TAG_NAME, "body").text
        scripts = driver.find_elements(By.TAG_NAME, "script")
        url = driver.current_url
    finally:
        driver.quit()

    assert url == "https://chatgpt.com/"
    assert title == PAGE_TITLE
    assert heading == PAGE_TITLE
    assert event_id and event_id == data_id
    assert CHATGPT_NAME in body_text
    assert event_id in body_text
    assert scripts == []
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1024

    event = proxy.flow_event(event_id)
    assert event["status_id"] == 2 and event["action_id"] == 2
    assert event["unmapped"]["shadowgate"]["app"]["id"] == "app-chatgpt"
    assert event["policy"]["uid"] == "policy-block-unsanctioned-ai-chat"
    assert event["http_request"]["url"]["url_string"] == "https://chatgpt.com/"
