// GitHub's own workflow parser (the one behind the Actions editor), stricter than a JSON-schema check: it knows
// expressions, contexts per key, needs/if, and the shape of every section.
//
//   node tools/workflow-lint.mjs ../.github/workflows/*.yaml
import fs from 'node:fs';
import { register } from 'node:module';

register('./json-module-hooks.mjs', import.meta.url);
const { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } = await import('@actions/workflow-parser');

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node tools/workflow-lint.mjs WORKFLOW...');
  process.exit(2);
}
let failed = 0;
for (const name of files) {
  const result = parseWorkflow({ name, content: fs.readFileSync(name, 'utf8') }, new NoOperationTraceWriter());
  if (result.value) {
    await convertWorkflowTemplate(result.context, result.value);
  }
  const errors = result.context.errors.getErrors();
  if (errors.length === 0 && result.value) {
    console.log(`${name}: valid (GitHub workflow parser)`);
  } else {
    failed++;
    for (const error of errors) console.log(`${name}: ${error.message}`);
    if (!result.value) console.log(`${name}: no workflow parsed`);
  }
}
process.exit(failed === 0 ? 0 : 1);
