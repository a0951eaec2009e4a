/* Template editor: live preview of the unsaved text, a warning before leaving unsaved changes,
 * Tab inserts spaces, Ctrl/⌘+S saves, and a click on an error with a line number selects that line.
 * The preview is rendered by the server (same markup as on page load) and swapped in;
 * a slower, older answer never replaces a newer one.
 */
"use strict";

(() => {
  const source = document.getElementById("template-source");
  const panel = document.getElementById("preview");
  const status = document.querySelector('[data-testid="preview-status"]');
  const form = document.getElementById("template-form");
  if (!source || !panel || !window.draftbot) return;

  let sent = 0;
  let shown = 0;
  let last = source.value;
  let submitting = false;

  const say = (text) => { if (status) status.textContent = text; };

  async function refresh() {
    const text = source.value;
    if (text === last) return;
    last = text;
    const ticket = ++sent;
    say("预览更新中…");
    try {
      const answer = await draftbot.post(source.dataset.previewUrl, { source: text });
      if (ticket < shown) return;
      shown = ticket;
      if (answer.ok && answer.body && typeof answer.body.html === "string") {
        panel.innerHTML = answer.body.html;
        say(answer.body.ok ? "预览已更新（尚未保存）" : "话术有错误，见预览里的提示");
      } else if (answer.status === 401 || answer.status === 403) {
        say("登录已过期或页面已失效，请刷新页面（先复制你的修改）。");
      } else {
        say(`预览失败（${answer.status}），请稍后再试。`);
      }
    } catch (error) {
      if (ticket >= shown) say("无法连接服务器，预览暂停；恢复后继续输入即可。");
    }
  }

  const later = draftbot.debounce(refresh, 400);
  source.addEventListener("input", later);

  source.addEventListener("keydown", (event) => {
    if (event.key === "Tab" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      source.setRangeText("  ", source.selectionStart, source.selectionEnd, "end");
      later();
    }
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener("submit", () => { submitting = true; });
  window.addEventListener("beforeunload", (event) => {
    if (!submitting && source.value !== source.dataset.saved) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  panel.addEventListener("click", (event) => {
    const issue = event.target.closest("[data-line]");
    if (!issue) return;
    const line = Number(issue.dataset.line);
    const lines = source.value.split("\n");
    if (!(line >= 1 && line <= lines.length)) return;
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    source.focus();
    source.setSelectionRange(start, start + lines[line - 1].length);
  });
})();
