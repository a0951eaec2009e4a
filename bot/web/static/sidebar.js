/* draftbot chat sidebar (聊天工具栏): the open chat's customer, their drafts, 插入 through WeCom's JS-SDK.
 *
 * Order of an insert (see bot/api/sidebar/drafts.py): ask the server whether this exact text may go out now
 * (/check, changes nothing) -> wx.invoke("sendChatMessage") with exactly the text the server answered
 * -> only on "sendChatMessage:ok", record it approved and sent (/sent). A failed record never offers
 * to insert again: the message is already in the chat.
 */
(() => {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const CSRF = document.body.dataset.csrf || "";
  const JS_API_LIST = ["getCurExternalContact", "getCurExternalChat", "sendChatMessage"];
  const POLL_MS = 6000;
  const SDK_TIMEOUT_MS = 15000;
  const PENDING_KEY = "draftbot-sidebar-unrecorded";
  const ZONE = document.body.dataset.timezone || undefined;   // the brand's time zone (DRAFTBOT_TIMEZONE), not the browser's
  const ZONE_LABEL = document.body.dataset.zoneLabel || "";   // what staff call it: 北京时间, or UTC+9 for a zone without a name

  const els = {
    customer: $("customer"), refresh: $("refresh"),
    error: $("error"), errorText: $("error-text"), errorClose: $("error-close"),
    notice: $("notice"), noticeTitle: $("notice-title"), noticeText: $("notice-text"), noticeAction: $("notice-action"),
    drafts: $("drafts"), tpl: $("tpl-card"),
  };

  /* ---------------- small helpers ---------------- */

  const { el, norm, parseTime, showFlags } = window.draftbot;   // common.js

  function pct(p) {
    return typeof p === "number" && isFinite(p) ? Math.round(p * 100) + "%" : "";
  }

  /** The year, month, day, hour and minute of `d` on the brand's clock. */
  function zoned(d) {
    const parts = {};
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone: ZONE, year: "numeric", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    });
    for (const part of format.formatToParts(d)) parts[part.type] = part.value;
    return parts;
  }

  /** The zone's name at `d`: the server's (北京时间), or for a zone shown by its offset, the offset then (summer time moves it). */
  function zoneLabel(d) {
    if (!/^UTC[+-]/.test(ZONE_LABEL)) return ZONE_LABEL;
    try {
      const name = new Intl.DateTimeFormat("en-US", { timeZone: ZONE, timeZoneName: "shortOffset" })
        .formatToParts(d).find((part) => part.type === "timeZoneName");
      const offset = name && /^GMT([+-]\d+(?::\d\d)?)?$/.exec(name.value);
      if (offset) return "UTC" + (offset[1] || "+0");
    } catch { /* a browser without shortOffset: the server's label */ }
    return ZONE_LABEL;
  }

  /** A server time on the brand's clock, saying which: "18:02（北京时间）" today, else "12月4日 18:02（北京时间）". */
  function when(iso, { full = false } = {}) {
    const d = parseTime(iso);
    if (isNaN(d)) return "";
    const t = zoned(d);
    const today = zoned(new Date());
    let day = "";
    if (full || t.year !== today.year) day = `${t.year}年${t.month}月${t.day}日 `;
    else if (t.month !== today.month || t.day !== today.day) day = `${t.month}月${t.day}日 `;
    const label = zoneLabel(d);
    return `${day}${t.hour}:${t.minute}` + (label ? `（${label}）` : "");
  }

  const session = {
    get(key) { try { return JSON.parse(window.sessionStorage.getItem(key) || "null"); } catch { return null; } },
    set(key, value) { try { window.sessionStorage.setItem(key, JSON.stringify(value)); } catch { /* fine */ } },
    drop(key) { try { window.sessionStorage.removeItem(key); } catch { /* fine */ } },
  };

  /* ---------------- labels ---------------- */

  const FLAG_LABELS = { marketing: "营销内容", low_confidence: "把握不大", sensitive: "敏感词", held: "暂缓",
    order_facts: "订单系统", order_not_found: "查无此单", order_lookup_failed: "订单未查到" };

  /* ---------------- the server ---------------- */

  class ApiError extends Error {
    constructor(message, status) { super(message); this.status = status; }
  }

  async function api(method, path, body) {
    let answer;
    try {
      answer = await draftbot.request(method, path, { body, headers: method !== "GET" ? { "X-CSRF-Token": CSRF } : {} });
    } catch {
      throw new ApiError("连不上服务器，请检查网络后重试", 0);
    }
    if (!answer.ok) throw new ApiError(`${answer.reason}（${answer.status}）`, answer.status);
    return answer.data;
  }

  /* ---------------- page states ---------------- */

  let noticeAction = null;
  function notice(state, title, text, action) {
    els.notice.dataset.state = state;
    els.notice.hidden = false;
    els.noticeTitle.textContent = title;
    els.noticeText.textContent = text || "";
    els.noticeText.hidden = !text;
    noticeAction = action ? action.run : null;
    els.noticeAction.textContent = action ? action.label : "";
    els.noticeAction.hidden = !action;
  }
  els.noticeAction.addEventListener("click", () => { if (noticeAction) noticeAction(); });
  function hideNotice() { els.notice.hidden = true; els.notice.dataset.state = "ready"; }

  let errorFromPolling = false;
  function showError(message, fromPolling = false) {
    errorFromPolling = fromPolling;
    els.errorText.textContent = message;
    els.error.hidden = false;
  }
  function clearError() { els.error.hidden = true; els.errorText.textContent = ""; errorFromPolling = false; }
  els.errorClose.addEventListener("click", clearError);

  /* ---------------- the WeCom JS-SDK ---------------- */

  function findSdk() {
    const wx = window.wx;
    return wx && typeof wx.agentConfig === "function" && typeof wx.invoke === "function" ? wx : null;
  }

  function sdkMessage(res) {
    return String((res && (res.err_msg || res.errMsg)) || "没有返回信息");
  }

  function withTimeout(promise, what) {
    return Promise.race([
      promise,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} 没有响应`)), SDK_TIMEOUT_MS)),
    ]);
  }

  function agentConfig(wx, cfg) {
    return new Promise((resolve, reject) => {
      wx.agentConfig({
        corpid: cfg.corpid, agentid: cfg.agentid, timestamp: cfg.timestamp, nonceStr: cfg.nonceStr,
        signature: cfg.signature, jsApiList: JS_API_LIST,
        success: (res) => resolve(res),
        fail: (res) => reject(new Error(sdkMessage(res))),
      });
    });
  }

  function invoke(wx, name, args) {
    return new Promise((resolve) => { wx.invoke(name, args, (res) => resolve(res || {})); });
  }

  /* ---------------- start: who is the customer? ---------------- */

  let wx = null;
  let customerId = null;
  let roomId = null;   // a customer group (客户群) is open instead of a 1:1 chat
  const focusId = Number(new URLSearchParams(window.location.search).get("draft")) || null;  // the card's draft
  let focusDone = false;

  async function start() {
    clearError();
    wx = findSdk();
    if (!wx) {
      els.customer.textContent = "未在企业微信中";
      notice("no-sdk", "请在企业微信中打开",
        "这是企业微信聊天工具栏里的“回复草稿”。请在与客户的单聊中，点聊天工具栏打开；插入回复需要企业微信客户端。");
      return;
    }
    notice("loading", "正在连接企业微信…");
    let cfg;
    try {
      cfg = await api("GET", "sidebar/api/jsapi-config?url=" + encodeURIComponent(window.location.href.split("#")[0]));
    } catch (err) {
      notice("error", "无法获取企业微信接口授权", err.message, { label: "重试", run: start });
      return;
    }
    try {
      await withTimeout(agentConfig(wx, cfg), "wx.agentConfig");
    } catch (err) {
      notice("error", "企业微信接口授权失败",
        `${err.message}。请管理员确认应用的可信域名、客户联系权限，以及企业微信版本不低于 3.0.24。`,
        { label: "重试", run: start });
      return;
    }
    let res;
    try {
      res = await withTimeout(invoke(wx, "getCurExternalContact", {}), "getCurExternalContact");
    } catch (err) {
      notice("error", "无法识别当前客户", err.message, { label: "重试", run: start });
      return;
    }
    if (res.err_msg !== "getCurExternalContact:ok" || !res.userId) {
      let chat = {};
      try {
        chat = await withTimeout(invoke(wx, "getCurExternalChat", {}), "getCurExternalChat");
      } catch (err) { chat = {}; }
      if (chat.err_msg === "getCurExternalChat:ok" && chat.chatId) {   // a customer group: its drafts go out here only
        roomId = String(chat.chatId);
        els.customer.textContent = "客户群";
        els.customer.title = roomId;
        els.refresh.hidden = false;
        notice("loading", "正在加载草稿…");
        await recordLeftovers();
        await refresh();
        schedule();
        return;
      }
      els.customer.textContent = "没有客户";
      notice("no-customer", "没有识别到当前客户",
        `请在与外部客户的单聊中打开（群聊、同事聊天里没有草稿）。企业微信返回：${sdkMessage(res)}`,
        { label: "重试", run: start });
      return;
    }
    customerId = String(res.userId);
    showCustomer(null);
    els.refresh.hidden = false;
    notice("loading", "正在加载草稿…");
    await recordLeftovers();
    await refresh();
    schedule();
  }

  function showCustomer(name) {
    const short = customerId.length > 14 ? customerId.slice(0, 6) + "…" + customerId.slice(-4) : customerId;
    els.customer.textContent = name ? `客户：${name}` : `客户：${short}`;
    els.customer.title = customerId;
  }

  /* ---------------- drafts ---------------- */

  const cards = new Map();   // draft id -> entry {id, draft, node, sig, busy, done, gone, unrecorded}
  let refreshing = false;

  function signature(d) {
    return JSON.stringify([d.status, d.text, d.final_text, d.checks, d.flags, d.manual_reason]);
  }

  async function refresh() {
    if ((!customerId && !roomId) || refreshing) return;
    refreshing = true;
    try {
      const chat = roomId ? "room_id=" + encodeURIComponent(roomId) : "customer_id=" + encodeURIComponent(customerId);
      const drafts = await api("GET", "sidebar/api/drafts?" + chat);
      render(Array.isArray(drafts) ? drafts : []);
      await focusCardDraft(drafts);
      if (errorFromPolling) clearError();
    } catch (err) {
      if (cards.size === 0) notice("error", "草稿加载失败", err.message, { label: "重试", run: refresh });
      else showError("刷新失败：" + err.message, true);
    } finally {
      refreshing = false;
    }
  }

  /* The card in the app chat opened this page on one draft (?draft=): show it first, or say which chat it is in. */
  async function focusCardDraft(drafts) {
    if (!focusId || focusDone || !Array.isArray(drafts)) return;
    focusDone = true;
    const entry = cards.get(focusId);
    if (entry) {
      entry.node.classList.add("card-focus");
      entry.node.dataset.focus = "true";
      if (entry.node.scrollIntoView) entry.node.scrollIntoView({ block: "start" });
      return;
    }
    try {
      const d = await api("GET", `sidebar/api/drafts/${focusId}`);
      const where = d.group ? "它属于一个客户群，请在那个客户群里打开侧边栏发送" : `它属于与 ${d.customer_name || d.customer_id} 的聊天，请在与该客户的聊天里打开侧边栏发送`;
      showError(`卡片上的草稿 #${focusId} 不在当前聊天里：${where}。`);
    } catch (err) {
      showError(`卡片上的草稿 #${focusId}：${err.message}`);
    }
  }

  function render(drafts) {
    const seen = new Set();
    for (const d of drafts) {
      seen.add(d.id);
      const entry = cards.get(d.id);
      if (!entry) { place(build(d)); continue; }
      if (entry.busy || entry.done || entry.unrecorded) continue;
      const sig = signature(d);
      if (sig === entry.sig && !entry.gone) continue;
      if (isEdited(entry) && !entry.gone) { updateChecks(entry, d); continue; }   // keep what the staff member is typing
      const fresh = build(d);
      entry.node.replaceWith(fresh.node);
      cards.set(d.id, fresh);
    }
    for (const entry of cards.values()) {
      if (seen.has(entry.id) || entry.busy || entry.done || entry.unrecorded || entry.gone) continue;
      markGone(entry);
    }
    const named = drafts.find((d) => d.customer_name);
    if (named && customerId) showCustomer(named.customer_name);
    const open = Array.from(cards.values()).some((e) => !e.done && !e.gone);
    if (open) hideNotice();
    else notice("empty", "暂无待回复的草稿", "客户发来新消息后，草稿会出现在这里（每几秒自动刷新）。");
  }

  function place(entry) {
    cards.set(entry.id, entry);
    const after = Array.from(els.drafts.children).find((n) => Number(n.dataset.draftId) < entry.id);
    els.drafts.insertBefore(entry.node, after || null);
  }

  function isEdited(entry) {
    const ta = entry.node.querySelector(".draft-text");
    return !!ta && norm(ta.value) !== norm(startingText(entry.draft));
  }

  function startingText(d) {
    return d.status === "approved" ? d.final_text || "" : d.text || "";
  }

  function badgeFor(d) {
    if (d.status === "needs_manual") return ["需人工回复", "badge-manual"];
    if (d.status === "approved") return ["已批准 · 待插入", "badge-approved"];
    return ["待回复", "badge-pending"];
  }

  function updateChecks(entry, d) {
    entry.draft = { ...entry.draft, checks: d.checks };
    const box = entry.node.querySelector(".checks");
    const list = box.querySelector(".checks-list");
    list.textContent = "";
    const checks = Array.isArray(d.checks) ? d.checks : [];
    for (const c of checks) {
      const li = el("li", "check check-" + String(c.code || "other").replace(/[^\w-]/g, ""), c.reason);
      li.dataset.testid = "draft-check";
      list.appendChild(li);
    }
    box.hidden = checks.length === 0;
    entry.node.classList.toggle("card-warn", checks.length > 0);
  }

  function build(d) {
    const node = els.tpl.content.firstElementChild.cloneNode(true);
    const entry = { id: d.id, draft: d, node, sig: signature(d), busy: false, done: false, gone: false, unrecorded: null };
    node.dataset.draftId = String(d.id);
    node.dataset.status = d.status;

    const [label, cls] = badgeFor(d);
    const badge = node.querySelector(".badge-status");
    badge.textContent = d.group ? label + " · 客户群" : label;   // a group draft is sent in its group only
    badge.classList.add(cls);
    if (d.group) node.dataset.group = "true";
    const time = node.querySelector(".card-time");
    time.textContent = when(d.created_at);
    time.title = when(d.created_at, { full: true });
    time.dateTime = d.created_at || "";

    node.querySelector(".card-message").textContent = d.message_text || "";
    updateChecks(entry, d);

    const checkCodes = new Set((d.checks || []).map((c) => c.code));
    // a sensitive flag is said above already when the checks carry it
    showFlags(node.querySelector(".flags"), d, FLAG_LABELS, (flag) => flag.code === "sensitive" && checkCodes.has("sensitive"));
    if (d.manual_reason) {
      const m = node.querySelector(".manual");
      m.textContent = "需要人工回复：" + d.manual_reason;
      m.hidden = false;
    }

    const intent = node.querySelector(".intent");
    intent.textContent = (d.intents || []).length > 1  // a reply to two questions names both, primary first
      ? d.intents.map((i) => (d.intent_names || {})[i] || i).join(" + ")
      : d.intent_name || d.intent || "未识别";  // the Chinese name; the id in the tooltip and small text
    intent.title = d.intent || "";
    const intentId = node.querySelector(".intent-id");
    if (intentId) intentId.textContent = d.intent && d.intent_name && d.intent_name !== d.intent ? d.intent : "";
    node.querySelector(".intent-p").textContent = d.confidence != null ? " " + pct(d.confidence) : "";
    if (d.confidence != null && d.confidence < 0.5) node.querySelector(".intent-p").classList.add("low");
    node.querySelector(".persona").textContent = d.persona || "—";
    const answer = node.querySelector(".answer");  // the brand answer the draft says: where its fact came from
    if (answer) { answer.hidden = !d.answer_id; answer.querySelector(".answer-id").textContent = d.answer_id || ""; }

    const ta = node.querySelector(".draft-text");
    const hint = node.querySelector(".edit-hint");
    const original = startingText(d);
    ta.value = original;
    if (d.status === "approved") {
      ta.readOnly = true;
      hint.textContent = `已由 ${d.approved_by || "同事"} 批准，内容不能再改`;
    } else if (d.status === "needs_manual") {
      ta.placeholder = "没有合适的草稿，请在这里写回复…";
    }
    ta.addEventListener("input", () => {
      const edited = norm(ta.value) !== norm(original);
      ta.classList.toggle("edited", edited && !!norm(original));
      hint.textContent = edited && norm(original) ? "已修改：将插入修改后的内容" : "";
      fit(ta);
    });
    requestAnimationFrame(() => fit(ta));

    node.querySelector('[data-testid="insert"]').addEventListener("click", () => insert(entry));
    node.querySelector('[data-testid="reject"]').addEventListener("click", () => decline(entry));
    node.querySelector('[data-testid="retry-record"]').addEventListener("click", () => record(entry, entry.unrecorded));
    return entry;
  }

  /** Grow the textarea with its text (up to a limit) so the whole reply is visible on a phone. */
  function fit(ta) {
    ta.style.height = "auto";
    ta.style.height = Math.min(ta.scrollHeight + 2, 320) + "px";
  }

  function parts(entry) {
    const n = entry.node;
    return {
      ta: n.querySelector(".draft-text"), insertBtn: n.querySelector('[data-testid="insert"]'),
      rejectBtn: n.querySelector('[data-testid="reject"]'), retryBtn: n.querySelector('[data-testid="retry-record"]'),
      note: n.querySelector(".card-note"), error: n.querySelector(".card-error"),
    };
  }

  function say(entry, { note, error } = {}) {
    const p = parts(entry);
    p.note.textContent = note || "";
    p.note.hidden = !note;
    p.error.textContent = error || "";
    p.error.hidden = !error;
  }

  function setBusy(entry, label) {
    const p = parts(entry);
    entry.busy = true;
    p.insertBtn.disabled = p.rejectBtn.disabled = true;
    p.ta.readOnly = true;
    if (label) p.insertBtn.textContent = label;
  }

  function setIdle(entry) {
    const p = parts(entry);
    entry.busy = false;
    p.insertBtn.disabled = p.rejectBtn.disabled = false;
    p.ta.readOnly = entry.draft.status === "approved";
    p.insertBtn.textContent = "插入";
  }

  async function insert(entry) {
    const p = parts(entry);
    const text = norm(p.ta.value);
    say(entry);
    if (!text) {
      say(entry, { error: "回复内容不能为空；不想回复请点“不发”。" });
      p.ta.focus();
      return;
    }
    if (!findSdk()) {
      say(entry, { error: "没有企业微信接口，无法插入。请在企业微信中打开侧边栏。" });
      return;
    }
    setBusy(entry, "检查中…");
    let allowed;
    try {
      allowed = await api("POST", `sidebar/api/drafts/${entry.id}/check`, { text });
    } catch (err) {
      setIdle(entry);
      say(entry, { error: "没有插入：" + err.message });
      scheduleSoon();
      return;
    }
    const content = allowed.text;   // exactly what will be recorded
    setBusy(entry, "插入中…");
    const res = await invoke(wx, "sendChatMessage", { msgtype: "text", enterChat: true, text: { content } });
    if (res.err_msg !== "sendChatMessage:ok") {
      setIdle(entry);
      if (/cancel/i.test(sdkMessage(res))) say(entry, { note: "已取消，没有发送。" });
      else say(entry, { error: "插入失败，没有发送：" + sdkMessage(res) });
      return;
    }
    entry.unrecorded = content;
    session.set(PENDING_KEY, { customerId: customerId || roomId, draftId: entry.id, text: content });
    await record(entry, content);
  }

  /** The text is in the chat: record it approved and sent. Never offers to insert again. */
  async function record(entry, content) {
    const p = parts(entry);
    setBusy(entry, "记录中…");
    p.retryBtn.hidden = true;
    say(entry, { note: "消息已插入聊天，正在记录…" });
    try {
      const d = await api("POST", `sidebar/api/drafts/${entry.id}/sent`, { text: content });
      session.drop(PENDING_KEY);
      entry.unrecorded = null;
      finish(entry, d, "已插入聊天", "badge-sent");
      clearError();
    } catch (err) {
      const retryable = err.status === 0 || err.status >= 500;
      const reopen = err.status === 401 || err.status === 403;   // signed out or a stale page: kept for the reopened page
      if (!retryable && !reopen) session.drop(PENDING_KEY);
      entry.busy = false;
      p.insertBtn.hidden = p.rejectBtn.hidden = true;
      p.ta.readOnly = true;
      p.ta.classList.remove("edited");
      p.retryBtn.hidden = !retryable;
      p.retryBtn.disabled = false;
      entry.node.classList.add("card-unrecorded");
      const badge = entry.node.querySelector(".badge-status");
      badge.className = "badge badge-status badge-failed";
      badge.textContent = "已插入 · 未记录";
      entry.node.querySelector(".edit-hint").textContent = "";
      const next = retryable ? "；可以点“重试记录”" : reopen ? "；请关闭并重新打开侧边栏，打开后会自动补记" : "";
      say(entry, { error: `消息已插入聊天，但没有记录成功：${err.message}。请不要再次插入${next}。` });
      showError(`草稿 #${entry.id} 已插入聊天，但记录失败。`);
    }
  }

  /** An insert whose record failed before the page was closed: try once more. */
  async function recordLeftovers() {
    const left = session.get(PENDING_KEY);
    if (!left || left.customerId !== (customerId || roomId) || typeof left.text !== "string") return;
    try {
      await api("POST", `sidebar/api/drafts/${left.draftId}/sent`, { text: left.text });
      session.drop(PENDING_KEY);
    } catch (err) {
      if (!(err.status === 0 || err.status >= 500 || err.status === 401)) session.drop(PENDING_KEY);
      showError(`之前已插入聊天的草稿 #${left.draftId} 仍未记录成功：${err.message}`);
    }
  }

  async function decline(entry) {
    say(entry);
    setBusy(entry);
    parts(entry).rejectBtn.textContent = "处理中…";
    try {
      const d = await api("POST", `sidebar/api/drafts/${entry.id}/reject`, {});
      finish(entry, d, "已选择不发", "badge-rejected");
    } catch (err) {
      setIdle(entry);
      parts(entry).rejectBtn.textContent = "不发";
      say(entry, { error: "操作失败：" + err.message });
      scheduleSoon();
    }
  }

  /** The decision is recorded: the card shrinks to its outcome and stays until the page reloads. */
  function finish(entry, d, label, cls) {
    entry.done = true;
    entry.busy = false;
    entry.draft = d;
    const node = entry.node;
    node.dataset.status = d.status;
    node.classList.remove("card-warn", "card-unrecorded");
    node.classList.add("card-done");
    const badge = node.querySelector(".badge-status");
    badge.className = "badge badge-status " + cls;
    badge.textContent = label;
    for (const sel of [".checks", ".flags", ".manual", ".meta", ".edit-label", ".card-actions", ".card-error"]) {
      const part = node.querySelector(sel);
      if (part) part.hidden = true;
    }
    const ta = node.querySelector(".draft-text");
    if (d.status === "sent") {
      const sent = el("p", "sent-text", d.final_text || "");
      sent.dataset.testid = "sent-text";
      ta.replaceWith(sent);
    } else {
      ta.remove();
    }
    say(entry, { note: d.status === "sent" ? `${when(d.sent_at)} 已发到聊天并记录` : "" });
    node.querySelector(".card-error").hidden = true;
    const open = Array.from(cards.values()).some((e) => !e.done && !e.gone);
    if (!open) notice("empty", "暂无待回复的草稿", "客户发来新消息后，草稿会出现在这里（每几秒自动刷新）。");
  }

  function markGone(entry) {
    entry.gone = true;
    const p = parts(entry);
    p.insertBtn.disabled = p.rejectBtn.disabled = true;
    p.ta.readOnly = true;
    entry.node.classList.add("card-gone");
    say(entry, { note: "这条草稿已不在待回复列表：客户可能又发了消息（见新的草稿），或已在别处处理。" });
  }

  /* ---------------- refreshing ---------------- */

  let timer = null;
  function schedule(delay = POLL_MS) {
    clearTimeout(timer);
    if (document.hidden || (!customerId && !roomId)) return;
    timer = setTimeout(async () => { await refresh(); schedule(); }, delay);
  }
  function scheduleSoon() { schedule(300); }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) clearTimeout(timer);
    else scheduleSoon();
  });
  els.refresh.addEventListener("click", async () => {
    els.refresh.disabled = true;
    await refresh();
    els.refresh.disabled = false;
    schedule();
  });

  start();
})();
