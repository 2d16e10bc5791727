// Error summary: move focus to it when a form comes back with errors, so a keyboard or
// screen-reader user lands on the list of what to fix; each link then focuses its field.
// A static file, because the content security policy allows no inline script.
(function () {
  var summary = document.querySelector("[data-error-summary]");
  if (!summary) return;
  summary.focus();
  summary.querySelectorAll("a[data-field]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var field = document.getElementById(link.getAttribute("data-field"));
      if (!field) return;
      event.preventDefault();
      field.scrollIntoView({ block: "center" });
      field.focus();
    });
  });
})();
