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
    // planning: new feeders dash-dot in their own colour (ducts are purple dashes)
    "plan-feeders": { color: "#ad1457", weight: 4, opacity: 0.95, dashArray: "12 5 2 5" },
    "plan-sites": { radius: 11, color: "#ad1457", fillColor: "#f8bbd0", fillOpacity: 1, weight: 4 },
    "plan-points": { radius: 5, color: "#ad1457", fillColor: "#ffffff", fillOpacity: 1, weight: 2 },
  };
  // Drawing order (higher on top): areas, then lines, then points, whatever loads first.
  const ORDER = {
    landuse: 0, zones: 1, hexagons: 1, "plan-parcels": 1, roads: 2, ducts: 3, lines: 3,
    feeders: 4, "plan-feeders": 5, capacity: 6, projects: 6, assets: 7, "plan-points": 7,
    substations: 8, "plan-sites": 9,
  };
  const CORRIDOR_COLOR = {
    sidewalk: "#2e7d32", bike_lane: "#9e9d24", motor_lane: "#c62828", green_belt: "#00897b",
    duct: "#6a1b9a", crossing: "#ef6c00", access: "#546e7a", off_corridor: "#000000",
  };
  const READINESS_COLOR = { A: "#2c7bb6", B: "#abd9e9", C: "#fdae61", D: "#d7191c" };  // = onemap.lang.CLASS_COLORS

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

  /** One coded or numeric value as the text a person reads (see web/pages/popups.py). */
  function shownValue(k, v, values, formats) {
    const names = (values || {})[k];
    const format = (formats || {})[k];
    if (format === "landuse") {
      const c = String(v);
      for (const n of [c.length, 4, 2]) if (names && names[c.slice(0, n)]) return names[c.slice(0, n)].replace(c.slice(0, n), c);
      return c;
    }
    if (format === "xs_source" && names) {
      const s = String(v);
      if (names[s]) return names[s];
      const parts = s.split(";").filter(Boolean);
      const assumed = parts.filter((x) => x.endsWith("=default")).length;
      if (!assumed) return names.tagged || s;
      return assumed === parts.length ? names.default || s : names.partly_default || s;
    }
    if (names && names[String(v)] !== undefined) return names[String(v)];
    if (typeof v === "number" && (format === "percent" || k === "share_left")) return `${(v * 100).toFixed(1)}%`;
    if (typeof v === "number" && format === "year") return String(Math.round(v));
    if (typeof v === "number") return Number.isInteger(v) ? v : v.toFixed(1);
    if (typeof v === "boolean") return String(v);
    return typeof v === "object" ? JSON.stringify(v) : v;
  }

  /** A two-column table of a feature's properties (every value as text). With `fields`
   *  (pairs of key and label in the page language), only those, in that order, labelled;
   *  `values` (key → value → text) names coded values, `formats` (key → percent, landuse,
   *  xs_source, year) says how a value reads. */
  function propsTable(title, props, fields, values, formats, requires) {
    const box = el("div", { class: "om-popup" });
    box.appendChild(el("strong", {}, title));
    const table = el("table");
    const empty = (v) => v === null || v === undefined || v === "";
    if (fields) {
      for (const [k, label] of Array.isArray(fields) ? fields : Object.entries(fields)) {
        const v = (props || {})[k];
        if (empty(v)) continue;
        if (requires && requires[k] && empty((props || {})[requires[k]])) continue;  // e.g. no route
        const tr = el("tr", { "data-field": k });
        tr.appendChild(el("th", {}, label));
        tr.appendChild(el("td", {}, shownValue(k, v, values, formats)));
        table.appendChild(tr);
      }
      box.appendChild(table);
      return box;
    }
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

  /** The why of one parcel (GET opts.why with its id), appended to its popup (readiness page). */
  function whyInto(box, url, t, grown) {
    const slot = el("div", { class: "om-popup-why", "data-testid": "popup-why" }, t["popup.why_loading"]);
    box.appendChild(slot);
    fetch(url).then(apiJSON).then((r) => {
      slot.replaceChildren();
      if (r.parcel && r.parcel.name) slot.appendChild(el("p", { class: "om-note" }, r.parcel.name));
      const why = r.why || [];
      const causes = why.filter((w) => w.kind !== "fix"), fixes = why.filter((w) => w.kind === "fix");
      if (causes.length) { slot.appendChild(el("h5", {}, t["preview.why"])); slot.appendChild(whyList(causes, "om-why")); }
      if (fixes.length) { slot.appendChild(el("h5", {}, t["preview.fixes"])); slot.appendChild(whyList(fixes, "om-fixes")); }
      if (grown) grown();
    }).catch(() => { slot.textContent = t["popup.why_failed"]; });
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
        weight: f.properties.layer === "lines" ? 4 : 3,
        radius: f.properties.layer === "substations" ? 9 : 6, fillOpacity: 0.9,
      });
    }
    if (kind === "lines") {
      // LV thin orange, MV teal (feeders stay blue)
      return (f) => (Number(f.properties.voltage_kv) <= 1
        ? { color: "#ef6c00", weight: 1.5, opacity: 0.9 }
        : { color: "#00838f", weight: 2.5, opacity: 0.9 });
    }
    if (kind === "plan-parcels") {
      return (f) => ({
        color: f.properties.changed ? "#212121" : "#555", weight: f.properties.changed ? 2.5 : 0.5,
        fillOpacity: 0.6, fillColor: READINESS_COLOR[f.properties.after] || "#9e9e9e",
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

  /** Bring the groups drawn above `order` back on top of one that just loaded (canvas draws and
   *  hit-tests in order: a substation stays above the land use and gets its own click). */
  function restack(map, order) {
    const above = (map._omGroups || []).filter((g) => g.order > order).sort((a, b) => a.order - b.order);
    for (const g of above) g.group.eachLayer((l) => { if (l.bringToFront && l._renderer) l.bringToFront(); });
  }

  /** Popup size and auto-pan margins: a popup fits the map, and on a phone (a short map under
   *  the navigation) it opens below the zoom buttons and scrolls inside. */
  function popupOptions(map) {
    const phone = window.matchMedia && window.matchMedia("(max-width: 800px)").matches;
    const size = map.getSize();
    return {
      maxWidth: phone ? Math.min(300, size.x - 40) : 360,
      maxHeight: Math.max(140, size.y - (phone ? 150 : 70)),
      autoPanPaddingTopLeft: phone ? L.point(5, 95) : L.point(5, 5),
    };
  }

  /** Keep `group` filled with the features of the visible area from `opts.url`. Options:
   *  `fields`/`values`/`formats`/`title` label the popups; `why` (a URL with {id}) adds the
   *  parcel's why to its popup; `filter` (feature → bool) hides features client-side. */
  function bboxLayer(map, group, opts) {
    const status = statusControl(map);
    const t = opts.t || {};
    const style = styleFor(opts);
    const order = ORDER[opts.style] ?? 5;
    (map._omGroups = map._omGroups || []).push({ group, order });
    let pending = null;
    group._omReload = () => load(true);  // a filter changed: reload now
    group._omOptions = opts;
    let held = false;
    function load(force) {
      if (!map.hasLayer(group)) { status.set(opts.layer, ""); return; }
      // A popup of this layer is open (its auto-pan moved the map): keep its feature until the
      // popup closes, rather than reload the layer under it and lose the popup.
      const open = map._popup && map._popup.isOpen() && map._popup._source;
      if (open && group.hasLayer(open) && force !== true) { held = true; return; }
      held = false;
      if (pending) pending.abort();
      pending = new AbortController();
      const zoom = map.getZoom();
      const sep = opts.url.includes("?") ? "&" : "?";
      const extra = opts.params ? `&${new URLSearchParams(opts.params)}` : "";
      const url = `${opts.url}${sep}bbox=${bboxParam(map)}&limit=${opts.limit}&zoom=${zoom}${extra}`;
      fetch(url, { signal: pending.signal })
        .then((r) => (r.ok ? r.json() : r.json().then((e) => Promise.reject(new Error(e.message)))))
        .then((fc) => {
          group.clearLayers();
          // Non-interactive layers let clicks through to the map (site picking on /preview).
          const interactive = opts.interactive !== false;
          const layer = L.geoJSON(fc, {
            filter: (f) => !opts.filter || opts.filter(f),
            style: (f) => ({ ...style(f), interactive }),
            pointToLayer: (f, latlng) => L.circleMarker(latlng, { ...style(f), interactive }),
            onEachFeature: (f, lyr) => {
              if (interactive) {
                lyr.bindPopup(() => {
                  const box = propsTable(`${opts.title || opts.label} ${f.id ?? ""}`, f.properties, opts.fields, opts.values, opts.formats, opts.requires);
                  if (opts.why && f.id !== undefined && f.id !== null) {
                    whyInto(box, opts.why.replace("{id}", encodeURIComponent(f.id)), t, () => {
                      // the popup grew: lay it out again and pan it into view
                      const pop = lyr.getPopup();
                      if (pop && pop.isOpen()) { pop._updateLayout(); pop._updatePosition(); pop._adjustPan(); }
                    });
                  }
                  return box;
                }, popupOptions(map));
              }
            },
          });
          if (group.addLayers) group.addLayers(layer.getLayers());
          else layer.eachLayer((l) => group.addLayer(l));
          restack(map, order);
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
    map.on("popupclose", () => { if (held) setTimeout(load, 0); });
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
    if (!response.ok) {
      const err = new Error(body.message || response.statusText);
      err.field = body.field;
      err.file = body.file;
      err.status = response.status;
      throw err;
    }
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
      if (d && d.date_assumed) text += ` (${t["check.date_assumed"]})`;
      row(table, t["check.deadline"], text);
    }
    if (v.basis) {
      // what the verdict rests on, in plain words (issue 14): surveyed, tagged or guessed strips
      const share = (v.assumptions || []).reduce((a, x) => a + (x.share || 0), 0);
      const words = fmt(t[`check.basis_${v.basis}`] || v.basis, { share: `${Math.round(share * 100)}%` });
      const roads = (v.assumptions || []).map((x) => x.road_name || x.road_id).filter(Boolean);
      const tail = roads.length ? ` — ${[...new Set(roads)].join(", ")}` : "";
      row(table, t["check.basis"], words + tail);
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
        tr.appendChild(el("td", {}, s.road_name ? `${s.road_name} (${s.road_id})` : (s.road_id ?? "—")));
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
  function drawVerdict(layer, verdict, routeGeometry, t) {
    layer.clearLayers();
    const segs = (verdict.segments || []).filter((s) => s.geometry);
    if (segs.length) {
      for (const s of segs) {
        const name = (t || {})[`corridor.${s.corridor}`] || s.corridor_name || s.corridor;
        const road = s.road_name || s.road_id;
        L.geoJSON(s.geometry, {
          style: { color: CORRIDOR_COLOR[s.corridor] || "#999", weight: 6, opacity: 0.9 },
        }).bindTooltip(el("span", {}, road ? `${name} · ${road}` : name)).addTo(layer);
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

  /** The planning page: its legend, and the chosen sites' markers (drawn with the page) kept
   *  on top of every layer, each with its labelled popup from /api/v1/plan/layers/sites. */
  pages.planning = function (map, opts) {
    controlFrom(map, "om-legend", "bottomright");
    const group = opts.sites && window[opts.sites];
    if (!group) return;
    const popup = opts.popup || {};
    group._omOptions = { layer: "plan-sites", ...popup };
    (map._omGroups = map._omGroups || []).push({ group, order: ORDER["plan-sites"] });
    restack(map, -1);
    fetch(`/api/v1/plan/layers/sites?k=${encodeURIComponent(opts.k)}`).then(apiJSON).then((fc) => {
      group.eachLayer((marker) => {
        const at = marker.getLatLng();
        const f = (fc.features || []).find((x) => Math.abs(x.geometry.coordinates[0] - at.lng) < 1e-6
          && Math.abs(x.geometry.coordinates[1] - at.lat) < 1e-6);
        if (!f) return;
        marker.feature = f;
        marker.bindPopup(() => propsTable(`${popup.title || ""} ${f.id}`, f.properties,
          popup.fields, popup.values, popup.formats, popup.requires), popupOptions(map));
      });
    }).catch(() => {});
  };

  /** The capacity map's voltage filter (issue 16 item 7): the server's ?voltage_kv= where it
   *  has one, and the same filter on the features here, so the map shows only that voltage. */
  pages.capacity = function (map, opts) {
    controlFrom(map, "om-legend", "bottomright");
    const select = document.getElementById("cap-voltage");
    if (!select) return;
    select.form.addEventListener("submit", (e) => e.preventDefault());
    select.addEventListener("change", () => {
      const want = select.value === "" ? null : Number(select.value);
      map.eachLayer((g) => {
        const o = g._omOptions;
        if (!o || o.style !== "capacity") return;
        o.params = want === null ? null : { voltage_kv: want };
        o.filter = want === null ? null : (f) => Math.abs(Number(f.properties.voltage_kv) - want) < 1e-6;
        g._omReload();
      });
    });
  };

  /** The page-language text of a failed route check (drawn or uploaded): what is wrong with
   *  the file or route in words, the server's own message kept as technical detail. */
  function checkError(t, err) {
    const field = String(err.field || "").split(".").pop();
    let key = "check.error.other";
    if (err.status === 413) key = "check.error.too_big";
    else if (field === "voltage_kv") key = "check.error.voltage";
    else if (field === "geometry" || field === "type") key = "check.error.geometry";
    else if (field === "route" || field === "crs") key = "check.error.route";
    else if (err.file && !field) key = "check.error.format";
    const box = el("div", { class: "om-error", role: "alert", "data-testid": "error" });
    box.appendChild(el("p", {}, `${t["error.generic"] || "Error"}: ${t[key] || err.message}`));
    if (err.message) {
      const det = el("details");
      det.appendChild(el("summary", {}, t["error.detail"] || "detail"));
      det.appendChild(el("p", { class: "om-detail" }, err.message));
      box.appendChild(det);
    }
    return box;
  }

  /** The page-language text of a failed request: the field's message on the page's language,
   *  the server's own message kept as technical detail (issue 16 item 3). */
  function errorBox(t, err) {
    const box = el("div", { class: "om-error", role: "alert", "data-testid": "error" });
    const field = String(err.field || "").split(".").pop();
    const key = { "lon,lat": "at", at: "at", kw: "kw", category: "category", date: "date",
      lon: "lon", lat: "lat" }[field];
    const own = key ? t[`error.field.${key}`] : null;
    box.appendChild(el("p", {}, `${t["error.generic"] || "Error"}: ${own || t["error.field.other"] || err.message}`));
    if (err.message) {
      const det = el("details");
      det.appendChild(el("summary", {}, t["error.detail"] || "detail"));
      det.appendChild(el("p", { class: "om-detail" }, err.message));
      box.appendChild(det);
    }
    return box;
  }

  pages.preview = function (map, opts) {
    const t = opts.t;
    const form = document.getElementById("preview-form");
    const card = document.getElementById("preview-card");
    const result = L.featureGroup().addTo(map);
    map._omResult = result;  // the drawn answer (tests count its layers)
    let site = null;
    let seq = 0;
    map.on("click", (e) => {
      form.elements.lon.value = e.latlng.lng.toFixed(6);
      form.elements.lat.value = e.latlng.lat.toFixed(6);
      ask();
    });
    form.addEventListener("submit", (e) => { e.preventDefault(); ask(); });

    function query() {
      const f = form.elements;
      const q = new URLSearchParams({ lon: f.lon.value, lat: f.lat.value, kw: f.kw.value, category: f.category.value });
      if (f.date.value) q.set("date", f.date.value);
      q.set("lang", opts.lang || "zh");
      return q;
    }

    function ask() {
      const f = form.elements;
      if (!f.lon.value || !f.lat.value) return;
      const lat = Number(f.lat.value), lon = Number(f.lon.value);
      if (site) site.remove();
      site = L.marker([lat, lon]).addTo(map);
      const q = query();
      // The permalink: this page's URL reproduces the query.
      const link = `${location.pathname}?${q}`;
      history.replaceState(null, "", link);
      const mine = ++seq;
      card.replaceChildren(el("p", {}, t["status.loading"]));
      fetch(`/api/v1/preview?${q}`).then(apiJSON).then((p) => {
        if (mine !== seq) return;
        card.replaceChildren(previewCard(p, t, link));
        result.clearLayers();
        if (p.route && p.route.geometry) {
          L.geoJSON(p.route.geometry, { style: STYLE.route }).addTo(result);
        }
        for (const cp of [p.connection_point, p.second_connection_point]) {
          if (cp && cp.lon !== undefined && cp.lat !== undefined) {
            L.circleMarker([cp.lat, cp.lon], { radius: 8, color: "#d81b60", weight: 3 })
              .bindTooltip(el("span", {}, cp.asset_id)).addTo(result);
          }
        }
        if (window.matchMedia && window.matchMedia("(max-width: 800px)").matches) {
          card.scrollIntoView({ block: "start" });
        }
      }).catch((err) => {
        if (mine !== seq) return;
        // A failed query clears the previous result from the map and the card.
        result.clearLayers();
        if (site) { site.remove(); site = null; }
        card.replaceChildren(errorBox(t, err));
      });
    }

    // Opened from a permalink: fill the form from the URL and ask.
    const params = new URLSearchParams(location.search);
    if (params.get("lon") && params.get("lat")) {
      for (const k of ["lon", "lat", "kw", "category", "date"]) {
        if (params.get(k) && form.elements[k]) form.elements[k].value = params.get(k);
      }
      const lat = Number(params.get("lat")), lon = Number(params.get("lon"));
      if (Number.isFinite(lat) && Number.isFinite(lon)) map.setView([lat, lon], Math.max(map.getZoom(), 16));
      ask();
    }
  };

  function whyList(items, cls) {
    const ul = el("ul", { class: cls });
    for (const w of items) {
      const li = el("li", { "data-code": w.code }, w.message);
      ul.appendChild(li);
    }
    return ul;
  }

  function costTable(est, t) {
    const box = el("div", { class: "om-cost", "data-testid": "cost" });
    box.appendChild(el("h4", {}, t["preview.cost"]));
    const table = el("table", { class: "om-segments" });
    const head = el("tr");
    for (const k of ["preview.cost_item", "preview.quantity", "preview.unit_yuan", "preview.yuan", "preview.cost_payer"]) {
      head.appendChild(el("th", {}, t[k]));
    }
    table.appendChild(head);
    const yuan = (v) => Number(v).toLocaleString(undefined, { maximumFractionDigits: 0 });
    for (const it of est.items || []) {
      const tr = el("tr");
      tr.appendChild(el("td", {}, it.what));
      tr.appendChild(el("td", {}, `${it.quantity} ${it.unit}`));
      tr.appendChild(el("td", {}, yuan(it.unit_yuan)));
      tr.appendChild(el("td", {}, yuan(it.yuan)));
      tr.appendChild(el("td", {}, t[`payer.${it.payer}`] || it.payer));
      table.appendChild(tr);
    }
    const tot = el("tr", { class: "om-total" });
    tot.appendChild(el("th", {}, t["preview.cost_total"]));
    tot.appendChild(el("td"));
    tot.appendChild(el("td"));
    tot.appendChild(el("th", { "data-testid": "cost-total" }, yuan(est.total_yuan)));
    tot.appendChild(el("td", {}, Object.entries(est.by_payer || {}).filter(([, v]) => v)
      .map(([k, v]) => `${t[`payer.${k}`] || k} ${yuan(v)}`).join("; ")));
    table.appendChild(tot);
    box.appendChild(table);
    box.appendChild(el("p", { class: "om-note" }, est.basis));
    return box;
  }

  function previewCard(p, t, link) {
    const box = el("div", { class: "om-card", "data-testid": "preview-result" });
    box.appendChild(el("h3", {}, t["preview.result"]));
    const badge = el("span", { class: `om-class om-class-${p.readiness}`, "data-testid": "readiness-class" },
      t[`readiness.class.${p.readiness}`] || p.readiness);
    const table = el("table");
    row(table, t["preview.class"], badge);
    const pc = p.parcel;
    if (pc) {
      row(table, t["preview.parcel"], pc.name ? `${pc.parcel_id} · ${pc.name}` : pc.parcel_id);
      row(table, t["preview.landuse"], pc.landuse_name ? `${pc.landuse_code} ${pc.landuse_name}` : pc.landuse_code);
    } else {
      row(table, t["preview.parcel"], t["preview.no_parcel"]);
    }
    row(table, t["preview.category"], t[`category.${p.category}`] || p.category);
    row(table, t["preview.voltage"], num(p.voltage_kv, 1));
    const cp = p.connection_point;
    row(table, t["preview.connection_point"], cp ? `${cp.asset_id} (${t[`kind.${cp.kind}`] || cp.kind})` : t["preview.none"]);
    if (cp) {
      row(table, t["preview.headroom"], num(cp.headroom_kw, 0));
      row(table, t["preview.distance"], num(cp.distance_m, 0));
    }
    if (p.route) {
      row(table, t["preview.route"], num(p.route.length_m, 0));
      if (p.route.filing) {
        const ok = p.route.filing.eligible;
        row(table, t["preview.filing"], el("span", { class: ok ? "om-ok" : "om-bad", "data-testid": "route-filing" },
          ok ? t["preview.route_filing"] : t["preview.route_permits"]));
      }
    }
    const why = p.why || [];
    const causes = why.filter((w) => w.kind !== "fix"), fixes = why.filter((w) => w.kind === "fix");
    if (causes.length) row(table, t["preview.why"], whyList(causes, "om-why"));
    if (fixes.length) row(table, t["preview.fixes"], whyList(fixes, "om-fixes"));
    const tl = p.timeline || {};
    row(table, t["preview.steps"], list(tl.steps));
    row(table, t["preview.process_workdays"], num(tl.process_workdays));
    row(table, t["preview.works_workdays"], num(tl.works_workdays));
    let earliest = tl.earliest_date && typeof tl.earliest_date === "object" ? tl.earliest_date.date : tl.earliest_date;
    const provisional = tl.provisional === true || (tl.earliest_date && tl.earliest_date.provisional === true);
    const when = el("span", { "data-testid": "earliest" }, earliest ?? "—");
    if (earliest && provisional) {
      when.appendChild(el("span", { class: "om-provisional", "data-testid": "provisional" }, ` ${t["preview.provisional"]}`));
    }
    row(table, t["preview.earliest"], when);
    row(table, t["preview.documents"], list(p.documents));
    row(table, t["preview.payer"], t[`payer.${p.payer}`] || p.payer);
    if (p.tariff_hint) row(table, t["preview.tariff"], typeof p.tariff_hint === "object" ? JSON.stringify(p.tariff_hint) : p.tariff_hint);
    if (p.rules) row(table, t["preview.rules"], p.rules);
    box.appendChild(table);
    if (p.cost_estimate) box.appendChild(costTable(p.cost_estimate, t));
    if (link) {
      const a = el("a", { href: link, "data-testid": "permalink", class: "om-permalink" }, t["preview.permalink"]);
      box.appendChild(el("p")).appendChild(a);
    }
    return box;
  }

  pages.check = function (map, opts) {
    const t = opts.t;
    const form = document.getElementById("check-form");
    const card = document.getElementById("check-card");
    const drawn = () => window[`drawnItems_${opts.draw}`];
    const result = L.featureGroup().addTo(map);

    let seq = 0;
    function show(promise, geometry, uploaded) {
      const mine = ++seq;
      card.replaceChildren(el("p", {}, t["status.loading"]));
      fileForm.hidden = true;
      promise.then(apiJSON).then((v) => {
        if (mine !== seq) return;
        card.replaceChildren(verdictCard(v, t));
        drawVerdict(result, v, v.geometry || geometry, t);
        offerFiling(v.geometry || geometry);
        const b = result.getBounds();
        if (b.isValid()) map.fitBounds(b, { maxZoom: 18 });
      }).catch((err) => {
        if (mine !== seq) return;
        // A failed check clears the previous route (drawn or uploaded) and its filing offer.
        result.clearLayers();
        if (uploaded) { const items = drawn(); if (items) items.clearLayers(); }
        offerFiling(null);
        card.replaceChildren(checkError(t, err));
      });
    }

    /* "提交备案 / submit for filing" after a verdict: POST the checked route to /api/v1/filings
     * with the applicant's details and token (both kept in this tab's sessionStorage). */
    const fileForm = document.getElementById("file-form");
    const fileCard = document.getElementById("file-card");
    const KEEP = { name: "onemap.applicant.name", organisation: "onemap.applicant.organisation",
      phone: "onemap.applicant.phone", token: "onemap.applicant.token" };
    let checkedRoute = null;
    for (const [field, key] of Object.entries(KEEP)) {
      fileForm.elements[field].value = sessionStorage.getItem(key) || "";
    }
    function offerFiling(route) {
      checkedRoute = route;
      fileCard.replaceChildren();
      fileForm.hidden = !route;
    }
    fileForm.addEventListener("submit", (e) => {
      e.preventDefault();
      if (!checkedRoute) return;
      const f = fileForm.elements;
      for (const [field, key] of Object.entries(KEEP)) sessionStorage.setItem(key, f[field].value.trim());
      const body = {
        route: checkedRoute,
        voltage_kv: Number(form.elements.voltage_kv.value),
        applicant: { name: f.name.value.trim(), organisation: f.organisation.value.trim(), phone: f.phone.value.trim() },
      };
      if (form.elements.date.value) body.date = form.elements.date.value;
      const key = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
      fileCard.replaceChildren(el("p", {}, t["status.loading"]));
      fetch(`/api/v1/filings?lang=${opts.lang || "zh"}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${f.token.value.trim()}`, "Idempotency-Key": key },
        body: JSON.stringify(body),
      }).then(apiJSON).then((filing) => {
        const box = el("div", { class: "om-card", "data-testid": "filing-receipt" });
        box.appendChild(el("p", { class: filing.eligible ? "om-ok" : "om-bad" },
          fmt(t[`check.file_done_${filing.status}`] || t["check.file_done"], { id: filing.filing_id })));
        if (filing.approval_deadline) {
          box.appendChild(el("p", {}, `${t["check.deadline"]}: ${filing.approval_deadline.date}`));
        }
        const suffix = opts.lang && opts.lang !== "zh" ? `?lang=${opts.lang}` : "";
        box.appendChild(el("a", { href: `/filings${suffix}#${encodeURIComponent(filing.filing_id)}`, "data-testid": "filing-link" },
          t["check.file_register"]));
        fileCard.replaceChildren(box);
      }).catch((err) => showError(fileCard, t, err));
    });

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
      show(fetch(`/api/v1/check-route/file?lang=${opts.lang || "zh"}`, { method: "POST", body: data }), null, true);
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

  /* --- search box of every map page (issue 16 item 4): /api/v1/search, fly to the result --- */
  function searchBox(map) {
    const form = document.getElementById("om-search");
    if (!form || form._om) return;
    form._om = true;
    const input = form.elements.q;
    const out = document.getElementById("om-search-results");
    const kinds = JSON.parse(form.dataset.kinds || "{}");
    let marker = null, timer = null, ctrl = null;
    function go(r) {
      out.hidden = true;
      const [w, s, e, n] = r.bbox || [r.lon, r.lat, r.lon, r.lat];
      if (e - w > 1e-6 || n - s > 1e-6) map.flyToBounds([[s, w], [n, e]], { maxZoom: 18, duration: 0.6 });
      else map.flyTo([r.lat, r.lon], Math.max(map.getZoom(), 17), { duration: 0.6 });
      if (marker) marker.remove();
      marker = L.circleMarker([r.lat, r.lon], { radius: 10, color: "#ff6f00", weight: 3, fill: false })
        .bindTooltip(el("span", {}, r.name ? `${r.id} ${r.name}` : r.id)).addTo(map);
      map.fire("onemap:found", r);
    }
    function ask(pickFirst) {
      const q = input.value.trim();
      if (!q) { out.hidden = true; return; }
      if (ctrl) ctrl.abort();
      ctrl = new AbortController();
      fetch(`/api/v1/search?${new URLSearchParams({ q, limit: 8 })}`, { signal: ctrl.signal })
        .then(apiJSON).then((body) => {
          out.replaceChildren();
          const rs = body.results || [];
          if (!rs.length) out.appendChild(el("li", { class: "none" }, form.dataset.none));
          for (const r of rs) {
            const li = el("li", { tabindex: "0", "data-kind": r.kind });
            li.appendChild(el("span", { class: "k" }, kinds[r.kind] || r.kind));
            li.appendChild(document.createTextNode(` ${r.id}${r.name ? " · " + r.name : ""}`));
            li.addEventListener("click", () => go(r));
            li.addEventListener("keydown", (e) => { if (e.key === "Enter") go(r); });
            out.appendChild(li);
          }
          out.hidden = false;
          if (pickFirst && rs.length) go(rs[0]);
        }).catch((err) => { if (err.name !== "AbortError") out.hidden = true; });
    }
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => ask(false), 200); });
    form.addEventListener("submit", (e) => { e.preventDefault(); ask(true); });
    document.addEventListener("click", (e) => { if (!form.contains(e.target)) out.hidden = true; });
  }

  /* --- on a phone the links scroll sideways: show the current page's link --- */
  function navToCurrent() {
    const row = document.querySelector(".navlinks");
    const here = row && row.querySelector("a.active");
    if (here && row.scrollWidth > row.clientWidth) row.scrollLeft = Math.max(0, here.offsetLeft - 80);
  }

  /* --- the side panel collapses on a phone (issue 16 item 10) --- */
  function panelToggle() {
    const btn = document.querySelector(".panel-toggle");
    if (!btn || btn._om) return;
    btn._om = true;
    const panel = document.getElementById("om-panel");
    btn.addEventListener("click", () => {
      const collapsed = panel.classList.toggle("collapsed");
      btn.setAttribute("aria-expanded", String(!collapsed));
    });
  }

  /* --- corridor strips at high zoom on /check (issue 16 item 5) --- */
  function corridorStrips(map, opts) {
    const t = opts.t || {};
    const group = L.featureGroup();
    const minZoom = opts.corridorZoom || 17;
    let pending = null;
    let legendBox = null;
    function load() {
      // The legend shows with the strips only (high zoom): below it the map stays clear.
      if (legendBox) legendBox.hidden = map.getZoom() < minZoom;
      if (map.getZoom() < minZoom) { group.clearLayers(); if (map.hasLayer(group)) group.remove(); return; }
      if (!map.hasLayer(group)) group.addTo(map);
      if (pending) pending.abort();
      pending = new AbortController();
      fetch(`/api/v1/corridors?bbox=${bboxParam(map)}`, { signal: pending.signal })
        .then(apiJSON).then((fc) => {
          group.clearLayers();
          L.geoJSON(fc, {
            interactive: true,
            style: (f) => ({
              color: CORRIDOR_COLOR[f.properties.kind] || "#999", weight: 0.5,
              fillColor: CORRIDOR_COLOR[f.properties.kind] || "#999", fillOpacity: 0.35,
            }),
            onEachFeature: (f, lyr) => {
              const p = f.properties;
              lyr.bindTooltip(el("span", {}, `${t[`corridor.${p.kind}`] || p.kind} · ${p.road_name || p.road_id || ""}` +
                (p.width_m ? ` · ${p.width_m} m` : "")), { sticky: true });
            },
          }).eachLayer((l) => group.addLayer(l));
          group.bringToBack();
          map.fire("onemap:corridors", { count: fc.numberReturned });
        }).catch(() => {});
    }
    map.on("moveend", load);
    load();
    // Legend of the strips, in the colours the strips and the verdict's segments use.
    const legend = L.control({ position: "bottomright" });
    legend.onAdd = () => {
      const box = el("div", { class: "om-legend", "data-testid": "corridor-legend" });
      box.appendChild(el("h4", {}, fmt(t["corridor.legend"] || "{zoom}", { zoom: minZoom })));
      for (const kind of ["sidewalk", "bike_lane", "motor_lane", "green_belt", "duct", "crossing"]) {
        const row = el("div");
        const sw = el("span", { class: "sw" });
        sw.style.background = CORRIDOR_COLOR[kind];
        sw.style.opacity = "0.6";
        row.appendChild(sw);
        row.appendChild(document.createTextNode(t[`corridor.${kind}`] || kind));
        box.appendChild(row);
      }
      L.DomEvent.disableClickPropagation(box);
      box.hidden = map.getZoom() < minZoom;
      legendBox = box;
      return box;
    };
    legend.addTo(map);
    return group;
  }

  /* --- on a phone the map's layer list and legend fold away behind a tap (issue 16 item 10) --- */
  function phoneControls(map) {
    if (!(window.matchMedia && window.matchMedia("(max-width: 800px)").matches)) return;
    const box = map.getContainer();
    setTimeout(() => {
      for (const ctrl of box.querySelectorAll(".leaflet-control-layers-expanded")) {
        ctrl.classList.remove("leaflet-control-layers-expanded");
        const link = ctrl.querySelector(".leaflet-control-layers-toggle");
        if (link) {
          link.addEventListener("click", (e) => {
            e.preventDefault();
            ctrl.classList.toggle("leaflet-control-layers-expanded");
          });
        }
        map.on("click", () => ctrl.classList.remove("leaflet-control-layers-expanded"));
      }
      // an open popup has the short map to itself: the legends step aside
      map.on("popupopen", () => box.classList.add("om-popup-open"));
      map.on("popupclose", () => box.classList.remove("om-popup-open"));
      for (const legend of box.querySelectorAll(".om-legend")) {
        legend.classList.add("om-folded");
        const head = legend.querySelector("h4");
        if (head) head.addEventListener("click", () => legend.classList.toggle("om-folded"));
      }
    }, 0);
  }

  // Every page gets the search box and the panel toggle.
  for (const name of Object.keys(pages)) {
    const own = pages[name];
    pages[name] = function (map, opts) {
      searchBox(map);
      panelToggle();
      navToCurrent();
      if (name === "check") corridorStrips(map, opts || {});
      const out = own(map, opts);
      phoneControls(map);
      return out;
    };
  }

  window.onemap = { bboxLayer, pages, propsTable, el, drawLocale, searchBox, corridorStrips };
})();
