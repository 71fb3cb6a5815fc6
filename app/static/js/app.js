// Small enhancements on top of htmx. Every page works without this file.
(function () {
  "use strict";
  var root = document.documentElement;

  // hx-boost swaps only the body's content, so <html> would keep the previous page's language
  // and 大字模式 (after logging in, say). The shell carries both; copy them over.
  function syncRoot() {
    var shell = document.querySelector(".shell");
    if (!shell) return;
    root.classList.toggle("elder", shell.classList.contains("elder"));
    var lang = shell.getAttribute("lang");
    if (lang && root.lang !== lang) root.lang = lang;
  }
  document.addEventListener("htmx:afterSwap", syncRoot);

  // Errors must never be silent. A boosted link or form shows our friendly error page (as it
  // would without JavaScript); a failed fragment request says so in the flash area.
  function say(textAttribute) {
    var flash = document.getElementById("flash");
    if (!flash) return;
    var text = flash.getAttribute(textAttribute);
    if (!text) return;
    var p = document.createElement("p");
    p.className = "flash flash-warn";
    p.setAttribute("role", "alert");
    p.textContent = text;
    flash.textContent = "";
    flash.appendChild(p);
    flash.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (detail.boosted && detail.isError && /<html/i.test(detail.serverResponse || "")) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });
  document.addEventListener("htmx:responseError", function () { say("data-error-text"); });
  document.addEventListener("htmx:sendError", function () { say("data-offline-text"); });

  // Upload progress for the roster import (htmx fires xhr:progress during uploads).
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest ? event.target.closest("form") : null;
    var bar = form && form.querySelector(".upload-progress");
    if (!bar || !event.detail.lengthComputable) return;
    bar.hidden = false;
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  });
  // 回复 / 修改 / 举报 / 隐藏 under a comment: load the link's form into the comment's slot, as
  // an htmx request (the server answers with the form alone). A click that asks for a new tab
  // or window keeps the plain link.
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest(".comment-actions a[href]") : null;
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    var slot = link.parentElement.nextElementSibling;
    if (!slot || !slot.classList.contains("comment-slot") || !window.htmx) return;
    event.preventDefault();
    window.htmx.ajax("GET", link.getAttribute("href"), { target: slot, swap: "innerHTML", source: link });
  });
  // 取消 on a form loaded into a comment (回复 / 修改 / 举报 / 隐藏): empty the comment's slot
  // and give the focus back to the comment's links.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-dismiss]") : null;
    var slot = button && button.closest(button.getAttribute("data-dismiss"));
    if (!slot) return;
    var actions = slot.previousElementSibling;
    slot.textContent = "";
    var link = actions && actions.querySelector("a");
    if (link) link.focus();
  });
  // Print buttons (no inline handlers: the CSP forbids them).
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-print]") : null;
    if (target) { window.print(); }
  });
})();
