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

  window.draftbot = Object.freeze({ el, norm, parseTime, showFlags });
})();
