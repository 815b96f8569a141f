// Node 20 refuses `import x from "./file.json"` without `with { type: "json" }`, which @actions/workflow-parser's
// build omits for its schema. This load hook serves such JSON files as ES modules that export the parsed value.
import fs from 'node:fs/promises';

export async function load(url, context, nextLoad) {
  if (url.startsWith('file:') && url.endsWith('.json') && !context.importAttributes?.type) {
    const json = await fs.readFile(new URL(url), 'utf8');
    return { format: 'module', source: `export default ${json};`, shortCircuit: true };
  }
  return nextLoad(url, context);
}
