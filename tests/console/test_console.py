"""The console in a real headless Chromium against a real server on the bundled model: sign in,
drop photos, train, watch the progress, generate, see and download images; user strings stay inert;
a wrong secret shows the server's own error; the browser's signer matches the SDK's signatures."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from api.apikit import Server
from PIL import Image
from selenium.common.exceptions import (
    NoAlertPresentException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from imprint.auth.signer import ClientCredentials
from imprint.cli.client.api import ImprintClient
from imprint.runtime import utcnow
from imprint.service import keys, policies, sts, users
from imprint.world.render import render
from imprint.world.subject import Subject

pytestmark = pytest.mark.slow

SUBJECT = Subject("dog", "brown", "spotted", "scarf", "red")
SCENES = ("beach", "snow", "forest", "city", "room")
XSS_NAME = "<img src=x onerror=alert(1)>"


def photo_files(folder: Path) -> list[Path]:
    """Five renders of one subject of the bundled world, in five scenes."""
    paths = []
    for i, scene in enumerate(SCENES):
        path = folder / f"rex-{scene}.png"
        render(SUBJECT, scene, seed=100 + i).save(path)
        paths.append(path)
    return paths


def until(check: Callable[[], Any], timeout: float = 60, what: str = "the page") -> Any:
    """Polls `check`; the page renders as it polls, so an element not there yet, or found a moment
    ago and re-rendered since, counts as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except (StaleElementReferenceException, NoSuchElementException):
            value = None
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout}s"
        time.sleep(0.1)


def by_id(driver: WebDriver, element_id: str) -> Any:
    return driver.find_element(By.ID, element_id)


def shown(driver: WebDriver, element_id: str) -> Any:
    """The element if it is displayed, else None."""
    element = by_id(driver, element_id)
    return element if element.is_displayed() else None


def click_shown(driver: WebDriver, element_id: str, what: str) -> None:
    """Clicks the element once it is displayed; a page that polls re-renders it between finding it
    and clicking it, so the click is retried on a fresh element."""

    def click() -> bool:
        element = shown(driver, element_id)
        if element is None:
            return False
        element.click()
        return True

    until(click, what=what)


def sign_in(driver: WebDriver, server: Server, secret: str | None = None, *, key_id: str | None = None,
            token: str | None = None) -> None:
    driver.get(f"http://{server.endpoint}/console")
    until(lambda: by_id(driver, "signin").is_displayed(), what="the sign-in form")
    by_id(driver, "access-key-id").send_keys(key_id or server.access_key_id)
    by_id(driver, "access-key-secret").send_keys(secret or server.secret)
    if token:
        by_id(driver, "security-token").send_keys(token)
    by_id(driver, "sign-in").click()


def temporary_credentials(server: Server) -> tuple[str, str, str]:
    """STS-style credentials of a RAM user of the server's account with full AiContent access."""
    services = server.runtime.services
    account_id = services.keys.get(server.access_key_id).account_id
    with services.sessions.begin() as s:
        user = users.create_user(s, account_id=account_id, name="console-user", now=utcnow())
        policies.attach(s, user_id=user.id, policy_name="AliyunAiContentFullAccess", policy_type="System",
                        now=utcnow())
        keys.create_key(s, box=services.box, account_id=None, user_id=user.id, now=utcnow())
        creds = sts.issue(s, box=services.box, user_id=user.id, now=utcnow())
    return creds.access_key_id, creds.secret, creds.security_token


def no_alert(driver: WebDriver) -> bool:
    try:
        _ = driver.switch_to.alert
    except NoAlertPresentException:
        return True
    return False


def test_wrong_secret_shows_the_servers_error(browser: WebDriver, server: Server, screenshots: Path) -> None:
    sign_in(browser, server, secret="not-the-secret")
    error = until(lambda: shown(browser, "signin-error"), what="the sign-in error")
    assert error.text.startswith("SignatureDoesNotMatch: ")
    assert not by_id(browser, "workspace").is_displayed()
    browser.save_screenshot(str(screenshots / "01-wrong-secret.png"))


