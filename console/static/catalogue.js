// Catalogue edit page: "add a row" buttons copy the empty last row of their table (no inline scripts).
"use strict";
(function () {
  document.addEventListener("click", function (event) {
    var id = event.target.getAttribute && event.target.getAttribute("data-add-row");
    if (!id) { return; }
    var body = document.querySelector("#" + id + " tbody");
    if (!body || !body.lastElementChild) { return; }
    var row = body.lastElementChild.cloneNode(true);
    row.querySelectorAll("input, textarea").forEach(function (field) { field.value = ""; });
    row.querySelectorAll("select").forEach(function (field) { field.selectedIndex = 0; });
    body.appendChild(row);
  });
})();
