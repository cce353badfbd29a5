// The start page: the knowledge map and the search beside it. Everything a visitor chose is
// in the URL (q, theme, region, kind, sort, page, area, map), so a search can be shared and
// the back button goes back through it.
import { html } from 'htm/preact'
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { get } from '../api.js'
import { KIND_LABELS, LINK_TYPE_LABELS, linkLabel, loadLabels, regionLabel, themeLabel } from '../labels.js'
import { KnowledgeMap } from '../map.js'
import { navigate } from '../router.js'
import { escapeHtml } from '../text.js'

const FILTERS = ['theme', 'region', 'kind']
const PER_PAGE = 20

function readState (params) {
  const map = (params.get('karte') || '').split(',').map(Number)
  return {
    q: params.get('q') || '',
    theme: params.getAll('theme'), region: params.getAll('region'), kind: params.getAll('kind'),
    sort: params.get('sort') || 'relevance',
    page: Number(params.get('seite') || 1),
    area: params.get('ausschnitt') === '1',
    view: map.length === 3 && map.every(Number.isFinite) ? { center: [map[0], map[1]], zoom: map[2] } : null,
  }
}

function writeState (state) {
  const params = new URLSearchParams()
  if (state.q) params.set('q', state.q)
  for (const key of FILTERS) for (const value of state[key]) params.append(key, value)
  if (state.sort !== 'relevance') params.set('sort', state.sort)
  if (state.page > 1) params.set('seite', state.page)
  if (state.area) params.set('ausschnitt', '1')
  if (state.view) params.set('karte', [...state.view.center, state.view.zoom].join(','))
  const text = params.toString()
  return '/' + (text ? `?${text}` : '')
}

/** The subscription page for alerts on this search (and, with `bbox`, this map area). */
function subscribeHref (state, bbox) {
  const params = new URLSearchParams()
  if (state.q) params.set('q', state.q)
  for (const key of FILTERS) for (const value of state[key]) params.append(key, value)
  if (bbox) params.set('bbox', bbox)
  const text = params.toString()
  return `/abo${text ? `?${text}` : ''}`
}

function useDebounced (value, ms) {
  const [debounced, setDebounced] = useState(value)
  useEffect(() => { const timer = setTimeout(() => setDebounced(value), ms); return () => clearTimeout(timer) }, [value, ms])
  return debounced
}

