// tenantry: confirm dialogs and a run's live progress. No inline script (CSP); the
// pages work without this file, only less lively.
"use strict";

document.addEventListener("submit", (ev) => {
  const form = ev.target;
  const question = form.getAttribute("data-confirm") ||
    (ev.submitter && ev.submitter.getAttribute("data-confirm-button"));
  if (question && !window.confirm(question)) ev.preventDefault();
});

function word(status) {
  const i18n = document.getElementById("i18n");
  return (i18n && i18n.dataset[status]) || status;
}

function badge(status) {
  const b = document.createElement("span");
  b.className = "badge " + status;
  b.dataset.status = status;
  b.textContent = word(status);
  return b;
}

function millis(ms) {
  return ms < 1000 ? ms + " ms" : (ms / 1000).toFixed(1) + " s";
}

// The pods of a running run, as the last event had them.
function showPods(pods) {
  const box = document.getElementById("pods-of-run");
  if (!box) return;
  if (pods.length === 0) {
    const p = document.createElement("p");
    p.className = "empty";
    p.id = "pods";
    p.textContent = word("nopods");
    box.replaceChildren(p);
    return;
  }
  let table = box.querySelector("table#pods");
  if (!table) {
    table = document.createElement("table");
    table.id = "pods";
    const i18n = document.getElementById("i18n").dataset;
    table.innerHTML = "<thead><tr><th></th><th></th><th></th><th></th><th></th><th></th></tr></thead><tbody></tbody>";
    const heads = table.querySelectorAll("th");
    ["podname", "podstatus", "podready", "podrestarts", "podcreated", "podreason"].forEach((k, i) => { heads[i].textContent = i18n[k] || k; });
    box.replaceChildren(table);
  }
  const body = table.querySelector("tbody");
  body.replaceChildren(...pods.map((p) => {
    const tr = document.createElement("tr");
    for (const v of [p.name, p.phase, p.ready, String(p.restarts), p.created || "—", p.reason]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    const created = tr.children[4];
    if (p.created) {
      const t = document.createElement("time");
      t.setAttribute("datetime", p.created);
      t.textContent = p.created;
      created.replaceChildren(t);
      localTimes(tr);
    }
    tr.dataset.pod = p.name;
    return tr;
  }));
}

function follow(run) {
  const id = run.dataset.run;
  // Marks the page as updated live; the reload at the end serves it fresh, without this.
  run.dataset.live = "1";
  const source = new EventSource("/runs/" + id + "/events");
  source.addEventListener("run", (ev) => {
    const r = JSON.parse(ev.data);
    run.dataset.status = r.status;
    document.getElementById("run-status").replaceChildren(badge(r.status));
    document.getElementById("run-finished").textContent = r.finished_at || "";
    const count = document.getElementById("request-count");
    if (count && r.requests !== undefined) count.textContent = r.requests;
    if (Array.isArray(r.pods)) showPods(r.pods);
    const reason = document.getElementById("run-reason");
    if (r.reason) {
      reason.hidden = false;
      reason.querySelector("pre").textContent = r.reason_shown || r.reason;
    }
    const body = document.querySelector("#steps tbody");
    for (const s of r.steps || []) {
      let row = body.querySelector('tr[data-template="' + CSS.escape(s.template) + '"]');
      if (!row) {
        row = document.createElement("tr");
        row.dataset.template = s.template;
        row.innerHTML = '<td></td><td class="status"></td><td class="elapsed"></td><td class="detail"><pre></pre></td>';
        row.firstChild.textContent = s.template;
        body.appendChild(row);
      }
      row.querySelector(".status").replaceChildren(badge(s.status));
      row.querySelector(".elapsed").textContent = millis(s.elapsed_ms || 0);
      row.querySelector(".detail pre").textContent = s.shown || s.detail || "";
    }
    if (r.status !== "running") {
      source.close();
      // Reload once to show the requests the run sent.
      window.setTimeout(() => window.location.reload(), 300);
    }
  });
}

// Times are sent in UTC; show them in the reader's own zone and language.
function localTimes(root) {
  const lang = document.documentElement.lang || undefined;
  const fmt = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "medium" });
  for (const t of root.querySelectorAll("time[datetime]")) {
    const d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) t.textContent = fmt.format(d);
  }
}

// The fleet (and a rollout's page): whenever the server says something changed, the
// page reads itself again (same filters) and swaps in the fresh part of the same id.
function liveFleet(body) {
  const source = new EventSource(body.dataset.live);
  let reading = false;
  source.addEventListener("changed", async () => {
    if (reading) return;
    reading = true;
    try {
      const r = await fetch(location.href, { headers: { accept: "text/html" } });
      if (!r.ok) return;
      const doc = new DOMParser().parseFromString(await r.text(), "text/html");
      const fresh = doc.getElementById(body.id);
      if (fresh) {
        body.replaceChildren(...fresh.childNodes);
        localTimes(body);
        body.dataset.updated = String(Date.now());
      }
    } finally {
      reading = false;
    }
  });
  source.addEventListener("error", () => {});
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes(document);
  const run = document.getElementById("run");
  if (run && run.dataset.status === "running") follow(run);
  // The fleet and a rollout: a page part that reads itself again when told.
  if (window.EventSource) {
    for (const part of document.querySelectorAll('[data-live^="/"]')) liveFleet(part);
  }
});
