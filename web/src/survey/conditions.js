// A question's condition (show_if) applied live, as the survey service applies it to the answers
// it receives (services/survey/answers.py `holds`): a hidden question is not shown and its answer
// is not sent. `answers` are the answers given so far, in the form the API takes.
export function holds (condition, answers) {
  if (condition.all) return condition.all.every(part => holds(part, answers))
  if (condition.any) return condition.any.some(part => holds(part, answers))
  if (condition.not) return !holds(condition.not, answers)
  const answer = answers[condition.question]
  if ('answered' in condition) return (answer != null) === condition.answered
  if (answer == null) return false
  if ('equals' in condition) {
    const expected = condition.equals
    return Array.isArray(answer) ? answer.includes(expected)
      : answer === expected && (typeof answer === 'boolean') === (typeof expected === 'boolean')
  }
  if ('in' in condition) {
    return Array.isArray(answer) ? answer.some(item => condition.in.includes(item)) : condition.in.includes(answer)
  }
  if ('at_least' in condition) return answer >= condition.at_least
  return answer <= condition.at_most
}

/** An answer as the service keeps it, or null for what counts as not answered there: a blank
 * text, nothing ticked, an empty matrix. */
function kept (answer) {
  if (answer == null) return null
  if (typeof answer === 'string') return answer.trim() === '' ? null : answer.trim()
  if (Array.isArray(answer)) return answer.length ? answer : null
  if (typeof answer === 'object') return Object.keys(answer).length ? answer : null
  return answer
}

/** The questions shown for these answers, in order: a question is visible when its condition
 * holds of the kept answers to the visible questions before it. */
export function visibleQuestions (questions, answers) {
  const given = {}
  const visible = []
  for (const question of questions) {
    if (question.show_if && !holds(question.show_if, given)) continue
    visible.push(question)
    const answer = kept(answers[question.id])
    if (answer != null) given[question.id] = answer
  }
  return visible
}

/** The answers to send: those of visible questions that count as answered. */
export function answersToSend (questions, answers) {
  const sent = {}
  for (const question of visibleQuestions(questions, answers)) {
    const answer = kept(answers[question.id])
    if (answer != null) sent[question.id] = answer
  }
  return sent
}
