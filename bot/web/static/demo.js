/* draftbot demo page: the customer chats on the left, the staff member reviews drafts on the right.
 *
 * Vanilla JS, no build step. Every piece of user or server text goes into the page with
 * textContent, never innerHTML. The page polls GET demo/conversation every POLL_MS and pauses
 * while the tab is hidden. URLs are relative so the page also works under a path prefix.
 */
(() => {
  "use strict";

  const POLL_MS = 800;
  const DRAFTING_HINT_MS = 15000;   // stop showing "drafting…" if no draft arrives by then
  const STORE_ID = "draftbot-demo-customer-id";
  const STORE_NAME = "draftbot-demo-customer-name";
  const STORE_PERSONA = "draftbot-demo-persona";
  const ZONE = document.body.dataset.timezone || undefined;       // the brand's time zone (DRAFTBOT_TIMEZONE)
  const ZONE_LABEL = document.body.dataset.zoneLabel || "";

  const $ = (id) => document.getElementById(id);
  const els = {
    chat: $("chat"), chatEmpty: $("chat-empty"), input: $("customer-input"), send: $("customer-send"),
    name: $("customer-name"), convId: $("conversation-id"), newConv: $("new-conversation"),
    open: $("drafts-open"), empty: $("drafts-empty"), done: $("drafts-done"), doneList: $("drafts-done-list"),
    error: $("error"), errorText: $("error-text"), errorClose: $("error-close"),
    tplOpen: $("tpl-open-card"), tplDone: $("tpl-done-card"),
    jump: $("jump-review"), jumpCount: $("jump-count"), persona: $("persona-picker"),
  };

  /* ---------------- small helpers ---------------- */

  const { el, norm, parseTime, showFlags } = window.draftbot;   // common.js

  const store = {
    get(key) { try { return window.localStorage.getItem(key); } catch { return null; } },
    set(key, value) { try { window.localStorage.setItem(key, value); } catch { /* private mode: fine */ } },
  };

  function randomId() {
    const bytes = new Uint8Array(6);
    if (window.crypto && window.crypto.getRandomValues) window.crypto.getRandomValues(bytes);
    else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    return "demo-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function pct(p) {
    if (typeof p !== "number" || !isFinite(p)) return "—";
    return Math.round(p * 100) + "%";
  }

  function clock(iso, withSeconds) {
    const d = parseTime(iso);
    if (isNaN(d)) return "";
    const opts = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: ZONE };
    if (withSeconds) opts.second = "2-digit";
    return d.toLocaleTimeString("zh-CN", opts);
  }

  /** The full date and time in the brand's zone, saying which: "2026/12/04 18:02:05（北京时间）". */
  function fullTime(iso) {
    const d = parseTime(iso);
    if (isNaN(d)) return "";
    return d.toLocaleString("zh-CN", { hour12: false, timeZone: ZONE }) + (ZONE_LABEL ? `（${ZONE_LABEL}）` : "");
  }

  /* ---------------- errors ---------------- */

  class ApiError extends Error {}

  const STATUS_PREFIX = { 400: "请求有误", 404: "找不到", 409: "无法执行", 422: "内容不符合要求", 500: "服务器出错", 503: "服务暂不可用" };

  async function api(method, path, body) {
    let answer;
    try {
      answer = await draftbot.request(method, path, { body });
    } catch {
      throw new ApiError("无法连接服务器：请确认 draftbot 正在运行。");
    }
    if (!answer.ok) throw new ApiError(`${STATUS_PREFIX[answer.status] || "请求失败"}（${answer.status}）：${answer.reason}`);
    return answer.data;
  }

  let errorFromPolling = false;
  function showError(message, fromPolling = false) {
    errorFromPolling = fromPolling;
    els.errorText.textContent = message;
    els.error.hidden = false;
  }
  function clearError() { els.error.hidden = true; els.errorText.textContent = ""; errorFromPolling = false; }
  els.errorClose.addEventListener("click", clearError);

  /* ---------------- conversation identity ---------------- */

  let customerId = store.get(STORE_ID) || randomId();
  store.set(STORE_ID, customerId);
  els.name.value = store.get(STORE_NAME) || "";
  els.name.addEventListener("input", () => store.set(STORE_NAME, els.name.value));
  const storedPersona = store.get(STORE_PERSONA);
  if (storedPersona && Array.from(els.persona.options).some((o) => o.value === storedPersona)) els.persona.value = storedPersona;
  els.persona.addEventListener("change", () => store.set(STORE_PERSONA, els.persona.value));

  function showConversationId() {
    els.convId.textContent = "#" + customerId.replace(/^demo-/, "").slice(0, 6);
    els.convId.title = "演示对话 " + customerId;
  }

  /* ---------------- the customer's chat ---------------- */

  const shownMessages = new Map();   // message id -> bubble element
  let lastChatTime = null;

  function nearBottom() {
    return els.chat.scrollHeight - els.chat.scrollTop - els.chat.clientHeight < 80;
  }
  function scrollToBottom() { els.chat.scrollTop = els.chat.scrollHeight; }

  function timeMark(iso) {
    const t = parseTime(iso).getTime();
    if (isNaN(t)) return;
    if (lastChatTime === null || t - lastChatTime > 5 * 60 * 1000) {
      els.chat.appendChild(el("div", "chat-time", clock(iso)));
    }
    lastChatTime = t;
  }

  function bubble(direction, text) {
    const row = el("div", "msg " + (direction === "out" ? "msg-out" : "msg-in"));
    row.appendChild(el("span", "avatar", direction === "out" ? "客服" : "我"));
    const b = el("div", "bubble", text);
    b.dataset.testid = "chat-message";
    b.dataset.direction = direction;
    row.appendChild(b);
    return { row, b };
  }

  function appendMessage(m) {
    timeMark(m.created_at);
    const { row, b } = bubble(m.direction, m.text);
    b.dataset.id = String(m.id);
    if (m.created_at) b.title = fullTime(m.created_at);
    els.chat.appendChild(row);
    shownMessages.set(m.id, b);
  }

  function renderChat(messages) {
    let added = false;
    const stick = nearBottom();
    for (const m of messages) {
      if (shownMessages.has(m.id)) continue;
      // A bubble we showed before the server confirmed it: adopt it instead of showing it twice.
      const pending = m.direction === "in"
        ? Array.from(els.chat.querySelectorAll(".msg-pending .bubble")).find((b) => b.textContent === m.text)
        : null;
      if (pending) {
        pending.dataset.id = String(m.id);
        pending.parentElement.classList.remove("msg-pending");
        shownMessages.set(m.id, pending);
        continue;
      }
      appendMessage(m);
      added = true;
    }
    els.chatEmpty.hidden = els.chat.querySelector(".msg") !== null;
    if (added && stick) scrollToBottom();
  }

  async function sendCustomerMessage() {
    const text = els.input.value.trim();
    if (!text) { els.input.focus(); return; }
    const cid = customerId;
    els.input.value = "";
    els.chatEmpty.hidden = true;
    const { row, b } = bubble("in", text);
    row.classList.add("msg-pending");
    els.chat.appendChild(row);
    scrollToBottom();
    try {
      const res = await api("POST", "demo/messages", {
        customer_id: cid, customer_name: els.name.value.trim(), text, persona: els.persona.value || undefined,
      });
      if (cid !== customerId) return;
      const id = res && res.message_id;
      if (shownMessages.has(id) && shownMessages.get(id) !== b) row.remove();   // polling got there first
      else if (id !== undefined && id !== null) { b.dataset.id = String(id); shownMessages.set(id, b); row.classList.remove("msg-pending"); }
      clearError();
      draftingSince = Date.now();
      refreshSoon();
    } catch (err) {
      row.remove();
      els.chatEmpty.hidden = els.chat.querySelector(".msg") !== null;
      if (!els.input.value) els.input.value = text;
      showError("消息没有发出：" + err.message);
    }
  }

  els.send.addEventListener("click", sendCustomerMessage);
  els.input.addEventListener("keydown", (e) => {
    // Enter sends; Enter that confirms a Chinese IME composition does not.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      sendCustomerMessage();
    }
  });

  /* ---------------- the staff member's drafts ---------------- */

  const cards = new Map();   // draft id -> { node, sig, draft }
  let draftingSince = 0;
  const draftingHint = el("p", "drafting", "正在生成草稿…");
  draftingHint.dataset.testid = "drafting";

  const OPEN = new Set(["pending", "needs_manual"]);
  const FLAG_LABELS = { marketing: "营销内容", low_confidence: "把握不大", order_facts: "订单系统", order_not_found: "查无此单", order_lookup_failed: "订单未查到" };

  /** A persona's display name as the picker lists it, else its name. */
  function personaName(name) {
    const option = Array.from(els.persona.options).find((o) => o.value === name);
    return option ? option.textContent : (name || "—");
  }

  function customerLine(d) {
    return (d.customer_name ? d.customer_name + "：" : "") + (d.message_text || "");
  }

  function signature(d) {
    return [d.status, d.final_text || "", d.send_errmsg || "", d.reject_reason || "", d.manual_reason || ""].join("\u0000");
  }

  function doneStatus(d) {
    const edited = d.final_text != null && norm(d.final_text) !== norm(d.text);
    switch (d.status) {
      case "sent": return edited ? ["已修改发送", "badge-edited"] : ["已发送", "badge-sent"];
      case "approved": return [edited ? "已修改，发送中…" : "已批准，发送中…", "badge-sending"];
      case "rejected": return ["未发送", "badge-rejected"];
      case "send_failed": return ["发送失败", "badge-failed"];
      case "blocked": return ["已拦截", "badge-blocked"];
      case "superseded": return ["客户又发了消息，已由新草稿取代", ""];
      default: return [d.status, ""];
    }
  }

  function buildDoneCard(d) {
    const node = els.tplDone.content.firstElementChild.cloneNode(true);
    node.dataset.draftId = String(d.id);
    node.dataset.status = d.status;
    const [label, cls] = doneStatus(d);
    const badge = node.querySelector(".badge");
    badge.textContent = label;
    if (cls) badge.classList.add(cls);
    node.querySelector(".done-message").textContent = customerLine(d);
    node.querySelector(".done-message").title = customerLine(d);
    const time = node.querySelector(".card-time");
    time.textContent = clock(d.sent_at || d.approved_at || d.created_at);
    time.dateTime = d.sent_at || d.approved_at || d.created_at || "";
    time.title = fullTime(d.sent_at || d.approved_at || d.created_at);
    if (d.status !== "rejected") node.querySelector(".done-reply").textContent = d.final_text || "";
    const reason = node.querySelector(".done-reason");
    let why = "";
    if (d.status === "send_failed") why = "原因：" + (d.send_errmsg || "未知") + (d.send_errcode != null ? `（错误码 ${d.send_errcode}）` : "");
    else if (d.status === "blocked") why = "原因：" + (d.send_errmsg || "规则不允许发送");
    else if (d.status === "rejected" && d.reject_reason) why = "原因：" + d.reject_reason;
    if (why) {
      reason.textContent = why;
      reason.hidden = false;
      if (d.status === "rejected") reason.style.color = "var(--muted)";
    }
    return node;
  }

  function buildOpenCard(d) {
    const node = els.tplOpen.content.firstElementChild.cloneNode(true);
    node.dataset.draftId = String(d.id);
    node.dataset.status = d.status;
    const manual = d.status === "needs_manual";

    const badge = node.querySelector(".badge-status");
    badge.textContent = manual ? "需人工回复" : "待审核";
    badge.classList.add(manual ? "badge-manual" : "badge-pending");
    const time = node.querySelector(".card-time");
    time.textContent = clock(d.created_at, true);
    time.dateTime = d.created_at || "";
    time.title = fullTime(d.created_at);

    node.querySelector(".card-from").textContent = d.customer_name ? d.customer_name + "：" : "";
    node.querySelector(".card-message").textContent = d.message_text || "";

    const intentName = node.querySelector(".intent-name");
    intentName.textContent = (d.intents || []).length > 1  // a reply to two questions names both, primary first
      ? d.intents.map((i) => (d.intent_names || {})[i] || i).join(" + ")
      : d.intent_name || d.intent || "—";  // the Chinese name; the id in the tooltip and small text
    intentName.title = d.intent || "";
    const intentId = node.querySelector(".intent-id");
    if (intentId) intentId.textContent = d.intent && d.intent_name && d.intent_name !== d.intent ? d.intent : "";
    const answer = node.querySelector(".meta-answer");  // the brand answer the draft says: where its fact came from
    if (answer) { answer.hidden = !d.answer_id; answer.querySelector(".answer-id").textContent = d.answer_id || ""; }
    const p = node.querySelector(".intent-p");
    p.textContent = d.confidence != null ? pct(d.confidence) : "";
    if (d.confidence != null && d.confidence < 0.5) p.classList.add("low");
    const runners = node.querySelector(".runners");
    const list = Array.isArray(d.runners_up) ? d.runners_up : [];
    if (list.length === 0) node.querySelector(".meta-runners").hidden = true;
    for (const pair of list) {
      const [name, prob] = Array.isArray(pair) ? pair : [pair, null];
      const span = el("span", "runner");
      const shown = el("span", "runner-name", (d.intent_names && d.intent_names[name]) || name);  // the Chinese name
      shown.title = name;
      span.appendChild(shown);
      span.appendChild(document.createTextNode(" " + pct(prob)));
      runners.appendChild(span);
    }
    node.querySelector(".persona").textContent = personaName(d.persona);

    showFlags(node.querySelector(".flags"), d, FLAG_LABELS);

    if (d.manual_reason) {
      const m = node.querySelector(".manual");
      m.textContent = "原因：" + d.manual_reason;
      m.hidden = false;
    }

    const ta = node.querySelector(".draft-text");
    const hint = node.querySelector(".edit-hint");
    ta.value = d.text || "";
    ta.placeholder = manual ? "没有可用的草稿，请在这里写回复…" : "";
    const original = norm(d.text);
    const onEdit = () => {
      const edited = norm(ta.value) !== original;
      ta.classList.toggle("edited", edited && !!original);
      hint.textContent = edited && original ? "已修改：将发送修改后的内容" : "";
    };
    ta.addEventListener("input", onEdit);

    const approveBtn = node.querySelector('[data-testid="approve"]');
    const rejectBtn = node.querySelector('[data-testid="reject"]');
    const cardError = node.querySelector(".card-error");

    async function decide(kind) {
      cardError.hidden = true;
      let body = {};
      if (kind === "approve") {
        const text = norm(ta.value);
        if (!text) {
          cardError.textContent = "回复内容不能为空；不想回复请点“不发”。";
          cardError.hidden = false;
          ta.focus();
          return;
        }
        if (text !== original) body = { text };   // only an edited text is sent along
      }
      approveBtn.disabled = rejectBtn.disabled = ta.disabled = true;
      const label = kind === "approve" ? approveBtn : rejectBtn;
      const before = label.textContent;
      label.textContent = kind === "approve" ? "发送中…" : "处理中…";
      try {
        const updated = await api("POST", `demo/drafts/${d.id}/${kind}`, body);
        upsertCard(updated);
        layoutCards();
        clearError();
        refreshSoon();
      } catch (err) {
        approveBtn.disabled = rejectBtn.disabled = ta.disabled = false;
        label.textContent = before;
        cardError.textContent = (kind === "approve" ? "没有发送：" : "操作失败：") + err.message;
        cardError.hidden = false;
        showError(`草稿 #${d.id}：` + err.message);
        refreshSoon();
      }
    }
    approveBtn.addEventListener("click", () => decide("approve"));
    rejectBtn.addEventListener("click", () => decide("reject"));
    ta.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !e.isComposing) { e.preventDefault(); decide("approve"); }
    });
    return node;
  }

  function upsertCard(d) {
    const sig = signature(d);
    const entry = cards.get(d.id);
    if (entry && entry.sig === sig) { entry.draft = d; return; }
    const node = OPEN.has(d.status) ? buildOpenCard(d) : buildDoneCard(d);
    if (entry) {
      // Keep what the staff member typed if the card stays editable.
      if (OPEN.has(entry.draft.status) && OPEN.has(d.status)) {
        const oldTa = entry.node.querySelector(".draft-text");
        const newTa = node.querySelector(".draft-text");
        if (oldTa && newTa) { newTa.value = oldTa.value; newTa.dispatchEvent(new Event("input")); }
      }
      if (OPEN.has(entry.draft.status) === OPEN.has(d.status)) entry.node.replaceWith(node);
      else entry.node.remove();   // layoutCards() puts it in the other list
    }
    cards.set(d.id, { node, sig, draft: d });
  }

  /** Put every card in its list (newest first) without moving cards that are already in place. */
  function layoutCards() {
    const all = Array.from(cards.values()).sort((a, b) => b.draft.id - a.draft.id);
    const place = (container, nodes) => {
      const wanted = new Set(nodes);
      for (const child of Array.from(container.children)) if (!wanted.has(child)) child.remove();
      nodes.forEach((node, i) => {
        if (container.children[i] !== node) container.insertBefore(node, container.children[i] || null);
      });
    };
    const open = all.filter((e) => OPEN.has(e.draft.status)).map((e) => e.node);
    const done = all.filter((e) => !OPEN.has(e.draft.status)).map((e) => e.node);
    const showHint = !!draftingSince && Date.now() - draftingSince < DRAFTING_HINT_MS;
    place(els.open, showHint ? [draftingHint, ...open] : open);
    place(els.doneList, done);
    els.empty.hidden = open.length > 0 || showHint;
    els.done.hidden = done.length === 0;
    openCount = open.length;
    updateJump();
  }

  /* On a phone the review pane sits below the chat: offer a jump to it while a draft waits out of sight. */
  let openCount = 0;
  function updateJump() {
    els.jumpCount.textContent = String(openCount);
    const first = els.open.querySelector(".card");
    let outOfSight = false;
    if (first) {
      const r = first.getBoundingClientRect();
      outOfSight = r.top > window.innerHeight - 140 || r.bottom < 60;
    }
    els.jump.hidden = openCount === 0 || !outOfSight;
  }
  window.addEventListener("scroll", updateJump, { passive: true });
  window.addEventListener("resize", updateJump);
  els.jump.addEventListener("click", () => {
    const first = els.open.querySelector(".card");
    (first || els.open).scrollIntoView({ behavior: "smooth", block: "start" });
  });

  function renderDrafts(drafts, messages) {
    const seen = new Set();
    for (const d of drafts) { seen.add(d.id); upsertCard(d); }
    for (const [id, entry] of cards) {
      if (!seen.has(id)) { entry.node.remove(); cards.delete(id); }
    }
    // Still waiting for the worker to draft the newest customer message?
    const inbound = messages.filter((m) => m.direction === "in").length;
    if (drafts.length >= inbound || drafts.length >= 20) draftingSince = 0;
    else if (!draftingSince) draftingSince = Date.now();
    layoutCards();
  }

  /* ---------------- polling ---------------- */

  let timer = null;
  let inflight = false;
  let again = false;

  function schedule(delay) {
    clearTimeout(timer);
    timer = null;
    if (document.hidden) return;           // paused while the tab is hidden
    timer = setTimeout(poll, delay);
  }

  async function poll() {
    if (inflight) { again = true; return; }
    inflight = true;
    again = false;
    const cid = customerId;
    try {
      const data = await api("GET", "demo/conversation?customer_id=" + encodeURIComponent(cid));
      if (cid === customerId) {
        renderChat(data.messages || []);
        renderDrafts(data.drafts || [], data.messages || []);
      }
      if (errorFromPolling) clearError();
    } catch (err) {
      showError("刷新失败，正在重试：" + err.message, true);
    } finally {
      inflight = false;
      schedule(again ? 0 : POLL_MS);
    }
  }

  function refreshSoon() { schedule(0); if (inflight) again = true; }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) { clearTimeout(timer); timer = null; }
    else refreshSoon();
  });

  /* ---------------- new conversation ---------------- */

  function resetConversation() {
    customerId = randomId();
    store.set(STORE_ID, customerId);
    showConversationId();
    shownMessages.clear();
    lastChatTime = null;
    els.chat.querySelectorAll(".msg, .chat-time").forEach((n) => n.remove());
    els.chatEmpty.hidden = false;
    for (const entry of cards.values()) entry.node.remove();
    cards.clear();
    draftingSince = 0;
    layoutCards();
    clearError();
    els.input.value = "";
    els.input.focus();
    refreshSoon();
  }
  els.newConv.addEventListener("click", resetConversation);

  showConversationId();
  poll();
})();
