// Results of a survey as charts: horizontal bars drawn with CSS, each with its number and share
// as text (so a screen reader reads the same figures). Public results hide small groups
// (fewer_than); staff see every count and the free-text answers' count.
import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import { get } from '../api.js'
import { say } from '../survey/labels.js'
import { counted, dateText, Unavailable } from '../text.js'

const percent = share => share == null ? '' : `${Math.round(share * 100)} %`
const number = value => value == null ? '–' : Number(value).toLocaleString('de-DE', { maximumFractionDigits: 2 })

function count (cell) {
  if (cell.count != null) return number(cell.count)
  return cell.fewer_than ? `weniger als ${cell.fewer_than}` : 'verborgen'
}

/** Bars: [{label, value (0…1 of the widest), text}] in a list a screen reader reads as such. */
function Bars ({ bars, caption }) {
  return html`<ul class="bars" aria-label=${caption}>
    ${bars.map((bar, index) => html`<li key=${index}>
      <span class="bar-label">${bar.label}</span>
      <span class="bar-track" aria-hidden="true"><span class="bar" style=${`width:${Math.max(0, Math.min(1, bar.value || 0)) * 100}%`}></span></span>
      <span class="bar-value">${bar.text}</span></li>`)}
  </ul>`
}

function Distribution ({ cells, caption, label = cell => String(cell.value) }) {
  const widest = Math.max(1, ...cells.map(cell => cell.count || 0))
  return html`<${Bars} caption=${caption} bars=${cells.map(cell => ({ label: label(cell), value: (cell.count || 0) / widest,
    text: `${count(cell)}${cell.share != null ? ` (${percent(cell.share)})` : ''}` }))} />`
}

function QuestionResult ({ result, level }) {
  const heading = html`<${`h${level}`}>${result.label}<//>`
  if (result.answered == null) {
    return html`<section class="result">${heading}<p>Weniger als ${result.fewer_than} Antworten: zum Schutz der
      Teilnehmenden nicht gezeigt.</p></section>`
  }
  const answered = html`<p class="meta">${counted(result.answered, 'Antwort', 'Antworten')}</p>`
  if (result.options && result.type !== 'ranking') {
    return html`<section class="result">${heading}${answered}
      <${Distribution} caption=${result.label} cells=${result.options} label=${cell => cell.label} /></section>`
  }
  if (result.type === 'ranking') {
    const best = Math.max(1, ...result.options.map(option => option.borda))
    return html`<section class="result">${heading}${answered}
      <p class="hint">Punkte nach Borda: der erste Platz zählt am meisten.</p>
      <${Bars} caption=${result.label} bars=${result.options.map(option => ({ label: option.label, value: option.borda / best,
        text: `${option.borda} Punkte, im Mittel Platz ${number(option.mean_position)}` }))} /></section>`
  }
  if (result.distribution) {
    const bin = cell => cell.from != null ? `${number(cell.from)} bis ${number(cell.to)}` : String(cell.value)
    return html`<section class="result">${heading}${answered}
      <p>Mittelwert ${number(result.mean)} · Median ${number(result.median)}</p>
      <${Distribution} caption=${result.label} cells=${result.distribution} label=${bin} /></section>`
  }
  if (result.rows) {
    const ends = row => { const values = (row.distribution || []).map(cell => cell.value); return [Math.min(...values), Math.max(...values)] }
    const position = row => { const [low, high] = ends(row); return row.mean == null || high <= low ? 0 : (row.mean - low) / (high - low) }
    return html`<section class="result">${heading}
      <p class="hint">Mittelwert je Zeile, der Balken von der kleinsten bis zur größten Stufe.</p>
      <${Bars} caption=${result.label} bars=${result.rows.map(row => ({ label: row.label, value: position(row),
        text: row.answered == null ? `weniger als ${row.fewer_than} Antworten` : `Mittelwert ${number(row.mean)} (${counted(row.answered, 'Antwort', 'Antworten')})` }))} />
    </section>`
  }
  if (result.texts) {   // staff: the most recent free-text answers
    return html`<section class="result">${heading}${answered}
      <ul class="texts">${result.texts.map((text, index) => html`<li key=${index}>${text}</li>`)}</ul></section>`
  }
  return html`<section class="result">${heading}${answered}<p>Freie Antworten sieht nur die Redaktion.</p></section>`
}

/** `level`: the questions' heading level (2 on a page of their own); `staff`: every count is shown. */
export function ResultsView ({ results, level = 3, staff = false }) {
  return html`<div class="results-view">
    <p>${results.response_count == null ? `Weniger als ${results.min_group} Antworten.` : `${counted(results.response_count, 'Antwort', 'Antworten')} insgesamt.`}
      ${staff ? ' Alle Zahlen, auch kleine Gruppen: nicht zur Veröffentlichung.'
        : ` Zum Schutz der Teilnehmenden sind Gruppen unter ${results.min_group} Personen nicht einzeln ausgewiesen.`}</p>
    ${results.questions.map(result => html`<${QuestionResult} key=${result.id} result=${result} level=${level} />`)}
  </div>`
}

export function ResultsPage ({ id }) {
  const [survey, setSurvey] = useState(null)
  const [results, setResults] = useState(null)
  const [problem, setProblem] = useState(null)
  useEffect(() => {
    Promise.all([get(`/surveys/${encodeURIComponent(id)}`), get(`/surveys/${encodeURIComponent(id)}/results`)])
      .then(([found, summary]) => { setSurvey(found); setResults(summary); document.title = `Ergebnisse: ${say(found.title)}` },
        setProblem)
  }, [id])
  if (problem?.status === 403) {
    return html`<div class="page"><h1>Noch keine Ergebnisse</h1>
      <p role="status">Die Ergebnisse dieser Umfrage sind (noch) nicht öffentlich: sie erscheinen nach ihrem Ende, wenn
        die Redaktion sie freigibt.</p><p><a href=${`/umfragen/${id}`}>Zur Umfrage</a></p></div>`
  }
  if (problem) return html`<${Unavailable} problem=${problem} gone="Diese Umfrage gibt es nicht (mehr)." back="/umfragen" backLabel="Zu den Umfragen" />`
  if (!results) return html`<div class="page"><p role="status">Wird geladen …</p></div>`
  return html`<div class="page">
    <h1>Ergebnisse: ${say(survey.title)}</h1>
    <p class="meta">${survey.closed_at ? `Beendet am ${dateText(survey.closed_at)}` : 'Läuft noch'}</p>
    <${ResultsView} results=${results} level=${2} />
    <p><a href="/umfragen">Alle Umfragen</a></p>
  </div>`
}
