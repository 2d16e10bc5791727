// Print button on the handout page (kept out of the HTML so a strict CSP needs no inline script).
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
