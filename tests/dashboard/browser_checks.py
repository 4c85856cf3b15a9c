#!/usr/bin/env python3
"""The dashboard in headless Chromium over WebDriver (selenium): log in, create a bucket, upload a 20 MiB file
and see it listed, see it in the other us zone's view, download it with equal bytes, delete it; a wrong login
is refused; users (create, show keys, suspend) and their permissions; CSRF. One PASS/FAIL line per check and
a screenshot of each page in OUT.

usage: browser_checks.py DASHBOARD_URL USER_AK USER_SK ADMIN_AK ADMIN_SK OUT
"""
import hashlib
import os
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

URL, USER_AK, USER_SK, ADMIN_AK, ADMIN_SK, OUT = sys.argv[1:7]
URL = URL.rstrip("/")
os.makedirs(OUT, exist_ok=True)
DOWNLOADS = os.path.join(OUT, "downloads")
os.makedirs(DOWNLOADS, exist_ok=True)
PROFILE = os.path.join(OUT, "profile")

FAILED = 0


def check(name, ok, detail=""):
    global FAILED
    if ok:
        print(f"PASS {name}", flush=True)
    else:
        FAILED += 1
        print(f"FAIL {name}: {detail}", flush=True)
    return ok


def driver():
    opts = webdriver.ChromeOptions()
    for a in [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={PROFILE}", "--window-size=1280,1000",
    ]:
        opts.add_argument(a)
    binary = os.environ.get("CHROMIUM_BIN") or "/usr/bin/chromium"
    if os.path.exists(binary):
        opts.binary_location = binary
    opts.add_experimental_option("prefs", {
        "download.default_directory": DOWNLOADS,
        "download.prompt_for_download": False,
        "safebrowsing.enabled": False,
    })
    service = Service(executable_path=os.environ.get("CHROMEDRIVER_BIN") or "/usr/bin/chromedriver")
    d = webdriver.Chrome(options=opts, service=service)
    d.set_page_load_timeout(120)
    d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": DOWNLOADS})
    return d


def shot(d, name):
    d.save_screenshot(os.path.join(OUT, name + ".png"))


def wait(d, cond, timeout=60):
    # A condition may read a node of the page a click is just replacing (a form post, the overview's live
    # refresh): Chrome then reports a stale node as a generic WebDriverException. Those are retried; a
    # condition that never holds still fails with a TimeoutException.
    return WebDriverWait(d, timeout, poll_frequency=0.25, ignored_exceptions=(WebDriverException,)).until(cond)


def login(d, ak, sk):
    d.get(URL + "/login")
    d.find_element(By.ID, "access_key").send_keys(ak)
    d.find_element(By.ID, "secret_key").send_keys(sk)
    d.find_element(By.ID, "login").click()


def logout(d):
    d.find_element(By.ID, "logout").click()
    wait(d, EC.presence_of_element_located((By.ID, "access_key")))


def flash(d):
    els = d.find_elements(By.ID, "flash")
    return els[0].text if els else ""


