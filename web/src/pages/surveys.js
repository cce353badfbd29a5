// /umfragen: the open surveys and polls, and the closed ones with public results.
// /umfragen/<id>: answering one. Every question type of the survey service, conditions (show_if)
// applied as the person answers; a participation token is fetched once and kept with an
// Idempotency-Key for the tab (sessionStorage), so a retry after a lost answer counts once.
import { html } from 'htm/preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { get, send } from '../api.js'
import { germanFields } from '../messages.js'
import { answersToSend, visibleQuestions } from '../survey/conditions.js'
import { germanNumber } from '../survey/numbers.js'
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
      <p class="meta">${survey.kind === 'poll' ? 'Abstimmung' : counted(survey.questions.length, 'Frage', 'Fragen')}
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
  const [submitted, setSubmitted] = useState(0)   // a failed submit moves the focus to what went wrong
  const receiptHeading = useRef()
  useEffect(() => { if (submitted) summary.current?.focus() }, [submitted])
  useEffect(() => { receiptHeading.current?.focus() }, [receipt])

  if (problem) return html`<${Unavailable} problem=${problem} gone="Diese Umfrage gibt es nicht (mehr)."
    back="/umfragen" backLabel="Zu den Umfragen" />`
  if (!survey) return html`<div class="page"><p role="status">Wird geladen …</p></div>`

  const title = html`<h1>${say(survey.title)}</h1>${survey.description && html`<p class="lead">${say(survey.description)}</p>`}`
  if (receipt) {
    return html`<div class="page">${title}
      <div class="receipt" role="status"><h2 tabindex="-1" ref=${receiptHeading}>Danke, Ihre Antwort ist gezählt.</h2>
        <p>${receipt.submitted_at ? `Eingegangen am ${dateText(receipt.submitted_at)}. ` : ''}Sie ist anonym: Niemand kann sie Ihnen zuordnen.</p></div>
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
    setErrors(current => {
      if (!(`answers.${qid}` in current)) return current
      const { [`answers.${qid}`]: _, ...rest } = current
      return rest
    })
  }

  const submit = async (event, retried = false) => {
    event?.preventDefault()
    if (survey.access === 'invitation' && !invitation.trim()) {
      setErrors({ token: ['Bitte geben Sie Ihren Einladungscode ein.'] }); setSubmitted(count => count + 1)
      return
    }
    setBusy(true); setFailure(null)
    try {
      const { token, key } = await participation(survey.id, survey.access === 'invitation' ? invitation.trim() : null)
      const done = await send('POST', `/surveys/${survey.id}/responses`,
        { token, answers: answersToSend(questions, answers) }, { idempotencyKey: key })
      store(survey.id, { receipt: done })
      setReceipt(done)
      window.scrollTo(0, 0)
    } catch (problem) {
      const fields = problem.fields || {}   // (a network failure has none)
      if (fields['Idempotency-Key']) {   // kept only for a response that was counted: this tab's was
        store(survey.id, { receipt: { submitted_at: null } })
        setReceipt({ submitted_at: null })
        return
      }
      if (fields.token && survey.access === 'invitation') {
        setErrors({ token: ['Dieser Einladungscode gilt nicht oder wurde schon verwendet.'] })
      } else if (fields.token && !retried) {   // expired or spent: a new token, once
        store(survey.id, null)
        return submit(null, true)
      } else if (problem.status === 422 && Object.keys(fields).some(name => name.startsWith('answers.'))) {
        setErrors(germanFields(fields))
      } else if (problem.status === 403 && survey.access === 'invitation') {
        setErrors({ token: ['Bitte geben Sie Ihren Einladungscode ein.'] })
      } else {
        setFailure(problem)
      }
      setSubmitted(count => count + 1)
    } finally {
      setBusy(false)
    }
  }

  const wrong = questions.filter(question => errors[`answers.${question.id}`])
  const hidden = wrong.filter(question => !visible.includes(question))
  const problems = wrong.length + (errors.token ? 1 : 0)
  return html`<div class="page survey">${title}
    <p class="hint">Felder mit * sind Pflichtfragen. Manche Fragen erscheinen erst nach einer passenden Antwort.</p>
    ${problems > 0 && html`<div class="error-summary" role="alert" tabindex="-1" ref=${summary}>
      <h2>Bitte prüfen Sie ${problems === 1 ? 'eine Angabe' : `${problems} Angaben`}:</h2>
      <ul>${errors.token && html`<li><a href="#einladung">Einladungscode</a>: ${errors.token.join(' ')}</li>`}
        ${wrong.map(question => html`<li key=${question.id}>${hidden.includes(question) ? say(question.label)
          : html`<a href=${`#frage-${question.id}`}>${say(question.label)}</a>`}: ${errors[`answers.${question.id}`].join(' ')}</li>`)}</ul>
      ${hidden.length > 0 && html`<p>Manche dieser Fragen sind nach Ihren Antworten ausgeblendet: bitte prüfen Sie die Antworten davor.</p>`}</div>`}
    ${failure && html`<p class="error" role="alert">${failure.status === 409 ? `Das ging nicht: ${failure.message}`
      : failure.status === 429 ? 'Gerade kamen sehr viele Antworten von Ihrem Anschluss. Bitte später noch einmal.'
      : `Das hat nicht geklappt: ${failure.message}. Ihre Antworten sind noch da; bitte noch einmal senden.`}</p>`}
    <form onSubmit=${submit} noValidate>
      ${survey.access === 'invitation' && html`<div class=${errors.token ? 'question invalid' : 'question'}>
        <label for="einladung">Ihr Einladungscode *</label>
        <p class="hint" id="einladung-hinweis">Diese Umfrage ist nur für Eingeladene: Den Code haben Sie vom Kompetenzzentrum erhalten.</p>
        ${errors.token && html`<p class="field-error" id="einladung-fehler">${errors.token.join(' ')}</p>`}
        <input id="einladung" value=${invitation} autocomplete="off" aria-invalid=${errors.token ? 'true' : undefined}
          aria-describedby=${errors.token ? 'einladung-hinweis einladung-fehler' : 'einladung-hinweis'}
          onInput=${event => { setInvitation(event.target.value); setErrors(({ token, ...rest }) => rest) }} />
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
  const move = (index, by) => {   // (aria-disabled, not disabled: the focus stays on a button at the end)
    if (index + by < 0 || index + by >= order.length) return
    const next = [...order]
    const [item] = next.splice(index, 1)
    next.splice(index + by, 0, item)
    onAnswer(next)
    setMoved(`${say(byValue[item].label)}: jetzt Platz ${index + by + 1}`)
    const button = `${say(byValue[item].label)} ${by < 0 ? 'nach oben' : 'nach unten'}`
    requestAnimationFrame(() => [...document.querySelectorAll(`#${id} button`)]   // the moved item's button again
      .find(element => element.getAttribute('aria-label') === button)?.focus())
  }
  return html`<${Group} ...${{ id, label, described, invalid }} notes=${html`<p class="hint">
      Mit den Pfeilen ordnen, das Wichtigste nach oben.${value ? '' : ' Noch nicht geordnet.'}</p>${children}`}>
    <ol class="ranking">${order.map((item, index) => html`<li key=${item}>
      <span>${say(byValue[item].label)}</span>
      <button type="button" aria-disabled=${index === 0 ? 'true' : undefined} onClick=${() => move(index, -1)}
        aria-label=${`${say(byValue[item].label)} nach oben`}>↑</button>
      <button type="button" aria-disabled=${index === order.length - 1 ? 'true' : undefined} onClick=${() => move(index, 1)}
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

const shown = value => Number(value).toLocaleString('de-DE', { maximumFractionDigits: 3 })

function NumberAnswer ({ id, label, described, invalid, value, onAnswer, question, children }) {
  const [text, setText] = useState(value == null ? '' : shown(value))
  const changed = event => {
    const typed = event.target.value
    setText(typed)
    const number = germanNumber(typed)
    onAnswer(typed.trim() === '' ? null : number ?? typed)   // not a number: the service says so
  }
  const range = [question.min != null && `von ${shown(question.min)}`, question.max != null && `bis ${shown(question.max)}`]
  const hint = [range.filter(Boolean).join(' '), question.unit && `in ${question.unit}`,
    question.decimals ? `bis zu ${question.decimals} Nachkommastellen` : 'eine ganze Zahl'].filter(Boolean).join(', ')
  return html`<label for=${id}>${label}</label>${children}
    <p class="hint" id=${`${id}-bereich`}>${hint[0].toUpperCase() + hint.slice(1)}</p>
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
