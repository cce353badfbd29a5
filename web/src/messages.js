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
]

// the fields that are lists: their lengths are counts, not characters
const LISTS = new Set(['themes', 'tags', 'links', 'organisations'])

export function german (message, field = '') {
  for (const [pattern, say] of RULES) {
    const found = String(message).match(pattern)
    if (found) return say(...found.slice(1), LISTS.has(field))
  }
  return message
}
