// cdk-nag's AwsSolutions pack on the synthesized templates (there is no cdk-nag for .NET here, and the checks
// belong on what CloudFormation receives anyway). Every finding must match an entry of the acknowledgements
// file, which gives the reason; any other finding fails, and so does an entry that no longer matches anything.
//
//   node tools/nag.mjs TEMPLATES_DIR nag-acknowledgements.json
//
// TEMPLATES_DIR holds Stack.template.json files; a subfolder (alb/) holds a variant, checked as "alb/Stack".
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { App, DefaultStackSynthesizer, Stack, Validations } from 'aws-cdk-lib';
import { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import { AwsSolutionsChecks } from 'cdk-nag';

const [templatesDir, acknowledgementsFile] = process.argv.slice(2);
if (!templatesDir || !acknowledgementsFile) {
  console.error('usage: node tools/nag.mjs TEMPLATES_DIR ACKNOWLEDGEMENTS_JSON');
  process.exit(2);
}

const templates = [];
for (const entry of fs.readdirSync(templatesDir, { withFileTypes: true, recursive: true })) {
  if (entry.isFile() && entry.name.endsWith('.template.json')) {
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    const name = path.relative(templatesDir, file).replace(/\.template\.json$/, '');
    templates.push({ name, file });
  }
}
if (templates.length === 0) {
  console.error(`no *.template.json in ${templatesDir}`);
  process.exit(2);
}

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nag-'));
const app = new App({ outdir, context: { '@aws-cdk/core:validationReportJson': true } });
// construct path "<id>/Template/<logicalId>" -> { stack, path the C# app gave the resource }
const resources = new Map();
templates.forEach((template, index) => {
  const id = `T${index}`;
  const stack = new Stack(app, id, { synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }) });
  new CfnInclude(stack, 'Template', { templateFile: template.file });
  const body = JSON.parse(fs.readFileSync(template.file, 'utf8'));
  for (const [logicalId, resource] of Object.entries(body.Resources ?? {})) {
    const cdkPath = resource.Metadata?.['aws:cdk:path'] ?? logicalId;
    // Paths start with the stack's name; acknowledgements name the resource within the stack.
    resources.set(`${id}/Template/${logicalId}`, { stack: template.name, path: cdkPath.split('/').slice(1).join('/') });
  }
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

let report = { pluginReports: [] };
// CDK prints the raw report as it fails; the summary below says the same, matched with the acknowledgements.
const { log, error: logError } = console;
console.log = console.error = () => {};
try {
  app.synth();
} catch (error) {
  if (!String(error).includes('Validation failed')) {
    logError(error);
    process.exit(2);
  }
} finally {
  console.log = log;
  console.error = logError;
}
const reportFile = path.join(outdir, 'validation-report.json');
if (fs.existsSync(reportFile)) report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
fs.rmSync(outdir, { recursive: true, force: true });

const acknowledgements = JSON.parse(fs.readFileSync(acknowledgementsFile, 'utf8')).acknowledgements;
const used = new Set();
const matches = (ack, finding) =>
  ack.rule === finding.rule && ack.path === finding.path && ack.stacks.includes(finding.stack);

let failures = 0;
const findings = report.pluginReports.flatMap(plugin => plugin.violations.flatMap(violation =>
  violation.violatingConstructs.map(c => ({
    rule: violation.ruleName,
    severity: violation.severity,
    description: violation.description,
    ...(resources.get(c.constructPath) ?? { stack: '?', path: c.constructPath }),
  }))));
for (const finding of findings.sort((a, b) => `${a.stack}${a.rule}`.localeCompare(`${b.stack}${b.rule}`))) {
  const index = acknowledgements.findIndex(ack => matches(ack, finding));
  if (index >= 0) {
    used.add(index);
    console.log(`acknowledged  ${finding.stack}: ${finding.rule} on ${finding.path}\n              ${acknowledgements[index].reason}`);
  } else {
    failures++;
    console.log(`FINDING       ${finding.stack}: ${finding.rule} (${finding.severity}) on ${finding.path}\n              ${finding.description}`);
  }
}
acknowledgements.forEach((ack, index) => {
  if (!used.has(index)) {
    failures++;
    console.log(`STALE         ${ack.rule} on ${ack.stacks.join(', ')}/${ack.path}: no such finding any more; remove the acknowledgement`);
  }
});
console.log(`cdk-nag AwsSolutions: ${templates.length} templates, ${findings.length} findings, ` +
  `${findings.length - (failures - (acknowledgements.length - used.size))} acknowledged, ${failures} problems`);
process.exit(failures === 0 ? 0 : 1);