export function HomePage ({ params }) {
  const state = readState(params)
  const [labels, setLabels] = useState(null)
  const [result, setResult] = useState(null)
  const [features, setFeatures] = useState([])
  const [mapView, setMapView] = useState(null)   // {bbox, zoom, center} of the map as shown
  const [error, setError] = useState(null)
  const [text, setText] = useState(state.q)
  const [suggestions, setSuggestions] = useState([])
  const [selected, setSelected] = useState(null)
  const typed = useDebounced(text, 200)

  const [related, setRelated] = useState(null)   // the selected entry's links: the network view
  useEffect(() => { loadLabels().then(setLabels, setError) }, [])
  useEffect(() => {
    setRelated(null)
    if (!selected) return
    const controller = new AbortController()
    get(`/entries/${selected.id}/related`, undefined, { signal: controller.signal })
      .then(setRelated).catch(() => {})
    return () => controller.abort()
  }, [selected?.id])
  const linked = (related?.entries || []).filter(item => item.relation === 'linked')
  const network = useMemo(() => selected && {
    from: [selected.lat, selected.lon],
    to: linked.filter(item => item.entry.location).map(item => ({ lat: item.entry.location.lat, lon: item.entry.location.lon })),
  }, [related])
  useEffect(() => setText(state.q), [state.q])

  const update = useCallback((changes, { replace = false } = {}) => {
    const next = { ...readState(new URLSearchParams(location.search)), page: 1, ...changes }
    navigate(writeState(next), { replace })
  }, [])

  // the search: whenever the URL's search state (or, searching in the map area, the map) changes
  const searchKey = JSON.stringify([state.q, state.theme, state.region, state.kind, state.sort, state.page,
    state.area && mapView?.bbox])
  useEffect(() => {
    const controller = new AbortController()
    get('/search', { q: state.q, theme: state.theme.join(','), region: state.region.join(','),
      kind: state.kind.join(','), sort: state.sort, page: state.page, per_page: PER_PAGE,
      bbox: state.area ? mapView?.bbox : undefined }, { signal: controller.signal })
      .then(found => { setResult(found); setError(null) })
      .catch(problem => { if (problem.name !== 'AbortError') setError(problem) })
    return () => controller.abort()
  }, [searchKey])

  // the map: the visible area and zoom drive GET /map (clusters when zoomed out)
  const mapKey = JSON.stringify([mapView?.bbox, mapView?.zoom, state.theme[0], state.kind[0]])
  useEffect(() => {
    if (!mapView) return
    const controller = new AbortController()
    get('/map', { bbox: mapView.bbox, zoom: mapView.zoom, theme: state.theme[0], kind: state.kind[0] },
      { signal: controller.signal })
      .then(collection => setFeatures(collection.features))
      .catch(problem => { if (problem.name !== 'AbortError') setError(problem) })
    return () => controller.abort()
  }, [mapKey])

  useEffect(() => {
    if (typed.trim().length < 2 || typed === state.q) { setSuggestions([]); return }
    const controller = new AbortController()
    get('/search/suggest', { q: typed.trim(), limit: 8 }, { signal: controller.signal })
      .then(found => setSuggestions(found.items)).catch(() => setSuggestions([]))
    return () => controller.abort()
  }, [typed])

  const onView = useCallback(view => {
    setMapView(view)
    const current = readState(new URLSearchParams(location.search))
    update({ ...current, view: { center: view.center, zoom: view.zoom } }, { replace: true })
  }, [])

  const toggle = (key, value) => {
    const values = state[key].includes(value) ? state[key].filter(v => v !== value) : [...state[key], value]
    update({ [key]: values })
  }

  const onSubmit = event => { event.preventDefault(); update({ q: text.trim() }) }
  const regionList = useMemo(() => labels?.regionList || [], [labels])

  return html`
    <div class="home">
      <section class="search-panel" aria-labelledby="suche-titel">
        <h1 id="suche-titel">Wissenslandkarte soziale Innovation</h1>
        <form role="search" onSubmit=${onSubmit} class="search-form">
          <label for="suchfeld">Suchen</label>
          <div class="search-row">
            <input id="suchfeld" type="search" name="q" value=${text} list="vorschlaege" autocomplete="off"
              placeholder="z. B. Pflege, Genossenschaft, Dorfladen" onInput=${event => setText(event.target.value)} />
            <datalist id="vorschlaege">
              ${suggestions.map(s => html`<option value=${s.text} key=${s.id} />`)}
            </datalist>
            <button type="submit">Suchen</button>
          </div>
          <label class="check"><input type="checkbox" checked=${state.area}
            onChange=${event => update({ area: event.target.checked })} /> nur im sichtbaren Kartenausschnitt</label>
          <label for="sortierung">Sortierung</label>
          <select id="sortierung" value=${state.sort} onChange=${event => update({ sort: event.target.value })}>
            <option value="relevance">Relevanz</option>
            <option value="newest">Neueste zuerst</option>
          </select>
        </form>
        ${error && html`<p class="error" role="alert">Die Suche ist gerade nicht möglich: ${error.message}</p>`}
        ${result && html`<${Facets} facets=${result.facets} state=${state} labels=${labels} onToggle=${toggle} />`}
        <p class="subscribe-link">Über Neues benachrichtigen: <a href=${subscribeHref(state, state.area && mapView?.bbox)}>${state.q || FILTERS.some(key => state[key].length)
            ? 'zu dieser Suche' : 'zu allem Neuen'}</a>
          ${mapView && html` · <a href=${subscribeHref({ ...state, q: '', theme: [], region: [], kind: [] }, mapView.bbox)}>im sichtbaren Kartenausschnitt</a>`}</p>
        ${result && html`<${Results} result=${result} state=${state} labels=${labels}
          onPage=${page => update({ page })} />`}
      </section>
      <section class="map-panel" aria-label="Karte">
        <${KnowledgeMap} features=${features} regions=${regionList} boundaries=${labels?.boundaries}
          view=${state.view} onView=${onView}
          selected=${selected?.id} onSelect=${setSelected} network=${network} />
        <${Legend} />
        <p class="visually-hidden" aria-live="polite">${selected ? `Ausgewählt: ${selected.title}` : ''}</p>
        ${selected && html`<aside class="selected" aria-label="Ausgewählter Eintrag">
          <p class="kind">${KIND_LABELS[selected.kind] || selected.kind}</p>
          <h2><a href=${`/eintrag/${encodeURIComponent(selected.slug || selected.id)}`}>${selected.title}</a></h2>
          <p>${(selected.themes || []).map(slug => themeLabel(labels, slug)).join(' · ')}
            ${selected.region ? ` – ${regionLabel(labels, selected.region)}` : ''}</p>
          ${(linked.length > 0 || related?.organisations.length > 0) && html`<div class="network">
            <h3>Netzwerk</h3>
            <ul>${linked.map(item => html`<li key=${item.entry.id}><span class="link-type">${linkLabel(item)}</span>
              <a href=${`/eintrag/${encodeURIComponent(item.entry.slug)}`}>${item.entry.title}</a></li>`)}
              ${related.organisations.map(item => html`<li key=${item.organisation.id}><span class="link-type">${LINK_TYPE_LABELS[item.link_type] || item.link_type}</span>
              ${item.organisation.name}</li>`)}</ul>
            ${linked.some(item => item.entry.location) && html`<p class="hint">Gestrichelte Linien auf der Karte: verbundene Einträge.</p>`}
          </div>`}
          <button type="button" class="link" onClick=${() => {
            document.querySelector(`.kosi-marker[data-entry-id="${selected.id}"]`)?.focus()   // back where it was
            setSelected(null)
          }}>Schließen</button>
        </aside>`}
      </section>
    </div>`
}