def run(d):
    # Without a session only the login page is served.
    d.get(URL + "/buckets")
    check("no-session-redirects-to-login", d.current_url.endswith("/login"), d.current_url)
    shot(d, "01-login")
    status = None
    try:
        urllib.request.urlopen(urllib.request.Request(URL + "/live/overview"), timeout=10)
    except urllib.error.HTTPError as e:
        status = e.code
    # urllib follows the redirect to /login (200) — so ask for the redirect itself.
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(URL + "/live/overview", timeout=10)
        status = 200
    except urllib.error.HTTPError as e:
        status = e.code
    check("no-session-no-data", status == 303, f"GET /live/overview without a session answered {status}")

    # A wrong login is refused.
    login(d, USER_AK, USER_SK + "x")
    err = wait(d, EC.presence_of_element_located((By.ID, "login-error")))
    check("wrong-login-refused", "refused" in err.text and d.current_url.endswith("/login"), err.text)
    shot(d, "02-login-refused")

    # Log in as the demo user: the overview shows the realm and live replication state.
    login(d, USER_AK, USER_SK)
    wait(d, EC.presence_of_element_located((By.ID, "zone-us-west")))
    wait(d, lambda d: "caught up" in d.find_element(By.ID, "zone-us-west").text, 60)
    text = d.find_element(By.TAG_NAME, "main").text
    ok = all(s in text for s in ["Realm", "demo", "Zonegroup us", "Zonegroup eu", "us-east", "us-west", "eu-1",
                                 "epoch", "Metadata master"])
    check("overview-realm-zones-period", ok, text[:400])
    check("overview-replication-state", "lag" in d.find_element(By.ID, "zone-us-west").text,
          d.find_element(By.ID, "zone-us-west").text)
    # Live refresh: the overview region is replaced within a few seconds.
    wait(d, lambda d: d.find_element(By.ID, "live").get_attribute("data-refreshed"), 20)
    check("overview-refreshes-live", True)
    shot(d, "03-overview")

    # Create a bucket in zonegroup us.
    bucket = f"web-{int(time.time())}"
    d.get(URL + "/buckets")
    d.find_element(By.ID, "bucket-name").send_keys(bucket)
    d.find_element(By.CSS_SELECTOR, "#bucket-zonegroup option[value='us']").click()
    d.find_element(By.ID, "create-bucket-submit").click()
    wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, f"tr[data-bucket='{bucket}']")))
    check("create-bucket", f"created bucket {bucket}" in flash(d), flash(d))
    shot(d, "04-buckets")

    # Upload a 20 MiB file (multipart from the browser) and see it listed.
    src = os.path.join(OUT, "upload-20MiB.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(20 << 20))
    digest = hashlib.sha256(open(src, "rb").read()).hexdigest()
    name = os.path.basename(src)
    d.find_element(By.LINK_TEXT, bucket).click()
    wait(d, EC.presence_of_element_located((By.ID, "upload-file")))
    d.find_element(By.ID, "upload-file").send_keys(src)
    started = time.time()
    d.find_element(By.ID, "upload-submit").click()
    caught = False

    def listed(d):
        # Catch the progress bar mid-way once, if the upload is slow enough to be seen.
        nonlocal caught
        if not caught:
            try:
                if 0 < int(d.find_element(By.ID, "upload-progress").get_attribute("value") or 0) < 100:
                    shot(d, "05-uploading")
                    caught = True
            except Exception:
                pass
        rows = d.find_elements(By.CSS_SELECTOR, f"tr.object[data-key='{name}']")
        return rows[0] if rows else False

    row = wait(d, listed, 180)
    print(f"upload of 20 MiB through the dashboard listed after {time.time() - started:.1f} s", flush=True)
    check("upload-20MiB-listed", "20.0 MiB" in row.text, row.text)
    shot(d, "06-objects")

    # The same object in the other us zone's view (replicated there).
    d.find_element(By.CSS_SELECTOR, "a.zone-tab[data-zone='us-west']").click()
    deadline = time.time() + 120
    started = time.time()
    seen = False
    while time.time() < deadline:
        if d.find_elements(By.CSS_SELECTOR, f"tr.object[data-key='{name}']"):
            seen = True
            break
        time.sleep(2)
        d.refresh()
    print(f"listed in the us-west view {time.time() - started:.1f} s after the upload", flush=True)
    active = d.find_element(By.CSS_SELECTOR, ".zone-tab.active").text
    check("visible-in-other-us-zone", seen and active == "us-west", f"seen={seen} active view={active}")
    shot(d, "07-other-zone-view")

    # Object metadata.
    d.find_element(By.LINK_TEXT, name).click()
    meta = wait(d, EC.presence_of_element_located((By.ID, "object-meta"))).text
    check("object-metadata", str(20 << 20) in meta and "etag" in meta.lower(), meta)
    shot(d, "08-object")

    # Download (from the us-west view) with equal bytes.
    d.find_element(By.CSS_SELECTOR, "a.download").click()
    target = os.path.join(DOWNLOADS, name)
    deadline = time.time() + 120
    while time.time() < deadline and not (os.path.exists(target) and os.path.getsize(target) == 20 << 20):
        time.sleep(0.5)
    got = hashlib.sha256(open(target, "rb").read()).hexdigest() if os.path.exists(target) else None
    check("download-equal-bytes", got == digest, f"sha256 {got} != {digest}")

    # Delete it.
    d.back()
    wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, f"tr.object[data-key='{name}']")))
    d.find_element(By.CSS_SELECTOR, f"tr.object[data-key='{name}'] button.danger").click()
    wait(d, EC.presence_of_element_located((By.ID, "flash")))
    gone = not d.find_elements(By.CSS_SELECTOR, f"tr.object[data-key='{name}']")
    check("delete-object", gone and f"deleted {name}" in flash(d), flash(d))
    shot(d, "09-deleted")

    # CSRF: a state-changing request with the session cookie but without the token is refused.
    cookie = d.get_cookie("meridian_session")
    check("session-cookie-httponly-samesite-strict",
          cookie and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict", str(cookie))
    req = urllib.request.Request(URL + "/buckets/create", method="POST",
                                 data=urllib.parse.urlencode({"name": "csrf-" + bucket, "zonegroup": "us"}).encode(),
                                 headers={"Cookie": f"meridian_session={cookie['value']}",
                                          "Content-Type": "application/x-www-form-urlencoded"})
    try:
        opener.open(req, timeout=10)
        status = 200
    except urllib.error.HTTPError as e:
        status = e.code
    check("csrf-token-required", status == 403, f"POST without the CSRF token answered {status}")

    # Charts: SVG drawn from the samples.
    d.get(URL + "/charts")
    wait(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "figure.chart svg polyline")) >= 3, 60)
    titles = [e.text for e in d.find_elements(By.CSS_SELECTOR, "figure.chart figcaption")]
    check("charts", len(titles) == 4 and any("lag" in t for t in titles), str(titles))
    shot(d, "10-charts")

    # Users are for admin keys only.
    d.get(URL + "/users")
    check("users-page-admin-only", "only a system" in d.find_element(By.TAG_NAME, "main").text,
          d.find_element(By.TAG_NAME, "main").text[:200])
    logout(d)

    # Admin: every bucket, users (create, show keys, suspend).
    login(d, ADMIN_AK, ADMIN_SK)
    wait(d, EC.presence_of_element_located((By.ID, "zone-us-east")))
    d.get(URL + "/buckets")
    check("admin-sees-all-buckets",
          all(d.find_elements(By.CSS_SELECTOR, f"tr[data-bucket='{b}']") for b in ["demo-us", "demo-eu", bucket]),
          "missing buckets")
    d.get(URL + "/users")
    uid = f"web{int(time.time())}"
    form = d.find_element(By.ID, "create-user")
    form.find_element(By.NAME, "uid").send_keys(uid)
    form.find_element(By.NAME, "display_name").send_keys("Web user")
    form.find_element(By.CSS_SELECTOR, "button").click()
    keys = wait(d, EC.presence_of_element_located((By.ID, "keys")))
    cells = keys.find_elements(By.CSS_SELECTOR, "tbody td code")
    new_ak, new_sk = cells[0].text, cells[1].text
    check("create-user-shows-keys", len(new_ak) == 20 and len(new_sk) == 40, f"{new_ak!r} {new_sk!r}")
    shot(d, "11-user-keys")
    d.get(URL + "/users")
    check("users-list", d.find_elements(By.CSS_SELECTOR, f"tr[data-uid='{uid}']") != [], "new user not listed")
    shot(d, "12-users")
    logout(d)

    # The new user sees only its own buckets, and cannot open someone else's.
    login(d, new_ak, new_sk)
    wait(d, EC.presence_of_element_located((By.ID, "zone-us-east")))
    d.get(URL + "/buckets")
    check("user-sees-only-own-buckets", not d.find_elements(By.CSS_SELECTOR, "tr[data-bucket='demo-us']"),
          "demo-us listed for another user")
    d.get(URL + "/browse?bucket=demo-us")
    text = d.find_element(By.TAG_NAME, "main").text
    check("no-access-to-others-buckets", "AccessDenied" in text, text[:200])
    logout(d)

    # Suspend it: its key stops working for the dashboard too.
    login(d, ADMIN_AK, ADMIN_SK)
    wait(d, EC.presence_of_element_located((By.ID, "zone-us-east")))
    d.get(URL + "/users")
    d.find_element(By.CSS_SELECTOR, f"tr[data-uid='{uid}'] form button").click()
    wait(d, lambda d: "suspended" in d.find_element(By.CSS_SELECTOR, f"tr[data-uid='{uid}']").text)
    check("suspend-user", f"suspended {uid}" in flash(d), flash(d))
    shot(d, "13-user-suspended")
    logout(d)
    login(d, new_ak, new_sk)
    err = wait(d, EC.presence_of_element_located((By.ID, "login-error")))
    check("suspended-user-login-refused", "refused" in err.text, err.text)

    # Clean up the bucket (through the dashboard: delete, as the demo user).
    login(d, USER_AK, USER_SK)
    wait(d, EC.presence_of_element_located((By.ID, "zone-us-east")))
    d.get(URL + "/buckets")
    d.find_element(By.CSS_SELECTOR, f"tr[data-bucket='{bucket}'] button.danger").click()
    wait(d, EC.presence_of_element_located((By.ID, "flash")))
    check("delete-bucket", f"deleted bucket {bucket}" in flash(d), flash(d))


def main():
    d = driver()
    try:
        run(d)
    except Exception as e:  # a broken step fails the run, with what the page showed
        traceback.print_exc()
        try:
            shot(d, "99-failure")
            detail = d.find_element(By.TAG_NAME, "body").text[:300].replace("\n", " ")
        except Exception:
            detail = ""
        check("browser-run", False, f"{type(e).__name__}: {e} at {d.current_url}: {detail}")
    finally:
        d.quit()
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
