"""Drives the room's page in Debian's chromium for the Rust tests (tests/browser.rs).

Reads one JSON command per line on stdin and answers one line on stdout: `ok` (with a result)
or `error: WHY`. Waits are Playwright's (for a condition, with a timeout), never sleeps.
Never downloads a browser: it launches /usr/bin/chromium (or $NATTER_CHROMIUM).
"""
import json
import os
import sys

from playwright.sync_api import expect, sync_playwright

WAIT_MS = 15000


def main():
    chromium = os.environ.get("NATTER_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                      has_touch=True, device_scale_factor=2)
        page = context.new_page()
        expect.set_options(timeout=WAIT_MS)
        log = page.get_by_role("log")
        for raw in sys.stdin:
            command = json.loads(raw)
            do = command["do"]
            try:
                result = ""
                if do == "open":
                    page.goto(command["url"])
                elif do == "join":
                    page.get_by_role("textbox", name="Nickname").fill(command["nick"])
                    page.get_by_role("button", name="Join").click()
                    people = page.get_by_role("list", name="People")
                    expect(people).to_contain_text(command["nick"] + " (you)")
                elif do == "see":
                    expect(log).to_contain_text(command["text"])
                elif do == "count":
                    # How many lines of the log hold the text (a message shown twice is a bug).
                    result = str(log.locator("p", has_text=command["text"]).count())
                elif do == "say":
                    box = page.get_by_role("textbox", name="Message")
                    box.fill(command["text"])
                    box.press("Enter")
                elif do == "send_button":
                    page.get_by_role("textbox", name="Message").fill(command["text"])
                    page.get_by_role("button", name="Send").click()
                elif do == "status":
                    expect(page.get_by_role("status")).to_contain_text(command["text"])
                elif do == "people":
                    result = page.get_by_role("list", name="People").inner_text()
                elif do == "elements_in_log":
                    # Tags of every element in the log: peer markup must not have become any.
                    result = ",".join(sorted(set(log.evaluate(
                        "l => [...l.querySelectorAll('*')].map(e => e.tagName.toLowerCase())"))))
                elif do == "dir_auto":
                    result = str(log.evaluate(
                        "l => [...l.querySelectorAll('p')].every(p => p.dir === 'auto')"))
                elif do == "size":
                    page.set_viewport_size({"width": command["width"], "height": command["height"]})
                elif do == "overflows":
                    result = str(page.evaluate(
                        "() => document.documentElement.scrollWidth > window.innerWidth"))
                elif do == "screenshot":
                    page.screenshot(path=command["path"])
                elif do == "quit":
                    print("ok", flush=True)
                    break
                else:
                    raise ValueError("unknown command " + do)
                print("ok " + result.replace("\n", " | "), flush=True)
            except Exception as e:  # the test reads why and fails with it
                print("error: " + str(e).replace("\n", " | "), flush=True)
        browser.close()


if __name__ == "__main__":
    main()