def test_temporary_credentials_sign_in(browser: WebDriver, server: Server) -> None:
    key_id, secret, token = temporary_credentials(server)
    sign_in(browser, server, secret, key_id=key_id, token=token)
    until(lambda: by_id(browser, "workspace").is_displayed(), what="the workspace")
    assert by_id(browser, "whoami-key").text == f"{key_id} (temporary)"
    # The secret is in this tab's storage only, never in a cookie the server would see.
    assert browser.get_cookies() == []


SDK_EXTRA = {"accept": "application/json",
             "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2"}
CAPTURED = [  # signing.md §9.2 and §9.3: (signAcs3 arguments, body text, expected signature)
    ({"method": "POST", "path": "/api/v1/personalizedtxt2img/addModelTrainJob",
      "action": "Personalizedtxt2imgAddModelTrainJob", "contentType": "application/json; charset=utf-8",
      "nonce": "3f2acd1b7ee4081cb2d4b5794525b770",
      "extra": SDK_EXTRA | {"x-acs-credentials-provider": "static_ak"}},
     '{"imageUrl":["https://example.com/a.png","https://example.com/b 图.png"],"name":"我的模型 v1",'
     '"objectType":"dog","trainSteps":400}',
     "d048704c1681608e360dfc6814cd068befc255450ba2d41b53267daec4c83e36"),
    ({"method": "GET", "path": "/api/v1/personalizedtxt2img/queryImageAsset",
      "query": {"encodeFormat": "base64", "imageId": "图片 a+b*c~d/e=f&g%h", "modelId": "model-42",
                "promptId": "p-7"},
      "action": "Personalizedtxt2imgQueryImageAsset", "securityToken": "CAIS-fake-sts-token/+==",
      "nonce": "db1e8b92475fe20a30c3148a73ba8475",
      "extra": SDK_EXTRA | {"x-acs-credentials-provider": "static_sts"}},
     "", "cfcb9f334c75a82d7766dc1d6a6598ac7758775f192fcc74faef72ea86324687"),
]


@pytest.mark.parametrize(("request_args", "body", "expected"), CAPTURED)
def test_browser_signer_matches_sdk_captures(browser: WebDriver, server: Server, request_args: dict[str, Any],
                                             body: str, expected: str) -> None:
    """js/sign.js, with the page's WebCrypto, gives the SDK's captured signatures."""
    browser.get(f"http://{server.endpoint}/console/")
    authorization = browser.execute_async_script("""
        const [args, body, done] = arguments;
        import('/console/js/sign.js').then(async ({ signAcs3 }) => {
          const credentials = { accessKeyId: 'LTAI5tTestAccessKeyId01',
            accessKeySecret: 'TestAccessKeySecretValue0123456789', securityToken: args.securityToken };
          const headers = await signAcs3({ ...args, host: '127.0.0.1:18080', credentials,
            body: new TextEncoder().encode(body), now: new Date('2026-11-25T08:38:16Z') });
          done(headers.authorization);
        }).catch((e) => done(String(e)));
    """, request_args, body)
    assert authorization.endswith(f"Signature={expected}"), authorization


def test_model_name_renders_as_text(browser: WebDriver, server: Server, tmp_path: Path,
                                    screenshots: Path) -> None:
    credentials = ClientCredentials(server.access_key_id, server.secret)
    with ImprintClient(f"http://{server.endpoint}", credentials) as c:
        url = c.upload_image(photo_files(tmp_path)[0].read_bytes())["imageUrl"]
        model_id = c.add_model_train_job(name=XSS_NAME, object_type="dog", image_urls=[url],
                                         train_steps=1)["modelId"]
    sign_in(browser, server)

    def listed() -> Any:
        return [e for e in browser.find_elements(By.CSS_SELECTOR, "[data-testid=model]")
                if e.get_attribute("data-model-id") == model_id]

    until(lambda: listed() and listed()[0].find_element(By.CSS_SELECTOR, "[data-testid=model-name]").text
          == XSS_NAME, what="the model's name in the list, as text")

    def open_model() -> bool:
        listed()[0].click()
        return bool(by_id(browser, "model-title").text == XSS_NAME)

    until(open_model, what="the model's page")
    assert browser.find_elements(By.CSS_SELECTOR, "#model-list img, #model-title img") == []
    assert no_alert(browser)
    browser.save_screenshot(str(screenshots / "02-inert-name.png"))


