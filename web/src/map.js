// The Leaflet map: entries as markers coloured by kind, the server's clusters (GET /map), the
// districts' official outlines shaded by their entries (GET /regions.geojson) with their counts. Without a tile URL it draws on a plain
// background: markers, clusters and districts need no tiles. Markers are keyboard-focusable
// buttons (Leaflet's marker with a div icon) named for screen readers.
import L from 'leaflet'
import 'leaflet/dist/leaflet.css'
import { useEffect, useRef } from 'preact/hooks'
import { html } from 'htm/preact'
import { KIND_COLOURS, KIND_LABELS } from './labels.js'
import { escapeHtml } from './text.js'

export const STATE_BOUNDS = [[50.93, 10.56], [53.05, 13.19]]
const DISTRICTS_BELOW_ZOOM = 9

const meta = name => document.querySelector(`meta[name="${name}"]`)?.content || ''


function pointIcon (properties, selected) {
  const colour = KIND_COLOURS[properties.kind] || '#444'
  return L.divIcon({
    className: 'kosi-marker' + (selected ? ' selected' : ''),
    html: `<span style="background:${colour}"></span>`,
    iconSize: [22, 22],
  })
}

function clusterIcon (properties) {
  const count = properties.point_count
  const size = count < 10 ? 34 : count < 50 ? 42 : 52
  return L.divIcon({ className: 'kosi-cluster', html: `<span>${count}</span>`, iconSize: [size, size] })
}

export const viewOf = map => {
  const bounds = map.getBounds()
  const round = value => Math.round(value * 1e4) / 1e4
  return {
    bbox: [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()].map(round).join(','),
    zoom: map.getZoom(),
    center: [round(map.getCenter().lat), round(map.getCenter().lng)],
  }
}

/** `features`: GeoJSON of GET /map; `onView({bbox, zoom, center})` after every pan and zoom. */
/** `network`: the selected entry's links ({from: [lat, lon], to: [{lat, lon, title, linkType}]}),
 * drawn as lines from it (the network view). */
export function KnowledgeMap ({ features, regions, boundaries, view, onView, onSelect, selected, network, label, small = false }) {
  const element = useRef()
  const state = useRef({})

  useEffect(() => {
    const map = L.map(element.current, { minZoom: 6, maxZoom: 16, zoomSnap: 1, keyboard: true, zoomControl: false,
      maxBounds: L.latLngBounds(STATE_BOUNDS).pad(0.5) })
    L.control.zoom({ zoomInTitle: 'Vergrößern', zoomOutTitle: 'Verkleinern' }).addTo(map)
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>')
    const tileUrl = meta('kosi-tile-url')
    if (tileUrl) L.tileLayer(tileUrl, { attribution: meta('kosi-tile-attribution'), maxZoom: 18 }).addTo(map)
    else element.current.classList.add('no-tiles')
    if (view) map.setView(view.center, view.zoom)
    else map.fitBounds(STATE_BOUNDS)
    const districts = L.layerGroup().addTo(map)
    const lines = L.layerGroup().addTo(map)
    const markers = L.layerGroup().addTo(map)
    state.current = { map, districts, lines, markers, onView }
    map.on('moveend', () => state.current.onView?.(viewOf(map)))
    onView?.(viewOf(map))   // the first view: the requests start from it
    return () => map.remove()
  }, [])

  useEffect(() => {
    state.current.onView = onView
  }, [onView])

  useEffect(() => {
    const { map } = state.current
    if (view && map && (map.getZoom() !== view.zoom || map.getCenter().distanceTo(view.center) > 50)) {
      map.setView(view.center, view.zoom)
    }
  }, [view?.center?.[0], view?.center?.[1], view?.zoom])

  useEffect(() => {
    const { map, districts } = state.current
    if (!map || small) return
    const most = Math.max(1, ...(regions || []).map(region => region.entry_count))
    const outlines = boundaries && L.geoJSON(boundaries, {
      interactive: false,
      style: feature => ({ color: '#5b6b7c', weight: 1, fillColor: '#17416b',
        fillOpacity: 0.04 + 0.22 * (feature.properties.entry_count / most) }),
    })
    if (boundaries?.attribution) map.attributionControl.addAttribution(escapeHtml(boundaries.attribution))
    const draw = () => {
      districts.clearLayers()
      if (outlines) districts.addLayer(outlines)
      if (map.getZoom() >= DISTRICTS_BELOW_ZOOM) return
      for (const region of regions || []) {
        if (region.lat == null || !region.entry_count) continue
        L.marker([region.lat, region.lon], { interactive: false, keyboard: false,
          icon: L.divIcon({ className: 'kosi-district-label', iconSize: [120, 32],
            html: `${escapeHtml(region.name)}<br><b>${region.entry_count}</b>` }) }).addTo(districts)
      }
    }
    draw()
    map.on('zoomend', draw)
    return () => map.off('zoomend', draw)
  }, [regions, boundaries])

  useEffect(() => {
    const { map, markers } = state.current
    if (!map) return
    markers.clearLayers()
    const points = state.current.points = new Map()
    for (const feature of features || []) {
      const [lon, lat] = feature.geometry.coordinates
      const properties = feature.properties
      if (properties.cluster) {
        const kinds = Object.entries(properties.kinds || {}).map(([kind, n]) => `${n} ${KIND_LABELS[kind] || kind}`)
        L.marker([lat, lon], {
          icon: clusterIcon(properties), keyboard: true,
          title: `${properties.point_count} Einträge (${kinds.join(', ')}): hineinzoomen`,
          alt: `${properties.point_count} Einträge`,
        }).on('click', () => map.setView([lat, lon], properties.expansion_zoom)).addTo(markers)
          .getElement().setAttribute('aria-label', `${properties.point_count} Einträge: hineinzoomen`)
      } else {
        const marker = L.marker([lat, lon], {
          icon: pointIcon(properties, properties.id === state.current.selected), keyboard: true,
          title: `${KIND_LABELS[properties.kind] || properties.kind}: ${properties.title}`,
          alt: properties.title,
        }).on('click', () => onSelect?.({ ...properties, lat, lon })).addTo(markers)
        marker.getElement().setAttribute('aria-label', `${KIND_LABELS[properties.kind] || ''} ${properties.title}`.trim())
        marker.getElement().dataset.entryId = properties.id
        points.set(properties.id, { marker, properties })
      }
    }
  }, [features])

  // a new selection restyles the two markers concerned (Leaflet keeps a div icon's element, so
  // the focus stays on the marker a keyboard chose)
  useEffect(() => {
    const { points: shown, selected: before } = state.current
    state.current.selected = selected
    for (const id of [before, selected]) {
      const point = id && shown?.get(id)
      if (point) point.marker.setIcon(pointIcon(point.properties, id === selected))
    }
  }, [selected])

  useEffect(() => {
    const { map, lines } = state.current
    if (!map) return
    lines.clearLayers()
    for (const target of network?.to || []) {
      L.polyline([network.from, [target.lat, target.lon]], { color: '#17416b', weight: 2, dashArray: '6 4',
        interactive: false, className: 'kosi-network-line' }).addTo(lines)
    }
  }, [network])

  return html`<div ref=${element} class=${small ? 'map small' : 'map'} role="region"
    aria-label=${label || 'Karte von Sachsen-Anhalt'}></div>`
}
