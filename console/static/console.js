// Shared helpers of the console pages (no inline scripts: the CSP allows only this origin's files).
"use strict";
(function () {
  // Ask before a form marked data-confirm is sent.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
  // The CSRF token of this page, for fetch() calls: header X-CSRF-Token.
  window.consoleCsrf = function () {
    var field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  };
})();
