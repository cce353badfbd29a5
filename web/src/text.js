// Small text helpers the pages share.
import { html } from 'htm/preact'

export const dateText = value => value ? new Date(value).toLocaleDateString('de-DE', { dateStyle: 'long' }) : ''

/** Text for HTML built as a string (Leaflet's icons, the hits without a highlight). */
export function escapeHtml (text) {
  return String(text ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])
}

/** The page for a resource the API did not give: gone (404) or not reachable. */
export function Unavailable ({ problem, gone, back, backLabel }) {
  return html`<div class="page"><h1>${problem.status === 404 ? 'Nicht gefunden' : 'Nicht erreichbar'}</h1>
    <p role="alert">${problem.status === 404 ? gone : problem.message}</p>
    <p><a href=${back}>${backLabel}</a></p></div>`
}

/** "1 Antwort", "3 Antworten": a count with its noun. */
export const counted = (count, one, many) => `${count} ${count === 1 ? one : many}`
