// An entry's page, by slug: what it is, its themes and district, who is behind it, where it
// is (a small map), and the entries related to it.
import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import { get } from '../api.js'
import { KIND_LABELS, LINK_TYPE_LABELS, linkLabel, loadLabels, regionLabel, themeLabel } from '../labels.js'
import { KnowledgeMap } from '../map.js'
import { navigate } from '../router.js'
import { Unavailable, dateText } from '../text.js'

export function EntryPage ({ slug }) {
  const [entry, setEntry] = useState(null)
  const [related, setRelated] = useState({ entries: [], organisations: [] })
  const [labels, setLabels] = useState(null)
  const [problem, setProblem] = useState(null)

  useEffect(() => { loadLabels().then(setLabels, () => {}) }, [])
  useEffect(() => {
    setEntry(null); setProblem(null)
    get(`/entries/${encodeURIComponent(slug)}`).then(found => {
      setEntry(found)
      document.title = `${found.title} – Wissenslandkarte`
      if (found.slug !== slug) navigate(`/eintrag/${encodeURIComponent(found.slug)}`, { replace: true })
      return get(`/entries/${encodeURIComponent(found.id)}/related`)
    }).then(found => setRelated(found || { entries: [], organisations: [] }), setProblem)
  }, [slug])

  if (problem) {
    return html`<${Unavailable} problem=${problem} gone="Diesen Eintrag gibt es nicht (mehr)." back="/"
      backLabel="Zur Karte" />`
  }
  if (!entry) return html`<div class="page"><p role="status">Lädt …</p></div>`
  const point = entry.location && { type: 'Feature', geometry: { type: 'Point',
    coordinates: [entry.location.lon, entry.location.lat] }, properties: { ...entry, cluster: false } }
  return html`<article class="page entry">
    <p class="kind">${KIND_LABELS[entry.kind] || entry.kind}${entry.region ? ` · ${regionLabel(labels, entry.region)}` : ''}</p>
    <h1>${entry.title}</h1>
    <p class="summary">${entry.summary}</p>
    ${(entry.starts_on || entry.ends_on) && html`<p>${dateText(entry.starts_on)}${entry.ends_on ? ` bis ${dateText(entry.ends_on)}` : ''}</p>`}
    ${entry.description && html`<div class="description">${entry.description.split(/\n{2,}/).map(text => html`<p>${text}</p>`)}</div>`}
    <dl class="facts">
      ${entry.themes.length > 0 && html`<dt>Themen</dt><dd>${entry.themes.map(slug => html`
        <a class="tag" href=${`/?theme=${encodeURIComponent(slug)}`}>${themeLabel(labels, slug)}</a> `)}</dd>`}
      ${entry.organisations.length > 0 && html`<dt>Beteiligt</dt><dd><ul>${entry.organisations.map(o => html`
        <li key=${o.id}>${o.name}</li>`)}</ul></dd>`}
      ${entry.address && html`<dt>Ort</dt><dd>${[entry.address.street,
        [entry.address.postal_code, entry.address.locality].filter(Boolean).join(' ')].filter(Boolean).join(', ')}</dd>`}
      ${entry.links.length > 0 && html`<dt>Im Netz</dt><dd><ul>${entry.links.map(link => html`
        <li key=${link.url}><a href=${link.url} rel="noopener">${link.label || link.url}</a></li>`)}</ul></dd>`}
      ${entry.funding && html`<dt>Förderung</dt><dd>${entry.funding}</dd>`}
    </dl>
    ${point && html`<${KnowledgeMap} small features=${[point]} selected=${entry.id}
      view=${{ center: [entry.location.lat, entry.location.lon], zoom: 12 }}
      label=${`Karte: Lage von ${entry.title}`} />`}
    <${Related} related=${related} />
    <p><a href="/">Zurück zur Karte</a></p>
  </article>`
}


function Related ({ related }) {
  const linked = related.entries.filter(item => item.relation === 'linked')
  const similar = related.entries.filter(item => item.relation === 'similar')
  const item = link => html`<li key=${link.entry.id}>
    <a href=${`/eintrag/${encodeURIComponent(link.entry.slug)}`}>${link.entry.title}</a>
    <span class="kind"> · ${KIND_LABELS[link.entry.kind] || link.entry.kind}${link.link_type ? ` · ${linkLabel(link)}` : ''}</span></li>`
  return html`
    ${linked.length > 0 && html`<section aria-labelledby="verknuepft"><h2 id="verknuepft">Verknüpfte Einträge</h2>
      <ul class="related">${linked.map(item)}</ul></section>`}
    ${related.organisations.length > 0 && html`<section aria-labelledby="netzwerk"><h2 id="netzwerk">Im Netzwerk</h2>
      <ul class="related">${related.organisations.map(({ organisation, link_type: type }) => html`
        <li key=${organisation.id}>${organisation.name}<span class="kind"> · ${LINK_TYPE_LABELS[type] || type}</span></li>`)}</ul></section>`}
    ${similar.length > 0 && html`<section aria-labelledby="aehnlich"><h2 id="aehnlich">Ähnliche Einträge</h2>
      <ul class="related">${similar.map(item)}</ul></section>`}`
}
