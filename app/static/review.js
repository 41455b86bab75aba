// The review screen's image viewer: NiiVue panes side by side (prior | current), synced slices,
// zoom, window/level presets, label overlays with on/off, opacity and a colour legend.
// The server describes what to show as a JSON "spec"; nothing here builds a URL from user text.

const NIIVUE = "/static/vendor/niivue.js";
const PRESETS = {
  auto: null,
  "brain MR": null,
  "CT brain": [40, 80],
  "CT lung": [-600, 1500],
};
const state = { panes: [], spec: null, overlayOn: true, opacity: 0.5, preset: "auto", loading: 0 };
let libPromise = null;

function lib() {
  // NiiVue ships its bundle as URL-encoded ES module text; import it once, on the first view.
  if (!libPromise) {
    libPromise = import(NIIVUE).then(({ esm }) => import("data:text/javascript;charset=utf-8," + esm));
  }
  return libPromise;
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function host() {
  return document.querySelector("#viewer .mv-panes");
}

function paneTitle(pane, p) {
  const nz = pane.nv.volumes.length ? pane.nv.volumes[0].dims[3] : 0;
  const k = pane.slice + 1;
  p.title.textContent = `${p.spec.date || "undated"} · ${p.spec.series || "image"} · slice ${k}/${nz}`;
}

function currentSlice(nv) {
  if (!nv.volumes.length) return 0;
  const vox = nv.frac2vox(nv.scene.crosshairPos);
  return Math.round(vox[2]);
}

function labelMap(labels) {
  const cmap = { R: [0], G: [0], B: [0], A: [0], I: [0], labels: ["background"] };
  for (const l of labels) {
    cmap.R.push(l.rgb[0]); cmap.G.push(l.rgb[1]); cmap.B.push(l.rgb[2]); cmap.A.push(255);
    cmap.I.push(l.value); cmap.labels.push(l.name);
  }
  return cmap;
}

function legend(labels) {
  const box = document.querySelector("#viewer .mv-legend");
  box.replaceChildren();
  for (const l of labels) {
    const item = el("span", { class: "mv-key" });
    const sw = el("i", { style: `background: rgb(${l.rgb.join(",")})` });
    item.append(sw, document.createTextNode(l.name));
    box.append(item);
  }
}

function applyWindow(pane) {
  const vol = pane.nv.volumes[0];
  if (!vol) return;
  const preset = PRESETS[state.preset];
  if (preset) {
    vol.cal_min = preset[0] - preset[1] / 2;
    vol.cal_max = preset[0] + preset[1] / 2;
  } else {
    vol.cal_min = vol.robust_min;
    vol.cal_max = vol.robust_max;
  }
  pane.nv.updateGLVolume();
}

function applyOverlay(pane) {
  if (pane.nv.volumes.length > 1) pane.nv.setOpacity(1, state.overlayOn ? state.opacity : 0);
}

async function loadPane(Niivue, p, index) {
  const box = el("div", { class: "mv-pane", "data-pane": String(index) });
  const title = el("div", { class: "mv-title" }, `${p.date || "undated"} · ${p.series || "image"}`);
  const canvas = el("canvas", { class: "mv-canvas" });
  box.append(title, canvas);
  host().append(box);
  const nv = new Niivue({ backColor: [0, 0, 0, 1], show3Dcrosshair: false, crosshairWidth: 0,
                          isResizeCanvas: true, dragAndDropEnabled: false, logLevel: "error" });
  await nv.attachToCanvas(canvas);
  nv.setSliceType(nv.sliceTypeAxial);
  nv.opts.dragMode = nv.dragModes.contrast;
  const volumes = [{ url: p.volume_url, name: "image.nii" }];
  if (p.mask_url) volumes.push({ url: p.mask_url, name: "mask.nii", opacity: state.opacity });
  await nv.loadVolumes(volumes);
  if (nv.volumes.length > 1) {
    nv.volumes[1].setColormapLabel(labelMap(p.labels || []));
    nv.updateGLVolume();
  }
  const nz = nv.volumes[0].dims[3];
  const pane = { nv, spec: p, title, slice: Math.min(p.slice || 0, nz - 1) };
  nv.moveCrosshairInVox(0, 0, pane.slice - currentSlice(nv));
  nv.onLocationChange = () => { pane.slice = currentSlice(nv); paneTitle(pane, pane); syncFrom(pane); };
  paneTitle(pane, pane);
  return pane;
}

let syncing = false;
function syncFrom(source) {
  // Synced scrolling: the other panes move to the same fraction of their own series.
  if (syncing) return;
  syncing = true;
  const nzS = source.nv.volumes[0].dims[3];
  for (const pane of state.panes) {
    if (pane === source || !pane.nv.volumes.length) continue;
    const nz = pane.nv.volumes[0].dims[3];
    const target = nzS > 1 && nz > 1 ? Math.round((source.slice / (nzS - 1)) * (nz - 1)) : 0;
    if (target !== pane.slice) pane.nv.moveCrosshairInVox(0, 0, target - pane.slice);
    pane.slice = target;
    paneTitle(pane, pane);
  }
  syncing = false;
}

async function show(spec) {
  state.spec = spec;
  const panes = host();
  if (!panes) return;
  panes.replaceChildren();
  state.panes = [];
  const note = document.querySelector("#viewer .mv-note");
  if (!spec || !spec.panes || !spec.panes.length) {
    note.textContent = "Pick a series in the timeline, or compare the latest study with its prior.";
    legend([]);
    return;
  }
  state.loading += 1;
  note.textContent = "Loading…";
  try {
    const { Niivue } = await lib();
    const loaded = await Promise.all(spec.panes.map((p, i) => loadPane(Niivue, p, i)));
    if (state.spec !== spec) return;  // a newer view was asked for meanwhile
    state.panes = loaded;
    loaded.forEach((pane) => { applyWindow(pane); applyOverlay(pane); });
    legend(spec.labels || []);
    note.textContent = spec.note || "";
  } catch (err) {
    note.textContent = "The viewer could not show these images: " + (err && err.message ? err.message : err);
  } finally {
    state.loading -= 1;
  }
}

function step(delta) {
  const first = state.panes[0];
  if (!first) return;
  const nz = first.nv.volumes[0].dims[3];
  const target = Math.max(0, Math.min(nz - 1, first.slice + delta));
  first.nv.moveCrosshairInVox(0, 0, target - first.slice);
  first.slice = target;
  paneTitle(first, first);
  syncFrom(first);
}

function zoom(factor) {
  for (const pane of state.panes) {
    const p = pane.nv.scene.pan2Dxyzmm;
    pane.nv.setPan2Dxyzmm([p[0], p[1], p[2], Math.max(0.5, Math.min(8, p[3] * factor))]);
  }
}

function wire(root) {
  root.addEventListener("click", (e) => {
    const b = e.target.closest("[data-mv]");
    if (!b) return;
    const act = b.dataset.mv;
    if (act === "prev") step(-1);
    if (act === "next") step(1);
    if (act === "zoom-in") zoom(1.25);
    if (act === "zoom-out") zoom(0.8);
    if (act === "reset") state.panes.forEach((p) => p.nv.setPan2Dxyzmm([0, 0, 0, 1]));
  });
  root.addEventListener("change", (e) => {
    const t = e.target;
    if (t.matches(".mv-preset")) { state.preset = t.value; state.panes.forEach(applyWindow); }
    if (t.matches(".mv-overlay")) { state.overlayOn = t.checked; state.panes.forEach(applyOverlay); }
  });
  root.addEventListener("input", (e) => {
    if (e.target.matches(".mv-opacity")) {
      state.opacity = Number(e.target.value) / 100;
      state.panes.forEach(applyOverlay);
    }
  });
  root.addEventListener("wheel", (e) => {
    // The wheel scrolls slices in every pane together (NiiVue's own wheel handling is per canvas).
    if (!e.target.closest(".mv-canvas")) return;
    e.preventDefault();
    e.stopPropagation();
    step(e.deltaY > 0 ? 1 : -1);
  }, { capture: true, passive: false });
}

function describe() {
  // What the panes show, for tests and for the page's own status line.
  return state.panes.map((p) => ({
    date: p.spec.date, series: p.spec.series, slice: p.slice,
    slices: p.nv.volumes.length ? p.nv.volumes[0].dims[3] : 0,
    overlay: p.nv.volumes.length > 1, overlayOpacity: p.nv.volumes.length > 1 ? p.nv.volumes[1].opacity : 0,
    window: p.nv.volumes.length ? [p.nv.volumes[0].cal_min, p.nv.volumes[0].cal_max] : null,
    zoom: p.nv.scene.pan2Dxyzmm[3],
  }));
}

window.mimirViewer = { show, describe, step, busy: () => state.loading > 0, wire };
if (window.__mimirSpec !== undefined) show(window.__mimirSpec);
