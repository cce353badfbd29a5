// The API's field messages (marshmallow's, in English) in German, for the forms; a message this
// does not know is shown as it came.
const RULES = [
  [/^Missing data for required field\.$/, () => 'Bitte ausfüllen.'],
  [/^Field may not be null\.$/, () => 'Bitte ausfüllen.'],
  [/^Shorter than minimum length (\d+)\.$/, n => `Mindestens ${n} Zeichen.`],
  [/^Longer than maximum length (\d+)\.$/, n => `Höchstens ${n} Zeichen.`],
  [/^Length must be between (\d+) and (\d+)\.$/, (a, b, list) => list ? `Bitte ${a} bis ${b} wählen.`
    : `Zwischen ${a} und ${b} Zeichen, bitte.`],
  [/^Not a valid email address\.$/, () => 'Das ist keine gültige E-Mail-Adresse.'],
  [/^Not a valid URL\.$/, () => 'Das ist keine gültige Internetadresse.'],
  [/^Not a valid date\.$/, () => 'Das ist kein gültiges Datum.'],
  [/^Must be one of: .*\.$/, () => 'Bitte eine der angebotenen Möglichkeiten wählen.'],
  [/^must be 5 digits$/, () => 'Fünf Ziffern, bitte.'],
  [/^must not be before starts_on$/, () => 'Das Ende liegt vor dem Anfang.'],
  [/^unknown theme: (.+)$/, theme => `Das Thema „${theme}“ gibt es nicht.`],
  // answers to a survey (services/survey/answers.py)
  [/^an answer is required$/, () => 'Bitte beantworten Sie diese Frage.'],
  [/^choose at least (\d+)$/, n => `Bitte mindestens ${n} auswählen.`],
  [/^choose at most (\d+)$/, n => `Bitte höchstens ${n} auswählen.`],
  [/^must be from (\S+) to (\S+)$/, (a, b) => `Bitte eine Zahl von ${a} bis ${b}.`],
  [/^must be at least (\S+)$/, n => `Mindestens ${n}, bitte.`],
  [/^must be at most (\S+)$/, n => `Höchstens ${n}, bitte.`],
  [/^must be a whole number.*$/, () => 'Bitte eine ganze Zahl.'],
  [/^at most (\d+) decimal places$/, n => `Höchstens ${n} Nachkommastellen, bitte.`],
  [/^must be a number.*$/, () => 'Bitte eine Zahl.'],
  [/^at most (\d+) characters \(this has (\d+)\)$/, (n, has) => `Höchstens ${n} Zeichen (es sind ${has}).`],
  [/^rate every row: (.+) missing$/, () => 'Bitte jede Zeile bewerten.'],
  [/^must rank every option once.*$/, () => 'Bitte alle Möglichkeiten in eine Reihenfolge bringen.'],
  [/^answered although hidden.*$/, () => 'Diese Frage gilt für Ihre Antworten nicht.'],
]

// the fields that are lists: their lengths are counts, not characters
const LISTS = new Set(['themes', 'tags', 'links', 'organisations'])

export function german (message, field = '') {
  const row = String(message).match(/^row (\S+): (.*)$/)   // a matrix row's message
  if (row) return `Zeile „${row[1]}“: ${german(row[2], field)}`
  for (const [pattern, say] of RULES) {
    const found = String(message).match(pattern)
    if (found) return say(...found.slice(1), LISTS.has(field))
  }
  return message
}

/** A problem's field messages ({field: [message]}) in German. */
export const germanFields = fields => Object.fromEntries(Object.entries(fields || {})
  .map(([name, texts]) => [name, texts.map(text => german(text, name))]))
