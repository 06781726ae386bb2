// Drives an AG-UI endpoint with the official @ag-ui/client HttpAgent.
//
//   node run_agent.mjs --url URL --thread-id T [--header 'Name: value']... --input-file F
//   node run_agent.mjs --url URL --thread-id T [--header 'Name: value']... --interactive
//
// One HttpAgent (threadId T, the given headers) serves every run, so the client's own
// conversation state carries from one run to the next exactly as in an application:
// `agent.messages` accumulates what the client reconstructed from each run's events,
// and `agent.pendingInterrupts` holds the interrupts of the last RUN_FINISHED.
//
// A run spec (one JSON object):
//   runId           optional; sent as RunAgentInput.runId (the client mints a UUID if absent)
//   messages        optional AG-UI messages, APPENDED to agent.messages before the run
//                   (agent.addMessages): give only what is new this turn, such as the
//                   user's next message or tool results. The history the client already
//                   holds is sent along with them, as an application would send it.
//   replaceMessages optional bool; true replaces agent.messages with `messages`
//                   (agent.setMessages) instead of appending
//   resume          optional ResumeEntry[] -> RunAgentInput.resume. The client refuses
//                   (before any request) a run that leaves a pending interrupt unanswered.
//   forwardedProps, tools, context
//                   optional -> the RunAgentInput fields of the same name
//   state           optional; agent.setState(state) before the run
//   timeoutMs       optional; aborts the request after that long (the client then
//                   reports a RUN_ERROR with code "abort")
//
// The call is `agent.runAgent({runId, resume, forwardedProps, tools, context,
// abortController}, subscriber)`: in @ag-ui/client 1.0.0 RunAgentParameters has no
// messages field, the input's messages are always agent.messages.
//
// A run result (one JSON object):
//   runId            the runId the client sent (the spec's when the run never started)
//   events           the events the client accepted and applied, in order (the
//                    subscriber's onEvent: after SSE parsing, compatibility translation,
//                    enforcement and verifyEvents)
//   wireEvents       the events as the transport delivered them (after SSE parsing and
//                    the client's compatibility translation, before enforcement and
//                    verification); they differ from `events` when the client rejected
//                    or rewrote something
//   error            null, or the message of the error runAgent failed with (transport,
//                    verification, or a refused resume)
//   outcome          the `outcome` of the accepted RUN_FINISHED, or null (no RUN_FINISHED,
//                    or one without an outcome, which means success)
//   finished         whether an accepted RUN_FINISHED arrived
//   pendingInterrupts  agent.pendingInterrupts after the run
//   newMessages      the messages this run added to agent.messages
//   messages         agent.messages after the run
//   result           RUN_FINISHED.result (success outcome) or null
//
// --input-file F: F holds {"runs": [spec, ...]} (or a bare array of specs); the runs are
// made in order and a JSON array of results is printed on stdout at the end.
// --interactive: one spec per line on stdin, one result line on stdout per spec, until
// stdin closes. A line that is not a valid run spec gets {"harnessError": "..."} back.
//
// stdout carries only results: the client's console.log/info/debug output is sent to
// stderr. Exit status 0 whatever the runs did; 2 for harness errors (bad arguments,
// unreadable input file).

import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { tap } from "rxjs";
import { HttpAgent } from "@ag-ui/client";

for (const name of ["log", "info", "debug"]) {
  console[name] = (...args) => console.error(...args);
}

