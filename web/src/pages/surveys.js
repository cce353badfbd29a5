// /umfragen: the open surveys and polls, and the closed ones with public results.
// /umfragen/<id>: answering one. Every question type of the survey service, conditions (show_if)
// applied as the person answers; a participation token is fetched once and kept with an
// Idempotency-Key for the tab (sessionStorage), so a retry after a lost answer counts once.
import { html } from 'htm/preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { get, send } from '../api.js'
import { german } from '../messages.js'
import { answersToSend, visibleQuestions } from '../survey/conditions.js'
import { say } from '../survey/labels.js'
import { counted, dateText, Unavailable } from '../text.js'

const STATUS = { published: 'offen', scheduled: 'bald offen', closed: 'beendet' }

export function SurveysPage () {
  const [surveys, setSurveys] = useState(null)
  const [problem, setProblem] = useState(null)
  useEffect(() => {
    document.title = 'Umfragen – Wissenslandkarte'
    get('/surveys', { per_page: 100 }).then(page => setSurveys(page.items), setProblem)
  }, [])
  if (problem) return html`<${Unavailable} problem=${problem} gone="" back="/" backLabel="Zur Karte" />`
  const open = (surveys || []).filter(survey => survey.open)
  const closed = (surveys || []).filter(survey => survey.status === 'closed' && survey.results_public)
  return html`<div class="page">
    <h1>Umfragen und Abstimmungen</h1>
    <p>Ihre Meinung zählt: anonym, ohne Anmeldung. Wir speichern nichts über Sie, nur Ihre Antworten.</p>
    ${!surveys && html`<p role="status">Wird geladen …</p>`}
    <h2>Jetzt mitmachen</h2>
    ${surveys && open.length === 0 && html`<p>Gerade ist keine Umfrage offen.</p>`}
    <ul class="survey-list">${open.map(survey => html`<li key=${survey.id}>
      <h3><a href=${`/umfragen/${survey.id}`}>${say(survey.title)}</a></h3>
      ${survey.description && html`<p>${say(survey.description)}</p>`}
      <p class="meta">${survey.kind === 'poll' ? 'Abstimmung' : `${survey.questions.length} Fragen`}
        ${survey.closes_at ? ` · offen bis ${dateText(survey.closes_at)}` : ''}</p>
    </li>`)}</ul>
    <h2>Ergebnisse</h2>
    ${surveys && closed.length === 0 && html`<p>Noch keine veröffentlichten Ergebnisse.</p>`}
    <ul class="survey-list">${closed.map(survey => html`<li key=${survey.id}>
      <h3><a href=${`/umfragen/${survey.id}/ergebnisse`}>${say(survey.title)}</a></h3>
      <p class="meta">${counted(survey.response_count, 'Antwort', 'Antworten')} · beendet am ${dateText(survey.closed_at)}</p>
    </li>`)}</ul>
  </div>`
}

// ------------------------------------------------------------------ answering

function randomKey () {
  const bytes = crypto.getRandomValues(new Uint8Array(16))   // (randomUUID needs a secure context)
  return Array.from(bytes, byte => byte.toString(16).padStart(2, '0')).join('')
}

/** The tab's participation for a survey: {token, key, expires_at} or {receipt} once answered. */
const stored = id => JSON.parse(sessionStorage.getItem(`kosi-umfrage-${id}`) || 'null')
const store = (id, value) => value ? sessionStorage.setItem(`kosi-umfrage-${id}`, JSON.stringify(value))
  : sessionStorage.removeItem(`kosi-umfrage-${id}`)

/** The token to answer with: an invitation's (given by the centre), or one asked for. */
async function participation (id, invitation) {
  const kept = stored(id)
  if (invitation) {
    if (kept?.token === invitation) return kept
    const given = { token: invitation, key: randomKey() }
    store(id, given)
    return given
  }
  if (kept?.token && new Date(kept.expires_at) > new Date(Date.now() + 60_000)) return kept
  const issued = await send('POST', `/surveys/${id}/participation`, {})
  const fresh = { token: issued.token, expires_at: issued.expires_at, key: randomKey() }
  store(id, fresh)
  return fresh
}