def test_photos_to_gallery(browser: WebDriver, server: Server, tmp_path: Path, downloads: Path,
                           screenshots: Path) -> None:
    sign_in(browser, server)
    until(lambda: by_id(browser, "workspace").is_displayed(), what="the workspace after sign-in")
    browser.save_screenshot(str(screenshots / "03-models.png"))

    by_id(browser, "new-model-button").click()
    until(lambda: by_id(browser, "new-model").is_displayed(), what="the new-model form")
    by_id(browser, "model-name").send_keys("Rex")
    by_id(browser, "object-type").send_keys("dog")
    photos = photo_files(tmp_path)
    # Four through the file chooser, one dropped onto the drop zone as a browser drop delivers it.
    by_id(browser, "photo-input").send_keys("\n".join(str(p) for p in photos[:4]))
    browser.execute_script("""
        const [bytes, name] = arguments;
        const data = new DataTransfer();
        const content = Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0));
        data.items.add(new File([content], name, { type: 'image/png' }));
        const drop = new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true });
        document.getElementById('dropzone').dispatchEvent(drop);
    """, base64.b64encode(photos[4].read_bytes()).decode(), photos[4].name)
    until(lambda: len(browser.find_elements(By.CSS_SELECTOR, "[data-testid=photo]")) == 5, what="five photos")
    by_id(browser, "train-steps").send_keys("100")
    browser.save_screenshot(str(screenshots / "04-new-model.png"))
    by_id(browser, "train-button").click()

    until(lambda: by_id(browser, "model-view").is_displayed() and by_id(browser, "model-title").text == "Rex",
          timeout=60, what="the new model's page")
    seen: list[int] = []

    def finished() -> bool:
        # The status is read before the bar: a poll can re-render between the two reads, and a bar
        # read after the FINISHED text belongs to the same or a later render, so it must say 100.
        done = by_id(browser, "model-progress").text.startswith("FINISHED")
        bar = browser.find_elements(By.CSS_SELECTOR, "[data-testid=model-progress-bar]")
        if bar:
            seen.append(int(bar[0].get_attribute("data-percent")))
            if 0 < seen[-1] < 100 and not (screenshots / "05-training.png").exists():
                browser.save_screenshot(str(screenshots / "05-training.png"))
        return done

    until(finished, timeout=400, what="the training to finish")
    assert seen[-1] == 100 and seen == sorted(seen), seen
    assert any(0 < p < 100 for p in seen), f"no progress between 0 and 100% was shown: {seen}"
    failure = by_id(browser, "model-failure")
    assert not failure.is_displayed()

    prompt = by_id(browser, "prompt")
    prompt.clear()
    prompt.send_keys("a ")
    by_id(browser, "insert-token").click()
    prompt.send_keys(" on the beach")
    assert prompt.get_attribute("value") == "a <special-token> on the beach"
    count = by_id(browser, "image-number")
    count.clear()
    count.send_keys("2")
    by_id(browser, "seed").send_keys("7")
    browser.find_element(By.CSS_SELECTOR, "#controls summary").click()
    by_id(browser, "steps").send_keys("3")
    Select(by_id(browser, "scheduler")).select_by_value("euler_a")
    by_id(browser, "negative-prompt").send_keys("blurry")
    by_id(browser, "generate-button").click()

    loaded = "[data-testid=image][data-loaded='1']"
    until(lambda: len(browser.find_elements(By.CSS_SELECTOR, loaded)) == 2, timeout=400,
          what="two generated images")
    assert by_id(browser, "gallery").find_element(By.CSS_SELECTOR, "[data-testid=job-prompt]").text == \
        "a <special-token> on the beach"
    browser.save_screenshot(str(screenshots / "06-gallery.png"))

    def open_large_view() -> bool:
        browser.find_elements(By.CSS_SELECTOR, loaded)[0].click()
        return by_id(browser, "lightbox").is_displayed()

    until(open_large_view, what="the large view")
    natural = browser.execute_script("return document.getElementById('lightbox-image').naturalWidth")
    assert natural > 0
    browser.save_screenshot(str(screenshots / "07-large-view.png"))
    by_id(browser, "lightbox-download").click()
    saved = until(lambda: [p for p in downloads.iterdir() if p.suffix == ".png"], what="the download")
    with Image.open(io.BytesIO(saved[0].read_bytes())) as image:
        assert image.format == "PNG" and image.width == natural
    by_id(browser, "lightbox-close").click()

    # The controls reached the job as asked.
    model_id = browser.execute_script("return decodeURIComponent(location.hash.split('/').pop())")
    job_id = by_id(browser, "gallery").find_element(By.CSS_SELECTOR, "[data-testid=job]").get_attribute(
        "data-job-id")
    with client_for(server) as c:
        controls = c.inference_job(job_id).data["controls"]
    assert (controls["steps"], controls["scheduler"], controls["negativePrompt"]) == (3, "euler_a", "blurry")

    by_id(browser, "download-adapter").click()
    until(lambda: (downloads / f"{model_id}.safetensors").is_file(), what="the adapter download")

    by_id(browser, "delete-model").click()
    browser.save_screenshot(str(screenshots / "09-delete-confirm.png"))
    by_id(browser, "confirm-delete").click()
    until(lambda: not by_id(browser, "model-view").is_displayed() and not [
        e for e in browser.find_elements(By.CSS_SELECTOR, "[data-testid=model]")
        if e.get_attribute("data-model-id") == model_id], what="the model to go")
    with client_for(server) as c:
        assert model_id not in [m["modelId"] for m in c.list_models()]
    assert no_alert(browser)