function harnessError(message) {
  process.stderr.write(`run_agent.mjs: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { headers: {}, interactive: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) harnessError(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case "--url":
        options.url = value();
        break;
      case "--thread-id":
        options.threadId = value();
        break;
      case "--header": {
        const header = value();
        const colon = header.indexOf(":");
        if (colon <= 0) harnessError(`--header wants 'Name: value', got ${JSON.stringify(header)}`);
        options.headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
        break;
      }
      case "--input-file":
        options.inputFile = value();
        break;
      case "--interactive":
        options.interactive = true;
        break;
      default:
        harnessError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (!options.url) harnessError("--url is required");
  if (!options.threadId) harnessError("--thread-id is required");
  if (options.interactive === Boolean(options.inputFile)) {
    harnessError("give exactly one of --input-file F and --interactive");
  }
  return options;
}

const copy = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

function makeAgent({ url, threadId, headers }) {
  const agent = new HttpAgent({ url, threadId, headers });
  // Records what the transport delivered. User middlewares sit outside the client's
  // CompatibilityBoundary and before enforcement/verification, so this sees every
  // parsed frame, including the one verification then rejects.
  agent.use((input, next) =>
    next.run(input).pipe(
      tap((event) => {
        agent.__wireEvents?.push(copy(event));
      }),
    ),
  );
  return agent;
}

function checkSpec(spec) {
  if (!isSpec(spec)) throw new Error("a run spec must be a JSON object");
  for (const key of ["messages", "resume", "tools", "context"]) {
    if (spec[key] !== undefined && !Array.isArray(spec[key])) {
      throw new Error(`run spec '${key}' must be an array`);
    }
  }
  if (spec.timeoutMs !== undefined && !(Number.isFinite(spec.timeoutMs) && spec.timeoutMs > 0)) {
    throw new Error("run spec 'timeoutMs' must be a positive number");
  }
}

async function runOnce(agent, spec) {
  checkSpec(spec);
  const events = [];
  const wireEvents = [];
  let sentRunId = null;
  let timer;
  let timedOut = false;
  agent.__wireEvents = wireEvents;

  const subscriber = {
    onRunInitialized: ({ input }) => {
      sentRunId = input.runId;
    },
    onEvent: ({ event }) => {
      events.push(copy(event));
    },
  };

  let error = null;
  let runResult = null;
  try {
    if (spec.state !== undefined) agent.setState(spec.state);
    if (spec.messages !== undefined) {
      if (spec.replaceMessages) agent.setMessages(spec.messages);
      else agent.addMessages(spec.messages);
    } else if (spec.replaceMessages) {
      agent.setMessages([]);
    }
    const abortController = new AbortController();
    if (spec.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        abortController.abort();
      }, spec.timeoutMs);
    }
    const parameters = { abortController };
    for (const key of ["runId", "resume", "forwardedProps", "tools", "context"]) {
      if (spec[key] !== undefined) parameters[key] = spec[key];
    }
    runResult = await agent.runAgent(parameters, subscriber);
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
    agent.__wireEvents = undefined;
  }
  if (timedOut && error === null) error = `timed out after ${spec.timeoutMs} ms`;

  const finishedEvents = events.filter((event) => event.type === "RUN_FINISHED");
  const finished = finishedEvents.length > 0 ? finishedEvents[finishedEvents.length - 1] : null;
  return {
    runId: sentRunId ?? spec.runId ?? null,
    events,
    wireEvents,
    error,
    outcome: finished?.outcome ?? null,
    finished: finished !== null,
    pendingInterrupts: copy(agent.pendingInterrupts) ?? [],
    newMessages: copy(runResult?.newMessages) ?? [],
    messages: copy(agent.messages) ?? [],
    result: copy(runResult?.result) ?? null,
  };
}

function isSpec(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const options = parseArgs(process.argv.slice(2));
const agent = makeAgent(options);

if (options.interactive) {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let reply;
    try {
      reply = await runOnce(agent, JSON.parse(line));
    } catch (err) {
      reply = { harnessError: err instanceof Error ? err.message : String(err) };
    }
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  }
} else {
  let file;
  try {
    file = JSON.parse(readFileSync(options.inputFile, "utf8"));
  } catch (err) {
    harnessError(`cannot read ${options.inputFile}: ${err.message}`);
  }
  const runs = Array.isArray(file) ? file : file?.runs;
  if (!Array.isArray(runs)) harnessError(`${options.inputFile} must hold {"runs": [run spec, ...]}`);
  try {
    runs.forEach(checkSpec);
  } catch (err) {
    harnessError(`${options.inputFile}: ${err.message}`);
  }
  const results = [];
  for (const spec of runs) results.push(await runOnce(agent, spec));
  process.stdout.write(`${JSON.stringify(results)}\n`);
}
