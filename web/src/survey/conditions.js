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

/** The questions shown for these answers, in order: a question is visible when its condition
 * holds of the visible questions' answers before it. */
export function visibleQuestions (questions, answers) {
  const given = {}
  const visible = []
  for (const question of questions) {
    if (question.show_if && !holds(question.show_if, given)) continue
    visible.push(question)
    if (answers[question.id] != null) given[question.id] = answers[question.id]
  }
  return visible
}

/** The answers to send: those of visible questions, without empty ones. */
export function answersToSend (questions, answers) {
  const sent = {}
  for (const question of visibleQuestions(questions, answers)) {
    const answer = answers[question.id]
    if (answer == null || answer === '' || (Array.isArray(answer) && answer.length === 0)) continue
    if (question.type === 'matrix' && Object.keys(answer).length === 0) continue
    sent[question.id] = answer
  }
  return sent
}