function Legend () {
  return html`<ul class="legend" aria-label="Legende">
    ${['project', 'idea', 'initiative', 'event'].map(kind => html`<li key=${kind}>
      <span class=${`dot ${kind}`} aria-hidden="true"></span>${KIND_LABELS[kind]}</li>`)}
    <li><span class="dot cluster" aria-hidden="true"></span>mehrere Einträge</li>
  </ul>`
}

const FACET_TITLES = { kind: 'Art', theme: 'Themen', region: 'Landkreise und kreisfreie Städte' }

function Facets ({ facets, state, labels, onToggle }) {
  const label = (key, value) => key === 'kind' ? (KIND_LABELS[value] || value)
    : key === 'theme' ? themeLabel(labels, value) : regionLabel(labels, value)
  return html`<div class="facets">
    ${['kind', 'theme', 'region'].map(key => facets[key]?.length > 0 && html`
      <details key=${key} open=${key === 'kind' || state[key].length > 0}>
        <summary>${FACET_TITLES[key]}${state[key].length ? ` (${state[key].length} gewählt)` : ''}</summary>
        <fieldset>
          <legend class="visually-hidden">${FACET_TITLES[key]}</legend>
          ${facets[key].map(({ value, count }) => html`
            <label class="check" key=${value}>
              <input type="checkbox" checked=${state[key].includes(value)} onChange=${() => onToggle(key, value)} />
              ${label(key, value)} <span class="count">(${count})</span>
            </label>`)}
        </fieldset>
      </details>`)}
  </div>`
}

function Results ({ result, state, labels, onPage }) {
  const pages = Math.max(1, Math.ceil(Math.min(result.total, 1000) / result.per_page))
  return html`<div class="results">
    <p class="total" role="status">${result.total === 1 ? '1 Treffer' : `${result.total} Treffer`}
      ${result.relaxed ? ' (auch mit nur einigen der Wörter)' : ''}</p>
    <ol class="hits">
      ${result.items.map(hit => html`<li key=${hit.id} class="hit">
        <p class="kind">${KIND_LABELS[hit.kind] || hit.kind}${hit.regions?.length ? ` · ${hit.regions.map(ags => regionLabel(labels, ags)).join(', ')}` : ''}</p>
        <h2><a href=${hit.doc_type === 'entry' ? `/eintrag/${encodeURIComponent(hit.slug)}` : `/wissen/${encodeURIComponent(hit.slug)}`}
          dangerouslySetInnerHTML=${{ __html: hit.highlight?.title || escapeHtml(hit.title) }}></a></h2>
        <p dangerouslySetInnerHTML=${{ __html: hit.highlight?.summary || hit.highlight?.body || escapeHtml(hit.summary || '') }}></p>
      </li>`)}
    </ol>
    ${pages > 1 && html`<nav class="pages" aria-label="Seiten der Treffer">
      <button type="button" disabled=${state.page <= 1} onClick=${() => onPage(state.page - 1)}>Zurück</button>
      <span>Seite ${state.page} von ${pages}</span>
      <button type="button" disabled=${state.page >= pages} onClick=${() => onPage(state.page + 1)}>Weiter</button>
    </nav>`}
  </div>`
}
