#!/usr/bin/env python3
"""The dashboard in a headless browser (Chromium or Firefox) over WebDriver (selenium): log in, create a bucket,
upload a 20 MiB file (multipart, with its progress bar) and see it listed, folders, bucket statistics, see it in
the other us zone's view, download it with equal bytes, delete it; a wrong login is refused; users (create, show
keys, suspend) and their permissions; CSRF; charts. One PASS/FAIL line per check (named BROWSER/check) and a
screenshot of each page in OUT.

usage: browser_checks.py chromium|firefox DASHBOARD_URL USER_AK USER_SK ADMIN_AK ADMIN_SK OUT WORK ZONE=URL...
  OUT keeps the screenshots only; WORK (scratch: the browser profile, files to upload, downloads) may go.
  ZONE=URL: each zone's S3 endpoint as the demo printed it (us-east=http://127.0.0.1:7500 ...).
"""
import hashlib
import json
import os
import shutil
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

BROWSER, URL, USER_AK, USER_SK, ADMIN_AK, ADMIN_SK, OUT, WORK = sys.argv[1:9]
ZONES = dict(a.split("=", 1) for a in sys.argv[9:])
URL = URL.rstrip("/")
os.makedirs(OUT, exist_ok=True)
DOWNLOADS = os.path.join(WORK, "downloads")
os.makedirs(DOWNLOADS, exist_ok=True)
PROFILE = os.path.join(WORK, "profile")

FAILED = 0


def check(name, ok, detail=""):
    global FAILED
    if ok:
        print(f"PASS {BROWSER}/{name}", flush=True)
    else:
        FAILED += 1
        print(f"FAIL {BROWSER}/{name}: {detail}", flush=True)
    return ok


def chromium():
    from selenium.webdriver.chrome.service import Service
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
    d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": DOWNLOADS})
    return d


def firefox():
    from selenium.webdriver.firefox.service import Service
    opts = webdriver.FirefoxOptions()
    opts.add_argument("-headless")
    binary = os.environ.get("FIREFOX_BIN") or shutil.which("firefox-esr") or shutil.which("firefox")
    if binary:
        opts.binary_location = binary
    # Downloads go straight to DOWNLOADS, without a dialog or the downloads panel (Chromium gets the same
    # through its prefs and the DevTools protocol above).
    for pref, value in {
        "browser.download.folderList": 2,
        "browser.download.dir": DOWNLOADS,
        "browser.download.useDownloadDir": True,
        "browser.download.always_ask_before_handling_new_types": False,
        "browser.download.manager.showWhenStarting": False,
        "browser.download.alwaysOpenPanel": False,
        "browser.helperApps.neverAsk.saveToDisk": "application/octet-stream,text/plain",
        "browser.shell.checkDefaultBrowser": False,
        "app.update.auto": False,
        "datareporting.policy.dataSubmissionEnabled": False,
        "toolkit.telemetry.reportingpolicy.firstRun": False,
    }.items():
        opts.set_preference(pref, value)
    gecko = (os.environ.get("GECKODRIVER_BIN") or shutil.which("geckodriver")
             or os.path.expanduser("~/.cargo/bin/geckodriver"))
    service = Service(executable_path=gecko, log_output=os.path.join(WORK, "geckodriver.log"))
    d = webdriver.Firefox(options=opts, service=service)
    d.set_window_size(1280, 1000)
    return d


def driver():
    d = {"chromium": chromium, "firefox": firefox}[BROWSER]()
    d.set_page_load_timeout(120)
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


