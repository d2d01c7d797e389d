"""Reads Natter's real window the way a screen reader does, over AT-SPI, for the Rust test
tests/screen_reader.rs. Runs with Debian's python3-pyatspi (/usr/bin/python3) on the private
session bus and X display the test made.

Reads one JSON command per line on stdin and answers one line on stdout: `ok` (with a result)
or `error: WHY`. Every wait is for a condition in the accessibility tree, given up after
WAIT_S; the tree is looked at again every POLL_S meanwhile (AT-SPI has no "wait until").
"""
import json
import re
import sys
import time

import gi

gi.require_version("Atspi", "2.0")
gi.require_version("Gio", "2.0")
from gi.repository import Atspi, Gio, GLib  # noqa: E402

import pyatspi  # noqa: E402

WAIT_S = 30.0
POLL_S = 0.1


def enable_accessibility():
    """What a desktop does when a screen reader starts: org.a11y.Status on the session bus."""
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    for name in ("IsEnabled", "ScreenReaderEnabled"):
        bus.call_sync(
            "org.a11y.Bus", "/org/a11y/bus", "org.freedesktop.DBus.Properties", "Set",
            GLib.Variant("(ssv)", ("org.a11y.Status", name, GLib.Variant("b", True))),
            None, Gio.DBusCallFlags.NONE, int(WAIT_S * 1000), None)


def wait_for(what, find):
    """`find()`'s first non-None answer; fails with `what` after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            found = find()
        except Exception:  # a node went away while being read: look again
            found = None
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError("no " + what + " within " + str(WAIT_S) + " s")
        time.sleep(POLL_S)


def natter_frame():
    """The window of the application named natter, as the desktop lists it."""
    desktop = pyatspi.Registry.getDesktop(0)
    for app in desktop:
        if app is not None and app.name == "natter":
            for child in app:
                if child is not None and child.getRole() == pyatspi.ROLE_FRAME:
                    return child
    return None


def node(role, name, within=None):
    """The first node of `role` whose name is `name` (a compiled pattern: that matches)."""
    def matches(n):
        if n is None or n.getRole() != role:
            return False
        return name.search(n.name) is not None if hasattr(name, "search") else n.name == name
    def find():
        root = within or natter_frame()
        return None if root is None else pyatspi.findDescendant(root, matches, True)
    shown = name.pattern if hasattr(name, "search") else repr(name)
    return wait_for("%s named %s" % (role_name(role), shown), find)


def role_name(role):
    return Atspi.role_get_name(role)


def fill(entry, text):
    """Puts `text` in an entry the way an assistive tool does: through EditableText."""
    if not entry.queryEditableText().setTextContents(text):
        raise RuntimeError("the entry %r refused its text" % entry.name)


def press(button):
    action = button.queryAction()
    names = [action.getName(i) for i in range(action.nActions)]
    if "click" not in names:
        raise RuntimeError("%r offers no click, only %s" % (button.name, names))
    action.doAction(names.index("click"))


def main():
    for raw in sys.stdin:
        command = json.loads(raw)
        do = command["do"]
        try:
            result = ""
            if do == "enable":
                enable_accessibility()
            elif do == "window":
                # The window by its name, as a screen reader announces it.
                result = wait_for("window of natter", natter_frame).name
            elif do == "host":
                fill(node(pyatspi.ROLE_ENTRY, "Your nickname"), command["nick"])
                fill(node(pyatspi.ROLE_ENTRY, "Port"), "0")
                press(node(pyatspi.ROLE_PUSH_BUTTON, "Start hosting"))
                card = node(pyatspi.ROLE_LABEL, re.compile(r"^You are hosting on port \d+"))
                result = re.search(r"port (\d+)", card.name).group(1)
            elif do == "role_of":
                # The role of the node named `name` that is one of `roles`, if any.
                roles = [getattr(pyatspi, "ROLE_" + r.upper().replace(" ", "_"))
                         for r in command["roles"]]
                def find():
                    frame = natter_frame()
                    return None if frame is None else pyatspi.findDescendant(
                        frame, lambda n: n is not None and n.name == command["name"]
                        and n.getRole() in roles, True)
                result = role_name(wait_for("node named %r" % command["name"], find).getRole())
            elif do == "people":
                # The names in the people list, once it holds one starting with `with`.
                people = node(pyatspi.ROLE_LIST, "People in the room")
                def names():
                    items = [item.name for item in people
                             if item is not None and item.getRole() == pyatspi.ROLE_LIST_ITEM]
                    return items if any(i.startswith(command["with"]) for i in items) else None
                result = ",".join(wait_for("%r in the people list" % command["with"], names))
            elif do == "see":
                # A line of the message log holding `text`: its whole name, as it is read.
                log = node(pyatspi.ROLE_LOG, "Messages")
                result = node(pyatspi.ROLE_LABEL, re.compile(re.escape(command["text"])),
                              within=log).name
            elif do == "say":
                fill(node(pyatspi.ROLE_ENTRY, "Message to the room"), command["text"])
                press(node(pyatspi.ROLE_PUSH_BUTTON, "Send"))
            elif do == "quit":
                print("ok", flush=True)
                break
            else:
                raise ValueError("unknown command " + do)
            print("ok " + result.replace("\n", " | "), flush=True)
        except Exception as e:  # the test reads why and fails with it
            print("error: %s: %s" % (type(e).__name__, str(e).replace("\n", " | ")), flush=True)


if __name__ == "__main__":
    main()