def client_for(server: Server) -> ImprintClient:
    return ImprintClient(f"http://{server.endpoint}", ClientCredentials(server.access_key_id, server.secret))


def test_cancel_a_training(browser: WebDriver, server: Server, tmp_path: Path, screenshots: Path) -> None:
    with client_for(server) as c:
        url = c.upload_image(photo_files(tmp_path)[1].read_bytes())["imageUrl"]
        model_id = c.add_model_train_job(name="Too long", object_type="dog", image_urls=[url],
                                         train_steps=2000)["modelId"]
    sign_in(browser, server)
    browser.get(f"http://{server.endpoint}/console/#/model/{model_id}")
    click_shown(browser, "cancel-training", what="the cancel button")
    failure = until(lambda: shown(browser, "model-failure"), what="the cancelled training")
    assert failure.text == "cancelled"
    assert by_id(browser, "model-progress").text.startswith("TRAINING_TERMINATED")
    assert not browser.find_elements(By.ID, "cancel-training")
    browser.save_screenshot(str(screenshots / "10-cancelled.png"))


def test_pasted_urls_and_a_failure_reason(browser: WebDriver, server: Server, screenshots: Path) -> None:
    """A model made from a pasted URL that cannot be fetched fails, and the page says why."""
    sign_in(browser, server)
    until(lambda: by_id(browser, "workspace").is_displayed(), what="the workspace")
    by_id(browser, "new-model-button").click()
    by_id(browser, "model-name").send_keys("Unreachable")
    by_id(browser, "object-type").send_keys("dog")
    by_id(browser, "photo-urls").send_keys("http://127.0.0.1:9/rex.png")
    by_id(browser, "train-button").click()
    until(lambda: by_id(browser, "model-title").text == "Unreachable", what="the new model's page")
    failure = until(lambda: shown(browser, "model-failure"), timeout=120, what="the failure reason")
    assert "http://127.0.0.1:9/rex.png" in failure.text and "could not be fetched" in failure.text
    assert by_id(browser, "model-progress").text.startswith("WRONG_IMAGE_URL")
    browser.save_screenshot(str(screenshots / "08-failure-reason.png"))


def test_a_refused_photo_shows_the_servers_reason(browser: WebDriver, server: Server, tmp_path: Path) -> None:
    sign_in(browser, server)
    until(lambda: by_id(browser, "workspace").is_displayed(), what="the workspace")
    by_id(browser, "new-model-button").click()
    by_id(browser, "model-name").send_keys("Notes")
    by_id(browser, "object-type").send_keys("dog")
    fake = tmp_path / "notes.png"
    fake.write_text("<html>not a photo</html>")
    by_id(browser, "photo-input").send_keys(str(fake))
    by_id(browser, "train-button").click()
    error = until(lambda: shown(browser, "new-model-error"), what="the upload error")
    assert error.text.startswith("B_PARAMETER_INVALID_EXCEPTION: notes.png: ")
    assert "HTML" in error.text
