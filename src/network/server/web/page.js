"use strict";
// The room in a browser: the Natter JSON dialect over a WebSocket (PROTOCOL.md, "Browsers").
// Every piece of peer text goes into the page with textContent, never as HTML.
(function () {
  const $ = (id) => document.getElementById(id);
  const log = $("log"), people = $("people"), status = $("status");
  let socket = null, nick = "", session = null, lastId = 0, users = [], unencrypted = new Set();
  let historyLeft = 0, retry = 0, nextClientId = 1, joined = false;
  // Why the host put us out (kicked, banned): shown once the link closes, and no redial.
  let putOut = "";
  // Messages typed and not yet confirmed by the host (their own copy came back): client_id ->
  // [text, element]. Sent again after a reconnect unless the resumed history confirms them.
  const pending = new Map();

  // One line of the log. Its direction follows its text (dir="auto" looks past the time and
  // the name, which carry their own dir), and a name in another script than the text is
  // isolated, so "דנה: hello" and "alice: שלום" both read right.
  function line(kind, parts) {
    const p = document.createElement("p");
    p.className = kind;
    p.dir = "auto";
    for (const [cls, text] of parts) {
      const span = document.createElement(cls === "time" ? "time" : "span");
      if (cls) span.className = cls;
      if (cls === "time") span.dir = "ltr";
      else if (cls === "from") span.dir = "auto";
      span.textContent = text;
      p.appendChild(span);
      // A space, not a margin, after the time: it lands on the right side in either direction.
      if (cls === "time") p.append(" ");
    }
    const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.appendChild(p);
    if (atEnd) log.scrollTop = log.scrollHeight;
    return p;
  }
  const clock = (time) => {
    const d = time ? new Date(time) : new Date();
    return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  };
  const event = (text, time) => line("event", [["time", clock(time)], ["", text]]);
  const notice = (text) => line("notice", [["", text]]);

  function showPeople() {
    people.replaceChildren(...users.map((name) => {
      const li = document.createElement("li");
      // The name isolated in its own direction; the list keeps the page's.
      const span = document.createElement("span");
      span.dir = "auto";
      span.textContent = name;
      li.appendChild(span);
      if (name === nick) li.append(" (you)");
      if (unencrypted.has(name)) li.className = "unencrypted";
      return li;
    }));
  }
  function joinedAs(name, notEncrypted) {
    if (!users.includes(name)) users.push(name);
    if (notEncrypted) unencrypted.add(name);
    showPeople();
  }
  function left(name) {
    users = users.filter((u) => u !== name);
    unencrypted.delete(name);
    showPeople();
  }

  function chat(m) {
    if (m.id <= lastId) return; // seen already (a resume sends exactly the rest; be sure)
    lastId = m.id;
    if (m.client_id && pending.has(m.client_id)) {
      const [, element] = pending.get(m.client_id);
      pending.delete(m.client_id);
      element.remove();
    }
    const who = m.to ? m.from + " → " + m.to : m.from;
    const parts = [["time", clock(m.time)]];
    if (m.action) parts.push(["", "* "], ["from", who], ["", " "], ["text", m.text]);
    else parts.push(["from", who], ["", ": "], ["text", m.text]);
    line("message", parts);
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }
  function sendPending() {
    for (const [id, [text]] of pending) send({ type: "chat", text: text, client_id: id });
  }

  function onFrame(f) {
    switch (f.type) {
      case "welcome":
        $("room").textContent = f.server;
        document.title = f.server + " · Natter";
        break;
      case "accepted": {
        const again = session !== null;
        if (again && !f.resumed) {
          notice("The host restarted: the room started again. Messages from before are above.");
          lastId = 0;
        } else if (again) {
          notice("Back in the room.");
        }
        nick = f.nick; session = f.session; retry = 0; joined = true;
        users = f.users.slice();
        unencrypted = new Set(f.unencrypted || []);
        showPeople();
        status.textContent = "In the room as " + nick + ".";
        historyLeft = f.history_count;
        if (historyLeft === 0) sendPending();
        $("join").hidden = true;
        $("chat").hidden = false;
        $("message").focus();
        return;
      }
      case "chat":
        chat(f);
        break;
      case "join":
        joinedAs(f.nick, f.unencrypted);
        event(f.nick + " joined" + (f.unencrypted ? " without encryption" : ""), f.time);
        break;
      case "leave":
        left(f.nick);
        event(f.nick + " left" + (f.reason === "left" ? "" : " (" + f.detail + ")"), f.time);
        break;
      case "nick":
        users = users.map((u) => (u === f.from ? f.to : u));
        if (unencrypted.delete(f.from)) unencrypted.add(f.to);
        if (f.from === nick) nick = f.to;
        showPeople();
        event(f.from + " is now " + f.to, f.time);
        break;
      case "ping":
        send({ type: "pong" });
        break;
      case "error":
        if (!joined) $("join-error").textContent = f.message;
        else notice(f.message);
        if (f.client_id && pending.has(f.client_id)) {
          pending.get(f.client_id)[1].remove();
          pending.delete(f.client_id);
        }
        if (f.code === "bad_nick" && !joined) stop();
        if (f.code === "kicked" || f.code === "banned") {
          putOut = f.message;
          stop();
        }
        break;
      case "moderation":
        event(f.text, f.time);
        break;
      case "bye":
        notice(f.reason);
        break;
    }
    if (f.type === "chat" && historyLeft > 0 && --historyLeft === 0) sendPending();
  }

  function stop() {
    retry = -1;
    if (socket) socket.close();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws");
    socket.onopen = () => {
      const hello = { type: "hello", version: 1, nick: nick, features: ["moderation"] };
      if (session) hello.resume = { session: session, last_id: lastId };
      send(hello);
    };
    socket.onmessage = (e) => {
      let frame;
      try { frame = JSON.parse(e.data); } catch (_) { return; }
      onFrame(frame);
    };
    socket.onclose = () => {
      socket = null;
      if (retry < 0) {
        retry = 0;
        if (putOut) status.textContent = "Out of the room: " + putOut;
        return;
      }
      const wait = Math.min(5000, 500 * 2 ** retry++);
      status.textContent = joined ? "Link lost; reconnecting…" : "Cannot reach the host; trying again…";
      setTimeout(connect, wait);
    };
  }

  $("join").addEventListener("submit", (e) => {
    e.preventDefault();
    nick = $("nick").value.trim();
    if (!nick) return;
    $("join-error").textContent = "";
    if (!socket) connect();
  });
  $("send").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("message");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const id = "w" + nextClientId++;
    const element = line("message pending", [["time", clock()], ["from", nick], ["", ": "], ["text", text]]);
    pending.set(id, [text, element]);
    if (historyLeft === 0) send({ type: "chat", text: text, client_id: id });
  });
})();
