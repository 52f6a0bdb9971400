// The hostfx status page: it follows the server-sent events of
// ./events and shows every service and the app's last lifecycle events.
//
// Everything a service sends (names, errors, details) reaches the page
// through textContent or a property, never as HTML.
"use strict";

(function () {
  const maxTimeline = 256; // as many events as the server keeps
  const marksPerService = 24; // the restart timeline's length
  const markKinds = { crashed: "crashed", restarting: "restarting", started: "started", "gave up": "gave-up", stalled: "stalled" };
  const stateClass = {
    running: "ok",
    exited: "ok",
    starting: "warn",
    "waiting to restart": "warn",
    stopping: "warn",
    failed: "bad",
    idle: "idle",
    stopped: "idle",
  };

  let services = []; // in start order, as the supervisor lists them
  let timeline = []; // oldest first
  let lastSeq = 0;
  let supervisorError = "";
  let source = null;
  let drawing = false;

  const $ = (id) => document.getElementById(id);

  function el(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (className) e.className = className;
    return e;
  }

  function clock(iso) {
    const t = new Date(iso);
    if (isNaN(t) || t.getFullYear() < 2000) return "";
    return t.toLocaleTimeString([], { hour12: false }) + "." + String(t.getMilliseconds()).padStart(3, "0");
  }

  function age(iso) {
    const t = new Date(iso);
    if (isNaN(t) || t.getFullYear() < 2000) return "";
    let s = Math.max(0, Math.floor((Date.now() - t.getTime()) / 1000));
    const parts = [];
    for (const [unit, n] of [["d", 86400], ["h", 3600], ["m", 60]]) {
      if (s >= n) {
        parts.push(Math.floor(s / n) + unit);
        s %= n;
      }
    }
    parts.push(s + "s");
    return "for " + parts.slice(0, 2).join(" ");
  }

  function setServices(list) {
    services = Array.isArray(list) ? list : [];
  }

  function mergeServices(list) {
    for (const v of list || []) {
      const i = services.findIndex((s) => s.name === v.name);
      if (i >= 0) services[i] = v;
      else services.push(v);
    }
  }

  function addEvents(entries) {
    for (const en of entries || []) {
      if (en.seq > lastSeq) {
        timeline.push(en);
        lastSeq = en.seq;
      }
    }
    if (timeline.length > maxTimeline) timeline = timeline.slice(timeline.length - maxTimeline);
  }

  function marksOf(name) {
    const marks = el("div", null, "marks");
    const mine = timeline.filter((en) => en.service === name && markKinds[en.kind]);
    for (const en of mine.slice(-marksPerService)) {
      const m = el("span", null, "mark " + markKinds[en.kind] + (en.failed ? " failed" : ""));
      m.title = clock(en.at) + " " + en.kind + (en.detail ? ": " + en.detail : "");
      m.dataset.kind = en.kind;
      marks.append(m);
    }
    return marks;
  }

  function serviceRow(v) {
    const tr = document.createElement("tr");
    tr.dataset.name = v.name;
    const state = el("td", v.state, "state " + (stateClass[v.state] || ""));
    state.title = clock(v.since);
    const since = el("span", age(v.since), "since");
    since.dataset.since = v.since;
    state.append(document.createElement("br"), since);
    const err = el("td", v.lastError || "", "error");
    if (v.lastErrorAt && v.lastError) err.title = clock(v.lastErrorAt);
    const marks = el("td", null, "restart-timeline");
    marks.append(marksOf(v.name));
    tr.append(
      el("td", v.service, "service"),
      el("td", v.replica ? "#" + v.replica : "", "replica"),
      el("td", v.mode, "mono mode"),
      state,
      el("td", v.pid || "", "num pid"),
      el("td", v.tid || "", "num tid"),
      el("td", v.restarts, "num restarts"),
      marks,
      err,
    );
    return tr;
  }

  function timelineRow(en) {
    const tr = document.createElement("tr");
    tr.dataset.seq = en.seq;
    if (en.failed) tr.className = "failed";
    tr.append(el("td", clock(en.at)), el("td", en.service), el("td", en.kind), el("td", en.detail || ""));
    return tr;
  }

  function draw() {
    drawing = false;
    $("services").tBodies[0].replaceChildren(...services.map(serviceRow));
    $("no-services").hidden = services.length > 0;
    $("timeline").tBodies[0].replaceChildren(...timeline.slice().reverse().map(timelineRow));
    const se = $("supervisor-error");
    se.hidden = !supervisorError;
    se.textContent = supervisorError ? "The supervisor did not answer: " + supervisorError : "";
    $("updated").textContent = "updated " + new Date().toLocaleTimeString([], { hour12: false });
    document.body.dataset.seq = String(lastSeq);
  }

  // redraw draws once for the events of the next 100ms: a crash loop
  // sends many. (requestAnimationFrame would stop in a hidden tab.)
  function redraw() {
    if (!drawing) {
      drawing = true;
      setTimeout(draw, 100);
    }
  }

  function parse(ev) {
    try {
      return JSON.parse(ev.data);
    } catch (e) {
      return null;
    }
  }

  function connected(state, text) {
    const c = $("connection");
    c.className = state;
    c.textContent = text;
    document.body.dataset.connection = state;
  }

  function connect() {
    source = new EventSource("events");
    source.onopen = () => connected("live", "live");
    source.addEventListener("snapshot", (ev) => {
      const s = parse(ev);
      if (!s) return;
      supervisorError = s.error || "";
      if (!s.error) setServices(s.services);
      timeline = [];
      lastSeq = 0;
      addEvents(s.timeline);
      connected("live", "live");
      redraw();
    });
    source.addEventListener("update", (ev) => {
      const u = parse(ev);
      if (!u) return;
      supervisorError = u.error || "";
      mergeServices(u.services);
      addEvents(u.timeline);
      redraw();
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // Refused (the server stops, or has too many streams): try again later.
        connected("lost", "disconnected; trying again…");
        source.close();
        setTimeout(connect, 3000);
      } else {
        connected("connecting", "reconnecting…");
      }
    };
  }

  // Ages move on between events.
  setInterval(() => {
    for (const s of document.querySelectorAll("#services .since")) s.textContent = age(s.dataset.since);
  }, 1000);

  connect();
})();
