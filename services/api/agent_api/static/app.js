// The durable-agent chat page. Plain JavaScript, no build step.
// Everything the page shows is built from the conversation's event stream:
// opening a conversation replays its log (or a STATE_SNAPSHOT) and goes on
// live; a dropped stream resumes after the last event id it saw.
"use strict";

(() => {
  const KEY_STORE = "durable-agent.api-key";
  const $ = (id) => document.getElementById(id);
  const el = {
    keyForm: $("key-form"), key: $("api-key"), newForm: $("new-form"), goal: $("goal"),
    goalDescription: $("goal-description"), firstMessage: $("first-message"),
    refresh: $("refresh"), list: $("conversations"), title: $("chat-title"), end: $("end"),
    stop: $("stop"), busyPolicy: $("busy-policy"),
    status: $("status"), error: $("error"), transcript: $("transcript"),
    composer: $("composer"), text: $("composer-text"), send: $("send"),
    policies: $("policy-rows"), goalForm: $("goal-form"), switchGoal: $("switch-goal"),
    switchButton: $("switch"),
  };
  const POLICY_TEXT = { ask: "ask first", auto: "run without asking", never: "never" };
  const STATUS_TEXT = {
    thinking: "The agent is thinking…",
    awaiting_input: "Your turn.",
    awaiting_confirmation: "The agent is waiting for you to confirm or reject a tool call.",
    running_tool: "Running a tool…",
    ended: "This conversation has ended.",
  };

  let goals = [];
  let current = null; // {id, eventsUrl, lastEventId, status, abort, seen:Set, generation}

  // ---------- HTTP ----------
  function apiKey() { return sessionStorage.getItem(KEY_STORE) || ""; }
  function authHeaders() {
    const key = apiKey();
    return key ? { Authorization: `Bearer ${key}` } : {};
  }
  // Every POST carries an Idempotency-Key, and a request that got no answer (a cut
  // connection, a 503) is sent again with the same key: the gateway applies it once.
  async function api(method, path, body) {
    const headers = authHeaders();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method === "POST") headers["Idempotency-Key"] = requestId();
    const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
    let response;
    for (let attempt = 1; ; attempt += 1) {
      try {
        response = await fetch(path, init);
      } catch (err) {
        if (method === "POST" && attempt < 3) { await sleep(500 * attempt); continue; }
        throw Object.assign(new Error("The gateway cannot be reached."), { status: 0 });
      }
      if (response.status !== 503 || method !== "POST" || attempt >= 3) break;
      await sleep(1000 * attempt);
    }
    let data = null;
    try { data = await response.json(); } catch (_) { /* empty body */ }
    if (!response.ok) {
      const message = (data && data.error && data.error.message) || response.statusText;
      throw Object.assign(new Error(message), { status: response.status });
    }
    return data;
  }
  function requestId() {  // randomUUID needs a secure context; plain http elsewhere has none
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }
  function showError(err) {
    if (!err) { el.error.hidden = true; el.error.textContent = ""; return; }
    el.error.textContent = err.status === 401
      ? "The gateway needs a valid API key: enter it above and save."
      : err.message || String(err);
    el.error.hidden = false;
    if (err.status === 401) el.key.focus();
  }
  function setStatus(text) { el.status.textContent = text; }
  function duration(seconds) {
    const units = [[86400, "day"], [3600, "hour"], [60, "minute"], [1, "second"]];
    const [size, name] = units.find(([s]) => seconds >= s) || units[3];
    const n = Math.round(seconds / size);
    return `${n} ${name}${n === 1 ? "" : "s"}`;
  }

  // ---------- goals and the conversation list ----------
  async function loadGoals() {
    const data = await api("GET", "/v1/goals");
    goals = data.goals;
    el.goal.replaceChildren(...goals.map((g) => new Option(g.title || g.id, g.id)));
    el.switchGoal.replaceChildren(...goals.map((g) => new Option(g.title || g.id, g.id)));
    describeGoal();
  }
  function describeGoal() {
    const goal = goals.find((g) => g.id === el.goal.value);
    el.goalDescription.textContent = goal ? goal.description : "";
    el.firstMessage.placeholder = goal ? goal.starter_prompt : "";
    // one approval setting per tool, starting at the registry's policy
    el.policies.replaceChildren(...(goal ? goal.tools : []).map((tool) => {
      const label = document.createElement("label");
      label.textContent = tool.name.replace(/_/g, " ");
      const select = document.createElement("select");
      select.name = tool.name;
      select.dataset.default = tool.approval;
      for (const [value, text] of Object.entries(POLICY_TEXT)) select.append(new Option(text, value));
      select.value = tool.approval;
      label.append(select);
      return label;
    }));
  }
  function chosenPolicies() {
    const changed = [...el.policies.querySelectorAll("select")].filter((s) => s.value !== s.dataset.default);
    return Object.fromEntries(changed.map((s) => [s.name, s.value]));
  }
  async function loadConversations() {
    const data = await api("GET", "/v1/conversations");
    const items = data.conversations.map((c) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "conversation";
      button.dataset.id = c.id;
      const when = c.started_at ? new Date(c.started_at).toLocaleString() : "";
      // the workflow closes a moment after its "ended" event: trust what this page saw
      const running = c.running && !(current && current.id === c.id && current.status === "ended");
      button.textContent = `${c.goal || "?"} · ${running ? "open" : "ended"}`;
      const small = document.createElement("small");
      small.textContent = `${when} · ${c.id}`;
      button.append(document.createElement("br"), small);
      if (current && current.id === c.id) button.setAttribute("aria-current", "true");
      button.addEventListener("click", () => openConversation(c.id));
      li.append(button);
      return li;
    });
    el.list.replaceChildren(...items);
  }

  // ---------- transcript rendering ----------
  function scrollDown() { el.transcript.scrollTop = el.transcript.scrollHeight; }
  function bubble(role, id) {
    const li = makeBubble(role, id);
    el.transcript.append(li);
    scrollDown();
    return li;
  }
  function makeBubble(role, id) {
    const li = document.createElement("li");
    li.className = `msg ${role}`;
    if (id) li.dataset.messageId = id;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = role === "user" ? "You" : "Agent";
    const text = document.createElement("p");
    text.className = "text";
    li.append(who, text);
    return li;
  }
  function findMessage(id) {
    return id ? el.transcript.querySelector(`li.msg[data-message-id="${CSS.escape(id)}"]`) : null;
  }
  function agentBubble(id) { return findMessage(id) || bubble("agent", id); }
  function note(text) {
    const li = document.createElement("li");
    li.className = "note";
    li.textContent = text;
    el.transcript.append(li);
    scrollDown();
  }
  function setText(li, text) { li.querySelector(".text").textContent = text; scrollDown(); }
  function appendText(li, delta) { li.querySelector(".text").append(delta); scrollDown(); }

  function findCard(callId) {
    return el.transcript.querySelector(`li.tool[data-call-id="${CSS.escape(callId)}"]`);
  }
  function toolCard(callId, name) {
    let li = findCard(callId);
    if (li) {
      if (name) li.querySelector(".tool-name").textContent = name;
      return li;
    }
    li = document.createElement("li");
    li.className = "tool";
    li.dataset.callId = callId;
    const section = document.createElement("section");
    section.setAttribute("aria-label", `Tool call ${name || ""}`.trim());
    const head = document.createElement("h3");
    head.innerHTML = 'Tool: <span class="tool-name"></span>';
    head.querySelector(".tool-name").textContent = name || "";
    const args = document.createElement("dl");
    args.className = "args";
    const state = document.createElement("p");
    state.className = "tool-state";
    const progress = document.createElement("ul");
    progress.className = "progress";
    const actions = document.createElement("div");
    actions.className = "actions";
    const result = document.createElement("div");
    result.className = "result";
    section.append(head, args, state, progress, actions, result);
    li.append(section);
    el.transcript.append(li);
    scrollDown();
    return li;
  }
  function showArgs(li, args) {
    li.dataset.args = JSON.stringify(args || {});
    const dl = li.querySelector(".args");
    const rows = [];
    for (const [key, value] of Object.entries(args || {})) {
      const dt = document.createElement("dt");
      dt.textContent = key.replace(/_/g, " ");
      const dd = document.createElement("dd");
      dd.textContent = typeof value === "string" ? value : JSON.stringify(value);
      rows.push(dt, dd);
    }
    dl.replaceChildren(...rows);
    scrollDown();
  }
  // a line under the arguments that stays: how the call was decided
  function cardNote(li, text) {
    let p = li.querySelector(".card-note");
    if (!p) {
      p = document.createElement("p");
      p.className = "card-note";
      li.querySelector(".args").after(p);
    }
    p.textContent = text;
  }
  // an edited call shows what ran in its argument list and what the agent proposed
  function showEdited(li, ran) {
    const proposed = li.dataset.args || "{}";
    if (proposed === JSON.stringify(ran)) return;
    cardNote(li, `You edited the arguments. The agent proposed: ${proposed}`);
    showArgs(li, ran);
  }
  function setToolState(li, text, kind) {
    const p = li.querySelector(".tool-state");
    p.textContent = text;
    p.dataset.kind = kind || "";
  }
  function actionButton(className, text, onClick) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = className;
    button.textContent = text;
    button.addEventListener("click", onClick);
    return button;
  }
  // Confirm, always allow, edit the arguments (checked by the gateway: 422 says why), reject
  function askConfirmation(li, callId) {
    const actions = li.querySelector(".actions");
    if (actions.childElementCount) return;
    const label = document.createElement("label");
    label.textContent = "Reason (optional)";
    const reason = document.createElement("input");
    reason.type = "text";
    reason.className = "reason";
    label.append(reason);
    const editor = document.createElement("label");
    editor.className = "edit-args";
    editor.hidden = true;
    editor.textContent = "Arguments (JSON)";
    const args = document.createElement("textarea");
    args.rows = 4;
    const run = actionButton("run-edited", "Run with these arguments", () => {
      let parsed;
      try { parsed = JSON.parse(args.value); } catch (_) { showError(new Error("The arguments are not valid JSON.")); return; }
      decide(callId, "edit", { args: parsed });
    });
    editor.append(args, run);
    const confirm = actionButton("confirm", "Confirm", () => decide(callId, "confirm", {}));
    const always = actionButton("always", "Always allow this tool here",
      () => decide(callId, "confirm", { always: true }));
    const edit = actionButton("edit", "Edit arguments", () => {
      args.value = JSON.stringify(JSON.parse(li.dataset.args || "{}"), null, 2);
      editor.hidden = false;
      args.focus();
    });
    const reject = actionButton("reject", "Reject",
      () => decide(callId, "reject", reason.value.trim() ? { reason: reason.value.trim() } : {}));
    actions.append(confirm, always, edit, reject, label, editor);
    setToolState(li, "Waiting for your decision.", "waiting");
    confirm.focus({ preventScroll: true });
    scrollDown();
    revealDecision();
  }
  // the pending card grew, or the status line above it did: keep its Confirm in
  // view, in the transcript and in the page (on a phone the page itself scrolls)
  function revealDecision() {
    const confirm = el.transcript.querySelector("button.confirm");
    if (confirm) confirm.scrollIntoView({ block: "nearest" });
  }
  function clearActions(li) { li.querySelector(".actions").replaceChildren(); }
  function showResult(li, content) {
    let value = content;
    if (typeof content === "string") {
      try { value = JSON.parse(content); } catch (_) { value = content; }
    }
    const pre = document.createElement("pre");
    pre.textContent = typeof value === "string" ? value : JSON.stringify(value, null, 2);
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "Result";
    details.append(summary, pre);
    li.querySelector(".result").replaceChildren(details);
    scrollDown();
  }

  function resetFromSnapshot(snap) {
    el.transcript.replaceChildren();
    for (const m of snap.transcript || []) {
      if (m.role === "user") setText(bubble("user", `seq-${m.seq}`), m.text);
      else if (m.role === "agent") {
        if (m.text) setText(bubble("agent", `seq-${m.seq}`), m.text);
      }
      if (m.toolCall) {  // the agent's proposal, or (a tool line) the call as it ran
        const card = toolCard(m.toolCall.id, m.toolCall.name);
        if (m.role === "tool") showEdited(card, m.toolCall.args);
        else showArgs(card, m.toolCall.args);
      }
      if (m.toolResult) {
        const r = m.toolResult;
        const card = toolCard(r.callId, r.name);
        clearActions(card);
        if (r.ok) { setToolState(card, "Done.", "ok"); showResult(card, r.output); }
        else setToolState(card, `Failed: ${r.error || "unknown error"}`, "failed");
      }
    }
    for (const li of el.transcript.querySelectorAll("li.tool")) {
      if (!snap.pendingToolCall || li.dataset.callId !== snap.pendingToolCall.id) clearActions(li);
    }
    if (snap.pendingToolCall) {
      const call = snap.pendingToolCall;
      const card = toolCard(call.id, call.name);
      showArgs(card, call.args);
      if (snap.status === "awaiting_confirmation") askConfirmation(card, call.id);
    }
    if (snap.olderMessages) olderButton(current, snap.olderMessages);
    showGoal(snap.goal);
    setConversationStatus(snap.status);
  }

  // a conversation started without a message: the agent's goal and what to ask it
  function greet(goalId) {
    const goal = goals.find((g) => g.id === goalId);
    if (!goal) return;
    const hint = goal.starter_prompt ? ` For example: “${goal.starter_prompt}”` : "";
    note(`Hello! ${goal.description}${hint}`);
  }

  // older lines of a long conversation, a page at a time from GET .../messages
  function olderButton(conv, cursor) {
    const li = document.createElement("li");
    li.className = "older";
    const button = actionButton("older-messages", "Show earlier messages", async () => {
      button.disabled = true;
      try {
        const page = await api("GET", `/v1/conversations/${encodeURIComponent(conv.id)}/messages?before=${encodeURIComponent(cursor)}`);
        if (current !== conv) return;
        li.after(...page.messages.filter((m) => m.text).map(olderLine));
        li.remove();
        if (page.older_messages) olderButton(conv, page.older_messages);
      } catch (err) { button.disabled = false; showError(err); }
    });
    li.append(button);
    el.transcript.prepend(li);
  }
  function olderLine(m) {
    if (m.role === "tool") {
      const li = document.createElement("li");
      li.className = "note";
      li.textContent = m.text;
      return li;
    }
    const li = makeBubble(m.role, `seq-${m.seq}`);
    li.querySelector(".text").textContent = m.text;
    return li;
  }

  function showGoal(goal) {
    if (!current || !goal) return;
    current.goal = goal;
    el.title.textContent = `${goal} · ${current.id}`;
    el.switchGoal.value = goal;
  }

  function setConversationStatus(status) {
    if (!current) return;
    current.status = status;
    setStatus(STATUS_TEXT[status] || status);
    const ended = status === "ended";
    el.text.disabled = ended;
    el.send.disabled = ended;
    el.end.disabled = ended;
    el.stop.disabled = status !== "thinking";
    el.switchGoal.disabled = ended;
    el.switchButton.disabled = ended;
    el.transcript.setAttribute("aria-busy", status === "thinking" ? "true" : "false");
    if (status === "awaiting_confirmation") revealDecision();
  }

  // ---------- events ----------
  function handle(event) {
    const data = JSON.parse(event.data);
    const key = data.metadata && data.metadata.key;
    if (key !== undefined && key !== null) {
      if (current.seen.has(key)) return; // belt and braces: never render an event twice
      current.seen.add(key);
    }
    switch (data.type) {
      case "STATE_SNAPSHOT":
        current.seen.clear();
        current.snapshots += 1;
        resetFromSnapshot(data.snapshot);
        break;
      case "TEXT_MESSAGE_START": agentBubble(data.messageId); break;
      case "TEXT_MESSAGE_CONTENT": appendText(agentBubble(data.messageId), data.delta); break;
      case "TEXT_MESSAGE_END": break;
      case "TOOL_CALL_START": toolCard(data.toolCallId, data.toolCallName); break;
      case "TOOL_CALL_ARGS": case "TOOL_CALL_END": break;
      case "TOOL_CALL_RESULT": {
        const card = toolCard(data.toolCallId);
        clearActions(card);
        setToolState(card, "Done.", "ok");
        showResult(card, data.content);
        break;
      }
      case "RUN_ERROR": showError(new Error(`The agent hit an error: ${data.message}`)); break;
      case "CUSTOM": custom(data.name, data.value || {}); break;
      default: break; // RUN_STARTED, RUN_FINISHED and kinds this page does not show
    }
  }
  function custom(name, v) {
    switch (name) {
      case "user_message":
        if (!findMessage(v.messageId)) setText(bubble("user", v.messageId), v.text);
        break;
      case "agent_message": setText(agentBubble(v.messageId), v.text); break;
      case "text_message_voided": { const li = findMessage(v.messageId); if (li) li.remove(); break; }
      case "status_changed":
        setConversationStatus(v.status);
        if (v.status === "ended" && current.timedOut) setStatus(current.timedOut);
        break;
      case "conversation_timed_out":
        current.timedOut = `This conversation closed by itself after ${duration(v.idleSeconds)} without input.`;
        break;
      case "turn_stopped": {  // shown where and as the transcript shows it
        const li = bubble("agent", `stopped-${v.turnSeq}`);
        li.classList.add("stopped");
        setText(li, `(${v.reason})`);
        // before the message that interrupted it (sent during the turn, so a later seq)
        const later = [...el.transcript.querySelectorAll("li.msg.user")]
          .find((u) => Number((u.dataset.messageId || "").split("-").pop()) > v.turnSeq);
        if (later) el.transcript.insertBefore(li, later);
        break;
      }
      case "tool_call_awaiting_confirmation": {
        const card = toolCard(v.toolCallId, v.name);
        showArgs(card, v.args);
        askConfirmation(card, v.toolCallId);
        break;
      }
      case "tool_call_withdrawn": {
        const card = toolCard(v.toolCallId);
        clearActions(card);
        setToolState(card, `Withdrawn: ${v.reason || "no longer asked"}.`, "rejected");
        break;
      }
      case "tool_call_decided": {
        const card = toolCard(v.toolCallId);
        clearActions(card);
        if (v.editedArgs) showEdited(card, v.editedArgs);
        if (v.automatic) cardNote(card, "Ran without asking: its approval policy allows it.");
        const text = v.automatic ? "Runs without asking (its approval policy)."
          : v.editedArgs ? "Confirmed with your edited arguments."
            : v.approved ? "Confirmed." : `Rejected${v.reason ? `: ${v.reason}` : "."}`;
        setToolState(card, text, v.approved ? "ok" : "rejected");
        break;
      }
      case "tool_policy_changed":
        note(`${v.name.replace(/_/g, " ")}: ${POLICY_TEXT[v.policy] || v.policy} in this conversation.`);
        break;
      case "goal_changed":
        note(`The conversation moved to goal ${v.goal}.`);
        showGoal(v.goal);
        break;
      case "tool_started": {
        const card = toolCard(v.toolCallId, v.name);
        if (v.args && !card.querySelector(".args").childElementCount) showArgs(card, v.args);
        setToolState(card, "Running…", "running");
        break;
      }
      case "tool_progress": {
        const item = document.createElement("li");
        item.textContent = v.message;
        toolCard(v.toolCallId).querySelector(".progress").append(item);
        scrollDown();
        break;
      }
      case "tool_failed": {
        const card = toolCard(v.toolCallId, v.name);
        clearActions(card);
        setToolState(card, `Failed: ${v.error}`, "failed");
        break;
      }
      default: break; // conversation_created and future kinds
    }
  }

  // ---------- the stream, with reconnection ----------
  async function follow(conv) {
    let retry = 2000;
    let failures = 0;
    while (current === conv && conv.status !== "ended") {
      conv.abort = new AbortController();
      try {
        await SSE.readSSE(conv.eventsUrl, {
          headers: authHeaders(),
          lastEventId: conv.lastEventId,
          signal: conv.abort.signal,
          onRetry: (ms) => { retry = ms; },
          onOpen: () => { failures = 0; if (conv.reconnecting) { conv.reconnecting = false; setStatus(STATUS_TEXT[conv.status] || ""); } },
          onEvent: (event) => {
            if (current !== conv) return;
            if (event.id) conv.lastEventId = event.id;
            handle(event);
          },
        });
      } catch (err) {
        if (current !== conv) return;
        if (err.status === 401 || err.status === 404 || err.status === 403) { showError(err); return; }
        failures += 1;
      }
      if (current !== conv || conv.status === "ended") break;
      conv.reconnecting = true;
      setStatus("Connection lost. Reconnecting…");
      await new Promise((r) => setTimeout(r, Math.min(retry * Math.max(1, failures), 15000)));
    }
    if (current === conv) {
      loadConversations().catch(() => {});
      // the workflow closes a moment after "ended", and the list lags it a little
      setTimeout(() => loadConversations().catch(() => {}), 2000);
    }
  }

  async function openConversation(id) {
    if (current && current.abort) current.abort.abort();
    showError(null);
    current = { id, eventsUrl: `/v1/conversations/${encodeURIComponent(id)}/events`, lastEventId: "",
      status: "", abort: null, seen: new Set(), reconnecting: false, snapshots: 0 };
    const conv = current;
    el.transcript.replaceChildren();
    setStatus("");
    el.title.textContent = `Conversation ${id}`;
    history.replaceState(null, "", `#/c/${encodeURIComponent(id)}`);
    for (const b of el.list.querySelectorAll("button.conversation")) {
      if (b.dataset.id === id) b.setAttribute("aria-current", "true"); else b.removeAttribute("aria-current");
    }
    try {
      const info = await api("GET", `/v1/conversations/${encodeURIComponent(id)}`);
      if (current !== conv) return;
      showGoal(info.goal);
      conv.eventsUrl = info.events_url || conv.eventsUrl;
      if (!info.transcript.length && info.status !== "ended") greet(info.goal);
    } catch (err) {
      showError(err);
      return;
    }
    el.text.disabled = false;
    el.send.disabled = false;
    el.end.disabled = false;
    el.switchGoal.disabled = false;
    el.switchButton.disabled = false;
    follow(conv);
  }

  // ---------- actions ----------
  // action: confirm, reject or edit, with its body
  async function decide(callId, action, body) {
    if (!current) return;
    const card = findCard(callId);
    if (card) for (const b of card.querySelectorAll(".actions button")) b.disabled = true;
    const base = `/v1/conversations/${encodeURIComponent(current.id)}/tool-calls/${encodeURIComponent(callId)}`;
    try {
      await api("POST", `${base}/${action}`, body);
      showError(null);
    } catch (err) {
      if (card) for (const b of card.querySelectorAll(".actions button")) b.disabled = false;
      showError(err);
    }
  }
  async function sendMessage() {
    const text = el.text.value.trim();
    if (!current || !text) return;
    el.send.disabled = true;
    try {
      const body = { text };
      if (el.busyPolicy.value) body.busy_policy = el.busyPolicy.value;
      await api("POST", `/v1/conversations/${encodeURIComponent(current.id)}/messages`, body);
      el.text.value = "";
      showError(null);
    } catch (err) {
      showError(err);
    } finally {
      el.send.disabled = current.status === "ended";
      el.text.focus();
    }
  }

  el.composer.addEventListener("submit", (e) => { e.preventDefault(); sendMessage(); });
  el.text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendMessage(); }
  });
  el.stop.addEventListener("click", async () => {
    if (!current) return;
    el.stop.disabled = true;
    try { await api("POST", `/v1/conversations/${encodeURIComponent(current.id)}/stop`, {}); showError(null); }
    catch (err) { showError(err); }
  });
  el.goalForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!current || el.switchGoal.value === current.goal) return;
    try {
      await api("POST", `/v1/conversations/${encodeURIComponent(current.id)}/goal`, { goal: el.switchGoal.value });
      showError(null);
    } catch (err) { showError(err); }
  });
  el.end.addEventListener("click", async () => {
    if (!current) return;
    try { await api("POST", `/v1/conversations/${encodeURIComponent(current.id)}/end`); showError(null); }
    catch (err) { showError(err); }
  });
  el.newForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { goal: el.goal.value };
    const first = el.firstMessage.value.trim();
    if (first) body.message = first;
    const policies = chosenPolicies();
    if (Object.keys(policies).length) body.tool_policies = policies;
    try {
      const created = await api("POST", "/v1/conversations", body);
      el.firstMessage.value = "";
      await openConversation(created.id);
      loadConversations().catch(() => {});
      el.text.focus();
    } catch (err) { showError(err); }
  });
  el.goal.addEventListener("change", describeGoal);
  el.refresh.addEventListener("click", () => loadConversations().then(() => showError(null), showError));
  el.keyForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const key = el.key.value.trim();
    if (key) sessionStorage.setItem(KEY_STORE, key); else sessionStorage.removeItem(KEY_STORE);
    el.key.value = "";
    start();
  });

  // the key field says what this gateway wants: learnt from the first answer
  function showKeyState(needed) {
    if (apiKey()) el.key.placeholder = "key saved for this tab";
    else el.key.placeholder = needed ? "required: paste your API key" : "not needed in dev mode";
  }
  async function start() {
    showError(null);
    try {
      await Promise.all([loadGoals(), loadConversations()]);
    } catch (err) { showKeyState(err.status === 401); showError(err); return; }
    showKeyState(false);
    const m = /^#\/c\/([^/]+)$/.exec(location.hash);
    if (m && (!current || current.id !== decodeURIComponent(m[1]))) openConversation(decodeURIComponent(m[1]));
  }

  // For tests and debugging: simulate a network drop (the stream resumes by itself).
  window.durableAgent = {
    // resumeFrom: reconnect as if that were the last id seen (an unknown id gets a snapshot)
    dropStream: (resumeFrom) => {
      if (!current || !current.abort) return;
      if (resumeFrom !== undefined) current.lastEventId = resumeFrom;
      current.abort.abort();
    },
    lastEventId: () => (current ? current.lastEventId : ""),
    snapshots: () => (current ? current.snapshots : 0),
  };
  start();
})();
