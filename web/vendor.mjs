// Copy the browser assets the web app serves from node_modules into web/static/vendor.
// Runs as npm's postinstall, so `npm ci` (exact versions from package-lock.json) is the whole set-up;
// nothing is fetched at run time.
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(root, "node_modules");
const vendor = join(root, "web", "static", "vendor");

// package -> [source inside the package, target folder under vendor, files to keep (all if empty)]
const copies = [
  ["leaflet", "dist", "leaflet", []],
  ["leaflet-draw", "dist", "leaflet-draw", []],
  ["leaflet.fullscreen", "", "leaflet.fullscreen", ["Control.FullScreen.js", "Control.FullScreen.css", "icon-fullscreen.svg", "LICENSE"]],
  ["leaflet.markercluster", "dist", "leaflet.markercluster", []],
  ["swagger-ui-dist", "", "swagger-ui", ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE"]],
];

for (const [pkg, sub, target, keep] of copies) {
  const src = join(modules, pkg, sub);
  if (!existsSync(src)) {
    console.error(`web/vendor.mjs: ${src} missing; run npm ci`);
    process.exit(1);
  }
  const dst = join(vendor, target);
  rmSync(dst, { recursive: true, force: true });
  mkdirSync(dst, { recursive: true });
  cpSync(src, dst, {
    recursive: true,
    filter: (p) =>
      p === src ||
      (!p.endsWith(".map") && (keep.length === 0 || keep.some((f) => p === join(src, f)))),
  });
}
writeFileSync(join(vendor, ".stamp"), new Date().toISOString() + "\n");
console.log(`web/vendor.mjs: copied ${copies.length} packages to ${vendor}`);
