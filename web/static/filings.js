/* The filing register (/filings): list, filter, detail, actions, PDF and CSV from /api/v1/filings.
 *
 * The reviewer's token is typed once and kept in this tab's sessionStorage; every request sends
 * it as a bearer token. Values from the store are put in the page with textContent only.
 */
(function () {
  "use strict";

  const TOKEN_KEY = "onemap.reviewer.token";
  const CORRIDOR_COLOR = {
    sidewalk: "#2e7d32", bike_lane: "#9e9d24", motor_lane: "#c62828", green_belt: "#00897b",
    duct: "#6a1b9a", crossing: "#ef6c00", access: "#546e7a", off_corridor: "#000000",
  };

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function fmt(template, values) {
    return String(template).replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));
  }

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

  function headers(extra) {
    const h = { ...(extra || {}) };
    if (token()) h.Authorization = `Bearer ${token()}`;
    return h;
  }

  async function failure(response) {
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    return new Error((body && body.message) || `${response.status} ${response.statusText}`);
  }

  async function api(url, options) {
    const o = options || {};
    const response = await fetch(url, { ...o, headers: headers(o.headers) });
    if (!response.ok) throw await failure(response);
    return response.json();
  }

  async function apiBlob(url) {
    const response = await fetch(url, { headers: headers() });
    if (!response.ok) throw await failure(response);
    return response.blob();
  }

  function openBlob(blob, filename, download) {
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, target: "_blank", rel: "noopener" });
    if (download) a.setAttribute("download", filename);
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  function row(table, label, value) {
    const tr = el("tr");
    tr.appendChild(el("th", {}, label));
    const td = el("td");
    if (value instanceof Node) td.appendChild(value); else td.textContent = value ?? "—";
    tr.appendChild(td);
    table.appendChild(tr);
  }

  function list(items) {
    const ul = el("ul");
    for (const it of items || []) ul.appendChild(el("li", {}, it));
    return ul;
  }

  window.onemap.pages.filings = function (map, opts) {
    const t = opts.t;
    const lang = opts.lang || "zh";
    const filter = document.getElementById("fl-filter");
    const tokenInput = document.getElementById("fl-token");
    const line = document.getElementById("fl-status-line");
    const register = document.getElementById("fl-register");
    const detail = document.getElementById("fl-detail");
    const routeLayer = L.featureGroup().addTo(map);
    map._omFilingRoute = routeLayer;  // (the browser test counts what is drawn)
    let selected = null;

    const statusLabel = (s) => t[`filings.status.${s}`] || s;
    const actionLabel = (a) => t[`filings.action.${a}`] || a;
    const stateLabel = (s) => (s ? t[`filings.deadline.${s}`] || s : "");

    function error(box, err) {
      box.replaceChildren(el("p", { class: "om-error", role: "alert" },
        `${t["error.generic"] || "Error"}: ${err.message}`));
    }

    tokenInput.value = token();
    tokenInput.addEventListener("change", () => {
      sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim());
      load();
    });
    document.getElementById("fl-token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim());
      load();
    });
    filter.addEventListener("submit", (e) => { e.preventDefault(); load(); });
    filter.elements.status.addEventListener("change", load);
    filter.elements.overdue.addEventListener("change", load);

    function query() {
      const q = new URLSearchParams();
      const f = filter.elements;
      if (f.status.value) q.set("status", f.status.value);
      if (f.q.value.trim()) q.set("q", f.q.value.trim());
      if (f.overdue.checked) q.set("overdue", "true");
      return q;
    }

    document.getElementById("fl-csv").addEventListener("click", () => {
      const q = query();
      q.set("lang", lang);
      apiBlob(`/api/v1/filings.csv?${q}`)
        .then((b) => openBlob(b, "filings.csv", true))
        .catch((err) => error(line, err));
    });

    function load() {
      if (!token()) {
        line.textContent = t["filings.need_token"];
        register.replaceChildren();
        return Promise.resolve();
      }
      const q = query();
      q.set("limit", "200");
      line.textContent = t["status.loading"];
      return api(`/api/v1/filings?${q}`).then((page) => {
        line.textContent = fmt(t["filings.count"], { shown: page.items.length, total: page.total });
        register.replaceChildren(table(page.items));
      }).catch((err) => { register.replaceChildren(); error(line, err); });
    }

    function table(items) {
      const tbl = el("table", { class: "om-register", "data-testid": "register" });
      const head = el("tr");
      for (const k of ["number", "status", "applicant", "organisation", "submitted", "deadline"]) {
        head.appendChild(el("th", {}, t[`filings.col.${k}`]));
      }
      tbl.appendChild(head);
      for (const f of items) {
        const tr = el("tr", { "data-filing": f.filing_id, "data-testid": "filing-row", tabindex: "0" });
        if (f.filing_id === selected) tr.classList.add("om-selected");
        tr.appendChild(el("td", {}, f.filing_id));
        tr.appendChild(el("td", { "data-status": f.status }, statusLabel(f.status)));
        tr.appendChild(el("td", {}, f.applicant.name));
        tr.appendChild(el("td", {}, f.applicant.organisation || "—"));
        tr.appendChild(el("td", {}, f.submitted));
        const d = f.approval_deadline;
        const cell = el("td", { "data-testid": "deadline" },
          d ? `${d.date}${d.provisional ? "*" : ""} ${stateLabel(f.deadline_state)}`.trim() : "—");
        if (f.deadline_state) cell.classList.add(`om-deadline-${f.deadline_state}`);
        tr.appendChild(cell);
        tr.addEventListener("click", () => open(f.filing_id));
        tr.addEventListener("keydown", (e) => { if (e.key === "Enter") open(f.filing_id); });
        tbl.appendChild(tr);
      }
      return tbl;
    }

    function open(id) {
      selected = id;
      for (const tr of register.querySelectorAll("tr[data-filing]")) {
        tr.classList.toggle("om-selected", tr.getAttribute("data-filing") === id);
      }
      const base = `/api/v1/filings/${encodeURIComponent(id)}`;
      detail.replaceChildren(el("p", {}, t["status.loading"]));
      return Promise.all([api(base), api(`${base}/history`)])
        .then(([f, h]) => show(f, h.events))
        .catch((err) => error(detail, err));
    }

    function drawRoute(f) {
      routeLayer.clearLayers();
      const segs = ((f.verdict || {}).segments || []).filter((s) => s.geometry);
      if (segs.length) {
        for (const s of segs) {
          L.geoJSON(s.geometry, { style: { color: CORRIDOR_COLOR[s.corridor] || "#999", weight: 6 } })
            .bindTooltip(el("span", {}, t[`corridor.${s.corridor}`] || s.corridor)).addTo(routeLayer);
        }
      } else if (f.route) {
        L.geoJSON(f.route, { style: { color: "#d81b60", weight: 6 } }).addTo(routeLayer);
      }
      const b = routeLayer.getBounds();
      if (b.isValid()) map.fitBounds(b, { maxZoom: 18 });
    }

    function show(f, events) {
      drawRoute(f);
      const v = f.verdict || {};
      const box = el("div", { class: "om-card", "data-testid": "filing-detail" });
      box.appendChild(el("h3", {}, `${f.filing_id} · ${statusLabel(f.status)}`));
      const tbl = el("table");
      row(tbl, t["filings.col.applicant"], f.applicant.name);
      row(tbl, t["filings.col.organisation"], f.applicant.organisation || "—");
      row(tbl, t["filings.phone"], f.applicant.phone || "—");
      row(tbl, t["filings.project"], f.project_id || "—");
      row(tbl, t["check.voltage"], String(f.voltage_kv));
      row(tbl, t["filings.col.submitted"], `${f.submitted} (${f.submitted_by})`);
      row(tbl, t["check.verdict"], el("span", { class: f.eligible ? "om-ok" : "om-bad" },
        f.eligible ? t["check.eligible"] : t["check.not_eligible"]));
      row(tbl, t["check.length"], v.length_m === undefined ? "—" : Number(v.length_m).toFixed(1));
      if (v.reasons && v.reasons.length) {
        row(tbl, t["check.reasons"], list(v.reasons.map((r) => `${r.code}: ${r.message}`)));
      }
      if (f.permits && f.permits.length) {
        row(tbl, t["check.permits"], list(f.permits.map((p) => t[`permit.${p}`] || p)));
      }
      const d = f.approval_deadline;
      if (d) {
        const cell = el("span", {}, `${d.date} (${fmt(t["check.workdays"], { n: d.workdays })})` +
          (d.provisional ? ` ${t["check.provisional"]}` : "") +
          (f.deadline_state ? ` · ${stateLabel(f.deadline_state)}` : ""));
        if (f.deadline_state) cell.classList.add(`om-deadline-${f.deadline_state}`);
        row(tbl, t["check.deadline"], cell);
      }
      row(tbl, t["filings.rules"], `${f.rules.id} ${f.rules.version}`);
      if (f.note) row(tbl, t["filings.note"], f.note);
      box.appendChild(tbl);

      const pdf = el("button", { type: "button", "data-testid": "filing-pdf" }, t["filings.pdf"]);
      pdf.addEventListener("click", () => {
        apiBlob(`/api/v1/filings/${encodeURIComponent(f.filing_id)}/decision.pdf`)
          .then((b) => openBlob(b, `${f.filing_id}.pdf`, false))
          .catch((err) => error(message, err));
      });
      const actions = el("div", { class: "om-actions" });
      actions.appendChild(pdf);
      const note = el("input", { type: "text", "aria-label": t["filings.note"], placeholder: t["filings.note"], "data-testid": "action-note" });
      if (f.allowed_actions.length) {
        box.appendChild(el("h4", {}, t["filings.actions"]));
        box.appendChild(note);
      }
      for (const a of f.allowed_actions) {
        const b = el("button", { type: "button", "data-action": a }, actionLabel(a));
        b.addEventListener("click", () => act(f.filing_id, a, note.value));
        actions.appendChild(b);
      }
      box.appendChild(actions);
      const message = el("p", { "aria-live": "polite" });
      box.appendChild(message);

      box.appendChild(el("h4", {}, t["filings.history"]));
      const hist = el("table", { "data-testid": "history" });
      const head = el("tr");
      for (const k of ["at", "action", "actor", "status", "note"]) head.appendChild(el("th", {}, t[`filings.hist.${k}`]));
      hist.appendChild(head);
      for (const e of events) {
        const tr = el("tr");
        tr.appendChild(el("td", {}, String(e.at).slice(0, 19).replace("T", " ")));
        tr.appendChild(el("td", {}, t[`filings.action.${e.action}`] || e.action));
        tr.appendChild(el("td", {}, `${e.actor} (${e.role})`));
        tr.appendChild(el("td", {}, `${e.status_before ? statusLabel(e.status_before) + " → " : ""}${statusLabel(e.status_after)}`));
        tr.appendChild(el("td", {}, e.note || ""));
        hist.appendChild(tr);
      }
      box.appendChild(hist);
      detail.replaceChildren(box);
    }

    function act(id, action, note) {
      return api(`/api/v1/filings/${encodeURIComponent(id)}/events`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ action, note }),
      }).then(() => Promise.all([load(), open(id)]))
        .catch((err) => error(detail, err));
    }

    load().then(() => {
      const id = decodeURIComponent(location.hash.slice(1));
      if (id && token()) open(id);
    });
  };
})();
