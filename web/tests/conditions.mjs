// Reads [{condition, answers}] as JSON on stdin, prints [holds(condition, answers)] (for
// tests/web/test_conditions.py, which compares them with the survey service's own).
import { holds } from '../src/survey/conditions.js'

let input = ''
process.stdin.on('data', chunk => { input += chunk })
process.stdin.on('end', () => {
  console.log(JSON.stringify(JSON.parse(input).map(({ condition, answers }) => holds(condition, answers))))
})
