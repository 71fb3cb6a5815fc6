// Small enhancements on top of htmx. Every page works without this file.
(function () {
  "use strict";
  // Upload progress for the roster import (htmx fires xhr:progress during uploads).
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest ? event.target.closest("form") : null;
    var bar = form && form.querySelector(".upload-progress");
    if (!bar || !event.detail.lengthComputable) return;
    bar.hidden = false;
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  });
  // Print buttons (no inline handlers: the CSP forbids them).
  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-print]") : null;
    if (target) { window.print(); }
  });
})();
