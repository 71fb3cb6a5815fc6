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
  // Person pickers (计票人, 监票人 …): the search box shows only with this file, and filters
  // the people by name, building or unit as one types, opening the buildings that match.
  function showPickerSearch() {
    document.querySelectorAll("[data-picker] .picker-search[hidden]").forEach(function (box) {
      box.hidden = false;
    });
  }
  showPickerSearch();
  document.addEventListener("htmx:afterSettle", showPickerSearch);
  document.addEventListener("input", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-picker-search]")) return;
    var picker = box.closest("[data-picker]");
    var words = box.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    var found = 0;
    picker.querySelectorAll("[data-picker-group]").forEach(function (group) {
      var hits = 0;
      // The label's own text (name · building unit): no name is copied into an attribute
      // (SECURITY.md: data-* and URLs carry no personal data).
      group.querySelectorAll("[data-person]").forEach(function (person) {
        var text = person.textContent.toLowerCase();
        var hit = words.every(function (w) { return text.indexOf(w) >= 0; });
        person.hidden = !hit;
        if (hit) hits += 1;
      });
      group.hidden = hits === 0;
      if (words.length && hits) group.open = true;
      found += hits;
    });
    var none = picker.querySelector("[data-picker-none]");
    if (none) none.hidden = found > 0;
  });
  // Enter in a picker's search box must not send the form.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches && event.target.matches("[data-picker-search]")) {
      event.preventDefault();
    }
  });
  // The chair's 合并 list: the rows shown are filtered by their own text (number, title,
  // stage) as one types (a row hidden is unchecked); Enter sends the search to the server,
  // which finds any other.
  document.addEventListener("input", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-merge-search]")) return;
    var merge = box.closest("[data-merge]");
    var words = box.value.trim().toLowerCase().replace(/^[#＃]/, "").split(/\s+/).filter(Boolean);
    var found = 0;
    merge.querySelectorAll("[data-merge-row]").forEach(function (row) {
      var text = row.textContent.toLowerCase();
      var hit = words.every(function (w) { return text.indexOf(w) >= 0; });
      row.hidden = !hit;
      if (hit) {
        found += 1;
      } else {
        // 合并 cannot be undone: never send a choice the chair can no longer see.
        var radio = row.querySelector("input[type=radio]");
        if (radio) radio.checked = false;
      }
    });
    var none = merge.querySelector("[data-merge-none]");
    if (none) none.hidden = found > 0;
  });
  // Print buttons (no inline handlers: the CSP forbids them).
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-print]") : null;
    if (target) { window.print(); }
  });
})();