# Before an upload: notes every text the upload status shows (a MutationObserver sees each one, however quickly
# the next replaces it) in sessionStorage, which outlives the page's reload after the upload; and sends part N
# of a multipart upload N × 700 ms late, so that the bar rests part-way long enough for WebDriver to look at it
# and take its picture (the parts themselves and the requests are unchanged).
WATCH_UPLOAD = """
sessionStorage.setItem("upload-status-seen", "[]");
var status = document.getElementById("upload-status");
new MutationObserver(function (records) {
  var seen = JSON.parse(sessionStorage.getItem("upload-status-seen") || "[]");
  records.forEach(function (r) { r.addedNodes.forEach(function (n) { seen.push(n.textContent); }); });
  sessionStorage.setItem("upload-status-seen", JSON.stringify(seen));
}).observe(status, { childList: true });
var open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.open = function (method, url) { this.watchedUrl = url; return open.apply(this, arguments); };
XMLHttpRequest.prototype.send = function (body) {
  var part = /\/upload\/part\?(?:.*&)?part=(\d+)/.exec(this.watchedUrl || ""), x = this;
  if (!part) { return send.call(this, body); }
  setTimeout(function () { send.call(x, body); }, parseInt(part[1], 10) * 700);
};
"""


def run(d):
    # Without a session only the login page is served.
    d.get(URL + "/buckets")
    check("no-session-redirects-to-login", d.current_url.endswith("/login"), d.current_url)
    shot(d, "01-login")
    # urllib would follow the redirect to /login (200): ask for the redirect itself.
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

    # Log in as the demo user: the overview shows the realm, every zone's endpoint and live replication state.
    login(d, USER_AK, USER_SK)
    wait(d, EC.presence_of_element_located((By.ID, "zone-us-west")))
    wait(d, lambda d: "caught up" in d.find_element(By.ID, "zone-us-west").text, 60)
    text = d.find_element(By.TAG_NAME, "main").text
    ok = all(s in text for s in ["Realm", "demo", "Zonegroup us", "Zonegroup eu", "us-east", "us-west", "eu-1",
                                 "epoch", "Metadata master"])
    check("overview-realm-zones-period", ok, text[:400])
    rows = {z: d.find_element(By.ID, f"zone-{z}").text for z in ZONES}
    check("overview-zone-endpoints", len(ZONES) == 3 and all(ZONES[z] in rows[z] for z in ZONES), str(rows))
    # Each zone's sources: "<log> from <source>: <state> lag X s, N entries behind".
    sources = {}
    for z in ZONES:
        for li in d.find_elements(By.CSS_SELECTOR, f"#zone-{z} ul.sync li"):
            t = li.text
            if " from " in t and ":" in t:
                sources.setdefault(z, set()).add(t.split(" from ", 1)[1].split(":", 1)[0].strip())
    lines = [li.text for li in d.find_elements(By.CSS_SELECTOR, "ul.sync li")]
    check("overview-replication-lag-and-entries-behind",
          set(sources) == set(ZONES) and lines and all(" lag " in t and " entries behind" in t for t in lines),
          f"sources {sources}; lines {lines}")
    # Live refresh: the overview region is replaced within a few seconds.
    wait(d, lambda d: d.find_element(By.ID, "live").get_attribute("data-refreshed"), 20)
    check("overview-refreshes-live", True)
    shot(d, "03-overview")

    # Create a bucket in zonegroup us.
    bucket = f"web-{BROWSER[:2]}-{int(time.time())}"
    d.get(URL + "/buckets")
    d.find_element(By.ID, "bucket-name").send_keys(bucket)
    d.find_element(By.CSS_SELECTOR, "#bucket-zonegroup option[value='us']").click()
    d.find_element(By.ID, "create-bucket-submit").click()
    wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, f"tr[data-bucket='{bucket}']")))
    check("create-bucket", f"created bucket {bucket}" in flash(d), flash(d))
    shot(d, "04-buckets")

    # Upload a 20 MiB file (multipart from the browser, with a progress bar) and see it listed.
    src = os.path.join(WORK, "upload-20MiB.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(20 << 20))
    digest = hashlib.sha256(open(src, "rb").read()).hexdigest()
    name = os.path.basename(src)
    d.find_element(By.LINK_TEXT, bucket).click()
    wait(d, EC.presence_of_element_located((By.ID, "upload-file")))
    d.find_element(By.ID, "upload-file").send_keys(src)
    d.execute_script(WATCH_UPLOAD)
    started = time.time()
    d.find_element(By.ID, "upload-submit").click()
    bar_seen = None

    def listed(d):
        # Photograph the progress bar part-way, once.
        nonlocal bar_seen
        if bar_seen is None:
            try:
                value = int(d.find_element(By.ID, "upload-progress").get_attribute("value") or 0)
                if 0 < value < 100:
                    shot(d, "05-uploading")
                    bar_seen = value
            except (WebDriverException, ValueError):
                pass
        rows = d.find_elements(By.CSS_SELECTOR, f"tr.object[data-key='{name}']")
        return rows[0] if rows else False

    row = wait(d, listed, 180)
    print(f"{BROWSER}: 20 MiB uploaded through the dashboard and listed after {time.time() - started:.1f} s "
          "(parts held back 0.7, 1.4 and 2.1 s to watch the bar)", flush=True)
    check("upload-20MiB-listed", "20.0 MiB" in row.text, row.text)
    # A multipart ETag is "<md5 of the parts' md5s>-<parts>": 20 MiB in the page's 8 MiB parts is 3 parts.
    etag = row.find_element(By.CSS_SELECTOR, "td code").text
    check("upload-is-multipart-3-parts", etag.endswith("-3"), f"ETag {etag}")
    seen = json.loads(d.execute_script("return sessionStorage.getItem('upload-status-seen')") or "[]")
    pcts = [int(t.split("%")[0]) for t in seen if "% of " in t]
    check("upload-progress-bar",
          bar_seen is not None and any(0 < p < 100 for p in pcts) and pcts == sorted(pcts) and pcts[-1] == 100
          and f"uploaded {name}" in seen,
          f"bar seen at {bar_seen}; status texts {seen}")

    # Folders: upload b.txt under the prefix a/ (key a/b.txt), then find it through the folder a/.
    folder_src = os.path.join(WORK, "folder", "b.txt")
    os.makedirs(os.path.dirname(folder_src), exist_ok=True)
    with open(folder_src, "wb") as f:
        f.write(b"in a folder\n" * 100)
    d.get(f"{URL}/browse?bucket={bucket}&prefix=a/")
    wait(d, EC.presence_of_element_located((By.ID, "upload-file"))).send_keys(folder_src)
    d.find_element(By.ID, "upload-submit").click()
    wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, "tr.object[data-key='a/b.txt']")), 60)
    d.find_element(By.CSS_SELECTOR, "nav.crumbs a").click()  # the bucket's root
    folder = wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, "tr.folder a")))
    root_keys = [r.get_attribute("data-key") for r in d.find_elements(By.CSS_SELECTOR, "tr.object")]
    check("folder-listed-at-root", folder.text.endswith("a/") and root_keys == [name], f"{folder.text!r} {root_keys}")
    shot(d, "06-objects")
    folder.click()
    inner = wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, "tr.object[data-key='a/b.txt']")))
    crumbs = d.find_element(By.CSS_SELECTOR, "nav.crumbs").text
    check("folder-opens", inner.text.startswith("b.txt") and crumbs.replace(" ", "") == f"{bucket}/a",
          f"{inner.text!r} crumbs {crumbs!r}")
    shot(d, "07-folder")

    # The buckets page: owner, objects and bytes of the new bucket.
    d.get(URL + "/buckets")
    expect_bytes = (20 << 20) + os.path.getsize(folder_src)
    stat_row = wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, f"tr[data-bucket='{bucket}']")))
    cells = [c.text for c in stat_row.find_elements(By.TAG_NAME, "td")]
    size_title = stat_row.find_elements(By.TAG_NAME, "td")[3].get_attribute("title")
    check("buckets-owner-objects-bytes",
          cells[1] == "demo" and cells[2] == "2" and size_title == f"{expect_bytes} bytes",
          f"cells {cells}, bytes {size_title!r}, expected owner demo, 2 objects, {expect_bytes} bytes")
    shot(d, "08-bucket-stats")

    # The same object in the other us zone's view (replicated there).
    d.find_element(By.LINK_TEXT, bucket).click()
    wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, "a.zone-tab[data-zone='us-west']"))).click()
    deadline = time.time() + 120
    started = time.time()
    seen = False
    while time.time() < deadline:
        if d.find_elements(By.CSS_SELECTOR, f"tr.object[data-key='{name}']"):
            seen = True
            break
        time.sleep(2)
        d.refresh()
    print(f"{BROWSER}: listed in the us-west view {time.time() - started:.1f} s after the upload", flush=True)
    active = d.find_element(By.CSS_SELECTOR, ".zone-tab.active").text
    check("visible-in-other-us-zone", seen and active == "us-west", f"seen={seen} active view={active}")
    shot(d, "09-other-zone-view")

    # Object metadata.
    d.find_element(By.LINK_TEXT, name).click()
    meta = wait(d, EC.presence_of_element_located((By.ID, "object-meta"))).text
    check("object-metadata", str(20 << 20) in meta and "etag" in meta.lower(), meta)
    shot(d, "10-object")

    # Download (from the us-west view) with equal bytes.
    d.find_element(By.CSS_SELECTOR, "a.download").click()
    target = os.path.join(DOWNLOADS, name)
    deadline = time.time() + 120
    while time.time() < deadline and not (os.path.exists(target) and os.path.getsize(target) == 20 << 20):
        time.sleep(0.5)
    got = hashlib.sha256(open(target, "rb").read()).hexdigest() if os.path.exists(target) else None
    check("download-equal-bytes", got == digest, f"sha256 {got} != {digest}; downloads: {os.listdir(DOWNLOADS)}")

    # Delete it, and the object in the folder.
    d.back()
    wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, f"tr.object[data-key='{name}']")))
    d.find_element(By.CSS_SELECTOR, f"tr.object[data-key='{name}'] button.danger").click()
    wait(d, EC.presence_of_element_located((By.ID, "flash")))
    gone = not d.find_elements(By.CSS_SELECTOR, f"tr.object[data-key='{name}']")
    check("delete-object", gone and f"deleted {name}" in flash(d), flash(d))
    shot(d, "11-deleted")
    wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, "tr.folder a"))).click()
    wait(d, EC.presence_of_element_located((By.CSS_SELECTOR, "tr.object[data-key='a/b.txt'] button.danger"))).click()
    wait(d, EC.presence_of_element_located((By.ID, "flash")))
    check("delete-object-in-folder", "deleted a/b.txt" in flash(d) and not d.find_elements(By.CSS_SELECTOR, "tr.object"),
          flash(d))

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

    # Charts: SVG drawn from the samples, a lag line for each zone and each of its source zones (as the
    # overview listed them), and the request and byte rates.
    pairs = sorted(f"{z} ← {src}" for z, srcs in sources.items() for src in srcs)
    d.get(URL + "/charts")

    def lag_lines(d):
        figure = d.find_elements(By.CSS_SELECTOR, "figure.chart")[0]
        drawn = {p.get_attribute("data-series") for p in figure.find_elements(By.CSS_SELECTOR, "svg polyline")}
        return drawn if set(pairs) <= drawn else False

    try:
        drawn = wait(d, lag_lines, 60)
    except Exception:
        drawn = {p.get_attribute("data-series") for p in d.find_elements(By.CSS_SELECTOR, "svg polyline")}
    titles = [e.text for e in d.find_elements(By.CSS_SELECTOR, "figure.chart figcaption")]
    check("charts-lag-line-per-source-zone", len(pairs) >= 3 and set(pairs) <= set(drawn) and "lag" in titles[0],
          f"expected {pairs}, drawn {sorted(drawn)}; titles {titles}")
    rates = [len(f.find_elements(By.CSS_SELECTOR, "svg polyline")) for f in d.find_elements(By.CSS_SELECTOR, "figure.chart")[1:]]
    check("charts-requests-bytes-per-zone", titles[1:] == ["Requests per second", "Bytes in per second",
                                                          "Bytes out per second"] and rates == [3, 3, 3],
          f"titles {titles}, lines per rate chart {rates}")
    shot(d, "12-charts")

    # Users are for admin keys only: not in the menu, and the page itself refuses.
    nav = d.find_element(By.CSS_SELECTOR, "header nav").text
    d.get(URL + "/users")
    main = d.find_element(By.TAG_NAME, "main").text
    check("users-page-refused-to-non-admin", "only a system" in main and "Users" not in nav, f"{nav!r}: {main[:200]}")
    shot(d, "13-users-refused")
    logout(d)

    # Admin: every bucket, users (create, show keys, suspend).
    login(d, ADMIN_AK, ADMIN_SK)
    wait(d, EC.presence_of_element_located((By.ID, "zone-us-east")))
    d.get(URL + "/buckets")
    check("admin-sees-all-buckets",
          all(d.find_elements(By.CSS_SELECTOR, f"tr[data-bucket='{b}']") for b in ["demo-us", "demo-eu", bucket]),
          "missing buckets")
    d.get(URL + "/users")
    uid = f"web{BROWSER[:2]}{int(time.time())}"
    form = d.find_element(By.ID, "create-user")
    form.find_element(By.NAME, "uid").send_keys(uid)
    form.find_element(By.NAME, "display_name").send_keys("Web user")
    form.find_element(By.CSS_SELECTOR, "button").click()
    keys = wait(d, EC.presence_of_element_located((By.ID, "keys")))
    cells = keys.find_elements(By.CSS_SELECTOR, "tbody td code")
    new_ak, new_sk = cells[0].text, cells[1].text
    check("create-user-shows-keys", len(new_ak) == 20 and len(new_sk) == 40, f"{new_ak!r} {new_sk!r}")
    shot(d, "14-user-keys")
    d.get(URL + "/users")
    check("users-list", d.find_elements(By.CSS_SELECTOR, f"tr[data-uid='{uid}']") != [], "new user not listed")
    shot(d, "15-users")
    logout(d)

    # The new user sees only its own buckets, and cannot open someone else's.
    login(d, new_ak, new_sk)
    wait(d, EC.presence_of_element_located((By.ID, "zone-us-east")))
    d.get(URL + "/buckets")
    check("user-sees-only-own-buckets", not d.find_elements(By.CSS_SELECTOR, "tr[data-bucket='demo-us']"),
          "demo-us listed for another user")
    d.get(URL + "/browse?bucket=demo-us")
    err = d.find_element(By.TAG_NAME, "main").text
    check("no-access-to-others-buckets", "AccessDenied" in err and not d.find_elements(By.CSS_SELECTOR, "tr.object"),
          err[:200])
    shot(d, "16-access-denied")
    logout(d)

    # Suspend it: its key stops working for the dashboard too.
    login(d, ADMIN_AK, ADMIN_SK)
    wait(d, EC.presence_of_element_located((By.ID, "zone-us-east")))
    d.get(URL + "/users")
    d.find_element(By.CSS_SELECTOR, f"tr[data-uid='{uid}'] form button").click()
    wait(d, lambda d: "suspended" in d.find_element(By.CSS_SELECTOR, f"tr[data-uid='{uid}']").text)
    check("suspend-user", f"suspended {uid}" in flash(d), flash(d))
    shot(d, "17-user-suspended")
    logout(d)
    login(d, new_ak, new_sk)
    err = wait(d, EC.presence_of_element_located((By.ID, "login-error")))
    check("suspended-user-login-refused", "refused" in err.text, err.text)

    # Delete the bucket (through the dashboard, as the demo user): gone from the buckets page.
    login(d, USER_AK, USER_SK)
    wait(d, EC.presence_of_element_located((By.ID, "zone-us-east")))
    d.get(URL + "/buckets")
    d.find_element(By.CSS_SELECTOR, f"tr[data-bucket='{bucket}'] button.danger").click()
    wait(d, EC.presence_of_element_located((By.ID, "flash")))
    check("delete-bucket",
          f"deleted bucket {bucket}" in flash(d) and not d.find_elements(By.CSS_SELECTOR, f"tr[data-bucket='{bucket}']")
          and d.find_elements(By.CSS_SELECTOR, "tr[data-bucket='demo-us']"),
          flash(d))
    shot(d, "18-bucket-deleted")


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