/** A poll is a survey of one question (q1); its compact form is shown as such. */
export function SurveyPage ({ id }) {
  const [survey, setSurvey] = useState(null)
  const [problem, setProblem] = useState(null)
  const [answers, setAnswers] = useState({})
  const [errors, setErrors] = useState({})
  const [failure, setFailure] = useState(null)
  const [receipt, setReceipt] = useState(() => stored(id)?.receipt || null)
  const [busy, setBusy] = useState(false)
  const [invitation, setInvitation] = useState('')
  const summary = useRef()

  useEffect(() => {
    get(`/surveys/${encodeURIComponent(id)}`).then(found => {
      setSurvey(found)
      document.title = `${say(found.title)} – Umfrage`
    }, setProblem)
  }, [id])
  useEffect(() => { if (Object.keys(errors).length) summary.current?.focus() }, [errors])

  if (problem) return html`<${Unavailable} problem=${problem} gone="Diese Umfrage gibt es nicht (mehr)."
    back="/umfragen" backLabel="Zu den Umfragen" />`
  if (!survey) return html`<div class="page"><p role="status">Wird geladen …</p></div>`

  const title = html`<h1>${say(survey.title)}</h1>${survey.description && html`<p class="lead">${say(survey.description)}</p>`}`
  if (receipt) {
    return html`<div class="page">${title}
      <div class="receipt" role="status"><h2>Danke, Ihre Antwort ist gezählt.</h2>
        <p>Eingegangen am ${dateText(receipt.submitted_at)}. Sie ist anonym: Niemand kann sie Ihnen zuordnen.</p></div>
      <p>${survey.results_public ? html`Die Ergebnisse erscheinen nach dem Ende der Umfrage${survey.closes_at ? ` (${dateText(survey.closes_at)})` : ''} unter <a href=${`/umfragen/${survey.id}/ergebnisse`}>Ergebnisse</a>.` : 'Die Redaktion wertet die Antworten aus.'}</p>
      <p><a href="/umfragen">Weitere Umfragen</a></p></div>`
  }
  if (!survey.open) {
    return html`<div class="page">${title}
      <p role="status">${survey.status === 'closed' ? 'Diese Umfrage ist beendet.'
        : `Diese Umfrage beginnt am ${dateText(survey.opens_at)}.`}</p>
      ${survey.status === 'closed' && survey.results_public &&
        html`<p><a href=${`/umfragen/${survey.id}/ergebnisse`}>Zu den Ergebnissen</a></p>`}</div>`
  }

  const questions = survey.questions
  const visible = visibleQuestions(questions, answers)
  const answer = (qid, value) => {
    setAnswers(current => ({ ...current, [qid]: value }))
    setErrors(current => { const { [`answers.${qid}`]: _, ...rest } = current; return rest })
  }

  const submit = async (event, retried = false) => {
    event?.preventDefault()
    setBusy(true); setFailure(null)
    try {
      const { token, key } = await participation(survey.id, survey.access === 'invitation' ? invitation.trim() : null)
      const done = await send('POST', `/surveys/${survey.id}/responses`,
        { token, answers: answersToSend(questions, answers) }, { idempotencyKey: key })
      store(survey.id, { receipt: done })
      setReceipt(done)
      window.scrollTo(0, 0)
    } catch (problem) {
      if (problem.fields.token && !retried && survey.access !== 'invitation') {   // expired or spent: a new one, once
        store(survey.id, null)
        return submit(null, true)
      }
      if (problem.status === 422 && Object.keys(problem.fields).some(name => name.startsWith('answers.'))) {
        setErrors(Object.fromEntries(Object.entries(problem.fields).map(([name, texts]) => [name, texts.map(text => german(text))])))
      } else {
        setFailure(problem)
      }
    } finally {
      setBusy(false)
    }
  }

  const wrong = visible.filter(question => errors[`answers.${question.id}`])
  return html`<div class="page survey">${title}
    <p class="hint">Felder mit * sind Pflichtfragen. Manche Fragen erscheinen erst nach einer passenden Antwort.</p>
    ${wrong.length > 0 && html`<div class="error-summary" role="alert" tabindex="-1" ref=${summary}>
      <h2>Bitte prüfen Sie ${wrong.length === 1 ? 'eine Antwort' : `${wrong.length} Antworten`}:</h2>
      <ul>${wrong.map(question => html`<li key=${question.id}><a href=${`#frage-${question.id}`}>${say(question.label)}</a>: ${errors[`answers.${question.id}`].join(' ')}</li>`)}</ul></div>`}
    ${failure && html`<p class="error" role="alert">${failure.fields.token && survey.access === 'invitation'
      ? 'Dieser Einladungscode gilt nicht (oder wurde schon verwendet).'
      : failure.status === 409 ? `Das ging nicht: ${failure.message}`
      : failure.status === 429 ? 'Gerade kamen sehr viele Antworten von Ihrem Anschluss. Bitte später noch einmal.'
      : `Das hat nicht geklappt: ${failure.message}. Ihre Antworten sind noch da; bitte noch einmal senden.`}</p>`}
    <form onSubmit=${submit} noValidate>
      ${survey.access === 'invitation' && html`<div class=${errors.token ? 'question invalid' : 'question'}>
        <label for="einladung">Ihr Einladungscode *</label>
        <p class="hint">Diese Umfrage ist nur für Eingeladene: Den Code haben Sie vom Kompetenzzentrum erhalten.</p>
        <input id="einladung" value=${invitation} onInput=${event => setInvitation(event.target.value)} autocomplete="off" />
      </div>`}
      ${visible.map((question, index) => html`<${Question} key=${question.id} question=${question} number=${index + 1}
        value=${answers[question.id]} onAnswer=${value => answer(question.id, value)}
        errors=${errors[`answers.${question.id}`]} poll=${survey.kind === 'poll'} />`)}
      <button type="submit" disabled=${busy}>${busy ? 'Wird gesendet …' : 'Antworten absenden'}</button>
    </form></div>`
}

// ------------------------------------------------------------------ one question per type

function Question ({ question, number, value, onAnswer, errors, poll }) {
  const id = `frage-${question.id}`
  const label = `${poll ? '' : `${number}. `}${say(question.label)}${question.required ? ' *' : ''}`
  const described = [question.help && `${id}-hilfe`, errors && `${id}-fehler`].filter(Boolean).join(' ') || undefined
  const common = { id, label, described, value, onAnswer, question, invalid: !!errors }
  const Widget = WIDGETS[question.type]
  return html`<div class=${errors ? 'question invalid' : 'question'}>
    <${Widget} ...${common}>
      ${question.help && html`<p class="hint" id=${`${id}-hilfe`}>${say(question.help)}</p>`}
      ${errors && html`<p class="field-error" id=${`${id}-fehler`}>${errors.join(' ')}</p>`}
    <//>
  </div>`
}

function Group ({ id, label, described, invalid, children, notes }) {
  return html`<fieldset id=${id} aria-describedby=${described} aria-invalid=${invalid ? 'true' : undefined}>
    <legend>${label}</legend>${notes}${children}</fieldset>`
}

function Choice ({ id, label, described, invalid, value, onAnswer, question, children }) {
  const options = question.options
  return html`<${Group} ...${{ id, label, described, invalid }} notes=${children}>
    ${options.map(option => html`<label class="check" key=${option.value}>
      <input type="radio" name=${id} value=${option.value} checked=${value === option.value}
        onChange=${() => onAnswer(option.value)} /> ${say(option.label)}</label>`)}
    ${value != null && !question.required && html`<button type="button" class="link" onClick=${() => onAnswer(null)}>
      Antwort zurücknehmen</button>`}
  <//>`
}

function Multiple ({ id, label, described, invalid, value, onAnswer, question, children }) {
  const chosen = value || []
  const most = question.max_choices ?? question.options.length
  const least = question.min_choices ?? 1
  const toggle = option => onAnswer(chosen.includes(option) ? chosen.filter(v => v !== option) : [...chosen, option])
  const rule = most < question.options.length ? (least > 1 ? `${least} bis ${most} auswählen` : `höchstens ${most} auswählen`)
    : least > 1 ? `mindestens ${least} auswählen` : 'mehrere möglich'
  return html`<${Group} ...${{ id, label, described, invalid }} notes=${html`<p class="hint">${rule}</p>${children}`}>
    ${question.options.map(option => html`<label class="check" key=${option.value}>
      <input type="checkbox" value=${option.value} checked=${chosen.includes(option.value)}
        disabled=${!chosen.includes(option.value) && chosen.length >= most} onChange=${() => toggle(option.value)} />
      ${say(option.label)}</label>`)}
  <//>`
}

function Scale ({ name, scale, value, onAnswer, legend }) {
  const values = []
  for (let v = scale.min; v <= scale.max; v++) values.push(v)
  return html`<div class="scale" role="radiogroup" aria-label=${legend}>
    ${scale.min_label && html`<span class="scale-end" aria-hidden="true">${say(scale.min_label)}</span>`}
    ${values.map(v => html`<label key=${v} class="scale-point">
      <input type="radio" name=${name} value=${v} checked=${value === v} onChange=${() => onAnswer(v)} />
      <span>${v}</span><span class="visually-hidden">${v === scale.min && scale.min_label ? ` (${say(scale.min_label)})` : ''}
        ${v === scale.max && scale.max_label ? ` (${say(scale.max_label)})` : ''}</span></label>`)}
    ${scale.max_label && html`<span class="scale-end" aria-hidden="true">${say(scale.max_label)}</span>`}
  </div>`
}

function Rating ({ id, label, described, invalid, value, onAnswer, question, children }) {
  return html`<${Group} ...${{ id, label, described, invalid }} notes=${children}>
    <${Scale} name=${id} scale=${question.scale} value=${value} onAnswer=${onAnswer} legend=${say(question.label)} />
  <//>`
}

function Matrix ({ id, label, described, invalid, value, onAnswer, question, children }) {
  const rated = value || {}
  return html`<${Group} ...${{ id, label, described, invalid }} notes=${children}>
    ${question.rows.map(row => html`<div class="matrix-row" key=${row.value}>
      <span class="matrix-label" id=${`${id}-${row.value}`}>${say(row.label)}</span>
      <${Scale} name=${`${id}-${row.value}`} scale=${question.scale} value=${rated[row.value]} legend=${say(row.label)}
        onAnswer=${v => onAnswer({ ...rated, [row.value]: v })} />
    </div>`)}
  <//>`
}

/** A ranking: move options up and down (buttons, so keyboards and screen readers can), then it counts. */
function Ranking ({ id, label, described, invalid, value, onAnswer, question, children }) {
  const byValue = Object.fromEntries(question.options.map(option => [option.value, option]))
  const order = value || question.options.map(option => option.value)
  const [moved, setMoved] = useState(null)
  const move = (index, by) => {
    const next = [...order]
    const [item] = next.splice(index, 1)
    next.splice(index + by, 0, item)
    onAnswer(next)
    setMoved(`${say(byValue[item].label)}: jetzt Platz ${index + by + 1}`)
  }
  return html`<${Group} ...${{ id, label, described, invalid }} notes=${html`<p class="hint">
      Mit den Pfeilen ordnen, das Wichtigste nach oben.${value ? '' : ' Noch nicht geordnet.'}</p>${children}`}>
    <ol class="ranking">${order.map((item, index) => html`<li key=${item}>
      <span>${say(byValue[item].label)}</span>
      <button type="button" disabled=${index === 0} onClick=${() => move(index, -1)}
        aria-label=${`${say(byValue[item].label)} nach oben`}>↑</button>
      <button type="button" disabled=${index === order.length - 1} onClick=${() => move(index, 1)}
        aria-label=${`${say(byValue[item].label)} nach unten`}>↓</button></li>`)}</ol>
    ${!value && html`<button type="button" class="secondary" onClick=${() => onAnswer(order)}>Diese Reihenfolge übernehmen</button>`}
    <p class="visually-hidden" aria-live="polite">${moved}</p>
  <//>`
}

function YesNo ({ id, label, described, invalid, value, onAnswer, question, children }) {
  return html`<${Group} ...${{ id, label, described, invalid }} notes=${children}>
    ${[[true, 'Ja'], [false, 'Nein']].map(([choice, text]) => html`<label class="check" key=${text}>
      <input type="radio" name=${id} checked=${value === choice} onChange=${() => onAnswer(choice)} /> ${text}</label>`)}
    ${value != null && !question.required && html`<button type="button" class="link" onClick=${() => onAnswer(null)}>
      Antwort zurücknehmen</button>`}
  <//>`
}

function NumberAnswer ({ id, label, described, invalid, value, onAnswer, question, children }) {
  const [text, setText] = useState(value == null ? '' : String(value).replace('.', ','))
  const changed = event => {
    const typed = event.target.value
    setText(typed)
    const number = Number(typed.trim().replace(',', '.'))
    onAnswer(typed.trim() === '' ? null : Number.isFinite(number) ? number : typed)   // the service says what is wrong
  }
  const range = [question.min != null && `ab ${question.min}`, question.max != null && `bis ${question.max}`].filter(Boolean).join(' ')
  return html`<label for=${id}>${label}</label>${children}
    <p class="hint" id=${`${id}-bereich`}>${range}${question.unit ? ` (${question.unit})` : ''}${question.decimals ? `, bis zu ${question.decimals} Nachkommastellen` : ', ganze Zahl'}</p>
    <span class="number-field"><input id=${id} inputmode="decimal" value=${text} onInput=${changed}
      aria-describedby=${[`${id}-bereich`, described].filter(Boolean).join(' ')} aria-invalid=${invalid ? 'true' : undefined} />
      ${question.unit && html`<span aria-hidden="true">${question.unit}</span>`}</span>`
}

function TextAnswer ({ id, label, described, invalid, value, onAnswer, question, children }) {
  const most = question.max_length ?? 1000
  return html`<label for=${id}>${label}</label>${children}
    <textarea id=${id} rows="4" maxLength=${most} value=${value || ''} onInput=${event => onAnswer(event.target.value)}
      aria-describedby=${[`${id}-zeichen`, described].filter(Boolean).join(' ')} aria-invalid=${invalid ? 'true' : undefined}></textarea>
    <p class="hint" id=${`${id}-zeichen`}>${(value || '').length} von ${most} Zeichen</p>`
}

const WIDGETS = { single_choice: Choice, multiple_choice: Multiple, rating: Rating, ranking: Ranking,
  yes_no: YesNo, number: NumberAnswer, text: TextAnswer, matrix: Matrix }
