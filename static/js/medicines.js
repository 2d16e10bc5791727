// Medicines on the risk-profile form: catalog names offered as you type (the name part only, so a
// dose already written stays), and rows added on demand. Kept out of the HTML so the CSP needs no
// inline script; without JavaScript the form still works with the browser's datalist.
(function () {
  "use strict";
  var list = document.getElementById("drug-names");
  var table = document.querySelector("[data-medicine-rows]");
  if (!list || !table) { return; }
  var names = Array.prototype.map.call(list.options, function (o) { return o.value; });
  var MAX = 8;
  var counter = 0;

  // The name is everything before the first word that starts with a digit ("tramadol 50mg qds").
  function split(value) {
    var match = /^(.*?)(\s+\d.*)?$/.exec(value);
    return { name: match[1], rest: match[2] || "" };
  }

  function matches(text) {
    var wanted = text.trim().toLowerCase();
    if (wanted.length < 2) { return []; }
    var starts = [], contains = [];
    names.forEach(function (n) {
      var lower = n.toLowerCase();
      if (lower.indexOf(wanted) === 0) { starts.push(n); } else if (lower.indexOf(wanted) > 0) { contains.push(n); }
    });
    return starts.concat(contains).slice(0, MAX);
  }

  function enhance(input) {
    if (input.dataset.enhanced) { return; }
    input.dataset.enhanced = "1";
    input.removeAttribute("list");
    counter += 1;
    var box = document.createElement("ul");
    box.id = "medicine-suggestions-" + counter;
    box.className = "list-group medicine-suggestions";
    box.setAttribute("role", "listbox");
    box.hidden = true;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", box.id);
    input.parentNode.insertBefore(box, input.nextSibling);
    var active = -1;

    function close() {
      box.hidden = true;
      box.innerHTML = "";
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function choose(name) {
      input.value = name + split(input.value).rest;
      close();
      input.focus();
    }

    function highlight(index) {
      var items = box.querySelectorAll("[role=option]");
      if (!items.length) { return; }
      active = (index + items.length) % items.length;
      items.forEach(function (item, i) {
        item.classList.toggle("active", i === active);
        item.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      input.setAttribute("aria-activedescendant", items[active].id);
    }

    input.addEventListener("input", function () {
      var found = matches(split(input.value).name);
      box.innerHTML = "";
      active = -1;
      if (!found.length || (found.length === 1 && found[0] === split(input.value).name)) { close(); return; }
      found.forEach(function (name, i) {
        var item = document.createElement("li");
        item.id = box.id + "-" + i;
        item.className = "list-group-item list-group-item-action py-1";
        item.setAttribute("role", "option");
        item.textContent = name;
        item.addEventListener("mousedown", function (event) { event.preventDefault(); choose(name); });
        box.appendChild(item);
      });
      box.hidden = false;
      input.setAttribute("aria-expanded", "true");
    });
    input.addEventListener("keydown", function (event) {
      if (box.hidden) { return; }
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
      else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        choose(box.querySelectorAll("[role=option]")[active].textContent);
      } else if (event.key === "Escape") { close(); }
    });
    input.addEventListener("blur", close);
  }

  function enhanceAll() {
    table.querySelectorAll("input[data-medicine-name]").forEach(enhance);
  }

  // Any number of rows: copy the last row with the next form index, empty.
  var add = document.querySelector("[data-add-medicine]");
  var total = document.querySelector("input[name$='-TOTAL_FORMS']");
  if (add && total) {
    add.hidden = false;
    add.addEventListener("click", function () {
      var rows = table.querySelectorAll("tbody tr");
      var last = rows[rows.length - 1];
      var index = parseInt(total.value, 10);
      var row = last.cloneNode(true);
      var pattern = /meds-\d+-/g;
      row.querySelectorAll("[name],[id],[for],[aria-describedby]").forEach(function (el) {
        ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
          if (el.hasAttribute(attr)) { el.setAttribute(attr, el.getAttribute(attr).replace(pattern, "meds-" + index + "-")); }
        });
      });
      row.querySelectorAll("label.visually-hidden").forEach(function (label) {
        label.textContent = label.textContent.replace(/\(row \d+\)/, "(row " + (index + 1) + ")");
      });
      row.querySelectorAll("input").forEach(function (el) {
        if (el.type === "checkbox") { el.checked = false; } else { el.value = ""; }
        el.classList.remove("is-invalid");
        el.removeAttribute("aria-invalid");
        delete el.dataset.enhanced;
      });
      row.querySelectorAll(".invalid-feedback, .medicine-suggestions").forEach(function (el) { el.remove(); });
      last.parentNode.appendChild(row);
      total.value = index + 1;
      enhanceAll();
      row.querySelector("input[data-medicine-name]").focus();
    });
  }
  enhanceAll();
})();
