/* draftbot: what the demo page and the chat sidebar share. Vanilla JS, no build step; loaded before
 * the page's own script, which takes these from window.draftbot. Every piece of user or server text
 * goes into the page with textContent, never innerHTML.
 */
(() => {
  "use strict";

  /** A new element with an optional class and text. */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  const norm = (s) => (s || "").trim();

  /** Server times are aware UTC ISO strings; a naive one is read as UTC too, never as browser-local. */
  function parseTime(iso) {
    if (!iso) return new Date(NaN);
    return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : iso + "Z");
  }

  /** The draft's flags (a label from `labels`, then the server's reason) as items of `list`; `skip(flag)` leaves one out. */
  function showFlags(list, d, labels, skip) {
    for (const flag of Array.isArray(d.flags) ? d.flags : []) {
      if (skip && skip(flag)) continue;
      const li = el("li", "flag flag-" + String(flag.code || "other").replace(/[^\w-]/g, ""));
      li.dataset.testid = "draft-flag";
      li.appendChild(el("span", "badge", labels[flag.code] || flag.code || "提示"));
      li.appendChild(el("span", "flag-reason", flag.reason));
      list.appendChild(li);
    }
    if (d.marketing && !(d.flags || []).some((f) => f.code === "marketing")) {
      const li = el("li", "flag flag-marketing");
      li.dataset.testid = "draft-flag";
      li.appendChild(el("span", "badge", labels.marketing));
      li.appendChild(el("span", "flag-reason", "这条回复含营销内容，请确认客户愿意接收"));
      list.appendChild(li);
    }
  }

  /**
   * One HTTP call to draftbot, for every page: a JSON (or form) body in, the answer parsed.
   * Resolves to {ok, status, data, raw, reason}, where `reason` is a refusal's Chinese `detail` (or the
   * raw text); rejects only when the server cannot be reached.
   */
  async function request(method, path, { body, headers = {} } = {}) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
    if (body instanceof FormData || body instanceof URLSearchParams) init.body = body;
    else if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const raw = await res.text();
    let data = null;
    if (raw) { try { data = JSON.parse(raw); } catch { data = null; } }
    const detail = data && data.detail;
    const reason = typeof detail === "string" ? detail : raw ? raw.slice(0, 200) : "没有更多信息";
    return { ok: res.ok, status: res.status, data, raw, reason };
  }

  window.draftbot = Object.freeze({ el, norm, parseTime, showFlags, request });
})();
