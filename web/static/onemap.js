/* onemap map pages: bbox loading of layers, popups and result cards.
 *
 * Data values are only ever put in the page with textContent (never innerHTML), so a parcel named
 * "<script>…" shows as that text. All requests go to this app's own /api/v1.
 */
(function () {
  "use strict";

  const STYLE = {
    roads: { color: "#616161", weight: 3, opacity: 0.8 },
    ducts: { color: "#6a1b9a", weight: 3, dashArray: "6 4" },
    feeders: { color: "#1565c0", weight: 2.5 },
    substations: { radius: 9, color: "#b71c1c", fillColor: "#e53935", fillOpacity: 0.9, weight: 2 },
    assets: { radius: 5, color: "#0d47a1", fillColor: "#42a5f5", fillOpacity: 0.9, weight: 1 },
    projects: { radius: 7, color: "#e65100", fillColor: "#ff9800", fillOpacity: 0.8, weight: 2 },
    route: { color: "#d81b60", weight: 5, opacity: 0.9 },
  };
  const CORRIDOR_COLOR = {
    sidewalk: "#2e7d32", bike_lane: "#9e9d24", motor_lane: "#c62828", green_belt: "#00897b",
    duct: "#6a1b9a", crossing: "#ef6c00", access: "#546e7a", off_corridor: "#000000",
  };
  const READINESS_COLOR = { A: "#1a9850", B: "#91cf60", C: "#fc8d59", D: "#d73027" };

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function fmt(template, values) {
    return String(template).replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));
  }

  function num(v, digits) {
    if (v === null || v === undefined || v === "") return "—";
    const x = Number(v);
    return Number.isFinite(x) ? x.toFixed(digits === undefined ? 0 : digits) : String(v);
  }

  /** A two-column table of a feature's properties (every value as text). */
  function propsTable(title, props) {
    const box = el("div", { class: "om-popup" });
    box.appendChild(el("strong", {}, title));
    const table = el("table");
    for (const [k, v] of Object.entries(props || {})) {
      if (v === null || v === undefined || v === "") continue;
      const tr = el("tr");
      tr.appendChild(el("th", {}, k));
      tr.appendChild(el("td", {}, typeof v === "object" ? JSON.stringify(v) : v));
      table.appendChild(tr);
    }
    box.appendChild(table);
    return box;
  }

  function landuseColor(opts, code) {
    const c = String(code || "");
    for (const n of [c.length, 4, 2]) {
      const hit = opts.colors && opts.colors[c.slice(0, n)];
      if (hit) return hit;
    }
    return "#cccccc";
  }

  function styleFor(opts) {
    const kind = opts.style;
    if (kind === "landuse") {
      return (f) => ({
        color: "#555", weight: 0.5, fillOpacity: 0.55,
        fillColor: landuseColor(opts, f.properties.landuse_code),
      });
    }
    if (kind === "zones") {
      return (f) => ({
        color: "#333", weight: 0.5, fillOpacity: 0.55,
        fillColor: READINESS_COLOR[f.properties.readiness] || "#9e9e9e",
      });
    }
    if (kind === "hexagons") {
      return (f) => ({
        color: "#333", weight: 1, fillOpacity: 0.45,
        fillColor: READINESS_COLOR[f.properties.majority] || "#9e9e9e",
      });
    }
    if (kind === "capacity") {
      return (f) => ({
        color: (opts.colors || {})[f.properties.status] || "#9e9e9e",
        fillColor: (opts.colors || {})[f.properties.status] || "#9e9e9e",
        weight: 3, radius: f.properties.layer === "substations" ? 9 : 6, fillOpacity: 0.9,
      });
    }
    return () => STYLE[kind] || {};
  }

  /* One status line per map listing layers cut by the limit. */
  function statusControl(map) {
    if (map._omStatus) return map._omStatus;
    const ctrl = L.control({ position: "bottomleft" });
    ctrl.onAdd = () => el("div", { class: "om-status", "data-testid": "map-status" });
    ctrl.addTo(map);
    ctrl.parts = {};
    ctrl.set = (key, text) => {
      if (text) ctrl.parts[key] = text; else delete ctrl.parts[key];
      ctrl.getContainer().textContent = Object.values(ctrl.parts).join(" · ");
    };
    map._omStatus = ctrl;
    return ctrl;
  }

  function bboxParam(map) {
    const b = map.getBounds();
    const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
    return [
      clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90),
      clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90),
    ].map((v) => v.toFixed(6)).join(",");
  }

  /** Keep `group` filled with the features of the visible area from `opts.url`. */
  function bboxLayer(map, group, opts) {
    const status = statusControl(map);
    const t = opts.t || {};
    const style = styleFor(opts);
    let pending = null;
    group._omReload = load;
    function load() {
      if (!map.hasLayer(group)) { status.set(opts.layer, ""); return; }
      if (pending) pending.abort();
      pending = new AbortController();
      const zoom = map.getZoom();
      const sep = opts.url.includes("?") ? "&" : "?";
      const url = `${opts.url}${sep}bbox=${bboxParam(map)}&limit=${opts.limit}&zoom=${zoom}`;
      fetch(url, { signal: pending.signal })
        .then((r) => (r.ok ? r.json() : r.json().then((e) => Promise.reject(new Error(e.message)))))
        .then((fc) => {
          group.clearLayers();
          // Non-interactive layers let clicks through to the map (site picking on /preview).
          const interactive = opts.interactive !== false;
          const layer = L.geoJSON(fc, {
            style: (f) => ({ ...style(f), interactive }),
            pointToLayer: (f, latlng) => L.circleMarker(latlng, { ...style(f), interactive }),
            onEachFeature: (f, lyr) => {
              if (interactive) {
                lyr.bindPopup(() => propsTable(`${opts.label} ${f.id ?? ""}`, f.properties));
              }
            },
          });
          if (group.addLayers) group.addLayers(layer.getLayers());
          else layer.eachLayer((l) => group.addLayer(l));
          const cut = fc.numberMatched > fc.numberReturned;
          status.set(opts.layer, cut ? fmt(t["status.partial"] || "{layer} {shown}/{matched}",
            { layer: opts.label, shown: fc.numberReturned, matched: fc.numberMatched }) : "");
          map.fire("onemap:loaded", { layer: opts.layer, count: fc.numberReturned });
        })
        .catch((err) => {
          if (err.name === "AbortError") return;
          status.set(opts.layer, fmt(t["status.error"] || "{message}", { message: err.message }));
        });
    }
    map.on("moveend", load);
    map.on("overlayadd", (e) => { if (e.layer === group) load(); });
    map.on("overlayremove", (e) => { if (e.layer === group) status.set(opts.layer, ""); });
    load();
  }

  /** Move a server-rendered element (escaped by the template) into a map control. */
  function controlFrom(map, id, position) {
    const node = document.getElementById(id);
    if (!node) return;
    const ctrl = L.control({ position });
    ctrl.onAdd = () => { node.hidden = false; L.DomEvent.disableClickPropagation(node); return node; };
    ctrl.addTo(map);
  }

  async function apiJSON(response) {
    let body = null;
    try { body = await response.json(); } catch (e) { body = { message: response.statusText }; }
    if (!response.ok) throw new Error(body.message || response.statusText);
    return body;
  }

  function showError(box, t, err) {
    box.replaceChildren(el("p", { class: "om-error", role: "alert" },
      `${t["error.generic"] || "Error"}: ${err.message}`));
  }

  function row(table, label, value) {
    const tr = el("tr");
    tr.appendChild(el("th", {}, label));
    const td = el("td");
    if (value instanceof Node) td.appendChild(value); else td.textContent = value ?? "—";
    tr.appendChild(td);
    table.appendChild(tr);
  }

  function list(items, map) {
    const ul = el("ul");
    for (const it of items || []) ul.appendChild(el("li", {}, map ? map(it) : it));
    return ul;
  }

  /* --- filing verdict card (check page, and routes inside previews) --- */
  function verdictCard(v, t) {
    const box = el("div", { class: "om-card", "data-testid": "verdict" });
    box.appendChild(el("h3", {}, t["check.verdict"]));
    box.appendChild(el("p", { class: v.eligible ? "om-ok" : "om-bad", "data-testid": "verdict-eligible" },
      v.eligible ? t["check.eligible"] : t["check.not_eligible"]));
    const table = el("table");
    row(table, t["check.length"], num(v.length_m, 1));
    row(table, t["check.limit"], num(v.limit_m, 0));
    if (v.reasons && v.reasons.length) {
      row(table, t["check.reasons"], list(v.reasons, (r) => `${r.code}: ${r.message}`));
    }
    if (v.permits && v.permits.length) {
      row(table, t["check.permits"], list(v.permits, (p) => t[`permit.${p}`] || p));
    }
    if (v.approval_workdays !== undefined && v.approval_workdays !== null) {
      let text = fmt(t["check.workdays"], { n: v.approval_workdays });
      const d = v.approval_deadline;
      if (d && d.date) text += ` → ${d.date}${d.provisional ? " " + t["check.provisional"] : ""}`;
      row(table, t["check.deadline"], text);
    }
    box.appendChild(table);
    if (v.segments && v.segments.length) {
      box.appendChild(el("h4", {}, t["check.segments"]));
      const seg = el("table", { class: "om-segments" });
      const head = el("tr");
      for (const k of ["check.corridor", "check.road", "check.length", "check.occupied", "check.remaining_bike"]) {
        head.appendChild(el("th", {}, t[k]));
      }
      seg.appendChild(head);
      for (const s of v.segments) {
        const tr = el("tr");
        const swatch = el("td", {}, t[`corridor.${s.corridor}`] || s.corridor);
        swatch.style.borderLeft = `6px solid ${CORRIDOR_COLOR[s.corridor] || "#999"}`;
        tr.appendChild(swatch);
        tr.appendChild(el("td", {}, s.road_id ?? "—"));
        tr.appendChild(el("td", {}, num(s.length_m, 1)));
        tr.appendChild(el("td", {}, num(s.occupied_width_m, 2)));
        tr.appendChild(el("td", {}, num(s.remaining_bike_m, 2)));
        seg.appendChild(tr);
      }
      box.appendChild(seg);
    }
    return box;
  }

  /** Draw a verdict's segments coloured by corridor (or the whole route when they carry no geometry). */
  function drawVerdict(layer, verdict, routeGeometry) {
    layer.clearLayers();
    const segs = (verdict.segments || []).filter((s) => s.geometry);
    if (segs.length) {
      for (const s of segs) {
        L.geoJSON(s.geometry, {
          style: { color: CORRIDOR_COLOR[s.corridor] || "#999", weight: 6, opacity: 0.9 },
        }).bindTooltip(el("span", {}, s.corridor)).addTo(layer);
      }
    } else if (routeGeometry) {
      L.geoJSON(routeGeometry, {
        style: { color: verdict.eligible ? "#2e7d32" : "#c62828", weight: 6 },
      }).addTo(layer);
    }
  }

  /* --- pages --- */
  const pages = {};

  pages.map = function (map, opts) {
    controlFrom(map, "om-legend", "bottomright");
  };

  pages.readiness = function (map, opts) {
    controlFrom(map, "om-legend", "bottomright");
  };

  pages.capacity = function (map, opts) {
    controlFrom(map, "om-legend", "bottomright");
  };

  pages.preview = function (map, opts) {
    const t = opts.t;
    const form = document.getElementById("preview-form");
    const card = document.getElementById("preview-card");
    const result = L.featureGroup().addTo(map);
    let site = null;
    map.on("click", (e) => {
      form.elements.lon.value = e.latlng.lng.toFixed(6);
      form.elements.lat.value = e.latlng.lat.toFixed(6);
      ask();
    });
    form.addEventListener("submit", (e) => { e.preventDefault(); ask(); });

    function ask() {
      const f = form.elements;
      if (!f.lon.value || !f.lat.value) return;
      const lat = Number(f.lat.value), lon = Number(f.lon.value);
      if (site) site.remove();
      site = L.marker([lat, lon]).addTo(map);
      const q = new URLSearchParams({ lon: f.lon.value, lat: f.lat.value, kw: f.kw.value, category: f.category.value });
      if (f.date.value) q.set("date", f.date.value);
      q.set("lang", opts.lang || "zh");
      card.replaceChildren(el("p", {}, t["status.loading"]));
      fetch(`/api/v1/preview?${q}`).then(apiJSON).then((p) => {
        card.replaceChildren(previewCard(p, t));
        result.clearLayers();
        if (p.route && p.route.geometry) {
          L.geoJSON(p.route.geometry, { style: STYLE.route }).addTo(result);
        }
        const cp = p.connection_point;
        if (cp && cp.lon !== undefined && cp.lat !== undefined) {
          L.circleMarker([cp.lat, cp.lon], { radius: 8, color: "#d81b60", weight: 3 })
            .bindTooltip(el("span", {}, cp.asset_id)).addTo(result);
        }
      }).catch((err) => showError(card, t, err));
    }
  };

  function previewCard(p, t) {
    const box = el("div", { class: "om-card", "data-testid": "preview-result" });
    box.appendChild(el("h3", {}, t["preview.result"]));
    const badge = el("span", { class: `om-class om-class-${p.readiness}`, "data-testid": "readiness-class" },
      t[`readiness.class.${p.readiness}`] || p.readiness);
    const table = el("table");
    row(table, t["preview.class"], badge);
    row(table, t["preview.category"], t[`category.${p.category}`] || p.category);
    row(table, t["preview.voltage"], num(p.voltage_kv, 1));
    const cp = p.connection_point;
    row(table, t["preview.connection_point"], cp ? `${cp.asset_id} (${cp.kind})` : t["preview.none"]);
    if (cp) {
      row(table, t["preview.headroom"], num(cp.headroom_kw, 0));
      row(table, t["preview.distance"], num(cp.distance_m, 0));
    }
    if (p.route) {
      row(table, t["preview.route"], num(p.route.length_m, 0));
      if (p.route.filing) {
        row(table, t["preview.filing"], p.route.filing.eligible ? t["check.eligible"] : t["check.not_eligible"]);
      }
    }
    const tl = p.timeline || {};
    row(table, t["preview.steps"], list(tl.steps));
    row(table, t["preview.process_workdays"], num(tl.process_workdays));
    row(table, t["preview.works_workdays"], num(tl.works_workdays));
    const earliest = tl.earliest_date && typeof tl.earliest_date === "object"
      ? tl.earliest_date.date + (tl.earliest_date.provisional ? " " + t["check.provisional"] : "")
      : tl.earliest_date;
    row(table, t["preview.earliest"], earliest ?? "—");
    row(table, t["preview.documents"], list(p.documents));
    row(table, t["preview.payer"], t[`payer.${p.payer}`] || p.payer);
    if (p.tariff_hint) row(table, t["preview.tariff"], typeof p.tariff_hint === "object" ? JSON.stringify(p.tariff_hint) : p.tariff_hint);
    box.appendChild(table);
    return box;
  }

  pages.check = function (map, opts) {
    const t = opts.t;
    const form = document.getElementById("check-form");
    const card = document.getElementById("check-card");
    const drawn = () => window[`drawnItems_${opts.draw}`];
    const result = L.featureGroup().addTo(map);

    function show(promise, geometry) {
      card.replaceChildren(el("p", {}, t["status.loading"]));
      promise.then(apiJSON).then((v) => {
        card.replaceChildren(verdictCard(v, t));
        drawVerdict(result, v, v.geometry || geometry);
        const b = result.getBounds();
        if (b.isValid()) map.fitBounds(b, { maxZoom: 18 });
      }).catch((err) => showError(card, t, err));
    }

    map.on(L.Draw.Event.CREATED, (e) => {
      // Keep only the newest line: one route is checked at a time.
      const items = drawn();
      if (items) items.eachLayer((l) => { if (l !== e.layer) items.removeLayer(l); });
      const geometry = e.layer.toGeoJSON().geometry;
      const body = { route: geometry, voltage_kv: Number(form.elements.voltage_kv.value) };
      if (form.elements.date.value) body.date = form.elements.date.value;
      show(fetch(`/api/v1/check-route?lang=${opts.lang || "zh"}`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      }), geometry);
    });

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const file = form.elements.file.files[0];
      if (!file) return;
      const data = new FormData();
      data.append("file", file);
      data.append("voltage_kv", form.elements.voltage_kv.value);
      if (form.elements.date.value) data.append("date", form.elements.date.value);
      show(fetch(`/api/v1/check-route/file?lang=${opts.lang || "zh"}`, { method: "POST", body: data }), null);
    });
  };

  /** Leaflet.draw's polyline texts (toolbar, actions, tooltips) from the page's strings. */
  function drawLocale(t) {
    const d = L.drawLocal.draw;
    d.toolbar.buttons.polyline = t["draw.polyline"];
    d.toolbar.actions.text = t["draw.cancel"];
    d.toolbar.actions.title = t["draw.cancel"];
    d.toolbar.finish.text = t["draw.finish"];
    d.toolbar.finish.title = t["draw.finish"];
    d.toolbar.undo.text = t["draw.undo"];
    d.toolbar.undo.title = t["draw.undo"];
    d.handlers.polyline.tooltip.start = t["draw.start"];
    d.handlers.polyline.tooltip.cont = t["draw.cont"];
    d.handlers.polyline.tooltip.end = t["draw.end"];
    L.drawLocal.edit.toolbar.buttons.remove = t["draw.remove"];
    L.drawLocal.edit.toolbar.buttons.removeDisabled = t["draw.remove"];
  }

  window.onemap = { bboxLayer, pages, propsTable, el, drawLocale };
})();
