// Reads {conditions: [{condition, answers}], numbers: [text]} as JSON on stdin and prints
// {conditions: [holds(…)], numbers: [germanNumber(…)]}: the client's survey logic, for
// tests/web/test_survey_logic.py, which compares it with the survey service's.
import { holds } from '../src/survey/conditions.js'
import { germanNumber } from '../src/survey/numbers.js'

let input = ''
process.stdin.on('data', chunk => { input += chunk })
process.stdin.on('end', () => {
  const { conditions, numbers } = JSON.parse(input)
  console.log(JSON.stringify({ conditions: conditions.map(({ condition, answers }) => holds(condition, answers)),
    numbers: numbers.map(germanNumber) }))
})
