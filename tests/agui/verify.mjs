// Checks a captured AG-UI event sequence with the official @ag-ui JavaScript packages.
//
//   node verify.mjs < events.json
//
// stdin: a JSON array of AG-UI events, each a camelCase object exactly as it appears
// in an SSE `data:` line.
//
// Two stages, in order:
//   1. "schema": every event is parsed with the zod `EventSchemas` discriminated union
//      (in @ag-ui/core 1.0.0 it lives in the `@ag-ui/core/schemas` subpath, not the
//      package root). The first event that fails stops the check.
//   2. "verify": the whole sequence goes through `verifyEvents(false)` from
//      @ag-ui/client, the same sequencing state machine HttpAgent.runAgent runs
//      (RUN_STARTED first, nothing after RUN_FINISHED, messages / tool calls / steps
//      closed before RUN_FINISHED, ...).
//
// stdout, one JSON object, exit status 0 in both cases:
//   {"ok": true, "count": N, "complete": bool}
//   {"ok": false, "stage": "schema"|"verify", "index": i, "error": "...",
//    "type": <type of event i or null>, "issues": [...zod issues, schema stage only]}
// "complete" says whether the last event is RUN_FINISHED or RUN_ERROR: verifyEvents
// checks nothing at end of stream, so a sequence that stops mid-run passes it.
// "index" (verify stage): verifyEvents reports an error with no position; it is a
// mergeMap that re-emits each accepted event synchronously and errors on the first
// rejected one, so the number of events it emitted before the error is the index of
// the rejected event.
//
// Exit status 2 (message on stderr) only for harness errors: unreadable stdin, not a
// JSON array, or the packages failing to load.
//
// Given {"streams": {name: [events], ...}} instead, it checks each sequence apart and
// writes {"results": {name: result, ...}}: many streams, one node process.

import { from } from "rxjs";
import { verifyEvents } from "@ag-ui/client";
import { EventSchemas } from "@ag-ui/core/schemas";

function harnessError(message) {
  process.stderr.write(`verify.mjs: ${message}\n`);
  process.exit(2);
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function typeOf(event) {
  return event && typeof event === "object" && typeof event.type === "string" ? event.type : null;
}

function checkSchemas(events) {
  for (let index = 0; index < events.length; index++) {
    const parsed = EventSchemas.safeParse(events[index]);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => ({
        path: issue.path,
        code: issue.code,
        message: issue.message,
      }));
      const summary = issues
        .map((issue) => `${issue.path.length ? issue.path.join(".") : "(event)"}: ${issue.message}`)
        .join("; ");
      return {
        ok: false,
        stage: "schema",
        index,
        type: typeOf(events[index]),
        error: summary,
        issues,
      };
    }
  }
  return null;
}

function checkSequence(events) {
  return new Promise((resolve) => {
    let passed = 0;
    from(events)
      .pipe(verifyEvents(false))
      .subscribe({
        next: () => {
          passed += 1;
        },
        error: (err) => {
          resolve({
            ok: false,
            stage: "verify",
            index: passed,
            type: typeOf(events[passed]),
            error: err instanceof Error ? err.message : String(err),
          });
        },
        complete: () => {
          if (passed !== events.length) {
            // Would mean verifyEvents dropped or added events: then the index
            // reported for a failure could not be trusted either.
            harnessError(`verifyEvents emitted ${passed} events for ${events.length} inputs`);
          }
          const last = typeOf(events[events.length - 1]);
          resolve({
            ok: true,
            count: events.length,
            complete: last === "RUN_FINISHED" || last === "RUN_ERROR",
          });
        },
      });
  });
}

const text = await readStdin().catch((err) => harnessError(`cannot read stdin: ${err}`));
let events;
try {
  events = JSON.parse(text);
} catch (err) {
  harnessError(`stdin is not JSON: ${err.message}`);
}
async function check(sequence) {
  return checkSchemas(sequence) ?? (await checkSequence(sequence));
}

// An object {"streams": {name: [events], ...}} checks each sequence apart, in one
// process: {"results": {name: result, ...}}.
if (events && !Array.isArray(events) && typeof events.streams === "object") {
  const results = {};
  for (const [name, sequence] of Object.entries(events.streams)) {
    if (!Array.isArray(sequence)) harnessError(`stream ${name} is not a JSON array`);
    results[name] = sequence.length ? await check(sequence) : { ok: true, count: 0, complete: false };
  }
  process.stdout.write(`${JSON.stringify({ results })}\n`);
} else {
  if (!Array.isArray(events)) harnessError("stdin must be a JSON array of events");
  process.stdout.write(`${JSON.stringify(await check(events))}\n`);
}
